//! The DreamClass API client: authenticated GETs with timeouts, retries with backoff on
//! transient failures, a request-rate cap, and tolerant decoding.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use reqwest::{StatusCode, Url};
use serde_json::Value;
use ts_rs::TS;

use crate::config::ApiConfig;
use crate::decode::{self, ApiAttendance, ApiNamed, ApiSchoolPeriod, ApiStatus, ApiStudent};
use crate::error::{ApiError, Result};
use crate::rate::RateLimiter;

/// The longest wait between two tries of one request.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A cheap, cloneable handle on the API (one connection pool and one rate cap).
#[derive(Clone)]
pub struct DreamClassClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ApiConfig,
    base: Option<Url>,
    http: reqwest::Client,
    limiter: Option<RateLimiter>,
}

/// Which attendance list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttendanceList {
    /// Per lesson (`SESSION`).
    Lesson,
    /// Per day.
    Daily,
}

/// Attendance records as the API listed them.
#[derive(Debug, Clone)]
pub struct AttendanceAnswer {
    pub records: Vec<ApiAttendance>,
    /// Ids of items that could not be read in full (never taken for deleted records).
    pub unreadable_ids: Vec<i64>,
    /// Items without even an id.
    pub unreadable: usize,
    /// The answer says it is only part of the list (a page).
    pub partial: bool,
    /// When DreamClass produced the answer, by its own clock (the `Date` header), in
    /// milliseconds since the Unix epoch; this computer's clock if the header is missing.
    pub observed_at: i64,
}

/// What "Test connection" found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionSummary {
    pub school_period_id: i64,
    pub school_period_name: Option<String>,
    pub students: usize,
    pub classes: usize,
    pub courses: usize,
    pub statuses: Vec<String>,
    /// A sentence for the user.
    pub message: String,
}

