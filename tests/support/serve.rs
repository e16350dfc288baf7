//! The built `rollcall serve` (the headless binary), started on free loopback ports with a
//! data folder of the test's own, and the link it prints.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::processes::Stoppable;

/// `<target>/<profile>/rollcall`, next to the test's own profile folder.
pub fn serve_binary() -> std::path::PathBuf {
    super::desktop::binary("rollcall", "cargo build -p rollcall-cli")
}

/// A running `rollcall serve`; dropping it stops it with SIGTERM.
pub struct Serve {
    /// The printed link with the run's token (`http://127.0.0.1:PORT/?token=…`).
    pub link: String,
    /// The UI listener's origin, `http://127.0.0.1:PORT`.
    pub origin: String,
    pub token: String,
    pub webhook_url: String,
    process: Stoppable,
    _stdout: Receiver<String>,
}

impl Serve {
    /// Starts `rollcall serve` with `args` after the listener and data options, the webhook
    /// secret `secret` (if any) in `ROLLCALL_WEBHOOK_SECRET`, and its stderr in `log`. The
    /// listeners take free ports unless `args` gives `--ui-addr` (to start again on the same
    /// address).
    pub fn start(data_dir: &Path, secret: Option<&str>, args: &[&str], log: &Path) -> Self {
        let mut command = Command::new(serve_binary());
        command.args(["serve", "--webhook-addr", "127.0.0.1:0"]);
        if !args.contains(&"--ui-addr") {
            command.args(["--ui-addr", "127.0.0.1:0"]);
        }
        command
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--ui-dir")
            .arg(super::desktop::ui_dist())
            .args(args)
            .env_remove("ROLLCALL_WEBHOOK_SECRET")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).expect("a log file can be created"));
        if let Some(secret) = secret {
            command.env("ROLLCALL_WEBHOOK_SECRET", secret);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not start `rollcall serve`: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let process = Stoppable::from_child("rollcall serve", child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut printed = Vec::new();
        let mut webhook_url = String::new();
        let link = loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| {
                    panic!(
                        "`rollcall serve` printed no link within 60 s; it printed {printed:?}; \
                         its log: {}",
                        log.display()
                    )
                });
            if let Some((_, url)) = line.split_once("(Settings > Integrations): ") {
                webhook_url = url.trim().to_string();
            }
            if let Some(url) = line.trim().strip_prefix("Open Rollcall: ") {
                break url.to_string();
            }
            printed.push(line);
        };
        let token = link
            .split_once("token=")
            .map(|(_, t)| t.to_string())
            .expect("the printed link carries the run's token");
        let origin = link
            .split_once("/?")
            .map(|(o, _)| o.to_string())
            .expect("the printed link is the listener's root with a query");
        // A viewer of a server (`--viewer-of`) receives no webhooks: it has no address.
        assert!(
            webhook_url.starts_with("http://127.0.0.1:") || args.contains(&"--viewer-of"),
            "`rollcall serve` printed no webhook URL before its link: {printed:?}"
        );
        Self {
            link,
            origin,
            token,
            webhook_url,
            process,
            _stdout: rx,
        }
    }

    /// The UI listener's port.
    pub fn ui_port(&self) -> u16 {
        self.origin
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the origin ends with the port")
    }

    /// `GET path` on the local API with the bearer token, as JSON.
    pub async fn api(&self, path: &str) -> serde_json::Value {
        let answer = reqwest::Client::new()
            .get(format!("{}{path}", self.origin))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("the local API did not answer {path}: {e}"));
        assert!(
            answer.status().is_success(),
            "GET {path}: {}",
            answer.status()
        );
        answer.json().await.expect("the local API answers JSON")
    }

    /// SIGTERM, then waits for it to exit.
    pub fn stop(&mut self) {
        self.process.stop(Duration::from_secs(15));
    }
}
