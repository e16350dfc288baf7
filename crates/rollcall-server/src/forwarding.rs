//! Forwarding: schools that also feed another system from DreamClass's webhooks can have
//! Rollcall send every accepted delivery on to it (Settings: forwarding URL and an optional
//! forwarding secret).
//!
//! - A delivery is offered only once it is durably stored, and the offer never waits: the
//!   `200` DreamClass gets does not depend on the other system.
//! - Offers wait in a bounded queue in memory and are sent one at a time, in arrival order,
//!   by one task. A failure is tried again after a wait that doubles up to a limit; after the
//!   last try the delivery is given up, with a sentence on the Deliveries screen; one the
//!   other system refuses itself (a 4xx other than 408 and 429) is given up at once, so it
//!   cannot hold up the deliveries behind it.
//! - What is lost on a restart: deliveries still waiting in the queue (the screen shows how
//!   many wait). They stay in Rollcall's own delivery log.
//! - Which deliveries: those stored for the first time (applied, superseded, ignored),
//!   re-checked ones included. A duplicate was forwarded when it first arrived; a conflict
//!   was refused; Rollcall's own setup test delivery is not DreamClass's.
//! - With a forwarding secret the body's `signature` is made anew with it, exactly as
//!   DreamClass signs (base64 of HMAC-SHA256 of the request id, the secret's text as key), so
//!   the other system checks forwarded deliveries with a secret of its own. Without one the
//!   body goes as DreamClass sent it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rollcall_core::model::now_ms;
use rollcall_core::store::IngestOutcome;
use rollcall_core::SigningKey;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use ts_rs::TS;

use crate::settings::SettingsStore;

/// How forwarding waits and tries again.
#[derive(Debug, Clone, Copy)]
pub struct ForwardingRetry {
    /// Deliveries that may wait to be sent; further offers are dropped (and counted).
    pub capacity: usize,
    /// The wait after the first failure; each further failure doubles it.
    pub first_wait: Duration,
    /// The longest wait between two tries.
    pub longest_wait: Duration,
    /// Tries per delivery before it is given up.
    pub tries: u32,
}

impl Default for ForwardingRetry {
    /// About twenty minutes of trying (1 s, 2 s, ... up to 5 minutes between tries).
    fn default() -> Self {
        Self {
            capacity: 1000,
            first_wait: Duration::from_secs(1),
            longest_wait: Duration::from_secs(300),
            tries: 12,
        }
    }
}

/// The last forwarding failure, as the screen says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ForwardingFailure {
    pub at: i64,
    pub message: String,
}

/// `GET /api/forwarding`: the setting (the secret never, only whether it is set) and how
/// forwarding goes since Rollcall started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ForwardingStatus {
    /// Where deliveries are forwarded; `None`: forwarding is off.
    pub url: Option<String>,
    pub secret_configured: bool,
    /// Deliveries waiting to be sent (lost if Rollcall stops before they are).
    pub waiting: u64,
    /// Deliveries the other system accepted since Rollcall started.
    pub forwarded: u64,
    pub last_forwarded_at: Option<i64>,
    /// Tries that failed (each is tried again until it is given up).
    pub failed_tries: u64,
    /// Deliveries given up after their last try.
    pub given_up: u64,
    /// Deliveries not forwarded because the queue was full.
    pub dropped: u64,
    pub last_failure: Option<ForwardingFailure>,
}

/// The type of Rollcall's own setup test delivery (`POST /api/test-event`): never forwarded,
/// it is not DreamClass's.
pub const TEST_EVENT_TYPE: &str = "ROLLCALL_TEST";

/// The handle the listener offers deliveries to; cheap to clone.
#[derive(Clone)]
pub struct Forwarding {
    settings: SettingsStore,
    queue: mpsc::Sender<Vec<u8>>,
    status: Arc<Mutex<ForwardingStatus>>,
    capacity: usize,
}