impl DreamClassClient {
    /// A client for `config`. Never fails: a missing token or a bad address is reported by
    /// each call, in words for the user.
    pub fn new(config: ApiConfig) -> Self {
        let base = Url::parse(config.base_url.trim())
            .ok()
            .filter(|u| u.has_host());
        let http = reqwest::Client::builder()
            .timeout(config.timeout())
            .connect_timeout(config.timeout().min(Duration::from_secs(10)))
            .user_agent(concat!("Rollcall/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client with rustls builds");
        let limiter = RateLimiter::new(config.max_requests_per_second, config.burst);
        Self {
            inner: Arc::new(Inner {
                config,
                base,
                http,
                limiter,
            }),
        }
    }

    pub fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    pub async fn statuses(&self) -> Result<Vec<ApiStatus>> {
        let (list, _) = self.get_list(&self.config().paths.statuses, &[]).await?;
        Ok(list.items.iter().filter_map(decode::status).collect())
    }

    pub async fn school_periods(&self) -> Result<Vec<ApiSchoolPeriod>> {
        let (list, _) = self
            .get_list(&self.config().paths.school_periods, &[])
            .await?;
        Ok(list
            .items
            .iter()
            .filter_map(decode::school_period)
            .collect())
    }

    pub async fn students(&self, school_period_id: i64) -> Result<Vec<ApiStudent>> {
        let path = with_period(&self.config().paths.students, school_period_id);
        let (list, _) = self.get_list(&path, &[]).await?;
        Ok(list.items.iter().filter_map(decode::student).collect())
    }

    pub async fn classes(&self, school_period_id: i64) -> Result<Vec<ApiNamed>> {
        let path = with_period(&self.config().paths.classes, school_period_id);
        let (list, _) = self.get_list(&path, &[]).await?;
        Ok(list
            .items
            .iter()
            .filter_map(|v| decode::named(v, &["id", "classId"]))
            .collect())
    }

    pub async fn courses(&self) -> Result<Vec<ApiNamed>> {
        let (list, _) = self.get_list(&self.config().paths.courses, &[]).await?;
        Ok(list
            .items
            .iter()
            .filter_map(|v| decode::named(v, &["id", "courseId"]))
            .collect())
    }

    /// The school periods to read: the configured one, else those flagged current or whose
    /// dates overlap `from..=to`, else all of them.
    pub async fn periods_for(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ApiSchoolPeriod>> {
        if let Some(id) = self.config().school_period_id {
            return Ok(vec![ApiSchoolPeriod {
                id,
                name: None,
                start: None,
                end: None,
                current: None,
            }]);
        }
        let all = self.school_periods().await?;
        let dated: Vec<_> = all
            .iter()
            .filter(|p| (p.start.is_some() || p.end.is_some()) && p.overlaps(from, to))
            .cloned()
            .collect();
        if !dated.is_empty() {
            return Ok(dated);
        }
        let current: Vec<_> = all
            .iter()
            .filter(|p| p.current == Some(true))
            .cloned()
            .collect();
        if !current.is_empty() {
            return Ok(current);
        }
        Ok(all)
    }

    /// Attendance of the days `from..=to` in one school period.
    pub async fn attendance(
        &self,
        list: AttendanceList,
        school_period_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<AttendanceAnswer> {
        let paths = &self.config().paths;
        let (path, default_kind) = match list {
            AttendanceList::Lesson => (&paths.lesson_attendance, &paths.lesson_kind),
            AttendanceList::Daily => (&paths.daily_attendance, &paths.daily_kind),
        };
        let query = [
            (paths.period_param.as_str(), school_period_id.to_string()),
            (
                paths.from_param.as_str(),
                from.format("%Y-%m-%d").to_string(),
            ),
            (paths.to_param.as_str(), to.format("%Y-%m-%d").to_string()),
        ];
        let (list, observed_at) = self.get_list(path, &query).await?;
        let mut answer = AttendanceAnswer {
            records: Vec::with_capacity(list.items.len()),
            unreadable_ids: Vec::new(),
            unreadable: 0,
            partial: list.partial,
            observed_at,
        };
        for item in &list.items {
            match decode::attendance(item) {
                Some(mut record) => {
                    record.kind.get_or_insert_with(|| default_kind.clone());
                    answer.records.push(record);
                }
                None => match decode::attendance_id(item) {
                    Some(id) => answer.unreadable_ids.push(id),
                    None => answer.unreadable += 1,
                },
            }
        }
        Ok(answer)
    }

    /// Reads the school's statuses, students, classes and courses, and says what it found.
    pub async fn test_connection(&self) -> Result<ConnectionSummary> {
        let today = chrono::Local::now().date_naive();
        let statuses = self.statuses().await?;
        let periods = self.periods_for(today, today).await?;
        let period = periods
            .iter()
            .max_by_key(|p| (p.current == Some(true), p.start, p.id))
            .cloned()
            .ok_or_else(|| ApiError::BadResponse {
                url: self
                    .url_for(&self.config().paths.school_periods)
                    .to_string(),
                detail: "no school period is listed".into(),
            })?;
        let students = self.students(period.id).await?.len();
        let classes = self.classes(period.id).await?.len();
        let courses = self.courses().await?.len();
        let names: Vec<String> = statuses.into_iter().map(|s| s.name).collect();
        let period_words = period
            .name
            .as_deref()
            .map(|n| format!(" in {n}"))
            .unwrap_or_default();
        let message = format!(
            "Connected to DreamClass: {students} students, {classes} classes and {courses} \
             courses{period_words}; attendance statuses: {}.",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
        Ok(ConnectionSummary {
            school_period_id: period.id,
            school_period_name: period.name,
            students,
            classes,
            courses,
            statuses: names,
            message,
        })
    }

    fn url_for(&self, path: &str) -> String {
        let base = self.config().base_url.trim().trim_end_matches('/');
        format!("{base}/{}", path.trim_start_matches('/'))
    }

    /// GETs `path` and takes the list out of the answer, with DreamClass's time of answering.
    async fn get_list(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<(decode::ApiList, i64)> {
        let (value, observed_at, url) = self.get_json(path, query).await?;
        let list = decode::extract_list(value).ok_or_else(|| ApiError::BadResponse {
            url,
            detail: "no list in the answer".into(),
        })?;
        Ok((list, observed_at))
    }

    async fn get_json(&self, path: &str, query: &[(&str, String)]) -> Result<(Value, i64, String)> {
        let config = self.config();
        if !config.is_configured() {
            return Err(ApiError::NotConfigured);
        }
        if self.inner.base.is_none() {
            return Err(ApiError::BadAddress(config.base_url.clone()));
        }
        let url_text = self.url_for(path);
        let mut url =
            Url::parse(&url_text).map_err(|_| ApiError::BadAddress(config.base_url.clone()))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut attempt = 0;
        loop {
            let (result, retry_after) = self.try_once(&url, &url_text).await;
            match result {
                Ok(answer) => return Ok(answer),
                Err(e) if e.is_transient() && attempt < config.retries => {
                    let backoff = Duration::from_millis(config.retry_base_ms)
                        .saturating_mul(1 << attempt.min(16))
                        .max(retry_after.unwrap_or_default())
                        .min(MAX_BACKOFF);
                    tracing::debug!(url = %url_text, error = %e, ?backoff, "DreamClass call failed; trying again");
                    tokio::time::sleep(backoff).await;
                    attempt += 1;
                }
                Err(e) => {
                    tracing::info!(url = %url_text, code = e.code(), "DreamClass call failed");
                    return Err(e);
                }
            }
        }
    }

    async fn try_once(
        &self,
        url: &Url,
        url_text: &str,
    ) -> (Result<(Value, i64, String)>, Option<Duration>) {
        let config = self.config();
        if let Some(limiter) = &self.inner.limiter {
            limiter.acquire().await;
        }
        let sent_at = rollcall_core::model::now_ms();
        let response = self
            .inner
            .http
            .get(url.clone())
            .header(
                config.auth_header.as_str(),
                format!("{}{}", config.auth_prefix, config.token.trim()),
            )
            .header(config.tenant_header.as_str(), config.tenant.trim())
            .header("Accept", "application/json")
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return (Err(self.transport_error(&e, url)), None),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let observed_at = response
            .headers()
            .get("date")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
            .map(|d| d.timestamp_millis())
            .unwrap_or(sent_at);
        let error = match status {
            s if s.is_success() => None,
            StatusCode::UNAUTHORIZED => Some(ApiError::TokenRefused),
            StatusCode::FORBIDDEN => Some(ApiError::Forbidden {
                tenant: config.tenant.clone(),
            }),
            StatusCode::NOT_FOUND => Some(ApiError::NotFound {
                url: url_text.to_string(),
            }),
            StatusCode::TOO_MANY_REQUESTS => Some(ApiError::RateLimited),
            s if s.is_server_error() => Some(ApiError::Unavailable { status: s.as_u16() }),
            s => Some(ApiError::UnexpectedStatus {
                url: url_text.to_string(),
                status: s.as_u16(),
            }),
        };
        if let Some(error) = error {
            return (Err(error), retry_after);
        }
        let result = match response.bytes().await {
            Ok(body) => serde_json::from_slice::<Value>(&body)
                .map(|v| (v, observed_at, url_text.to_string()))
                .map_err(|e| ApiError::BadResponse {
                    url: url_text.to_string(),
                    detail: format!("not JSON: {e}"),
                }),
            Err(e) => Err(self.transport_error(&e, url)),
        };
        (result, None)
    }

    fn transport_error(&self, e: &reqwest::Error, url: &Url) -> ApiError {
        if e.is_timeout() {
            ApiError::TimedOut
        } else {
            ApiError::Unreachable {
                host: url.host_str().unwrap_or_default().to_string(),
            }
        }
    }
}

fn with_period(template: &str, school_period_id: i64) -> String {
    template.replace("{schoolPeriodId}", &school_period_id.to_string())
}
