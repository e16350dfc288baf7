//! Session tokens and their cookie. The token is 256 random bits; the database keeps only its
//! SHA-256, so a copy of the database (a backup) opens no session. A new token is made at every
//! sign-in and never taken from the request, so a planted cookie (session fixation) gets
//! nowhere.

use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "rollcall_session";

/// The header the page sends its CSRF token in, on every request that changes something.
pub const CSRF_HEADER: &str = "x-rollcall-csrf";

/// A new random token, as the cookie carries it.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session token the request's cookie carries, if any.
pub fn presented(headers: &HeaderMap) -> Option<&str> {
    crate::local::guard::cookie(headers, SESSION_COOKIE)
        // A cookie that could not be one of ours is as good as none.
        .filter(|value| value.len() == 43 && URL_SAFE_NO_PAD.decode(value).is_ok())
}

/// The token a session `Set-Cookie` (as [`cookie`] makes it) carries.
pub fn token_of(set_cookie: &HeaderValue) -> Option<String> {
    set_cookie
        .to_str()
        .ok()?
        .strip_prefix(SESSION_COOKIE)?
        .strip_prefix('=')?
        .split(';')
        .next()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// The `Set-Cookie` that gives the browser its session: unreadable by scripts, never sent
/// by other sites' requests, and over HTTPS only unless plain HTTP was allowed.
pub fn cookie(token: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    )
    .parse()
    .expect("a valid cookie header")
}

/// The `Set-Cookie` that removes it (signing out).
pub fn removal(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
        .parse()
        .expect("a valid cookie header")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    #[test]
    fn tokens_are_random_and_only_well_formed_cookies_count() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a).len(), 64);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            format!("other=1; {SESSION_COOKIE}={a}").parse().unwrap(),
        );
        assert_eq!(presented(&headers), Some(a.as_str()));
        headers.insert(
            header::COOKIE,
            format!("{SESSION_COOKIE}=forged'or'1").parse().unwrap(),
        );
        assert_eq!(presented(&headers), None);
    }
}
