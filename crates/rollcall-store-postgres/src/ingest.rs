//! One attendance event applied on PostgreSQL (as recovery applies the versions it finds),
//! and the writer's running totals and log pruning. Webhook batches go through
//! [`crate::batch`]; the rules themselves are rollcall-core's (`store::ingest`).

use rollcall_core::envelope::AttendanceEvent;
use rollcall_core::model::{Change, ChangeSource};
use rollcall_core::store::ingest::{change_for, StoredVersion};
use rollcall_core::AttendanceEventKind;

use crate::write_tx::WriteTx;

/// Applies one attendance event if it is newer than what is stored. Returns the change it
/// made, or `None` when a newer event already decided the record. The caller holds the
/// write lock, so the change's `seq` is in commit order.
pub fn apply_attendance_event(
    tx: &mut WriteTx<'_>,
    tenant: &str,
    request_id: &str,
    event_ts: i64,
    event: &AttendanceEvent,
    source: ChangeSource,
    recorded_at: i64,
) -> Result<Option<Change>, postgres::Error> {
    let record = &event.record;
    let stored = tx
        .query_opt(
            "SELECT event_ts, request_id, status_id, comment, deleted
             FROM attendance WHERE tenant = $1 AND attendance_id = $2",
            &[&tenant, &record.id],
        )?
        .map(|r| StoredVersion {
            event_ts: r.get(0),
            request_id: r.get(1),
            status_id: r.get(2),
            comment: r.get(3),
            deleted: r.get::<_, i64>(4) != 0,
        });
    if stored
        .as_ref()
        .is_some_and(|s| !s.is_replaced_by(event_ts, request_id))
    {
        return Ok(None);
    }
    let deleted = event.kind == AttendanceEventKind::Deleted;
    let mut change = change_for(
        tenant,
        request_id,
        event_ts,
        event,
        source,
        recorded_at,
        stored,
    );
    let row = tx.query_one(
        "INSERT INTO changes
             (recorded_at, source, request_id, event_type, event_ts, tenant, attendance_id, date,
              kind, class_id, course_id, student_period_id, status_before, status_after,
              comment_before, comment_after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         RETURNING seq",
        &[
            &change.recorded_at,
            &change.source.as_str(),
            &change.request_id,
            &change.event_type,
            &change.event_ts,
            &change.tenant,
            &change.attendance_id,
            &change.date,
            &change.kind,
            &change.class_id,
            &change.course_id,
            &change.student_period_id,
            &change.status_before,
            &change.status_after,
            &change.comment_before,
            &change.comment_after,
        ],
    )?;
    change.seq = row.get(0);
    tx.execute(
        "INSERT INTO attendance
             (tenant, attendance_id, date, kind, class_id, course_id, status_id,
              student_period_id, comment, deleted, event_ts, request_id, last_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (tenant, attendance_id) DO UPDATE SET
             date = excluded.date, kind = excluded.kind, class_id = excluded.class_id,
             course_id = excluded.course_id, status_id = excluded.status_id,
             student_period_id = excluded.student_period_id, comment = excluded.comment,
             deleted = excluded.deleted, event_ts = excluded.event_ts,
             request_id = excluded.request_id, last_seq = excluded.last_seq",
        &[
            &tenant,
            &record.id,
            &record.date,
            &record.kind,
            &record.class_id,
            &record.course_id,
            &record.status_id,
            &record.student_period_id,
            &record.comment,
            &i64::from(deleted),
            &event_ts,
            &request_id,
            &change.seq,
        ],
    )?;
    Ok(Some(change))
}

/// Adds each `(name, by)` to its running total, in one statement.
pub fn add_counters(
    tx: &mut WriteTx<'_>,
    counters: &[(String, i64)],
) -> Result<(), postgres::Error> {
    if counters.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = counters.iter().map(|(n, _)| n.as_str()).collect();
    let values: Vec<i64> = counters.iter().map(|(_, v)| *v).collect();
    tx.execute(
        "INSERT INTO counters (name, value) SELECT * FROM UNNEST($1::text[], $2::bigint[])
         ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value",
        &[&names, &values],
    )?;
    Ok(())
}

/// Raises the value `name` to `value` if it is lower.
pub fn raise_counter(tx: &mut WriteTx<'_>, name: &str, value: i64) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO counters (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = GREATEST(counters.value, excluded.value)",
        &[&name, &value],
    )?;
    Ok(())
}

/// Deletes the oldest capped entries (rejected, conflict, duplicate) beyond `keep`.
pub fn prune_capped_log(tx: &mut WriteTx<'_>, keep: i64) -> Result<u64, postgres::Error> {
    tx.execute(
        "DELETE FROM deliveries
         WHERE outcome IN ('rejected', 'conflict', 'duplicate')
           AND seq <= (SELECT seq FROM deliveries
                       WHERE outcome IN ('rejected', 'conflict', 'duplicate')
                       ORDER BY seq DESC LIMIT 1 OFFSET $1)",
        &[&keep],
    )
}
