//! The rules that turn a verified delivery into stored state, inside the writer's transaction.
//!
//! Per (tenant, attendance id) the stored record is the one from the event with the newest
//! DreamClass timestamp; the request id breaks ties. An older event arriving late is logged
//! but changes nothing, and a delete leaves a tombstone so a late update cannot revive it.

use rusqlite::{params, OptionalExtension, Transaction};

use crate::envelope::{AttendanceEvent, AttendanceEventKind, Envelope};
use crate::model::{Change, ChangeSource, DeliveryOutcome};

/// How much of the body of a capped delivery (rejected, conflict, duplicate) is kept.
pub const CAPPED_BODY_BYTES: usize = 2048;

/// A delivery whose signature and fields have been checked.
#[derive(Debug, Clone)]
pub struct VerifiedDelivery {
    pub received_at: i64,
    pub raw_body: Vec<u8>,
    /// See [`crate::envelope::ParsedBody::content_sha256`].
    pub content_sha256: String,
    pub envelope: Envelope,
}

/// A delivery refused before storage; only its log entry is written.
#[derive(Debug, Clone)]
pub struct RejectedDelivery {
    pub received_at: i64,
    pub request_id: Option<String>,
    pub status: u16,
    pub reason: String,
    pub body: Vec<u8>,
    /// The school whose webhook URL it was sent to (`/webhooks/dreamclass/{school}`);
    /// `None` at the single school's URL. A re-check verifies it with that school's secret.
    pub school: Option<String>,
    /// How many refusals this entry stands for: 1, or more for the summary of a flood whose
    /// refusals were counted rather than logged one by one (its `reason` says so). The
    /// running totals count them all.
    pub count: u64,
}

/// How many refusals `rejected` stand for in all.
pub fn refusals(rejected: &[RejectedDelivery]) -> i64 {
    rejected.iter().map(|r| r.count as i64).sum()
}

/// What a verified delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    Applied(Box<Change>),
    Superseded,
    Duplicate,
    Ignored,
    Conflict,
}

impl IngestOutcome {
    pub fn delivery_outcome(&self) -> DeliveryOutcome {
        match self {
            Self::Applied(_) => DeliveryOutcome::Applied,
            Self::Superseded => DeliveryOutcome::Superseded,
            Self::Duplicate => DeliveryOutcome::Duplicate,
            Self::Ignored => DeliveryOutcome::Ignored,
            Self::Conflict => DeliveryOutcome::Conflict,
        }
    }

    /// Why the delivery changed nothing, as the delivery log says it.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Conflict => Some(
                "This request id was already received with other content: possible replay or \
                 forgery.",
            ),
            Self::Superseded => Some("A newer event for this attendance record is stored."),
            _ => None,
        }
    }

    /// The HTTP status the listener answers for this outcome.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Conflict => 409,
            _ => 200,
        }
    }
}

pub(crate) fn apply_delivery(
    tx: &Transaction<'_>,
    delivery: &VerifiedDelivery,
) -> rusqlite::Result<IngestOutcome> {
    let envelope = &delivery.envelope;
    // Claiming the request id by inserting it costs one descent of its (random) index for a
    // new request, the common case; only a repeat reads back what was stored first.
    let claimed =
        tx.prepare_cached(
            "INSERT INTO requests (request_id, content_sha256, first_seen) VALUES (?1, ?2, ?3)
             ON CONFLICT (request_id) DO NOTHING",
        )?
        .execute(params![
            envelope.request_id,
            delivery.content_sha256,
            delivery.received_at
        ])? == 1;
    let repeat = if claimed {
        None
    } else {
        let seen: String = tx
            .prepare_cached("SELECT content_sha256 FROM requests WHERE request_id = ?1")?
            .query_row([&envelope.request_id], |r| r.get(0))?;
        repeated_request(Some(&seen), &delivery.content_sha256)
    };
    let outcome = match repeat {
        Some(repeat) => repeat,
        None => match &envelope.attendance {
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
        },
    };
    let reason = outcome.reason();
    insert_delivery_log(
        tx,
        &DeliveryLogEntry {
            received_at: delivery.received_at,
            request_id: Some(&envelope.request_id),
            event_type: Some(&envelope.event_type),
            tenant: Some(&envelope.tenant),
            outcome: outcome.delivery_outcome(),
            status: outcome.http_status(),
            reason,
            body: &delivery.raw_body,
            school: None,
        },
    )?;
    Ok(outcome)
}

