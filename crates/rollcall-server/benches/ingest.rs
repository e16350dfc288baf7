//! Durable ingest throughput and webhook-to-stream latency, measured side by side in one run.
//!
//! `cargo bench -p rollcall-server --bench ingest [-- --events N --concurrency C --latency-seconds S]`
//!
//! 1. The SQLite ceiling: one commit per event (WAL, synchronous=FULL, the same disk), a bare
//!    insert of the delivery per transaction: the most any design that commits each webhook
//!    on its own could reach.
//! 2. Rollcall: signed deliveries over loopback HTTP from concurrent senders into the real
//!    listener, each answered only after its group commit is durable.
//! 3. Latency: deliveries at a steady 200/s; time from sending each to seeing its change on the
//!    live stream (SSE), p50/p99.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rollcall_core::model::now_ms;
use rollcall_core::rusqlite::{params, Connection};
use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_server::{ServerConfig, WebhookSettings};
use rollcall_simulator::{plan, send_all, webhook_body, DemoSchool, PlanOptions, SendOptions};

struct Options {
    events: usize,
    concurrency: usize,
    ceiling_events: usize,
    latency_seconds: u64,
}

fn options() -> Options {
    let mut o = Options {
        events: 20_000,
        concurrency: 64,
        ceiling_events: 2_000,
        latency_seconds: 10,
    };
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        let value = || pair[1].parse().expect("a number");
        match pair[0].as_str() {
            "--events" => o.events = value(),
            "--concurrency" => o.concurrency = value(),
            "--ceiling-events" => o.ceiling_events = value(),
            "--latency-seconds" => o.latency_seconds = value() as u64,
            _ => {}
        }
    }
    o
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = SigningKey::new(SECRET, KeyEncoding::Text).unwrap();
    let school = DemoSchool::generate(1);
    let plan = plan(
        &school,
        PlanOptions {
            events: o.events.max(o.ceiling_events),
            seed: 1,
            end_ts: now_ms(),
            first_date: chrono::Local::now().date_naive(),
        },
    );
    let bodies: Vec<Vec<u8>> = plan
        .deliveries
        .iter()
        .map(|d| webhook_body(d, "demo-school", Some(&key)))
        .collect();

    let ceiling = sqlite_one_commit_per_event(&bodies[..o.ceiling_events]);
    println!(
        "sqlite ceiling (one commit per event, WAL, synchronous=FULL): {:>8.0} events/s  ({} events)",
        ceiling, o.ceiling_events
    );

    let (throughput, report) = runtime.block_on(http_throughput(
        &plan.deliveries[..o.events],
        &key,
        o.concurrency,
    ));
    println!(
        "rollcall (HTTP, verified, durable, {} senders):        {:>8.0} events/s  ({} events, {} answered 200)",
        o.concurrency,
        throughput,
        o.events,
        report.ok()
    );
    println!(
        "ratio rollcall / ceiling: {:.1}x (target: at least 4x)",
        throughput / ceiling
    );

    let (p50, p99, n) = runtime.block_on(stream_latency(&key, o.latency_seconds));
    println!(
        "webhook sent -> change on the live stream at 200 events/s: p50 {:.1} ms, p99 {:.1} ms ({n} events; target p99 < 25 ms)",
        p50, p99
    );
}

