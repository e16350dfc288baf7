//! Added latency of a webhook delivery through a bore tunnel, against the same delivery sent
//! straight to the webhook listener. Everything runs on loopback: an in-process bore server,
//! the tunnel under test, and a listener that answers 200 like the real one.
//!
//! Two client behaviours are measured, because DreamClass's is not documented:
//! - keep-alive: one connection reused, so only the per-request path is measured;
//! - new connection per delivery: adds bore's per-connection setup (the server asks the
//!   client over the control connection to open a second connection and join the two).
//!
//! Run: `cargo bench -p rollcall-tunnel --bench tunnel_latency`
//! (`ROLLCALL_BENCH_REQUESTS=N` changes the number of deliveries per row, default 3000).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::Router;
use bore_cli::server::Server;
use bore_cli::shared::CONTROL_PORT;
use rollcall_tunnel::{start_with, BoreConfig, ReconnectPolicy, TunnelConfig, TunnelOptions};

fn main() {
    let requests: usize = std::env::var("ROLLCALL_BENCH_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);

    // The bore server gets its own thread and runtime, like a separate machine would.
    std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut server = Server::new(1024..=65535, None);
            server.set_bind_addr(Ipv4Addr::LOCALHOST.into());
            server.set_bind_tunnels(Ipv4Addr::LOCALHOST.into());
            server
                .listen()
                .await
                .expect("bore server (is port 7835 free?)");
        });
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        while tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, CONTROL_PORT))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let webhook_addr: SocketAddr = listener.local_addr().unwrap();
        let app = Router::new().route("/webhooks/dreamclass", post(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let tunnel = start_with(
            TunnelConfig::Bore(BoreConfig::new("127.0.0.1")),
            webhook_addr,
            TunnelOptions {
                reconnect: ReconnectPolicy::fast(),
                ..TunnelOptions::default()
            },
        );
        let public_url = tunnel
            .wait_online(Duration::from_secs(30))
            .await
            .expect("bore tunnel on loopback");
        let direct_url = format!("http://{webhook_addr}");

        let body = serde_json::json!({
            "id": "dcba9199-0860-4324-8927-17df766a290e",
            "type": "ATTENDANCE_CREATED",
            "tenant": "my-school",
            "timestamp": 1727885988419u64,
            "signature": "ssw0fpOJXiij/MRjaZfjSG8Toacmfr8UVKPa5JOKHDs=",
            "data": {"id": 52, "date": "2025-06-19", "type": "SESSION", "classId": 34,
                     "comment": "sample comment", "courseId": 40, "statusId": 5,
                     "studentPeriodId": 4}
        })
        .to_string();

        println!(
            "{requests} POSTs of a {}-byte attendance webhook per row, loopback, sequential",
            body.len()
        );
        println!(
            "{:<34} {:>9} {:>9} {:>9} {:>9}",
            "", "p50 ms", "p99 ms", "mean ms", "max ms"
        );
        for (mode, reuse) in [("keep-alive", true), ("new connection each", false)] {
            let direct = measure(&direct_url, &body, requests, reuse).await;
            let tunneled = measure(&public_url, &body, requests, reuse).await;
            print_row(&format!("direct, {mode}"), &direct);
            print_row(&format!("through bore, {mode}"), &tunneled);
            println!(
                "{:<34} {:>9.3} {:>9.3}",
                format!("added by bore, {mode}"),
                ms(percentile(&tunneled, 50.0)) - ms(percentile(&direct, 50.0)),
                ms(percentile(&tunneled, 99.0)) - ms(percentile(&direct, 99.0)),
            );
        }
        tunnel.stop().await;
    });
    // The bore server thread is left to end with the process.
}

async fn measure(base: &str, body: &str, requests: usize, reuse: bool) -> Vec<Duration> {
    let mut builder = reqwest::Client::builder().no_proxy();
    if !reuse {
        builder = builder.pool_max_idle_per_host(0);
    }
    let client = builder.build().unwrap();
    let url = format!("{base}/webhooks/dreamclass");
    let send = || {
        client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    // Warm up (first connection, allocator, caches).
    for _ in 0..50 {
        let response = send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
    }
    let mut samples = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let response = send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    samples
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn print_row(label: &str, sorted: &[Duration]) {
    let mean = sorted.iter().sum::<Duration>() / sorted.len() as u32;
    println!(
        "{:<34} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
        label,
        ms(percentile(sorted, 50.0)),
        ms(percentile(sorted, 99.0)),
        ms(mean),
        ms(*sorted.last().unwrap()),
    );
}
