//! Signing in and out, and the first administrator: the routes a person reaches before the
//! guard knows who they are (`/api/session`, `/api/sign-in`, `/api/setup`), and sign-out.
//!
//! Every sign-in makes a new session token, whatever cookie came with the request, so a
//! token planted in a browser before sign-in never becomes a signed-in session. A wrong
//! username is checked against a stand-in hash, so it takes as long as a wrong password.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rollcall_core::accounts::{
    Account, AccountWrite, EndSessions, Role, SessionRecord, SignInAttempt,
};
use rollcall_core::model::now_ms;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::guard::{record, signed_in};
use super::{password, session, Person};
use crate::error::{ApiError, ApiResult};
use crate::local::guard::tokens_equal;
use crate::state::AppState;

/// The routes open to anybody who reaches the listener (the guard is not in front of them).
pub fn open_routes() -> Router<AppState> {
    Router::new()
        .route("/session", get(current_session))
        .route("/sign-in", post(sign_in))
        .route("/setup", post(set_up))
        .route("/sign-in/openid", get(super::openid::start))
        .route("/sign-in/openid/callback", get(super::openid::callback))
}

/// How this Rollcall is opened, and by whom, for the page to decide what to show.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SignInStatus {
    /// `token`: the office PC's own window and link; `accounts`: people sign in.
    #[ts(type = "\"token\" | \"accounts\"")]
    pub mode: String,
    pub signed_in: bool,
    pub person: Option<SignedInPerson>,
    /// Sent back in the `X-Rollcall-Csrf` header with every change.
    pub csrf_token: Option<String>,
    /// Nobody has an account yet: the first administrator is made with the setup key.
    pub needs_setup: bool,
    /// The provider people may also sign in with ("Google", "Microsoft"), if any: the page
    /// offers "Sign in with …", which opens `/api/sign-in/openid`.
    pub openid: Option<String>,
}

/// The signed-in person, as the page shows them.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SignedInPerson {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The DreamClass tenants they see; `null`: every school.
    pub schools: Option<Vec<String>>,
}

