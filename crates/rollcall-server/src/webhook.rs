//! The webhook listener: `POST /webhooks/dreamclass` (the single school, or the only listed
//! one), `POST /webhooks/dreamclass/{school}` (each listed school, verified with its own
//! secret and refused when the envelope names another tenant) and `GET /healthz`, nothing
//! else. This is the only socket a tunnel exposes to the internet.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use rollcall_core::envelope::{self, Credentials, EnvelopeError};
use rollcall_core::model::now_ms;
use rollcall_core::store::{IngestOutcome, RejectedDelivery, StoreError, VerifiedDelivery};
use serde::Serialize;

use crate::error::{method_not_allowed, not_found, ApiError};
use crate::limits::ConnectionSlots;
use crate::rejections::answer_delay;
use crate::settings::schools::{check_id, school_path};
use crate::settings::{NoReceiver, WebhookAuth};
use crate::state::{AppState, WebhookLimits};

pub use crate::settings::schools::WEBHOOK_PATH;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            WEBHOOK_PATH,
            post(receive_webhook).fallback(method_not_allowed),
        )
        .route(
            "/webhooks/dreamclass/{school}",
            post(receive_school_webhook).fallback(school_url_other_method),
        )
        .route("/healthz", get(health).fallback(method_not_allowed))
        .fallback(not_found)
        .with_state(state)
}

/// `GET /healthz`, for monitors and the tunnel's checks: `{"status":"ok"}`, or
/// `{"status":"storage_failing"}` with 503 while deliveries cannot be saved.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Health {
    Ok,
    StorageFailing,
}

#[derive(Serialize)]
struct HealthBody {
    status: Health,
}

/// The answer to a delivery that was stored (or already was): an empty object. Refusals
/// answer [`crate::error::ErrorBody`].
#[derive(Serialize)]
struct Accepted {}

async fn health(State(state): State<AppState>) -> Response {
    if state.store.health().storage_failing {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(HealthBody {
                status: Health::StorageFailing,
            }),
        )
            .into_response()
    } else {
        Json(HealthBody { status: Health::Ok }).into_response()
    }
}

/// A refusal: the answer to send and what to log.
pub(crate) struct Refusal {
    error: ApiError,
    request_id: Option<String>,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            error: ApiError::new(status, code, message),
            request_id: None,
        }
    }

    fn for_request(mut self, request_id: &str) -> Self {
        self.request_id = Some(request_id.to_string());
        self
    }

    /// The machine-readable code (`signature_invalid`, ...).
    pub(crate) fn code(&self) -> &'static str {
        self.error.code
    }

    /// The sentence for people.
    pub(crate) fn message(&self) -> &str {
        &self.error.message
    }
}

async fn receive_webhook(
    State(state): State<AppState>,
    slots: Option<Extension<ConnectionSlots>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(state, slots.map(|s| s.0), None, headers, body).await
}

async fn receive_school_webhook(
    State(state): State<AppState>,
    Path(school): Path<String>,
    slots: Option<Extension<ConnectionSlots>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    receive(state, slots.map(|s| s.0), Some(school), headers, body).await
}

/// Another method than POST at a school's URL: 405 where a school id could be, 404 for what
/// no school id is (an encoded `../` climbing out of the listener, for one).
async fn school_url_other_method(Path(school): Path<String>) -> Response {
    if check_id(&school).is_ok() {
        method_not_allowed().await.into_response()
    } else {
        not_found().await.into_response()
    }
}

/// A delivery at the single school's URL (`school` `None`) or at a school's own.
/// `slots` is absent where the router is served without connection limits (tests).
async fn receive(
    state: AppState,
    slots: Option<ConnectionSlots>,
    school: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let received_at = now_ms();
    let mut raw = Bytes::new();
    let receiver = state
        .settings
        .with(|s| s.receiver(school.as_deref()))
        .map_err(|why| no_receiver(why, school.as_deref()));
    // Only a configured or removed school is remembered with a refusal (so that purging a
    // removed school finds them): an id anybody may type is not.
    let refused_at = match &receiver {
        Ok(auth) => auth.school.as_ref().map(|s| s.id.clone()),
        Err(_) => school.filter(|id| {
            state
                .settings
                .with(|s| s.removed_schools.iter().any(|r| &r.id == id))
        }),
    };
    let result = match receiver {
        Ok(auth) => handle(&state, &auth, &headers, body, &mut raw, received_at).await,
        Err(refusal) => Err(refusal),
    };
    match result {
        Ok(outcome) => {
            let status = StatusCode::from_u16(outcome.http_status()).expect("valid status");
            let outcome_name = outcome.delivery_outcome().as_str();
            let mut response = if status == StatusCode::OK {
                (status, Json(Accepted {})).into_response()
            } else {
                ApiError::new(
                    status,
                    "request_id_conflict",
                    "This request id was already received with different content. The delivery \
                     was refused and flagged as suspicious.",
                )
                .into_response()
            };
            response.headers_mut().insert(
                "x-rollcall-outcome",
                header::HeaderValue::from_static(outcome_name),
            );
            if status != StatusCode::OK {
                tracing::warn!(outcome = outcome_name, "webhook delivery refused");
            }
            response
        }
        Err(refusal) => {
            let status = refusal.error.status;
            // 503s are not the sender's fault and are logged where the failure happened. The
            // rejection log writes the warning too (summarised under a flood).
            if status != StatusCode::SERVICE_UNAVAILABLE {
                let logged = state.rejections.log(RejectedDelivery {
                    received_at,
                    request_id: refusal.request_id,
                    status: status.as_u16(),
                    reason: format!("{}: {}", refusal.error.code, refusal.error.message),
                    body: raw.to_vec(),
                    school: refused_at,
                    count: 1,
                });
                if let Some(delay) = answer_delay(logged, slots.as_ref()) {
                    tokio::time::sleep(delay).await;
                }
            }
            let mut response = refusal.error.into_response();
            response.headers_mut().insert(
                "x-rollcall-outcome",
                header::HeaderValue::from_static("rejected"),
            );
            response
        }
    }
}

