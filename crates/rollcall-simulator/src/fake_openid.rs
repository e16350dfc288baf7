//! An OpenID Connect provider for the tests, a real HTTP server on 127.0.0.1:0 (Google and
//! Microsoft cannot be reached here): its discovery document and signing keys, an
//! authorization endpoint that signs in whoever the test says, and a token endpoint that
//! checks the code (once only), the client's secret, the redirect address and the PKCE
//! verifier before it issues an ID token signed with RS256, as Google and Entra sign theirs.
//! [`Tamper`] makes it answer as a forger would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "rollcall-district";
pub const CLIENT_SECRET: &str = "the district's client secret";
const KEY_ID: &str = "test-key-1";
/// Test keys made for these tests only (`openssl genpkey -algorithm RSA`).
const PROVIDER_KEY: &str = include_str!("fixtures/openid-test-key.pem");
const FORGER_KEY: &str = include_str!("fixtures/openid-forger-key.pem");

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub struct Account {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: String,
}

impl Account {
    pub fn of(email: &str, name: &str) -> Self {
        Self {
            email: Some(email.into()),
            email_verified: Some(true),
            name: name.into(),
        }
    }
}

/// How the next ID token is spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    None,
    /// Signed with a key that is not the provider's.
    ForgedSignature,
    /// Issued to another application.
    WrongAudience,
    /// Carrying another sign-in's nonce (a replayed token).
    WrongNonce,
    /// Expired an hour ago.
    Expired,
    /// From another issuer.
    WrongIssuer,
}

struct Grant {
    nonce: String,
    challenge: String,
    redirect_uri: String,
    account: Account,
}

struct Inner {
    issuer: String,
    account: Account,
    tamper: Tamper,
    codes: HashMap<String, Grant>,
    next_code: u64,
    /// Token requests refused, with why (for the tests' messages).
    refused: Vec<String>,
}

type Shared = Arc<Mutex<Inner>>;

pub struct FakeProvider {
    pub issuer: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeProvider {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Mutex::new(Inner {
            issuer: issuer.clone(),
            account: Account::of("nobody@example.org", "Nobody"),
            tamper: Tamper::None,
            codes: HashMap::new(),
            next_code: 1,
            refused: Vec::new(),
        }));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            issuer,
            shared,
            task,
        }
    }

    /// The person who signs in at the next authorization.
    pub fn signs_in(&self, account: Account) {
        self.shared.lock().unwrap().account = account;
    }

    pub fn tamper(&self, tamper: Tamper) {
        self.shared.lock().unwrap().tamper = tamper;
    }

    pub fn refused(&self) -> Vec<String> {
        self.shared.lock().unwrap().refused.clone()
    }
}

async fn discovery(State(shared): State<Shared>) -> Json<Value> {
    let issuer = shared.lock().unwrap().issuer.clone();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"],
    }))
}

fn key(pem: &str) -> RsaPrivateKey {
    RsaPrivateKey::from_pkcs8_pem(pem).expect("the test key reads")
}

async fn jwks() -> Json<Value> {
    let public = key(PROVIDER_KEY).to_public_key();
    Json(json!({ "keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KEY_ID,
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    }]}))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: String,
    code_challenge: String,
    code_challenge_method: String,
    scope: String,
}

/// Signs in the test's person at once and sends the browser back with a code.
async fn authorize(State(shared): State<Shared>, Query(q): Query<AuthorizeQuery>) -> Response {
    let wrong = q.response_type != "code"
        || q.client_id != CLIENT_ID
        || q.code_challenge_method != "S256"
        || !q.scope.split(' ').any(|s| s == "openid");
    if wrong {
        return (
            StatusCode::BAD_REQUEST,
            "not an authorization request this provider takes",
        )
            .into_response();
    }
    let mut inner = shared.lock().unwrap();
    let code = format!("code-{}", inner.next_code);
    inner.next_code += 1;
    let account = inner.account.clone();
    inner.codes.insert(
        code.clone(),
        Grant {
            nonce: q.nonce,
            challenge: q.code_challenge,
            redirect_uri: q.redirect_uri.clone(),
            account,
        },
    );
    let mut back = reqwest::Url::parse(&q.redirect_uri).unwrap();
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &q.state);
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, back.to_string())],
    )
        .into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
}

async fn token(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let mut inner = shared.lock().unwrap();
    let refuse = |inner: &mut Inner, why: &str| {
        inner.refused.push(why.to_string());
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "invalid_grant", "error_description": why })),
        )
            .into_response()
    };
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            form_encode(CLIENT_ID),
            form_encode(CLIENT_SECRET)
        ))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(basic.as_str())
    {
        return refuse(&mut inner, "the client did not authenticate");
    }
    if form.grant_type != "authorization_code" {
        return refuse(&mut inner, "not an authorization code grant");
    }
    // A code is good once.
    let Some(grant) = inner.codes.remove(&form.code) else {
        return refuse(&mut inner, "unknown or used code");
    };
    if grant.redirect_uri != form.redirect_uri {
        return refuse(&mut inner, "another redirect address");
    }
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(form.code_verifier.as_bytes()));
    if challenge != grant.challenge {
        return refuse(&mut inner, "the PKCE verifier does not match");
    }
    let id_token = id_token(&inner, &grant);
    Json(json!({
        "access_token": "an access token Rollcall does not use",
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": id_token,
    }))
    .into_response()
}

fn id_token(inner: &Inner, grant: &Grant) -> String {
    let now = chrono::Utc::now().timestamp();
    let tamper = inner.tamper;
    let mut claims = json!({
        "iss": if tamper == Tamper::WrongIssuer { "https://accounts.example.net".to_string() } else { inner.issuer.clone() },
        "sub": format!("subject-of-{}", grant.account.name),
        "aud": if tamper == Tamper::WrongAudience { "another-application" } else { CLIENT_ID },
        "iat": now - 5,
        "exp": if tamper == Tamper::Expired { now - 3600 } else { now + 3600 },
        "nonce": if tamper == Tamper::WrongNonce { "a nonce of another sign-in".to_string() } else { grant.nonce.clone() },
        "name": grant.account.name,
    });
    if let Some(email) = &grant.account.email {
        claims["email"] = json!(email);
    }
    if let Some(verified) = grant.account.email_verified {
        claims["email_verified"] = json!(verified);
    }
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": KEY_ID });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let pem = if tamper == Tamper::ForgedSignature {
        FORGER_KEY
    } else {
        PROVIDER_KEY
    };
    let signature = SigningKey::<Sha256>::new(key(pem)).sign(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

/// `application/x-www-form-urlencoded`, as RFC 6749 asks of the client's id and secret in
/// HTTP Basic.
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
