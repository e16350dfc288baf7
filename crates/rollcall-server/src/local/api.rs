//! JSON endpoints of the local API (see docs/local-api.md).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rollcall_core::config::BasicAuth;
use rollcall_core::filter::RecordFilter;
use rollcall_core::store::{BoardGroup, BoardGrouping, StoreError};
use rollcall_core::{AttendanceRow, Change, DeliveryOutcome, DeliveryRow, KeyEncoding, Scope};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::query::ApiQuery;
use super::settings_answer::Saved;
use crate::auth::Person;
use crate::error::{ApiError, ApiResult};
use crate::settings::Override;
use crate::state::AppState;
use crate::tunnel::TunnelStatus;

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

/// `GET /api/status`: what the window's status line and setup cards show.
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    version: String,
    /// The webhook listener's own (local) address.
    webhook_url: String,
    ui_url: String,
    secret_configured: bool,
    basic_auth_configured: bool,
    allow_unsigned: bool,
    last_change_seq: i64,
    last_delivery_at: Option<i64>,
    /// Running totals per outcome since the database was made; outcomes never seen are absent.
    delivery_counts: BTreeMap<DeliveryOutcome, i64>,
    storage_failing: bool,
    /// The district server's database (without password); absent for SQLite.
    database: Option<String>,
    /// The database server cannot be reached just now (the counts above are then 0).
    database_unreachable: bool,
    rejections_dropped: u64,
    started_at: i64,
    #[serde(flatten)]
    tunnel: TunnelStatus,
    /// Present when this Rollcall shows a server's attendance (a viewer): how its copy stands.
    viewer: Option<crate::viewer::ViewerState>,
}

pub async fn status(State(state): State<AppState>, person: Person) -> ApiResult<Json<Status>> {
    let store = &state.store;
    // The status line must still answer when a district server's database is down: that is
    // when it matters most.
    let mut unreachable = false;
    let last_change_seq =
        unless_unreachable(store.last_change_seq(&person.scope).await, &mut unreachable)?;
    let last_delivery_at = unless_unreachable(store.last_delivery_at().await, &mut unreachable)?;
    let mut counts = unless_unreachable(store.delivery_counts().await, &mut unreachable)?;
    // The delivery totals count every school's: not for someone who sees only some of them.
    let last_delivery_at = if person.scope.tenant_list().is_some() {
        counts = Default::default();
        None
    } else {
        last_delivery_at
    };
    let health = store.health();
    let checks = state.settings.with(WebhookChecks::of);
    Ok(Json(Status {
        version: env!("CARGO_PKG_VERSION").to_string(),
        webhook_url: state.info.webhook_url(),
        ui_url: format!("{}/", state.info.ui_origin()),
        secret_configured: checks.secret,
        basic_auth_configured: checks.basic_auth,
        allow_unsigned: checks.allow_unsigned,
        last_change_seq,
        last_delivery_at,
        delivery_counts: counts.into_iter().collect(),
        storage_failing: health.storage_failing || unreachable,
        database: state.info.database.clone(),
        database_unreachable: unreachable,
        rejections_dropped: health.rejections_dropped,
        started_at: state.info.started_at,
        tunnel: state.tunnel.status(),
        viewer: state.viewer.as_ref().map(|v| v.state()),
    }))
}

/// `result`, or the default when the database server cannot be reached (and says so).
fn unless_unreachable<T: Default>(
    result: Result<T, StoreError>,
    unreachable: &mut bool,
) -> Result<T, StoreError> {
    match result {
        Err(StoreError::Disconnected(_)) => {
            *unreachable = true;
            Ok(T::default())
        }
        other => other,
    }
}

/// `GET /api/changes` and `/api/changes/latest`.
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChangePage {
    pub changes: Vec<Change>,
    /// The newest sequence number stored overall, whatever the filters: where a stream starts.
    pub last_seq: i64,
}

/// `GET /api/attendance`.
#[derive(Serialize, TS)]
pub struct AttendanceList {
    pub records: Vec<AttendanceRow>,
}

/// `GET /api/records/{tenant}/{attendanceId}/history`: oldest first.
#[derive(Serialize, TS)]
pub struct RecordHistory {
    pub changes: Vec<Change>,
}

/// `GET /api/deliveries`: newest first.
#[derive(Serialize, TS)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryRow>,
}

/// `GET /api/board`: one day's records counted by class and by course.
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Board {
    pub date: String,
    pub by_class: Vec<BoardGroup>,
    pub by_course: Vec<BoardGroup>,
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
    person: Person,
    ApiQuery(paging): ApiQuery<Paging>,
    ApiQuery(filter): ApiQuery<RecordFilter>,
) -> ApiResult<Json<ChangePage>> {
    list_changes(state, person.scope, paging, filter, ChangeOrder::After).await
}

pub async fn changes_latest(
    State(state): State<AppState>,
    person: Person,
    ApiQuery(paging): ApiQuery<Paging>,
    ApiQuery(filter): ApiQuery<RecordFilter>,
) -> ApiResult<Json<ChangePage>> {
    list_changes(state, person.scope, paging, filter, ChangeOrder::Latest).await
}

async fn list_changes(
    state: AppState,
    scope: Scope,
    paging: Paging,
    filter: RecordFilter,
    order: ChangeOrder,
) -> ApiResult<Json<ChangePage>> {
    let limit = paging.limit();
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
    // lastSeq is the newest sequence overall, whatever the filters: where a stream starts.
    let last_seq = state.store.last_change_seq(&scope).await?;
    Ok(Json(ChangePage { changes, last_seq }))
}

