//! Rollcall's HTTP side: the webhook listener (the only socket a tunnel exposes) and the local
//! API listener (the UI, its JSON API and the live stream), on separate sockets.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rollcall_server::StartError> {
//! let config = rollcall_server::ServerConfig::new("/tmp/rollcall".into());
//! let server = rollcall_server::start(config).await?;
//! println!("paste into DreamClass: {}", server.info().webhook_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod digest;
pub mod error;
pub mod forwarding;
pub mod launch;
pub mod lesson_cutoff;
pub mod limits;
pub mod local;
mod notice;
mod recheck;
pub mod rejections;
pub mod report_file;
pub mod retention;
pub mod settings;
mod settings_followers;
pub mod state;
pub mod tunnel;
pub mod ui_tls;
pub mod viewer;
pub mod webhook;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rollcall_core::model::now_ms;
use rollcall_core::store::care::{CareError, DataDirLock};
use rollcall_core::store::{SharedStore, SqliteStore, DATABASE_FILE};
use rollcall_store_postgres::{DatabaseUrl, PostgresStore};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

pub use rollcall_dreamclass::{ApiConfig, DreamClass, DreamClassOptions};
pub use rollcall_tunnel::{TunnelConfig, TunnelState};
use tunnel::TunnelService;

pub use settings::{
    secret_names, SecretStore, Settings, SettingsStore, WebhookAuth, WebhookSettings,
};
pub use state::{AppState, Notice, ServerInfo, WebhookLimits};

/// How long a stop waits for requests in flight before closing connections anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    /// A PostgreSQL database shared with other servers; `None`: SQLite in `data_dir`.
    pub database_url: Option<String>,
    pub webhook_addr: SocketAddr,
    pub ui_addr: SocketAddr,
    /// The settings as `rollcall.toml` and the secret store hold them.
    pub settings: Settings,
    /// Settings chosen by flags or `ROLLCALL_*` variables for this run, on top of `settings`.
    pub overrides: settings::Overrides,
    pub limits: WebhookLimits,
    /// Connection cap and request-head deadline of the webhook listener.
    pub connection_limits: limits::ConnectionLimits,
    /// The built web UI (`ui/dist`); without it the UI listener serves the API only.
    pub ui_dir: Option<PathBuf>,
    /// The local API token; a random one is made when `None`.
    pub token: Option<String>,
    /// Where secrets entered in the UI are saved; `None`: in `rollcall.toml` (mode 0600).
    pub secret_store: Option<Arc<dyn SecretStore>>,
    /// How the DreamClass side works (its API connection is in `settings`).
    pub dreamclass_options: DreamClassOptions,
    /// The office's local time; the system's unless a test sets its own.
    pub clock: lesson_cutoff::LocalClock,
    /// How often the lesson cutoff is looked at ([`lesson_cutoff::CHECK_EVERY`]).
    pub cutoff_check_every: Duration,
    /// How forwarding of accepted deliveries waits and tries again.
    pub forwarding_retry: forwarding::ForwardingRetry,
    /// Whether people sign in (required beyond this computer), and how.
    pub sign_in: auth::SignInConfig,
    /// Whether the interface speaks HTTPS, and with which certificate.
    pub ui_tls: ui_tls::UiTls,
    /// Show another Rollcall server's attendance instead of receiving webhooks: no webhook
    /// listener, no tunnel; the data folder keeps a copy (`viewer`).
    pub viewer: Option<viewer::ViewerConfig>,
}

impl ServerConfig {
    /// Defaults: the standard ports on loopback, no secret, the standard limits.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            database_url: None,
            webhook_addr: rollcall_core::config::DEFAULT_WEBHOOK_ADDR
                .parse()
                .expect("valid default"),
            ui_addr: rollcall_core::config::DEFAULT_UI_ADDR
                .parse()
                .expect("valid default"),
            settings: Settings::default(),
            overrides: settings::Overrides::default(),
            limits: WebhookLimits::default(),
            connection_limits: limits::ConnectionLimits::default(),
            ui_dir: None,
            token: None,
            secret_store: None,
            dreamclass_options: DreamClassOptions::default(),
            clock: lesson_cutoff::LocalClock::system(),
            cutoff_check_every: lesson_cutoff::CHECK_EVERY,
            forwarding_retry: forwarding::ForwardingRetry::default(),
            sign_in: auth::SignInConfig::default(),
            ui_tls: ui_tls::UiTls::Off,
            viewer: None,
        }
    }
}