impl Forwarding {
    /// Starts the sending task; it ends when `stopping` becomes true.
    pub fn start(
        settings: SettingsStore,
        http: reqwest::Client,
        retry: ForwardingRetry,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        let capacity = retry.capacity.max(1);
        let (queue, rx) = mpsc::channel(capacity);
        let this = Self {
            settings,
            queue,
            status: Arc::new(Mutex::new(ForwardingStatus::default())),
            capacity,
        };
        tokio::spawn(this.clone().run(rx, http, retry, stopping));
        this
    }

    /// Whether forwarding is on (so the listener keeps a copy of the body for it).
    pub fn wants(&self) -> bool {
        self.settings.with(|s| s.forwarding.url.is_some())
    }

    /// Offers a stored delivery; never waits. Only first-time accepted deliveries from
    /// DreamClass go.
    pub fn offer(&self, outcome: &IngestOutcome, event_type: &str, body: Vec<u8>) {
        let first_time = matches!(
            outcome,
            IngestOutcome::Applied(_) | IngestOutcome::Superseded | IngestOutcome::Ignored
        );
        if !first_time || event_type == TEST_EVENT_TYPE {
            return;
        }
        let mut status = self.status.lock().expect("forwarding status lock");
        match self.queue.try_send(body) {
            Ok(()) => status.waiting += 1,
            Err(_) => {
                status.dropped += 1;
                status.last_failure = Some(ForwardingFailure {
                    at: now_ms(),
                    message: format!(
                        "{} deliveries were already waiting to be forwarded, so a delivery was \
                         not forwarded. Check that the other system is reachable.",
                        self.capacity
                    ),
                });
            }
        }
    }

    /// The setting and how forwarding goes.
    pub fn status(&self) -> ForwardingStatus {
        let mut status = self.status.lock().expect("forwarding status lock").clone();
        self.settings.with(|s| {
            status.url = s.forwarding.url.clone();
            status.secret_configured = s.forwarding.secret.is_some();
        });
        status
    }

    fn record(&self, change: impl FnOnce(&mut ForwardingStatus)) {
        change(&mut self.status.lock().expect("forwarding status lock"));
    }

    async fn run(
        self,
        mut rx: mpsc::Receiver<Vec<u8>>,
        http: reqwest::Client,
        retry: ForwardingRetry,
        mut stopping: watch::Receiver<bool>,
    ) {
        loop {
            let body = tokio::select! {
                _ = stopping.wait_for(|stop| *stop) => return,
                body = rx.recv() => match body {
                    Some(body) => body,
                    None => return,
                },
            };
            let mut wait = retry.first_wait;
            let mut tries = 0;
            loop {
                // The setting in force now: a change applies to what is still waiting.
                let (url, key) = self
                    .settings
                    .with(|s| (s.forwarding.url.clone(), s.forwarding.key()));
                let Some(url) = url else {
                    // Forwarding was turned off: what waits is not sent.
                    break;
                };
                tries += 1;
                match send(&http, &url, key.as_ref(), &body).await {
                    Ok(()) => {
                        self.record(|s| {
                            s.forwarded += 1;
                            s.last_forwarded_at = Some(now_ms());
                        });
                        break;
                    }
                    Err(Failure { reason, permanent }) if permanent || tries >= retry.tries => {
                        tracing::warn!(%reason, tries, "a delivery could not be forwarded; given up");
                        self.record(|s| {
                            s.failed_tries += 1;
                            s.given_up += 1;
                            s.last_failure = Some(ForwardingFailure {
                                at: now_ms(),
                                message: if permanent {
                                    format!(
                                        "{reason} It is not sent again (it stays in \
                                         Rollcall's delivery log); the next ones are."
                                    )
                                } else {
                                    format!(
                                        "{reason} A delivery was given up after {tries} tries; \
                                         it stays in Rollcall's delivery log."
                                    )
                                },
                            });
                        });
                        break;
                    }
                    Err(Failure { reason, .. }) => {
                        tracing::info!(%reason, tries, "forwarding failed; trying again");
                        self.record(|s| {
                            s.failed_tries += 1;
                            s.last_failure = Some(ForwardingFailure {
                                at: now_ms(),
                                message: format!(
                                    "{reason} Rollcall tries again in {} seconds.",
                                    wait.as_secs().max(1)
                                ),
                            });
                        });
                        tokio::select! {
                            _ = stopping.wait_for(|stop| *stop) => return,
                            _ = tokio::time::sleep(wait) => {}
                        }
                        wait = (wait * 2).min(retry.longest_wait);
                    }
                }
            }
            self.record(|s| s.waiting = s.waiting.saturating_sub(1));
        }
    }
}

