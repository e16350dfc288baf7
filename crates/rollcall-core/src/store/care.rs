//! Data care: purging old raw deliveries, online backups, restoring a backup, and the lock
//! that keeps two copies of Rollcall off one data folder.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction};

use super::{open_reader, schema, DATABASE_FILE};

/// The lock file a running Rollcall holds in its data folder.
pub const LOCK_FILE: &str = "rollcall.lock";

/// Deletes raw deliveries received before `cutoff_ms`. Attendance, the change log and the
/// request ids that recognise a retried delivery are kept. Returns how many were deleted.
pub fn purge_deliveries_before(tx: &Transaction<'_>, cutoff_ms: i64) -> rusqlite::Result<usize> {
    tx.execute("DELETE FROM deliveries WHERE received_at < ?1", [cutoff_ms])
}

/// Copies the database into a new file at `dest` while Rollcall keeps running (SQLite's online
/// backup: a consistent snapshot, writers are not blocked for long).
pub fn backup(db: &Path, dest: &Path) -> Result<(), CareError> {
    if dest.exists() {
        return Err(CareError::Exists(dest.to_path_buf()));
    }
    let source = open_reader(db)?;
    let mut target = Connection::open(dest)?;
    {
        let backup = rusqlite::backup::Backup::new(&source, &mut target)?;
        backup.run_to_completion(256, Duration::from_millis(5), None)?;
    }
    // A single file that opens anywhere, with no -wal beside it.
    target.query_row("PRAGMA journal_mode=DELETE", [], |_| Ok(()))?;
    Ok(())
}

/// Checks that `file` is a sound Rollcall backup and puts it in place of the database in
/// `data_dir`. Rollcall must not be running on that folder (see [`DataDirLock`]). The database
/// it replaces is kept beside it as `rollcall.db.before-restore`.
pub fn restore(file: &Path, data_dir: &Path) -> Result<PathBuf, CareError> {
    let _lock = DataDirLock::acquire(data_dir)?;
    check_backup(file)?;
    let db = data_dir.join(DATABASE_FILE);
    let kept = data_dir.join(format!("{DATABASE_FILE}.before-restore"));
    if db.exists() {
        // Fold the WAL into the file first so the kept copy is complete on its own.
        let conn = Connection::open(&db)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        drop(conn);
        std::fs::copy(&db, &kept)?;
    }
    let staging = data_dir.join(format!("{DATABASE_FILE}.restoring"));
    std::fs::copy(file, &staging)?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(data_dir.join(format!("{DATABASE_FILE}{suffix}")));
    }
    std::fs::rename(&staging, &db)?;
    Ok(kept)
}

fn check_backup(file: &Path) -> Result<(), CareError> {
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|_| CareError::NotABackup(file.to_path_buf()))?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|_| CareError::NotABackup(file.to_path_buf()))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let has_changes: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE name = 'changes'",
        [],
        |r| r.get(0),
    )?;
    if integrity != "ok" || version == 0 || !has_changes {
        return Err(CareError::NotABackup(file.to_path_buf()));
    }
    if version as usize > schema::latest_version() {
        return Err(CareError::Newer(file.to_path_buf()));
    }
    Ok(())
}

/// An exclusive lock on the data folder, held while Rollcall runs on it.
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> Result<Self, CareError> {
        std::fs::create_dir_all(data_dir)?;
        let file = File::create(data_dir.join(LOCK_FILE))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(CareError::InUse(data_dir.to_path_buf())),
            Err(std::fs::TryLockError::Error(e)) => Err(CareError::Io(e)),
        }
    }
}

/// What went wrong, in words for the office.
#[derive(Debug, thiserror::Error)]
pub enum CareError {
    #[error("{} already exists; choose another file name.", .0.display())]
    Exists(PathBuf),
    #[error("{} is not a Rollcall backup (or it is damaged).", .0.display())]
    NotABackup(PathBuf),
    #[error("{} comes from a newer Rollcall; update Rollcall first.", .0.display())]
    Newer(PathBuf),
    #[error("Rollcall is running on {}. Quit it first (tray menu > Quit), then try again.", .0.display())]
    InUse(PathBuf),
    #[error("the database could not be read: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_with_one_delivery(dir: &Path) -> PathBuf {
        let db = dir.join(DATABASE_FILE);
        let mut conn = super::super::open_writer(&db).unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute(
            "INSERT INTO deliveries (received_at, outcome, status, body_bytes) VALUES (1000, 'applied', 200, 0)",
            [],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO deliveries (received_at, outcome, status, body_bytes) VALUES (5000, 'applied', 200, 0)",
            [],
        )
        .unwrap();
        tx.commit().unwrap();
        db
    }

    fn count(db: &Path) -> i64 {
        open_reader(db)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM deliveries", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn purge_keeps_newer_deliveries() {
        let dir = tempfile::tempdir().unwrap();
        let db = database_with_one_delivery(dir.path());
        let mut conn = Connection::open(&db).unwrap();
        let tx = conn.transaction().unwrap();
        assert_eq!(purge_deliveries_before(&tx, 2000).unwrap(), 1);
        tx.commit().unwrap();
        assert_eq!(count(&db), 1);
    }

    #[test]
    fn backup_then_restore_round_trips_and_keeps_the_replaced_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = database_with_one_delivery(dir.path());
        let copy = dir.path().join("backup.db");
        backup(&db, &copy).unwrap();
        assert!(matches!(backup(&db, &copy), Err(CareError::Exists(_))));
        // Something happens after the backup; restoring brings back the backed-up state.
        let conn = Connection::open(&db).unwrap();
        conn.execute("DELETE FROM deliveries", []).unwrap();
        drop(conn);
        let kept = restore(&copy, dir.path()).unwrap();
        assert_eq!(count(&db), 2);
        assert_eq!(count(&kept), 0, "the replaced database is kept");
    }

    #[test]
    fn restore_refuses_what_is_not_a_backup_and_a_running_rollcall() {
        let dir = tempfile::tempdir().unwrap();
        let db = database_with_one_delivery(dir.path());
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"this is not a database").unwrap();
        assert!(matches!(
            restore(&junk, dir.path()),
            Err(CareError::NotABackup(_))
        ));
        let copy = dir.path().join("backup.db");
        backup(&db, &copy).unwrap();
        let running = DataDirLock::acquire(dir.path()).unwrap();
        let err = restore(&copy, dir.path()).unwrap_err();
        assert!(matches!(err, CareError::InUse(_)), "{err}");
        assert!(err.to_string().contains("Quit it first"));
        drop(running);
        restore(&copy, dir.path()).unwrap();
    }
}
