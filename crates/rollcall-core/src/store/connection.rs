//! Opening the database with the settings every connection needs.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How long a connection waits for a lock held by another before giving up with "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The file name of the database inside the data directory.
pub const DATABASE_FILE: &str = "rollcall.db";

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // FULL makes each commit durable on its own: a 200 is only ever answered after the
    // commit that holds the delivery has reached the disk. Group commit keeps it affordable.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Opens (creating if needed) the database for writing, in WAL mode, migrated to the newest
/// schema.
pub fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open(path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "the database could not be switched to WAL mode");
    }
    configure(&conn)?;
    super::schema::migrate(&mut conn)?;
    Ok(conn)
}

/// Opens an existing database for reading only. Readers never block the writer (WAL).
pub fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    configure(&conn)?;
    Ok(conn)
}
