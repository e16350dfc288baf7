//! Webhook-to-stream latency, as the benches measure it: fresh deliveries sent at a steady
//! 200 a second, each timed from the moment it is sent until its change arrives on every
//! open live stream (SSE).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rollcall_core::model::now_ms;
use rollcall_core::SigningKey;
use rollcall_simulator::{
    plan, webhook_body, DeliveryNote, DemoSchool, PlanOptions, PlannedDelivery,
};

/// The steady rate of every latency figure.
pub const PER_SECOND: u64 = 200;

/// About `seconds` worth of deliveries at [`PER_SECOND`] that each make a change (duplicates
/// and stale versions left out).
pub fn fresh_deliveries(seconds: u64, seed: u64) -> Vec<PlannedDelivery> {
    plan(
        &DemoSchool::generate(seed),
        PlanOptions {
            events: (seconds * PER_SECOND) as usize,
            seed,
            end_ts: now_ms(),
            first_date: chrono::Local::now().date_naive(),
        },
    )
    .deliveries
    .into_iter()
    .filter(|d| d.note == DeliveryNote::Fresh)
    .collect()
}

/// Sends `deliveries` to `url` (signed for `tenant`) at [`PER_SECOND`] and times each on every
/// one of `streams`: the latencies in milliseconds, one list per stream, each as long as the
/// changes that stream received within 30 s after the last was sent.
pub async fn latencies_on_streams(
    url: String,
    key: &SigningKey,
    tenant: &str,
    deliveries: Vec<PlannedDelivery>,
    streams: Vec<reqwest::Response>,
) -> Vec<Vec<f64>> {
    let expected = deliveries.len();
    let sent_at = Arc::new(Mutex::new(HashMap::<String, Instant>::new()));
    let deadline = Instant::now()
        + Duration::from_millis(expected as u64 * 1000 / PER_SECOND)
        + Duration::from_secs(30);
    let readers: Vec<_> = streams
        .into_iter()
        .map(|stream| tokio::spawn(read_changes(stream, sent_at.clone(), expected, deadline)))
        .collect();
    let http = reqwest::Client::new();
    let start = Instant::now();
    let period = Duration::from_secs(1) / PER_SECOND as u32;
    for (i, d) in deliveries.iter().enumerate() {
        tokio::time::sleep_until((start + period * i as u32).into()).await;
        let body = webhook_body(d, tenant, Some(key));
        sent_at
            .lock()
            .unwrap()
            .insert(d.request_id.clone(), Instant::now());
        let (http, url) = (http.clone(), url.clone());
        tokio::spawn(async move {
            let _ = http
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
        });
    }
    let mut all = Vec::new();
    for reader in readers {
        all.push(reader.await.unwrap());
    }
    all
}

/// Reads one stream until `expected` timed changes arrived or `deadline` passed.
async fn read_changes(
    mut stream: reqwest::Response,
    sent_at: Arc<Mutex<HashMap<String, Instant>>>,
    expected: usize,
    deadline: Instant,
) -> Vec<f64> {
    let mut latencies = Vec::with_capacity(expected);
    let mut buffer = String::new();
    while latencies.len() < expected && Instant::now() < deadline {
        let chunk = match tokio::time::timeout(Duration::from_millis(200), stream.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            Ok(_) => break,
            Err(_) => continue,
        };
        let now = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            let Ok(change) = serde_json::from_str::<serde_json::Value>(data) else {
                continue;
            };
            let id = change["requestId"].as_str().unwrap_or_default();
            if let Some(t) = sent_at.lock().unwrap().get(id) {
                latencies.push(now.duration_since(*t).as_secs_f64() * 1000.0);
            }
        }
    }
    latencies
}

/// The `q` quantile (0.5, 0.99) of `latencies`, sorted here.
pub fn quantile(latencies: &mut [f64], q: f64) -> f64 {
    latencies.sort_by(f64::total_cmp);
    latencies[((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1))]
}