async fn handle(
    state: &AppState,
    auth: &WebhookAuth,
    headers: &HeaderMap,
    body: Body,
    raw: &mut Bytes,
    received_at: i64,
) -> Result<IngestOutcome, Refusal> {
    check_content_type(headers)?;
    let limits = state.limits;

    if let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if length > limits.max_body_bytes as u64 {
            return Err(too_large(limits.max_body_bytes));
        }
    }
    let read = axum::body::to_bytes(body, limits.max_body_bytes);
    *raw = match tokio::time::timeout(limits.body_read_timeout, read).await {
        Err(_) => {
            return Err(Refusal::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "The request body did not arrive in time.",
            ))
        }
        Ok(Err(e)) if is_length_limit(&e) => return Err(too_large(limits.max_body_bytes)),
        Ok(Err(_)) => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "body_unreadable",
                "The request body could not be read completely.",
            ))
        }
        Ok(Ok(bytes)) => bytes,
    };

    if let Some(basic) = &auth.basic_auth {
        let given = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
        if !basic.accepts(given) {
            return Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                "basic_auth_required",
                "The username or password is missing or wrong. Enter the same Username and \
                 Password in DreamClass (Settings > Integrations) and in Rollcall.",
            ));
        }
    }
    let checked = check_body(auth, &limits, raw, received_at)?;
    store_checked(state, checked)
        .await
        .map_err(|e| storage_refusal(&e))
}

/// A delivery whose body passed [`check_body`]: ready for [`store_checked`].
pub(crate) struct Checked {
    pub(crate) delivery: VerifiedDelivery,
    /// The names a student, class or enrolment webhook carries.
    names_data: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The checks of a delivery's body, received at `received_at`: a secret is configured, the
/// JSON is an envelope, its signature matches the key, its fields and timestamp are usable.
/// The listener and the re-check of kept deliveries (`crate::recheck`) both call this, so a
/// kept body is judged exactly as a new one.
pub(crate) fn check_body(
    auth: &WebhookAuth,
    limits: &WebhookLimits,
    raw: &[u8],
    received_at: i64,
) -> Result<Checked, Refusal> {
    // Said before anything about the body: the body cannot be the problem.
    if auth.key.is_none() && !auth.allow_unsigned {
        return Err(no_secret());
    }

    // The signature covers the request id alone: a forged delivery is refused after one pass
    // over its body, before any of it is built into values.
    let credentials = envelope::read_credentials(raw).map_err(envelope_refusal)?;
    verify(auth, &credentials).map_err(|r| r.for_request(credentials.request_id()))?;
    let parsed = envelope::parse_body(raw).map_err(envelope_refusal)?;
    let request_id = parsed.request_id().to_string();
    let content_sha256 = parsed.content_sha256();
    let mut envelope = parsed
        .into_envelope()
        .map_err(|e| envelope_refusal(e).for_request(&request_id))?;
    if let Some(school) = &auth.school {
        if envelope.tenant != school.tenant {
            return Err(Refusal::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "tenant_mismatch",
                format!(
                    "This delivery is for the DreamClass tenant `{}`, but it was sent to the \
                     address of {} (tenant `{}`), so it was refused and nothing was saved. In \
                     DreamClass, give each school its own address from Rollcall's Settings > \
                     Schools.",
                    envelope.tenant, school.name, school.tenant
                ),
            )
            .for_request(&request_id));
        }
    }
    let skew = limits.max_future_skew.as_millis() as i64;
    if envelope.timestamp > received_at + skew {
        return Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "timestamp_in_future",
            format!(
                "The field `timestamp` is more than {} minutes in the future. Check the clock \
                 of the sending system.",
                skew / 60_000
            ),
        )
        .for_request(&request_id));
    }

    let event_type = envelope.event_type.clone();
    let names_data = envelope
        .other_data
        .take()
        .filter(|_| rollcall_dreamclass::is_reference_event(&event_type));
    Ok(Checked {
        delivery: VerifiedDelivery {
            received_at,
            raw_body: raw.to_vec(),
            content_sha256,
            envelope,
        },
        names_data,
    })
}

