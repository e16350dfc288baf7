//! A viewer's local copy of a Rollcall server: the server's changes stored with the server's
//! own sequence numbers, so that "give me what comes after seq N" means the same on both
//! sides and catching up after a break can neither skip nor repeat a change.
//!
//! The current state of a record is what its newest change says (the change log is complete
//! for the records the person may see), so no delivery, request key or recovery bookkeeping
//! is kept here: those stay on the server.

use rusqlite::{params, OptionalExtension, Transaction};

use crate::model::Change;

/// What one batch did to the copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replicated {
    /// Changes stored (and published to this copy's live stream).
    pub stored: usize,
    /// Changes the copy already had (same sequence number): a repeat after a reconnect.
    pub already_had: usize,
}

/// Stores `changes` (any order, repeats allowed) and brings each record to its newest one.
/// Every stored change is pushed to `published`, for the copy's own stream.
pub(crate) fn store_changes(
    tx: &Transaction<'_>,
    changes: &[Change],
    published: &mut Vec<Change>,
) -> rusqlite::Result<Replicated> {
    let mut done = Replicated::default();
    let mut sorted: Vec<&Change> = changes.iter().collect();
    sorted.sort_by_key(|c| c.seq);
    for change in sorted {
        let inserted = super::ingest::insert_change(tx, change, Some(change.seq))?;
        if !inserted {
            done.already_had += 1;
            continue;
        }
        bring_record_to(tx, change)?;
        done.stored += 1;
        published.push(change.clone());
    }
    Ok(done)
}

/// Empties the copy (another person signed in: what the last one could see is not theirs).
pub(crate) fn clear(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DELETE FROM changes; DELETE FROM attendance; DELETE FROM reference_statuses;
         DELETE FROM reference_students; DELETE FROM reference_student_classes;
         DELETE FROM reference_classes; DELETE FROM reference_courses;",
    )
}

/// The record as `change` leaves it, unless a newer change of it is already stored.
fn bring_record_to(tx: &Transaction<'_>, change: &Change) -> rusqlite::Result<()> {
    let stored: Option<(i64, i64, String)> = tx
        .prepare_cached(
            "SELECT last_seq, status_id, comment FROM attendance
             WHERE tenant = ?1 AND attendance_id = ?2",
        )?
        .query_row(params![change.tenant, change.attendance_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    if stored.as_ref().is_some_and(|(seq, _, _)| *seq > change.seq) {
        return Ok(());
    }
    let deleted = change.status_after.is_none();
    // A deletion names no status: the record keeps the one it had, as on the server.
    let status_id = change
        .status_after
        .or(change.status_before)
        .or(stored.as_ref().map(|(_, status, _)| *status))
        .unwrap_or_default();
    let comment = change
        .comment_after
        .clone()
        .or_else(|| change.comment_before.clone())
        .or_else(|| stored.map(|(_, _, comment)| comment))
        .unwrap_or_default();
    tx.prepare_cached(super::ingest::UPSERT_ATTENDANCE)?
        .execute(params![
            change.tenant,
            change.attendance_id,
            change.date,
            change.kind,
            change.class_id,
            change.course_id,
            status_id,
            change.student_period_id,
            comment,
            deleted,
            change.event_ts,
            change.request_id,
            change.seq,
        ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChangeSource;
    use crate::store::schema;

    fn change(seq: i64, id: i64, before: Option<i64>, after: Option<i64>) -> Change {
        Change {
            seq,
            recorded_at: 1_000 + seq,
            source: ChangeSource::Webhook,
            request_id: format!("r{seq}"),
            event_type: match (before, after) {
                (None, Some(_)) => "ATTENDANCE_CREATED",
                (_, None) => "ATTENDANCE_DELETED",
                _ => "ATTENDANCE_UPDATED",
            }
            .into(),
            event_ts: 500 + seq,
            tenant: "north".into(),
            attendance_id: id,
            date: "2026-12-01".into(),
            kind: "SESSION".into(),
            class_id: 7,
            course_id: 8,
            student_period_id: 9,
            status_before: before,
            status_after: after,
            comment_before: None,
            comment_after: after.map(|s| format!("status {s}")),
        }
    }

    fn record(conn: &rusqlite::Connection, id: i64) -> (i64, bool, i64, String) {
        conn.query_row(
            "SELECT status_id, deleted, last_seq, comment FROM attendance WHERE attendance_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
    }

    #[test]
    fn changes_keep_the_servers_numbers_and_repeats_or_disorder_change_nothing() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let batches = [
            vec![change(5, 1, None, Some(2)), change(9, 1, Some(2), Some(3))],
            // After a reconnect: one repeat, one older change arriving late, one new.
            vec![
                change(9, 1, Some(2), Some(3)),
                change(7, 2, None, Some(4)),
                change(12, 2, Some(4), None),
            ],
        ];
        let mut published = Vec::new();
        let mut results = Vec::new();
        for batch in &batches {
            let tx = conn.transaction().unwrap();
            results.push(store_changes(&tx, batch, &mut published).unwrap());
            tx.commit().unwrap();
        }
        assert_eq!(
            results,
            [
                Replicated {
                    stored: 2,
                    already_had: 0
                },
                Replicated {
                    stored: 2,
                    already_had: 1
                }
            ]
        );
        let seqs: Vec<i64> = published.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, [5, 9, 7, 12]);
        let in_log: Vec<i64> = conn
            .prepare("SELECT seq FROM changes ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(in_log, [5, 7, 9, 12]);
        assert_eq!(record(&conn, 1), (3, false, 9, "status 3".into()));
        // Deleted with the status and comment it had, as the server keeps it.
        assert_eq!(record(&conn, 2), (4, true, 12, "status 4".into()));
    }

    #[test]
    fn an_older_change_arriving_after_a_newer_one_leaves_the_record_as_the_newer_says() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let tx = conn.transaction().unwrap();
        let mut published = Vec::new();
        store_changes(&tx, &[change(20, 3, Some(1), Some(6))], &mut published).unwrap();
        store_changes(&tx, &[change(15, 3, None, Some(1))], &mut published).unwrap();
        tx.commit().unwrap();
        assert_eq!(record(&conn, 3), (6, false, 20, "status 6".into()));
    }
}
