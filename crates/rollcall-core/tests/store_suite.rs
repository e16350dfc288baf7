//! The store's contract (tests/support/store_suite.rs) run against the SQLite store on a real
//! file in a temporary directory.

#[path = "support/store_suite.rs"]
mod suite;

use rollcall_core::store::{SqliteStore, Store, DATABASE_FILE};

#[tokio::test]
async fn the_sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join(DATABASE_FILE)).unwrap();
    suite::run_all(&store).await;
    store.shutdown().await;
}
