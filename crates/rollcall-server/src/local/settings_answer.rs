//! How the local API answers a settings save: the typed body of a success, and the status
//! and sentence of each reason a save was refused.

use axum::http::StatusCode;
use serde::Serialize;
use ts_rs::TS;

use crate::error::ApiError;
use crate::settings::SettingsError;

/// `{"ok": true}`: the settings were saved and are in force.
#[derive(Debug, Serialize, TS)]
pub struct Saved {
    pub ok: bool,
}

impl Saved {
    pub const OK: Self = Self { ok: true };
}

impl From<SettingsError> for ApiError {
    fn from(e: SettingsError) -> Self {
        match e {
            SettingsError::Invalid(sentence) => ApiError::bad_request(sentence),
            SettingsError::SetAtStart(sentence) => {
                ApiError::new(StatusCode::CONFLICT, "set_at_start", sentence)
            }
            e @ SettingsError::NotSaved(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "settings_not_saved",
                e.to_string(),
            ),
        }
    }
}
