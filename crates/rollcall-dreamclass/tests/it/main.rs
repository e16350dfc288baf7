//! Integration tests: the DreamClass side against the fake DreamClass API over real HTTP on
//! 127.0.0.1, with real SQLite files in temporary directories. One binary (see STYLE.md).

mod connection;
mod names;
mod rate_cap;
mod recovery;
mod short_stop;
mod support;
mod waking;