/// Why one try failed: a sentence naming the address and what went wrong, and whether
/// trying again cannot help (the other system refused this delivery itself).
struct Failure {
    reason: String,
    permanent: bool,
}

impl Failure {
    fn again(reason: String) -> Self {
        Self {
            reason,
            permanent: false,
        }
    }
}

/// Sends one body.
async fn send(
    http: &reqwest::Client,
    url: &str,
    key: Option<&SigningKey>,
    body: &[u8],
) -> Result<(), Failure> {
    let body = match key {
        Some(key) => signed_anew(body, key).map_err(|reason| Failure {
            reason,
            permanent: true,
        })?,
        None => body.to_vec(),
    };
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| {
            let why = if e.is_timeout() {
                "it did not answer in time"
            } else if e.is_connect() {
                "nothing answered at that address"
            } else {
                "the connection broke off"
            };
            Failure::again(format!(
                "The forwarding address {url} could not be reached: {why}."
            ))
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    // A 4xx other than "timed out" or "too many requests" is about the delivery itself.
    let permanent = status.is_client_error()
        && status != reqwest::StatusCode::REQUEST_TIMEOUT
        && status != reqwest::StatusCode::TOO_MANY_REQUESTS;
    Err(Failure {
        reason: format!(
            "The forwarding address {url} refused a delivery (HTTP {}).",
            status.as_u16()
        ),
        permanent,
    })
}

/// The body with its `signature` replaced by one made with `key`, as DreamClass signs: the
/// HMAC of the request id. Every other field is kept.
pub fn signed_anew(body: &[u8], key: &SigningKey) -> Result<Vec<u8>, String> {
    let cannot = || "A stored delivery could not be read to sign it for forwarding.".to_string();
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|_| cannot())?;
    let id = object
        .get("id")
        .and_then(|v| v.as_str())
        .ok_or_else(cannot)?
        .to_string();
    object.insert("signature".into(), key.sign(&id).into());
    serde_json::to_vec(&object).map_err(|_| cannot())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollcall_core::KeyEncoding;

    #[test]
    fn a_body_signed_anew_verifies_with_the_forwarding_secret_only() {
        let dreamclass = SigningKey::new("dreamclass", KeyEncoding::Text).unwrap();
        let forward = SigningKey::new("forward", KeyEncoding::Text).unwrap();
        let id = "dcba9199-0860-4324-8927-17df766a290e";
        let body = serde_json::json!({
            "id": id, "type": "ATTENDANCE_CREATED", "tenant": "t", "timestamp": 1,
            "signature": dreamclass.sign(id), "data": {"id": 7}
        });
        let signed = signed_anew(&serde_json::to_vec(&body).unwrap(), &forward).unwrap();
        let signed: serde_json::Value = serde_json::from_slice(&signed).unwrap();
        let signature = signed["signature"].as_str().unwrap();
        assert!(forward.verify(id, signature));
        assert!(!dreamclass.verify(id, signature));
        assert_eq!(signed["data"], body["data"], "the rest is kept");
        assert_eq!(signed["timestamp"], body["timestamp"]);
    }
}
