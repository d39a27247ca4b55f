//! Fuzz target: any text must parse or be refused, never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = archscope_agent::identity::cgroup_path::parse(text);
    }
});
