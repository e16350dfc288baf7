//! A district server on PostgreSQL, measured side by side in one run on one throwaway,
//! durable cluster (fsync on):
//!
//! `cargo bench -p rollcall-server --bench district [-- --events N --concurrency C --latency-seconds S]`
//!
//! 1. Store ingest, one commit per event vs group commit: the same `PostgresStore` with its
//!    writer's batch capped at 1, then as shipped, fed by C concurrent deliverers. Beside
//!    them, the bare ceiling of committing each event on its own: 8 connections at once, each
//!    inserting one delivery's body per transaction (PostgreSQL then shares WAL flushes
//!    between connections by itself).
//! 2. The same through HTTP: signed deliveries into a real listener with `database_url`.
//! 3. Across servers: deliveries at a steady 200/s to server B, each timed until its change
//!    arrives on server A's live stream (SSE), p50/p99.

#[path = "live/mod.rs"]
mod live;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rollcall_core::envelope::parse_body;
use rollcall_core::model::now_ms;
use rollcall_core::store::{Store, VerifiedDelivery};
use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_server::{ServerConfig, WebhookSettings};
use rollcall_simulator::{
    plan, send_all, webhook_body, DemoSchool, PlanOptions, PlannedDelivery, SendOptions,
};
use rollcall_store_postgres::cluster::{Durability, TestCluster};
use rollcall_store_postgres::{DatabaseUrl, PostgresStore, WriterOptions};

const SECRET: &str = "bench-secret";
const TENANT: &str = "demo-school";

struct Options {
    events: usize,
    concurrency: usize,
    latency_seconds: u64,
}

fn options() -> Options {
    let mut o = Options {
        events: 4_000,
        concurrency: 64,
        latency_seconds: 10,
    };
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        let value = || pair[1].parse().expect("a number");
        match pair[0].as_str() {
            "--events" => o.events = value(),
            "--concurrency" => o.concurrency = value(),
            "--latency-seconds" => o.latency_seconds = value() as u64,
            _ => {}
        }
    }
    o
}

