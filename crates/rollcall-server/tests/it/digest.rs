//! The daily e-mail digest against a real SMTP server (Python's aiosmtpd, `smtp_sink.py`):
//! the message received (recipients, subject, names, an alert sentence), once a day across a
//! restart, STARTTLS and TLS with a throwaway certificate authority trusted through the CA
//! file, a wrong password and an untrusted certificate answered with sentences, and retries.

#[allow(clippy::duplicate_mod)]
#[path = "../../../rollcall-core/tests/support/report_dataset.rs"]
mod dataset;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Local, TimeZone};
use rollcall_core::config::CONFIG_FILE;
use rollcall_server::digest::{run_schedule_once, ScheduleOutcome};
use rollcall_server::launch::{KeptSecrets, LaunchOptions};
use rollcall_store_postgres::cluster::{throwaway_certificates, ThrowawayCertificates};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::support::*;

/// How long a test waits for a message before failing instead of hanging (not a timing
/// assertion: a message normally arrives at once).
const PATIENCE: Duration = Duration::from_secs(60);

/// A real SMTP server on 127.0.0.1, started for one test and ended with it.
struct SmtpSink {
    port: u16,
    lines: Lines<BufReader<ChildStdout>>,
    _child: Child,
}

impl SmtpSink {
    async fn start(args: &[&str]) -> Self {
        let python = python3();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/smtp_sink.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("the SMTP server says its port")
            .unwrap()
            .expect("the SMTP server started (see smtp_sink.py)");
        let port = serde_json::from_str::<Value>(&first).unwrap()["port"]
            .as_u64()
            .unwrap() as u16;
        Self {
            port,
            lines,
            _child: child,
        }
    }

    async fn next_message(&mut self) -> Value {
        let line = tokio::time::timeout(PATIENCE, self.lines.next_line())
            .await
            .expect("a message arrives")
            .unwrap()
            .expect("the SMTP server is still running");
        serde_json::from_str(&line).unwrap()
    }
}

