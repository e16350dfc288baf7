//! All integration tests in one binary (one link, one place for the loopback servers).

mod bore;
mod checker;
mod probe;
mod providers;
mod support;
mod with_server;
