//! Connection limits for the webhook listener, the socket a tunnel exposes to the internet: a
//! cap on connections served at once and a deadline for each request head, so that clients
//! that connect and then send slowly (or nothing) cannot hold the listener.
//!
//! `axum::serve` offers neither (its hyper connections run without a timer, so hyper's
//! header read timeout never fires), hence this small accept loop.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections served at once. Further ones wait in the system's accept queue until one
    /// closes; the header deadline makes sure slow ones do close.
    pub max_connections: usize,
    /// How long a client may take to send a request line and headers (also how long an idle
    /// kept-alive connection is kept).
    pub header_read_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            // DreamClass sends one delivery at a time per event; hundreds at once is an attack
            // or a fault, and each connection costs a task and buffers.
            max_connections: 256,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` within `limits` until `stopping` turns true, then lets the
/// requests in flight finish and returns when every connection has closed.
pub fn serve_limited(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let max = limits.max_connections.clamp(1, 1 << 20);
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(max));
        loop {
            let permit = tokio::select! {
                _ = stopped(&mut stopping) => break,
                permit = permits.clone().acquire_owned() => permit.expect("the semaphore stays open"),
            };
            let stream = tokio::select! {
                _ = stopped(&mut stopping) => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "the webhook listener could not accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let service = TowerToHyperService::new(router.clone());
            let mut stopping = stopping.clone();
            tokio::spawn(async move {
                // Held until the connection closes: that is what the cap counts.
                let _permit = permit;
                let mut builder = http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header_read_timeout);
                let connection = builder.serve_connection(TokioIo::new(stream), service);
                let mut connection = std::pin::pin!(connection);
                tokio::select! {
                    _ = connection.as_mut() => return,
                    _ = stopped(&mut stopping) => connection.as_mut().graceful_shutdown(),
                }
                let _ = connection.await;
            });
        }
        drop(listener);
        // Every connection holds a permit until it closes: having them all means all closed.
        let _ = permits.acquire_many(max as u32).await;
    })
}

/// Resolves once the server is stopping (the borrowed value is not kept: it is not `Send`).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}
