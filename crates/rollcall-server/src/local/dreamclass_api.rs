//! Endpoints for the DreamClass API connection: names, "Test connection", "Check for missed
//! changes", status categories, and the connection settings.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rollcall_dreamclass::{
    ApiConfig, ConnectionSummary, DreamClassClient, RecoveryReport, Reference, StatusCategory,
};
use serde::{Deserialize, Serialize};

use ts_rs::TS;

use super::settings_answer::Saved;
use crate::auth::Person;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Names of statuses, students, classes and courses (lists are empty until known).
pub async fn reference(
    State(state): State<AppState>,
    person: Person,
) -> ApiResult<Json<Reference>> {
    let reference = state.store.reference(&person.scope).await?;
    Ok(Json(reference))
}

/// `GET /api/dreamclass`: how the API connection is doing, and its settings.
#[derive(Serialize, TS)]
pub struct DreamClassOverview {
    state: rollcall_dreamclass::ApiState,
    settings: ConnectionView,
}

/// The connection's state and settings (the token is never sent back, only whether it is set).
pub async fn overview(State(state): State<AppState>) -> Json<DreamClassOverview> {
    let settings = state.settings.with(|s| ConnectionView::from(&s.dreamclass));
    Json(DreamClassOverview {
        state: state.dreamclass.state(),
        settings,
    })
}

/// The connection as the Settings screen shows it; the token only as "configured".
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    base_url: String,
    tenant: String,
    auth_header: String,
    auth_prefix: String,
    tenant_header: String,
    school_period_id: Option<i64>,
    token_configured: bool,
}

impl From<&ApiConfig> for ConnectionView {
    fn from(config: &ApiConfig) -> Self {
        Self {
            base_url: config.base_url.clone(),
            tenant: config.tenant.clone(),
            auth_header: config.auth_header.clone(),
            auth_prefix: config.auth_prefix.clone(),
            tenant_header: config.tenant_header.clone(),
            school_period_id: config.school_period_id,
            token_configured: !config.token.trim().is_empty(),
        }
    }
}

/// A saved connection, as now in force.
#[derive(Serialize, TS)]
pub struct ConnectionSaved {
    ok: bool,
    settings: ConnectionView,
}

/// The connection form. Absent fields keep their current value; a `token` of `null` or absent
/// keeps the saved token.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ConnectionForm {
    base_url: Option<String>,
    token: Option<String>,
    tenant: Option<String>,
    auth_header: Option<String>,
    auth_prefix: Option<String>,
    tenant_header: Option<String>,
    school_period_id: Option<i64>,
}

impl ConnectionForm {
    fn apply_to(self, mut config: ApiConfig) -> ApiResult<ApiConfig> {
        if let Some(url) = self.base_url {
            let url = url.trim().to_string();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ApiError::bad_request(
                    "The API address must start with https:// (for example \
                     https://api.dreamclass.io/dreamclassapi/v1).",
                ));
            }
            config.base_url = url;
        }
        if let Some(token) = self.token.filter(|t| !t.trim().is_empty()) {
            config.token = token.trim().to_string();
        }
        if let Some(v) = self.tenant {
            config.tenant = v.trim().to_string();
        }
        if let Some(v) = self.auth_header.filter(|v| !v.trim().is_empty()) {
            config.auth_header = v.trim().to_string();
        }
        if let Some(v) = self.auth_prefix {
            config.auth_prefix = v;
        }
        if let Some(v) = self.tenant_header.filter(|v| !v.trim().is_empty()) {
            config.tenant_header = v.trim().to_string();
        }
        if self.school_period_id.is_some() {
            config.school_period_id = self.school_period_id;
        }
        Ok(config)
    }
}

/// Saves the connection (the token in the keyring, or in `rollcall.toml` readable by this
/// user only); the DreamClass side uses it from then on.
pub async fn save_settings(
    State(state): State<AppState>,
    Json(form): Json<ConnectionForm>,
) -> ApiResult<Json<ConnectionSaved>> {
    let current = state.settings.with(|s| s.dreamclass.clone());
    let config = form.apply_to(current)?;
    let saved = state
        .settings
        .update(move |s| {
            s.dreamclass = config;
            Ok(())
        })
        .await?;
    Ok(Json(ConnectionSaved {
        ok: true,
        settings: ConnectionView::from(&saved.dreamclass),
    }))
}