/// Stores a checked delivery (durably, with every ordering and duplicate rule), then hands
/// what follows from it to the background: the names it carries, its forwarding.
pub(crate) async fn store_checked(
    state: &AppState,
    checked: Checked,
) -> Result<IngestOutcome, StoreError> {
    let Checked {
        delivery,
        names_data,
    } = checked;
    let event_type = delivery.envelope.event_type.clone();
    let tenant = delivery.envelope.tenant.clone();
    let body = state.forwarding.wants().then(|| delivery.raw_body.clone());
    let outcome = state.store.deliver(delivery).await?;
    if let Some(body) = body {
        state.forwarding.offer(&outcome, &event_type, body);
    }
    if let Some(data) = names_data.filter(|_| outcome == IngestOutcome::Ignored) {
        // Student, class and enrolment webhooks update the names; that is not attendance and
        // the delivery is already stored, so it does not hold up the answer.
        let dreamclass = state.dreamclass.clone();
        tokio::spawn(async move {
            let data = serde_json::Value::Object(data);
            if let Err(e) = dreamclass.apply_webhook(&tenant, &event_type, data).await {
                tracing::warn!(error = %e, "names from a webhook could not be saved");
            }
        });
    }
    Ok(outcome)
}

/// Whether `credentials` prove the delivery comes from DreamClass: its signature must be
/// base64(HMAC-SHA256(secret, request id)) under the configured secret. With no secret, only
/// a listener set to allow unsigned deliveries (tests, demos) accepts it. The refusal does
/// not name the request id yet; the caller adds it.
pub(crate) fn verify(auth: &WebhookAuth, credentials: &Credentials<'_>) -> Result<(), Refusal> {
    let Some(key) = &auth.key else {
        return if auth.allow_unsigned {
            Ok(())
        } else {
            Err(no_secret())
        };
    };
    match credentials.signature() {
        None => Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "signature_missing",
            "The delivery has no signature. Set a Secret in DreamClass (Settings > \
             Integrations) and the same one in Rollcall.",
        )),
        Some(signature) if !key.verify(credentials.request_id(), signature) => Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "signature_invalid",
            "The signature does not match. The Secret in DreamClass and in Rollcall must \
                 be the same.",
        )),
        Some(_) => Ok(()),
    }
}

/// Why nothing is received at the URL a delivery was sent to.
pub(crate) fn no_receiver(why: NoReceiver, school: Option<&str>) -> Refusal {
    match why {
        NoReceiver::SeveralSchools => Refusal::new(
            StatusCode::NOT_FOUND,
            "school_required",
            format!(
                "This Rollcall receives several schools, each at its own address: \
                 {WEBHOOK_PATH}/<school>, such as {}. Enter your school's address in \
                 DreamClass (Settings > Integrations); Rollcall's Settings > Schools shows it.",
                school_path("north-primary")
            ),
        ),
        NoReceiver::SingleSchoolOnly => Refusal::new(
            StatusCode::NOT_FOUND,
            "unknown_school",
            format!(
                "This Rollcall receives one school, at {WEBHOOK_PATH}, and no school `{}`. \
                 Enter {WEBHOOK_PATH} in DreamClass, or add the school in Settings > Schools.",
                school.unwrap_or_default()
            ),
        ),
        NoReceiver::UnknownSchool => Refusal::new(
            StatusCode::NOT_FOUND,
            "unknown_school",
            format!(
                "No school `{}` is set up on this Rollcall (it may have been removed). Check \
                 the address in DreamClass; Rollcall's Settings > Schools lists each school's.",
                school.unwrap_or_default()
            ),
        ),
        NoReceiver::Unusable => no_secret(),
    }
}

fn no_secret() -> Refusal {
    Refusal::new(
        StatusCode::UNAUTHORIZED,
        "secret_not_configured",
        "Rollcall has no webhook secret yet, so it cannot check who sent this. Enter the \
         Secret from DreamClass (Settings > Integrations) in Rollcall's settings.",
    )
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
        .unwrap_or(false);
    if is_json {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Deliveries must be sent with Content-Type: application/json.",
        ))
    }
}

fn too_large(limit: usize) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "The request body is larger than {} KiB, the most a delivery may be.",
            limit / 1024
        ),
    )
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.to_string().contains("length limit exceeded") {
            return true;
        }
        source = e.source();
    }
    false
}

fn envelope_refusal(error: EnvelopeError) -> Refusal {
    match error {
        EnvelopeError::NotJson(_) => {
            Refusal::new(StatusCode::BAD_REQUEST, "invalid_json", error.to_string())
        }
        EnvelopeError::NotAnObject | EnvelopeError::Field { .. } => Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            error.to_string(),
        ),
    }
}

fn storage_refusal(error: &StoreError) -> Refusal {
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_unavailable",
        format!(
            "Rollcall could not save this delivery; DreamClass should send it again. {}",
            error.user_message()
        ),
    )
}
