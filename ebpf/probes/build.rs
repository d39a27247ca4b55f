// Fail early, with a pointer to the fix, when the BPF linker is missing; and rebuild when
// a new one is installed. An offline bundle builds with a prebuilt object
// (PREBUILT_EBPF_OBJECT, see agent/build.rs) and needs no linker.
fn main() {
    println!("cargo:rerun-if-env-changed=PREBUILT_EBPF_OBJECT");
    if std::env::var_os("PREBUILT_EBPF_OBJECT").is_some() {
        return;
    }
    match which::which("bpf-linker") {
        Ok(path) => println!("cargo:rerun-if-changed={}", path.display()),
        Err(e) => panic!("bpf-linker not found ({e}); run `cargo xtask setup`"),
    }
}
