//! How to reach the DreamClass API. Almost nothing about the API is published (see
//! `shared/dreamclass/CONTRACT.md`), so the address, the headers and every path are settings,
//! with the shapes seen in public integration code as defaults.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

pub const DEFAULT_BASE_URL: &str = "https://api.dreamclass.io/dreamclassapi/v1";

/// Days before a gap checked by default. Teachers mostly correct the current week's attendance
/// (a wrong mark noticed the next day, a note for last Tuesday handed in on Friday), so a gap
/// also checks the 7 days before it: a full school week and a weekend, whichever weekday the
/// gap began on. More would ask DreamClass for many unchanged days at every start.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 7;

/// The most `recovery_lookback_days` accepted: a month. Older corrections are rare, and a
/// "Check for missed changes" with chosen dates reaches them.
pub const MAX_LOOKBACK_DAYS: u32 = 31;

/// The DreamClass API connection. Every field has a default, so a settings file needs only
/// `token` and `tenant`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Where the API lives; the paths below are appended to it.
    pub base_url: String,
    /// The API token created in DreamClass.
    pub token: String,
    /// The header that carries the token.
    pub auth_header: String,
    /// Written before the token in that header (`"Bearer "`, or empty for a bare key).
    pub auth_prefix: String,
    /// The school's DreamClass domain, e.g. `my-school`: the `tenant` of its webhooks.
    pub tenant: String,
    /// The header that names the school.
    pub tenant_header: String,
    /// The school period (school year) to read; `None` finds the current one.
    pub school_period_id: Option<i64>,
    pub paths: ApiPaths,
    /// How long one request may take before it counts as timed out.
    pub timeout_ms: u64,
    /// How many times a request is tried again after a timeout, a lost connection or a
    /// server error (5xx, 429).
    pub retries: u32,
    /// The first wait before trying again; it doubles with each try.
    pub retry_base_ms: u64,
    /// The most requests per second sent on average (0 for no cap).
    pub max_requests_per_second: f64,
    /// How many requests may go at once before the average applies.
    pub burst: u32,
    /// After Rollcall was not listening, how many days before the gap are also asked for,
    /// so that corrections teachers made meanwhile to earlier days are recovered: 0 to 31,
    /// 0 for only the gap's own days. Read when Rollcall starts.
    #[serde(deserialize_with = "lookback_days")]
    pub recovery_lookback_days: u32,
}

/// `recovery_lookback_days`, refused with a sentence when out of its limits.
fn lookback_days<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let days = i64::deserialize(deserializer)?;
    u32::try_from(days)
        .ok()
        .filter(|d| *d <= MAX_LOOKBACK_DAYS)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "recovery_lookback_days = {days} is not possible: write a number of days from 0 \
                 (only the days Rollcall was not listening) to {MAX_LOOKBACK_DAYS}, or remove \
                 the line to use the default ({DEFAULT_LOOKBACK_DAYS})."
            ))
        })
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("base_url", &self.base_url)
            .field(
                "token",
                &if self.token.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("auth_header", &self.auth_header)
            .field("tenant", &self.tenant)
            .field("tenant_header", &self.tenant_header)
            .field("school_period_id", &self.school_period_id)
            .field("paths", &self.paths)
            .field("timeout_ms", &self.timeout_ms)
            .field("retries", &self.retries)
            .field("max_requests_per_second", &self.max_requests_per_second)
            .field("burst", &self.burst)
            .field("recovery_lookback_days", &self.recovery_lookback_days)
            .finish_non_exhaustive()
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.into(),
            token: String::new(),
            auth_header: "Authorization".into(),
            auth_prefix: "Bearer ".into(),
            tenant: String::new(),
            tenant_header: "tenant".into(),
            school_period_id: None,
            paths: ApiPaths::default(),
            timeout_ms: 15_000,
            retries: 3,
            retry_base_ms: 500,
            max_requests_per_second: 4.0,
            burst: 8,
            recovery_lookback_days: DEFAULT_LOOKBACK_DAYS,
        }
    }
}

