//! The middleware in front of every local API route: it turns a request into a [`Person`] or
//! refuses it, checks the CSRF token and the role the route needs, and writes changes and
//! exports to the audit log once they have succeeded.
//!
//! Two ways to be somebody:
//! - **This computer**: this run's token (Bearer header or the cookie the printed link sets).
//!   The only way on a loopback-only office PC; with sign-in required, only from a loopback
//!   address, so the desktop window on the server itself keeps working and a token copied to
//!   another machine opens nothing.
//! - **A signed-in person**: the session cookie, looked up by its hash in the store (so every
//!   server of a district sees the same sessions, and signing out or disabling an account
//!   ends them everywhere at once).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rollcall_core::accounts::AuditEntry;
use rollcall_core::model::now_ms;

use super::roles::{self, Kind};
use super::session::{self, CSRF_HEADER};
use super::Person;
use crate::error::ApiError;
use crate::local::guard::{presented_token, tokens_equal};
use crate::state::AppState;

/// What a route adds to its audit line (who was added, which role), put on its response.
#[derive(Debug, Clone)]
pub struct AuditNote(pub String);

pub async fn require_person(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let method = request.method().clone();
    // Nested under `/api`: the path here is below it, as the role table expects.
    let path = request.uri().path().to_string();
    let query = request.uri().query().map(str::to_string);
    let loopback = from_loopback(&request);
    let person = identify(&state, request.headers(), loopback).await?;
    if !matches!(method, Method::GET | Method::HEAD) {
        check_csrf(&person, request.headers())?;
    }
    let (needed, kind) = roles::required(&method, &path);
    if person.role < needed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "role_required",
            roles::refusal(person.role, needed, kind),
        ));
    }
    request.extensions_mut().insert(person.clone());
    let response = next.run(request).await;
    if kind != Kind::Reads && response.status().is_success() {
        let mut detail = format!("{method} /api{path}");
        if let Some(query) = query {
            detail.push('?');
            detail.push_str(&query);
        }
        if let Some(AuditNote(note)) = response.extensions().get::<AuditNote>() {
            detail.push_str(": ");
            detail.push_str(note);
        }
        let action = if kind == Kind::Exports {
            "exported"
        } else {
            "changed"
        };
        record(&state, &person.who, action, detail).await;
    }
    Ok(response)
}

/// Who sent a request with these headers (from this computer or not), or why nobody.
async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    loopback: bool,
) -> Result<Person, ApiError> {
    let token = presented_token(headers)
        .is_some_and(|given| tokens_equal(given.as_bytes(), state.info.token.as_bytes()));
    if !state.sign_in.config.required {
        return if token {
            Ok(Person::this_computer())
        } else {
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "token_required",
                "Open Rollcall from the link it printed when it started (it contains a key), \
                 or from the desktop app.",
            ))
        };
    }
    if token && loopback {
        return Ok(Person::this_computer());
    }
    signed_in(state, headers)
        .await?
        .ok_or_else(sign_in_required)
}

/// The person whose live session `headers` carry, if any.
pub async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Option<Person>, ApiError> {
    let Some(token) = session::presented(headers) else {
        return Ok(None);
    };
    let hash = session::token_hash(token);
    Ok(state
        .store
        .session(&hash, now_ms())
        .await?
        .map(|(record, account)| Person::signed_in(&account, &record)))
}

pub fn sign_in_required() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "sign_in_required",
        "Please sign in. If you were signed in before, your session has ended: sessions last a \
         working day, and end when you sign out or an administrator signs you out.",
    )
}

fn from_loopback(request: &Request) -> bool {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| peer.ip().is_loopback())
}

/// A change from a signed-in person must carry the CSRF token of their session: a page of
/// another site can make the browser send the cookie, but cannot read the token.
fn check_csrf(person: &Person, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &person.csrf_token else {
        return Ok(()); // this computer: a browser never sends its Bearer token on its own
    };
    let given = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if tokens_equal(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_invalid",
            "This change did not come from Rollcall's own page, so it was not made. Reload the \
             page and try again.",
        ))
    }
}

/// Appends to the audit log; a failure to do so is logged, not shown (the change is made).
pub async fn record(state: &AppState, who: &str, action: &str, detail: String) {
    let entry = AuditEntry {
        id: 0,
        at: now_ms(),
        who: who.to_string(),
        action: action.to_string(),
        detail,
    };
    if let Err(e) = state.store.audit(entry).await {
        tracing::error!(error = %e, action, "could not write the audit log");
    }
}
