//! Crash consistency: the real `rollcall serve` is killed with SIGKILL at random moments while
//! many clients send it signed deliveries, then restarted. Every delivery answered 200 must be
//! stored exactly once, nothing half-applied, and the database intact.
//!
//! `ROLLCALL_CRASH_ROUNDS` sets the number of kills (3 by default; the full run is
//! `ROLLCALL_CRASH_ROUNDS=25 cargo test -p rollcall-cli --test crash -- --nocapture`),
//! `ROLLCALL_CRASH_SEED` replays a run (the seed is printed).
//!
//! Unix only: it kills the program with `kill -KILL`.
#![cfg(unix)]

// This test needs only the webhook side of the shared harness.
#[allow(dead_code)]
mod support;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rollcall_core::rusqlite::{self, Connection};
use rollcall_core::{AttendanceRecord, KeyEncoding, SigningKey};
use rollcall_simulator::{webhook_body, DemoSchool, PlanOptions, PlannedDelivery, DEMO_TENANT};
use support::Served;

const SECRET: &str = "crash-test-secret";
/// Deliveries offered per round; a kill usually comes before they are all sent.
const PER_ROUND: usize = 400;
const CLIENTS: usize = 16;

/// A small deterministic generator (xorshift), so a printed seed replays the kill moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

async fn start_server(data_dir: &Path) -> Served {
    support::serve(data_dir, &["--secret", SECRET, "--tunnel", "none"]).await
}

/// What the clients learned: ids answered 200, and ids whose fate is unknown (no answer).
#[derive(Default)]
struct Tally {
    acknowledged: BTreeSet<String>,
    unanswered: Vec<usize>,
}

