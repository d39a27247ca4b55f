// Fail early, with a pointer to the fix, when the BPF linker is missing; and rebuild when
// a new one is installed.
fn main() {
    match which::which("bpf-linker") {
        Ok(path) => println!("cargo:rerun-if-changed={}", path.display()),
        Err(e) => panic!("bpf-linker not found ({e}); run `cargo xtask setup`"),
    }
}
