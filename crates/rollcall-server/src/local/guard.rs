//! Which requests reach the UI listener at all: on the office PC, those that name it by a
//! loopback host (no DNS rebinding) and come from no foreign origin (no cross-site requests).
//! With sign-in required the listener is reached by whatever name the district gives it, so
//! only the origin is checked (it must be the page's own); who is asking is `auth::guard`'s.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ApiError;
use crate::state::AppState;

pub const TOKEN_COOKIE: &str = "rollcall_token";

/// Checks Host and Origin on every request to the UI listener, static files included.
pub async fn check_host_and_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if state.sign_in.config.required {
        return same_origin_only(request, next).await;
    }
    let port = state.info.ui_addr.port();
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !is_allowed_host(host, port, &state) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            "This page can only be opened at the address Rollcall printed (127.0.0.1 or localhost).",
        ));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !is_allowed_origin(origin, port, &state) {
            return Err(forbidden_origin());
        }
    }
    Ok(next.run(request).await)
}

/// This run's token as a request presents it: the Bearer header (the desktop window) or the
/// cookie set from the printed link.
pub(crate) fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_string());
    }
    cookie(headers, TOKEN_COOKIE).map(str::to_string)
}

/// The value of the cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value)
}

/// With sign-in: a request with an `Origin` must come from the host it is sent to (as the
/// browser or, behind a district's HTTPS proxy, the proxy names it).
async fn same_origin_only(request: Request, next: Next) -> Result<Response, ApiError> {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| {
                o.strip_prefix("https://")
                    .or_else(|| o.strip_prefix("http://"))
            })
            .unwrap_or("");
        let named = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|host| !host.is_empty() && host.eq_ignore_ascii_case(origin_host))
        };
        if !(named("host") || named("x-forwarded-host")) {
            return Err(forbidden_origin());
        }
    }
    Ok(next.run(request).await)
}

fn forbidden_origin() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden_origin",
        "Requests from other web sites are not allowed.",
    )
}

pub fn tokens_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn allowed_hostnames(state: &AppState) -> Vec<String> {
    let mut names = vec![
        "127.0.0.1".to_string(),
        "localhost".to_string(),
        "[::1]".to_string(),
    ];
    let ip = state.info.ui_addr.ip();
    if !ip.is_unspecified() {
        names.push(match ip {
            std::net::IpAddr::V4(v4) => v4.to_string(),
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        });
    }
    names
}

fn is_allowed_host(host: &str, port: u16, state: &AppState) -> bool {
    let Some((name, host_port)) = host.rsplit_once(':') else {
        return false;
    };
    host_port.parse::<u16>().ok() == Some(port)
        && allowed_hostnames(state)
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(name))
}

/// Only the listener's own origin: the desktop window also loads the interface from it.
fn is_allowed_origin(origin: &str, port: u16, state: &AppState) -> bool {
    origin
        .strip_prefix("http://")
        .is_some_and(|host| is_allowed_host(host, port, state))
}
