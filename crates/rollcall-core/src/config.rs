//! Settings from `rollcall.toml` in the data directory. Command-line flags and `ROLLCALL_*`
//! environment variables override them (the binaries apply those on top).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::reports::ReportSettings;
use crate::reports::{LessonCutoff, ThresholdProblem};
use crate::signature::KeyEncoding;

pub const CONFIG_FILE: &str = "rollcall.toml";
pub const DEFAULT_WEBHOOK_ADDR: &str = "127.0.0.1:8787";
pub const DEFAULT_UI_ADDR: &str = "127.0.0.1:8788";

/// The contents of `rollcall.toml`. Every setting is optional.
///
/// The `[dreamclass]` and `[tunnel]` parts are typed by the crates that own them: the server
/// reads the file as `FileConfig<ApiConfig, TunnelConfig>`, so one struct describes the whole
/// file. Readers that only need core's settings (the CLI's exports) keep those parts as
/// tables, the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig<DreamClass = toml::Table, Tunnel = toml::Table, Digest = toml::Table> {
    /// A district server's PostgreSQL database (`postgres://user@host/db`); without it,
    /// Rollcall keeps its data in SQLite in the data folder. Read at start only.
    pub database_url: Option<String>,
    pub webhook_addr: Option<SocketAddr>,
    pub ui_addr: Option<SocketAddr>,
    /// The Secret entered in DreamClass's Settings > Integrations.
    pub webhook_secret: Option<String>,
    pub key_encoding: Option<KeyEncoding>,
    /// `user:password`, the Username and Password entered in DreamClass.
    pub basic_auth: Option<String>,
    pub allow_unsigned: Option<bool>,
    /// Status ids that raise a desktop notification when a record changes to them.
    pub notify_status_ids: Option<Vec<i64>>,
    /// The DreamClass API connection (`[dreamclass]`: base_url, token, tenant, paths, …),
    /// read by the crate that talks to the API.
    pub dreamclass: Option<DreamClass>,
    /// How DreamClass reaches this computer (`[tunnel]`: provider = "bore", server = …).
    pub tunnel: Option<Tunnel>,
    /// Raw deliveries older than this many days are deleted (attendance and the change log are
    /// kept). `0` keeps them forever. Default: 365.
    pub delivery_retention_days: Option<u32>,
    /// The public base URL last shown to the user to enter in DreamClass; when the tunnel's
    /// URL differs, the window asks to update DreamClass.
    pub last_shown_public_url: Option<String>,
    /// The thresholds of reports and alerts (`[reports]`); missing ones are the defaults.
    pub reports: Option<ReportThresholds>,
    /// The daily e-mail digest (`[digest]`: recipients, send time, SMTP server), read by the
    /// server, which sends it.
    pub digest: Option<Digest>,
    /// Accepted deliveries are also sent on to this URL (another system the school feeds).
    pub forward_url: Option<String>,
    /// When set, forwarded deliveries are signed anew with it, as DreamClass signs.
    pub forward_secret: Option<String>,
    /// Several schools on one Rollcall (`[[schools]]`), each with its own webhook URL and
    /// secret. Without any, the webhook settings above are the single school's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schools: Vec<SchoolTable>,
    /// Schools removed from the list whose data is kept until it is purged
    /// (`[[removed_schools]]`: id, name, tenant; no secrets).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_schools: Vec<SchoolTable>,
}

/// One `[[schools]]` table: a school received at `/webhooks/dreamclass/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchoolTable {
    /// The school's part of its webhook URL: lower-case letters, digits and dashes.
    pub id: String,
    pub name: String,
    /// The DreamClass tenant its deliveries name in their envelope.
    pub tenant: String,
    pub webhook_secret: Option<String>,
    pub key_encoding: Option<KeyEncoding>,
    /// `user:password`.
    pub basic_auth: Option<String>,
    pub allow_unsigned: Option<bool>,
    /// The school's own DreamClass API token (each school's DreamClass account has its
    /// own); without one, the `[dreamclass]` connection serves the school if its tenant is
    /// this school's.
    pub dreamclass_token: Option<String>,
    /// The school's DreamClass API address, when not `[dreamclass]`'s `base_url`.
    pub dreamclass_base_url: Option<String>,
    /// The school's own thresholds (`[schools.reports]`, as `[reports]`); without them, the
    /// installation's `[reports]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reports: Option<ReportThresholds>,
}

/// `[reports]` in `rollcall.toml`: the school's thresholds for chronic absence and alerts.
/// Each may be left out; [`settings`](Self::settings) fills in the default and checks them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportThresholds {
    /// A share between 0 and 1: 0.1 means absent from 10% of lessons or more.
    pub chronic_threshold: Option<f64>,
    /// Absences in one day that raise an alert for a student.
    pub absences_per_day: Option<u32>,
    /// The length of the "current term", in days up to today.
    pub term_days: Option<u32>,
    /// Days with records a student needs before chronic absence is judged.
    pub chronic_min_days: Option<u32>,
    /// Absent school days in a row that raise an alert for a student.
    pub absent_days_in_row: Option<u32>,
    /// The time of day (`"09:30"`) after which lessons without attendance are "not taken yet".
    pub lesson_cutoff: Option<LessonCutoff>,
}

