//! The settings of a running Rollcall: one typed [`Settings`] value with one owner, the
//! [`SettingsStore`]. Everything that uses a setting reads it from the store or subscribes to
//! its changes; everything that changes one goes through [`SettingsStore::update`].
//!
//! Invariant: a published `Settings` has passed [`Settings::validate`], so consumers never
//! meet a secret that does not make a signing key or a tunnel that cannot start for a reason
//! the form could have caught.

mod digest;
mod file;
mod overrides;
pub mod schools;
mod secrets;
mod store;

use rollcall_core::config::BasicAuth;
use rollcall_core::reports::ReportSettings;
use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_dreamclass::ApiConfig;
use rollcall_tunnel::TunnelConfig;

pub use digest::{DigestSettings, SmtpSettings, TlsMode, DEFAULT_SEND_AT};
pub use file::{read as read_file, settings_from, write_atomically, SettingsFile};
pub use overrides::{Field, Override, Overrides};
pub use schools::{NoReceiver, RemovedSchool, SchoolApi, SchoolCheck, SchoolSettings};
pub use secrets::{secret_names, KeptSecrets, SecretStore, SECRETS};
pub use store::{SettingsError, SettingsStore};

/// A year of raw deliveries is kept unless the office chooses otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;
/// The longest retention the Settings screen offers (a hundred years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// Every setting Rollcall uses while it runs (the listening addresses, fixed at start, are
/// not among them).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub webhook: WebhookSettings,
    /// Status ids that raise a desktop notification when a record changes to them.
    pub notify_status_ids: Vec<i64>,
    /// Raw deliveries older than this many days are purged; 0 keeps them forever.
    pub delivery_retention_days: u32,
    /// The thresholds of reports and alerts.
    pub reports: ReportSettings,
    /// The DreamClass API connection (the token included; never sent to the UI).
    pub dreamclass: ApiConfig,
    /// How DreamClass reaches the webhook listener from the internet.
    pub tunnel: TunnelConfig,
    /// The public URL the user last entered in DreamClass (to notice when it changes).
    pub last_shown_public_url: Option<String>,
    /// The daily e-mail digest (the SMTP password included; never sent to the UI).
    pub digest: DigestSettings,
    /// Where accepted deliveries are also sent (`crate::forwarding`).
    pub forwarding: ForwardingSettings,
    /// Several schools, each at its own webhook URL; empty: `webhook` is the single school's
    /// (see [`schools`] for how the two coexist).
    pub schools: Vec<SchoolSettings>,
    /// Schools removed from the list whose data is kept until purged.
    pub removed_schools: Vec<RemovedSchool>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            webhook: WebhookSettings::default(),
            notify_status_ids: Vec::new(),
            delivery_retention_days: DEFAULT_RETENTION_DAYS,
            reports: ReportSettings::default(),
            dreamclass: ApiConfig::default(),
            tunnel: TunnelConfig::None,
            last_shown_public_url: None,
            digest: DigestSettings::default(),
            forwarding: ForwardingSettings::default(),
            schools: Vec::new(),
            removed_schools: Vec::new(),
        }
    }
}

impl Settings {
    /// Whether these settings can be used, or a sentence saying what to change.
    pub fn validate(&self) -> Result<(), String> {
        self.webhook.auth()?;
        schools::validate(self)?;
        if self.delivery_retention_days > MAX_RETENTION_DAYS {
            return Err(format!(
                "Choose a number of days up to {MAX_RETENTION_DAYS}, or 0 to keep everything."
            ));
        }
        self.reports.check().map_err(|problem| problem.sentence())?;
        self.tunnel.validate().map_err(|e| e.to_string())?;
        self.digest.check()?;
        self.forwarding.validate()?;
        Ok(())
    }
}

/// Forwarding of accepted deliveries to another system: off while `url` is `None`.
#[derive(Clone, Default, PartialEq)]
pub struct ForwardingSettings {
    /// An `http://` or `https://` URL.
    pub url: Option<String>,
    /// When set, the forwarded body's `signature` is made anew with it (HMAC-SHA256 of the
    /// request id, the secret's text as the key, as DreamClass signs); otherwise the body is
    /// forwarded as DreamClass sent it.
    pub secret: Option<String>,
}

impl std::fmt::Debug for ForwardingSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardingSettings")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ForwardingSettings {
    /// Whether these can be used, or a sentence saying what to change.
    pub fn validate(&self) -> Result<(), String> {
        let Some(url) = &self.url else {
            return Ok(());
        };
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
            _ => Err(format!(
                "The forwarding address `{url}` is not a web address. Write it in full, such \
                 as https://other-system.example.org/webhooks/dreamclass."
            )),
        }
    }

    /// The key forwarded bodies are signed with, if any.
    pub fn key(&self) -> Option<SigningKey> {
        self.secret
            .as_deref()
            .and_then(|s| SigningKey::new(s, KeyEncoding::Text).ok())
    }
}

/// How DreamClass's deliveries are checked, as entered in DreamClass's Settings >
/// Integrations.
#[derive(Clone, Default, PartialEq)]
pub struct WebhookSettings {
    /// The Secret; `None` when none is configured.
    pub secret: Option<String>,
    pub key_encoding: KeyEncoding,
    pub basic_auth: Option<BasicAuth>,
    /// Accept deliveries without a valid signature when no secret is set (tests, demos).
    pub allow_unsigned: bool,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("key_encoding", &self.key_encoding)
            .field("basic_auth", &self.basic_auth)
            .field("allow_unsigned", &self.allow_unsigned)
            .finish()
    }
}

impl WebhookSettings {
    /// Deliveries signed with `secret` (read as text), nothing else.
    pub fn signed(secret: &str) -> Self {
        Self {
            secret: Some(secret.to_string()),
            ..Self::default()
        }
    }

    /// The checks a delivery must pass, or a sentence saying why the secret is unusable.
    pub fn auth(&self) -> Result<WebhookAuth, String> {
        Ok(WebhookAuth {
            key: self
                .secret
                .as_deref()
                .map(|s| SigningKey::new(s, self.key_encoding))
                .transpose()?,
            basic_auth: self.basic_auth.clone(),
            allow_unsigned: self.allow_unsigned,
            school: None,
        })
    }
}

/// How webhook requests are authenticated: [`WebhookSettings`] made ready to check with.
#[derive(Debug, Clone, Default)]
pub struct WebhookAuth {
    /// The HMAC key from DreamClass's Secret; `None` when no secret is configured.
    pub key: Option<SigningKey>,
    pub basic_auth: Option<BasicAuth>,
    /// Accept deliveries without a valid signature when no secret is set (tests, demos).
    pub allow_unsigned: bool,
    /// At a school's own URL: the school, whose tenant a delivery must name. `None`: the
    /// single school, whose deliveries' tenant is not checked.
    pub school: Option<SchoolCheck>,
}
