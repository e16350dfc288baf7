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
//!
//! Then the same with desktop viewers (`--copies N`, 10 by default): Rollcalls started as
//! viewers of the server (`--viewer-of`), each signed in and keeping its own SQLite copy;
//! each change is timed until it arrives on the viewer's own local stream, that is after the
//! viewer has committed it to its copy, as its window sees it.

#[path = "live/mod.rs"]
mod live;

use std::time::{Duration, Instant};

use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_server::auth::{PasswordCost, SignInConfig};
use rollcall_server::viewer::{ViewerConfig, ViewerConnection};
use rollcall_server::{RunningServer, ServerConfig, WebhookSettings};
use serde_json::json;

const SECRET: &str = "bench-secret";
const TENANT: &str = "demo-school";
const PASSWORD: &str = "a viewer's long password";

fn options() -> (usize, usize, u64) {
    let (mut viewers, mut copies, mut seconds) = (50, 10, 10);
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--viewers" => viewers = pair[1].parse().expect("a number"),
            "--copies" => copies = pair[1].parse().expect("a number"),
            "--seconds" => seconds = pair[1].parse().expect("a number"),
            _ => {}
        }
    }
    (viewers, copies, seconds)
}

/// Who watches: browsers' streams on the server, or desktop viewers with their own copy.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Watchers {
    Streams,
    Copies,
}

fn main() {
    let (viewers, copies, seconds) = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = SigningKey::new(SECRET, KeyEncoding::Text).unwrap();
    for (watchers, many, label) in [
        (
            Watchers::Streams,
            viewers,
            "viewer(s) streaming from the server",
        ),
        (
            Watchers::Copies,
            copies,
            "desktop viewer(s) with their own copy",
        ),
    ] {
        let mut results = Vec::new();
        for (n, seed) in [(1, 11), (many, 12)] {
            let result = runtime.block_on(watch(n, seconds, seed, &key, watchers));
            println!(
                "{n:>3} {label} at {} events/s: p50 {:.1} ms, p99 {:.1} ms to every viewer ({} of {} changes arrived); resident memory {:.0} MB idle with them connected, {:.0} MB at most while streaming",
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
        let (one, many_result) = (&results[0], &results[1]);
        println!(
            "{many} / 1 {label}: p99 {:.2}x, peak memory {:.2}x ({:+.0} MB)",
            many_result.p99 / one.p99,
            many_result.peak_mb / one.peak_mb,
            many_result.peak_mb - one.peak_mb
        );
    }
}

struct Watched {
    p50: f64,
    p99: f64,
    arrived: usize,
    expected: usize,
    idle_mb: f64,
    peak_mb: f64,
}

async fn watch(
    viewers: usize,
    seconds: u64,
    seed: u64,
    key: &SigningKey,
    watchers: Watchers,
) -> Watched {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (streams, copies) = match watchers {
        Watchers::Streams => (open_streams(&server, viewers).await, Vec::new()),
        Watchers::Copies => start_copies(&server, viewers).await,
    };
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
    for (copy, _) in copies {
        copy.shutdown().await;
    }
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

/// `copies` Rollcalls started as viewers of `server`, each signed in as a person of its own
/// and live; the streams of their own local APIs, and the viewers with their data folders.
async fn start_copies(
    server: &RunningServer,
    copies: usize,
) -> (
    Vec<reqwest::Response>,
    Vec<(RunningServer, tempfile::TempDir)>,
) {
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.info().ui_addr);
    let mut streams = Vec::new();
    let mut viewers = Vec::new();
    for i in 0..copies {
        let username = format!("desk{i}");
        add_person(&http, server, &username).await;
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path().to_path_buf());
        config.ui_addr = "127.0.0.1:0".parse().unwrap();
        config.viewer = Some(ViewerConfig::parse(&base).unwrap());
        let viewer = rollcall_server::start(config).await.unwrap();
        let local = format!("http://{}", viewer.info().ui_addr);
        let token = viewer.info().token.clone();
        let signed_in = http
            .post(format!("{local}/api/viewer/sign-in"))
            .bearer_auth(&token)
            .json(&json!({ "username": username, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 200, "a desktop viewer signs in");
        let mut live = viewer
            .state()
            .viewer_updates()
            .expect("started as a viewer");
        tokio::time::timeout(
            Duration::from_secs(30),
            live.wait_for(|s| s.connection == ViewerConnection::Live),
        )
        .await
        .expect("a desktop viewer is live within 30 s")
        .unwrap();
        let stream = http
            .get(format!("{local}/api/stream"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200, "a desktop viewer's own stream opens");
        streams.push(stream);
        viewers.push((viewer, dir));
    }
    (streams, viewers)
}

/// A viewer account on `server`, added by this computer (the run's token).
async fn add_person(http: &reqwest::Client, server: &RunningServer, username: &str) {
    let added = http
        .post(format!("http://{}/api/people", server.info().ui_addr))
        .bearer_auth(&server.info().token)
        .json(&json!({
            "username": username, "displayName": username, "role": "viewer",
            "password": PASSWORD
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201, "a viewer is added");
}

/// `viewers` people added by this computer (the run's token), each signed in and streaming.
async fn open_streams(server: &RunningServer, viewers: usize) -> Vec<reqwest::Response> {
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.info().ui_addr);
    let mut streams = Vec::new();
    for i in 0..viewers {
        let username = format!("viewer{i}");
        add_person(&http, server, &username).await;
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