impl ReportThresholds {
    /// The thresholds to use: what the file says, the defaults for the rest. A value out of
    /// its limits is refused with a sentence naming the setting and what to write.
    pub fn settings(&self) -> Result<ReportSettings, ConfigError> {
        let defaults = ReportSettings::default();
        let settings = ReportSettings {
            chronic_threshold: self.chronic_threshold.unwrap_or(defaults.chronic_threshold),
            absences_per_day: self.absences_per_day.unwrap_or(defaults.absences_per_day),
            term_days: self.term_days.unwrap_or(defaults.term_days),
            chronic_min_days: self.chronic_min_days.unwrap_or(defaults.chronic_min_days),
            absent_days_in_row: self
                .absent_days_in_row
                .unwrap_or(defaults.absent_days_in_row),
            lesson_cutoff: self.lesson_cutoff.unwrap_or(defaults.lesson_cutoff),
        };
        settings.check().map_err(|problem| {
            ConfigError::Invalid(format!(
                "In the [reports] part of {CONFIG_FILE}, {key} = {value} is not possible: write \
                 {hint}, or remove the line to use the default.",
                key = problem.key(),
                value = problem_value(&problem),
                hint = problem.file_hint(),
            ))
        })?;
        Ok(settings)
    }

    /// Every threshold, as saved from the settings screen.
    pub fn from_settings(settings: &ReportSettings) -> Self {
        Self {
            chronic_threshold: Some(settings.chronic_threshold),
            absences_per_day: Some(settings.absences_per_day),
            term_days: Some(settings.term_days),
            chronic_min_days: Some(settings.chronic_min_days),
            absent_days_in_row: Some(settings.absent_days_in_row),
            lesson_cutoff: Some(settings.lesson_cutoff),
        }
    }
}

/// The value as it was written in the file.
fn problem_value(problem: &ThresholdProblem) -> String {
    match *problem {
        ThresholdProblem::ChronicThreshold(t) => t.to_string(),
        ThresholdProblem::AbsencesPerDay(n)
        | ThresholdProblem::TermDays(n)
        | ThresholdProblem::ChronicMinDays(n)
        | ThresholdProblem::AbsentDaysInRow(n) => n.to_string(),
        ThresholdProblem::LessonCutoff(t) => format!("\"{t}\""),
    }
}

impl<D, T, G> FileConfig<D, T, G> {
    /// The report and alert thresholds this file chooses (the defaults without `[reports]`).
    pub fn report_settings(&self) -> Result<ReportSettings, ConfigError> {
        self.reports.unwrap_or_default().settings()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("Rollcall could not read its settings file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("The settings file {path} has a mistake: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl FileConfig {
    /// Reads `rollcall.toml` from `data_dir`; a missing file means all defaults.
    pub fn load(data_dir: &Path) -> Result<Self, ConfigError> {
        let path = data_dir.join(CONFIG_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path,
                message: e.message().to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }
}

/// The platform's data directory for Rollcall: `~/.local/share/rollcall` on Linux,
/// `~/Library/Application Support/rollcall` on macOS, `%LOCALAPPDATA%\rollcall` on Windows.
pub fn default_data_dir() -> PathBuf {
    platform_data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("rollcall")
}

/// On Windows the local (not the roaming) application data: school PCs often have roaming
/// profiles or folder redirection, which copy or serve the roaming folder over the network at
/// logon and logoff, and a SQLite database with its write-ahead log must stay on a local disk
/// (a copied half-written pair is a corrupt database; a network share breaks its locking).
#[cfg(windows)]
fn platform_data_dir() -> Option<PathBuf> {
    dirs::data_local_dir()
}

#[cfg(not(windows))]
fn platform_data_dir() -> Option<PathBuf> {
    dirs::data_dir()
}

/// HTTP Basic credentials DreamClass sends with every request, when configured.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BasicAuth({}, <redacted>)", self.username)
    }
}

impl std::str::FromStr for BasicAuth {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => Ok(Self {
                username: user.to_string(),
                password: password.to_string(),
            }),
            _ => Err(ConfigError::Invalid(
                "The webhook username and password must be written as username:password, \
                 both not empty."
                    .into(),
            )),
        }
    }
}

