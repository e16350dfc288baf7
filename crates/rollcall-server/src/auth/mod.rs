//! Who is asking. On the office PC it is "this computer": the window and browser on loopback
//! that hold this run's token, with every right. When Rollcall listens beyond this computer
//! (`--ui-addr 0.0.0.0:8788`, or `--require-sign-in` behind a district's HTTPS proxy), every
//! page and API call needs a signed-in person instead, with a [`Role`] and schools.
//!
//! - [`password`]: argon2id hashes, made and checked off the async threads.
//! - [`session`]: random session tokens (only their SHA-256 is stored), CSRF tokens, cookies.
//! - [`roles`]: the one table of which role each API route needs.
//! - [`throttle`]: sign-in attempts per address.
//! - [`guard`]: the middleware that turns a request into a [`Person`] or refuses it, checks
//!   CSRF and the role, and writes the audit log.
//! - [`sign_in_api`] and [`people_api`]: the routes.
//! - [`openid`]: signing in with the district's Google or Microsoft accounts (OpenID Connect).
//!
//! The person's [`Scope`] is what every read of the local API passes to the store, so the
//! store, not the page, keeps a staff member of one school out of another's records.

pub mod guard;
pub mod openid;
pub mod password;
pub mod people_api;
pub mod roles;
pub mod session;
pub mod sign_in_api;
pub mod throttle;

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rollcall_core::accounts::{Account, Role, SessionRecord};
use rollcall_core::Scope;

use crate::error::ApiError;
pub use password::PasswordCost;

/// How people sign in, as chosen at start.
#[derive(Debug, Clone)]
pub struct SignInConfig {
    /// Every request needs a signed-in person (otherwise: loopback and this run's token).
    pub required: bool,
    /// Mark the session cookie `Secure` (the page is served over HTTPS, directly or by a
    /// proxy). Off only with `--allow-plain-http`.
    pub secure_cookie: bool,
    /// How long a session lasts after signing in.
    pub session_length: Duration,
    /// Wrong passwords in a row that lock an account, and for how long.
    pub lock_after: u32,
    pub lock_for: Duration,
    /// Sign-in attempts allowed per address per minute.
    pub attempts_per_minute: u32,
    pub password_cost: PasswordCost,
    /// People may also sign in with this OpenID Connect provider.
    pub openid: Option<openid::OpenIdConfig>,
}

impl Default for SignInConfig {
    fn default() -> Self {
        Self {
            required: false,
            secure_cookie: true,
            session_length: Duration::from_secs(12 * 3600),
            lock_after: 5,
            lock_for: Duration::from_secs(15 * 60),
            attempts_per_minute: 20,
            password_cost: PasswordCost::Standard,
            openid: None,
        }
    }
}

/// The sign-in side of the running server: its configuration and attempt counter.
pub struct SignIn {
    pub config: SignInConfig,
    pub throttle: throttle::Throttle,
    pub openid: Option<openid::OpenId>,
    /// Checked against when the username is unknown, so a wrong username takes as long as a
    /// wrong password and does not tell which usernames exist.
    dummy_hash: String,
    /// Held while the first administrator is made.
    setup_lock: tokio::sync::Mutex<()>,
}

impl SignIn {
    pub fn new(config: SignInConfig) -> Self {
        let dummy_hash = password::hash_now("not a password of anyone", config.password_cost);
        Self {
            throttle: throttle::Throttle::new(config.attempts_per_minute),
            openid: config.openid.clone().map(openid::OpenId::new),
            config,
            dummy_hash,
            setup_lock: tokio::sync::Mutex::new(()),
        }
    }
}

/// What the office PC's own window is called in the audit log.
pub const THIS_COMPUTER: &str = "this computer";

/// The person a request is from, as the guard established it.
#[derive(Debug, Clone)]
pub struct Person {
    /// `None`: this computer (token mode).
    pub account_id: Option<i64>,
    /// The username, or [`THIS_COMPUTER`].
    pub who: String,
    pub display_name: String,
    pub role: Role,
    /// What this person's reads may return.
    pub scope: Scope,
    /// The hash of the session token this request came with (to sign out).
    pub session_hash: Option<String>,
    /// The session's CSRF token, which every change must carry.
    pub csrf_token: Option<String>,
    /// When the session ends (ms since the epoch): the live stream ends with it.
    pub expires_at: Option<i64>,
}

impl Person {
    /// The office PC's window: every right, every school.
    pub fn this_computer() -> Self {
        Self {
            account_id: None,
            who: THIS_COMPUTER.into(),
            display_name: "This computer".into(),
            role: Role::Administrator,
            scope: Scope::all(),
            session_hash: None,
            csrf_token: None,
            expires_at: None,
        }
    }

    pub fn signed_in(account: &Account, session: &SessionRecord) -> Self {
        Self {
            account_id: Some(account.id),
            who: account.username.clone(),
            display_name: account.display_name.clone(),
            role: account.role,
            scope: account.scope(),
            session_hash: Some(session.token_hash.clone()),
            csrf_token: Some(session.csrf_token.clone()),
            expires_at: Some(session.expires_at),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Person {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // The guard puts a person on every API request; a route outside it asking for one is
        // a wiring mistake, refused rather than served as anybody.
        parts
            .extensions
            .get::<Person>()
            .cloned()
            .ok_or_else(|| ApiError::internal("a route asked who is asking outside the guard"))
    }
}
