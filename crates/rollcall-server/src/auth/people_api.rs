//! People and the audit log, for administrators (the role table in [`super::roles`] keeps
//! everyone else out): add a person, change their role, schools or name, disable them, set a
//! new password, and read who did what.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rollcall_core::accounts::{Account, AccountWrite, AuditEntry, EndSessions, Role};
use rollcall_core::model::now_ms;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::guard::AuditNote;
use super::password;
use super::sign_in_api::{check_display_name, check_username};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/people", get(list).post(add))
        .route("/people/{id}", put(change))
        .route("/people/{id}/password", post(set_password))
        .route("/audit", get(audit_log))
}

/// One account as the People page shows it (never its password hash).
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PersonAccount {
    #[ts(type = "number")]
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The DreamClass tenants they see; `null`: every school.
    pub schools: Option<Vec<String>>,
    pub disabled: bool,
    /// Locked after too many wrong passwords until then (ms since the epoch).
    #[ts(type = "number | null")]
    pub locked_until: Option<i64>,
    #[ts(type = "number")]
    pub created_at: i64,
}

impl From<Account> for PersonAccount {
    fn from(a: Account) -> Self {
        let locked_until = a.locked_until.filter(|_| a.is_locked(now_ms()));
        Self {
            id: a.id,
            username: a.username,
            display_name: a.display_name,
            role: a.role,
            schools: a.schools,
            disabled: a.disabled,
            locked_until,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Serialize, TS)]
pub struct PeopleList {
    pub people: Vec<PersonAccount>,
}

/// A new person.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPerson {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    #[serde(default)]
    pub schools: Option<Vec<String>>,
    pub password: String,
}

/// What an administrator may change of a person (the username stays).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonChange {
    pub display_name: String,
    pub role: Role,
    #[serde(default)]
    pub schools: Option<Vec<String>>,
    pub disabled: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    pub password: String,
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    pub before: Option<i64>,
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, TS)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
}

/// `GET /api/people`.
async fn list(State(state): State<AppState>) -> ApiResult<Json<PeopleList>> {
    let people = state.store.accounts().await?;
    Ok(Json(PeopleList {
        people: people.into_iter().map(PersonAccount::from).collect(),
    }))
}

/// `POST /api/people`.
async fn add(
    State(state): State<AppState>,
    form: Result<Json<NewPerson>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(form) = form.map_err(|_| {
        ApiError::bad_request(
            "Give the new person a username, their name, a role (viewer, staff or \
             administrator), their schools or none for every school, and a first password.",
        )
    })?;
    let username = check_username(&form.username)?;
    let display_name = check_display_name(&form.display_name)?;
    let schools = check_schools(form.schools)?;
    password::check_new(&form.password, &username)?;
    let accounts = state.store.accounts().await?;
    if accounts.iter().any(|a| a.username == username) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "username_taken",
            format!("Someone already has the username {username}. Choose another one."),
        ));
    }
    let password_hash = password::hash(form.password, state.sign_in.config.password_cost).await?;
    let id = state
        .store
        .save_account(AccountWrite {
            id: None,
            username: username.clone(),
            display_name,
            role: form.role,
            schools: schools.clone(),
            password_hash,
            disabled: false,
            created_at: now_ms(),
        })
        .await?;
    let added = find(&state, id).await?;
    let note = format!(
        "added {username} as {} of {}",
        form.role.with_article(),
        schools_in_words(&schools)
    );
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, format!("/api/people/{id}"))],
        audited(Json(PersonAccount::from(added)), note),
    )
        .into_response())
}

/// `PUT /api/people/{id}`: role, schools, name, disabled. Disabling ends their sessions; the
/// last administrator who can sign in cannot be disabled or made anything else.
async fn change(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: Result<Json<PersonChange>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(form) = form.map_err(|_| {
        ApiError::bad_request(
            "Give the person's name, role (viewer, staff or administrator), schools (none for \
             every school) and whether the account is disabled.",
        )
    })?;
    let display_name = check_display_name(&form.display_name)?;
    let schools = check_schools(form.schools)?;
    let accounts = state.store.accounts().await?;
    let current = accounts
        .iter()
        .find(|a| a.id == id)
        .cloned()
        .ok_or_else(no_such_person)?;
    let stays_administrator = form.role == Role::Administrator && !form.disabled;
    let other_administrators = accounts
        .iter()
        .filter(|a| a.id != id && a.role == Role::Administrator && !a.disabled)
        .count();
    if !stays_administrator && other_administrators == 0 && current.role == Role::Administrator {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "last_administrator",
            format!(
                "{} is the only administrator left, so this would lock everyone out of the \
                 settings. Make someone else an administrator first.",
                current.display_name
            ),
        ));
    }
    let mut write = AccountWrite::from(&current);
    write.display_name = display_name;
    write.role = form.role;
    write.schools = schools.clone();
    write.disabled = form.disabled;
    state.store.save_account(write).await?;
    if form.disabled {
        state.store.end_sessions(EndSessions::OfAccount(id)).await?;
    }
    // Open streams of this person end now if what they may see changed.
    let _ = state.notices.send(crate::Notice::People);
    let note = format!(
        "{} is now {} of {}{}",
        current.username,
        form.role.with_article(),
        schools_in_words(&schools),
        if form.disabled { ", disabled" } else { "" }
    );
    Ok(audited(
        Json(PersonAccount::from(find(&state, id).await?)),
        note,
    ))
}

/// `POST /api/people/{id}/password`: a new password, which also lifts a lock and ends every
/// session of the account (a password thought stolen closes what it opened).
async fn set_password(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    form: Result<Json<NewPassword>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(form) =
        form.map_err(|_| ApiError::bad_request("Type the new password, then press Save."))?;
    let current = find(&state, id).await?;
    password::check_new(&form.password, &current.username)?;
    let mut write = AccountWrite::from(&current);
    write.password_hash = password::hash(form.password, state.sign_in.config.password_cost).await?;
    state.store.save_account(write).await?;
    let ended = state.store.end_sessions(EndSessions::OfAccount(id)).await?;
    let note = format!(
        "new password for {}, {ended} session(s) ended",
        current.username
    );
    Ok(audited(
        Json(PersonAccount::from(find(&state, id).await?)),
        note,
    ))
}

/// `GET /api/audit?before=&limit=`: newest first, 100 by default, at most 500.
async fn audit_log(
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    Ok(Json(AuditPage {
        entries: state.store.audit_log(query.before, limit).await?,
    }))
}

fn audited(body: impl IntoResponse, note: String) -> Response {
    let mut response = body.into_response();
    response.extensions_mut().insert(AuditNote(note));
    response
}

async fn find(state: &AppState, id: i64) -> ApiResult<Account> {
    state
        .store
        .accounts()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(no_such_person)
}

fn no_such_person() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_person",
        "There is no such person: they may have been removed. Reload the page.",
    )
}

/// `None` (every school) or a non-empty list of tenants.
fn check_schools(schools: Option<Vec<String>>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(list) = schools else {
        return Ok(None);
    };
    let mut tenants: Vec<String> = list.iter().map(|t| t.trim().to_string()).collect();
    tenants.sort();
    tenants.dedup();
    if tenants.is_empty() || tenants.iter().any(|t| t.is_empty() || t.len() > 100) {
        return Err(ApiError::bad_request(
            "Choose at least one school for this person, or every school.",
        ));
    }
    Ok(Some(tenants))
}

fn schools_in_words(schools: &Option<Vec<String>>) -> String {
    match schools {
        None => "every school".into(),
        Some(list) => list.join(", "),
    }
}
