//! Signing in to the Rollcall server this computer views (`viewer`): the window asks for the
//! person's username and password and hands them here once; only the session is kept. Or,
//! where the district signs in with Google or Microsoft, the sign-in happens in this
//! computer's browser, which the server sends back to `/api/viewer/openid-done` here.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::viewer::upstream::{Trouble, Upstream};
use crate::viewer::{Viewer, ViewerConfig, ViewerState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/viewer/connect", post(connect))
        .route("/viewer/disconnect", post(disconnect))
        .route("/viewer/sign-in", post(sign_in))
        .route(
            "/viewer/sign-in/openid",
            get(openid_provider).post(begin_openid),
        )
        .route("/viewer/sign-out", post(sign_out))
}

/// The route the browser comes back to: before anyone is known, as the browser carries no
/// token of this computer; the one-time `state` is what makes it this viewer's own.
pub fn open_routes() -> Router<AppState> {
    Router::new().route("/viewer/openid-done", get(openid_done))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConnectForm {
    server: String,
    /// The fingerprint of the server's certificate the person confirmed (self-signed).
    certificate: Option<String>,
}

/// What "Connect" and "Stop viewing" did.
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ViewerSwitch {
    /// Rollcall starts again by itself (the desktop app, `rollcall serve`); otherwise the
    /// person restarts it.
    pub restarting: bool,
    pub message: String,
    /// Nothing was saved: the server's certificate is not from a public authority, and this
    /// is its fingerprint for the person to compare, then send back as `certificate`.
    pub certificate_to_confirm: Option<String>,
}

/// `POST /api/viewer/connect`: from now on this computer shows the server's attendance.
async fn connect(
    State(state): State<AppState>,
    body: Result<Json<ConnectForm>, JsonRejection>,
) -> ApiResult<Json<ViewerSwitch>> {
    if let Some(viewer) = &state.viewer {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_a_viewer",
            format!(
                "This Rollcall already shows {}. Stop viewing it first.",
                viewer.state().server
            ),
        ));
    }
    if state.signs_in() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "shared_server",
            "People sign in to this Rollcall, so it cannot become a viewer from the window. On \
             a computer of its own, choose \"Connect to a Rollcall server\" instead.",
        ));
    }
    let Json(form) = body.map_err(|_| {
        ApiError::bad_request(
            "Type the address of your district's Rollcall server, then press Connect.",
        )
    })?;
    let config = ViewerConfig {
        certificate: form
            .certificate
            .as_deref()
            .map(crate::viewer::trust::normalize)
            .filter(|f| !f.is_empty()),
        ..ViewerConfig::parse(&form.server).map_err(ApiError::bad_request)?
    };
    let own = state.info.ui_addr;
    let host_is_own = config.server.port_or_known_default() == Some(own.port())
        && config.server.host_str().is_some_and(|h| {
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
    if host_is_own {
        return Err(ApiError::bad_request(
            "That is this Rollcall's own address. Type the address of your district's Rollcall \
             server.",
        ));
    }
    let checked = Upstream::new(config.server.clone(), config.certificate.clone())
        .check_server()
        .await;
    match checked {
        Ok(()) => {}
        Err(Trouble::Untrusted {
            fingerprint,
            sentence,
        }) => {
            return Ok(Json(ViewerSwitch {
                restarting: false,
                message: sentence,
                certificate_to_confirm: Some(fingerprint),
            }))
        }
        Err(Trouble::Unreachable(s)) => {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "server_unreachable",
                s,
            ))
        }
        Err(Trouble::Refused(s) | Trouble::SignInNeeded(s)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_a_rollcall_server",
                s,
            ))
        }
    }
    let dir = state.info.data_dir.clone();
    let saved = config.clone();
    tokio::task::spawn_blocking(move || crate::viewer::save_server(&dir, Some(&saved)))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(format!("the connection could not be saved: {e}")))?;
    tracing::info!(server = %config.server, "this computer is to show a Rollcall server's attendance");
    let restarting = state.request_restart();
    Ok(Json(ViewerSwitch {
        restarting,
        message: if restarting {
            format!(
                "Rollcall starts again to show {}'s attendance. Sign in to it when it asks.",
                config.server
            )
        } else {
            format!(
                "Saved. Start Rollcall again to show {}'s attendance.",
                config.server
            )
        },
        certificate_to_confirm: None,
    }))
}

