//! Fuzz target: any config file must be refused with a message or give a valid
//! configuration, never panic.
#![no_main]

use archscope_agent::config::{Config, FileConfig, Overrides};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(file) = FileConfig::parse(text)
    {
        let _ = Config::merge(&Overrides::default(), file);
    }
});
