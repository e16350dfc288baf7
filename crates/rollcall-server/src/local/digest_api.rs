//! The daily e-mail digest from Settings: its settings (saved in `[digest]` of
//! `rollcall.toml`, the SMTP password with the other secrets and never shown), its status, and
//! "Send a test digest now".

use std::path::PathBuf;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::digest::DigestStatus;
use crate::error::{ApiError, ApiResult};
use crate::settings::{DigestSettings, TlsMode, DEFAULT_SEND_AT};
use crate::state::AppState;

/// The digest's settings as the form shows them: the password only as whether one is set.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DigestSettingsView {
    pub enabled: bool,
    pub recipients: Vec<String>,
    /// `HH:MM`, local time.
    pub send_at: String,
    pub default_send_at: String,
    pub school_name: String,
    pub smtp_host: String,
    /// `None`: the usual port of the TLS mode.
    pub smtp_port: Option<u16>,
    pub tls: TlsMode,
    pub username: String,
    pub has_password: bool,
    pub from: String,
    /// The PEM file of a certificate authority to trust besides the public ones.
    pub ca_file: Option<String>,
    pub status: DigestStatus,
}

impl DigestSettingsView {
    fn new(d: &DigestSettings, status: DigestStatus) -> Self {
        Self {
            enabled: d.enabled,
            recipients: d.recipients.clone(),
            send_at: d.send_at.clone(),
            default_send_at: DEFAULT_SEND_AT.into(),
            school_name: d.school_name.clone(),
            smtp_host: d.smtp.host.clone(),
            smtp_port: d.smtp.port,
            tls: d.smtp.tls,
            username: d.smtp.username.clone(),
            has_password: d.smtp.password.as_deref().is_some_and(|p| !p.is_empty()),
            from: d.smtp.from.clone(),
            ca_file: d.smtp.ca_file.as_ref().map(|p| p.display().to_string()),
            status,
        }
    }
}

/// The form as sent: everything but the password is given in full.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DigestForm {
    pub enabled: bool,
    pub recipients: Vec<String>,
    pub send_at: String,
    pub school_name: String,
    pub smtp_host: String,
    #[ts(optional)]
    pub smtp_port: Option<u16>,
    pub tls: TlsMode,
    pub username: String,
    /// Absent: keep the saved password; empty: remove it. It is also removed with the
    /// username.
    #[ts(optional)]
    pub password: Option<String>,
    pub from: String,
    #[ts(optional)]
    pub ca_file: Option<String>,
}

impl DigestForm {
    /// `current` changed as the form asks (the day last sent is kept).
    fn apply(self, current: &DigestSettings) -> DigestSettings {
        let mut d = current.clone();
        d.enabled = self.enabled;
        d.recipients = self
            .recipients
            .iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        d.send_at = self.send_at.trim().to_string();
        d.school_name = self.school_name.trim().to_string();
        d.smtp.host = self.smtp_host.trim().to_string();
        d.smtp.port = self.smtp_port;
        d.smtp.tls = self.tls;
        d.smtp.username = self.username.trim().to_string();
        if let Some(password) = self.password {
            d.smtp.password = Some(password).filter(|p| !p.is_empty());
        }
        if d.smtp.username.is_empty() {
            d.smtp.password = None;
        }
        d.smtp.from = self.from.trim().to_string();
        d.smtp.ca_file = self
            .ca_file
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        d
    }
}

fn not_understood() -> ApiError {
    ApiError::bad_request(
        "The digest settings were not understood. Give the addresses as a list, the send time \
         as HH:MM and the port as a whole number.",
    )
}

/// `GET /api/settings/digest`.
pub async fn get(State(state): State<AppState>) -> Json<DigestSettingsView> {
    let digest = state.settings.with(|s| s.digest.clone());
    Json(DigestSettingsView::new(&digest, state.digest_status()))
}

/// `PUT /api/settings/digest`: checks, saves, and answers the settings now in force. Nothing
/// is saved when a value is refused.
pub async fn save(
    State(state): State<AppState>,
    body: Result<Json<DigestForm>, JsonRejection>,
) -> ApiResult<Json<DigestSettingsView>> {
    let Json(form) = body.map_err(|_| not_understood())?;
    let saved = state
        .settings
        .update(move |s| {
            s.digest = form.apply(&s.digest);
            Ok(())
        })
        .await?;
    Ok(Json(DigestSettingsView::new(
        &saved.digest,
        state.digest_status(),
    )))
}

/// What a test send did, in a sentence.
#[derive(Debug, Serialize, TS)]
#[ts(rename = "DigestTestAnswer")]
pub struct TestAnswer {
    pub ok: bool,
    pub message: String,
}

/// `POST /api/digest/test`: sends today's digest now with the form's settings (or, without a
/// body, the saved ones), nothing saved. A refused or failed send is answered `ok: false` with
/// the sentence saying what to do.
pub async fn send_test(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> ApiResult<Json<TestAnswer>> {
    let saved = state.settings.with(|s| s.digest.clone());
    let settings = if body.iter().all(u8::is_ascii_whitespace) {
        saved
    } else {
        serde_json::from_slice::<DigestForm>(&body)
            .map_err(|_| not_understood())?
            .apply(&saved)
    };
    let answer = match crate::digest::send_test(&state, &settings).await {
        Ok(message) => TestAnswer { ok: true, message },
        Err(message) => {
            tracing::warn!(reason = %message, "a test digest was not sent");
            TestAnswer { ok: false, message }
        }
    };
    Ok(Json(answer))
}
