//! Reconciling one day of attendance as the DreamClass API lists it with what is stored: the
//! storage half of gap recovery (the DreamClass side fetches the lists and explains the
//! rules in `rollcall_dreamclass::recovery`).
//!
//! Invariant: the newest DreamClass timestamp wins, as for webhooks; a record listed as it is
//! stored is left alone, so reconciling twice applies each change once.
//!
//! Where the timestamps cannot order a listed version against the stored one (the stored
//! version is dated at or after [`ReconcileDay::version_ts`], e.g. a webhook received a second
//! before Rollcall stopped), the content decides:
//! - the stored version came from a webhook received since [`ReconcileDay::listening_since`]
//!   (Rollcall was listening, so any later change comes by webhook too): it is kept and counted
//!   in [`DayCounts::kept_newer`];
//! - otherwise nothing Rollcall received since it started again explains the difference, so
//!   the listed version is taken, dated one millisecond after the version it replaces (a later
//!   webhook still wins), and counted in [`DayCounts::decided_by_content`] as well as in
//!   created/updated/deleted. The caller checks again once DreamClass's list has settled.

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension, Row, Transaction};
use sha2::{Digest, Sha256};

use super::ingest::apply_attendance_event;
use super::queries::{attendance_from_row, ATTENDANCE_COLUMNS};
use crate::envelope::{AttendanceEvent, AttendanceEventKind, AttendanceRecord};
use crate::model::{AttendanceRow, Change, ChangeSource};

/// An attendance record as an API list gives it: fields it leaves out are taken from the
/// stored version (or defaults) when reconciling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedAttendance {
    pub id: i64,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub kind: Option<String>,
    pub class_id: Option<i64>,
    pub course_id: Option<i64>,
    pub status_id: i64,
    pub student_period_id: i64,
    pub comment: Option<String>,
}

impl ListedAttendance {
    /// The full record: this listing, completed from what is stored. The stored kind wins,
    /// then the listed one, then `default_kind` (the list's own kind).
    pub fn to_record(
        &self,
        stored: Option<&AttendanceRecord>,
        default_kind: &str,
    ) -> AttendanceRecord {
        AttendanceRecord {
            id: self.id,
            date: self.date.clone(),
            kind: stored
                .map(|s| s.kind.clone())
                .or_else(|| self.kind.clone())
                .unwrap_or_else(|| default_kind.to_string()),
            class_id: self.class_id.or(stored.map(|s| s.class_id)).unwrap_or(0),
            course_id: self.course_id.or(stored.map(|s| s.course_id)).unwrap_or(0),
            status_id: self.status_id,
            student_period_id: self.student_period_id,
            comment: self
                .comment
                .clone()
                .or_else(|| stored.map(|s| s.comment.clone()))
                .unwrap_or_default(),
        }
    }
}

/// One day to reconcile and the rules of the check it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileDay {
    pub tenant: String,
    /// The event timestamp every recovered version gets.
    pub version_ts: i64,
    pub lesson_kind: String,
    /// Every id the API listed (even unreadable ones), over all days checked: a record that
    /// moved to another day is not a deleted one.
    pub listed_ids: HashSet<i64>,
    /// Whether stored lessons (daily records) missing from the lists become deletions; only
    /// ever true for complete lists.
    pub delete_lessons: bool,
    pub delete_daily: bool,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub records: Vec<ListedAttendance>,
    /// Whether this day is inside the checked range (deletions are only concluded there).
    pub check_deletions: bool,
    /// When Rollcall started listening this run, by this computer's clock (ms since the
    /// epoch). A stored version from a webhook received at or after it is never replaced by a
    /// listed version the timestamps cannot order; one received before it (or a recovered
    /// one) is (see the module documentation).
    pub listening_since: i64,
}

/// What reconciling one day did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
    /// Stored versions kept because a webhook received since `listening_since` holds them
    /// and the timestamps do not show the list to be newer.
    pub kept_newer: usize,
    /// Of created + updated + deleted: listed versions taken although the timestamps could not
    /// order them against the stored one (see the module documentation). Non-zero means the
    /// caller should check these days again later.
    pub decided_by_content: usize,
}

