//! Tunnel settings, "Check now", and "I have updated the URL in DreamClass".

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rollcall_tunnel::{BoreConfig, CloudflareConfig, NgrokConfig, Reachability, TunnelConfig};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::settings_answer::Saved;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `GET /api/settings/tunnel`: the settings the form shows; secrets only as "configured".
#[derive(Serialize, TS)]
#[serde(tag = "provider", rename_all = "camelCase")]
#[ts(rename = "TunnelSettings")]
pub enum TunnelView {
    None,
    #[serde(rename_all = "camelCase")]
    Manual {
        public_url: String,
    },
    #[serde(rename_all = "camelCase")]
    Bore {
        server: String,
        port: Option<u16>,
        secret_configured: bool,
    },
    #[serde(rename_all = "camelCase")]
    Ngrok {
        domain: Option<String>,
        authtoken_configured: bool,
    },
    Cloudflare {
        #[ts(type = "string | null")]
        binary: Option<std::path::PathBuf>,
    },
}

impl From<TunnelConfig> for TunnelView {
    fn from(config: TunnelConfig) -> Self {
        match config {
            TunnelConfig::None => Self::None,
            TunnelConfig::Manual { public_url } => Self::Manual { public_url },
            TunnelConfig::Bore(b) => Self::Bore {
                secret_configured: b.secret.as_deref().is_some_and(|s| !s.is_empty()),
                server: b.server,
                port: b.port,
            },
            TunnelConfig::Ngrok(n) => Self::Ngrok {
                authtoken_configured: !n.authtoken.is_empty(),
                domain: n.domain,
            },
            TunnelConfig::Cloudflare(c) => Self::Cloudflare { binary: c.binary },
        }
    }
}

/// The settings the form shows; secrets only as "configured".
pub async fn settings(State(state): State<AppState>) -> Json<TunnelView> {
    Json(state.settings.with(|s| TunnelView::from(s.tunnel.clone())))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TunnelForm {
    provider: String,
    public_url: Option<String>,
    server: Option<String>,
    port: Option<u16>,
    secret: Option<String>,
    authtoken: Option<String>,
    domain: Option<String>,
    binary: Option<std::path::PathBuf>,
}

impl TunnelForm {
    /// The new configuration; absent or empty secrets keep the ones in `current`.
    fn into_config(self, current: &TunnelConfig) -> ApiResult<TunnelConfig> {
        let text = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let config =
            match self.provider.as_str() {
                "none" => TunnelConfig::None,
                "manual" => TunnelConfig::Manual {
                    public_url: text(self.public_url).unwrap_or_default(),
                },
                "bore" => {
                    let kept = match current {
                        TunnelConfig::Bore(b) => b.secret.clone(),
                        _ => None,
                    };
                    TunnelConfig::Bore(BoreConfig {
                        server: text(self.server).unwrap_or_default(),
                        port: self.port,
                        secret: text(self.secret).or(kept),
                    })
                }
                "ngrok" => {
                    let kept = match current {
                        TunnelConfig::Ngrok(n) => n.authtoken.clone(),
                        _ => String::new(),
                    };
                    TunnelConfig::Ngrok(NgrokConfig {
                        authtoken: text(self.authtoken).unwrap_or(kept),
                        domain: text(self.domain),
                    })
                }
                "cloudflare" => TunnelConfig::Cloudflare(CloudflareConfig {
                    binary: self.binary,
                }),
                _ => return Err(ApiError::bad_request(
                    "Choose how DreamClass reaches this computer: none, manual, bore, ngrok or \
                     cloudflare.",
                )),
            };
        config
            .validate()
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok(config)
    }
}

/// Saves the tunnel settings (the secrets in the keyring, or in `rollcall.toml` readable by
/// this user only) and answers once the tunnel runs with them.
pub async fn save_settings(
    State(state): State<AppState>,
    Json(form): Json<TunnelForm>,
) -> ApiResult<Json<Saved>> {
    let current = state.settings.with(|s| s.tunnel.clone());
    let config = form.into_config(&current)?;
    let saved = state
        .settings
        .update(move |s| {
            s.tunnel = config;
            Ok(())
        })
        .await?;
    state.tunnel.wait_until_using(&saved.tunnel).await;
    Ok(Json(Saved::OK))
}

/// "Check now": probes the public URL and answers with the result.
pub async fn check_now(State(state): State<AppState>) -> ApiResult<Json<Reachability>> {
    match state.tunnel.check_now().await {
        Some(reachability) => Ok(Json(reachability)),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_tunnel",
            "There is no public address to check. Choose how DreamClass reaches this computer in Settings.",
        )),
    }
}

/// The user entered the current public webhook URL in DreamClass.
pub async fn acknowledge_url(State(state): State<AppState>) -> ApiResult<Json<Saved>> {
    let Some(url) = state.tunnel.public_url() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_public_url",
            "The tunnel is not online yet, so there is no address to confirm.",
        ));
    };
    state
        .settings
        .update(move |s| {
            s.last_shown_public_url = Some(url);
            Ok(())
        })
        .await?;
    Ok(Json(Saved::OK))
}