fn main() {
    let o = options();
    let cluster = TestCluster::start(Durability::Durable).expect("a PostgreSQL cluster starts");
    let databases: Vec<String> = (0..5).map(|_| cluster.create_database().unwrap()).collect();
    let key = SigningKey::new(SECRET, KeyEncoding::Text).unwrap();
    let deliveries = planned(o.events, 1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let single = runtime.block_on(store_ingest(
        &databases[0],
        1,
        &deliveries,
        &key,
        o.concurrency,
    ));
    let grouped = runtime.block_on(store_ingest(
        &databases[1],
        WriterOptions::default().max_batch,
        &deliveries,
        &key,
        o.concurrency,
    ));
    println!(
        "postgres store, one commit per event ({} deliverers): {single:>8.0} deliveries/s ({} deliveries)",
        o.concurrency,
        deliveries.len()
    );
    println!(
        "postgres store, group commit ({} deliverers):         {grouped:>8.0} deliveries/s",
        o.concurrency
    );
    let ceiling = bare_commits(&databases[4], &deliveries, &key, 8);
    println!(
        "postgres bare ceiling, one INSERT per commit (8 connections):  {ceiling:>8.0} commits/s"
    );
    println!(
        "ratio group commit / one commit per event: {:.1}x (aim: at least 4x); / bare ceiling: {:.1}x",
        grouped / single,
        grouped / ceiling
    );

    let http = runtime.block_on(http_ingest(&databases[2], &deliveries, &key, o.concurrency));
    println!(
        "rollcall over HTTP (verified, durable in postgres, {} senders): {http:>8.0} deliveries/s",
        o.concurrency
    );

    let (p50, p99, n) = runtime.block_on(across_servers(&databases[3], &key, o.latency_seconds));
    println!(
        "webhook to server B -> change on server A's live stream at 200 events/s: p50 {p50:.1} ms, p99 {p99:.1} ms ({n} events; aim: p99 < 50 ms)"
    );
    drop(cluster);
}

/// Each delivery's body inserted in its own transaction by `connections` clients at once.
fn bare_commits(
    database: &str,
    deliveries: &[PlannedDelivery],
    key: &SigningKey,
    connections: usize,
) -> f64 {
    let bodies: Vec<Vec<u8>> = deliveries
        .iter()
        .map(|d| webhook_body(d, TENANT, Some(key)))
        .collect();
    let mut setup = postgres::Client::connect(database, postgres::NoTls).unwrap();
    setup
        .batch_execute(
            "CREATE TABLE ceiling (seq BIGSERIAL PRIMARY KEY, received_at BIGINT, body BYTEA)",
        )
        .unwrap();
    let queue = Arc::new(Mutex::new(bodies));
    let start = Instant::now();
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let (queue, database) = (queue.clone(), database.to_string());
            std::thread::spawn(move || {
                let mut client = postgres::Client::connect(&database, postgres::NoTls).unwrap();
                let insert = client
                    .prepare("INSERT INTO ceiling (received_at, body) VALUES ($1, $2)")
                    .unwrap();
                loop {
                    let Some(body) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    client.execute(&insert, &[&now_ms(), &body]).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    deliveries.len() as f64 / start.elapsed().as_secs_f64()
}

fn planned(events: usize, seed: u64) -> Vec<PlannedDelivery> {
    plan(
        &DemoSchool::generate(seed),
        PlanOptions {
            events,
            seed,
            end_ts: now_ms(),
            first_date: chrono::Local::now().date_naive(),
        },
    )
    .deliveries
}

async fn store_ingest(
    database: &str,
    max_batch: usize,
    deliveries: &[PlannedDelivery],
    key: &SigningKey,
    concurrency: usize,
) -> f64 {
    let url = DatabaseUrl::parse(database).unwrap();
    let store = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            PostgresStore::open_with(&url, WriterOptions { max_batch })
        })
        .await
        .unwrap()
        .unwrap()
    };
    let verified: Vec<VerifiedDelivery> = deliveries
        .iter()
        .map(|d| {
            let body = webhook_body(d, TENANT, Some(key));
            let parsed = parse_body(&body).unwrap();
            VerifiedDelivery {
                received_at: now_ms(),
                content_sha256: parsed.content_sha256(),
                envelope: parsed.into_envelope().unwrap(),
                raw_body: body,
            }
        })
        .collect();
    let queue = Arc::new(Mutex::new(verified));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (store, queue) = (store.clone(), queue.clone());
            tokio::spawn(async move {
                loop {
                    let Some(delivery) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    store.deliver(delivery).await.expect("stored");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let rate = deliveries.len() as f64 / start.elapsed().as_secs_f64();
    store.shutdown().await;
    rate
}

async fn start_server(database: &str, dir: &std::path::Path) -> rollcall_server::RunningServer {
    let mut config = ServerConfig::new(dir.to_path_buf());
    config.database_url = Some(database.to_string());
    config.webhook_addr = "127.0.0.1:0".parse().unwrap();
    config.ui_addr = "127.0.0.1:0".parse().unwrap();
    config.settings.webhook = WebhookSettings::signed(SECRET);
    rollcall_server::start(config).await.unwrap()
}

async fn http_ingest(
    database: &str,
    deliveries: &[PlannedDelivery],
    key: &SigningKey,
    concurrency: usize,
) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(database, dir.path()).await;
    let report = send_all(
        deliveries,
        &SendOptions {
            url: server.info().webhook_url(),
            tenant: TENANT.into(),
            key: Some(key.clone()),
            authorization: None,
            rate: None,
            concurrency,
            before_send: None,
        },
    )
    .await;
    server.shutdown().await;
    assert_eq!(
        report.ok() as usize,
        deliveries.len(),
        "every delivery answered 200"
    );
    report.ok() as f64 / report.elapsed.as_secs_f64()
}

/// Sends fresh deliveries to B at 200/s and times each until A's stream shows its change.
async fn across_servers(database: &str, key: &SigningKey, seconds: u64) -> (f64, f64, usize) {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_server(database, dir_a.path()).await;
    let b = start_server(database, dir_b.path()).await;
    let stream = reqwest::Client::new()
        .get(format!("http://{}/api/stream", a.info().ui_addr))
        .bearer_auth(&a.info().token)
        .send()
        .await
        .unwrap();
    let deliveries = live::fresh_deliveries(seconds, 2);
    let mut latencies = live::latencies_on_streams(
        b.info().webhook_url(),
        key,
        TENANT,
        deliveries,
        vec![stream],
    )
    .await
    .remove(0);
    a.shutdown().await;
    b.shutdown().await;
    let n = latencies.len();
    (
        live::quantile(&mut latencies, 0.50),
        live::quantile(&mut latencies, 0.99),
        n,
    )
}
