//! The viewer's side of the conversation with its Rollcall server: sign in as a person does
//! in a browser (the session cookie, never the password, is kept), read the change log and
//! the names, and follow the live stream. Each failure is a [`Trouble`] whose sentence the
//! window shows as it is.

use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{StatusCode, Url};
use rollcall_core::model::Change;
use rollcall_core::store::reference::Reference;
use serde::Deserialize;

use super::trust::Seen;
use crate::auth::session::SESSION_COOKIE;

/// The most changes asked for in one page of the change log (the server's own cap).
pub const PAGE: usize = 5000;
/// The server pings a quiet stream every 15 s; nothing for this long means the connection
/// is gone even if the socket says otherwise.
pub const SILENCE: Duration = Duration::from_secs(40);

/// Why the server could not be used just now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trouble {
    /// Not reached at all (network, server stopped, certificate); the words say which.
    Unreachable(String),
    /// The session ended or was never there: the person signs in again.
    SignInNeeded(String),
    /// The server answered, but not as a Rollcall server answers this person.
    Refused(String),
    /// The server's certificate is neither issued by a public authority for its name nor the
    /// one confirmed: its fingerprint, for the person to compare with the administrator's.
    Untrusted {
        fingerprint: String,
        sentence: String,
    },
}

impl Trouble {
    pub fn sentence(&self) -> &str {
        match self {
            Self::Unreachable(s) | Self::SignInNeeded(s) | Self::Refused(s) => s,
            Self::Untrusted { sentence, .. } => sentence,
        }
    }
}

