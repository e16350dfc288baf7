//! A few read-only connections, reused between queries. Readers never block the writer (WAL).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::Connection;

/// Connections kept open for reuse; more may be open at once under load.
const KEEP: usize = 4;

pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on a read connection. Blocking: call from `spawn_blocking` in async code.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let conn = match self.idle.lock().expect("read pool lock").pop() {
            Some(conn) => conn,
            None => super::open_reader(&self.path)?,
        };
        let result = f(&conn);
        let mut idle = self.idle.lock().expect("read pool lock");
        if idle.len() < KEEP {
            idle.push(conn);
        }
        result
    }
}
