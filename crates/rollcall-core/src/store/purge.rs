//! Purging a removed school: its attendance, its change log, its deliveries and its names,
//! and nothing of any other school. Removing a school from the settings only stops receiving; this is the
//! separate, explicit step that deletes what was kept of it (the UI offers a backup first).
//!
//! What stays: request ids (duplicate detection; they hold no student data and have no
//! school) and the running delivery totals. The school's names (students, classes, courses,
//! statuses: they belong to its tenant since migration 6) go with it; they are counted with
//! nothing else, as a purge's report speaks of records, changes and deliveries.

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
pub const PURGE_SQL: [&str; 8] = [
    "DELETE FROM attendance WHERE tenant = ?1",
    "DELETE FROM changes WHERE tenant = ?1",
    "DELETE FROM deliveries WHERE tenant = ?1 OR school = ?2",
    "DELETE FROM reference_statuses WHERE tenant = ?1",
    "DELETE FROM reference_students WHERE tenant = ?1",
    "DELETE FROM reference_student_classes WHERE tenant = ?1",
    "DELETE FROM reference_classes WHERE tenant = ?1",
    "DELETE FROM reference_courses WHERE tenant = ?1",
];

/// Purges one school's rows in the writer's transaction (SQLite).
pub fn purge_school(
    tx: &Transaction<'_>,
    tenant: &str,
    school: &str,
) -> rusqlite::Result<PurgedSchool> {
    let mut counts = [0u64; PURGE_SQL.len()];
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
