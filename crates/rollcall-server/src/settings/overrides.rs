//! Settings chosen by a flag or a `ROLLCALL_*` variable when Rollcall was started. They win
//! over `rollcall.toml` for this run, are never written to it, and cannot be changed from the
//! Settings screen (which says where they were set instead).

use serde::Serialize;
use ts_rs::TS;

use super::Settings;

/// A setting that a flag or variable can choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "OverriddenField")]
pub enum Field {
    WebhookSecret,
    KeyEncoding,
    BasicAuth,
    AllowUnsigned,
    DreamclassBaseUrl,
    DreamclassToken,
    DreamclassTenant,
    /// The whole tunnel: its provider and that provider's options come together.
    Tunnel,
}

impl Field {
    /// The setting in words, starting a sentence.
    fn label(self) -> &'static str {
        match self {
            Self::WebhookSecret => "The webhook Secret",
            Self::KeyEncoding => "How the Secret is read",
            Self::BasicAuth => "The webhook username and password",
            Self::AllowUnsigned => "Accepting unsigned deliveries",
            Self::DreamclassBaseUrl => "The DreamClass API address",
            Self::DreamclassToken => "The DreamClass API token",
            Self::DreamclassTenant => "The school's DreamClass domain",
            Self::Tunnel => "How DreamClass reaches this computer",
        }
    }

    fn same(self, a: &Settings, b: &Settings) -> bool {
        match self {
            Self::WebhookSecret => a.webhook.secret == b.webhook.secret,
            Self::KeyEncoding => a.webhook.key_encoding == b.webhook.key_encoding,
            Self::BasicAuth => a.webhook.basic_auth == b.webhook.basic_auth,
            Self::AllowUnsigned => a.webhook.allow_unsigned == b.webhook.allow_unsigned,
            Self::DreamclassBaseUrl => a.dreamclass.base_url == b.dreamclass.base_url,
            Self::DreamclassToken => a.dreamclass.token == b.dreamclass.token,
            Self::DreamclassTenant => a.dreamclass.tenant == b.dreamclass.tenant,
            Self::Tunnel => a.tunnel == b.tunnel,
        }
    }

    fn copy(self, from: &Settings, to: &mut Settings) {
        match self {
            Self::WebhookSecret => to.webhook.secret.clone_from(&from.webhook.secret),
            Self::KeyEncoding => to.webhook.key_encoding = from.webhook.key_encoding,
            Self::BasicAuth => to.webhook.basic_auth.clone_from(&from.webhook.basic_auth),
            Self::AllowUnsigned => to.webhook.allow_unsigned = from.webhook.allow_unsigned,
            Self::DreamclassBaseUrl => to.dreamclass.base_url.clone_from(&from.dreamclass.base_url),
            Self::DreamclassToken => to.dreamclass.token.clone_from(&from.dreamclass.token),
            Self::DreamclassTenant => to.dreamclass.tenant.clone_from(&from.dreamclass.tenant),
            Self::Tunnel => to.tunnel.clone_from(&from.tunnel),
        }
    }
}

/// Whether `by` names a flag or variable the person starting Rollcall can change (rather
/// than, say, the demo).
fn names_an_option(by: &str) -> bool {
    by.starts_with("ROLLCALL_") || by.starts_with("--")
}

/// One setting chosen at start, and by what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "SettingOverride")]
pub struct Override {
    pub field: Field,
    /// What set it: `ROLLCALL_WEBHOOK_SECRET`, `--secret or ROLLCALL_WEBHOOK_SECRET`, or
    /// `the demo`.
    pub by: String,
    /// "Set by … when Rollcall was started; change it there.", for the Settings screen.
    pub message: String,
}

/// The settings chosen at start (each at most once), and the values they were given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    list: Vec<Override>,
    /// The settings in force at start; only the chosen fields are read from it.
    values: Settings,
}

impl Overrides {
    /// Records that `field` was chosen by `by`; its value is taken from the settings given to [`Self::set_values`].
    pub fn add(&mut self, field: Field, by: impl Into<String>) {
        let by = by.into();
        let message = if names_an_option(&by) {
            format!("Set by {by} when Rollcall was started; change it there.")
        } else {
            format!("Set by {by} for this run; it cannot be changed here.")
        };
        self.list.retain(|o| o.field != field);
        self.list.push(Override { field, by, message });
    }

    /// Remembers the values the chosen fields have: those of `effective`.
    pub fn set_values(&mut self, effective: &Settings) {
        self.values = effective.clone();
    }

    pub fn list(&self) -> &[Override] {
        &self.list
    }

    pub fn get(&self, field: Field) -> Option<&Override> {
        self.list.iter().find(|o| o.field == field)
    }

    /// The settings in force: `saved` with the chosen fields replaced.
    pub fn apply(&self, saved: &Settings) -> Settings {
        let mut result = saved.clone();
        for o in &self.list {
            o.field.copy(&self.values, &mut result);
        }
        result
    }

    /// Refuses a change to a setting chosen at start: saving it would do nothing this run
    /// and surprise at the next, when the flag or variable is gone.
    pub(super) fn refuse_changes(&self, before: &Settings, after: &Settings) -> Result<(), String> {
        match self.list.iter().find(|o| !o.field.same(before, after)) {
            None => Ok(()),
            Some(o) if names_an_option(&o.by) => Err(format!(
                "{} was set by {} when Rollcall was started, so it cannot be changed here. \
                 Change it there and start Rollcall again.",
                o.field.label(),
                o.by
            )),
            Some(o) => Err(format!(
                "{} was set by {} for this run, so it cannot be changed here.",
                o.field.label(),
                o.by
            )),
        }
    }

    /// What the file should hold: `effective` with each chosen setting put back to `saved`.
    pub(super) fn without(&self, effective: &Settings, saved: &Settings) -> Settings {
        let mut result = effective.clone();
        for o in &self.list {
            o.field.copy(saved, &mut result);
        }
        result
    }
}