/// Why the server could not start, in words for the person starting it.
#[derive(Debug)]
pub enum StartError {
    /// Another Rollcall runs on the same data folder.
    InUse(PathBuf),
    DataDir(PathBuf, std::io::Error),
    Database(PathBuf, String),
    /// `--database` is not an address Rollcall can use (the error says why).
    DatabaseUrl(String),
    /// The PostgreSQL server (shown without password) could not be reached or migrated.
    DatabaseServer(String, String),
    Bind(&'static str, SocketAddr, std::io::Error),
    /// The interface's certificate could not be made or read (the sentence says why).
    Tls(String),
}

impl std::error::Error for StartError {}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InUse(path) => write!(
                f,
                "Another copy of Rollcall is already running with the data folder {}. Use \
                 that one, or quit it first.",
                path.display()
            ),
            Self::DataDir(path, e) => write!(
                f,
                "Rollcall could not create its data folder {} ({e}). Choose another folder \
                 with --data-dir.",
                path.display()
            ),
            Self::Database(path, e) => write!(
                f,
                "Rollcall could not open its database {} ({e}). Check that the disk is not \
                 full and that no other program holds the file.",
                path.display()
            ),
            Self::DatabaseUrl(e) => write!(f, "{e} Check --database or ROLLCALL_DATABASE_URL."),
            Self::Tls(e) => write!(f, "{e}"),
            Self::DatabaseServer(url, e) => write!(
                f,
                "Rollcall could not open its database at {url} ({e}). Check that the \
                 database server is running and that the address, user and password are right."
            ),
            Self::Bind(which, addr, e) if e.kind() == std::io::ErrorKind::AddrInUse => write!(
                f,
                "The {which} address {addr} is already in use: is Rollcall already running? \
                 Close the other copy, or choose another address."
            ),
            Self::Bind(which, addr, e) => {
                write!(
                    f,
                    "Rollcall could not listen on the {which} address {addr} ({e})."
                )
            }
        }
    }
}

/// A running pair of listeners. Drop does not stop them: call [`RunningServer::shutdown`].
pub struct RunningServer {
    state: AppState,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Held until the server is shut down: one Rollcall per data folder.
    _lock: DataDirLock,
}

/// The store `config` names: PostgreSQL at its `database_url`, else SQLite in the data
/// folder.
async fn open_store(config: &ServerConfig) -> Result<SharedStore, StartError> {
    if let Some(url) = &config.database_url {
        let url = DatabaseUrl::parse(url).map_err(|e| StartError::DatabaseUrl(e.to_string()))?;
        let shown = url.shown().to_string();
        let store = PostgresStore::open_async(url)
            .await
            .map_err(|e| StartError::DatabaseServer(shown.clone(), e.to_string()))?;
        tracing::info!(database = %shown, "attendance is kept in PostgreSQL");
        return Ok(store.shared());
    }
    Ok(open_sqlite(config).await?.shared())
}

async fn open_sqlite(config: &ServerConfig) -> Result<SqliteStore, StartError> {
    let db_path = config.data_dir.join(DATABASE_FILE);
    let path = db_path.clone();
    tokio::task::spawn_blocking(move || SqliteStore::open(&path))
        .await
        .expect("opening the store does not panic")
        .map_err(|e| StartError::Database(db_path.clone(), e.to_string()))
}

/// Opens the database and starts both listeners (a viewer: the interface only).
pub async fn start(config: ServerConfig) -> Result<RunningServer, StartError> {
    let lock = lock_data_dir(&config)?;
    if config.viewer.is_some() {
        if config.database_url.is_some() {
            return Err(StartError::DatabaseUrl(
                "A Rollcall that shows a server's attendance keeps its copy on this computer: \
                 it cannot use a database server too."
                    .into(),
            ));
        }
        let copy = open_sqlite(&config).await?;
        return start_on(config, lock, copy.clone().shared(), Some(copy)).await;
    }
    let store = open_store(&config).await?;
    start_on(config, lock, store, None).await
}

