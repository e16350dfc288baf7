//! The deliveries inspector's actions: re-checking deliveries refused for the secret
//! (`crate::recheck`), and forwarding accepted deliveries to another system
//! (`crate::forwarding`): its setting and how it goes.

use axum::extract::State;
use axum::Json;
use rollcall_core::store::RecheckRange;
use serde::Deserialize;

use super::settings_answer::Saved;
use crate::error::{ApiError, ApiResult};
use crate::forwarding::ForwardingStatus;
use crate::recheck::RecheckReport;
use crate::state::AppState;

/// Which refused deliveries to re-check: received in `[from, to)` (milliseconds; either may
/// be left out), after log sequence `afterSeq` (where the previous run stopped).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RecheckForm {
    from: Option<i64>,
    to: Option<i64>,
    after_seq: Option<i64>,
}

/// `POST /api/deliveries/recheck`.
pub async fn recheck(
    State(state): State<AppState>,
    form: Option<Json<RecheckForm>>,
) -> ApiResult<Json<RecheckReport>> {
    let Json(form) = form.unwrap_or_default();
    if let (Some(from), Some(to)) = (form.from, form.to) {
        if from >= to {
            return Err(ApiError::bad_request(
                "The start of the time range must be before its end.",
            ));
        }
    }
    let range = RecheckRange {
        from: form.from,
        to: form.to,
        after_seq: form.after_seq.unwrap_or(0),
    };
    Ok(Json(crate::recheck::recheck(&state, range).await?))
}

/// `GET /api/forwarding`.
pub async fn forwarding(State(state): State<AppState>) -> Json<ForwardingStatus> {
    Json(state.forwarding.status())
}

/// `PUT /api/settings/forwarding`: `url` empty or absent turns forwarding off; a non-empty
/// `secret` replaces the forwarding secret, `clearSecret` removes it, otherwise it is kept.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardingForm {
    url: Option<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    clear_secret: bool,
}

pub async fn set_forwarding(
    State(state): State<AppState>,
    Json(form): Json<ForwardingForm>,
) -> ApiResult<Json<Saved>> {
    let url = form
        .url
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    let secret = form
        .secret
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    state
        .settings
        .update(move |s| {
            s.forwarding.url = url;
            if form.clear_secret {
                s.forwarding.secret = None;
            } else if let Some(secret) = secret {
                s.forwarding.secret = Some(secret);
            }
            Ok(())
        })
        .await?;
    Ok(Json(Saved::OK))
}
