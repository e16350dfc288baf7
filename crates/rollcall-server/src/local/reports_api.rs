//! Reports: CSV exports, summaries and threshold alerts (docs/local-api.md).
//!
//! The exports are written by the same code as `rollcall export`, so a file downloaded here
//! and one written by the command are byte for byte the same for the same filters.
//!
//! [`ExportRequest`] (core) is the typed request; this module reads it from an address.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use rollcall_core::filter::RecordFilter;
use rollcall_core::reports::{
    self, ExportParams, ExportRequest, ExportRequestError, ReportSettings,
};
use rollcall_core::Scope;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use ts_rs::TS;

use super::query::ApiQuery;
use crate::auth::Person;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Chunks of CSV waiting for the client. With the CSV writer's 64 KiB buffer this bounds an
/// export's memory to about half a megabyte, however many rows it has.
const CHUNKS_IN_FLIGHT: usize = 8;

/// The report routes, nested under `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/export/{file}", get(export))
        .route("/reports/summary", get(summary))
        .route("/alerts", get(alerts))
        .route("/reports/not-taken", get(not_taken))
}

/// Thresholds for a summary, an export or a day's lessons of `scope`, or of the school a page
/// picked: the school's own when it is one school with its own, else the installation's (as
/// saved in Settings or `rollcall.toml`), read for each request so a change applies at once.
fn report_settings(state: &AppState, scope: &Scope, picked: Option<&str>) -> ReportSettings {
    state.settings.with(|s| s.report_settings_in(scope, picked))
}

fn check_filter(filter: &RecordFilter) -> ApiResult<()> {
    filter.validate().map_err(ApiError::bad_request)
}

/// An export request from its parts, with the thresholds saved in Settings unless it chooses
/// its own. The download route and the desktop's "save to a file" both build it here, so
/// both give the same bytes for the same choices.
pub fn export_request(
    state: &AppState,
    report: &str,
    filter: RecordFilter,
    params: &ExportParams,
) -> ApiResult<ExportRequest> {
    export_request_for(state, &Scope::all(), report, filter, params)
}

/// [`export_request`] for a reader of `scope` (a person who sees one school gets that
/// school's thresholds).
fn export_request_for(
    state: &AppState,
    scope: &Scope,
    report: &str,
    filter: RecordFilter,
    params: &ExportParams,
) -> ApiResult<ExportRequest> {
    let settings = report_settings(state, scope, filter.tenant.as_deref());
    ExportRequest::new(report, filter, params, settings).map_err(|e| match e {
        ExportRequestError::UnknownReport => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_report", e.to_string())
        }
        ExportRequestError::BadValue(sentence) => ApiError::bad_request(sentence),
    })
}

/// Reads a request given as the report's name (`attendance`) and the query string of its
/// export address (`from=2026-11-01&classId=34&excel=true`).
pub fn parse_export_request(
    state: &AppState,
    report: &str,
    query: &str,
) -> ApiResult<ExportRequest> {
    let uri: Uri = format!("/?{query}")
        .parse()
        .map_err(|_| ApiError::bad_request("The report's address is not valid."))?;
    let wrong = |e: QueryRejection| {
        ApiError::bad_request(format!("The address has a wrong value: {}", e.body_text()))
    };
    let Query(filter) = Query::<RecordFilter>::try_from_uri(&uri).map_err(wrong)?;
    let Query(params) = Query::<ExportParams>::try_from_uri(&uri).map_err(wrong)?;
    export_request(state, report, filter, &params)
}

/// The name a report is offered under: [`ExportRequest::file_name`], with the school's id
/// after the kind when the export is of one school (`rollcall-attendance-north-2026-11-01.csv`;
/// the UI names files the same way). A tenant no school has is named as it is.
pub fn export_file_name(state: &AppState, request: &ExportRequest) -> String {
    let Some(tenant) = request.filter.tenant.as_deref().filter(|t| !t.is_empty()) else {
        return request.file_name(None);
    };
    // The school's id as the office named it (listed or removed), else its tenant.
    let settings = state.settings.current();
    let id = settings
        .schools
        .iter()
        .find(|s| s.tenant == tenant)
        .map(|s| s.id.as_str())
        .or_else(|| {
            settings
                .removed_schools
                .iter()
                .find(|s| s.tenant == tenant)
                .map(|s| s.id.as_str())
        })
        .unwrap_or(tenant);
    request.file_name(Some(id))
}

