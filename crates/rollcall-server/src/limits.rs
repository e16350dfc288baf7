//! Connection limits for the webhook listener, the socket a tunnel exposes to the internet: a
//! cap on connections served at once and a deadline for each request head, so that clients
//! that connect and then send slowly (or nothing) cannot hold the listener. The interface
//! listener uses the same loop when it speaks HTTPS (`crate::ui_tls`), with the TLS handshake
//! under the same deadline.
//!
//! `axum::serve` offers neither (its hyper connections run without a timer, so hyper's
//! header read timeout never fires), hence this small accept loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::{Extension, Router};
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

/// How many of a listener's connection slots are free, seen by its handlers (as an
/// [`Extension`]): a handler that would hold its connection on purpose asks first.
#[derive(Clone)]
pub struct ConnectionSlots {
    permits: Arc<Semaphore>,
    max: usize,
}

impl ConnectionSlots {
    pub(crate) fn new(permits: Arc<Semaphore>, max: usize) -> Self {
        Self { permits, max }
    }

    /// True while at least half of the slots are free.
    pub fn plentiful(&self) -> bool {
        self.permits.available_permits() * 2 >= self.max
    }
}

/// Serves `router` on `listener` within `limits` until `stopping` turns true, then lets the
/// requests in flight finish and returns when every connection has closed.
pub fn serve_limited(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stopping: watch::Receiver<bool>,
) -> JoinHandle<()> {
    serve_connections(listener, router, limits, None, stopping)
}

/// As [`serve_limited`], each connection first through `tls` when given; requests carry the
/// peer's address ([`ConnectInfo`]).
pub fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stopping: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let max = limits.max_connections.clamp(1, 1 << 20);
    tokio::spawn(async move {
        let permits = Arc::new(Semaphore::new(max));
        let router = router.layer(Extension(ConnectionSlots::new(permits.clone(), max)));
        loop {
            let permit = tokio::select! {
                _ = stopped(&mut stopping) => break,
                permit = permits.clone().acquire_owned() => permit.expect("the semaphore stays open"),
            };
            let (stream, peer) = tokio::select! {
                _ = stopped(&mut stopping) => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "the webhook listener could not accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let service = TowerToHyperService::new(router.clone().layer(Extension(ConnectInfo::<
                SocketAddr,
            >(
                peer
            ))));
            let (tls, stopping) = (tls.clone(), stopping.clone());
            tokio::spawn(async move {
                // Held until the connection closes: that is what the cap counts.
                let _permit = permit;
                match tls {
                    None => serve_one(TokioIo::new(stream), service, limits, stopping).await,
                    Some(tls) => {
                        let handshake =
                            tokio::time::timeout(limits.header_read_timeout, tls.accept(stream));
                        match handshake.await {
                            Ok(Ok(stream)) => {
                                serve_one(TokioIo::new(stream), service, limits, stopping).await
                            }
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, %peer, "TLS handshake failed")
                            }
                            Err(_) => tracing::debug!(%peer, "TLS handshake too slow"),
                        }
                    }
                }
            });
        }
        drop(listener);
        // Every connection holds a permit until it closes: having them all means all closed.
        let _ = permits.acquire_many(max as u32).await;
    })
}

/// Serves one connection until it closes, or until the server stops (then gracefully).
async fn serve_one<I, S>(
    io: I,
    service: S,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send + 'static,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stopped(&mut stopping) => connection.as_mut().graceful_shutdown(),
    }
    let _ = connection.await;
}

/// Resolves once the server is stopping (the borrowed value is not kept: it is not `Send`).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}