/// `POST /api/viewer/disconnect`: this computer receives its own webhooks again.
async fn disconnect(State(state): State<AppState>) -> ApiResult<Json<ViewerSwitch>> {
    let viewer = viewer(&state)?;
    let Some(dir) = viewer.saved_in().map(|d| d.to_path_buf()) else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "viewer_chosen_at_start",
            format!(
                "This Rollcall was started to show {} (--viewer-of or ROLLCALL_VIEWER_OF). Start \
                 it without that to receive webhooks on this computer again.",
                viewer.state().server
            ),
        ));
    };
    tokio::task::spawn_blocking(move || crate::viewer::save_server(&dir, None))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(format!("the connection could not be removed: {e}")))?;
    let restarting = state.request_restart();
    Ok(Json(ViewerSwitch {
        restarting,
        message: if restarting {
            "Rollcall starts again to receive webhooks on this computer. The server's copy is \
             kept for when you connect again."
                .into()
        } else {
            "Saved. Start Rollcall again to receive webhooks on this computer.".into()
        },
        certificate_to_confirm: None,
    }))
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
            Trouble::Untrusted { sentence, .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, "certificate_not_trusted", sentence)
            }
        })?;
    Ok(Json(viewer.state()))
}

/// `GET /api/viewer/sign-in/openid`: the provider the server also signs people in with.
#[derive(Serialize, TS)]
pub struct ViewerOpenId {
    /// "Google", "Microsoft"; `null` when the server offers only passwords (or cannot be
    /// asked now).
    pub provider: Option<String>,
}

async fn openid_provider(State(state): State<AppState>) -> ApiResult<Json<ViewerOpenId>> {
    let viewer = viewer(&state)?;
    let provider = viewer.openid_provider().await.unwrap_or_else(|trouble| {
        tracing::info!(?trouble, "the server could not say how people sign in");
        None
    });
    Ok(Json(ViewerOpenId { provider }))
}

/// `POST /api/viewer/sign-in/openid` → the address to open in this computer's browser.
#[derive(Serialize, TS)]
pub struct ViewerOpenIdStart {
    pub url: String,
}

async fn begin_openid(State(state): State<AppState>) -> ApiResult<Json<ViewerOpenIdStart>> {
    let viewer = viewer(&state)?;
    let url = viewer.begin_openid(&state.info.ui_origin());
    Ok(Json(ViewerOpenIdStart {
        url: url.to_string(),
    }))
}

#[derive(Deserialize)]
struct OpenIdDone {
    #[serde(default)]
    state: String,
    #[serde(default)]
    token: String,
}

/// `GET /api/viewer/openid-done?state=&token=`: the browser is back from the server with a
/// session for this viewer. A page in the browser says what happened.
async fn openid_done(State(state): State<AppState>, Query(done): Query<OpenIdDone>) -> Response {
    let Some(viewer) = state.viewer.clone() else {
        return done_page(
            StatusCode::CONFLICT,
            "Not signed in",
            "This Rollcall does not show a Rollcall server any more. Close this tab.",
        );
    };
    match viewer.finish_openid(&done.state, &done.token).await {
        Ok(username) => done_page(
            StatusCode::OK,
            "Signed in",
            &format!(
                "You are signed in to {} as {username}. Go back to the Rollcall app; you can \
                 close this tab.",
                viewer.state().server
            ),
        ),
        Err(trouble) => {
            let sentence = match trouble {
                Trouble::SignInNeeded(s) | Trouble::Unreachable(s) | Trouble::Refused(s) => s,
                Trouble::Untrusted { sentence, .. } => sentence,
            };
            done_page(StatusCode::BAD_REQUEST, "Not signed in", &sentence)
        }
    }
}

fn done_page(status: StatusCode, title: &str, sentence: &str) -> Response {
    let escape = crate::auth::openid::escape;
    let body = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>{title} - Rollcall</title>\
         <h1>{title}</h1><p data-viewer-sign-in>{}</p></html>",
        escape(sentence),
        title = escape(title)
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
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
