//! Tunnel settings, "Check now", and "I have updated the URL in DreamClass".

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rollcall_tunnel::{BoreConfig, CloudflareConfig, NgrokConfig, TunnelConfig};
use serde::Deserialize;
use serde_json::{json, Value};

use super::settings_answer::Saved;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The settings the form shows; secrets only as "configured".
pub async fn settings(State(state): State<AppState>) -> Json<Value> {
    Json(match state.settings.with(|s| s.tunnel.clone()) {
        TunnelConfig::None => json!({ "provider": "none" }),
        TunnelConfig::Manual { public_url } => {
            json!({ "provider": "manual", "publicUrl": public_url })
        }
        TunnelConfig::Bore(b) => json!({
            "provider": "bore", "server": b.server, "port": b.port,
            "secretConfigured": b.secret.as_deref().is_some_and(|s| !s.is_empty()),
        }),
        TunnelConfig::Ngrok(n) => json!({
            "provider": "ngrok", "domain": n.domain,
            "authtokenConfigured": !n.authtoken.is_empty(),
        }),
        TunnelConfig::Cloudflare(c) => json!({ "provider": "cloudflare", "binary": c.binary }),
    })
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
pub async fn check_now(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    match state.tunnel.check_now().await {
        Some(reachability) => Ok(Json(serde_json::to_value(reachability).map_err(ApiError::internal)?)),
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
