//! Reconciling one day of attendance listed by the DreamClass API, on PostgreSQL. The rules
//! are rollcall-core's `store::recovery` (what counts as unchanged, which missing records are
//! deletions, the content-derived request ids and the version timestamp); this is their SQL,
//! run by the writer under its lock so recovered changes take their place in `seq` order.

use rollcall_core::envelope::{AttendanceEvent, AttendanceRecord};
use rollcall_core::model::{AttendanceRow, ChangeSource};
use rollcall_core::store::recovery::{
    is_webhook_since, recovered_request_id, recovered_version_ts, DayCounts, ReconcileDay,
};
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
        match apply(tx, day, stored.as_ref(), kind, record, now)? {
            Some(by_content) => {
                if kind == AttendanceEventKind::Created {
                    counts.created += 1;
                } else {
                    counts.updated += 1;
                }
                counts.decided_by_content += usize::from(by_content);
            }
            None => counts.kept_newer += 1,
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
            match apply(
                tx,
                day,
                Some(&stored),
                AttendanceEventKind::Deleted,
                record,
                now,
            )? {
                Some(by_content) => {
                    counts.deleted += 1;
                    counts.decided_by_content += usize::from(by_content);
                }
                None => counts.kept_newer += 1,
            }
        }
    }
    Ok(counts)
}

/// Applies one recovered version by core's rule (`recovered_version_ts`); `Some(by_content)`
/// when applied, `None` when the stored version stays.
fn apply(
    tx: &mut WriteTx<'_>,
    day: &ReconcileDay,
    stored: Option<&AttendanceRow>,
    kind: AttendanceEventKind,
    record: AttendanceRecord,
    now: i64,
) -> Result<Option<bool>, postgres::Error> {
    let request_id = recovered_request_id(&record, kind == AttendanceEventKind::Deleted);
    let decided = recovered_version_ts(
        stored.map(|s| (s.event_ts, s.request_id.as_str())),
        day.version_ts,
        &request_id,
        || {
            let last_seq = stored.expect("asked only about a stored version").last_seq;
            let origin = tx.query_opt(
                "SELECT source, recorded_at FROM changes WHERE seq = $1",
                &[&last_seq],
            )?;
            Ok(origin.is_some_and(|r| is_webhook_since(r.get(0), r.get(1), day.listening_since)))
        },
    )?;
    let Some((event_ts, by_content)) = decided else {
        return Ok(None);
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
    Ok(change.map(|_| by_content))
}
