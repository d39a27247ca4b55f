//! Fuzz target: any /proc/cpuinfo text must parse and answer every question the agent
//! asks of it, never panic.
#![no_main]

use archscope_agent::node::cpuinfo::CpuInfo;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let info = CpuInfo::parse(text);
        let _ = info.types();
        let _ = info.infer_arch();
        for cpu in info.processors().take(64) {
            let _ = info.get(cpu, "model name");
        }
    }
});
