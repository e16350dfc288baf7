//! JSON endpoints of the local API (see docs/local-api.md).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rollcall_core::config::BasicAuth;
use rollcall_core::filter::RecordFilter;
use rollcall_core::model::now_ms;
use rollcall_core::store::BoardGrouping;
use rollcall_core::{DeliveryOutcome, KeyEncoding, Scope, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::query::ApiQuery;
use crate::error::{ApiError, ApiResult};
use crate::state::{secret_names, AppState, Notice, WebhookAuth};

const DEFAULT_PAGE: usize = 500;
const MAX_PAGE: usize = 5000;

#[derive(Deserialize)]
pub struct Paging {
    after: Option<i64>,
    before: Option<i64>,
    limit: Option<usize>,
    #[serde(rename = "includeDeleted")]
    include_deleted: Option<bool>,
}

impl Paging {
    fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    version: &'static str,
    webhook_url: String,
    ui_url: String,
    secret_configured: bool,
    basic_auth_configured: bool,
    allow_unsigned: bool,
    last_change_seq: i64,
    last_delivery_at: Option<i64>,
    delivery_counts: BTreeMap<&'static str, i64>,
    storage_failing: bool,
    rejections_dropped: u64,
    started_at: i64,
}

pub async fn status(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let store = &state.store;
    let last_change_seq = store.last_change_seq(&Scope::all()).await?;
    let last_delivery_at = store.last_delivery_at().await?;
    let counts = store.delivery_counts().await?;
    let health = store.health();
    let auth = state.webhook_auth();
    let mut status = serde_json::to_value(Status {
        version: env!("CARGO_PKG_VERSION"),
        webhook_url: state.info.webhook_url(),
        ui_url: format!("http://{}/", state.info.ui_addr),
        secret_configured: auth.key.is_some(),
        basic_auth_configured: auth.basic_auth.is_some(),
        allow_unsigned: auth.allow_unsigned,
        last_change_seq,
        last_delivery_at,
        delivery_counts: counts.into_iter().map(|(o, n)| (o.as_str(), n)).collect(),
        storage_failing: health.storage_failing,
        rejections_dropped: health.rejections_dropped,
        started_at: state.info.started_at,
    })
    .map_err(ApiError::internal)?;
    if let (Value::Object(status), Value::Object(tunnel)) =
        (&mut status, state.tunnel.status_json())
    {
        status.extend(tunnel);
    }
    Ok(Json(status))
}

/// Which end of the change log a listing starts from.
#[derive(Clone, Copy)]
enum ChangeOrder {
    /// Oldest first, after a sequence number (catching up).
    After,
    /// Newest first, before a sequence number (the first screen, scrolling back).
    Latest,
}

pub async fn changes_after(
    State(state): State<AppState>,
    ApiQuery(paging): ApiQuery<Paging>,
    ApiQuery(filter): ApiQuery<RecordFilter>,
) -> ApiResult<Json<Value>> {
    list_changes(state, paging, filter, ChangeOrder::After).await
}

pub async fn changes_latest(
    State(state): State<AppState>,
    ApiQuery(paging): ApiQuery<Paging>,
    ApiQuery(filter): ApiQuery<RecordFilter>,
) -> ApiResult<Json<Value>> {
    list_changes(state, paging, filter, ChangeOrder::Latest).await
}

async fn list_changes(
    state: AppState,
    paging: Paging,
    filter: RecordFilter,
    order: ChangeOrder,
) -> ApiResult<Json<Value>> {
    let limit = paging.limit();
    let scope = Scope::all();
    let changes = match order {
        ChangeOrder::After => {
            let after = paging.after.unwrap_or(0);
            state
                .store
                .changes_after(&scope, after, limit, &filter)
                .await?
        }
        ChangeOrder::Latest => {
            let before = paging.before;
            state
                .store
                .latest_changes(&scope, before, limit, &filter)
                .await?
        }
    };
    let last_seq = state.store.last_change_seq(&scope).await?;
    // lastSeq is the newest sequence overall, whatever the filters: where a stream starts.
    Ok(Json(json!({ "changes": changes, "lastSeq": last_seq })))
}

pub async fn attendance(
    State(state): State<AppState>,
    ApiQuery(paging): ApiQuery<Paging>,
    ApiQuery(filter): ApiQuery<RecordFilter>,
) -> ApiResult<Json<Value>> {
    let include_deleted = paging.include_deleted.unwrap_or(false);
    let limit = paging.limit.unwrap_or(MAX_PAGE).clamp(1, 100_000);
    let records = state
        .store
        .attendance(&Scope::all(), &filter, include_deleted, limit)
        .await?;
    Ok(Json(json!({ "records": records })))
}

pub async fn record_history(
    State(state): State<AppState>,
    Path((tenant, attendance_id)): Path<(String, i64)>,
) -> ApiResult<Json<Value>> {
    let changes = state
        .store
        .record_history(&Scope::all(), &tenant, attendance_id)
        .await?;
    if changes.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "record_not_found",
            "Rollcall has no attendance record with this number.",
        ));
    }
    Ok(Json(json!({ "changes": changes })))
}