/// Sends deliveries from `queue` with `CLIENTS` clients until the queue is empty or the
/// server stops answering. Returns when every client has stopped.
async fn send(
    url: String,
    plan: Arc<Vec<PlannedDelivery>>,
    queue: Arc<Mutex<VecDeque<usize>>>,
    tally: Arc<Mutex<Tally>>,
) {
    let key = SigningKey::new(SECRET, KeyEncoding::Text).unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (url, plan, queue, tally, key, http) = (
            url.to_string(),
            plan.clone(),
            queue.clone(),
            tally.clone(),
            key.clone(),
            http.clone(),
        );
        clients.push(tokio::spawn(async move {
            loop {
                let Some(index) = queue.lock().unwrap().pop_front() else {
                    return;
                };
                let delivery = &plan[index];
                let body = webhook_body(delivery, DEMO_TENANT, Some(&key));
                let answer = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let mut tally = tally.lock().unwrap();
                match answer {
                    Ok(r) if r.status() == 200 => {
                        tally.acknowledged.insert(delivery.request_id.clone());
                    }
                    Ok(r) => panic!("{} answered {}", delivery.request_id, r.status()),
                    Err(_) => {
                        // Killed mid-request: it may or may not be stored; DreamClass retries.
                        tally.unanswered.push(index);
                        return;
                    }
                }
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
}

fn integrity(conn: &Connection) -> String {
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// Acknowledged ids missing from the `requests` table.
fn missing(conn: &Connection, acknowledged: &BTreeSet<String>) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT 1 FROM requests WHERE request_id = ?1")
        .unwrap();
    acknowledged
        .iter()
        .filter(|id| !stmt.exists([id.as_str()]).unwrap())
        .cloned()
        .collect()
}

fn column_set(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_loses_nothing_acknowledged() {
    let rounds: usize = std::env::var("ROLLCALL_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("ROLLCALL_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("crash harness: {rounds} rounds, seed {seed} (ROLLCALL_CRASH_SEED={seed} replays)");
    let mut rng = Rng(seed);
    let school = DemoSchool::generate(seed);
    let plan = rollcall_simulator::plan(
        &school,
        PlanOptions {
            events: PER_ROUND * (rounds + 1),
            seed,
            end_ts: rollcall_core::model::now_ms() - 60_000,
            first_date: chrono_today(),
        },
    );
    let plan = Arc::new(plan.deliveries);
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir
        .path()
        .join("data")
        .join(rollcall_core::store::DATABASE_FILE);
    let mut pending: VecDeque<usize> = (0..plan.len()).collect();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let mut killed_with_requests_in_flight = 0;

    for round in 0..rounds {
        let mut server = start_server(dir.path()).await;
        // Unanswered deliveries of the last round go first, as DreamClass's retries would.
        let mut this_round: VecDeque<usize> = tally.lock().unwrap().unanswered.drain(..).collect();
        this_round.extend(pending.drain(..PER_ROUND.min(pending.len())));
        let queue = Arc::new(Mutex::new(this_round));
        let sending = tokio::spawn(send(
            server.webhook_url.clone(),
            plan.clone(),
            queue.clone(),
            tally.clone(),
        ));
        // Early moments catch commits in progress; later ones a busy queue.
        let kill_after = Duration::from_millis(rng.between(15, 350));
        tokio::time::sleep(kill_after).await;
        let was_sending = !sending.is_finished();
        server.child.start_kill().unwrap();
        server.child.wait().await.unwrap();
        sending.await.unwrap();
        // What was never sent goes back to the front.
        for index in queue.lock().unwrap().drain(..).rev() {
            pending.push_front(index);
        }
        if was_sending {
            killed_with_requests_in_flight += 1;
        }

        // Before any restart: what the killed process left on disk.
        let acknowledged = tally.lock().unwrap().acknowledged.clone();
        let conn = Connection::open(&db_path).unwrap();
        assert_eq!(integrity(&conn), "ok", "round {round}");
        let lost = missing(&conn, &acknowledged);
        assert!(lost.is_empty(), "round {round}: lost {lost:?}");
        drop(conn);
        println!(
            "round {round}: killed after {kill_after:?}, {} acknowledged so far, 0 lost",
            acknowledged.len()
        );
    }

    // A last run sends everything left, then stops cleanly.
    let server = start_server(dir.path()).await;
    let mut last: VecDeque<usize> = tally.lock().unwrap().unanswered.drain(..).collect();
    last.extend(pending.drain(..));
    let queue = Arc::new(Mutex::new(last));
    send(
        server.webhook_url.clone(),
        plan.clone(),
        queue.clone(),
        tally.clone(),
    )
    .await;
    assert!(tally.lock().unwrap().unanswered.is_empty());
    support::stop(server).await;

    let acknowledged = tally.lock().unwrap().acknowledged.clone();
    let all_ids: BTreeSet<String> = plan.iter().map(|d| d.request_id.clone()).collect();
    assert_eq!(
        acknowledged, all_ids,
        "every delivery was eventually answered 200"
    );
    let conn = Connection::open(&db_path).unwrap();
    assert_eq!(integrity(&conn), "ok");
    let lost = missing(&conn, &acknowledged);
    assert!(lost.is_empty(), "lost {lost:?}");
    check_stored_once(&conn, &all_ids);
    check_state(&conn, &plan);
    println!(
        "crash harness: {rounds} rounds killed ({killed_with_requests_in_flight} with requests \
         in flight), {} deliveries acknowledged, 0 lost, integrity ok, in {:.1?}",
        acknowledged.len(),
        started.elapsed()
    );
}

/// Each request id once in `requests`, at most one change per id, every change and record
/// belonging to a stored request, and no stored request without its delivery log entry.
fn check_stored_once(conn: &Connection, all_ids: &BTreeSet<String>) {
    let stored: BTreeSet<String> = column_set(conn, "SELECT request_id FROM requests")
        .into_iter()
        .collect();
    assert_eq!(&stored, all_ids, "requests holds exactly the ids sent");
    let repeated = column_set(
        conn,
        "SELECT request_id FROM changes GROUP BY request_id HAVING COUNT(*) > 1",
    );
    assert!(repeated.is_empty(), "applied twice: {repeated:?}");
    let orphans = column_set(
        conn,
        "SELECT request_id FROM changes WHERE request_id NOT IN (SELECT request_id FROM requests)
         UNION ALL
         SELECT request_id FROM attendance WHERE request_id NOT IN (SELECT request_id FROM requests)
         UNION ALL
         SELECT request_id FROM attendance
           WHERE request_id NOT IN (SELECT request_id FROM changes)",
    );
    assert!(orphans.is_empty(), "half-applied: {orphans:?}");
    let unlogged = column_set(
        conn,
        "SELECT request_id FROM requests WHERE request_id NOT IN
           (SELECT request_id FROM deliveries
             WHERE outcome IN ('applied', 'superseded') AND request_id IS NOT NULL)",
    );
    assert!(
        unlogged.is_empty(),
        "stored without a log entry: {unlogged:?}"
    );
    let applied: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM deliveries WHERE outcome = 'applied'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let changes: i64 = conn
        .query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(applied, changes, "one change per applied delivery");
}

/// The stored attendance equals what the accepted events imply (newest event wins; a delete
/// leaves a tombstone).
fn check_state(conn: &Connection, plan: &[PlannedDelivery]) {
    let expected = rollcall_simulator::traffic::expected_state(plan);
    let mut stmt = conn
        .prepare(
            "SELECT attendance_id, date, kind, class_id, course_id, status_id, student_period_id,
                    comment, deleted FROM attendance WHERE tenant = ?1",
        )
        .unwrap();
    let stored: BTreeMap<i64, Option<AttendanceRecord>> = stmt
        .query_map([DEMO_TENANT], |r| {
            let record = AttendanceRecord {
                id: r.get(0)?,
                date: r.get(1)?,
                kind: r.get(2)?,
                class_id: r.get(3)?,
                course_id: r.get(4)?,
                status_id: r.get(5)?,
                student_period_id: r.get(6)?,
                comment: r.get(7)?,
            };
            let deleted: bool = r.get(8)?;
            Ok((record.id, (!deleted).then_some(record)))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(stored.len(), expected.len());
    for (id, record) in &expected {
        assert_eq!(stored.get(id), Some(record), "attendance {id}");
    }
}

fn chrono_today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}
