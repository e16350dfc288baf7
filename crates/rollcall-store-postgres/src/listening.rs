//! When this server was listening, and the gaps when no server was. Mirrors rollcall-core's
//! `store::listening`, with one difference that several servers make: a server that starts
//! while another is listening (a heartbeat within [`LIVE_WITHIN_MS`], not stopped) has
//! missed nothing, so no gap is recorded.

use rollcall_core::store::{Gap, PurgedSchool};

use crate::write_tx::WriteTx;

/// A period whose heartbeat is this recent counts as listening now (the heartbeat runs about
/// every minute; see rollcall-dreamclass `listening`).
pub const LIVE_WITHIN_MS: i64 = 3 * 60_000;

pub fn begin(tx: &mut WriteTx<'_>, now: i64) -> Result<(i64, Option<Gap>), postgres::Error> {
    let live: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM listening_periods
             WHERE stopped_at IS NULL AND last_heartbeat >= $1",
            &[&(now - LIVE_WITHIN_MS)],
        )?
        .get(0);
    let last: Option<i64> = tx
        .query_one(
            "SELECT MAX(GREATEST(last_heartbeat, COALESCE(stopped_at, 0))) FROM listening_periods",
            &[],
        )?
        .get(0);
    let gap = match last {
        Some(from) if from < now && live == 0 => {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO recovery_gaps (from_ms, to_ms, found_at) VALUES ($1, $2, $2)
                     RETURNING id",
                    &[&from, &now],
                )?
                .get(0);
            Some(Gap {
                id,
                from_ms: from,
                to_ms: now,
            })
        }
        _ => None,
    };
    let id: i64 = tx
        .query_one(
            "INSERT INTO listening_periods (started_at, last_heartbeat) VALUES ($1, $1)
             RETURNING id",
            &[&now],
        )?
        .get(0);
    Ok((id, gap))
}

pub fn heartbeat(tx: &mut WriteTx<'_>, id: i64, now: i64) -> Result<(), postgres::Error> {
    tx.execute(
        "UPDATE listening_periods SET last_heartbeat = GREATEST(last_heartbeat, $2) WHERE id = $1",
        &[&id, &now],
    )?;
    Ok(())
}

pub fn end(tx: &mut WriteTx<'_>, id: i64, now: i64) -> Result<(), postgres::Error> {
    heartbeat(tx, id, now)?;
    tx.execute(
        "UPDATE listening_periods SET stopped_at = $2 WHERE id = $1",
        &[&id, &now],
    )?;
    Ok(())
}

pub fn pending_gaps(c: &mut postgres::Client) -> Result<Vec<Gap>, postgres::Error> {
    Ok(c.query(
        "SELECT id, from_ms, to_ms FROM recovery_gaps WHERE recovered_at IS NULL ORDER BY id",
        &[],
    )?
    .iter()
    .map(|r| Gap {
        id: r.get(0),
        from_ms: r.get(1),
        to_ms: r.get(2),
    })
    .collect())
}

pub fn mark_recovered(
    tx: &mut WriteTx<'_>,
    ids: &[i64],
    now: i64,
    summary: &str,
) -> Result<(), postgres::Error> {
    for id in ids {
        tx.execute(
            "UPDATE recovery_gaps SET recovered_at = $2, report = $3 WHERE id = $1",
            &[id, &now, &summary],
        )?;
    }
    Ok(())
}

/// Deletes raw deliveries received before `cutoff_ms` (retention).
pub fn purge_deliveries_before(
    tx: &mut WriteTx<'_>,
    cutoff_ms: i64,
) -> Result<u64, postgres::Error> {
    tx.execute(
        "DELETE FROM deliveries WHERE received_at < $1",
        &[&cutoff_ms],
    )
}

/// rollcall-core's `store::purge::PURGE_SQL`, numbered for PostgreSQL (the statement cache
/// is keyed by static text). `store_suite` checks both stores delete the same rows.
const PURGE_SQL: [&str; 8] = [
    "DELETE FROM attendance WHERE tenant = $1",
    "DELETE FROM changes WHERE tenant = $1",
    "DELETE FROM deliveries WHERE tenant = $1 OR school = $2",
    "DELETE FROM reference_statuses WHERE tenant = $1",
    "DELETE FROM reference_students WHERE tenant = $1",
    "DELETE FROM reference_student_classes WHERE tenant = $1",
    "DELETE FROM reference_classes WHERE tenant = $1",
    "DELETE FROM reference_courses WHERE tenant = $1",
];

/// Deletes one removed school's rows.
pub fn purge_school(
    tx: &mut WriteTx<'_>,
    tenant: &str,
    school: &str,
) -> Result<PurgedSchool, postgres::Error> {
    let mut counts = [0u64; PURGE_SQL.len()];
    for (sql, count) in PURGE_SQL.iter().zip(&mut counts) {
        *count = match sql.contains("$2") {
            true => tx.execute(sql, &[&tenant, &school])?,
            false => tx.execute(sql, &[&tenant])?,
        };
    }
    Ok(PurgedSchool {
        attendance: counts[0],
        changes: counts[1],
        deliveries: counts[2],
    })
}

/// Takes (or renews) the lease on `job` for `holder` until `now + for_ms`, unless another
/// holder's lease is still running. Returns whether `holder` has it.
pub fn take_lease(
    tx: &mut WriteTx<'_>,
    job: &str,
    holder: &str,
    now: i64,
    for_ms: i64,
) -> Result<bool, postgres::Error> {
    let row = tx.query_opt(
        "INSERT INTO leases (job, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at <= $4
         RETURNING holder",
        &[&job, &holder, &(now + for_ms), &now],
    )?;
    Ok(row.is_some())
}
