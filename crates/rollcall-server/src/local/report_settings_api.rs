//! The thresholds of reports and alerts, read and changed from Settings: saved in the
//! `[reports]` part of `rollcall.toml` and used at once by summaries, alerts and exports.
//! With `?school={id}`, one school's own (`[schools.reports]`): `PUT` gives the school its
//! own, `DELETE` takes it back to the installation's.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::Json;
use rollcall_core::reports::{LessonCutoff, ReportSettings};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{ApiError, ApiResult};
use crate::settings::Settings;
use crate::state::AppState;

/// `?school={id}`: one school's thresholds rather than the installation's.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SchoolQuery {
    school: Option<String>,
}

impl SchoolQuery {
    /// The school asked for, if any; 404 with a sentence when no listed school has that id.
    fn school(&self, settings: &Settings) -> ApiResult<Option<String>> {
        let Some(id) = self.school.as_deref().filter(|id| !id.is_empty()) else {
            return Ok(None);
        };
        match settings.school(id) {
            Some(school) => Ok(Some(school.id.clone())),
            None => Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "unknown_school",
                format!(
                    "No school has the id `{id}`. Choose one of the schools in Settings > Schools."
                ),
            )),
        }
    }
}

/// The thresholds as the API shows and takes them. The first three are required when saving,
/// so a save never leaves one half-changed; `chronicMinDays`, added later, keeps its saved
/// value when a caller leaves it out (the API always shows it); so do `absentDaysInRow` and
/// `lessonCutoff`, added after it.
#[derive(Debug, Serialize, Deserialize, TS)]
#[ts(rename = "ReportThresholds")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThresholdsBody {
    /// A share between 0 and 1 (0.1: absent from 10% of lessons or more).
    chronic_threshold: f64,
    absences_per_day: u32,
    term_days: u32,
    /// Days with records a student needs before chronic absence is judged ("too early to
    /// tell" before that).
    #[serde(default)]
    #[ts(optional)]
    chronic_min_days: Option<u32>,
    /// Absent school days in a row that raise an alert (2 to 30).
    #[serde(default)]
    #[ts(optional)]
    absent_days_in_row: Option<u32>,
    /// The time of day (`"09:30"`, the office's local time) after which lessons without
    /// attendance are "not taken yet" (05:00 to 20:00).
    #[serde(default)]
    #[ts(optional)]
    lesson_cutoff: Option<String>,
}

impl From<ReportSettings> for ThresholdsBody {
    fn from(s: ReportSettings) -> Self {
        Self {
            chronic_threshold: s.chronic_threshold,
            absences_per_day: s.absences_per_day,
            term_days: s.term_days,
            chronic_min_days: Some(s.chronic_min_days),
            absent_days_in_row: Some(s.absent_days_in_row),
            lesson_cutoff: Some(s.lesson_cutoff.to_string()),
        }
    }
}

impl ThresholdsBody {
    /// The settings this body asks for, `current`'s where it names none (`cutoff` is its
    /// `lessonCutoff`, read beforehand).
    fn into_settings(
        self,
        cutoff: Option<LessonCutoff>,
        current: &ReportSettings,
    ) -> ReportSettings {
        ReportSettings {
            chronic_threshold: self.chronic_threshold,
            absences_per_day: self.absences_per_day,
            term_days: self.term_days,
            chronic_min_days: self.chronic_min_days.unwrap_or(current.chronic_min_days),
            absent_days_in_row: self
                .absent_days_in_row
                .unwrap_or(current.absent_days_in_row),
            lesson_cutoff: cutoff.unwrap_or(current.lesson_cutoff),
        }
    }
}

/// `GET /api/settings/reports[?school=]`: the thresholds in force (of the school: its own, or
/// the installation's it uses).
pub async fn get(
    State(state): State<AppState>,
    Query(query): Query<SchoolQuery>,
) -> ApiResult<Json<ThresholdsBody>> {
    let settings = state.settings.current();
    let shown = match query.school(&settings)? {
        Some(id) => in_force(&settings, &id),
        None => settings.reports,
    };
    Ok(Json(shown.into()))
}

/// The thresholds school `id` uses.
fn in_force(settings: &Settings, id: &str) -> ReportSettings {
    settings
        .school(id)
        .and_then(|s| s.reports)
        .unwrap_or(settings.reports)
}

/// Thresholds saved, as now in force.
#[derive(Debug, Serialize, TS)]
pub struct ThresholdsSaved {
    ok: bool,
    settings: ThresholdsBody,
}

/// `PUT /api/settings/reports`: checks, saves to `rollcall.toml`, then applies. Nothing is
/// saved or applied when a value is refused.
pub async fn save(
    State(state): State<AppState>,
    Query(query): Query<SchoolQuery>,
    body: Result<Json<ThresholdsBody>, JsonRejection>,
) -> ApiResult<Json<ThresholdsSaved>> {
    let school = query.school(&state.settings.current())?;
    // Axum's own refusal is a developer's sentence in plain text; this one says what to send.
    let Json(body) = body.map_err(|_| {
        ApiError::bad_request(
            "The report settings were not understood. Give the chronic-absence threshold as a \
             share such as 0.1 for 10%, and the absences in one day and the term length as \
             whole numbers.",
        )
    })?;
    let cutoff = body
        .lesson_cutoff
        .as_deref()
        .map(LessonCutoff::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("The lesson cutoff {e}")))?;
    let for_school = school.clone();
    let saved = state
        .settings
        .update(move |s| {
            match for_school {
                Some(id) => {
                    let current = in_force(s, &id);
                    let school = s
                        .schools
                        .iter_mut()
                        .find(|l| l.id == id)
                        .ok_or_else(|| format!("The school `{id}` is no longer listed."))?;
                    school.reports = Some(body.into_settings(cutoff, &current));
                }
                None => s.reports = body.into_settings(cutoff, &s.reports),
            }
            Ok(())
        })
        .await?;
    let shown = match &school {
        Some(id) => in_force(&saved, id),
        None => saved.reports,
    };
    Ok(Json(ThresholdsSaved {
        ok: true,
        settings: shown.into(),
    }))
}

/// `DELETE /api/settings/reports?school={id}`: the school uses the installation's thresholds
/// again → the thresholds it now uses.
pub async fn use_default(
    State(state): State<AppState>,
    Query(query): Query<SchoolQuery>,
) -> ApiResult<Json<ThresholdsSaved>> {
    let Some(id) = query.school(&state.settings.current())? else {
        return Err(ApiError::bad_request(
            "Say which school goes back to the thresholds of every school (?school=its id).",
        ));
    };
    let for_school = id.clone();
    let saved = state
        .settings
        .update(move |s| {
            if let Some(school) = s.schools.iter_mut().find(|l| l.id == for_school) {
                school.reports = None;
            }
            Ok(())
        })
        .await?;
    Ok(Json(ThresholdsSaved {
        ok: true,
        settings: in_force(&saved, &id).into(),
    }))
}