impl SignedInPerson {
    fn of(person: &Person, schools: Option<Vec<String>>) -> Self {
        Self {
            username: person.who.clone(),
            display_name: person.display_name.clone(),
            role: person.role,
            schools,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInForm {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetupForm {
    /// This run's key, printed by `rollcall serve` on the server.
    pub setup_key: String,
    pub username: String,
    pub display_name: String,
    pub password: String,
}

/// `GET /api/session`.
async fn current_session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<SignInStatus>> {
    if !state.sign_in.config.required {
        return Ok(Json(SignInStatus {
            mode: "token".into(),
            signed_in: false,
            person: None,
            csrf_token: None,
            needs_setup: false,
            openid: None,
        }));
    }
    let person = signed_in(&state, &headers).await?;
    let needs_setup = person.is_none() && state.store.accounts().await?.is_empty();
    let view = match &person {
        Some(p) => Some(SignedInPerson::of(p, schools_of(&state, p).await?)),
        None => None,
    };
    Ok(Json(SignInStatus {
        mode: "accounts".into(),
        signed_in: person.is_some(),
        csrf_token: person.as_ref().and_then(|p| p.csrf_token.clone()),
        person: view,
        needs_setup,
        openid: openid_name(&state),
    }))
}

/// `POST /api/sign-in`.
async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Json<SignInForm>, JsonRejection>,
) -> ApiResult<Response> {
    sign_in_used(&state)?;
    throttle(&state, client_address(peer, &headers))?;
    let Json(form) = form.map_err(|_| {
        ApiError::bad_request("Type your username and password, then press Sign in.")
    })?;
    let username = normalize_username(&form.username);
    let now = now_ms();
    let config = &state.sign_in.config;
    let account = state
        .store
        .accounts()
        .await?
        .into_iter()
        .find(|a| a.username == username && !a.disabled);
    let Some(account) = account else {
        // As long as a wrong password takes, so the answer does not tell who has an account.
        let _ = password::verify(form.password, state.sign_in.dummy_hash.clone()).await?;
        record(
            &state,
            &username,
            "sign_in_refused",
            "no such account, or disabled".into(),
        )
        .await;
        return Err(wrong_password(config.lock_after));
    };
    if account.is_locked(now) {
        record(
            &state,
            &username,
            "sign_in_refused",
            "account locked".into(),
        )
        .await;
        return Err(locked(&account, now));
    }
    if !password::verify(form.password, account.password_hash.clone()).await? {
        let lock_until = now + config.lock_for.as_millis() as i64;
        state
            .store
            .note_sign_in(
                account.id,
                SignInAttempt::Failed {
                    lock_after: config.lock_after,
                    lock_until,
                },
            )
            .await?;
        record(
            &state,
            &username,
            "sign_in_refused",
            "wrong password".into(),
        )
        .await;
        if account.failed_sign_ins + 1 >= config.lock_after {
            let locked_now = Account {
                locked_until: Some(lock_until),
                ..account
            };
            return Err(locked(&locked_now, now));
        }
        return Err(wrong_password(config.lock_after));
    }
    state
        .store
        .note_sign_in(account.id, SignInAttempt::Succeeded)
        .await?;
    open_session(&state, &headers, &account).await
}

/// `POST /api/setup`: the first administrator, only while nobody has an account.
async fn set_up(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Json<SetupForm>, JsonRejection>,
) -> ApiResult<Response> {
    sign_in_used(&state)?;
    throttle(&state, client_address(peer, &headers))?;
    let Json(form) = form.map_err(|_| {
        ApiError::bad_request(
            "Fill in the setup key, your username, your name and a password, then press Create.",
        )
    })?;
    if !tokens_equal(
        form.setup_key.trim().as_bytes(),
        state.info.token.as_bytes(),
    ) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "setup_key_invalid",
            "This setup key is not right. Use the setup link Rollcall printed on the server when \
             it started.",
        ));
    }
    let username = check_username(&form.username)?;
    let display_name = check_display_name(&form.display_name)?;
    password::check_new(&form.password, &username)?;
    // One setup at a time: two first administrators made at once would both pass the check.
    let _one_at_a_time = state.sign_in.setup_lock.lock().await;
    if !state.store.accounts().await?.is_empty() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_set_up",
            "Rollcall already has an administrator. Sign in, or ask an administrator to add \
             you.",
        ));
    }
    let password_hash = password::hash(form.password, state.sign_in.config.password_cost).await?;
    let id = state
        .store
        .save_account(AccountWrite {
            id: None,
            username: username.clone(),
            display_name,
            role: Role::Administrator,
            schools: None,
            password_hash,
            disabled: false,
            created_at: now_ms(),
        })
        .await?;
    record(
        &state,
        &username,
        "set_up",
        "made the first administrator".into(),
    )
    .await;
    let account = state
        .store
        .accounts()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::internal("the account just saved is not in the store"))?;
    open_session(&state, &headers, &account).await
}

/// `POST /api/sign-out` (behind the guard): ends this session on every server.
pub async fn sign_out(State(state): State<AppState>, person: Person) -> ApiResult<Response> {
    if let Some(hash) = &person.session_hash {
        state
            .store
            .end_sessions(EndSessions::One(hash.clone()))
            .await?;
        record(&state, &person.who, "sign_out", String::new()).await;
    }
    let secure = state.sign_in.config.secure_cookie;
    Ok((
        [(header::SET_COOKIE, session::removal(secure))],
        Json(serde_json::json!({ "signedOut": person.session_hash.is_some() })),
    )
        .into_response())
}

/// `POST /api/session/renew`: the signed-in person's session is replaced by a new one (a new
/// token in the answer's cookie; the one the request came with is ended). A desktop viewer
/// does this at once with a session it was handed through a browser (`openid`), whose
/// token that browser's history still shows.
pub async fn renew(
    State(state): State<AppState>,
    person: Person,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Some(id) = person.account_id.filter(|_| person.session_hash.is_some()) else {
        return Err(ApiError::bad_request(
            "Only a signed-in person's session can be renewed; this computer's own has none.",
        ));
    };
    let account = state
        .store
        .accounts()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::internal("the signed-in account is not in the store"))?;
    open_session(&state, &headers, &account).await
}

fn openid_name(state: &AppState) -> Option<String> {
    state
        .sign_in
        .openid
        .as_ref()
        .map(|o| o.config.provider_name.clone())
}

