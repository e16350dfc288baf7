//! Connections for reads and occasional writes, kept idle between uses and opened again when
//! the database went away. Each is a blocking client used on the blocking threads, as the
//! SQLite store's read connections are, so that exports stream into a blocking writer.

use std::sync::{Arc, Mutex};

use postgres::Client;
use rollcall_core::store::StoreError;

use crate::connect::{describe, DatabaseUrl};

/// How many idle connections are kept (more may be open while busy).
const KEEP_IDLE: usize = 4;

pub struct Pool {
    url: DatabaseUrl,
    idle: Mutex<Vec<Client>>,
}

impl Pool {
    pub fn new(url: DatabaseUrl) -> Self {
        Self {
            url,
            idle: Mutex::new(Vec::new()),
        }
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Runs `f` with a connection on a blocking thread.
    pub async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || pool.with_client(f))
            .await
            .map_err(|e| StoreError::Unavailable(format!("a database task failed: {e}")))?
    }

    /// Runs `f` with a connection on this thread (which must not be an async one).
    pub fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let idle = self.idle.lock().expect("pool lock").pop();
        let mut client = match idle {
            Some(client) if !client.is_closed() => client,
            _ => self.url.connect()?,
        };
        let result = f(&mut client);
        if !client.is_closed() {
            let mut idle = self.idle.lock().expect("pool lock");
            if idle.len() < KEEP_IDLE {
                idle.push(client);
            }
        }
        result.map_err(|e| store_error(&self.url, &e))
    }

    /// Closes the idle connections (after the database restarted, say).
    pub fn clear(&self) {
        let idle = std::mem::take(&mut *self.idle.lock().expect("pool lock"));
        close_off_async_threads(idle);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.clear();
    }
}

/// A blocking client's drop runs its own small runtime, which panics on an async thread
/// (where the last handle to a store is often dropped); closing happens on a thread of its
/// own instead.
fn close_off_async_threads(clients: Vec<Client>) {
    if clients.is_empty() {
        return;
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        let _ = std::thread::Builder::new()
            .name("rollcall-pg-close".into())
            .spawn(move || drop(clients));
    } else {
        drop(clients);
    }
}

/// A PostgreSQL error as a [`StoreError`]: an error the server answered is a failure of
/// the request; anything else means the connection is gone.
pub fn store_error(url: &DatabaseUrl, e: &postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) if db.code() == &postgres::error::SqlState::DISK_FULL => StoreError::DiskFull,
        Some(db)
            if db.code().code().starts_with("57P") || db.code().code().starts_with("08") =>
        {
            // 57P01 admin shutdown, 57P03 cannot connect now (starting up), 08xxx connection.
            StoreError::Disconnected(format!("{}: {}", url.shown(), describe(e)))
        }
        Some(_) => StoreError::Unavailable(describe(e)),
        None if e.is_closed() || is_connection_error(e) => {
            StoreError::Disconnected(format!("{}: {}", url.shown(), describe(e)))
        }
        None => StoreError::Unavailable(describe(e)),
    }
}

fn is_connection_error(e: &postgres::Error) -> bool {
    let text = describe(e);
    // tokio-postgres gives no kind for I/O and timeouts; its messages are stable.
    ["error connecting", "connection closed", "timeout", "I/O", "broken pipe", "reset"]
        .iter()
        .any(|needle| text.contains(needle))
}