/// One event of the server's live stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Change(Box<Change>),
    /// Names changed on the server.
    Reference,
    /// Anything else the server says (status, ping, lessons not taken): it is alive.
    Alive,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangePage {
    pub changes: Vec<Change>,
    pub last_seq: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServerError {
    message: String,
}

/// A Rollcall server at `base`, spoken to with one HTTP client.
#[derive(Clone)]
pub struct Upstream {
    http: reqwest::Client,
    base: Url,
    /// The certificate the last handshake presented (HTTPS).
    seen: Seen,
}

impl Upstream {
    /// `pinned`: the fingerprint of the server's certificate the person confirmed, if it is
    /// not one a public authority issued.
    pub fn new(base: Url, pinned: Option<String>) -> Self {
        let seen = Seen::default();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(super::trust::client_config(pinned, seen.clone()))
            .connect_timeout(Duration::from_secs(5))
            // The stream stays open; its silence is watched instead of a request timeout.
            .read_timeout(SILENCE)
            .build()
            .expect("an HTTP client builds");
        Self { http, base, seen }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Url {
        self.base
            .join(path)
            .expect("a path joins the server's address")
    }

    /// Checks that a Rollcall server people sign in to answers at this address.
    pub async fn check_server(&self) -> Result<(), Trouble> {
        let response = self
            .http
            .get(self.url("api/session"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let answer: Option<serde_json::Value> = if response.status().is_success() {
            response.json().await.ok()
        } else {
            None
        };
        match answer.as_ref().and_then(|a| a["mode"].as_str()) {
            Some("accounts") => Ok(()),
            Some(_) => Err(Trouble::Refused(format!(
                "The Rollcall at {} is an office computer's own, which nobody else signs in to. \
                 Connect to your district's Rollcall server instead.",
                self.base
            ))),
            None => Err(Trouble::Refused(format!(
                "{} does not answer as a Rollcall server. Check the address with whoever runs \
                 your district's Rollcall.",
                self.base
            ))),
        }
    }

    /// Signs in with a username and password; returns the session token (the cookie's value).
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<String, Trouble> {
        let response = self
            .http
            .post(self.url("api/sign-in"))
            .timeout(Duration::from_secs(20))
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        if !response.status().is_success() {
            return Err(match response.status() {
                // The server's own sentence: wrong password, locked out, sign-in not used.
                StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::TOO_MANY_REQUESTS => {
                    Trouble::SignInNeeded(server_sentence(response).await)
                }
                _ => self.refused(response).await,
            });
        }
        self.session_token(&response)
    }

    /// The session token a sign-in's (or a renewal's) `Set-Cookie` carries.
    fn session_token(&self, response: &reqwest::Response) -> Result<String, Trouble> {
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .find_map(crate::auth::session::token_of)
            .ok_or_else(|| {
                Trouble::Refused(format!(
                    "{} accepted the sign-in but started no session. Check that the address \
                     is the Rollcall server's and that it asks people to sign in.",
                    self.base
                ))
            })
    }

    /// The provider people may also sign in with at the server ("Google"), if any.
    pub async fn openid_provider(&self) -> Result<Option<String>, Trouble> {
        let response = self
            .http
            .get(self.url("api/session"))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let answer: serde_json::Value =
            self.successful(response).await?.json().await.map_err(|e| {
                Trouble::Refused(format!(
                    "{} sent an answer Rollcall cannot read ({e}).",
                    self.base
                ))
            })?;
        Ok(answer["openid"].as_str().map(str::to_string))
    }

    /// Where this computer's browser starts signing in with the provider; the server sends
    /// the session back to `return_to` (this viewer's own loopback address).
    pub fn openid_start(&self, return_to: &str) -> Url {
        let mut url = self.url("api/sign-in/openid");
        url.query_pairs_mut().append_pair("return_to", return_to);
        url
    }

    /// Exchanges `session` for a new one (the old one ends on the server); the new token.
    pub async fn renew(&self, session: &str) -> Result<String, Trouble> {
        let response = self
            .post_in_session(session, "api/session/renew", Duration::from_secs(20))
            .await?;
        self.session_token(&response)
    }

    /// The username of the session's person.
    pub async fn username(&self, session: &str) -> Result<String, Trouble> {
        let answer: serde_json::Value = self.get_json(session, "api/session").await?;
        answer["person"]["username"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| {
                Trouble::SignInNeeded(format!(
                    "The sign-in on {} did not last. Sign in again.",
                    self.base
                ))
            })
    }

    /// The schools the session's person sees (`None`: every school).
    pub async fn schools(&self, session: &str) -> Result<Option<Vec<String>>, Trouble> {
        let answer: serde_json::Value = self.get_json(session, "api/session").await?;
        if answer["signedIn"] != serde_json::Value::Bool(true) {
            return Err(Trouble::SignInNeeded(format!(
                "Your session on {} has ended. Sign in again to keep this copy up to date.",
                self.base
            )));
        }
        Ok(serde_json::from_value(answer["person"]["schools"].clone()).unwrap_or(None))
    }

    /// Changes with a sequence number above `after`, oldest first, one page.
    pub async fn changes_after(&self, session: &str, after: i64) -> Result<ChangePage, Trouble> {
        let url = format!("api/changes?after={after}&limit={PAGE}");
        self.get_json(session, &url).await
    }

    /// The names this person may see.
    pub async fn reference(&self, session: &str) -> Result<Reference, Trouble> {
        self.get_json(session, "api/reference").await
    }

    /// Ends the session on the server (best effort: the copy forgets the token anyway).
    pub async fn sign_out(&self, session: &str) {
        let ended = self
            .post_in_session(session, "api/sign-out", Duration::from_secs(5))
            .await;
        if let Err(trouble) = ended {
            tracing::info!(?trouble, "the server did not end the session");
        }
    }

    /// A change in `session`: as the server's own page makes one, with the session's CSRF
    /// token (read first from `/api/session`), which the server asks of every change.
    async fn post_in_session(
        &self,
        session: &str,
        path: &str,
        timeout: Duration,
    ) -> Result<reqwest::Response, Trouble> {
        let answer: serde_json::Value = self.get_json(session, "api/session").await?;
        let csrf = answer["csrfToken"].as_str().unwrap_or_default();
        let response = self
            .http
            .post(self.url(path))
            .timeout(timeout)
            .header(COOKIE, format!("{SESSION_COOKIE}={session}"))
            .header(crate::auth::session::CSRF_HEADER, csrf)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        self.successful(response).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        session: &str,
        path: &str,
    ) -> Result<T, Trouble> {
        let response = self
            .http
            .get(self.url(path))
            .timeout(Duration::from_secs(30))
            .header(COOKIE, format!("{SESSION_COOKIE}={session}"))
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let response = self.successful(response).await?;
        response.json().await.map_err(|e| {
            Trouble::Refused(format!(
                "{} sent an answer Rollcall cannot read ({e}). Check that it is a Rollcall \
                 server of the same version.",
                self.base
            ))
        })
    }

    /// Opens the live stream after `after`; events arrive on the returned receiver until the
    /// connection ends (the receiver closes then, with the reason as its last item).
    pub async fn stream(
        &self,
        session: &str,
        after: i64,
    ) -> Result<tokio::sync::mpsc::Receiver<Result<StreamEvent, Trouble>>, Trouble> {
        let response = self
            .http
            .get(self.url(&format!("api/stream?after={after}")))
            .header(COOKIE, format!("{SESSION_COOKIE}={session}"))
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let response = self.successful(response).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let this = self.clone();
        tokio::spawn(async move {
            let mut body = response.bytes_stream();
            let mut events = SseReader::default();
            loop {
                let chunk = match tokio::time::timeout(SILENCE, body.next()).await {
                    Err(_) => Err(Trouble::Unreachable(format!(
                        "{} stopped answering (nothing for {} seconds).",
                        this.base,
                        SILENCE.as_secs()
                    ))),
                    Ok(None) => Err(Trouble::Unreachable(format!(
                        "{} closed the live connection (it may be restarting).",
                        this.base
                    ))),
                    Ok(Some(Err(e))) => Err(this.unreachable(&e)),
                    Ok(Some(Ok(bytes))) => Ok(bytes),
                };
                let bytes = match chunk {
                    Ok(bytes) => bytes,
                    Err(trouble) => {
                        let _ = tx.send(Err(trouble)).await;
                        return;
                    }
                };
                for event in events.push(&bytes) {
                    let event = event.map_err(|e| {
                        Trouble::Refused(format!(
                            "{} sent a change Rollcall cannot read ({e}).",
                            this.base
                        ))
                    });
                    let failed = event.is_err();
                    if tx.send(event).await.is_err() || failed {
                        return;
                    }
                }
            }
        });
        Ok(rx)
    }

    async fn successful(&self, response: reqwest::Response) -> Result<reqwest::Response, Trouble> {
        match response.status() {
            s if s.is_success() => Ok(response),
            StatusCode::UNAUTHORIZED => Err(Trouble::SignInNeeded(format!(
                "Your session on {} has ended. Sign in again to keep this copy up to date.",
                self.base
            ))),
            _ => Err(self.refused(response).await),
        }
    }

    async fn refused(&self, response: reqwest::Response) -> Trouble {
        let status = response.status();
        let said = server_sentence(response).await;
        Trouble::Refused(format!("{} refused ({status}): {said}", self.base))
    }

    fn unreachable(&self, e: &reqwest::Error) -> Trouble {
        // One walk down the causes: the whole chain (does a certificate appear in it?) and the
        // innermost cause, which says best what went wrong.
        let mut chain = e.to_string();
        let mut innermost = chain.clone();
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            innermost = inner.to_string();
            chain = format!("{chain}: {innermost}");
            source = inner.source();
        }
        let seen = self.seen.lock().expect("seen lock").clone();
        let certificate = chain.to_lowercase().contains("certificate");
        if let Some(fingerprint) = seen.filter(|_| certificate) {
            return Trouble::Untrusted {
                sentence: format!(
                    "The certificate of {} was not issued by an authority this computer knows, \
                     and is not the one confirmed for it. Its fingerprint is {fingerprint}. \
                     Compare it with the fingerprint your server's administrator gave you (the \
                     server prints it when it starts); only if they are the same, trust it.",
                    self.base
                ),
                fingerprint,
            };
        }
        let why = if e.is_connect() {
            "it does not answer: check the address, that the server is running and that this \
             computer is on the network"
                .to_string()
        } else if e.is_timeout() {
            "it took too long to answer".to_string()
        } else {
            innermost
        };
        Trouble::Unreachable(format!("Rollcall cannot reach {} ({why}).", self.base))
    }
}

/// The sentence of a Rollcall error answer, or the status when there is none.
async fn server_sentence(response: reqwest::Response) -> String {
    let status = response.status();
    match response.json::<ServerError>().await {
        Ok(error) => error.message,
        Err(_) => format!("the server answered {status}"),
    }
}

/// Splits a `text/event-stream` body into events, whatever the chunking (a chunk may end
/// inside a line, or inside a letter of a name).
#[derive(Default)]
struct SseReader {
    pending: Vec<u8>,
}

impl SseReader {
    fn push(&mut self, bytes: &[u8]) -> Vec<Result<StreamEvent, serde_json::Error>> {
        // A carriage return only ever ends a line here: JSON escapes its own.
        self.pending.extend(bytes.iter().filter(|b| **b != b'\r'));
        let mut events = Vec::new();
        while let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
            let raw: Vec<u8> = self.pending.drain(..end + 2).collect();
            let block = String::from_utf8_lossy(&raw);
            let mut name = "message";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = match value.trim() {
                        "change" => "change",
                        "reference" => "reference",
                        _ => "other",
                    };
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.strip_prefix(' ').unwrap_or(value));
                }
            }
            events.push(match name {
                "change" => serde_json::from_str(&data).map(|c| StreamEvent::Change(Box::new(c))),
                "reference" => Ok(StreamEvent::Reference),
                _ => Ok(StreamEvent::Alive),
            });
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_whatever_the_chunks() {
        let change = r#"{"seq":42,"recordedAt":1,"source":"webhook","requestId":"r","eventType":"ATTENDANCE_CREATED","eventTs":2,"tenant":"north","attendanceId":7,"date":"2026-12-01","kind":"SESSION","classId":1,"courseId":2,"studentPeriodId":3,"statusBefore":null,"statusAfter":4,"commentBefore":null,"commentAfter":"Zoë late"}"#;
        let body = format!(
            "event: ping\ndata: {{}}\n\nevent: change\nid: 42\ndata: {change}\n\nevent: reference\r\ndata: {{}}\r\n\r\n"
        );
        for size in [1, 7, body.len()] {
            let mut reader = SseReader::default();
            let events: Vec<StreamEvent> = body
                .as_bytes()
                .chunks(size)
                .flat_map(|chunk| reader.push(chunk))
                .map(Result::unwrap)
                .collect();
            assert_eq!(events.len(), 3, "chunks of {size}");
            assert_eq!(events[0], StreamEvent::Alive);
            match &events[1] {
                StreamEvent::Change(c) => {
                    assert_eq!((c.seq, c.attendance_id), (42, 7));
                    assert_eq!(c.comment_after.as_deref(), Some("Zoë late"));
                }
                other => panic!("not a change: {other:?}"),
            }
            assert_eq!(events[2], StreamEvent::Reference);
        }
    }

    #[test]
    fn a_change_that_is_not_one_is_an_error_not_a_skip() {
        let mut reader = SseReader::default();
        let events = reader.push(b"event: change\ndata: {\"seq\":1}\n\n");
        assert!(events[0].is_err());
    }
}