impl BasicAuth {
    /// The exact `Authorization` header value DreamClass sends.
    pub fn header_value(&self) -> String {
        use base64::Engine;
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// Whether an `Authorization` header carries these credentials (constant time).
    pub fn accepts(&self, header: Option<&[u8]>) -> bool {
        use hmac::digest::Digest;
        // Comparing digests keeps the time independent of where the two values differ and of
        // the length of the guess.
        let expected = sha2::Sha256::digest(self.header_value().as_bytes());
        let given = sha2::Sha256::digest(header.unwrap_or_default());
        expected
            .iter()
            .zip(given.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_data_folder_is_the_platforms_own() {
        let dir = default_data_dir();
        assert_eq!(dir.file_name().unwrap(), "rollcall");
        #[cfg(not(windows))]
        assert_eq!(Some(dir.parent().unwrap()), dirs::data_dir().as_deref());
        // Local, never Roaming (`scripts/windows.sh` also checks where `serve` puts it under
        // Wine).
        #[cfg(windows)]
        {
            assert_eq!(
                Some(dir.parent().unwrap()),
                dirs::data_local_dir().as_deref()
            );
            assert_ne!(dirs::data_local_dir(), dirs::data_dir());
        }
    }

    #[test]
    fn missing_file_is_defaults_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(FileConfig::load(dir.path()).unwrap(), FileConfig::default());
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "webhook_secret = \"abc\"\nkey_encoding = \"base64\"\n",
        )
        .unwrap();
        let c = FileConfig::load(dir.path()).unwrap();
        assert_eq!(c.webhook_secret.as_deref(), Some("abc"));
        assert_eq!(c.key_encoding, Some(KeyEncoding::Base64));
        std::fs::write(dir.path().join(CONFIG_FILE), "webhok_secret = \"abc\"\n").unwrap();
        let err = FileConfig::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("webhok_secret"), "{err}");
    }

    #[test]
    fn report_thresholds_come_from_the_file_with_defaults_for_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = ReportSettings::default();
        assert_eq!(<FileConfig>::default().report_settings().unwrap(), defaults);
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[reports]\nchronic_threshold = 0.2\nterm_days = 120\nlesson_cutoff = \"8:45\"\n\
             absent_days_in_row = 4\n",
        )
        .unwrap();
        let settings = FileConfig::load(dir.path())
            .unwrap()
            .report_settings()
            .unwrap();
        assert_eq!(
            settings,
            ReportSettings {
                chronic_threshold: 0.2,
                absences_per_day: defaults.absences_per_day,
                term_days: 120,
                chronic_min_days: defaults.chronic_min_days,
                absent_days_in_row: 4,
                lesson_cutoff: LessonCutoff::at(8, 45).unwrap(),
            }
        );
        // What the settings screen saves reads back the same.
        let saved: FileConfig = FileConfig {
            reports: Some(ReportThresholds::from_settings(&settings)),
            ..Default::default()
        };
        let text = toml::to_string_pretty(&saved).unwrap();
        let read: FileConfig = toml::from_str(&text).unwrap();
        assert_eq!(read.report_settings().unwrap(), settings);
    }

    #[test]
    fn a_bad_report_threshold_is_a_sentence_naming_the_setting() {
        for (line, says) in [
            (
                "chronic_threshold = 10",
                "chronic_threshold = 10 is not possible: write a share between 0 and 1",
            ),
            (
                "absences_per_day = 0",
                "absences_per_day = 0 is not possible: write a whole number of 1 or more",
            ),
            (
                "term_days = 400",
                "term_days = 400 is not possible: write a whole number of days from 1 to 366",
            ),
            ("term_days = 0", "term_days = 0"),
            (
                "absent_days_in_row = 1",
                "absent_days_in_row = 1 is not possible: write a whole number of days from 2 to 30",
            ),
            (
                "lesson_cutoff = \"23:00\"",
                "lesson_cutoff = \"23:00\" is not possible: write a time between \"05:00\" and \"20:00\"",
            ),
        ] {
            let file: FileConfig = toml::from_str(&format!("[reports]\n{line}\n")).unwrap();
            let err = file.report_settings().unwrap_err().to_string();
            assert!(
                err.starts_with("In the [reports] part of rollcall.toml, "),
                "{err}"
            );
            assert!(err.contains(says), "{err}");
        }
        // A misspelt or negative setting is refused when the file is read.
        let dir = tempfile::tempdir().unwrap();
        for text in [
            "[reports]\nchronic_treshold = 0.1\n",
            "[reports]\nterm_days = -5\n",
            "[reports]\nlesson_cutoff = \"half past nine\"\n",
        ] {
            std::fs::write(dir.path().join(CONFIG_FILE), text).unwrap();
            let err = FileConfig::load(dir.path()).unwrap_err().to_string();
            assert!(err.contains("has a mistake"), "{err}");
        }
    }

    #[test]
    fn basic_auth_parses_and_compares() {
        let auth: BasicAuth = "office:pa:ss".parse().unwrap();
        assert_eq!(auth.password, "pa:ss");
        let header = auth.header_value();
        assert!(auth.accepts(Some(header.as_bytes())));
        assert!(!auth.accepts(Some(b"Basic b2ZmaWNlOnd yb25n")));
        assert!(!auth.accepts(None));
        assert!("nopassword".parse::<BasicAuth>().is_err());
        assert!(":x".parse::<BasicAuth>().is_err());
    }
}
