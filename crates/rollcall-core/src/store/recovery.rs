//! Reconciling one day of attendance as the DreamClass API lists it with what is stored: the
//! storage half of gap recovery (the DreamClass side fetches the lists and explains the
//! rules in `rollcall_dreamclass::recovery`).
//!
//! Invariant: the newest DreamClass timestamp wins, as for webhooks; a record listed as it is
//! stored is left alone, so reconciling twice applies each change once.

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
}

/// What reconciling one day did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
    pub kept_newer: usize,
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
            Some(change) => {
                if kind == AttendanceEventKind::Created {
                    counts.created += 1;
                } else {
                    counts.updated += 1;
                }
                changes.push(change);
            }
            None => counts.kept_newer += 1,
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
                Some(change) => {
                    counts.deleted += 1;
                    changes.push(change);
                }
                None => counts.kept_newer += 1,
            }
        }
    }
    Ok(counts)
}

/// Applies one recovered version unless the stored one is newer (newest event wins).
fn apply(
    tx: &Transaction<'_>,
    day: &ReconcileDay,
    stored: Option<&Stored>,
    kind: AttendanceEventKind,
    record: AttendanceRecord,
    now: i64,
) -> rusqlite::Result<Option<Change>> {
    let request_id = recovered_request_id(&record, kind == AttendanceEventKind::Deleted);
    if stored.is_some_and(|s| {
        (s.event_ts, s.request_id.as_str()) >= (day.version_ts, request_id.as_str())
    }) {
        return Ok(None);
    }
    apply_attendance_event(
        tx,
        &day.tenant,
        &request_id,
        day.version_ts,
        &AttendanceEvent { kind, record },
        ChangeSource::Recovered,
        now,
    )
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
