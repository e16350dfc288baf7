//! The reachability self-check: send a signed delivery through the public URL, the way
//! DreamClass would, and say plainly whether it got through.
//!
//! The probe is a real envelope of type `ROLLCALL_PROBE` for the tenant
//! `rollcall-self-check`. The server answers 200 to any validly signed delivery of a type it
//! does not handle and logs it as ignored, so a probe is never counted as attendance.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::webhook_url;

/// The envelope `type` of a probe.
pub const PROBE_TYPE: &str = "ROLLCALL_PROBE";
/// The envelope `tenant` of a probe.
pub const PROBE_TENANT: &str = "rollcall-self-check";
/// DreamClass marks a delivery failed if it is not answered within 10 seconds.
pub const DREAMCLASS_TIMEOUT: Duration = Duration::from_secs(10);

/// Signs a request id the way DreamClass does: `base64(HMAC-SHA256(secret, id))`. The server
/// can pass its own key through [`ProbeSigner::from_fn`] so the probe uses exactly the
/// verification settings in force.
#[derive(Clone)]
pub struct ProbeSigner(Arc<dyn Fn(&str) -> String + Send + Sync>);

impl ProbeSigner {
    /// Uses the secret's bytes as the HMAC key (DreamClass's default reading).
    pub fn hmac_sha256(secret: impl AsRef<[u8]>) -> Self {
        let key = secret.as_ref().to_vec();
        Self::from_fn(move |id| {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
            mac.update(id.as_bytes());
            BASE64.encode(mac.finalize().into_bytes())
        })
    }

    pub fn from_fn(sign: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        Self(Arc::new(sign))
    }

    /// For a listener that checks no signature: the field is sent, but empty.
    pub fn unsigned() -> Self {
        Self::from_fn(|_| String::new())
    }

    pub fn sign(&self, request_id: &str) -> String {
        (self.0)(request_id)
    }
}

impl fmt::Debug for ProbeSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProbeSigner(<key>)")
    }
}

/// A probe that got through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    pub webhook_url: String,
    pub probe_id: String,
    pub status: u16,
    #[serde(rename = "roundTripMs", serialize_with = "as_millis")]
    pub round_trip: Duration,
}

impl ProbeReport {
    /// "DreamClass can reach this computer (answered in 84 ms)."
    pub fn message(&self) -> String {
        format!(
            "DreamClass can reach this computer (answered in {} ms).",
            self.round_trip.as_millis()
        )
    }
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis().try_into().unwrap_or(u64::MAX))
}

/// Why a probe did not get through. `Display` is the sentence to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("The public URL `{0}` is not a web address, so DreamClass cannot use it.")]
    InvalidUrl(String),
    #[error(
        "DreamClass cannot reach this computer: the address {host} does not exist (yet). \
         Check the public URL; a new tunnel address can take a minute to appear."
    )]
    NameNotFound { host: String },
    #[error("DreamClass cannot reach this computer: the tunnel server did not answer.")]
    TunnelServerUnreachable,
    #[error(
        "DreamClass cannot reach this computer: no answer within {} seconds, and DreamClass \
         gives up after {}.",
        DREAMCLASS_TIMEOUT.as_secs(), DREAMCLASS_TIMEOUT.as_secs()
    )]
    TimedOut,
    #[error(
        "DreamClass can reach the tunnel, but the tunnel cannot reach Rollcall's webhook \
         listener on this computer."
    )]
    ListenerUnreachable,
    #[error("DreamClass cannot reach this computer: the secure (https) connection failed.")]
    Tls,
    #[error(
        "The public URL redirects to {location}. DreamClass does not follow redirects: enter \
         the final address instead."
    )]
    Redirected { location: String },
    #[error(
        "Rollcall refused the test delivery (HTTP {status}): the webhook secret or the \
         username and password do not match what the self-check used."
    )]
    Refused { status: u16 },
    #[error(
        "The public URL answers, but not with Rollcall's webhook listener (HTTP {status}). \
         Check that the URL points to this computer."
    )]
    NotRollcall { status: u16 },
    #[error(
        "Rollcall's webhook listener answered with an error (HTTP {status}), so DreamClass \
         would mark deliveries as failed."
    )]
    ListenerError { status: u16 },
    #[error("The test delivery could not be sent: {0}.")]
    Other(String),
}

impl ProbeError {
    /// A stable name for the API and the UI, e.g. `tunnelServerUnreachable`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidUrl(_) => "invalidUrl",
            Self::NameNotFound { .. } => "nameNotFound",
            Self::TunnelServerUnreachable => "tunnelServerUnreachable",
            Self::TimedOut => "timedOut",
            Self::ListenerUnreachable => "listenerUnreachable",
            Self::Tls => "tls",
            Self::Redirected { .. } => "redirected",
            Self::Refused { .. } => "refused",
            Self::NotRollcall { .. } => "notRollcall",
            Self::ListenerError { .. } => "listenerError",
            Self::Other(_) => "other",
        }
    }
}

/// Sends probes. Cheap to clone; keep one for the app's lifetime (it pools connections).
#[derive(Debug, Clone)]
pub struct Prober {
    client: reqwest::Client,
    signer: ProbeSigner,
    basic_auth: Option<(String, String)>,
}

