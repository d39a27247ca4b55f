//! Errors more than one part of the agent speaks: bad configuration (exit status 2), and
//! any error as the one line that logs and `agent check` show.
use std::path::PathBuf;

/// A bad flag, variable or config file value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {msg}")]
    File { path: PathBuf, msg: String },
    #[error("{field}: {msg}")]
    Field { field: &'static str, msg: String },
    #[error("environment variable {name} is not an archscope setting (known: {known})")]
    UnknownEnv { name: String, known: String },
}

/// An error and its causes on one line; a verifier log is cut to its last line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    let s = s.trim().replace('\n', " | ");
    if s.len() > 400 {
        format!("{}…", &s[..s.floor_char_boundary(400)])
    } else {
        s
    }
}
