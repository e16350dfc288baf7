//! The store's contract (rollcall-core's tests/support/store_suite.rs, the same tests the
//! SQLite store runs) against the PostgreSQL store on a throwaway cluster.

#[path = "../../rollcall-core/tests/support/store_suite.rs"]
mod suite;

use rollcall_core::store::Store;
use rollcall_store_postgres::cluster::{Durability, TestCluster};
use rollcall_store_postgres::{DatabaseUrl, PostgresStore};

#[test]
fn the_postgres_store_keeps_the_contract() {
    // The cluster's set-up uses blocking clients, so it comes before the runtime.
    let cluster = TestCluster::start(Durability::Fast).unwrap();
    let url = DatabaseUrl::parse(&cluster.create_database().unwrap()).unwrap();
    runtime().block_on(async {
        let store = PostgresStore::open_async(url).await.unwrap();
        suite::run_all(&store).await;
        store.shutdown().await;
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}