/// `POST /api/dreamclass/test`: what the connection test found, or why it failed.
#[derive(Serialize, TS)]
#[serde(untagged)]
pub enum ConnectionTest {
    Passed {
        #[ts(type = "true")]
        ok: bool,
        message: String,
        summary: ConnectionSummary,
    },
    Failed {
        #[ts(type = "false")]
        ok: bool,
        /// A stable code for the kind of failure.
        error: String,
        /// A sentence for the user that says what to do next.
        message: String,
    },
}

impl ConnectionTest {
    fn from_result(result: Result<ConnectionSummary, rollcall_dreamclass::ApiError>) -> Self {
        match result {
            Ok(summary) => Self::Passed {
                ok: true,
                message: summary.message.clone(),
                summary,
            },
            Err(e) => Self::Failed {
                ok: false,
                error: e.code().to_string(),
                message: e.to_string(),
            },
        }
    }
}

/// "Test connection": with a form, tests it without saving; without one, the saved settings.
pub async fn test_connection(
    State(state): State<AppState>,
    form: Option<Json<ConnectionForm>>,
) -> ApiResult<Json<ConnectionTest>> {
    let result = match form {
        Some(Json(form)) => {
            let current = state.settings.with(|s| s.dreamclass.clone());
            DreamClassClient::new(form.apply_to(current)?)
                .test_connection()
                .await
        }
        None => state.dreamclass.test_connection().await,
    };
    Ok(Json(ConnectionTest::from_result(result)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CheckRange {
    from: Option<String>,
    to: Option<String>,
}

/// "Check for missed changes": asks DreamClass for attendance in the gaps (or the given days).
pub async fn check_missed_changes(
    State(state): State<AppState>,
    body: Option<Json<CheckRange>>,
) -> ApiResult<Json<RecoveryReport>> {
    let range = body.map(|Json(r)| r).unwrap_or_default();
    let parse = |d: &str| {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| ApiError::bad_request("Dates must be written YYYY-MM-DD."))
    };
    let days = match (range.from.as_deref(), range.to.as_deref()) {
        (None, None) => None,
        (Some(from), Some(to)) => {
            let (from, to) = (parse(from)?, parse(to)?);
            if from > to {
                return Err(ApiError::bad_request(
                    "The first day must not be after the last.",
                ));
            }
            Some((from, to))
        }
        _ => {
            return Err(ApiError::bad_request(
                "Give both the first and the last day, or neither.",
            ))
        }
    };
    let report = state.dreamclass.check_for_missed_changes(days).await;
    Ok(Json(report))
}

#[derive(Deserialize)]
pub struct CategoryForm {
    category: Option<StatusCategory>,
    /// The school whose status it is (statuses are per school); without it, the school of
    /// the DreamClass API connection.
    #[serde(default)]
    tenant: Option<String>,
}

/// Corrects how a status counts (present, absent, late, excused, other); `null` undoes it.
pub async fn set_status_category(
    State(state): State<AppState>,
    person: Person,
    Path(status_id): Path<i64>,
    Json(form): Json<CategoryForm>,
) -> ApiResult<Json<Saved>> {
    let tenant = form.tenant.unwrap_or_else(|| {
        state
            .settings
            .with(|s| s.dreamclass.tenant.trim().to_string())
    });
    if !person.scope.allows(&tenant) {
        return Err(status_not_found());
    }
    let known = state
        .dreamclass
        .set_status_category(tenant, status_id, form.category)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                e.user_message(),
            )
        })?;
    if !known {
        return Err(status_not_found());
    }
    Ok(Json(Saved::OK))
}

/// A status this person cannot correct: not known (yet), or of a school they do not see
/// (answered alike, so that ids of other schools reveal nothing).
fn status_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "status_not_found",
        "Rollcall does not know this status yet. Connect to DreamClass first.",
    )
}
