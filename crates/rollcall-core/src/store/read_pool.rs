//! A few read-only connections, reused between queries. Readers never block the writer (WAL).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::StoreError;

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

    /// Runs `f` on a read connection off the async threads (SQLite reads block).
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|_| StoreError::Closed)?
            .map_err(StoreError::from)
    }
}