/// What a request id seen before makes of a delivery: the same content is a duplicate
/// (answered 200 again, applied once), other content a conflict. `None`: never seen.
pub fn repeated_request(seen_sha256: Option<&str>, content_sha256: &str) -> Option<IngestOutcome> {
    match seen_sha256 {
        Some(hash) if hash == content_sha256 => Some(IngestOutcome::Duplicate),
        Some(_) => Some(IngestOutcome::Conflict),
        None => None,
    }
}

/// One entry of the delivery log, as every backend writes it.
pub struct DeliveryLogEntry<'a> {
    pub received_at: i64,
    pub request_id: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub tenant: Option<&'a str>,
    pub outcome: DeliveryOutcome,
    pub status: u16,
    pub reason: Option<&'a str>,
    pub body: &'a [u8],
    /// The school of the URL a refused delivery was sent to (see [`RejectedDelivery`]).
    pub school: Option<&'a str>,
}

impl<'a> DeliveryLogEntry<'a> {
    /// The log entry of a refused delivery.
    pub fn rejected(rejected: &'a RejectedDelivery) -> Self {
        Self {
            received_at: rejected.received_at,
            request_id: rejected.request_id.as_deref(),
            event_type: None,
            tenant: None,
            outcome: DeliveryOutcome::Rejected,
            status: rejected.status,
            reason: Some(&rejected.reason),
            body: &rejected.body,
            school: rejected.school.as_deref(),
        }
    }

    /// The body as kept: whole for applied deliveries, the first [`CAPPED_BODY_BYTES`] of
    /// capped ones (rejected, conflict, duplicate).
    pub fn kept_body(&self) -> &'a [u8] {
        if self.outcome.is_capped() {
            &self.body[..self.body.len().min(CAPPED_BODY_BYTES)]
        } else {
            self.body
        }
    }
}

pub(crate) fn insert_delivery_log(
    tx: &Transaction<'_>,
    entry: &DeliveryLogEntry<'_>,
) -> rusqlite::Result<()> {
    let kept = entry.kept_body();
    tx.prepare_cached(
        "INSERT INTO deliveries
             (received_at, request_id, event_type, tenant, outcome, status, reason, body, body_bytes,
              school)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        entry.received_at,
        entry.request_id,
        entry.event_type,
        entry.tenant,
        entry.outcome.as_str(),
        entry.status,
        entry.reason,
        kept,
        entry.body.len() as i64,
        entry.school,
    ])?;
    Ok(())
}

pub(crate) fn log_rejected(
    tx: &Transaction<'_>,
    rejected: &RejectedDelivery,
) -> rusqlite::Result<()> {
    insert_delivery_log(tx, &DeliveryLogEntry::rejected(rejected))
}

/// The stored version of a record, as the ordering rule sees it.
pub struct StoredVersion {
    pub event_ts: i64,
    pub request_id: String,
    pub status_id: i64,
    pub comment: String,
    pub deleted: bool,
}

impl StoredVersion {
    /// Whether an event with this timestamp and request id is newer than the stored version
    /// (the newest DreamClass timestamp wins; equal timestamps are ordered by request id).
    pub fn is_replaced_by(&self, event_ts: i64, request_id: &str) -> bool {
        (self.event_ts, self.request_id.as_str()) < (event_ts, request_id)
    }
}

