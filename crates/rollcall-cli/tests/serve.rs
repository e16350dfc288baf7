//! The `rollcall` binary as a user runs it: `serve --demo` shows data with names, SIGTERM
//! stops it cleanly, and `export` reads what it stored.
//!
//! Unix only: it stops the program with SIGTERM. On Windows the Ctrl-C stop is proved under
//! Wine by scripts/windows.sh.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Serve {
    child: Child,
    ui_url: String,
    webhook_url: String,
    token: String,
    /// What it printed before the link, and the rest as it comes.
    startup: Vec<String>,
    stdout: std::sync::mpsc::Receiver<String>,
}

fn start(data_dir: &std::path::Path, extra: &[&str]) -> Serve {
    start_with_log(data_dir, extra, &[], Stdio::null())
}

/// Starts `rollcall serve` with extra variables, its log (stderr) going to `log`.
fn start_with_log(
    data_dir: &std::path::Path,
    extra: &[&str],
    env: &[(&str, &str)],
    log: Stdio,
) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args([
            "serve",
            "--webhook-addr",
            "127.0.0.1:0",
            "--ui-addr",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("rollcall starts");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut startup = Vec::new();
    let mut webhook_url = String::new();
    let ui_url = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("rollcall prints its link");
        startup.push(line.clone());
        if let Some((_, url)) = line.split_once("(Settings > Integrations): ") {
            webhook_url = url.trim().to_string();
        }
        if let Some(url) = line.trim().strip_prefix("Open Rollcall: ") {
            break url.to_string();
        }
    };
    // The lines printed right after the link (warnings) belong to the start-up too.
    std::thread::sleep(Duration::from_millis(200));
    startup.extend(rx.try_iter());
    let token = ui_url.split("token=").nth(1).unwrap().to_string();
    Serve {
        child,
        ui_url,
        webhook_url,
        token,
        startup,
        stdout: rx,
    }
}

impl Serve {
    fn api(&self, path: &str) -> Value {
        let base = self.ui_url.split("/?").next().unwrap();
        block_on(async {
            reqwest::Client::new()
                .get(format!("{base}{path}"))
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    }

    fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        let mut lines = self.startup.clone();
        lines.extend(self.stdout.try_iter());
        (status, lines)
    }
}

/// The tests are synchronous (they drive a process); HTTP calls run on a throwaway runtime.
fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn demo_shows_attendance_with_names_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let serve = start(
        dir.path(),
        &["--demo", "--demo-events", "300", "--demo-rate", "50"],
    );
    wait_until("demo changes arrive", || {
        serve.api("/api/status")["lastChangeSeq"]
            .as_i64()
            .unwrap_or(0)
            >= 100
    });
    wait_until("names arrive from the demo DreamClass", || {
        serve.api("/api/reference")["students"]
            .as_array()
            .is_some_and(|s| s.len() == 132)
    });
    let status = serve.api("/api/status");
    assert_eq!(
        status["secretConfigured"], true,
        "the demo signs its traffic"
    );
    assert!(status["deliveryCounts"]["applied"].as_i64().unwrap() >= 100);

    let (exit, lines) = serve.terminate();
    assert!(exit.success(), "SIGTERM exits 0: {exit:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Everything received was saved")),
        "{lines:?}"
    );
    // What was stored can be exported after the stop.
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["export", "attendance", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let rows = csv.lines().count() - 1;
    assert!(rows >= 90, "{rows} rows exported");
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .starts_with("attendance_id,date,type,class_id"));
}

#[test]
fn without_a_secret_every_delivery_is_refused_and_it_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let serve = start(dir.path(), &[]);
    assert!(
        serve
            .startup
            .iter()
            .any(|l| l.contains("No webhook secret is set")),
        "{:?}",
        serve.startup
    );
    let answer: (u16, Value) = block_on(async {
        let r = reqwest::Client::new()
            .post(&serve.webhook_url)
            .header("content-type", "application/json")
            .body(r#"{"id":"dcba9199-0860-4324-8927-17df766a290e"}"#)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    });
    assert_eq!(answer.0, 401);
    assert_eq!(answer.1["error"], "secret_not_configured");
    assert_eq!(serve.api("/api/status")["secretConfigured"], false);
    let (exit, _) = serve.terminate();
    assert!(exit.success());
}

#[test]
fn export_of_a_missing_database_explains_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["export", "changes", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("There is no Rollcall database in"),
        "{message}"
    );
    assert!(message.contains("--data-dir"), "{message}");
}

#[test]
fn backup_while_running_and_restore_only_after_quitting() {
    let dir = tempfile::tempdir().unwrap();
    let serve = start(
        dir.path(),
        &["--demo", "--demo-events", "200", "--demo-rate", "200"],
    );
    wait_until("demo changes arrive", || {
        serve.api("/api/status")["lastChangeSeq"]
            .as_i64()
            .unwrap_or(0)
            >= 50
    });
    let backup = dir.path().join("saved.db");
    let rollcall = |args: &[&std::ffi::OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_rollcall"))
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let out = rollcall(&["backup".as_ref(), "-o".as_ref(), backup.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refused = rollcall(&["restore".as_ref(), backup.as_os_str()]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Quit it first"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let (exit, _) = serve.terminate();
    assert!(exit.success());
    let restored = rollcall(&["restore".as_ref(), backup.as_os_str()]);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let export = rollcall(&["export".as_ref(), "changes".as_ref()]);
    assert!(String::from_utf8_lossy(&export.stdout).lines().count() > 50);
}

#[test]
fn the_log_at_its_default_level_holds_no_secret_and_no_student_name() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let secret = "Very-Secret-Webhook-Key-4711";
    let serve = start_with_log(
        &dir.path().join("data"),
        &["--demo", "--demo-events", "300", "--demo-rate", "300"],
        &[("ROLLCALL_WEBHOOK_SECRET", secret), ("RUST_LOG", "")],
        Stdio::from(log),
    );
    wait_until("names and changes arrive", || {
        serve.api("/api/reference")["students"]
            .as_array()
            .is_some_and(|s| s.len() == 132)
            && serve.api("/api/status")["lastChangeSeq"]
                .as_i64()
                .unwrap_or(0)
                >= 100
    });
    // A refused delivery is logged too: its reason must not echo what was sent.
    let webhook = serve.webhook_url.clone();
    block_on(async {
        reqwest::Client::new()
            .post(&webhook)
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"id":"dcba9199-0860-4324-8927-17df766a290e","signature":"{secret}"}}"#
            ))
            .send()
            .await
            .unwrap()
    });
    let names: Vec<String> = serve.api("/api/reference")["students"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect();
    let (exit, _) = serve.terminate();
    assert!(exit.success());
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("webhook delivery rejected"),
        "the refusal is logged:\n{log}"
    );
    assert!(!log.contains(secret), "the secret is in the log:\n{log}");
    for name in names {
        assert!(
            !log.contains(&name),
            "the student name {name} is in the log:\n{log}"
        );
    }
}