/// python3 with aiosmtpd, or a failure saying how to get them (never a silent skip).
fn python3() -> PathBuf {
    let python =
        std::env::var_os("PYTHON3").map_or_else(|| PathBuf::from("python3"), PathBuf::from);
    let check = std::process::Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .output();
    match check {
        Err(e) => panic!(
            "The digest tests need python3 ({e}). Install it (apt-get install python3) or set \
             PYTHON3 to its path."
        ),
        Ok(out) if !out.status.success() => panic!(
            "The digest tests need Python's aiosmtpd: run `source scripts/setup.sh && \
             ensure_aiosmtpd` (or `python3 -m pip install --user aiosmtpd`). {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Ok(_) => python,
    }
}

/// A server started the way Rollcall starts: settings read from `rollcall.toml`.
async fn started_in(dir: tempfile::TempDir) -> TestServer {
    let options = LaunchOptions {
        data_dir: Some(dir.path().to_path_buf()),
        webhook_addr: Some("127.0.0.1:0".parse().unwrap()),
        ui_addr: Some("127.0.0.1:0".parse().unwrap()),
        webhook_secret: Some(SECRET.to_string()),
        ..Default::default()
    };
    let config = options
        .resolve(&KeptSecrets::default())
        .expect("settings resolve");
    TestServer::start_in(dir, config).await
}

/// The report dataset's school (three days of attendance, 2 to 4 November 2026) with the
/// digest on, sent unencrypted to the sink on this computer.
async fn school_sending_to(port: u16) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    dataset::build(dir.path()).await;
    std::fs::write(
        dir.path().join(CONFIG_FILE),
        format!(
            "[digest]\nenabled = true\nrecipients = [\"office@school.example.org\", \
             \"head@school.example.org\"]\nsend_at = \"16:00\"\nschool_name = \"Hill School\"\n\
             \n[digest.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
             from = \"rollcall@school.example.org\"\n"
        ),
    )
    .unwrap();
    started_in(dir).await
}

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Local> {
    Local.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

async fn schedule(s: &TestServer, now: DateTime<Local>) -> ScheduleOutcome {
    run_schedule_once(s.server.as_ref().unwrap().state(), now).await
}

async fn test_send(s: &TestServer, form: &Value) -> Value {
    let (status, body) = s
        .call(reqwest::Method::POST, "/api/digest/test", form)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn the_digest_names_todays_absences_and_alerts_and_is_sent_once_a_day() {
    let mut sink = SmtpSink::start(&[]).await;
    let s = school_sending_to(sink.port).await;
    // A lesson taken the Monday before and not on the 2nd: expected, and not taken.
    let (status, body) = s
        .post(&attendance(
            "ATTENDANCE_CREATED",
            &new_id(),
            now_ms() - 1000,
            json!({
                "id": 990_001, "date": "2026-10-26", "type": "SESSION", "classId": 77,
                "comment": "", "courseId": 88, "statusId": 1, "studentPeriodId": 4
            }),
        ))
        .await;
    assert_eq!(status, 200, "{body}");

    assert_eq!(
        schedule(&s, local(2026, 11, 2, 15, 59)).await,
        ScheduleOutcome::NotYet
    );
    assert_eq!(
        schedule(&s, local(2026, 11, 2, 16, 0)).await,
        ScheduleOutcome::Sent
    );
    let message = sink.next_message().await;
    assert_eq!(
        message["to"],
        json!(["office@school.example.org", "head@school.example.org"])
    );
    assert_eq!(message["from"], "rollcall@school.example.org");
    assert_eq!(
        message["subject"],
        "Rollcall digest for Hill School: Monday 2 November 2026"
    );
    let text = message["text"].as_str().unwrap();
    assert!(
        text.contains("Absent today (4 students)"),
        "absent and excused students of the 2nd: {text}"
    );
    assert!(
        text.contains("- María García: Mathematics, 5A (Absent); Ελληνικά, 5A (Absent)"),
        "{text}"
    );
    assert!(
        text.contains("- Γιώργος Παπαδόπουλος: Mathematics, 6\"B\" (Excused, doctor)"),
        "{text}"
    );
    assert!(
        text.contains("- María García has been absent in 2 lessons today."),
        "{text}"
    );
    assert!(text.contains("Lessons not taken (1)"), "{text}");
    assert!(
        text.contains(
            "- Course 88, Class 77: no attendance by 09:30 (inferred: DreamClass gives no \
             timetable)"
        ),
        "the lesson of the Monday before, by the default cutoff: {text}"
    );
    let html = message["html"].as_str().unwrap();
    assert!(html.contains("<strong>María García</strong>"), "{html}");
    assert!(html.contains("6&quot;B&quot;"), "{html}");

    // The same day again, later, and after a restart: nothing more.
    assert_eq!(
        schedule(&s, local(2026, 11, 2, 18, 0)).await,
        ScheduleOutcome::AlreadySent
    );
    let dir = s.stop().await;
    let saved = std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
    assert!(saved.contains("last_sent_day = \"2026-11-02\""), "{saved}");
    let s = started_in(dir).await;
    assert_eq!(
        schedule(&s, local(2026, 11, 2, 23, 0)).await,
        ScheduleOutcome::AlreadySent
    );
    let status = s.api("/api/settings/digest").await;
    assert_eq!(status["status"]["lastSentDay"], "2026-11-02", "{status}");

    // A day without any attendance (the 5th) sends nothing; the next digest is the 3rd's,
    // so no message came in between.
    assert_eq!(
        schedule(&s, local(2026, 11, 5, 16, 30)).await,
        ScheduleOutcome::NoAttendance
    );
    assert_eq!(
        schedule(&s, local(2026, 11, 3, 16, 30)).await,
        ScheduleOutcome::Sent
    );
    let next = sink.next_message().await;
    assert_eq!(
        next["subject"],
        "Rollcall digest for Hill School: Tuesday 3 November 2026"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_failed_digest_is_tried_again_with_backoff_then_given_up_for_the_day() {
    // A port nothing listens on: the sink is started and ended to find one.
    let closed_port = SmtpSink::start(&[]).await.port;
    let s = school_sending_to(closed_port).await;
    let t0 = local(2026, 11, 2, 16, 0);
    let after = |seconds: i64| t0 + chrono::Duration::seconds(seconds);
    let ScheduleOutcome::Failed(sentence) = schedule(&s, t0).await else {
        panic!("the first try fails");
    };
    assert!(
        sentence.contains("could not reach the mail server 127.0.0.1"),
        "{sentence}"
    );
    let status = s.api("/api/settings/digest").await["status"].clone();
    assert_eq!(status["failure"], sentence.as_str(), "{status}");
    assert_eq!(status["gaveUp"], false);
    assert!(status["nextTryAt"].is_number(), "{status}");
    // Retries after 1, 5 and 15 minutes, each counted from the try before.
    assert_eq!(schedule(&s, after(30)).await, ScheduleOutcome::Waiting);
    assert!(matches!(
        schedule(&s, after(60)).await,
        ScheduleOutcome::Failed(_)
    ));
    assert_eq!(
        schedule(&s, after(60 + 299)).await,
        ScheduleOutcome::Waiting
    );
    assert!(matches!(
        schedule(&s, after(60 + 300)).await,
        ScheduleOutcome::Failed(_)
    ));
    assert_eq!(
        schedule(&s, after(360 + 899)).await,
        ScheduleOutcome::Waiting
    );
    assert!(matches!(
        schedule(&s, after(360 + 900)).await,
        ScheduleOutcome::Failed(_)
    ));
    assert_eq!(schedule(&s, after(7200)).await, ScheduleOutcome::GaveUp);
    let status = s.api("/api/settings/digest").await["status"].clone();
    assert_eq!(status["gaveUp"], true, "{status}");

    // Fixing the settings starts afresh: the digest goes out at the next look.
    let mut sink = SmtpSink::start(&[]).await;
    let (code, body) = s
        .call(
            reqwest::Method::PUT,
            "/api/settings/digest",
            &json!({
                "enabled": true, "recipients": ["office@school.example.org"], "sendAt": "16:00",
                "schoolName": "Hill School", "smtpHost": "127.0.0.1", "smtpPort": sink.port,
                "tls": "none", "username": "", "from": "rollcall@school.example.org",
            }),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(schedule(&s, after(7230)).await, ScheduleOutcome::Sent);
    assert_eq!(
        sink.next_message().await["to"],
        json!(["office@school.example.org"])
    );
    let status = s.api("/api/settings/digest").await["status"].clone();
    assert_eq!(status["failure"], Value::Null, "{status}");
    s.stop().await;
}

fn form(port: u16, tls: &str, password: &str, ca_file: Option<&Path>) -> Value {
    json!({
        "enabled": false, "recipients": ["office@school.example.org"], "sendAt": "16:00",
        "schoolName": "Hill School", "smtpHost": "localhost", "smtpPort": port, "tls": tls,
        "username": "office", "password": password, "from": "rollcall@school.example.org",
        "caFile": ca_file.map(|p| p.display().to_string()),
    })
}

#[tokio::test]
async fn starttls_and_tls_trust_the_configured_authority_and_a_wrong_password_is_a_sentence() {
    let certs = tempfile::tempdir().unwrap();
    let ThrowawayCertificates { ca, cert, key } = throwaway_certificates(certs.path())
        .expect("the openssl program (apt-get install openssl)");
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let login = ["--user", "office", "--password", "right"];
    let mut starttls = SmtpSink::start(
        &[
            ["--mode", "starttls", "--cert", &cert, "--key", &key].as_slice(),
            &login,
        ]
        .concat(),
    )
    .await;
    let s = TestServer::start().await;

    let wrong = test_send(&s, &form(starttls.port, "starttls", "wrong", Some(&ca))).await;
    assert_eq!(wrong["ok"], false, "{wrong}");
    assert_eq!(
        wrong["message"],
        "The mail server localhost refused the username or password. Check them in Settings \
         (some providers, such as Gmail or Microsoft 365, need an app password for this)."
    );
    let untrusted = test_send(&s, &form(starttls.port, "starttls", "right", None)).await;
    assert_eq!(untrusted["ok"], false, "{untrusted}");
    let says = untrusted["message"].as_str().unwrap();
    assert!(
        says.starts_with("The mail server's certificate is not trusted"),
        "{says}"
    );
    assert!(says.contains("Certificate file"), "{says}");

    let sent = test_send(&s, &form(starttls.port, "starttls", "right", Some(&ca))).await;
    assert_eq!(
        sent,
        json!({"ok": true, "message": "A test digest was sent to office@school.example.org. \
            If it has not arrived in a few minutes, look in the spam folder."})
    );
    let message = starttls.next_message().await;
    assert_eq!(message["tls"], true, "sent after STARTTLS");
    assert_eq!(message["to"], json!(["office@school.example.org"]));
    assert!(
        message["subject"]
            .as_str()
            .unwrap()
            .starts_with("Rollcall digest for Hill School: "),
        "{message}"
    );

    let mut implicit = SmtpSink::start(
        &[
            ["--mode", "implicit", "--cert", &cert, "--key", &key].as_slice(),
            &login,
        ]
        .concat(),
    )
    .await;
    let sent = test_send(&s, &form(implicit.port, "implicit", "right", Some(&ca))).await;
    assert_eq!(sent["ok"], true, "{sent}");
    assert_eq!(implicit.next_message().await["tls"], true);

    // A server without STARTTLS is not sent to in the clear.
    let plain = SmtpSink::start(&[]).await;
    let mut without_login = form(plain.port, "starttls", "", Some(&ca));
    without_login["username"] = json!("");
    let refused = test_send(&s, &without_login).await;
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(
        refused["message"],
        format!(
            "The mail server localhost does not offer STARTTLS on port {}. If it expects \
             encryption from the start, choose TLS (usually port 465).",
            plain.port
        )
    );

    // A test send saves nothing.
    let view = s.api("/api/settings/digest").await;
    assert_eq!(view["smtpHost"], "", "{view}");
    assert!(!s.dir.path().join(CONFIG_FILE).exists());
    s.stop().await;
}

#[tokio::test]
async fn digest_settings_are_checked_saved_and_the_password_never_shown() {
    let s = TestServer::start().await;
    let mut plain_elsewhere = form(587, "none", "pw", None);
    plain_elsewhere["smtpHost"] = json!("smtp.school.example.org");
    let (code, body) = s
        .call(
            reqwest::Method::PUT,
            "/api/settings/digest",
            &plain_elsewhere,
        )
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        body["message"],
        "Rollcall sends the digest unencrypted only to a mail server on this computer. \
         smtp.school.example.org is another computer: choose TLS (port 465) or STARTTLS (port \
         587)."
    );
    let mut no_recipient = form(587, "starttls", "pw", None);
    no_recipient["enabled"] = json!(true);
    no_recipient["recipients"] = json!([]);
    let (code, body) = s
        .call(reqwest::Method::PUT, "/api/settings/digest", &no_recipient)
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        body["message"],
        "Add at least one address to send the digest to."
    );
    assert!(!s.dir.path().join(CONFIG_FILE).exists(), "nothing saved");

    let mut good = form(587, "starttls", "s3cret-pw", None);
    good["enabled"] = json!(true);
    good["sendAt"] = json!("15:30");
    let (code, view) = s
        .call(reqwest::Method::PUT, "/api/settings/digest", &good)
        .await;
    assert_eq!(code, 200, "{view}");
    assert_eq!(view["hasPassword"], true);
    assert_eq!(view["sendAt"], "15:30");
    assert!(!view.to_string().contains("s3cret-pw"), "{view}");
    let saved = std::fs::read_to_string(s.dir.path().join(CONFIG_FILE)).unwrap();
    assert!(
        saved.contains("[digest]") && saved.contains("send_at = \"15:30\""),
        "{saved}"
    );
    // Saving again without a password keeps it.
    let mut again = good.clone();
    again.as_object_mut().unwrap().remove("password");
    let (_, view) = s
        .call(reqwest::Method::PUT, "/api/settings/digest", &again)
        .await;
    assert_eq!(view["hasPassword"], true, "{view}");
    s.stop().await;
}

/// A server of a district (PostgreSQL shared with another), its digest on, sending to `port`.
async fn district_server(database: &str, port: u16) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(CONFIG_FILE),
        format!(
            "database_url = \"{database}\"\n\n[digest]\nenabled = true\n\
             recipients = [\"office@district.example.org\"]\n\n[digest.smtp]\n\
             host = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
             from = \"rollcall@district.example.org\"\n"
        ),
    )
    .unwrap();
    started_in(dir).await
}

#[tokio::test]
async fn one_server_of_a_district_sends_the_day_s_digest() {
    use rollcall_store_postgres::cluster::{Durability, TestCluster};
    // The cluster's own calls block (its client has a runtime of its own).
    let (cluster, database) = tokio::task::spawn_blocking(|| {
        let cluster = TestCluster::start(Durability::Fast).expect("a PostgreSQL cluster starts");
        let database = cluster.create_database().unwrap();
        (cluster, database)
    })
    .await
    .unwrap();
    let mut sink = SmtpSink::start(&[]).await;
    let a = district_server(&database, sink.port).await;
    let b = district_server(&database, sink.port).await;
    let (status, body) = a.post(&created(1, 2)).await;
    assert_eq!(status, 200, "{body}");
    // The record is of 19 June 2025 (support::record).
    let four_pm = local(2025, 6, 19, 16, 0);
    assert_eq!(schedule(&a, four_pm).await, ScheduleOutcome::Sent);
    assert_eq!(
        sink.next_message().await["to"],
        json!(["office@district.example.org"])
    );
    // B's own settings file does not know the day was sent; the lease does.
    assert_eq!(schedule(&b, four_pm).await, ScheduleOutcome::AnotherServer);
    assert_eq!(
        schedule(&b, four_pm + chrono::Duration::hours(3)).await,
        ScheduleOutcome::AnotherServer
    );
    assert_eq!(schedule(&a, four_pm).await, ScheduleOutcome::AlreadySent);
    a.stop().await;
    b.stop().await;
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
}