/// Starts both listeners on `store` instead of the one `config` names (the data folder is
/// still locked and holds the settings): for benchmarks that measure the listener with
/// storage replaced.
pub async fn start_with_store(
    config: ServerConfig,
    store: SharedStore,
) -> Result<RunningServer, StartError> {
    let lock = lock_data_dir(&config)?;
    start_on(config, lock, store, None).await
}

fn lock_data_dir(config: &ServerConfig) -> Result<DataDirLock, StartError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| StartError::DataDir(config.data_dir.clone(), e))?;
    DataDirLock::acquire(&config.data_dir).map_err(|e| match e {
        CareError::InUse(path) => StartError::InUse(path),
        CareError::Io(io) => StartError::DataDir(config.data_dir.clone(), io),
        other => StartError::DataDir(config.data_dir.clone(), std::io::Error::other(other)),
    })
}

/// `copy`: the same store as `store`, for a viewer's sync to write the server's changes to.
async fn start_on(
    mut config: ServerConfig,
    lock: DataDirLock,
    store: SharedStore,
    copy: Option<SqliteStore>,
) -> Result<RunningServer, StartError> {
    let db_path = config.data_dir.join(DATABASE_FILE);
    // A viewer receives no webhooks: the server it shows does.
    let webhook_listener = match config.viewer {
        Some(_) => None,
        None => Some(
            TcpListener::bind(config.webhook_addr)
                .await
                .map_err(|e| StartError::Bind("webhook", config.webhook_addr, e))?,
        ),
    };
    let webhook_addr = webhook_listener.as_ref().map_or(config.webhook_addr, |l| {
        l.local_addr().expect("bound socket has an address")
    });
    let tls = ui_tls::load(&config.ui_tls, &config.data_dir).map_err(StartError::Tls)?;
    let ui_listener = TcpListener::bind(config.ui_addr)
        .await
        .map_err(|e| StartError::Bind("local interface", config.ui_addr, e))?;
    let info = ServerInfo {
        webhook_addr,
        ui_addr: ui_listener
            .local_addr()
            .expect("bound socket has an address"),
        token: config.token.clone().unwrap_or_else(random_token),
        data_dir: config.data_dir.clone(),
        database: config
            .database_url
            .as_deref()
            .map(rollcall_store_postgres::connect::redact),
        started_at: now_ms(),
        ui_tls_fingerprint: tls.as_ref().map(|t| t.fingerprint.clone()),
    };
    let (stop, stopping) = watch::channel(false);
    let (notices, _) = broadcast::channel(64);
    let settings = SettingsStore::new(
        config.data_dir.clone(),
        config.settings.clone(),
        config.overrides.clone(),
        config.secret_store.clone(),
    );
    let in_force = settings.current();
    let tunnel = Arc::new(TunnelService::new(
        webhook_addr,
        settings.clone(),
        notices.clone(),
    ));
    // How far back recovery looks is read once, at start (as documented for the setting).
    config.dreamclass_options.recovery.lookback_days = in_force.dreamclass.recovery_lookback_days;
    let dreamclass = DreamClass::start_for_schools(
        in_force.api_connections(),
        store.clone(),
        config.dreamclass_options.clone(),
    )
    .await
    .map_err(|e| StartError::Database(db_path.clone(), e.to_string()))?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client builds");
    let forwarding = forwarding::Forwarding::start(
        settings.clone(),
        http.clone(),
        config.forwarding_retry,
        stopping.clone(),
    );
    let state = AppState {
        rejections: rejections::RejectionLog::new(store.clone()),
        store,
        settings,
        limits: config.limits,
        info: Arc::new(info),
        notices,
        stopping: stopping.clone(),
        http,
        dreamclass,
        tunnel,
        digest: Arc::default(),
        clock: config.clock.clone(),
        forwarding,
        rechecking: Arc::new(tokio::sync::Mutex::new(())),
        sign_in: Arc::new(auth::SignIn::new(config.sign_in.clone())),
        viewer: config
            .viewer
            .clone()
            .zip(copy)
            .map(|(viewer, copy)| viewer::Viewer::new(viewer, copy, config.data_dir.clone())),
        restart: Arc::new(watch::channel(false).0),
    };
    if let Some(viewer) = &state.viewer {
        tracing::info!(server = %viewer.state().server, "showing a Rollcall server's attendance");
        viewer::spawn(viewer.clone(), state.notices.clone(), stopping.clone());
    }
    forward_reference_changes(&state);
    check_the_tunnel_on_waking(&state);
    retention::spawn(state.clone());
    digest::spawn(state.clone());
    lesson_cutoff::spawn(state.clone(), config.cutoff_check_every);
    // The tunnel forwards to the webhook socket only; the local API's socket is never given
    // to it.
    if webhook_listener.is_some() {
        state.tunnel.restart(in_force.tunnel.clone()).await;
    }
    settings_followers::spawn(&state);
    let mut tasks = Vec::new();
    if let Some(listener) = webhook_listener {
        // The internet-facing socket: connections capped, slow request heads cut off.
        tasks.push(limits::serve_limited(
            listener,
            webhook::router(state.clone()),
            config.connection_limits,
            stopping.clone(),
        ));
    }
    tasks.push(match tls {
        None => serve(
            ui_listener,
            local::router(state.clone(), config.ui_dir.clone()),
            stopping,
        ),
        // People on other computers: each connection's TLS handshake and request head
        // under a deadline, as on the webhook listener.
        Some(tls) => limits::serve_connections(
            ui_listener,
            local::router(state.clone(), config.ui_dir.clone()),
            limits::ConnectionLimits {
                max_connections: 2048,
                ..limits::ConnectionLimits::default()
            },
            Some(tls.acceptor),
            stopping,
        ),
    });
    Ok(RunningServer {
        state,
        stop,
        tasks,
        _lock: lock,
    })
}

