//! The schools this Rollcall receives (`crate::settings::schools`): `GET /api/schools` lists
//! them with their webhook URLs (never their secrets), `POST /api/schools` adds one,
//! `DELETE /api/schools/{id}` removes one and keeps its data, and
//! `POST /api/schools/{id}/purge` deletes what was kept of a removed school once its name is
//! typed, and `PUT /api/schools/{id}/dreamclass` sets the school's own DreamClass API token
//! (and address). Every change goes through the settings owner, which saves before it publishes, so
//! the webhook listener receives (or refuses) a school from the next delivery on, without a
//! restart.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use rollcall_core::KeyEncoding;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::auth::Person;
use crate::error::{ApiError, ApiResult};
use crate::settings::schools::{school_path, take_over_single_school, SchoolApi};
use crate::settings::{RemovedSchool, SchoolSettings, Settings, WebhookSettings};
use crate::state::AppState;
use rollcall_core::accounts::Role;

/// Where the window's backup download is (`care_api::download_backup`).
const BACKUP_URL: &str = "/api/backup";

/// Held by an addition and by a purge: a removed school added back while its data is being
/// purged would otherwise lose what it receives meanwhile. A static because the settings
/// owner's own lock is not reachable from here; one process serves one data folder.
static SCHOOLS_CHANGING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/schools", get(list).post(add))
        .route("/schools/{id}", delete(remove))
        .route("/schools/{id}/purge", post(purge))
        .route("/schools/{id}/dreamclass", put(set_api))
}

/// One school as the window shows it: never its secret, only whether it has one.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SchoolView {
    pub id: String,
    pub name: String,
    pub tenant: String,
    /// Its address on this computer's webhook listener.
    pub webhook_url: String,
    /// What to enter in DreamClass while a public address (tunnel) is online.
    pub public_webhook_url: Option<String>,
    pub secret_configured: bool,
    #[ts(type = "\"text\" | \"base64\"")]
    pub key_encoding: KeyEncoding,
    pub basic_auth_username: Option<String>,
    pub allow_unsigned: bool,
    /// Whether the school has its own DreamClass API token (never the token itself).
    pub api_token_configured: bool,
    /// Its own DreamClass API address; `null`: the one in Settings > DreamClass.
    pub api_base_url: Option<String>,
    /// Whether it has its own thresholds of reports and alerts (Settings > Thresholds).
    pub own_thresholds: bool,
}

/// A removed school whose data is kept until it is purged.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RemovedSchoolView {
    pub id: String,
    pub name: String,
    pub tenant: String,
}

/// `GET /api/schools`.
#[derive(Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SchoolList {
    pub schools: Vec<SchoolView>,
    pub removed_schools: Vec<RemovedSchoolView>,
    /// The backup download to offer before a purge; `null` when the data is in a PostgreSQL
    /// database, which is backed up with the database's own tools.
    pub backup_url: Option<String>,
}

/// `POST /api/schools` answers 201 with the school and what to do next.
#[derive(Debug, Serialize, TS)]
pub struct SchoolAdded {
    pub school: SchoolView,
    pub message: String,
}

/// `DELETE /api/schools/{id}`.
#[derive(Debug, Serialize, TS)]
pub struct SchoolRemoved {
    pub removed: RemovedSchoolView,
    pub message: String,
}