impl ApiConfig {
    /// Whether enough is set to try the API at all.
    pub fn is_configured(&self) -> bool {
        !self.base_url.trim().is_empty() && !self.token.trim().is_empty()
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }
}

/// API paths, relative to the base URL. `{schoolPeriodId}` is replaced by the period's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiPaths {
    pub statuses: String,
    pub school_periods: String,
    pub students: String,
    pub classes: String,
    pub courses: String,
    pub daily_attendance: String,
    pub lesson_attendance: String,
    /// Query parameter names of the attendance lists.
    pub period_param: String,
    pub from_param: String,
    pub to_param: String,
    /// The `type` given to records of the lesson list that carry none.
    pub lesson_kind: String,
    /// The `type` given to records of the daily list that carry none.
    pub daily_kind: String,
}

impl Default for ApiPaths {
    fn default() -> Self {
        Self {
            statuses: "/students/attendance/status/list".into(),
            school_periods: "/curriculum/schoolperiods/list".into(),
            students: "/students/schoolperiod/{schoolPeriodId}/list".into(),
            classes: "/curriculum/schoolperiod/{schoolPeriodId}/classes".into(),
            courses: "/curriculum/courses/list".into(),
            daily_attendance: "/students/attendance/daily/list".into(),
            lesson_attendance: "/students/attendance/lesson/list".into(),
            period_param: "periodId".into(),
            from_param: "fromDate".into(),
            to_param: "toDate".into(),
            lesson_kind: "SESSION".into(),
            daily_kind: "DAILY".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settings_file_needs_only_token_and_tenant() {
        let c: ApiConfig = serde_json::from_str(r#"{"token":"t","tenant":"my-school"}"#).unwrap();
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        assert_eq!(c.paths.statuses, "/students/attendance/status/list");
        assert!(c.is_configured());
        assert!(!format!("{c:?}").contains("\"t\""));
        assert!(serde_json::from_str::<ApiConfig>(r#"{"tokn":"t"}"#).is_err());
    }

    /// `[dreamclass]` as written in rollcall.toml, read as the server reads it.
    fn from_toml(text: &str) -> Result<ApiConfig, String> {
        let file: rollcall_core::config::FileConfig = rollcall_core::config::FileConfig {
            dreamclass: Some(text.parse().unwrap()),
            ..Default::default()
        };
        ApiConfig::deserialize(file.dreamclass.unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn recovery_lookback_days_defaults_to_a_week_and_may_be_0_to_31() {
        assert_eq!(ApiConfig::default().recovery_lookback_days, 7);
        assert_eq!(
            from_toml("token = \"t\"\n").unwrap().recovery_lookback_days,
            crate::RecoveryOptions::default().lookback_days
        );
        for days in [0, 1, 7, 14, 31] {
            let c = from_toml(&format!("recovery_lookback_days = {days}\n")).unwrap();
            assert_eq!(c.recovery_lookback_days, days);
        }
        for (written, shown) in [("32", "32"), ("365", "365"), ("-1", "-1")] {
            let err = from_toml(&format!("recovery_lookback_days = {written}\n")).unwrap_err();
            assert!(
                err.contains(&format!("recovery_lookback_days = {shown} is not possible"))
                    && err.contains("from 0 (only the days Rollcall was not listening) to 31")
                    && err.contains("remove the line to use the default (7)"),
                "{err}"
            );
        }
        let err = from_toml("recovery_lookback_days = \"7\"\n").unwrap_err();
        assert!(err.contains("recovery_lookback_days"), "{err}");
        let err = from_toml("recovery_lookback_days = 2.5\n").unwrap_err();
        assert!(err.contains("recovery_lookback_days"), "{err}");
        // Saving the connection from the settings screen serialises the whole config back
        // into the table, so the value written in the file is kept.
        let c = from_toml("recovery_lookback_days = 3\n").unwrap();
        let saved = serde_json::to_value(&c).unwrap();
        assert_eq!(saved["recovery_lookback_days"], 3);
        assert_eq!(serde_json::from_value::<ApiConfig>(saved).unwrap(), c);
    }
}