/// A new session for `account`, replacing the one the request came with, if any, answered
/// as the page reads it.
async fn open_session(
    state: &AppState,
    headers: &HeaderMap,
    account: &Account,
) -> ApiResult<Response> {
    let (cookie, view) = new_session(state, headers, account).await?;
    Ok(([(header::SET_COOKIE, cookie)], Json(view)).into_response())
}

/// A new session for `account` (replacing the one the request came with, if any): the
/// cookie that carries it and what the page is told.
pub(super) async fn new_session(
    state: &AppState,
    headers: &HeaderMap,
    account: &Account,
) -> ApiResult<(HeaderValue, SignInStatus)> {
    let now = now_ms();
    if let Some(old) = session::presented(headers) {
        state
            .store
            .end_sessions(EndSessions::One(session::token_hash(old)))
            .await?;
    }
    // Housekeeping: sessions that ended stay out of the table.
    state
        .store
        .end_sessions(EndSessions::ExpiredBy(now))
        .await?;
    let config = &state.sign_in.config;
    let token = session::new_token();
    let record_ = SessionRecord {
        token_hash: session::token_hash(&token),
        account_id: account.id,
        csrf_token: session::new_token(),
        created_at: now,
        expires_at: now + config.session_length.as_millis() as i64,
    };
    state.store.create_session(record_.clone()).await?;
    record(state, &account.username, "sign_in", String::new()).await;
    let person = Person::signed_in(account, &record_);
    let view = SignInStatus {
        mode: "accounts".into(),
        signed_in: true,
        person: Some(SignedInPerson::of(&person, account.schools.clone())),
        csrf_token: Some(record_.csrf_token),
        needs_setup: false,
        openid: openid_name(state),
    };
    let cookie = session::cookie(
        &token,
        config.session_length.as_secs(),
        config.secure_cookie,
    );
    Ok((cookie, view))
}

async fn schools_of(state: &AppState, person: &Person) -> ApiResult<Option<Vec<String>>> {
    let Some(id) = person.account_id else {
        return Ok(None);
    };
    Ok(state
        .store
        .accounts()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .and_then(|a| a.schools))
}

fn sign_in_used(state: &AppState) -> Result<(), ApiError> {
    if state.sign_in.config.required {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "sign_in_not_used",
            "This Rollcall does not use sign-in: open it from the link it printed when it \
             started, or from the desktop app.",
        ))
    }
}

pub(super) fn throttle(state: &AppState, from: IpAddr) -> Result<(), ApiError> {
    state.sign_in.throttle.attempt(from).map_err(|wait| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!(
                "Too many sign-in attempts from this computer. Wait {} seconds and try again.",
                wait.as_secs().max(1)
            ),
        )
    })
}

/// Who is signing in: the peer, or behind a proxy on this machine the address it forwards
/// for (the rightmost one, which the proxy itself added).
pub(super) fn client_address(peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    if peer.ip().is_loopback() {
        if let Some(forwarded) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|last| last.trim().parse().ok())
        {
            return forwarded;
        }
    }
    peer.ip()
}

fn wrong_password(lock_after: u32) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "sign_in_failed",
        format!(
            "The username or password is not right. Check them and try again; after {lock_after} \
             wrong passwords in a row the account is locked for a while."
        ),
    )
}

fn locked(account: &Account, now: i64) -> ApiError {
    let minutes = account.locked_until.map_or(1, |until| {
        ((until - now) as f64 / 60_000.0).ceil().max(1.0) as i64
    });
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "account_locked",
        format!(
            "This account is locked for {minutes} more minute{} after too many wrong \
             passwords. Wait, or ask an administrator to set a new password for you.",
            if minutes == 1 { "" } else { "s" }
        ),
    )
}

pub fn normalize_username(text: &str) -> String {
    text.trim().to_lowercase()
}

/// A username as stored, or a sentence saying what is wrong with it.
pub fn check_username(text: &str) -> Result<String, ApiError> {
    let username = normalize_username(text);
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@');
    if username.is_empty() || username.chars().count() > 64 || !username.chars().all(allowed) {
        return Err(ApiError::bad_request(
            "Choose a username of up to 64 letters, digits and . - _ @ (for example \
             anna.smith), without spaces.",
        ));
    }
    Ok(username)
}

pub fn check_display_name(text: &str) -> Result<String, ApiError> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request(
            "Type the person's name as colleagues know it (up to 100 characters).",
        ));
    }
    Ok(name.to_string())
}
