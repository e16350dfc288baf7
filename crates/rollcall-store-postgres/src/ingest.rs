//! The ingest rules on PostgreSQL, inside the writer's transaction. The rules themselves
//! (duplicates by request id pinned to the body hash, newest timestamp wins, tombstones, what
//! a change records) are rollcall-core's (`store::ingest`); this file is their SQL.

use rollcall_core::envelope::AttendanceEvent;
use rollcall_core::model::{Change, ChangeSource};
use rollcall_core::store::ingest::{
    change_for, repeated_request, DeliveryLogEntry, StoredVersion,
};
use rollcall_core::store::{IngestOutcome, RejectedDelivery, VerifiedDelivery};
use rollcall_core::AttendanceEventKind;

use crate::write_tx::WriteTx;

pub fn apply_delivery(
    tx: &mut WriteTx<'_>,
    delivery: &VerifiedDelivery,
) -> Result<IngestOutcome, postgres::Error> {
    let envelope = &delivery.envelope;
    let seen: Option<String> = tx
        .query_opt(
            "SELECT content_sha256 FROM requests WHERE request_id = $1",
            &[&envelope.request_id],
        )?
        .map(|row| row.get(0));
    let outcome = match repeated_request(seen.as_deref(), &delivery.content_sha256) {
        Some(repeat) => repeat,
        None => {
            tx.execute(
                "INSERT INTO requests (request_id, content_sha256, first_seen) VALUES ($1, $2, $3)",
                &[
                    &envelope.request_id,
                    &delivery.content_sha256,
                    &delivery.received_at,
                ],
            )?;
            match &envelope.attendance {
                None => IngestOutcome::Ignored,
                Some(event) => match apply_attendance_event(
                    tx,
                    &envelope.tenant,
                    &envelope.request_id,
                    envelope.timestamp,
                    event,
                    ChangeSource::Webhook,
                    delivery.received_at,
                )? {
                    Some(change) => IngestOutcome::Applied(Box::new(change)),
                    None => IngestOutcome::Superseded,
                },
            }
        }
    };
    insert_delivery_log(
        tx,
        &DeliveryLogEntry {
            received_at: delivery.received_at,
            request_id: Some(&envelope.request_id),
            event_type: Some(&envelope.event_type),
            tenant: Some(&envelope.tenant),
            outcome: outcome.delivery_outcome(),
            status: outcome.http_status(),
            reason: outcome.reason(),
            body: &delivery.raw_body,
        },
    )?;
    Ok(outcome)
}

pub fn insert_delivery_log(
    tx: &mut WriteTx<'_>,
    entry: &DeliveryLogEntry<'_>,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO deliveries
             (received_at, request_id, event_type, tenant, outcome, status, reason, body, body_bytes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &entry.received_at,
            &entry.request_id,
            &entry.event_type,
            &entry.tenant,
            &entry.outcome.as_str(),
            &i64::from(entry.status),
            &entry.reason,
            &entry.kept_body(),
            &(entry.body.len() as i64),
        ],
    )?;
    Ok(())
}

pub fn log_rejected(
    tx: &mut WriteTx<'_>,
    rejected: &RejectedDelivery,
) -> Result<(), postgres::Error> {
    insert_delivery_log(tx, &DeliveryLogEntry::rejected(rejected))
}

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

/// Adds `by` to the running total `name`.
pub fn add_counter(tx: &mut WriteTx<'_>, name: &str, by: i64) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO counters (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value",
        &[&name, &by],
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