impl Prober {
    pub fn new(signer: ProbeSigner) -> Self {
        let client = reqwest::Client::builder()
            .timeout(DREAMCLASS_TIMEOUT)
            // DreamClass posts to the configured URL and does not follow redirects.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rollcall-self-check/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with these settings always builds");
        Self {
            client,
            signer,
            basic_auth: None,
        }
    }

    /// Sends Basic Auth, for a listener configured to require it as DreamClass sends it.
    pub fn with_basic_auth(mut self, username: String, password: String) -> Self {
        self.basic_auth = Some((username, password));
        self
    }

    /// POSTs one signed probe to `{public_url}/webhooks/dreamclass`.
    pub async fn probe(&self, public_url: &str) -> Result<ProbeReport, ProbeError> {
        let url = webhook_url(public_url);
        let parsed =
            reqwest::Url::parse(&url).map_err(|_| ProbeError::InvalidUrl(public_url.into()))?;
        let host = parsed.host_str().unwrap_or_default().to_string();
        let probe_id = uuid::Uuid::new_v4().to_string();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let envelope = serde_json::json!({
            "id": probe_id,
            "type": PROBE_TYPE,
            "tenant": PROBE_TENANT,
            "timestamp": timestamp,
            "signature": self.signer.sign(&probe_id),
            "data": {},
        });
        let mut request = self.client.post(parsed).json(&envelope);
        if let Some((user, password)) = &self.basic_auth {
            request = request.basic_auth(user, Some(password));
        }

        let sent = Instant::now();
        let response = request.send().await.map_err(|err| classify(&err, host))?;
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // The round trip ends when the answer is complete, as for DreamClass.
        response
            .bytes()
            .await
            .map_err(|_| ProbeError::ListenerUnreachable)?;
        let round_trip = sent.elapsed();

        match status.as_u16() {
            200 => Ok(ProbeReport {
                webhook_url: url,
                probe_id,
                status: 200,
                round_trip,
            }),
            code @ (301 | 302 | 303 | 307 | 308) => Err(match location {
                Some(location) => ProbeError::Redirected { location },
                None => ProbeError::NotRollcall { status: code },
            }),
            code @ (401 | 403) => Err(ProbeError::Refused { status: code }),
            code @ (404 | 405) => Err(ProbeError::NotRollcall { status: code }),
            // What tunnel edges answer when the computer behind them does not.
            502 | 504 => Err(ProbeError::ListenerUnreachable),
            code => Err(ProbeError::ListenerError { status: code }),
        }
    }
}

/// [`Prober::probe`] with a one-off client, for a single check.
pub async fn probe(public_url: &str, signer: &ProbeSigner) -> Result<ProbeReport, ProbeError> {
    Prober::new(signer.clone()).probe(public_url).await
}

fn classify(err: &reqwest::Error, host: String) -> ProbeError {
    let chain = error_chain(err).to_ascii_lowercase();
    if err.is_timeout() {
        ProbeError::TimedOut
    } else if chain.contains("dns error") || chain.contains("failed to lookup address") {
        ProbeError::NameNotFound { host }
    } else if chain.contains("certificate") || chain.contains("tls") {
        ProbeError::Tls
    } else if err.is_connect() {
        ProbeError::TunnelServerUnreachable
    } else if err.is_request() || err.is_body() {
        // The tunnel took the connection but closed it without an answer: nothing behind it.
        ProbeError::ListenerUnreachable
    } else {
        ProbeError::Other(first_cause(err))
    }
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn first_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        deepest = cause.to_string();
        source = cause.source();
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_base64_hmac_sha256_of_the_id() {
        // Computed independently: base64(HMAC-SHA256(b"secret", id)) with Python's hmac.
        let id = "dcba9199-0860-4324-8927-17df766a290e";
        assert_eq!(
            ProbeSigner::hmac_sha256("secret").sign(id),
            "gXv7Evg7KwAzgyMSm8ZcKq1hZc2TQmB0CzuNtE2dsxs="
        );
        assert_ne!(
            ProbeSigner::hmac_sha256("other").sign(id),
            ProbeSigner::hmac_sha256("secret").sign(id)
        );
    }

    #[test]
    fn failures_read_as_sentences() {
        let err = ProbeError::TunnelServerUnreachable;
        assert_eq!(
            err.to_string(),
            "DreamClass cannot reach this computer: the tunnel server did not answer."
        );
        assert!(ProbeError::TimedOut.to_string().contains("10 seconds"));
        assert_eq!(ProbeError::Refused { status: 401 }.kind(), "refused");
    }

    #[test]
    fn report_serializes_round_trip_in_milliseconds() {
        let report = ProbeReport {
            webhook_url: "https://x.example/webhooks/dreamclass".into(),
            probe_id: "id".into(),
            status: 200,
            round_trip: Duration::from_millis(84),
        };
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["roundTripMs"], 84);
        assert_eq!(
            report.message(),
            "DreamClass can reach this computer (answered in 84 ms)."
        );
    }
}
