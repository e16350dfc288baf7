//! Child processes that are always stopped with SIGTERM and waited for, even when a test
//! fails: tauri-driver must get SIGTERM (with SIGKILL it leaves WebKitWebDriver behind).

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A child process stopped politely when dropped.
pub struct Stoppable {
    name: &'static str,
    child: Option<Child>,
}

impl Stoppable {
    pub fn spawn(name: &'static str, command: &mut Command) -> Self {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {name} ({command:?}): {e}"));
        Self::from_child(name, child)
    }

    pub fn from_child(name: &'static str, child: Child) -> Self {
        Self {
            name,
            child: Some(child),
        }
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    /// The exit status if the process has ended.
    pub fn try_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGTERM, then up to `grace` for it to exit; SIGKILL only if it does not.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        send_sigterm(child.id());
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "{} did not stop within {grace:?} of SIGTERM; killing it",
            self.name
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Stoppable {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

/// `kill -TERM` (the workspace forbids `unsafe`, so no direct `libc::kill`).
pub fn send_sigterm(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

/// A program on PATH, or in `~/.cargo/bin` where `cargo install` puts it.
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .map(|home| home.join("bin"));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_bin)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// Waits until `ready` holds, polling; panics with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
