//! When Rollcall was listening for webhooks (`listening_periods`) and the gaps between runs
//! (`recovery_gaps`). Each run writes a listening period and beats a heartbeat into it; the
//! time between the last heartbeat of one run and the start of the next is a gap, kept as
//! pending until its missed changes have been asked for.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// A stretch of time when webhooks may have been missed, in milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub id: i64,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// Starts a listening period at `now`. If an earlier run left a heartbeat, the time since is
/// recorded as a pending gap. Returns the new period's id and the gap.
pub fn begin(tx: &Transaction<'_>, now: i64) -> rusqlite::Result<(i64, Option<Gap>)> {
    let last: Option<i64> = tx
        .query_row(
            "SELECT last_heartbeat FROM listening_periods ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let gap = match last {
        Some(from) if from < now => {
            tx.execute(
                "INSERT INTO recovery_gaps (from_ms, to_ms, found_at) VALUES (?1, ?2, ?2)",
                params![from, now],
            )?;
            Some(Gap {
                id: tx.last_insert_rowid(),
                from_ms: from,
                to_ms: now,
            })
        }
        _ => None,
    };
    tx.execute(
        "INSERT INTO listening_periods (started_at, last_heartbeat) VALUES (?1, ?1)",
        [now],
    )?;
    Ok((tx.last_insert_rowid(), gap))
}

/// Records that the period `id` is still listening at `now`.
pub fn heartbeat(tx: &Transaction<'_>, id: i64, now: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE listening_periods SET last_heartbeat = MAX(last_heartbeat, ?2) WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Ends the period `id` at `now` (a clean shutdown).
pub fn end(tx: &Transaction<'_>, id: i64, now: i64) -> rusqlite::Result<()> {
    heartbeat(tx, id, now)?;
    tx.execute(
        "UPDATE listening_periods SET stopped_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Gaps whose missed changes have not been asked for yet, oldest first.
pub fn pending_gaps(conn: &Connection) -> rusqlite::Result<Vec<Gap>> {
    conn.prepare_cached(
        "SELECT id, from_ms, to_ms FROM recovery_gaps WHERE recovered_at IS NULL ORDER BY id",
    )?
    .query_map([], |r| {
        Ok(Gap {
            id: r.get(0)?,
            from_ms: r.get(1)?,
            to_ms: r.get(2)?,
        })
    })?
    .collect()
}

/// Marks gaps as done, with the report's summary.
pub fn mark_recovered(
    tx: &Transaction<'_>,
    ids: &[i64],
    now: i64,
    summary: &str,
) -> rusqlite::Result<()> {
    let mut stmt =
        tx.prepare_cached("UPDATE recovery_gaps SET recovered_at = ?2, report = ?3 WHERE id = ?1")?;
    for id in ids {
        stmt.execute(params![id, now, summary])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_runs_from_the_last_heartbeat_to_the_next_start() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let tx = conn.transaction().unwrap();
        let (first, gap) = begin(&tx, 1_000).unwrap();
        assert_eq!(gap, None, "the first run ever has nothing to recover");
        heartbeat(&tx, first, 5_000).unwrap();
        heartbeat(&tx, first, 4_000).unwrap();
        let (_, gap) = begin(&tx, 9_000).unwrap();
        let gap = gap.unwrap();
        assert_eq!((gap.from_ms, gap.to_ms), (5_000, 9_000));
        assert_eq!(pending_gaps(&tx).unwrap(), vec![gap]);
        mark_recovered(&tx, &[gap.id], 10_000, "done").unwrap();
        assert!(pending_gaps(&tx).unwrap().is_empty());
    }
}
