//! Fuzz target: any tracefs `format` file must parse, and field and `__print_symbolic`
//! lookups must answer or refuse, never panic.
#![no_main]

use archscope_agent::tracefs::Format;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let f = Format::parse(text);
        for name in ["id", "ret", "skaddr", "newstate", "prev_pid"] {
            let _ = f.field("fuzz", name);
        }
        for sym in ["TCP_ESTABLISHED", "TCP_CLOSE", "TCP_SYN_SENT"] {
            let _ = f.symbol("fuzz", sym);
        }
    }
});