pub async fn attendance(
    State(state): State<AppState>,
    person: Person,
    ApiQuery(paging): ApiQuery<Paging>,
    ApiQuery(filter): ApiQuery<RecordFilter>,
) -> ApiResult<Json<AttendanceList>> {
    let include_deleted = paging.include_deleted.unwrap_or(false);
    let limit = paging.limit.unwrap_or(MAX_PAGE).clamp(1, 100_000);
    let records = state
        .store
        .attendance(&person.scope, &filter, include_deleted, limit)
        .await?;
    Ok(Json(AttendanceList { records }))
}

pub async fn record_history(
    State(state): State<AppState>,
    person: Person,
    Path((tenant, attendance_id)): Path<(String, i64)>,
) -> ApiResult<Json<RecordHistory>> {
    let changes = state
        .store
        .record_history(&person.scope, &tenant, attendance_id)
        .await?;
    if changes.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "record_not_found",
            "Rollcall has no attendance record with this number.",
        ));
    }
    Ok(Json(RecordHistory { changes }))
}

#[derive(Deserialize)]
pub struct DeliveriesQuery {
    outcome: Option<String>,
}

pub async fn deliveries(
    State(state): State<AppState>,
    person: Person,
    ApiQuery(paging): ApiQuery<Paging>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<DeliveryList>> {
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
        .deliveries(&person.scope, outcome, before, limit)
        .await?;
    Ok(Json(DeliveryList { deliveries }))
}

#[derive(Deserialize)]
pub struct BoardQuery {
    date: Option<String>,
    /// One school (DreamClass tenant) only, within the person's schools.
    tenant: Option<String>,
}

pub async fn board(
    State(state): State<AppState>,
    person: Person,
    ApiQuery(query): ApiQuery<BoardQuery>,
) -> ApiResult<Json<Board>> {
    let date = query
        .date
        .unwrap_or_else(|| chrono::Local::now().format("%Y-%m-%d").to_string());
    if chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_err() {
        return Err(ApiError::bad_request(
            "The date must be written YYYY-MM-DD.",
        ));
    }
    let scope = person.scope.narrowed_to(query.tenant.as_deref());
    let by_class = state
        .store
        .board(&scope, &date, BoardGrouping::Class)
        .await?;
    let by_course = state
        .store
        .board(&scope, &date, BoardGrouping::Course)
        .await?;
    Ok(Json(Board {
        date,
        by_class,
        by_course,
    }))
}

/// How deliveries are checked, for the status line: the single school's settings, or with
/// several schools, a Secret only when every school has one.
struct WebhookChecks {
    secret: bool,
    basic_auth: bool,
    allow_unsigned: bool,
}

impl WebhookChecks {
    fn of(settings: &crate::settings::Settings) -> Self {
        if settings.schools.is_empty() {
            let w = &settings.webhook;
            return Self {
                secret: w.secret.is_some(),
                basic_auth: w.basic_auth.is_some(),
                allow_unsigned: w.allow_unsigned,
            };
        }
        let schools = &settings.schools;
        Self {
            secret: schools.iter().all(|s| s.webhook.secret.is_some()),
            basic_auth: schools.iter().any(|s| s.webhook.basic_auth.is_some()),
            allow_unsigned: schools.iter().any(|s| s.webhook.allow_unsigned),
        }
    }
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

/// A Secret and Username/Password as typed: blank is none; a username or password that
/// cannot be used is a sentence.
pub(super) fn checked_credentials(
    secret: Option<String>,
    basic_auth: Option<BasicAuthSettings>,
) -> ApiResult<(Option<String>, Option<BasicAuth>)> {
    let secret = secret
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let basic_auth = basic_auth
        .map(|b| {
            format!("{}:{}", b.username, b.password)
                .parse::<BasicAuth>()
                .map_err(|e| ApiError::bad_request(e.to_string()))
        })
        .transpose()?;
    Ok((secret, basic_auth))
}

/// Sets the Secret and optional Username/Password (as entered in DreamClass). They are in
/// force once saved (the secrets in the keyring, or in `rollcall.toml` readable by this user
/// only).
pub async fn set_webhook_settings(
    State(state): State<AppState>,
    Json(form): Json<WebhookSettings>,
) -> ApiResult<Json<Saved>> {
    let (secret, basic_auth) = checked_credentials(form.secret, form.basic_auth)?;
    state
        .settings
        .update(move |s| {
            s.webhook.secret = secret;
            s.webhook.key_encoding = form.key_encoding;
            s.webhook.basic_auth = basic_auth;
            Ok(())
        })
        .await?;
    Ok(Json(Saved::OK))
}

/// `GET /api/settings`: secrets are never sent back, only whether they are set.
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    secret_configured: bool,
    basic_auth_username: Option<String>,
    allow_unsigned: bool,
    notify_status_ids: Vec<i64>,
    delivery_retention_days: u32,
    /// Settings chosen by a flag or variable at start, which this screen cannot change.
    overrides: Vec<Override>,
}

/// The settings the UI shows. Secrets are never sent back, only whether they are set.
pub async fn settings(State(state): State<AppState>) -> Json<Settings> {
    let settings = state.settings.current();
    Json(Settings {
        secret_configured: settings.webhook.secret.is_some(),
        basic_auth_username: settings.webhook.basic_auth.map(|b| b.username),
        allow_unsigned: settings.webhook.allow_unsigned,
        notify_status_ids: settings.notify_status_ids,
        delivery_retention_days: settings.delivery_retention_days,
        overrides: state.settings.overrides().list().to_vec(),
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
    Json(form): Json<NotificationSettings>,
) -> ApiResult<Json<Saved>> {
    state
        .settings
        .update(move |s| {
            s.notify_status_ids = form.status_ids;
            Ok(())
        })
        .await?;
    Ok(Json(Saved::OK))
}