/// `POST /api/schools/{id}/purge`: how many rows were deleted.
#[derive(Debug, Serialize, TS)]
pub struct SchoolPurged {
    pub attendance: u64,
    pub changes: u64,
    pub deliveries: u64,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchoolForm {
    id: String,
    name: String,
    tenant: String,
    secret: Option<String>,
    #[serde(default)]
    key_encoding: KeyEncoding,
    basic_auth: Option<super::api::BasicAuthSettings>,
    /// The school's own DreamClass API token and address (both optional).
    api_token: Option<String>,
    api_base_url: Option<String>,
}

/// `PUT /api/schools/{id}/dreamclass`: `token` left out (or `null`) keeps the one saved, an
/// empty one removes it (the school is then served by Settings > DreamClass, if that names
/// its tenant); `baseUrl` empty or left out: the address in Settings > DreamClass.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchoolApiForm {
    token: Option<String>,
    base_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgeForm {
    confirm: String,
}

fn view(state: &AppState, school: &SchoolSettings) -> SchoolView {
    let webhook = &school.webhook;
    SchoolView {
        id: school.id.clone(),
        name: school.name.clone(),
        tenant: school.tenant.clone(),
        webhook_url: state.info.school_webhook_url(&school.id),
        public_webhook_url: state
            .tunnel
            .public_url()
            .map(|base| format!("{}{}", base.trim_end_matches('/'), school_path(&school.id))),
        secret_configured: webhook.secret.is_some(),
        key_encoding: webhook.key_encoding,
        basic_auth_username: webhook.basic_auth.as_ref().map(|b| b.username.clone()),
        allow_unsigned: webhook.allow_unsigned,
        api_token_configured: school.api.token.is_some(),
        api_base_url: school.api.base_url.clone(),
        own_thresholds: school.reports.is_some(),
    }
}

fn removed_view(school: &RemovedSchool) -> RemovedSchoolView {
    RemovedSchoolView {
        id: school.id.clone(),
        name: school.name.clone(),
        tenant: school.tenant.clone(),
    }
}

/// The backup to make before a purge, in one sentence.
fn backup_advice(state: &AppState) -> String {
    if state.info.database.is_some() {
        "Rollcall keeps its data in a PostgreSQL database here: back it up with the database's \
         own tools (pg_dump) before purging."
            .to_string()
    } else {
        format!(
            "Download a backup first from Settings > Data care > Download a backup \
             ({BACKUP_URL})."
        )
    }
}

pub async fn list(State(state): State<AppState>, person: Person) -> Json<SchoolList> {
    let settings = state.settings.current();
    // A person sees the schools they may see; removed ones and the backup are for those who
    // may purge.
    let administrator = person.role == Role::Administrator;
    Json(SchoolList {
        schools: settings
            .schools
            .iter()
            .filter(|s| person.scope.allows(&s.tenant))
            .map(|s| view(&state, s))
            .collect(),
        removed_schools: settings
            .removed_schools
            .iter()
            .filter(|_| administrator)
            .map(removed_view)
            .collect(),
        backup_url: (administrator && state.info.database.is_none())
            .then(|| BACKUP_URL.to_string()),
    })
}

fn conflict(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, message)
}

