//! Fuzz target: the values the agent reads from sysfs (CPU lists such as `0-3,8-11`,
//! hexadecimal CPU masks, cache sizes such as `32K`) must parse or be refused, never panic.
#![no_main]

use archscope_agent::node::{cache, cpuset};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(set) = cpuset::parse_list(text) {
            let _ = cpuset::format_list(&set);
        }
        let _ = cpuset::parse_mask(text);
        let _ = cache::parse_size(text);
    }
});
