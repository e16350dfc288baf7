//! The web UI's files, served from the built `ui/dist` folder, and the sign-in by link.

use std::path::PathBuf;

use axum::extract::{Query, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

use super::guard::{tokens_equal, TOKEN_COOKIE};
use crate::state::AppState;

#[derive(serde::Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// `/?token=…`: sets the session cookie and reloads without the token in the address bar.
pub async fn sign_in_by_link(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
    ui_dir: Option<PathBuf>,
) -> Response {
    match query.token {
        Some(token) if tokens_equal(token.as_bytes(), state.info.token.as_bytes()) => {
            let cookie = format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                cookie.parse().expect("valid cookie header"),
            );
            response
        }
        Some(_) => (
            StatusCode::UNAUTHORIZED,
            Html(
                "<p>This link is from an earlier run of Rollcall. Use the link Rollcall printed \
                 this time, or open the desktop app.</p>",
            ),
        )
            .into_response(),
        None => match ui_dir {
            Some(dir) => match tokio::fs::read(dir.join("index.html")).await {
                Ok(html) => {
                    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
                }
                Err(_) => missing_ui(),
            },
            None => missing_ui(),
        },
    }
}

fn missing_ui() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(
            "<!doctype html><title>Rollcall</title><p>Rollcall is running, but its screens were \
             not found. Run <code>./run</code> from the Rollcall folder, which builds them.</p>",
        ),
    )
        .into_response()
}

/// Static files of the UI, with `index.html` for unknown paths (client-side routes).
pub fn static_files(ui_dir: Option<PathBuf>) -> Router<AppState> {
    match ui_dir {
        Some(dir) if dir.join("index.html").is_file() => {
            let index = dir.join("index.html");
            Router::new().fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
        }
        _ => Router::new().fallback(|method: Method| async move {
            if method == Method::GET || method == Method::HEAD {
                missing_ui()
            } else {
                crate::error::method_not_allowed().await.into_response()
            }
        }),
    }
}
