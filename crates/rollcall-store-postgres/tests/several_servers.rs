//! What several servers on one PostgreSQL database add to the store contract: the change
//! log's `seq` is commit order across writers (a follower never skips a change that commits
//! late), each store's subscribers see every server's changes, a background job's lease is
//! held by one server at a time, and a server that starts while another listens has missed
//! nothing.

#[path = "../../rollcall-core/tests/support/store_suite.rs"]
#[allow(dead_code)]
mod suite;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rollcall_core::store::Store;
use rollcall_core::AttendanceEventKind;
use rollcall_store_postgres::cluster::{Durability, TestCluster};
use rollcall_store_postgres::{DatabaseUrl, PostgresStore};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A cluster and one database on it, made before the runtime (blocking clients).
fn database() -> (TestCluster, DatabaseUrl) {
    let cluster = TestCluster::start(Durability::Fast).unwrap();
    let url = DatabaseUrl::parse(&cluster.create_database().unwrap()).unwrap();
    (cluster, url)
}

#[test]
fn changes_from_concurrent_servers_reach_every_subscriber_in_commit_order() {
    let (_cluster, url) = database();
    runtime().block_on(async {
        let a = Arc::new(PostgresStore::open_async(url.clone()).await.unwrap());
        let b = Arc::new(PostgresStore::open_async(url.clone()).await.unwrap());
        let viewer = PostgresStore::open_async(url).await.unwrap();
        let mut live = viewer.subscribe();
        let mut writers = Vec::new();
        for (server, store) in [("a", a.clone()), ("b", b.clone())] {
            for lane in 0..4 {
                let store = store.clone();
                writers.push(tokio::spawn(async move {
                    for n in 0..50 {
                        let id = 1 + lane * 1000 + n + if server == "a" { 0 } else { 10_000 };
                        let record = suite::record(id, "2026-12-02", id, 1);
                        let label = format!("{server}-{id}");
                        store
                            .deliver(suite::delivery(
                                "district",
                                &label,
                                AttendanceEventKind::Created,
                                &record,
                                1_000,
                                1_000,
                            ))
                            .await
                            .unwrap();
                    }
                }));
            }
        }
        for writer in writers {
            writer.await.unwrap();
        }
        let mut seqs = Vec::new();
        while seqs.len() < 400 {
            let change = tokio::time::timeout(Duration::from_secs(10), live.recv())
                .await
                .expect("every change reaches the third server")
                .unwrap();
            seqs.push(change.seq);
        }
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "in seq order, each once"
        );
        let logged: Vec<i64> = viewer
            .changes_after(&rollcall_core::Scope::all(), 0, 1000, &Default::default())
            .await
            .unwrap()
            .iter()
            .map(|c| c.seq)
            .collect();
        assert_eq!(seqs, logged, "the stream is the log, nothing skipped");
        assert!(
            tokio::time::timeout(Duration::from_millis(300), live.recv())
                .await
                .is_err(),
            "nothing doubled"
        );
        for store in [a.as_ref(), b.as_ref(), &viewer] {
            store.shutdown().await;
        }
    });
}

#[test]
fn a_background_job_runs_on_one_server_at_a_time() {
    let (_cluster, url) = database();
    runtime().block_on(async {
        let a = PostgresStore::open_async(url.clone()).await.unwrap();
        let b = PostgresStore::open_async(url).await.unwrap();
        assert!(
            a.take_lease("names", 400).await.unwrap(),
            "the first asks, gets it"
        );
        assert!(
            !b.take_lease("names", 400).await.unwrap(),
            "not while it runs"
        );
        assert!(
            a.take_lease("names", 400).await.unwrap(),
            "the holder renews"
        );
        assert!(
            b.take_lease("recovery", 400).await.unwrap(),
            "other jobs are free"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            b.take_lease("names", 400).await.unwrap(),
            "a lease its holder stopped renewing passes on"
        );
        assert!(!a.take_lease("names", 400).await.unwrap());
        a.shutdown().await;
        b.shutdown().await;
    });
}

#[test]
fn a_server_starting_while_another_listens_has_missed_nothing() {
    let (_cluster, url) = database();
    runtime().block_on(async {
        let a = PostgresStore::open_async(url.clone()).await.unwrap();
        let b = PostgresStore::open_async(url).await.unwrap();
        let now = rollcall_core::model::now_ms();
        let (period_a, gap) = a.begin_listening(now - 60_000).await.unwrap();
        assert_eq!(gap, None, "the first period ever has nothing to recover");
        a.heartbeat(period_a, now - 10_000).await.unwrap();
        let (period_b, gap) = b.begin_listening(now).await.unwrap();
        assert_eq!(gap, None, "A was listening: nothing was missed");
        // Both stop; the next start finds the time since the last of them.
        a.end_listening(period_a, now + 1_000).await.unwrap();
        b.end_listening(period_b, now + 2_000).await.unwrap();
        let (_, gap) = a.begin_listening(now + 3_600_000).await.unwrap();
        let gap = gap.expect("no server listened for an hour");
        assert_eq!((gap.from_ms, gap.to_ms), (now + 2_000, now + 3_600_000));
        let pending: BTreeSet<i64> = b
            .pending_gaps()
            .await
            .unwrap()
            .iter()
            .map(|g| g.id)
            .collect();
        assert_eq!(
            pending,
            BTreeSet::from([gap.id]),
            "one list of gaps for all servers"
        );
        a.shutdown().await;
        b.shutdown().await;
    });
}