/// Adds a school, or takes back a removed one with the same id and tenant (its kept data is
/// still there). The first school added to a Rollcall of one school takes over that school's
/// webhook Secret and username where the form leaves them out, so DreamClass's deliveries to
/// the old address keep arriving while it is the only school.
pub async fn add(
    State(state): State<AppState>,
    body: Result<Json<SchoolForm>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<SchoolAdded>)> {
    let Json(form) = body.map_err(|_| {
        ApiError::bad_request(
            "The school was not understood. Send its id (for its web address, such as \
             north-primary), its name, its DreamClass tenant and the webhook Secret DreamClass \
             shows for it; optionally keyEncoding (text or base64) and basicAuth with a \
             username and password.",
        )
    })?;
    let (secret, basic_auth) = super::api::checked_credentials(form.secret, form.basic_auth)?;
    let api = school_api(SchoolApi::default(), form.api_token, form.api_base_url)?;
    let mut school = SchoolSettings {
        id: form.id.trim().to_string(),
        name: form.name.trim().to_string(),
        tenant: form.tenant.trim().to_string(),
        webhook: WebhookSettings {
            secret,
            key_encoding: form.key_encoding,
            basic_auth,
            allow_unsigned: false,
        },
        api,
        reports: None,
    };
    let _one_at_a_time = SCHOOLS_CHANGING.lock().await;
    let mut refusal = None;
    let mut took_over = false;
    let mut taken_back = false;
    let result = state
        .settings
        .update(|s| {
            let checked = add_to(s, &mut school).map(|(over, back)| {
                took_over = over;
                taken_back = back;
            });
            checked.map_err(|e| {
                let message = e.message.clone();
                refusal = Some(e);
                message
            })
        })
        .await;
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    let saved = result?;
    let added = saved
        .school(&school.id)
        .expect("the school just added is listed");
    let shown = view(&state, added);
    let address = shown
        .public_webhook_url
        .clone()
        .unwrap_or_else(|| shown.webhook_url.clone());
    let mut message = format!(
        "{} is received at {address}. Enter this address and its Secret in DreamClass (Settings \
         > Integrations > Webhooks) for {}.",
        added.name, added.name
    );
    if taken_back {
        message.push_str(" Its attendance kept since it was removed is still there.");
    }
    if took_over {
        message.push_str(&format!(
            " It took over the webhook Secret Rollcall had for its one school, so \
             deliveries to {} keep arriving while it is the only school.",
            crate::webhook::WEBHOOK_PATH
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(SchoolAdded {
            school: shown,
            message,
        }),
    ))
}

/// Puts `school` into the list, or refuses with the status and sentence to answer. Returns
/// whether it took over the single school's webhook Secret, and whether it takes back a
/// removed school.
fn add_to(s: &mut Settings, school: &mut SchoolSettings) -> Result<(bool, bool), ApiError> {
    if let Some(listed) = s.school(&school.id) {
        return Err(conflict(
            "school_exists",
            format!(
                "There is already a school with the id `{}` ({}). Choose another id, or remove \
                 that school first.",
                school.id, listed.name
            ),
        ));
    }
    if let Some(listed) = s.schools.iter().find(|l| l.tenant == school.tenant) {
        return Err(conflict(
            "tenant_taken",
            format!(
                "{} already receives the DreamClass tenant `{}`. Each school has its own \
                 tenant in DreamClass; check which one is meant.",
                listed.name, school.tenant
            ),
        ));
    }
    let removed = s
        .removed_schools
        .iter()
        .position(|r| r.id == school.id || r.tenant == school.tenant);
    let mut taken_back = false;
    if let Some(i) = removed {
        let kept = &s.removed_schools[i];
        if kept.id != school.id || kept.tenant != school.tenant {
            return Err(conflict(
                "removed_school_kept",
                format!(
                    "The removed school {} (id `{}`, tenant `{}`) still has its data kept. Add \
                     it back with that id and tenant, or purge it first.",
                    kept.name, kept.id, kept.tenant
                ),
            ));
        }
        s.removed_schools.remove(i);
        taken_back = true;
    }
    let single_secret = s.webhook.secret.clone();
    // Only a Secret taken over keeps DreamClass's deliveries to the old address verifying.
    let took_over = take_over_single_school(s, school)
        && single_secret.is_some()
        && school.webhook.secret == single_secret;
    if school.webhook.secret.is_none() && !school.webhook.allow_unsigned {
        return Err(ApiError::bad_request(format!(
            "Enter the webhook Secret that DreamClass shows for {} (Settings > Integrations > \
             Webhooks). Without it, no delivery to its address can be checked.",
            if school.name.is_empty() {
                "this school"
            } else {
                &school.name
            }
        )));
    }
    s.schools.push(school.clone());
    Ok((took_over, taken_back))
}

/// Stops receiving a school and keeps its data: its address refuses deliveries from the next
/// one on, and its attendance, change log and deliveries stay until it is purged.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<SchoolRemoved>> {
    let mut refusal = None;
    let result = state
        .settings
        .update(|s| {
            let Some(i) = s.schools.iter().position(|l| l.id == id) else {
                let e = not_listed(s, &id);
                let message = e.message.clone();
                refusal = Some(e);
                return Err(message);
            };
            let school = s.schools.remove(i);
            s.removed_schools.push(RemovedSchool {
                id: school.id,
                name: school.name,
                tenant: school.tenant,
            });
            Ok(())
        })
        .await;
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    let saved = result?;
    let removed = saved
        .removed_schools
        .iter()
        .find(|r| r.id == id)
        .expect("the school just removed is remembered");
    let message = format!(
        "{} is no longer received: DreamClass's deliveries to its address are refused. Its \
         attendance, change log and deliveries are kept; purge them in Settings > Schools when \
         they are no longer needed.",
        removed.name
    );
    Ok(Json(SchoolRemoved {
        removed: removed_view(removed),
        message,
    }))
}

