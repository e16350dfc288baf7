//! The state both listeners share: cheap handles, cloned into every handler.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rollcall_core::config::BasicAuth;
use rollcall_core::reports::ReportSettings;
use rollcall_core::store::SharedStore;
use rollcall_core::SigningKey;
use tokio::sync::{broadcast, watch};

/// How webhook requests are authenticated. Changed at run time from the settings screen.
#[derive(Debug, Clone, Default)]
pub struct WebhookAuth {
    /// The HMAC key from DreamClass's Secret; `None` when no secret is configured.
    pub key: Option<SigningKey>,
    pub basic_auth: Option<BasicAuth>,
    /// Accept deliveries without a valid signature when no secret is set (tests, demos).
    pub allow_unsigned: bool,
}

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
    pub started_at: i64,
}

impl ServerInfo {
    pub fn webhook_url(&self) -> String {
        format!("http://{}/webhooks/dreamclass", self.webhook_addr)
    }

    pub fn ui_url(&self) -> String {
        format!("http://{}/?token={}", self.ui_addr, self.token)
    }
}

/// Messages for live subscribers other than attendance changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Names of students, classes, courses or statuses changed: fetch /api/reference again.
    Reference,
    /// Something in /api/status changed (storage, tunnel, settings).
    Status,
}

#[derive(Clone)]
pub struct AppState {
    /// Everything Rollcall keeps: attendance, the change log, deliveries, names.
    pub store: SharedStore,
    pub auth: Arc<RwLock<WebhookAuth>>,
    pub limits: WebhookLimits,
    pub info: Arc<ServerInfo>,
    pub notices: broadcast::Sender<Notice>,
    /// Becomes `true` when the server is stopping: long-lived streams end.
    pub stopping: watch::Receiver<bool>,
    /// Shared HTTP client (test deliveries).
    pub http: reqwest::Client,
    /// Where secrets entered in the UI are kept; `None`: in `rollcall.toml` (mode 0600).
    pub secret_store: Option<Arc<dyn SecretStore>>,
    /// Status ids the user wants a desktop notification for.
    pub notify_status_ids: Arc<RwLock<Vec<i64>>>,
    /// Names from the DreamClass API and recovery of missed changes.
    pub dreamclass: rollcall_dreamclass::DreamClass,
    /// The API settings in force (the token included; never sent to the UI).
    pub dreamclass_config: Arc<RwLock<rollcall_dreamclass::ApiConfig>>,
    /// The tunnel that gives the webhook listener a public URL.
    pub tunnel: Arc<crate::tunnel::TunnelService>,
    /// Days raw deliveries are kept (0: forever); changed from the settings screen.
    pub retention_days: Arc<std::sync::atomic::AtomicU32>,
    /// The thresholds of reports and alerts in force; changed from the settings screen.
    pub report_settings: Arc<RwLock<ReportSettings>>,
}

/// Keeps secrets somewhere safer than the settings file, such as the operating system's
/// keyring (the desktop app provides one). Secrets are named by [`secret_names`].
pub trait SecretStore: Send + Sync {
    /// Saves, or with `None` removes, one secret. Blocking: called off the async threads.
    fn save(&self, name: &str, value: Option<&str>) -> Result<(), String>;
}

/// The names of the secrets a [`SecretStore`] keeps.
pub mod secret_names {
    /// The Secret set in DreamClass (Settings > Integrations).
    pub const WEBHOOK_SECRET: &str = "webhook-secret";
    /// `username:password` set in DreamClass.
    pub const BASIC_AUTH: &str = "webhook-basic-auth";
    /// The DreamClass API token.
    pub const DREAMCLASS_TOKEN: &str = "dreamclass-token";
    pub const NGROK_AUTHTOKEN: &str = "ngrok-authtoken";
    pub const BORE_SECRET: &str = "bore-secret";
    pub const ALL: [&str; 5] = [
        WEBHOOK_SECRET,
        BASIC_AUTH,
        DREAMCLASS_TOKEN,
        NGROK_AUTHTOKEN,
        BORE_SECRET,
    ];
}

/// Saves `secrets` to the store when there is one. Returns whether they were kept there (then
/// the settings file must not hold them); on a store failure they go to the file instead, with
/// a warning, rather than being lost.
pub fn keep_secrets(store: Option<&dyn SecretStore>, secrets: &[(&str, Option<&str>)]) -> bool {
    let Some(store) = store else {
        return false;
    };
    for (name, value) in secrets {
        if let Err(reason) = store.save(name, *value) {
            tracing::warn!(
                %reason,
                secret = name,
                "the system keyring refused a secret; it is saved in rollcall.toml (readable by \
                 this user only) instead"
            );
            return false;
        }
    }
    true
}

impl AppState {
    pub fn notify_status_ids(&self) -> Vec<i64> {
        self.notify_status_ids
            .read()
            .expect("settings lock")
            .clone()
    }

    /// The thresholds summaries, alerts and exports use unless a request chooses its own.
    pub fn report_settings(&self) -> ReportSettings {
        *self.report_settings.read().expect("report settings lock")
    }

    pub fn webhook_auth(&self) -> WebhookAuth {
        self.auth.read().expect("auth lock").clone()
    }
}
