//! The rows Rollcall stores and shows, shared by the API, the live stream and the exports.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What became of one webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryOutcome {
    /// An attendance event that changed the stored record.
    Applied,
    /// A valid attendance event older than what is stored: recorded, changes nothing.
    Superseded,
    /// The same request id and content again: answered 200, changes nothing.
    Duplicate,
    /// A valid delivery of a type this app does not store (kept for later use).
    Ignored,
    /// The same request id with another content: refused and flagged as suspicious.
    Conflict,
    /// Refused before storage: bad signature, credentials, JSON or fields.
    Rejected,
}

impl DeliveryOutcome {
    pub const ALL: [DeliveryOutcome; 6] = [
        Self::Applied,
        Self::Superseded,
        Self::Duplicate,
        Self::Ignored,
        Self::Conflict,
        Self::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Superseded => "superseded",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
            Self::Conflict => "conflict",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// Outcomes anyone can provoke without knowing the secret in unbounded numbers (forged
    /// requests, replays of a seen request): their log is capped so a flood cannot fill the disk.
    pub fn is_capped(self) -> bool {
        matches!(self, Self::Rejected | Self::Conflict | Self::Duplicate)
    }
}

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ChangeSource {
    /// Received as a webhook.
    Webhook,
    /// Found through the DreamClass API after a gap in listening.
    Recovered,
}

impl ChangeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Recovered => "recovered",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "recovered" {
            Self::Recovered
        } else {
            Self::Webhook
        }
    }
}

/// One applied change of an attendance record: the live feed and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Monotonically increasing; the live stream's event id.
    pub seq: i64,
    /// When Rollcall stored it, milliseconds since the Unix epoch.
    pub recorded_at: i64,
    pub source: ChangeSource,
    pub request_id: String,
    pub event_type: String,
    /// DreamClass's timestamp of the event, milliseconds since the Unix epoch.
    pub event_ts: i64,
    pub tenant: String,
    pub attendance_id: i64,
    pub date: String,
    /// `SESSION` or a daily kind.
    pub kind: String,
    pub class_id: i64,
    pub course_id: i64,
    pub student_period_id: i64,
    /// `None` when the record did not exist or was deleted before.
    pub status_before: Option<i64>,
    /// `None` when the change deleted the record.
    pub status_after: Option<i64>,
    pub comment_before: Option<String>,
    pub comment_after: Option<String>,
}

/// The current state of one attendance record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AttendanceRow {
    pub tenant: String,
    pub attendance_id: i64,
    pub date: String,
    pub kind: String,
    pub class_id: i64,
    pub course_id: i64,
    pub status_id: i64,
    pub student_period_id: i64,
    pub comment: String,
    pub deleted: bool,
    pub event_ts: i64,
    pub request_id: String,
    pub last_seq: i64,
}

/// One entry of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRow {
    pub seq: i64,
    pub received_at: i64,
    pub request_id: Option<String>,
    pub event_type: Option<String>,
    pub tenant: Option<String>,
    pub outcome: DeliveryOutcome,
    /// The HTTP status Rollcall answered.
    pub status: u16,
    pub reason: Option<String>,
    /// The raw body as received (truncated for capped outcomes), lossily decoded as UTF-8.
    pub body: Option<String>,
    pub body_bytes: i64,
    /// When a refused delivery was verified again with the current secret (see
    /// [`crate::store::recheck`]); `None` for every other entry.
    pub rechecked_at: Option<i64>,
    /// What that re-check found.
    pub recheck: Option<crate::store::recheck::RecheckResult>,
}

/// How a status counts in reports and which colour it gets. DreamClass lets each school name
/// its statuses; the category is guessed from the name and the user can correct it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum StatusCategory {
    Present,
    Absent,
    Late,
    Excused,
    Other,
}

impl StatusCategory {
    pub const ALL: [StatusCategory; 5] = [
        Self::Present,
        Self::Absent,
        Self::Late,
        Self::Excused,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Present => "present",
            Self::Absent => "absent",
            Self::Late => "late",
            Self::Excused => "excused",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }
}

impl std::fmt::Display for StatusCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
