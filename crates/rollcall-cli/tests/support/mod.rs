//! The real `rollcall serve`, started and stopped as the end-to-end tests of this crate need
//! it: loopback ports, no `ROLLCALL_*` variables from the environment, its data in
//! `<dir>/data`, its log in `<dir>/serve.log`, killed if a test ends without stopping it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `rollcall serve` and the addresses it printed.
pub struct Served {
    pub child: Child,
    pub webhook_url: String,
    /// The local API, e.g. `http://127.0.0.1:PORT`.
    pub api_base: String,
    pub token: String,
}

/// Starts `rollcall serve` with `args` after the data folder and loopback ports, and waits
/// (up to 60 s) until it prints its links.
pub async fn serve(dir: &Path, args: &[&str]) -> Served {
    std::fs::create_dir_all(dir).unwrap();
    let log_path = dir.join("serve.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollcall"));
    for (name, _) in std::env::vars() {
        if name.starts_with("ROLLCALL_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args(["serve", "--data-dir"])
        .arg(dir.join("data"))
        .args(["--webhook-addr", "127.0.0.1:0", "--ui-addr", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("rollcall starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (webhook_url, ui_url) = tokio::time::timeout(Duration::from_secs(60), async {
        let mut webhook = None;
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some((_, url)) = line.split_once("Webhook URL for DreamClass") {
                webhook = Some(url.split_once(": ").unwrap().1.trim().to_string());
            }
            if let Some(url) = line.trim().strip_prefix("Open Rollcall: ") {
                return (
                    webhook.expect("the webhook URL comes first"),
                    url.to_string(),
                );
            }
        }
        panic!(
            "rollcall stopped before listening: {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        )
    })
    .await
    .expect("rollcall listens within 60 s");
    // Keep reading so the program never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Served {
        child,
        webhook_url,
        api_base: ui_url.split("/?").next().unwrap().to_string(),
        token: ui_url.split("token=").nth(1).unwrap().to_string(),
    }
}

/// Stops `served` as an office does (SIGTERM: everything received is saved first) and
/// checks that it exits 0 within 30 s.
pub async fn stop(mut served: Served) {
    let pid = served.child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(30), served.child.wait())
        .await
        .expect("rollcall stops within 30 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
}
