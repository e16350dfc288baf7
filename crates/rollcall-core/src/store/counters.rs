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

pub fn get(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or(0))
}