/// The request id of a recovered version: the same content always gets the same id.
pub fn recovered_request_id(record: &AttendanceRecord, deleted: bool) -> String {
    let content = format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
        record.date,
        record.kind,
        record.class_id,
        record.course_id,
        record.status_id,
        record.student_period_id,
        record.comment,
        deleted
    );
    let hash = hex::encode(&Sha256::digest(content.as_bytes())[..8]);
    format!("recovered:{}:{hash}", record.id)
}

struct Stored {
    record: AttendanceRecord,
    deleted: bool,
    event_ts: i64,
    request_id: String,
    last_seq: i64,
}

impl From<AttendanceRow> for Stored {
    fn from(row: AttendanceRow) -> Self {
        Self {
            record: AttendanceRecord {
                id: row.attendance_id,
                date: row.date,
                kind: row.kind,
                class_id: row.class_id,
                course_id: row.course_id,
                status_id: row.status_id,
                student_period_id: row.student_period_id,
                comment: row.comment,
            },
            deleted: row.deleted,
            event_ts: row.event_ts,
            request_id: row.request_id,
            last_seq: row.last_seq,
        }
    }
}

fn stored_from_row(r: &Row<'_>) -> rusqlite::Result<Stored> {
    attendance_from_row(r).map(Stored::from)
}

/// Applies one day's listed records (and, where allowed, the deletion of stored ones the
/// lists no longer have), pushing every applied change.
pub fn reconcile_day(
    tx: &Transaction<'_>,
    day: &ReconcileDay,
    changes: &mut Vec<Change>,
) -> rusqlite::Result<DayCounts> {
    let mut counts = DayCounts::default();
    let now = crate::model::now_ms();
    for listed in &day.records {
        let stored: Option<Stored> = tx
            .prepare_cached(&format!(
                "SELECT {ATTENDANCE_COLUMNS} FROM attendance WHERE tenant = ?1 AND attendance_id = ?2"
            ))?
            .query_row(params![day.tenant, listed.id], stored_from_row)
            .optional()?;
        let live = stored.as_ref().filter(|s| !s.deleted);
        // The client gives every listed record its list's kind when it has none.
        let record = listed.to_record(live.map(|s| &s.record), &day.lesson_kind);
        if live.is_some_and(|s| s.record == record) {
            counts.unchanged += 1;
            continue;
        }
        let kind = if live.is_some() {
            AttendanceEventKind::Updated
        } else {
            AttendanceEventKind::Created
        };
        match apply(tx, day, stored.as_ref(), kind, record, now)? {
            Applied::Change(change, by_content) => {
                if kind == AttendanceEventKind::Created {
                    counts.created += 1;
                } else {
                    counts.updated += 1;
                }
                counts.decided_by_content += usize::from(by_content);
                changes.push(*change);
            }
            Applied::Kept => counts.kept_newer += 1,
        }
    }
    if day.check_deletions && (day.delete_lessons || day.delete_daily) {
        let missing: Vec<Stored> = tx
            .prepare_cached(&format!(
                "SELECT {ATTENDANCE_COLUMNS} FROM attendance
                 WHERE date = ?1 AND tenant = ?2 AND deleted = 0"
            ))?
            .query_map(params![day.date, day.tenant], stored_from_row)?
            .filter(|s| match s {
                Ok(s) => {
                    let lesson = s.record.kind == day.lesson_kind;
                    !day.listed_ids.contains(&s.record.id)
                        && ((lesson && day.delete_lessons) || (!lesson && day.delete_daily))
                }
                Err(_) => true,
            })
            .collect::<rusqlite::Result<_>>()?;
        for stored in missing {
            let record = stored.record.clone();
            match apply(
                tx,
                day,
                Some(&stored),
                AttendanceEventKind::Deleted,
                record,
                now,
            )? {
                Applied::Change(change, by_content) => {
                    counts.deleted += 1;
                    counts.decided_by_content += usize::from(by_content);
                    changes.push(*change);
                }
                Applied::Kept => counts.kept_newer += 1,
            }
        }
    }
    Ok(counts)
}

