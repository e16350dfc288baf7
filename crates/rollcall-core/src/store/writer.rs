//! The single writer: one thread owns the write connection and commits whatever has queued in
//! one transaction (group commit), then answers every request in it.
//!
//! With `synchronous=FULL` each commit costs an fsync; batching lets many concurrent deliveries
//! share one, which is what makes "answer 200 only when durable" affordable.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::ingest::{self, IngestOutcome, RejectedDelivery, VerifiedDelivery};
use super::StoreError;
use crate::model::Change;

/// How many commands may wait for the writer before senders wait too.
const QUEUE_CAPACITY: usize = 8192;
/// The most deliveries committed in one transaction.
const MAX_BATCH: usize = 1024;
/// Capacity of the live change broadcast; a subscriber further behind reloads from the log.
const BROADCAST_CAPACITY: usize = 4096;
/// The capped part of the delivery log keeps at most this many entries.
pub const CAPPED_LOG_KEEP: i64 = 10_000;
/// How many capped entries may be written between two prunes.
const PRUNE_EVERY: u64 = 500;

type Task = Box<dyn FnOnce(&Transaction<'_>, &mut Vec<Change>) -> rusqlite::Result<()> + Send>;

enum Command {
    Deliver(
        Box<VerifiedDelivery>,
        oneshot::Sender<Result<IngestOutcome, StoreError>>,
    ),
    LogRejected(Box<RejectedDelivery>),
    Task(Task, oneshot::Sender<Result<(), StoreError>>),
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

    /// Runs `task` in its own write transaction. Changes it pushes are broadcast after commit.
    pub async fn transact(
        &self,
        task: impl FnOnce(&Transaction<'_>, &mut Vec<Change>) -> rusqlite::Result<()> + Send + 'static,
    ) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send(Command::Task(Box::new(task), tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
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
        let mut rejected: Vec<Box<RejectedDelivery>> = Vec::new();
        while let Some(first) = self.rx.blocking_recv() {
            let mut next = Some(first);
            let mut stop = false;
            while let Some(command) = next.take() {
                match command {
                    Command::Deliver(d, reply) => deliveries.push((d, reply)),
                    Command::LogRejected(r) => rejected.push(r),
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

    fn run_task(&mut self, task: Task) -> Result<(), StoreError> {
        let mut changes = Vec::new();
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            task(&tx, &mut changes)?;
            tx.commit()
        })();
        match result {
            Ok(()) => {
                for change in changes {
                    let _ = self.changes.send(Arc::new(change));
                }
                Ok(())
            }
            Err(e) => Err(self.storage_error(e)),
        }
    }

    fn commit_batch(
        &mut self,
        deliveries: &mut Vec<(Box<VerifiedDelivery>, Reply)>,
        rejected: &mut Vec<Box<RejectedDelivery>>,
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
            let _ = self.changes.send(Arc::new(change.clone()));
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
        rejected: &[Box<RejectedDelivery>],
    ) -> rusqlite::Result<Vec<IngestOutcome>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcomes = Vec::new();
        let mut capped = rejected.len() as u64;
        for delivery in deliveries {
            let outcome = ingest::apply_delivery(&tx, delivery)?;
            if outcome.delivery_outcome().is_capped() {
                capped += 1;
            }
            outcomes.push(outcome);
        }
        for r in rejected {
            ingest::log_rejected(&tx, r)?;
        }
        let prune = self.capped_since_prune + capped >= PRUNE_EVERY;
        if prune {
            prune_capped_log(&tx, CAPPED_LOG_KEEP)?;
        }
        if capped > 0 {
            super::counters::add(&tx, "capped_logged", capped as i64)?;
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
