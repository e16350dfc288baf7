//! Group commit, set-based: a whole batch of verified deliveries is decided in memory and
//! written with a fixed handful of statements (arrays through `UNNEST`), whatever its size.
//! On PostgreSQL each statement is a round trip, so a per-delivery statement sequence would
//! cost more than the commit that group commit saves.
//!
//! The decisions are rollcall-core's (`repeated_request`, `StoredVersion::is_replaced_by`,
//! `change_for`), taken in arrival order against the stored state overlaid with what earlier
//! deliveries of the same batch did, so a batch decides exactly as one delivery at a time
//! would. The writer holds the write lock, so the batch's `seq` range is commit-ordered.

use std::collections::HashMap;

use rollcall_core::model::{Change, ChangeSource};
use rollcall_core::store::ingest::{change_for, repeated_request, DeliveryLogEntry, StoredVersion};
use rollcall_core::store::{IngestOutcome, RejectedDelivery, VerifiedDelivery};
use rollcall_core::AttendanceEventKind;

use crate::write_tx::WriteTx;

/// A delivery's outcome before the batch's sequence numbers are known.
enum Decided {
    Done(IngestOutcome),
    /// Applied: the index of its change in the batch.
    Applied(usize),
}

/// The final state of one record after the batch.
struct RecordWrite<'a> {
    delivery: &'a VerifiedDelivery,
    deleted: bool,
    change: usize,
}

/// Decides and writes `deliveries` (and logs `rejected`) in the caller's transaction.
pub fn apply(
    tx: &mut WriteTx<'_>,
    deliveries: &[&VerifiedDelivery],
    rejected: &[RejectedDelivery],
) -> Result<Vec<IngestOutcome>, postgres::Error> {
    let mut seen = stored_request_hashes(tx, deliveries)?;
    let mut versions = stored_versions(tx, deliveries)?;
    let mut decided = Vec::with_capacity(deliveries.len());
    let mut new_requests: Vec<&VerifiedDelivery> = Vec::new();
    let mut changes: Vec<Change> = Vec::new();
    let mut writes: HashMap<(String, i64), RecordWrite<'_>> = HashMap::new();
    for &delivery in deliveries {
        let envelope = &delivery.envelope;
        let outcome = match repeated_request(
            seen.get(&envelope.request_id).map(String::as_str),
            &delivery.content_sha256,
        ) {
            Some(repeat) => Decided::Done(repeat),
            None => {
                seen.insert(envelope.request_id.clone(), delivery.content_sha256.clone());
                new_requests.push(delivery);
                match &envelope.attendance {
                    None => Decided::Done(IngestOutcome::Ignored),
                    Some(event) => {
                        let key = (envelope.tenant.clone(), event.record.id);
                        let stored = versions.remove(&key);
                        if stored.as_ref().is_some_and(|s| {
                            !s.is_replaced_by(envelope.timestamp, &envelope.request_id)
                        }) {
                            versions.insert(key, stored.expect("checked above"));
                            Decided::Done(IngestOutcome::Superseded)
                        } else {
                            let deleted = event.kind == AttendanceEventKind::Deleted;
                            let change = change_for(
                                &envelope.tenant,
                                &envelope.request_id,
                                envelope.timestamp,
                                event,
                                ChangeSource::Webhook,
                                delivery.received_at,
                                stored,
                            );
                            versions.insert(
                                key.clone(),
                                StoredVersion {
                                    event_ts: envelope.timestamp,
                                    request_id: envelope.request_id.clone(),
                                    status_id: event.record.status_id,
                                    comment: event.record.comment.clone(),
                                    deleted,
                                },
                            );
                            writes.insert(
                                key,
                                RecordWrite {
                                    delivery,
                                    deleted,
                                    change: changes.len(),
                                },
                            );
                            changes.push(change);
                            // Its seq is known once the batch's changes are counted.
                            Decided::Applied(changes.len() - 1)
                        }
                    }
                }
            }
        };
        decided.push(outcome);
    }
    if !changes.is_empty() {
        let last: i64 = tx
            .query_one(
                "SELECT setval('changes_seq_seq', nextval('changes_seq_seq') + $1 - 1)",
                &[&(changes.len() as i64)],
            )?
            .get(0);
        let first = last - changes.len() as i64 + 1;
        for (i, change) in changes.iter_mut().enumerate() {
            change.seq = first + i as i64;
        }
    }
    let outcomes: Vec<IngestOutcome> = decided
        .into_iter()
        .map(|d| match d {
            Decided::Done(outcome) => outcome,
            Decided::Applied(i) => IngestOutcome::Applied(Box::new(changes[i].clone())),
        })
        .collect();
    insert_requests(tx, &new_requests)?;
    insert_changes(tx, &changes)?;
    upsert_attendance(tx, &writes, &changes)?;
    let mut log: Vec<DeliveryLogEntry<'_>> = deliveries
        .iter()
        .zip(&outcomes)
        .map(|(d, outcome)| DeliveryLogEntry {
            received_at: d.received_at,
            request_id: Some(&d.envelope.request_id),
            event_type: Some(&d.envelope.event_type),
            tenant: Some(&d.envelope.tenant),
            outcome: outcome.delivery_outcome(),
            status: outcome.http_status(),
            reason: outcome.reason(),
            body: &d.raw_body,
            school: None,
        })
        .collect();
    log.extend(rejected.iter().map(DeliveryLogEntry::rejected));
    insert_log(tx, &log)?;
    Ok(outcomes)
}

