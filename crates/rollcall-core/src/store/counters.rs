//! Named running totals kept in the database (for example, capped log entries written).

use rusqlite::{Connection, OptionalExtension, Transaction};

pub(crate) fn add(tx: &Transaction<'_>, name: &str, by: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO counters (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
    )?
    .execute(rusqlite::params![name, by])?;
    Ok(())
}

pub(crate) fn set_max(tx: &Transaction<'_>, name: &str, value: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO counters (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
    )?
    .execute(rusqlite::params![name, value])?;
    Ok(())
}

/// The counter that totals deliveries of one outcome.
pub fn outcome_counter(outcome: crate::model::DeliveryOutcome) -> String {
    format!("delivered:{}", outcome.as_str())
}

/// The time of the newest delivery that was not rejected.
pub const LAST_ACCEPTED_AT: &str = "last_accepted_at";

pub fn get(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or(0))
}
