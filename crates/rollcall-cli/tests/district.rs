//! A district server: several real `rollcall serve --database` processes on one throwaway
//! PostgreSQL cluster. Deliveries go to any server; every server's live stream carries every
//! change, in `seq` order, exactly once; a server killed with SIGKILL loses nothing it
//! acknowledged; a database that restarts is answered with 503s (never 200 without a commit)
//! and everything catches up by itself.
//!
//! Unix only: it stops servers with SIGTERM and starts PostgreSQL with its Debian programs.

#![cfg(unix)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rollcall_core::{AttendanceEventKind, AttendanceRecord, KeyEncoding, SigningKey};
use rollcall_simulator::envelope_body;
use rollcall_store_postgres::cluster::{Durability, TestCluster};
use serde_json::Value;
use support::Served;

const SECRET: &str = "district-test-secret";
const TENANT: &str = "north-high";

async fn start_server(database: &str, data_dir: &Path) -> Served {
    start(Some(database), data_dir).await
}

/// A server on `database`, or on SQLite in `data_dir` when `None`.
async fn start(database: Option<&str>, data_dir: &Path) -> Served {
    let mut args = vec!["--secret", SECRET, "--tunnel", "none"];
    if let Some(database) = database {
        args.extend(["--database", database]);
    }
    support::serve(data_dir, &args).await
}

/// One signed delivery creating attendance record `n + 1` (each makes exactly one change;
/// DreamClass numbers records from 1).
fn delivery(n: i64) -> (String, Vec<u8>) {
    let id = n + 1;
    let request_id = uuid::Uuid::new_v4().to_string();
    let record = AttendanceRecord {
        id,
        date: "2026-12-02".into(),
        kind: "SESSION".into(),
        class_id: 1 + id % 7,
        course_id: 100 + id % 5,
        status_id: 1 + id % 3,
        student_period_id: 1000 + id,
        comment: String::new(),
    };
    let key = SigningKey::new(SECRET, KeyEncoding::Text).unwrap();
    let body = envelope_body(
        &request_id,
        AttendanceEventKind::Created.event_type(),
        TENANT,
        1_764_662_400_000 + id,
        serde_json::to_value(&record).unwrap(),
        Some(&key),
    );
    (request_id, body)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Posts `body`; the status, or `None` when the server did not answer.
async fn post(http: &reqwest::Client, url: &str, body: Vec<u8>) -> Option<(u16, String)> {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.unwrap_or_default()))
}

/// A live stream reader that reconnects with `Last-Event-ID`, as a browser does.
struct Stream {
    http: reqwest::Client,
    url: String,
    token: String,
    response: Option<reqwest::Response>,
    buffer: String,
    last_id: Option<i64>,
    reconnects: usize,
}

impl Stream {
    fn new(server: &Served, last_id: Option<i64>) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: format!("{}/api/stream", server.api_base),
            token: server.token.clone(),
            response: None,
            buffer: String::new(),
            last_id,
            reconnects: 0,
        }
    }

    /// The next change (seq, request id), waiting at most `within`.
    async fn next_change(&mut self, within: Duration) -> Option<(i64, String)> {
        tokio::time::timeout(within, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let mut name = "";
                    let mut data = String::new();
                    for line in block.lines() {
                        if let Some(e) = line.strip_prefix("event: ") {
                            name = if e == "change" { "change" } else { "other" };
                        } else if let Some(d) = line.strip_prefix("data: ") {
                            data.push_str(d);
                        }
                    }
                    if name == "change" {
                        let change: Value = serde_json::from_str(&data).unwrap();
                        let seq = change["seq"].as_i64().unwrap();
                        self.last_id = Some(seq);
                        return (seq, change["requestId"].as_str().unwrap().to_string());
                    }
                    continue;
                }
                if self.response.is_none() {
                    let mut request = self.http.get(&self.url).bearer_auth(&self.token);
                    if let Some(id) = self.last_id {
                        request = request.header("last-event-id", id.to_string());
                    }
                    match request.send().await {
                        Ok(r) if r.status() == 200 => self.response = Some(r),
                        _ => {
                            self.reconnects += 1;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        }
                    }
                }
                match self.response.as_mut().unwrap().chunk().await {
                    Ok(Some(chunk)) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                    _ => {
                        // The stream ended (the server lost its database, say): reconnect.
                        self.response = None;
                        self.buffer.clear();
                        self.reconnects += 1;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        })
        .await
        .ok()
    }

    /// Reads changes until `expected` have all been seen; asserts order and no repeats.
    async fn collect(&mut self, expected: &BTreeSet<String>, seen: &mut Vec<(i64, String)>) {
        let mut got: BTreeSet<String> = seen.iter().map(|(_, id)| id.clone()).collect();
        while !expected.is_subset(&got) {
            let Some((seq, id)) = self.next_change(Duration::from_secs(30)).await else {
                panic!(
                    "the stream stopped with {} of {} changes",
                    expected.intersection(&got).count(),
                    expected.len()
                );
            };
            if let Some((last, _)) = seen.last() {
                assert!(
                    seq > *last,
                    "seq {seq} after {last}: out of order or repeated"
                );
            }
            assert!(got.insert(id.clone()), "{id} arrived twice");
            seen.push((seq, id));
        }
    }
}