fn sqlite_one_commit_per_event(bodies: &[Vec<u8>]) -> f64 {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let conn = Connection::open(dir.path().join("ceiling.db")).unwrap();
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
        .unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch(
        "CREATE TABLE deliveries (seq INTEGER PRIMARY KEY, received_at INTEGER, body BLOB)",
    )
    .unwrap();
    let start = Instant::now();
    for body in bodies {
        let tx = conn.unchecked_transaction().unwrap();
        tx.execute(
            "INSERT INTO deliveries (received_at, body) VALUES (?1, ?2)",
            params![now_ms(), body],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    bodies.len() as f64 / start.elapsed().as_secs_f64()
}

/// The benchmark's databases live beside the build (the project's disk), not in a RAM /tmp.
fn bench_dir() -> std::path::PathBuf {
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The secret the benchmark's deliveries are signed with.
const SECRET: &str = "bench-secret";

/// A server checking signatures made with [`SECRET`] (`_key` is its signing key).
async fn start_server(dir: &std::path::Path, _key: &SigningKey) -> rollcall_server::RunningServer {
    let mut config = ServerConfig::new(dir.to_path_buf());
    config.webhook_addr = "127.0.0.1:0".parse().unwrap();
    config.ui_addr = "127.0.0.1:0".parse().unwrap();
    config.settings.webhook = WebhookSettings::signed(SECRET);
    rollcall_server::start(config).await.unwrap()
}

async fn http_throughput(
    deliveries: &[rollcall_simulator::PlannedDelivery],
    key: &SigningKey,
    concurrency: usize,
) -> (f64, rollcall_simulator::SendReport) {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let server = start_server(dir.path(), key).await;
    let report = send_all(
        deliveries,
        &SendOptions {
            url: server.info().webhook_url(),
            tenant: "demo-school".into(),
            key: Some(key.clone()),
            authorization: None,
            rate: None,
            concurrency,
            before_send: None,
        },
    )
    .await;
    server.shutdown().await;
    (report.ok() as f64 / report.elapsed.as_secs_f64(), report)
}

async fn stream_latency(key: &SigningKey, seconds: u64) -> (f64, f64, usize) {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let server = start_server(dir.path(), key).await;
    let info = server.info().clone();
    let http = reqwest::Client::new();
    let mut stream = http
        .get(format!("http://{}/api/stream?after=0", info.ui_addr))
        .bearer_auth(&info.token)
        .send()
        .await
        .unwrap();
    let total = (seconds * 200) as usize;
    let school = DemoSchool::generate(2);
    let plan = plan(
        &school,
        PlanOptions {
            events: total,
            seed: 2,
            end_ts: now_ms(),
            first_date: chrono::Local::now().date_naive(),
        },
    );
    // Only fresh deliveries make a change; time those.
    let fresh: Vec<_> = plan
        .deliveries
        .iter()
        .filter(|d| d.note == rollcall_simulator::DeliveryNote::Fresh)
        .cloned()
        .collect();
    let sent_at = std::sync::Arc::new(std::sync::Mutex::new(HashMap::<String, Instant>::new()));
    let sender = {
        let sent_at = sent_at.clone();
        let url = info.webhook_url();
        let key = key.clone();
        let http = http.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            for (i, d) in fresh.iter().enumerate() {
                tokio::time::sleep_until((start + Duration::from_millis(i as u64 * 5)).into())
                    .await;
                let body = webhook_body(d, "demo-school", Some(&key));
                sent_at
                    .lock()
                    .unwrap()
                    .insert(d.request_id.clone(), Instant::now());
                let http = http.clone();
                let url = url.clone();
                tokio::spawn(async move {
                    let _ = http
                        .post(url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                });
            }
            fresh.len()
        })
    };
    let mut latencies = Vec::new();
    let mut buffer = String::new();
    let deadline = Instant::now() + Duration::from_secs(seconds + 30);
    let mut expected = usize::MAX;
    while latencies.len() < expected && Instant::now() < deadline {
        if sender.is_finished() && expected == usize::MAX {
            expected = latencies.len().max(1);
        }
        let chunk = match tokio::time::timeout(Duration::from_millis(200), stream.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            Ok(_) => break,
            Err(_) => continue,
        };
        let now = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                let change: serde_json::Value = match serde_json::from_str(data) {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                let id = change["requestId"].as_str().unwrap_or_default();
                if let Some(t) = sent_at.lock().unwrap().get(id) {
                    latencies.push(now.duration_since(*t).as_secs_f64() * 1000.0);
                }
            }
        }
    }
    let sent = sender.await.unwrap();
    server.shutdown().await;
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pick = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    assert!(
        latencies.len() >= sent * 9 / 10,
        "most changes were seen on the stream"
    );
    (pick(0.50), pick(0.99), latencies.len())
}
