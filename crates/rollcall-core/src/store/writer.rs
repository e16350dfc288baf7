//! The single writer: one thread owns the write connection and commits whatever has queued in
//! one transaction (group commit), then answers every request in it.
//!
//! With `synchronous=FULL` each commit costs an fsync; batching lets many concurrent deliveries
//! share one, which is what makes "answer 200 only when durable" affordable.

use std::any::Any;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{broadcast, mpsc, oneshot};

use std::collections::BTreeMap;

use super::counters;
use super::ingest::{self, IngestOutcome, RejectedDelivery, VerifiedDelivery};
use super::StoreError;
use crate::model::Change;
use crate::model::DeliveryOutcome;

/// How many commands may wait for the writer before senders wait too.
pub const QUEUE_CAPACITY: usize = 8192;
/// The most deliveries committed in one transaction.
pub const MAX_BATCH: usize = 1024;
/// Capacity of the live change broadcast; a subscriber further behind reloads from the log.
const BROADCAST_CAPACITY: usize = 4096;
/// The capped part of the delivery log keeps at most this many entries.
pub const CAPPED_LOG_KEEP: i64 = 10_000;
/// How many capped entries may be written between two prunes.
pub const PRUNE_EVERY: u64 = 500;

/// A task's value travels back type-erased; [`IngestWriter::transact`] restores its type.
type TaskValue = Box<dyn Any + Send>;
type Task =
    Box<dyn FnOnce(&Transaction<'_>, &mut Vec<Change>) -> rusqlite::Result<TaskValue> + Send>;

enum Command {
    Deliver(
        Box<VerifiedDelivery>,
        oneshot::Sender<Result<IngestOutcome, StoreError>>,
    ),
    LogRejected(Box<RejectedDelivery>),
    Task(Task, oneshot::Sender<Result<TaskValue, StoreError>>),
    Shutdown,
}

/// A cheap, cloneable handle to the writer thread.
#[derive(Clone)]
pub struct IngestWriter {
    queue: mpsc::Sender<Command>,
    changes: broadcast::Sender<Arc<Change>>,
    shared: Arc<Shared>,
}

struct Shared {
    thread: Mutex<Option<JoinHandle<()>>>,
    rejections_dropped: AtomicU64,
    /// Whether the last commit failed (disk full, database locked): shown as a warning.
    storage_failing: AtomicBool,
}

impl IngestWriter {
    /// Opens the database at `path` (creating and migrating it) and starts the writer thread.
    pub fn start(path: &Path) -> Result<Self, StoreError> {
        let conn = super::connection::open_writer(path)?;
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        let (changes, _) = broadcast::channel(BROADCAST_CAPACITY);
        let shared = Arc::new(Shared {
            thread: Mutex::new(None),
            rejections_dropped: AtomicU64::new(0),
            storage_failing: AtomicBool::new(false),
        });
        let mut worker = Worker {
            conn,
            rx,
            changes: changes.clone(),
            shared: shared.clone(),
            capped_since_prune: 0,
        };
        let thread = std::thread::Builder::new()
            .name("rollcall-writer".into())
            .spawn(move || worker.run())
            .map_err(|e| StoreError::Unavailable(format!("could not start the writer: {e}")))?;
        *shared.thread.lock().expect("writer thread lock") = Some(thread);
        Ok(Self {
            queue,
            changes,
            shared,
        })
    }

    /// Stores a verified delivery; resolves once it is durably committed (or failed).
    pub async fn deliver(&self, delivery: VerifiedDelivery) -> Result<IngestOutcome, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send(Command::Deliver(Box::new(delivery), tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Logs a refused delivery without waiting. Under a flood the queue may be full: the entry
    /// is then counted and dropped rather than slowing valid deliveries down.
    pub fn log_rejected(&self, rejected: RejectedDelivery) {
        if self
            .queue
            .try_send(Command::LogRejected(Box::new(rejected)))
            .is_err()
        {
            self.shared
                .rejections_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Runs `task` in its own write transaction and returns its value once committed.
    /// Changes it pushes are broadcast after commit.
    pub async fn transact<T: Send + 'static>(
        &self,
        task: impl FnOnce(&Transaction<'_>, &mut Vec<Change>) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let erased: Task =
            Box::new(move |t, changes| task(t, changes).map(|value| Box::new(value) as TaskValue));
        self.queue
            .send(Command::Task(erased, tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        let value = rx.await.map_err(|_| StoreError::Closed)??;
        Ok(*value
            .downcast::<T>()
            .expect("a task's value comes back as the type it was sent with"))
    }

    /// Every change committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    /// Rejected-delivery log entries dropped because the writer was saturated.
    pub fn rejections_dropped(&self) -> u64 {
        self.shared.rejections_dropped.load(Ordering::Relaxed)
    }

    /// True while commits fail (full disk, locked database).
    pub fn storage_failing(&self) -> bool {
        self.shared.storage_failing.load(Ordering::Relaxed)
    }

    /// Commits everything queued before this call, then stops the thread. Commands sent after
    /// it are answered with [`StoreError::Closed`].
    pub fn shutdown(&self) {
        // A full queue still drains; waiting for a slot is what we want here.
        let _ = self.queue.blocking_send(Command::Shutdown);
        if let Some(thread) = self
            .shared
            .thread
            .lock()
            .expect("writer thread lock")
            .take()
        {
            let _ = thread.join();
        }
    }

    /// [`shutdown`](Self::shutdown) for async callers.
    pub async fn shutdown_async(&self) {
        let this = self.clone();
        let _ = tokio::task::spawn_blocking(move || this.shutdown()).await;
    }
}

struct Worker {
    conn: Connection,
    rx: mpsc::Receiver<Command>,
    changes: broadcast::Sender<Arc<Change>>,
    shared: Arc<Shared>,
    capped_since_prune: u64,
}

type Reply = oneshot::Sender<Result<IngestOutcome, StoreError>>;

impl Worker {
    fn run(&mut self) {
        let mut deliveries: Vec<(Box<VerifiedDelivery>, Reply)> = Vec::new();
        let mut rejected: Vec<RejectedDelivery> = Vec::new();
        while let Some(first) = self.rx.blocking_recv() {
            let mut next = Some(first);
            let mut stop = false;
            while let Some(command) = next.take() {
                match command {
                    Command::Deliver(d, reply) => deliveries.push((d, reply)),
                    Command::LogRejected(r) => rejected.push(*r),
                    Command::Task(task, reply) => {
                        // Tasks run alone, after what queued before them, to keep order.
                        self.commit_batch(&mut deliveries, &mut rejected);
                        let result = self.run_task(task);
                        let _ = reply.send(result);
                    }
                    Command::Shutdown => {
                        stop = true;
                        break;
                    }
                }
                if deliveries.len() + rejected.len() >= MAX_BATCH {
                    break;
                }
                next = self.rx.try_recv().ok();
            }
            self.commit_batch(&mut deliveries, &mut rejected);
            if stop {
                break;
            }
        }
        tracing::debug!("writer stopped");
    }

    fn run_task(&mut self, task: Task) -> Result<TaskValue, StoreError> {
        let mut changes = Vec::new();
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = task(&tx, &mut changes)?;
            tx.commit()?;
            Ok(value)
        })();
        match result {
            Ok(value) => {
                for change in changes {
                    let _ = self.changes.send(Arc::new(change));
                }
                Ok(value)
            }
            Err(e) => Err(self.storage_error(e)),
        }
    }

    fn commit_batch(
        &mut self,
        deliveries: &mut Vec<(Box<VerifiedDelivery>, Reply)>,
        rejected: &mut Vec<RejectedDelivery>,
    ) {
        if deliveries.is_empty() && rejected.is_empty() {
            return;
        }
        let batch: Vec<_> = std::mem::take(deliveries);
        let rejected: Vec<_> = std::mem::take(rejected);
        match self.try_commit(batch.iter().map(|(d, _)| d.as_ref()), &rejected) {
            Ok(outcomes) => {
                self.shared.storage_failing.store(false, Ordering::Relaxed);
                for ((_, reply), outcome) in batch.into_iter().zip(outcomes) {
                    self.publish(&outcome);
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) if batch.len() > 1 => {
                // Retry one by one so that one delivery the database refuses cannot take the
                // others down with it.
                tracing::warn!(error = %e, size = batch.len(), "batch commit failed; retrying singly");
                for (delivery, reply) in batch {
                    let result = self
                        .try_commit(std::iter::once(delivery.as_ref()), &[])
                        .map(|mut o| o.remove(0))
                        .map_err(|e| self.storage_error(e));
                    if let Ok(outcome) = &result {
                        self.publish(outcome);
                    }
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                let error = self.storage_error(e);
                for (_, reply) in batch {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }

    fn publish(&self, outcome: &IngestOutcome) {
        if let IngestOutcome::Applied(change) = outcome {
            // No subscriber is not an error: the change log is the source of truth.
            let _ = self.changes.send(Arc::new(change.as_ref().clone()));
        }
    }

    fn storage_error(&self, e: rusqlite::Error) -> StoreError {
        self.shared.storage_failing.store(true, Ordering::Relaxed);
        let error = StoreError::from(e);
        tracing::error!(error = %error, "storage could not commit");
        error
    }

    fn try_commit<'a>(
        &mut self,
        deliveries: impl Iterator<Item = &'a VerifiedDelivery>,
        rejected: &[RejectedDelivery],
    ) -> rusqlite::Result<Vec<IngestOutcome>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcomes = Vec::new();
        let mut capped = rejected.len() as u64;
        let mut totals: BTreeMap<DeliveryOutcome, i64> = BTreeMap::new();
        let mut last_accepted_at = None;
        for delivery in deliveries {
            let outcome = ingest::apply_delivery(&tx, delivery)?;
            let kind = outcome.delivery_outcome();
            if kind.is_capped() {
                capped += 1;
            }
            *totals.entry(kind).or_default() += 1;
            last_accepted_at = last_accepted_at.max(Some(delivery.received_at));
            outcomes.push(outcome);
        }
        for r in rejected {
            ingest::log_rejected(&tx, r)?;
        }
        if !rejected.is_empty() {
            *totals.entry(DeliveryOutcome::Rejected).or_default() += ingest::refusals(rejected);
        }
        // Running totals, so the status screen never counts the whole log.
        for (outcome, n) in totals {
            counters::add(&tx, &counters::outcome_counter(outcome), n)?;
        }
        if let Some(at) = last_accepted_at {
            counters::set_max(&tx, counters::LAST_ACCEPTED_AT, at)?;
        }
        let prune = self.capped_since_prune + capped >= PRUNE_EVERY;
        if prune {
            prune_capped_log(&tx, CAPPED_LOG_KEEP)?;
        }
        if capped > 0 {
            counters::add(&tx, "capped_logged", capped as i64)?;
        }
        tx.commit()?;
        self.capped_since_prune = if prune {
            0
        } else {
            self.capped_since_prune + capped
        };
        Ok(outcomes)
    }
}

/// Deletes the oldest capped entries (rejected, conflict, duplicate) beyond `keep`.
pub(crate) fn prune_capped_log(tx: &Transaction<'_>, keep: i64) -> rusqlite::Result<usize> {
    tx.execute(
        "DELETE FROM deliveries
         WHERE outcome IN ('rejected', 'conflict', 'duplicate')
           AND seq <= (SELECT seq FROM deliveries
                       WHERE outcome IN ('rejected', 'conflict', 'duplicate')
                       ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
        [keep],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(n: usize) -> RejectedDelivery {
        RejectedDelivery {
            received_at: n as i64,
            request_id: None,
            status: 401,
            reason: format!("forged {n}"),
            body: vec![b'x'; 10],
            school: None,
            count: 1,
        }
    }

    #[test]
    fn capped_log_keeps_only_the_newest_entries() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::open_writer(&dir.path().join("t.db")).unwrap();
        let tx = conn.transaction().unwrap();
        for n in 0..30 {
            ingest::log_rejected(&tx, &rejected(n)).unwrap();
        }
        assert_eq!(prune_capped_log(&tx, 10).unwrap(), 20);
        let kept: Vec<String> = tx
            .prepare("SELECT reason FROM deliveries ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(kept.len(), 10);
        assert_eq!(kept[0], "forged 20");
        assert_eq!(
            prune_capped_log(&tx, 10).unwrap(),
            0,
            "nothing more to prune"
        );
    }

    #[tokio::test]
    async fn a_flood_of_rejections_is_pruned_and_counted_by_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = IngestWriter::start(&path).unwrap();
        let total = (CAPPED_LOG_KEEP as usize) + 2 * PRUNE_EVERY as usize;
        for n in 0..total {
            writer.log_rejected(rejected(n));
            if n % 1000 == 0 {
                tokio::task::yield_now().await;
            }
        }
        writer.shutdown_async().await;
        let conn = super::super::open_reader(&path).unwrap();
        let kept: i64 = conn
            .query_row("SELECT COUNT(*) FROM deliveries", [], |r| r.get(0))
            .unwrap();
        let dropped = writer.rejections_dropped() as i64;
        let counted =
            counters::get(&conn, &counters::outcome_counter(DeliveryOutcome::Rejected)).unwrap();
        assert_eq!(
            counted + dropped,
            total as i64,
            "every rejection is counted or dropped"
        );
        assert!(kept <= CAPPED_LOG_KEEP + PRUNE_EVERY as i64, "kept {kept}");
    }
}