fn stored_request_ids(database: &str) -> BTreeSet<String> {
    let database = database.to_string();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&database, postgres::NoTls).unwrap();
        client
            .query("SELECT request_id FROM requests", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    })
    .join()
    .unwrap()
}

fn start_cluster(durability: Durability) -> (TestCluster, String) {
    // Blocking set-up, off the async threads.
    std::thread::spawn(move || {
        let cluster = TestCluster::start(durability).unwrap();
        let url = cluster.create_database().unwrap();
        (cluster, url)
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_streams_every_change_in_order_exactly_once() {
    let (_cluster, database) = start_cluster(Durability::Fast);
    let dir = tempfile::tempdir().unwrap();
    let a = start_server(&database, &dir.path().join("a")).await;
    let b = start_server(&database, &dir.path().join("b")).await;
    let mut on_a = Stream::new(&a, None);
    let mut on_b = Stream::new(&b, None);
    // Connected before anything is sent.
    assert!(on_a.next_change(Duration::from_millis(300)).await.is_none());
    assert!(on_b.next_change(Duration::from_millis(300)).await.is_none());

    let sent = Arc::new(Mutex::new(BTreeSet::new()));
    let mut clients = Vec::new();
    for client in 0..8i64 {
        let (urls, sent) = ([a.webhook_url.clone(), b.webhook_url.clone()], sent.clone());
        clients.push(tokio::spawn(async move {
            let http = http();
            for n in 0..50i64 {
                let id = client * 1000 + n;
                let (request_id, body) = delivery(id);
                // Any server, as a load balancer would choose.
                let url = &urls[((id * 7919) % 2) as usize];
                let (status, text) = post(&http, url, body).await.expect("an answer");
                assert_eq!(status, 200, "{text}");
                sent.lock().unwrap().insert(request_id);
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 400);
    let mut seen_a = Vec::new();
    on_a.collect(&sent, &mut seen_a).await;
    let mut seen_b = Vec::new();
    on_b.collect(&sent, &mut seen_b).await;
    assert_eq!(
        seen_a, seen_b,
        "both servers stream the same changes in the same order"
    );

    // A viewer that was on A resumes on B from where it stopped.
    let (resume_after, _) = seen_a[199];
    let mut resumed = Stream::new(&b, Some(resume_after));
    let rest: BTreeSet<String> = seen_a[200..].iter().map(|(_, id)| id.clone()).collect();
    let mut seen_resumed = Vec::new();
    resumed.collect(&rest, &mut seen_resumed).await;
    assert_eq!(seen_resumed, seen_a[200..].to_vec());
    assert!(
        resumed
            .next_change(Duration::from_millis(500))
            .await
            .is_none(),
        "nothing more, nothing doubled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_under_load_loses_nothing_it_acknowledged() {
    let (_cluster, database) = start_cluster(Durability::Durable);
    let dir = tempfile::tempdir().unwrap();
    let mut a = start_server(&database, &dir.path().join("a")).await;
    let b = start_server(&database, &dir.path().join("b")).await;
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut clients = Vec::new();
    for client in 0..8i64 {
        let (a_url, b_url, acknowledged) = (
            a.webhook_url.clone(),
            b.webhook_url.clone(),
            acknowledged.clone(),
        );
        clients.push(tokio::spawn(async move {
            let http = http();
            let mut retried = 0;
            for n in 0..60i64 {
                let id = client * 1000 + n;
                let (request_id, body) = delivery(id);
                let first = if id % 2 == 0 { &a_url } else { &b_url };
                let answer = match post(&http, first, body.clone()).await {
                    Some(answer) => answer,
                    None => {
                        // A dead server: the load balancer (or DreamClass's retry) tries B.
                        retried += 1;
                        post(&http, &b_url, body).await.expect("B answers")
                    }
                };
                assert_eq!(answer.0, 200, "{}", answer.1);
                acknowledged.lock().unwrap().insert(request_id);
            }
            retried
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    a.child.start_kill().unwrap();
    a.child.wait().await.unwrap();
    let mut retried = 0;
    for client in clients {
        retried += client.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert_eq!(acknowledged.len(), 480);
    let stored = stored_request_ids(&database);
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    println!("killed A under load: {retried} deliveries resent to B, 0 of 480 lost");

    // What A committed before it died streams from B, with everything else.
    let mut on_b = Stream::new(&b, Some(0));
    let mut seen = Vec::new();
    on_b.collect(&acknowledged, &mut seen).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_gets_503_and_everything_catches_up() {
    let (cluster, database) = start_cluster(Durability::Durable);
    let dir = tempfile::tempdir().unwrap();
    let a = start_server(&database, &dir.path().join("a")).await;
    let b = start_server(&database, &dir.path().join("b")).await;
    let http = http();
    let mut on_a = Stream::new(&a, None);
    assert!(on_a.next_change(Duration::from_millis(300)).await.is_none());

    let mut acknowledged = BTreeSet::new();
    for id in 0..20 {
        let (request_id, body) = delivery(id);
        assert_eq!(post(&http, &b.webhook_url, body).await.unwrap().0, 200);
        acknowledged.insert(request_id);
    }

    // The database stops: deliveries are refused with 503 and a sentence, never 200.
    let stopping = std::thread::spawn(move || {
        cluster.stop().unwrap();
        cluster
    });
    let cluster = stopping.join().unwrap();
    let mut refused = Vec::new();
    for id in 20..30 {
        let (request_id, body) = delivery(id);
        let (status, text) = post(&http, &b.webhook_url, body.clone()).await.unwrap();
        assert_eq!(status, 503, "{text}");
        assert!(text.contains("send it again"), "{text}");
        refused.push((request_id, body));
    }
    let status: Value = http
        .get(format!("{}/api/status", a.api_base))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["databaseUnreachable"], true, "{status}");

    // Back: DreamClass's retries are accepted, and A's stream catches up by itself.
    let starting = std::thread::spawn(move || {
        cluster.start_again().unwrap();
        cluster
    });
    let cluster = starting.join().unwrap();
    for (request_id, body) in refused {
        let mut answer = (0, String::new());
        for _ in 0..50 {
            answer = post(&http, &b.webhook_url, body.clone()).await.unwrap();
            if answer.0 == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(answer.0, 200, "{}", answer.1);
        acknowledged.insert(request_id);
    }

    // A restart in the middle of a stream of deliveries (pg_ctl restart -m fast).
    let restarting = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        cluster.restart().unwrap();
        cluster
    });
    let mut answered_503 = 0;
    for id in 30..130 {
        let (request_id, body) = delivery(id);
        loop {
            match post(&http, &a.webhook_url, body.clone()).await {
                Some((200, _)) => break,
                Some((503, _)) => answered_503 += 1,
                Some((status, text)) => panic!("{status}: {text}"),
                None => {}
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        acknowledged.insert(request_id);
    }
    let _cluster = restarting.join().unwrap();
    println!("database restarted mid-stream: {answered_503} answers were 503, all resent");

    let stored = stored_request_ids(&database);
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    let mut seen = Vec::new();
    on_a.collect(&acknowledged, &mut seen).await;
    assert_eq!(seen.len(), 130, "every change exactly once");
}

fn rollcall(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(args)
        .env_remove("ROLLCALL_DATABASE_URL")
        .output()
        .unwrap()
}

fn sql(database: &str, statement: &str) -> i64 {
    let (database, statement) = (database.to_string(), statement.to_string());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&database, postgres::NoTls).unwrap();
        client
            .query_opt(&statement, &[])
            .unwrap()
            .map_or(0, |r| r.get(0))
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_history_moves_into_postgres_resumably_and_verified() {
    let (cluster, database) = start_cluster(Durability::Fast);
    let dir = tempfile::tempdir().unwrap();
    let school = dir.path().join("school");
    // A school office's SQLite history: applied, duplicate and refused deliveries.
    let office = start(None, &school).await;
    let http = http();
    let mut sent = BTreeSet::new();
    for n in 0..300 {
        let (request_id, body) = delivery(n);
        assert_eq!(
            post(&http, &office.webhook_url, body.clone())
                .await
                .unwrap()
                .0,
            200
        );
        if n % 10 == 0 {
            assert_eq!(post(&http, &office.webhook_url, body).await.unwrap().0, 200);
        }
        sent.insert(request_id);
    }
    let (_, forged) = delivery(999);
    let forged = String::from_utf8(forged)
        .unwrap()
        .replace("\"signature\":\"", "\"signature\":\"x");
    assert_eq!(
        post(&http, &office.webhook_url, forged.into_bytes())
            .await
            .unwrap()
            .0,
        401
    );
    support::stop(office).await;

    let from = school.join("data");
    // The office's people and audit log come along (their sessions do not).
    {
        let db = rollcall_core::rusqlite::Connection::open(from.join("rollcall.db")).unwrap();
        db.execute_batch(
            "INSERT INTO accounts (username, display_name, role, password_hash, created_at) \
             VALUES ('anna', 'Anna', 'staff', '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA', 1); \
             INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, expires_at) \
             VALUES ('00', 1, 'c', 1, 2); \
             INSERT INTO audit_log (at, who, action, detail) VALUES (1, 'anna', 'sign_in', '');",
        )
        .unwrap();
    }
    let from = from.to_str().unwrap();
    let first = rollcall(&[
        "migrate-to-postgres",
        "--from",
        from,
        "--database",
        &database,
    ]);
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        first.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(out.contains("changes") && out.contains("300 rows"), "{out}");
    assert_eq!(sql(&database, "SELECT COUNT(*) FROM requests"), 300);
    assert_eq!(sql(&database, "SELECT COUNT(*) FROM deliveries"), 331);
    assert_eq!(
        sql(
            &database,
            "SELECT COUNT(*) FROM accounts WHERE username = 'anna'"
        ),
        1
    );
    assert_eq!(sql(&database, "SELECT COUNT(*) FROM audit_log"), 1);
    assert_eq!(sql(&database, "SELECT COUNT(*) FROM sessions"), 0);

    // Interrupted half-way through the change log: the next run copies only the rest.
    let removed = sql(
        &database,
        "WITH d AS (DELETE FROM changes WHERE seq > 120 RETURNING 1) SELECT COUNT(*) FROM d",
    );
    assert_eq!(removed, 180);
    let again = rollcall(&[
        "migrate-to-postgres",
        "--from",
        from,
        "--database",
        &database,
    ]);
    let out = String::from_utf8_lossy(&again.stdout).to_string();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(out.contains("180 copied now"), "{out}");

    // The same reports, byte for byte, from the school's folder and from PostgreSQL.
    for report in ["attendance", "changes", "students", "classes", "courses"] {
        let office = rollcall(&["export", report, "--data-dir", from]);
        let district = rollcall(&[
            "export",
            report,
            "--data-dir",
            from,
            "--database",
            &database,
        ]);
        assert!(
            office.status.success() && district.status.success(),
            "{report}: {}",
            String::from_utf8_lossy(&district.stderr)
        );
        assert!(office.stdout.len() > 100, "{report} has rows");
        assert_eq!(
            String::from_utf8_lossy(&office.stdout),
            String::from_utf8_lossy(&district.stdout),
            "{report}"
        );
    }

    // Another school's folder is refused: the database holds data that is not its own.
    let other = dir.path().join("other");
    let second = start(None, &other).await;
    let (_, body) = delivery(5000);
    assert_eq!(post(&http, &second.webhook_url, body).await.unwrap().0, 200);
    support::stop(second).await;
    let other_from = other.join("data");
    let refused = rollcall(&[
        "migrate-to-postgres",
        "--from",
        other_from.to_str().unwrap(),
        "--database",
        &database,
    ]);
    let err = String::from_utf8_lossy(&refused.stderr).to_string();
    assert!(!refused.status.success());
    assert!(err.contains("--force"), "{err}");

    // The district server serves the moved history, and new changes follow its seq.
    let server = start_server(&database, &dir.path().join("district")).await;
    let page: Value = http
        .get(format!(
            "{}/api/changes?after=0&limit=1000",
            server.api_base
        ))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let moved: BTreeSet<String> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["requestId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(moved, sent);
    let (_, body) = delivery(301);
    assert_eq!(post(&http, &server.webhook_url, body).await.unwrap().0, 200);
    assert_eq!(sql(&database, "SELECT MAX(seq) FROM changes"), 301);
    drop(cluster);
}