/// What became of one listed version.
enum Applied {
    /// It was applied; `true` when the content decided (the timestamps could not).
    Change(Box<Change>, bool),
    /// The stored version stays.
    Kept,
}

/// Applies one recovered version: at the check's timestamp when that is newer than the
/// stored version, else by content unless a webhook received this run holds the record.
fn apply(
    tx: &Transaction<'_>,
    day: &ReconcileDay,
    stored: Option<&Stored>,
    kind: AttendanceEventKind,
    record: AttendanceRecord,
    now: i64,
) -> rusqlite::Result<Applied> {
    let request_id = recovered_request_id(&record, kind == AttendanceEventKind::Deleted);
    let Some((event_ts, by_content)) = recovered_version_ts(
        stored.map(|s| (s.event_ts, s.request_id.as_str())),
        day.version_ts,
        &request_id,
        || {
            received_this_run(
                tx,
                stored.expect("asked only about a stored version"),
                day.listening_since,
            )
        },
    )?
    else {
        return Ok(Applied::Kept);
    };
    let change = apply_attendance_event(
        tx,
        &day.tenant,
        &request_id,
        event_ts,
        &AttendanceEvent { kind, record },
        ChangeSource::Recovered,
        now,
    )?;
    Ok(match change {
        Some(change) => Applied::Change(Box::new(change), by_content),
        None => Applied::Kept,
    })
}

/// The rule every store applies to one listed version (see the module documentation): the
/// timestamp to apply it at and whether the content decided, or `None` to keep the stored
/// version. `stored` is the stored version's (`event_ts`, request id); `received_this_run`
/// says whether it came from a webhook received since listening began (asked only when the
/// timestamps cannot decide).
pub fn recovered_version_ts<E>(
    stored: Option<(i64, &str)>,
    version_ts: i64,
    request_id: &str,
    received_this_run: impl FnOnce() -> Result<bool, E>,
) -> Result<Option<(i64, bool)>, E> {
    match stored {
        Some((event_ts, stored_id)) if (event_ts, stored_id) >= (version_ts, request_id) => {
            if received_this_run()? {
                return Ok(None);
            }
            // Just after the version it replaces: a later webhook still beats it.
            Ok(Some((event_ts.saturating_add(1), true)))
        }
        _ => Ok(Some((version_ts, false))),
    }
}

/// Whether the change that wrote a stored version (its source and when it was recorded) was
/// a webhook received at or after `since`.
pub fn is_webhook_since(source: &str, recorded_at: i64, since: i64) -> bool {
    source == ChangeSource::Webhook.as_str() && recorded_at >= since
}

/// Whether the stored version came from a webhook received at or after `since`: the change
/// that wrote it says where it came from and when it was recorded.
fn received_this_run(tx: &Transaction<'_>, stored: &Stored, since: i64) -> rusqlite::Result<bool> {
    let origin: Option<(String, i64)> = tx
        .prepare_cached("SELECT source, recorded_at FROM changes WHERE seq = ?1")?
        .query_row([stored.last_seq], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(origin.is_some_and(|(source, recorded_at)| is_webhook_since(&source, recorded_at, since)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_follow_the_content() {
        let r = AttendanceRecord {
            id: 52,
            date: "2025-06-19".into(),
            kind: "SESSION".into(),
            class_id: 34,
            course_id: 40,
            status_id: 5,
            student_period_id: 4,
            comment: String::new(),
        };
        let a = recovered_request_id(&r, false);
        assert!(a.starts_with("recovered:52:"), "{a}");
        assert_eq!(a, recovered_request_id(&r.clone(), false));
        assert_ne!(a, recovered_request_id(&r, true));
        let other = AttendanceRecord { status_id: 1, ..r };
        assert_ne!(a, recovered_request_id(&other, false));
    }
}