/// `GET /api/export/{kind}.csv`: streams a report as it is read from the database.
pub async fn export(
    State(state): State<AppState>,
    person: Person,
    Path(file): Path<String>,
    ApiQuery(filter): ApiQuery<RecordFilter>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> ApiResult<Response> {
    let report = file.strip_suffix(".csv").unwrap_or("");
    let request = export_request_for(&state, &person.scope, report, filter, &params)?;
    let file_name = export_file_name(&state, &request);
    let report = request.kind.as_str();

    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_IN_FLIGHT);
    let store = state.store.clone();
    // The store writes the export on its own thread and read connection (it never holds up
    // the webhook writer) and waits for the client through the bounded channel, so a slow
    // download slows the export instead of filling memory.
    tokio::spawn(async move {
        let sink = ChannelWriter { tx: tx.clone() };
        let result = store
            .export(&person.scope, &request, Box::new(sink), None)
            .await;
        let error = match result {
            Ok(rows) => {
                tracing::debug!(report, rows, "export finished");
                return;
            }
            Err(e) if e.is_broken_pipe() => {
                tracing::debug!(report, "export cancelled by the client");
                return;
            }
            Err(e) => e.to_string(),
        };
        tracing::error!(report, %error, "export failed");
        // Ends the body with an error, so the download fails instead of looking complete.
        let _ = tx.send(Err(std::io::Error::other(error))).await;
    });

    // The first chunk holds at least the header row; a database error before it (a query
    // that cannot be prepared) is still answered as a normal API error.
    let first = match rx.recv().await {
        Some(Ok(bytes)) => bytes,
        Some(Err(e)) => return Err(ApiError::internal(e)),
        None => return Err(ApiError::internal("the export ended without writing")),
    };
    let rest = tokio_stream::wrappers::ReceiverStream::new(rx);
    let body = Body::from_stream(
        futures::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(rest),
    );
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .map_err(ApiError::internal)?;
    Response::builder()
        .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
        .header(header::CONTENT_DISPOSITION, disposition)
        .header(header::CACHE_CONTROL, "no-store")
        .body(body)
        .map_err(ApiError::internal)
}

/// Hands what the CSV writer writes (in chunks of its 64 KiB buffer) to the response body.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Deserialize)]
pub struct SummaryQuery {
    threshold: Option<f64>,
}

/// `GET /api/reports/summary`: attendance rate by class, absences per day, chronic absence.
pub async fn summary(
    State(state): State<AppState>,
    person: Person,
    ApiQuery(filter): ApiQuery<RecordFilter>,
    ApiQuery(query): ApiQuery<SummaryQuery>,
) -> ApiResult<Json<reports::Summary>> {
    check_filter(&filter)?;
    let mut settings = report_settings(&state, &person.scope, filter.tenant.as_deref());
    if let Some(t) = query.threshold {
        settings.chronic_threshold =
            ReportSettings::check_threshold(t).map_err(ApiError::bad_request)?;
    }
    let summary = state
        .store
        .summary(&person.scope, &filter, &settings)
        .await?;
    Ok(Json(summary))
}

#[derive(Deserialize)]
pub struct AlertsQuery {
    /// The day to look at; today (local time) when absent.
    date: Option<String>,
    /// One school (DreamClass tenant) only, within the person's schools.
    tenant: Option<String>,
}

/// `GET /api/alerts`: today's alerts first, most absences first; then chronic absence.
#[derive(Serialize, TS)]
pub struct AlertList {
    pub alerts: Vec<reports::Alert>,
}

/// `GET /api/alerts`: students absent in several lessons today, and chronic absence over the
/// current term.
pub async fn alerts(
    State(state): State<AppState>,
    person: Person,
    ApiQuery(query): ApiQuery<AlertsQuery>,
) -> ApiResult<Json<AlertList>> {
    let today = match query.date.as_deref().filter(|d| !d.is_empty()) {
        None => chrono::Local::now().date_naive(),
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| ApiError::bad_request("The date must be written YYYY-MM-DD."))?,
    };
    let scope = person.scope.narrowed_to(query.tenant.as_deref());
    // Each school's alerts with its own thresholds (one part while no school has its own).
    let groups = state.settings.with(|s| s.report_groups(&scope));
    let mut alerts = Vec::new();
    for (scope, settings) in groups {
        alerts.extend(state.store.alerts(&scope, today, &settings).await?);
    }
    // As one list: today's absences, then days in a row, then chronic absence.
    alerts.sort_by_key(|a| a.kind);
    Ok(Json(AlertList { alerts }))
}

/// `GET /api/reports/not-taken[?date=]`: the lessons expected on the day (today when absent)
/// with no attendance yet, and whether the cutoff has passed.
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NotTakenView {
    /// The day (`YYYY-MM-DD`).
    pub date: String,
    /// The school's cutoff (`HH:MM`, local time).
    pub cutoff: String,
    /// Whether the cutoff of `date` has passed: the lessons are "not taken" only then (before
    /// it, they are still to be taken).
    pub cutoff_passed: bool,
    /// Whether the day has any attendance at all (a day without is most likely a holiday).
    pub school_day: bool,
    /// What "expected" means: always inferred, DreamClass sends no timetable.
    pub inferred: &'static str,
    pub lessons: Vec<reports::LessonNotTaken>,
}

pub async fn not_taken(
    State(state): State<AppState>,
    person: Person,
    ApiQuery(query): ApiQuery<AlertsQuery>,
) -> ApiResult<Json<NotTakenView>> {
    let now = state.clock.now();
    let day = match query.date.as_deref().filter(|d| !d.is_empty()) {
        None => now.date(),
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| ApiError::bad_request("The date must be written YYYY-MM-DD."))?,
    };
    let scope = person.scope.narrowed_to(query.tenant.as_deref());
    let cutoff = report_settings(&state, &scope, None).lesson_cutoff;
    let found = state.store.lessons_not_taken(&scope, day).await?;
    Ok(Json(NotTakenView {
        cutoff_passed: cutoff.has_passed(day, now),
        school_day: found.is_school_day(),
        date: found.date,
        cutoff: cutoff.to_string(),
        inferred: reports::INFERRED_RULE,
        lessons: found.lessons,
    }))
}