/// `current` with what a form says of the token and the address (see [`SchoolApiForm`]), or
/// a 400 with a sentence for an address that is not one.
fn school_api(
    current: SchoolApi,
    token: Option<String>,
    base_url: Option<String>,
) -> Result<SchoolApi, ApiError> {
    let token = match token.map(|t| t.trim().to_string()) {
        None => current.token,
        Some(t) if t.is_empty() => None,
        Some(t) => Some(t),
    };
    let base_url = base_url
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    if let Some(url) = &base_url {
        let parsed = reqwest::Url::parse(url).ok();
        if !parsed.is_some_and(|u| matches!(u.scheme(), "https" | "http")) {
            return Err(ApiError::bad_request(format!(
                "\"{url}\" is not a web address. Enter the school's DreamClass API address, \
                 such as {}, or leave it empty to use the one in Settings > DreamClass.",
                rollcall_dreamclass::config::DEFAULT_BASE_URL
            )));
        }
    }
    Ok(SchoolApi { token, base_url })
}

/// Sets a school's own DreamClass API connection. Its names and missed changes are read with
/// it from then on (no restart).
pub async fn set_api(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<SchoolApiForm>, JsonRejection>,
) -> ApiResult<Json<SchoolView>> {
    let Json(form) = body.map_err(|_| {
        ApiError::bad_request(
            "The DreamClass connection was not understood. Send the school's API token              (\"token\") and, if it is not the usual one, its API address (\"baseUrl\").",
        )
    })?;
    let current = state.settings.current();
    let Some(school) = current.school(&id) else {
        return Err(not_listed(&current, &id));
    };
    let api = school_api(school.api.clone(), form.token, form.base_url)?;
    let saved = state
        .settings
        .update(|s| {
            let school = s
                .schools
                .iter_mut()
                .find(|l| l.id == id)
                .ok_or_else(|| format!("The school `{id}` is no longer listed."))?;
            school.api = api.clone();
            Ok(())
        })
        .await?;
    let school = saved.school(&id).expect("the school just saved is listed");
    Ok(Json(view(&state, school)))
}

/// Why no listed school has `id`: 409 when it was removed already, else 404.
fn not_listed(s: &Settings, id: &str) -> ApiError {
    match s.removed_schools.iter().find(|r| r.id == id) {
        Some(removed) => conflict(
            "school_removed",
            format!(
                "{} was removed already; its data is kept until it is purged.",
                removed.name
            ),
        ),
        None => unknown_school(id),
    }
}

fn unknown_school(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_school",
        format!(
            "There is no school `{id}` on this Rollcall. Settings > Schools lists each school \
             and each removed one."
        ),
    )
}

/// Deletes what was kept of a removed school (its attendance, change log and deliveries),
/// once the school's name is typed as confirmation. The rows go first, in one transaction;
/// the school is forgotten only after that, so a failure leaves it on offer to purge again.
pub async fn purge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<PurgeForm>, JsonRejection>,
) -> ApiResult<Json<SchoolPurged>> {
    let _one_at_a_time = SCHOOLS_CHANGING.lock().await;
    let settings = state.settings.current();
    if let Some(listed) = settings.school(&id) {
        return Err(conflict(
            "school_still_listed",
            format!(
                "{} is still received. Remove it first (its data is kept), then purge it.",
                listed.name
            ),
        ));
    }
    let Some(removed) = settings.removed_schools.iter().find(|r| r.id == id) else {
        return Err(unknown_school(&id));
    };
    let confirmed = body
        .ok()
        .is_some_and(|Json(form)| form.confirm.trim() == removed.name);
    if !confirmed {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "confirmation_required",
            format!(
                "To delete everything kept of {name}, type its name exactly as shown: {name}. \
                 Nothing was deleted. {}",
                backup_advice(&state),
                name = removed.name,
            ),
        ));
    }
    let purged = state
        .store
        .purge_school(&removed.tenant, &removed.id)
        .await?;
    state
        .settings
        .update(|s| {
            s.removed_schools.retain(|r| r.id != id);
            Ok(())
        })
        .await?;
    Ok(Json(SchoolPurged {
        attendance: purged.attendance,
        changes: purged.changes,
        deliveries: purged.deliveries,
        message: format!(
            "Everything kept of {} was deleted: {} attendance records, {} changes and {} \
             deliveries. Other schools were not touched.",
            removed.name, purged.attendance, purged.changes, purged.deliveries
        ),
    }))
}
