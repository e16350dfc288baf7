//! Real servers on loopback for the tests: a bore server, a stand-in webhook listener and a
//! stand-in local API. Nothing here talks to any other address.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bore_cli::server::Server;
use bore_cli::shared::CONTROL_PORT;
use hmac::{Hmac, Mac};
use rollcall_tunnel::{ReconnectPolicy, TunnelOptions, TunnelState};
use sha2::Sha256;
use tokio::sync::{oneshot, watch};

/// bore's control port is fixed (7835), so tests that run a bore server take turns.
pub static BORE_SERVER_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// States are awaited, never timed: generous limits for a busy 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub const SECRET: &str = "school-webhook-secret";

/// A bore server on 127.0.0.1 running on its own thread and runtime, so that stopping it
/// drops every connection it holds, as a real server restart does.
pub struct BoreServer {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BoreServer {
    pub async fn start(secret: Option<&str>) -> Self {
        let secret = secret.map(str::to_string);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut server = Server::new(1024..=65535, secret.as_deref());
                server.set_bind_addr(Ipv4Addr::LOCALHOST.into());
                server.set_bind_tunnels(Ipv4Addr::LOCALHOST.into());
                tokio::select! {
                    result = server.listen() => panic!("bore server ended: {result:?}"),
                    _ = stop_rx => {}
                }
            });
            // Dropping the runtime cancels the server's connection tasks, closing them all.
            drop(runtime);
        });
        let started = tokio::time::Instant::now();
        while tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, CONTROL_PORT))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < PATIENCE,
                "bore server did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self {
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub async fn stop(mut self) {
        self.shutdown();
        let thread = self.thread.take().expect("running");
        tokio::task::spawn_blocking(move || thread.join().expect("bore server thread"))
            .await
            .unwrap();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for BoreServer {
    fn drop(&mut self) {
        self.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A delivery the stand-in webhook listener accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub kind: String,
    pub tenant: String,
    /// "attendance" or "ignored", as the real server logs it.
    pub outcome: &'static str,
}

#[derive(Clone)]
struct WebhookState {
    secret: &'static str,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
}

/// A running stand-in server.
pub struct App {
    pub addr: SocketAddr,
    pub deliveries: Arc<Mutex<Vec<Delivery>>>,
    pub hits: Arc<Mutex<u32>>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl App {
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().unwrap().clone()
    }

    pub fn hits(&self) -> u32 {
        *self.hits.lock().unwrap()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Behaves like the server's webhook listener: `POST /webhooks/dreamclass` checks the
/// signature (401 if wrong), stores attendance, answers 200 to other types and marks them
/// ignored; `GET /healthz`; nothing else.
pub async fn webhook_listener() -> App {
    let deliveries = Arc::new(Mutex::new(Vec::new()));
    let state = WebhookState {
        secret: SECRET,
        deliveries: Arc::clone(&deliveries),
    };
    let router = Router::new()
        .route("/webhooks/dreamclass", post(receive_webhook))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state);
    serve(router, deliveries, Arc::new(Mutex::new(0))).await
}

/// Stands for the local UI/API: answers everything with student data and counts requests.
pub async fn local_api() -> App {
    let hits = Arc::new(Mutex::new(0u32));
    let counter = Arc::clone(&hits);
    let router = Router::new().fallback(move || {
        let counter = Arc::clone(&counter);
        async move {
            *counter.lock().unwrap() += 1;
            "local-api: student names and attendance"
        }
    });
    serve(router, Arc::new(Mutex::new(Vec::new())), hits).await
}

async fn serve(
    router: Router,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    hits: Arc<Mutex<u32>>,
) -> App {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    App {
        addr,
        deliveries,
        hits,
        shutdown: Some(tx),
    }
}

pub fn sign(secret: &str, id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(id.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

async fn receive_webhook(
    State(state): State<WebhookState>,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let Ok(envelope) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not json");
    };
    let field = |name: &str| envelope[name].as_str().unwrap_or_default().to_string();
    let id = field("id");
    if id.is_empty() || field("signature") != sign(state.secret, &id) {
        return (StatusCode::UNAUTHORIZED, "bad signature");
    }
    let kind = field("type");
    let outcome = if kind.starts_with("ATTENDANCE_") {
        "attendance"
    } else {
        "ignored"
    };
    state.deliveries.lock().unwrap().push(Delivery {
        id,
        kind,
        tenant: field("tenant"),
        outcome,
    });
    (StatusCode::OK, "ok")
}

/// A signed ATTENDANCE_CREATED envelope, as DreamClass sends it.
pub fn attendance_envelope(id: &str, attendance_id: u64) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "type": "ATTENDANCE_CREATED",
        "tenant": "my-school",
        "timestamp": 1_727_885_988_419u64,
        "signature": sign(SECRET, id),
        "data": {
            "id": attendance_id, "date": "2025-06-19", "type": "SESSION", "classId": 34,
            "comment": "", "courseId": 40, "statusId": 5, "studentPeriodId": 4
        }
    })
}

/// Posts one attendance webhook to `{base}/webhooks/dreamclass` and returns the status.
pub async fn deliver(base: &str, id: &str) -> reqwest::Result<u16> {
    let response = client()
        .post(format!("{base}/webhooks/dreamclass"))
        .json(&attendance_envelope(id, 52))
        .send()
        .await?;
    Ok(response.status().as_u16())
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Options with short reconnect delays, so reconnecting takes moments, not seconds.
pub fn fast_options() -> TunnelOptions {
    TunnelOptions {
        reconnect: ReconnectPolicy::fast(),
        bore_heartbeat_timeout: Duration::from_secs(5),
        cloudflared_url_timeout: Duration::from_secs(20),
        ngrok_server_addr: None,
    }
}

/// Waits until the state matches, failing the test with the last state seen.
pub async fn wait_for(
    rx: &mut watch::Receiver<TunnelState>,
    what: &str,
    matches: impl FnMut(&TunnelState) -> bool,
) -> TunnelState {
    let seen = match tokio::time::timeout(PATIENCE, rx.wait_for(matches)).await {
        Ok(Ok(state)) => Some(state.clone()),
        Ok(Err(_)) => panic!("tunnel state channel closed while waiting for {what}"),
        Err(_) => None,
    };
    seen.unwrap_or_else(|| panic!("tunnel never became {what}; last state: {:?}", *rx.borrow()))
}

pub async fn wait_online(rx: &mut watch::Receiver<TunnelState>) -> String {
    let state = wait_for(rx, "online", TunnelState::is_online).await;
    state.public_url().unwrap().to_string()
}
