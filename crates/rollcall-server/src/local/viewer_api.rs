//! Signing in to the Rollcall server this computer views (`viewer`): the window asks for the
//! person's username and password and hands them here once; only the session is kept.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::viewer::upstream::Trouble;
use crate::viewer::{Viewer, ViewerState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/viewer/sign-in", post(sign_in))
        .route("/viewer/sign-out", post(sign_out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ViewerSignIn {
    username: String,
    password: String,
}

fn viewer(state: &AppState) -> ApiResult<&Viewer> {
    state.viewer.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "not_a_viewer",
            "This Rollcall receives its own webhooks: there is no server to sign in to.",
        )
    })
}

/// `POST /api/viewer/sign-in` → the viewer's state, now connecting.
async fn sign_in(
    State(state): State<AppState>,
    body: Result<Json<ViewerSignIn>, JsonRejection>,
) -> ApiResult<Json<ViewerState>> {
    let viewer = viewer(&state)?;
    let Json(form) = body.map_err(|_| {
        ApiError::bad_request("Type your username and password for the server, then press Sign in.")
    })?;
    if form.username.trim().is_empty() || form.password.is_empty() {
        return Err(ApiError::bad_request(
            "Type your username and password for the server, then press Sign in.",
        ));
    }
    viewer
        .sign_in(&form.username, &form.password)
        .await
        .map_err(|trouble| match trouble {
            // The server's own sentence: wrong password, locked out.
            Trouble::SignInNeeded(s) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "server_refused_sign_in",
                s,
            ),
            Trouble::Unreachable(s) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "server_unreachable", s)
            }
            Trouble::Refused(s) => ApiError::new(StatusCode::BAD_GATEWAY, "server_refused", s),
        })?;
    Ok(Json(viewer.state()))
}

/// `POST /api/viewer/sign-out` → the viewer's state, waiting for a sign-in.
async fn sign_out(State(state): State<AppState>) -> ApiResult<Json<ViewerState>> {
    let viewer = viewer(&state)?;
    viewer.sign_out().await.map_err(|sentence| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "sign_out_failed",
            sentence,
        )
    })?;
    Ok(Json(viewer.state()))
}
