//! Endpoints for the DreamClass API connection: names, "Test connection", "Check for missed
//! changes", status categories, and the connection settings.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rollcall_core::Scope;
use rollcall_dreamclass::{ApiConfig, DreamClassClient, StatusCategory};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::state::{secret_names, AppState};

/// Names of statuses, students, classes and courses (lists are empty until known).
pub async fn reference(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let reference = state.store.reference(&Scope::all()).await?;
    Ok(Json(
        serde_json::to_value(reference).map_err(ApiError::internal)?,
    ))
}

/// The connection's state and settings (the token is never sent back, only whether it is set).
pub async fn overview(State(state): State<AppState>) -> Json<Value> {
    let config = state.dreamclass_config.read().expect("config lock").clone();
    Json(json!({
        "state": state.dreamclass.state(),
        "settings": settings_view(&config),
    }))
}

fn settings_view(config: &ApiConfig) -> Value {
    json!({
        "baseUrl": config.base_url,
        "tenant": config.tenant,
        "authHeader": config.auth_header,
        "authPrefix": config.auth_prefix,
        "tenantHeader": config.tenant_header,
        "schoolPeriodId": config.school_period_id,
        "tokenConfigured": !config.token.trim().is_empty(),
    })
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

/// Saves the connection (in `rollcall.toml`, readable by this user only) and uses it at once.
pub async fn save_settings(
    State(state): State<AppState>,
    Json(form): Json<ConnectionForm>,
) -> ApiResult<Json<Value>> {
    let current = state.dreamclass_config.read().expect("config lock").clone();
    let config = form.apply_to(current)?;
    let mut table = toml::Table::try_from(&config).map_err(ApiError::internal)?;
    let store = state.secret_store.clone();
    let token = config.token.clone();
    crate::settings_file::update(&state.info.data_dir, move |file| {
        let kept = crate::state::keep_secrets(
            store.as_deref(),
            &[(
                secret_names::DREAMCLASS_TOKEN,
                Some(token.as_str()).filter(|t| !t.is_empty()),
            )],
        );
        if kept {
            table.remove("token");
        }
        file.dreamclass = Some(table);
        Ok(())
    })
    .await?;
    *state.dreamclass_config.write().expect("config lock") = config.clone();
    state.dreamclass.reconfigure(config.clone());
    Ok(Json(
        json!({ "ok": true, "settings": settings_view(&config) }),
    ))
}

/// "Test connection": with a form, tests it without saving; without one, the saved settings.
pub async fn test_connection(
    State(state): State<AppState>,
    form: Option<Json<ConnectionForm>>,
) -> ApiResult<Json<Value>> {
    let result = match form {
        Some(Json(form)) => {
            let current = state.dreamclass_config.read().expect("config lock").clone();
            DreamClassClient::new(form.apply_to(current)?)
                .test_connection()
                .await
        }
        None => state.dreamclass.test_connection().await,
    };
    Ok(Json(match result {
        Ok(summary) => json!({ "ok": true, "message": summary.message, "summary": summary }),
        Err(e) => json!({ "ok": false, "error": e.code(), "message": e.to_string() }),
    }))
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
) -> ApiResult<Json<Value>> {
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
    Ok(Json(
        serde_json::to_value(report).map_err(ApiError::internal)?,
    ))
}

#[derive(Deserialize)]
pub struct CategoryForm {
    category: Option<StatusCategory>,
}

/// Corrects how a status counts (present, absent, late, excused, other); `null` undoes it.
pub async fn set_status_category(
    State(state): State<AppState>,
    Path(status_id): Path<i64>,
    Json(form): Json<CategoryForm>,
) -> ApiResult<Json<Value>> {
    let known = state
        .dreamclass
        .set_status_category(status_id, form.category)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                e.user_message(),
            )
        })?;
    if !known {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "status_not_found",
            "Rollcall does not know this status yet. Connect to DreamClass first.",
        ));
    }
    Ok(Json(json!({ "ok": true })))
}