fn stored_request_hashes(
    tx: &mut WriteTx<'_>,
    deliveries: &[&VerifiedDelivery],
) -> Result<HashMap<String, String>, postgres::Error> {
    let ids: Vec<&str> = deliveries
        .iter()
        .map(|d| d.envelope.request_id.as_str())
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(tx
        .query(
            "SELECT request_id, content_sha256 FROM requests WHERE request_id = ANY($1)",
            &[&ids],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

fn stored_versions(
    tx: &mut WriteTx<'_>,
    deliveries: &[&VerifiedDelivery],
) -> Result<HashMap<(String, i64), StoredVersion>, postgres::Error> {
    let (tenants, ids): (Vec<&str>, Vec<i64>) = deliveries
        .iter()
        .filter_map(|d| {
            let event = d.envelope.attendance.as_ref()?;
            Some((d.envelope.tenant.as_str(), event.record.id))
        })
        .unzip();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(tx
        .query(
            "SELECT a.tenant, a.attendance_id, a.event_ts, a.request_id, a.status_id, a.comment,
                    a.deleted
             FROM attendance a
             JOIN UNNEST($1::text[], $2::bigint[]) AS k(tenant, attendance_id)
               ON a.tenant = k.tenant AND a.attendance_id = k.attendance_id",
            &[&tenants, &ids],
        )?
        .iter()
        .map(|r| {
            (
                (r.get(0), r.get(1)),
                StoredVersion {
                    event_ts: r.get(2),
                    request_id: r.get(3),
                    status_id: r.get(4),
                    comment: r.get(5),
                    deleted: r.get::<_, i64>(6) != 0,
                },
            )
        })
        .collect())
}

fn insert_requests(
    tx: &mut WriteTx<'_>,
    requests: &[&VerifiedDelivery],
) -> Result<(), postgres::Error> {
    if requests.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = requests
        .iter()
        .map(|d| d.envelope.request_id.as_str())
        .collect();
    let hashes: Vec<&str> = requests.iter().map(|d| d.content_sha256.as_str()).collect();
    let seen: Vec<i64> = requests.iter().map(|d| d.received_at).collect();
    tx.execute(
        "INSERT INTO requests (request_id, content_sha256, first_seen)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])",
        &[&ids, &hashes, &seen],
    )?;
    Ok(())
}

fn insert_changes(tx: &mut WriteTx<'_>, changes: &[Change]) -> Result<(), postgres::Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&Change) -> i64| changes.iter().map(f).collect::<Vec<i64>>();
    let text = |f: fn(&Change) -> &str| changes.iter().map(f).collect::<Vec<&str>>();
    let sources: Vec<&str> = changes.iter().map(|c| c.source.as_str()).collect();
    let before: Vec<Option<i64>> = changes.iter().map(|c| c.status_before).collect();
    let after: Vec<Option<i64>> = changes.iter().map(|c| c.status_after).collect();
    let comment_before: Vec<Option<&str>> = changes
        .iter()
        .map(|c| c.comment_before.as_deref())
        .collect();
    let comment_after: Vec<Option<&str>> =
        changes.iter().map(|c| c.comment_after.as_deref()).collect();
    tx.execute(
        "INSERT INTO changes
             (seq, recorded_at, source, request_id, event_type, event_ts, tenant, attendance_id,
              date, kind, class_id, course_id, student_period_id, status_before, status_after,
              comment_before, comment_after)
         SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
              $6::bigint[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11::bigint[],
              $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::text[],
              $17::text[])",
        &[
            &column(|c| c.seq),
            &column(|c| c.recorded_at),
            &sources,
            &text(|c| &c.request_id),
            &text(|c| &c.event_type),
            &column(|c| c.event_ts),
            &text(|c| &c.tenant),
            &column(|c| c.attendance_id),
            &text(|c| &c.date),
            &text(|c| &c.kind),
            &column(|c| c.class_id),
            &column(|c| c.course_id),
            &column(|c| c.student_period_id),
            &before,
            &after,
            &comment_before,
            &comment_after,
        ],
    )?;
    Ok(())
}

fn upsert_attendance(
    tx: &mut WriteTx<'_>,
    writes: &HashMap<(String, i64), RecordWrite<'_>>,
    changes: &[Change],
) -> Result<(), postgres::Error> {
    if writes.is_empty() {
        return Ok(());
    }
    let rows: Vec<(&RecordWrite<'_>, &rollcall_core::AttendanceRecord)> = writes
        .values()
        .map(|w| {
            let event = w
                .delivery
                .envelope
                .attendance
                .as_ref()
                .expect("an attendance event");
            (w, &event.record)
        })
        .collect();
    let tenants: Vec<&str> = rows
        .iter()
        .map(|(w, _)| w.delivery.envelope.tenant.as_str())
        .collect();
    let ids: Vec<i64> = rows.iter().map(|(_, r)| r.id).collect();
    let dates: Vec<&str> = rows.iter().map(|(_, r)| r.date.as_str()).collect();
    let kinds: Vec<&str> = rows.iter().map(|(_, r)| r.kind.as_str()).collect();
    let classes: Vec<i64> = rows.iter().map(|(_, r)| r.class_id).collect();
    let courses: Vec<i64> = rows.iter().map(|(_, r)| r.course_id).collect();
    let statuses: Vec<i64> = rows.iter().map(|(_, r)| r.status_id).collect();
    let students: Vec<i64> = rows.iter().map(|(_, r)| r.student_period_id).collect();
    let comments: Vec<&str> = rows.iter().map(|(_, r)| r.comment.as_str()).collect();
    let deleted: Vec<i64> = rows.iter().map(|(w, _)| i64::from(w.deleted)).collect();
    let stamps: Vec<i64> = rows
        .iter()
        .map(|(w, _)| w.delivery.envelope.timestamp)
        .collect();
    let requests: Vec<&str> = rows
        .iter()
        .map(|(w, _)| w.delivery.envelope.request_id.as_str())
        .collect();
    let seqs: Vec<i64> = rows.iter().map(|(w, _)| changes[w.change].seq).collect();
    tx.execute(
        "INSERT INTO attendance
             (tenant, attendance_id, date, kind, class_id, course_id, status_id,
              student_period_id, comment, deleted, event_ts, request_id, last_seq)
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[],
              $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::bigint[],
              $11::bigint[], $12::text[], $13::bigint[])
         ON CONFLICT (tenant, attendance_id) DO UPDATE SET
             date = excluded.date, kind = excluded.kind, class_id = excluded.class_id,
             course_id = excluded.course_id, status_id = excluded.status_id,
             student_period_id = excluded.student_period_id, comment = excluded.comment,
             deleted = excluded.deleted, event_ts = excluded.event_ts,
             request_id = excluded.request_id, last_seq = excluded.last_seq",
        &[
            &tenants, &ids, &dates, &kinds, &classes, &courses, &statuses, &students, &comments,
            &deleted, &stamps, &requests, &seqs,
        ],
    )?;
    Ok(())
}

fn insert_log(tx: &mut WriteTx<'_>, log: &[DeliveryLogEntry<'_>]) -> Result<(), postgres::Error> {
    if log.is_empty() {
        return Ok(());
    }
    let received: Vec<i64> = log.iter().map(|e| e.received_at).collect();
    let requests: Vec<Option<&str>> = log.iter().map(|e| e.request_id).collect();
    let types: Vec<Option<&str>> = log.iter().map(|e| e.event_type).collect();
    let tenants: Vec<Option<&str>> = log.iter().map(|e| e.tenant).collect();
    let outcomes: Vec<&str> = log.iter().map(|e| e.outcome.as_str()).collect();
    let statuses: Vec<i64> = log.iter().map(|e| i64::from(e.status)).collect();
    let reasons: Vec<Option<&str>> = log.iter().map(|e| e.reason).collect();
    let bodies: Vec<&[u8]> = log.iter().map(|e| e.kept_body()).collect();
    let sizes: Vec<i64> = log.iter().map(|e| e.body.len() as i64).collect();
    let schools: Vec<Option<&str>> = log.iter().map(|e| e.school).collect();
    tx.execute(
        "INSERT INTO deliveries
             (received_at, request_id, event_type, tenant, outcome, status, reason, body,
              body_bytes, school)
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
              $6::bigint[], $7::text[], $8::bytea[], $9::bigint[], $10::text[])",
        &[
            &received, &requests, &types, &tenants, &outcomes, &statuses, &reasons, &bodies,
            &sizes, &schools,
        ],
    )?;
    Ok(())
}