/// The change an event newer than `stored` makes: before is the stored version unless it is
/// a tombstone, after is the event's unless it deletes. Its `seq` is 0 until it is stored.
pub fn change_for(
    tenant: &str,
    request_id: &str,
    event_ts: i64,
    event: &AttendanceEvent,
    source: ChangeSource,
    recorded_at: i64,
    stored: Option<StoredVersion>,
) -> Change {
    let record = &event.record;
    let deleted = event.kind == AttendanceEventKind::Deleted;
    let live_before = stored.filter(|s| !s.deleted);
    Change {
        seq: 0,
        recorded_at,
        source,
        request_id: request_id.to_string(),
        event_type: event.kind.event_type().to_string(),
        event_ts,
        tenant: tenant.to_string(),
        attendance_id: record.id,
        date: record.date.clone(),
        kind: record.kind.clone(),
        class_id: record.class_id,
        course_id: record.course_id,
        student_period_id: record.student_period_id,
        status_before: live_before.as_ref().map(|s| s.status_id),
        status_after: (!deleted).then_some(record.status_id),
        comment_before: live_before.map(|s| s.comment),
        comment_after: (!deleted).then(|| record.comment.clone()),
    }
}

/// Adds `change` to the change log under `seq`, or under the next number when `None`.
/// Returns whether it was added (a viewer's copy already holding that `seq` adds nothing).
pub(crate) fn insert_change(
    tx: &Transaction<'_>,
    change: &Change,
    seq: Option<i64>,
) -> rusqlite::Result<bool> {
    let added = tx
        .prepare_cached(
            "INSERT INTO changes
                 (seq, recorded_at, source, request_id, event_type, event_ts, tenant,
                  attendance_id, date, kind, class_id, course_id, student_period_id,
                  status_before, status_after, comment_before, comment_after)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
             ON CONFLICT (seq) DO NOTHING",
        )?
        .execute(params![
            seq,
            change.recorded_at,
            change.source.as_str(),
            change.request_id,
            change.event_type,
            change.event_ts,
            change.tenant,
            change.attendance_id,
            change.date,
            change.kind,
            change.class_id,
            change.course_id,
            change.student_period_id,
            change.status_before,
            change.status_after,
            change.comment_before,
            change.comment_after,
        ])?;
    Ok(added == 1)
}

/// A record's current state, written over what was stored: by an applied event, and by a
/// viewer's copy (`replica`) from the server's change.
pub(crate) const UPSERT_ATTENDANCE: &str = "INSERT INTO attendance
         (tenant, attendance_id, date, kind, class_id, course_id, status_id,
          student_period_id, comment, deleted, event_ts, request_id, last_seq)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
     ON CONFLICT (tenant, attendance_id) DO UPDATE SET
         date = excluded.date, kind = excluded.kind, class_id = excluded.class_id,
         course_id = excluded.course_id, status_id = excluded.status_id,
         student_period_id = excluded.student_period_id, comment = excluded.comment,
         deleted = excluded.deleted, event_ts = excluded.event_ts,
         request_id = excluded.request_id, last_seq = excluded.last_seq";

/// Applies one attendance event if it is newer than what is stored. Returns the change it
/// made, or `None` when a newer event already decided the record.
pub fn apply_attendance_event(
    tx: &Transaction<'_>,
    tenant: &str,
    request_id: &str,
    event_ts: i64,
    event: &AttendanceEvent,
    source: ChangeSource,
    recorded_at: i64,
) -> rusqlite::Result<Option<Change>> {
    let record = &event.record;
    let stored: Option<StoredVersion> = tx
        .prepare_cached(
            "SELECT event_ts, request_id, status_id, comment, deleted
             FROM attendance WHERE tenant = ?1 AND attendance_id = ?2",
        )?
        .query_row(params![tenant, record.id], |r| {
            Ok(StoredVersion {
                event_ts: r.get(0)?,
                request_id: r.get(1)?,
                status_id: r.get(2)?,
                comment: r.get(3)?,
                deleted: r.get(4)?,
            })
        })
        .optional()?;
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
    insert_change(tx, &change, None)?;
    change.seq = tx.last_insert_rowid();
    tx.prepare_cached(UPSERT_ATTENDANCE)?.execute(params![
        tenant,
        record.id,
        record.date,
        record.kind,
        record.class_id,
        record.course_id,
        record.status_id,
        record.student_period_id,
        record.comment,
        deleted,
        event_ts,
        request_id,
        change.seq,
    ])?;
    Ok(Some(change))
}
