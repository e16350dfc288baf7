//! Reconciling one day of attendance listed by the DreamClass API, on PostgreSQL. The rules
//! are rollcall-core's `store::recovery` (what counts as unchanged, which missing records are
//! deletions, the content-derived request ids and the version timestamp); this is their SQL,
//! run by the writer under its lock so recovered changes take their place in `seq` order.

use rollcall_core::envelope::{AttendanceEvent, AttendanceRecord};
use rollcall_core::model::{AttendanceRow, ChangeSource};
use rollcall_core::store::ingest::StoredVersion;
use rollcall_core::store::recovery::{recovered_request_id, DayCounts, ReconcileDay};
use rollcall_core::AttendanceEventKind;

use crate::ingest::apply_attendance_event;
use crate::queries::attendance_from_row;
use crate::write_tx::WriteTx;

const STORED_ONE: &str = "SELECT tenant, attendance_id, date, kind, class_id, course_id, \
    status_id, student_period_id, comment, deleted, event_ts, request_id, last_seq \
    FROM attendance WHERE tenant = $1 AND attendance_id = $2";

const STORED_DAY: &str = "SELECT tenant, attendance_id, date, kind, class_id, course_id, \
    status_id, student_period_id, comment, deleted, event_ts, request_id, last_seq \
    FROM attendance WHERE date = $1 AND tenant = $2 AND deleted = 0";

fn record_of(row: &AttendanceRow) -> AttendanceRecord {
    AttendanceRecord {
        id: row.attendance_id,
        date: row.date.clone(),
        kind: row.kind.clone(),
        class_id: row.class_id,
        course_id: row.course_id,
        status_id: row.status_id,
        student_period_id: row.student_period_id,
        comment: row.comment.clone(),
    }
}

pub fn reconcile_day(
    tx: &mut WriteTx<'_>,
    day: &ReconcileDay,
) -> Result<DayCounts, postgres::Error> {
    let mut counts = DayCounts::default();
    let now = rollcall_core::model::now_ms();
    for listed in &day.records {
        let stored = tx
            .query_opt(STORED_ONE, &[&day.tenant, &listed.id])?
            .map(|r| attendance_from_row(&r));
        let live = stored.as_ref().filter(|s| !s.deleted);
        let live_record = live.map(record_of);
        let record = listed.to_record(live_record.as_ref(), &day.lesson_kind);
        if live_record.as_ref() == Some(&record) {
            counts.unchanged += 1;
            continue;
        }
        let kind = if live.is_some() {
            AttendanceEventKind::Updated
        } else {
            AttendanceEventKind::Created
        };
        if apply(tx, day, stored.as_ref(), kind, record, now)? {
            if kind == AttendanceEventKind::Created {
                counts.created += 1;
            } else {
                counts.updated += 1;
            }
        } else {
            counts.kept_newer += 1;
        }
    }
    if day.check_deletions && (day.delete_lessons || day.delete_daily) {
        let missing: Vec<AttendanceRow> = tx
            .query(STORED_DAY, &[&day.date, &day.tenant])?
            .iter()
            .map(attendance_from_row)
            .filter(|s| {
                let lesson = s.kind == day.lesson_kind;
                !day.listed_ids.contains(&s.attendance_id)
                    && ((lesson && day.delete_lessons) || (!lesson && day.delete_daily))
            })
            .collect();
        for stored in missing {
            let record = record_of(&stored);
            if apply(
                tx,
                day,
                Some(&stored),
                AttendanceEventKind::Deleted,
                record,
                now,
            )? {
                counts.deleted += 1;
            } else {
                counts.kept_newer += 1;
            }
        }
    }
    Ok(counts)
}

/// Applies one recovered version unless the stored one is newer; true when applied.
fn apply(
    tx: &mut WriteTx<'_>,
    day: &ReconcileDay,
    stored: Option<&AttendanceRow>,
    kind: AttendanceEventKind,
    record: AttendanceRecord,
    now: i64,
) -> Result<bool, postgres::Error> {
    let request_id = recovered_request_id(&record, kind == AttendanceEventKind::Deleted);
    let version = stored.map(|s| StoredVersion {
        event_ts: s.event_ts,
        request_id: s.request_id.clone(),
        status_id: s.status_id,
        comment: s.comment.clone(),
        deleted: s.deleted,
    });
    if version
        .as_ref()
        .is_some_and(|s| !s.is_replaced_by(day.version_ts, &request_id))
    {
        return Ok(false);
    }
    Ok(apply_attendance_event(
        tx,
        &day.tenant,
        &request_id,
        day.version_ts,
        &AttendanceEvent { kind, record },
        ChangeSource::Recovered,
        now,
    )?
    .is_some())
}
