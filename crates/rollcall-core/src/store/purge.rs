//! Purging a removed school: its attendance, its change log and its deliveries, and nothing of
//! any other school. Removing a school from the settings only stops receiving; this is the
//! separate, explicit step that deletes what was kept of it (the UI offers a backup first).
//!
//! What stays: request ids (duplicate detection; they hold no student data and have no
//! school), the names fetched from the DreamClass API (one API per installation, shared by
//! every school), the running delivery totals.

use rusqlite::{params, Transaction};

/// How many rows a purge deleted, table by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgedSchool {
    pub attendance: u64,
    pub changes: u64,
    pub deliveries: u64,
}

impl PurgedSchool {
    pub fn total(&self) -> u64 {
        self.attendance + self.changes + self.deliveries
    }
}

/// The statements of a purge, in order (the PostgreSQL store has the same, numbered `$N`):
/// `?1` the school's DreamClass tenant, `?2` its id (refused deliveries have no tenant; they
/// name the school whose URL they were sent to).
pub const PURGE_SQL: [&str; 3] = [
    "DELETE FROM attendance WHERE tenant = ?1",
    "DELETE FROM changes WHERE tenant = ?1",
    "DELETE FROM deliveries WHERE tenant = ?1 OR school = ?2",
];

/// Purges one school's rows in the writer's transaction (SQLite).
pub fn purge_school(
    tx: &Transaction<'_>,
    tenant: &str,
    school: &str,
) -> rusqlite::Result<PurgedSchool> {
    let mut counts = [0u64; 3];
    for (sql, count) in PURGE_SQL.iter().zip(&mut counts) {
        let mut statement = tx.prepare_cached(sql)?;
        *count = if sql.contains("?2") {
            statement.execute(params![tenant, school])?
        } else {
            statement.execute(params![tenant])?
        } as u64;
    }
    Ok(PurgedSchool {
        attendance: counts[0],
        changes: counts[1],
        deliveries: counts[2],
    })
}
