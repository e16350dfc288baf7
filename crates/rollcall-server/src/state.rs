//! The state both listeners share: cheap handles, cloned into every handler.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rollcall_core::reports::ReportSettings;
use rollcall_core::store::SharedStore;
use tokio::sync::{broadcast, watch};

pub use crate::notice::Notice;
use crate::settings::{SettingsStore, WebhookAuth};

/// Limits of the webhook listener.
#[derive(Debug, Clone, Copy)]
pub struct WebhookLimits {
    pub max_body_bytes: usize,
    /// How far in the future a delivery's timestamp may be (clock skew allowance).
    pub max_future_skew: Duration,
    /// How long a client may take to send its body.
    pub body_read_timeout: Duration,
}

impl Default for WebhookLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            max_future_skew: Duration::from_secs(5 * 60),
            body_read_timeout: Duration::from_secs(10),
        }
    }
}

/// Facts about this run, for the status endpoint and the printed URLs.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub webhook_addr: SocketAddr,
    pub ui_addr: SocketAddr,
    pub token: String,
    pub data_dir: PathBuf,
    /// The district server's PostgreSQL database, without its password; `None`: SQLite in
    /// the data folder.
    pub database: Option<String>,
    pub started_at: i64,
    /// The interface's HTTPS certificate, `AB:CD:…` (SHA-256); `None`: plain HTTP.
    pub ui_tls_fingerprint: Option<String>,
}

impl ServerInfo {
    pub fn webhook_url(&self) -> String {
        format!(
            "http://{}{}",
            self.webhook_addr,
            crate::webhook::WEBHOOK_PATH
        )
    }

    /// A listed school's own webhook URL on this listener.
    pub fn school_webhook_url(&self, school: &str) -> String {
        format!(
            "http://{}{}",
            self.webhook_addr,
            crate::settings::schools::school_path(school)
        )
    }

    /// `http://127.0.0.1:8788`, or `https://…` when the interface speaks HTTPS.
    pub fn ui_origin(&self) -> String {
        let scheme = if self.ui_tls_fingerprint.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.ui_addr)
    }

    pub fn ui_url(&self) -> String {
        format!("{}/?token={}", self.ui_origin(), self.token)
    }
}

/// Cheap handles, cloned into every handler. The fields are the server's own; code outside
/// it (the desktop shell) uses the methods below.
#[derive(Clone)]
pub struct AppState {
    /// Everything Rollcall keeps: attendance, the change log, deliveries, names.
    pub(crate) store: SharedStore,
    /// Refused deliveries on their way to the store's delivery log, bounded under a flood.
    pub(crate) rejections: crate::rejections::RejectionLog,
    /// The one owner of the settings: read it, subscribe to it, change it through it.
    pub(crate) settings: SettingsStore,
    pub(crate) limits: WebhookLimits,
    pub(crate) info: Arc<ServerInfo>,
    pub(crate) notices: broadcast::Sender<Notice>,
    /// Becomes `true` when the server is stopping: long-lived streams end.
    pub(crate) stopping: watch::Receiver<bool>,
    /// Shared HTTP client (test deliveries).
    pub(crate) http: reqwest::Client,
    /// Names from the DreamClass API and recovery of missed changes.
    pub(crate) dreamclass: rollcall_dreamclass::DreamClass,
    /// The tunnel that gives the webhook listener a public URL.
    pub(crate) tunnel: Arc<crate::tunnel::TunnelService>,
    /// The daily e-mail digest's tries of today.
    pub(crate) digest: Arc<crate::digest::DigestService>,
    /// The office's local time (the lesson cutoff is compared with it).
    pub(crate) clock: crate::lesson_cutoff::LocalClock,
    /// Sends accepted deliveries on to another system, when the office chose one.
    pub(crate) forwarding: crate::forwarding::Forwarding,
    /// Held while refused deliveries are re-checked: one re-check at a time.
    pub(crate) rechecking: Arc<tokio::sync::Mutex<()>>,
    /// How people sign in, and their attempts.
    pub(crate) sign_in: Arc<crate::auth::SignIn>,
    /// The server this Rollcall shows, when it is a viewer (then it receives no webhooks).
    pub(crate) viewer: Option<Arc<crate::viewer::Viewer>>,
    /// Set when a change needs Rollcall started again (viewing a server, or no longer):
    /// whoever runs the server (the desktop, `rollcall serve`) stops it and starts it anew.
    pub(crate) restart: Arc<watch::Sender<bool>>,
}

impl AppState {
    /// Facts about this run: addresses, data folder, start time.
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// Becomes `true` when Rollcall should be stopped and started again with its saved
    /// choices (asked for by `request_restart`).
    pub fn restart_requested(&self) -> watch::Receiver<bool> {
        self.restart.subscribe()
    }

    /// Asks whoever runs the server to start it again; `false` when nobody listens for that.
    pub(crate) fn request_restart(&self) -> bool {
        self.restart.send_replace(true);
        self.restart.receiver_count() > 0
    }

    /// Every change of the viewer's state (connection, sign-in, message); `None` unless this
    /// Rollcall is a viewer.
    pub fn viewer_updates(&self) -> Option<watch::Receiver<crate::viewer::ViewerState>> {
        self.viewer.as_ref().map(|v| v.subscribe())
    }

    /// How the copy of the server this Rollcall shows stands; `None` unless it is a viewer.
    pub fn viewer(&self) -> Option<crate::viewer::ViewerState> {
        self.viewer.as_ref().map(|v| v.state())
    }

    /// Whether people sign in to this Rollcall (otherwise: this run's link and token).
    pub fn signs_in(&self) -> bool {
        self.sign_in.config.required
    }

    /// The settings: read them, subscribe to their changes, change them.
    pub fn settings(&self) -> &SettingsStore {
        &self.settings
    }

    /// The tunnel giving the webhook listener a public address.
    pub fn tunnel(&self) -> &crate::tunnel::TunnelService {
        &self.tunnel
    }

    /// The daily e-mail digest's status, as the Settings card shows it.
    pub fn digest_status(&self) -> crate::digest::DigestStatus {
        self.digest
            .status(&self.settings.with(|s| s.digest.clone()))
    }

    /// Everything Rollcall keeps, behind the store's trait.
    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// Every committed attendance change, as it happens.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<Arc<rollcall_core::Change>> {
        self.store.subscribe()
    }

    /// Messages for live subscribers other than attendance changes.
    pub fn clock(&self) -> &crate::lesson_cutoff::LocalClock {
        &self.clock
    }

    pub fn subscribe_notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// Becomes `true` when the server is stopping.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.clone()
    }

    /// Whether the database is refusing writes (a full disk, a broken file).
    pub fn storage_failing(&self) -> bool {
        self.store.health().storage_failing
    }

    /// Status ids the user wants a desktop notification for.
    pub fn notify_status_ids(&self) -> Vec<i64> {
        self.settings.with(|s| s.notify_status_ids.clone())
    }

    /// The thresholds summaries, alerts and exports use unless a request chooses its own.
    pub fn report_settings(&self) -> ReportSettings {
        self.settings.with(|s| s.reports)
    }

    /// How the next webhook request to `/webhooks/dreamclass` is checked (the single school,
    /// or the only listed one); no key while several schools are listed.
    pub fn webhook_auth(&self) -> WebhookAuth {
        // Published settings are validated, so the secret always makes a key.
        self.settings.with(|s| s.receiver(None)).unwrap_or_default()
    }
}
