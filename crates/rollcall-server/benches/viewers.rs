//! Many people watching one server: signed-in viewers each holding a live stream while
//! deliveries arrive at a steady 200 a second, measured side by side in one run.
//!
//! `cargo bench -p rollcall-server --bench viewers [-- --viewers N --seconds S]`
//!
//! One server with sign-in required (SQLite, durable). First 1 viewer, then N (50 by
//! default), each signed in with its own session and streaming `/api/stream`: every change
//! is timed from sending its delivery until it arrives on each viewer's stream (p50/p99 over
//! every viewer and change), and the process's resident memory is sampled every 100 ms.
//! Server and viewers share this one process, so the memory is theirs together.

#[path = "live/mod.rs"]
mod live;

use std::time::{Duration, Instant};

use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_server::auth::{PasswordCost, SignInConfig};
use rollcall_server::{RunningServer, ServerConfig, WebhookSettings};
use serde_json::json;

const SECRET: &str = "bench-secret";
const TENANT: &str = "demo-school";
const PASSWORD: &str = "a viewer's long password";

fn options() -> (usize, u64) {
    let (mut viewers, mut seconds) = (50, 10);
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--viewers" => viewers = pair[1].parse().expect("a number"),
            "--seconds" => seconds = pair[1].parse().expect("a number"),
            _ => {}
        }
    }
    (viewers, seconds)
}

fn main() {
    let (viewers, seconds) = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = SigningKey::new(SECRET, KeyEncoding::Text).unwrap();
    let mut results = Vec::new();
    for (n, seed) in [(1, 11), (viewers, 12)] {
        let result = runtime.block_on(watch(n, seconds, seed, &key));
        println!(
            "{n:>3} viewer(s) at {} events/s: p50 {:.1} ms, p99 {:.1} ms to every viewer ({} of {} changes arrived); resident memory {:.0} MB idle with them connected, {:.0} MB at most while streaming",
            live::PER_SECOND,
            result.p50,
            result.p99,
            result.arrived,
            result.expected,
            result.idle_mb,
            result.peak_mb
        );
        results.push(result);
    }
    let (one, many) = (&results[0], &results[1]);
    println!(
        "{viewers} viewers / 1 viewer: p99 {:.2}x, peak memory {:.2}x ({:+.0} MB)",
        many.p99 / one.p99,
        many.peak_mb / one.peak_mb,
        many.peak_mb - one.peak_mb
    );
}

struct Watched {
    p50: f64,
    p99: f64,
    arrived: usize,
    expected: usize,
    idle_mb: f64,
    peak_mb: f64,
}

async fn watch(viewers: usize, seconds: u64, seed: u64, key: &SigningKey) -> Watched {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let streams = open_streams(&server, viewers).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_mb = resident_mb();
    let sampling = tokio::spawn(peak_memory(
        Instant::now() + Duration::from_secs(seconds + 5),
    ));
    let deliveries = live::fresh_deliveries(seconds, seed);
    let expected = deliveries.len() * viewers;
    let per_viewer = live::latencies_on_streams(
        server.info().webhook_url(),
        key,
        TENANT,
        deliveries,
        streams,
    )
    .await;
    let peak_mb = sampling.await.unwrap().max(idle_mb);
    server.shutdown().await;
    let mut all: Vec<f64> = per_viewer.into_iter().flatten().collect();
    Watched {
        p50: live::quantile(&mut all, 0.50),
        p99: live::quantile(&mut all, 0.99),
        arrived: all.len(),
        expected,
        idle_mb,
        peak_mb,
    }
}

async fn start(dir: &std::path::Path) -> RunningServer {
    let mut config = ServerConfig::new(dir.to_path_buf());
    config.webhook_addr = "127.0.0.1:0".parse().unwrap();
    config.ui_addr = "127.0.0.1:0".parse().unwrap();
    config.settings.webhook = WebhookSettings::signed(SECRET);
    config.sign_in = SignInConfig {
        required: true,
        secure_cookie: false,
        // Hashing is not what is measured, and every viewer signs in from this one address.
        password_cost: PasswordCost::Fast,
        attempts_per_minute: 10_000,
        ..SignInConfig::default()
    };
    rollcall_server::start(config).await.unwrap()
}

/// `viewers` people added by this computer (the run's token), each signed in and streaming.
async fn open_streams(server: &RunningServer, viewers: usize) -> Vec<reqwest::Response> {
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.info().ui_addr);
    let mut streams = Vec::new();
    for i in 0..viewers {
        let username = format!("viewer{i}");
        let added = http
            .post(format!("{base}/api/people"))
            .bearer_auth(&server.info().token)
            .json(&json!({
                "username": username, "displayName": username, "role": "viewer",
                "password": PASSWORD
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), 201, "a viewer is added");
        let signed_in = http
            .post(format!("{base}/api/sign-in"))
            .json(&json!({ "username": username, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 200, "a viewer signs in");
        let cookie = signed_in.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let stream = http
            .get(format!("{base}/api/stream"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200, "a viewer's stream opens");
        streams.push(stream);
    }
    streams
}

/// This process's resident memory now, in MB (Linux `/proc`; 0 elsewhere).
fn resident_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The most resident memory seen, sampled every 100 ms until `until`.
async fn peak_memory(until: Instant) -> f64 {
    let mut peak: f64 = 0.0;
    while Instant::now() < until {
        peak = peak.max(resident_mb());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    peak
}