#[derive(Deserialize)]
pub struct DeliveriesQuery {
    outcome: Option<String>,
}

pub async fn deliveries(
    State(state): State<AppState>,
    ApiQuery(paging): ApiQuery<Paging>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<Value>> {
    let outcome = match query.outcome.as_deref().filter(|o| !o.is_empty()) {
        None => None,
        Some(name) => Some(DeliveryOutcome::parse(name).ok_or_else(|| {
            ApiError::bad_request(
                "Unknown outcome: use applied, superseded, duplicate, ignored, conflict or rejected.",
            )
        })?),
    };
    let (before, limit) = (paging.before, paging.limit().min(1000));
    let deliveries = state
        .store
        .deliveries(&Scope::all(), outcome, before, limit)
        .await?;
    Ok(Json(json!({ "deliveries": deliveries })))
}

#[derive(Deserialize)]
pub struct BoardQuery {
    date: Option<String>,
}

pub async fn board(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<BoardQuery>,
) -> ApiResult<Json<Value>> {
    let date = query
        .date
        .unwrap_or_else(|| chrono::Local::now().format("%Y-%m-%d").to_string());
    if chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_err() {
        return Err(ApiError::bad_request(
            "The date must be written YYYY-MM-DD.",
        ));
    }
    let scope = Scope::all();
    let by_class = state
        .store
        .board(&scope, &date, BoardGrouping::Class)
        .await?;
    let by_course = state
        .store
        .board(&scope, &date, BoardGrouping::Course)
        .await?;
    Ok(Json(
        json!({ "date": date, "byClass": by_class, "byCourse": by_course }),
    ))
}

/// Sends a signed test delivery through this computer's own webhook listener, proving that
/// the listener, the secret and storage work together.
pub async fn test_event(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let auth = state.webhook_auth();
    if auth.key.is_none() && !auth.allow_unsigned {
        return Ok(Json(json!({
            "ok": false,
            "status": 0,
            "message": "Enter the Secret from DreamClass first; the test delivery is signed with it."
        })));
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let signature = auth
        .key
        .as_ref()
        .map(|k| k.sign(&request_id))
        .unwrap_or_default();
    let body = json!({
        "id": request_id, "type": "ROLLCALL_TEST", "tenant": "rollcall-test",
        "timestamp": now_ms(), "signature": signature, "data": {}
    });
    let mut addr = state.info.webhook_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let mut request = state
        .http
        .post(format!("http://{addr}/webhooks/dreamclass"))
        .json(&body);
    if let Some(basic) = &auth.basic_auth {
        request = request.header("authorization", basic.header_value());
    }
    let (ok, status, message) = match request.send().await {
        Ok(response) if response.status() == StatusCode::OK => (
            true,
            200,
            "The test delivery arrived, its signature was checked and it was saved. Rollcall \
             is receiving webhooks on this computer."
                .to_string(),
        ),
        Ok(response) => {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or_default();
            let reason = body["message"]
                .as_str()
                .unwrap_or("no reason given")
                .to_string();
            (
                false,
                status,
                format!("The test delivery was refused: {reason}"),
            )
        }
        Err(e) => (
            false,
            0,
            format!("The webhook listener did not answer ({e}). Restart Rollcall."),
        ),
    };
    Ok(Json(
        json!({ "ok": ok, "status": status, "message": message }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSettings {
    secret: Option<String>,
    #[serde(default)]
    key_encoding: KeyEncoding,
    basic_auth: Option<BasicAuthSettings>,
}

#[derive(Deserialize)]
pub struct BasicAuthSettings {
    username: String,
    password: String,
}

/// Sets the Secret and optional Username/Password (as entered in DreamClass), applies them at
/// once and saves them in `rollcall.toml` (readable by this user only).
pub async fn set_webhook_settings(
    State(state): State<AppState>,
    Json(settings): Json<WebhookSettings>,
) -> ApiResult<Json<Value>> {
    let secret = settings.secret.filter(|s| !s.trim().is_empty());
    let key = secret
        .as_deref()
        .map(|s| SigningKey::new(s.trim(), settings.key_encoding))
        .transpose()
        .map_err(ApiError::bad_request)?;
    let basic_auth = settings
        .basic_auth
        .map(|b| {
            format!("{}:{}", b.username, b.password)
                .parse::<BasicAuth>()
                .map_err(|e| ApiError::bad_request(e.to_string()))
        })
        .transpose()?;
    let basic_text = basic_auth
        .as_ref()
        .map(|b| format!("{}:{}", b.username, b.password));
    let secret_text = secret.as_ref().map(|s| s.trim().to_string());
    let encoding = settings.key_encoding;
    let store = state.secret_store.clone();
    crate::settings_file::update(&state.info.data_dir, move |file| {
        file.key_encoding = Some(encoding);
        let kept = crate::state::keep_secrets(
            store.as_deref(),
            &[
                (secret_names::WEBHOOK_SECRET, secret_text.as_deref()),
                (secret_names::BASIC_AUTH, basic_text.as_deref()),
            ],
        );
        // Secrets kept in the safer store do not stay in the file.
        (file.webhook_secret, file.basic_auth) = if kept {
            (None, None)
        } else {
            (secret_text, basic_text)
        };
        Ok(())
    })
    .await?;
    {
        let mut auth = state.auth.write().expect("auth lock");
        *auth = WebhookAuth {
            key,
            basic_auth,
            allow_unsigned: auth.allow_unsigned,
        };
    }
    state.tunnel.credentials_changed().await;
    let _ = state.notices.send(Notice::Status);
    Ok(Json(json!({ "ok": true })))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    secret_configured: bool,
    basic_auth_username: Option<String>,
    allow_unsigned: bool,
    notify_status_ids: Vec<i64>,
    delivery_retention_days: u32,
}

/// The settings the UI shows. Secrets are never sent back, only whether they are set.
pub async fn settings(State(state): State<AppState>) -> Json<Settings> {
    let auth = state.webhook_auth();
    Json(Settings {
        secret_configured: auth.key.is_some(),
        basic_auth_username: auth.basic_auth.map(|b| b.username),
        allow_unsigned: auth.allow_unsigned,
        notify_status_ids: state.notify_status_ids(),
        delivery_retention_days: state
            .retention_days
            .load(std::sync::atomic::Ordering::Relaxed),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSettings {
    status_ids: Vec<i64>,
}

/// Which statuses raise a desktop notification (for example Absent).
pub async fn set_notification_settings(
    State(state): State<AppState>,
    Json(settings): Json<NotificationSettings>,
) -> ApiResult<Json<Value>> {
    let ids = settings.status_ids.clone();
    crate::settings_file::update(&state.info.data_dir, move |file| {
        file.notify_status_ids = Some(ids);
        Ok(())
    })
    .await?;
    *state.notify_status_ids.write().expect("settings lock") = settings.status_ids;
    let _ = state.notices.send(Notice::Status);
    Ok(Json(json!({ "ok": true })))
}