fn serve(
    listener: TcpListener,
    router: axum::Router,
    mut stopping: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // With the peer's address: sign-in attempts are counted per address, and this run's
        // token counts only from this computer when people sign in.
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "a listener stopped with an error");
        }
    })
}

/// Names changed → `event: reference` on every live stream.
fn forward_reference_changes(state: &AppState) {
    let mut changes = state.dreamclass.subscribe_reference();
    let notices = state.notices.clone();
    let mut stopping = state.stopping.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stopping.wait_for(|stop| *stop) => return,
                received = changes.recv() => match received {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = notices.send(Notice::Reference);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
}

/// The computer woke from sleep → the public address is checked at once, not at the next
/// periodic probe (the DreamClass side already asks for the changes missed meanwhile).
fn check_the_tunnel_on_waking(state: &AppState) {
    let mut woke = state.dreamclass.subscribe_wake();
    let tunnel = state.tunnel.clone();
    let mut stopping = state.stopping.clone();
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                _ = stopping.wait_for(|stop| *stop) => return,
                received = woke.recv() => received,
            };
            if let Err(broadcast::error::RecvError::Closed) = received {
                return;
            }
            let reachability = tunnel.check_now().await;
            tracing::info!(?reachability, "checked the public address after waking");
        }
    });
}

fn random_token() -> String {
    use rand::Rng;
    let bytes: [u8; 24] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl RunningServer {
    pub fn info(&self) -> &ServerInfo {
        &self.state.info
    }

    /// The shared state, for code that runs beside the listeners (name resolution, tunnel).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, lets requests in flight finish (up to a grace period), commits
    /// everything queued, and stops the store.
    pub async fn shutdown(self) {
        // The forwarding queue is in memory (see `forwarding`): say what it loses.
        let waiting = self.state.forwarding.status().waiting;
        if waiting > 0 {
            tracing::warn!(
                waiting,
                "deliveries waiting to be forwarded are not sent: Rollcall is stopping (they \
                 stay in its delivery log)"
            );
        }
        self.state.tunnel.shutdown().await;
        let _ = self.stop.send(true);
        for task in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                tracing::warn!("requests still open after the grace period were closed");
                abort.abort();
            }
        }
        // Records the end of listening, so the next start knows the gap to recover.
        self.state.dreamclass.shutdown().await;
        // Refusals counted under a flood are logged before the store stops.
        self.state.rejections.write_summaries();
        self.state.store.shutdown().await;
    }
}
