//! The writer: one thread per server owns a write connection and commits whatever has queued
//! in one transaction (group commit), then answers every request in it. It mirrors the SQLite
//! writer (rollcall-core `store::writer`); what PostgreSQL adds:
//!
//! - **One writer at a time across servers.** Every write transaction first takes
//!   [`WRITE_LOCK`] (`pg_advisory_xact_lock`, held to commit). The change log's `seq` is
//!   taken from its sequence inside that lock, so sequence order is commit order on every
//!   server, and a reader that follows `seq > last` never skips a change that commits late.
//! - **A wake-up for every server.** A transaction that may have added changes ends with
//!   `pg_notify(CHANNEL, last seq)`; PostgreSQL delivers it at commit, never for a rollback.
//!   The table stays the truth ([`crate::listener`] re-reads it).
//! - **A database that went away.** Failed commits answer [`StoreError::Disconnected`]
//!   (the webhook answers 503, never 200), and the next command connects again.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use postgres::Client;
use tokio::sync::{mpsc, oneshot};

use rollcall_core::model::DeliveryOutcome;
use rollcall_core::store::counters::{outcome_counter, LAST_ACCEPTED_AT};
use rollcall_core::store::writer::{CAPPED_LOG_KEEP, MAX_BATCH, PRUNE_EVERY, QUEUE_CAPACITY};
use rollcall_core::store::{IngestOutcome, RejectedDelivery, StoreError, VerifiedDelivery};

use crate::connect::DatabaseUrl;
use crate::pool::store_error;
use crate::write_tx::{Statements, WriteTx};
use crate::{batch, ingest};

/// The advisory lock every write transaction holds to its commit.
pub const WRITE_LOCK: i64 = 0x526f_6c6c_0002;
/// The notification channel that wakes every server's listener.
pub const CHANNEL: &str = "rollcall_changes";

type TaskValue = Box<dyn Any + Send>;
type Task = Box<dyn FnOnce(&mut WriteTx<'_>) -> Result<TaskValue, postgres::Error> + Send>;
type Reply = oneshot::Sender<Result<IngestOutcome, StoreError>>;

enum Command {
    Deliver(Box<VerifiedDelivery>, Reply),
    LogRejected(Box<RejectedDelivery>),
    Task(Task, oneshot::Sender<Result<TaskValue, StoreError>>),
    Shutdown,
}

/// How the writer batches; the benchmark compares one commit per event with group commit.
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    pub max_batch: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            max_batch: MAX_BATCH,
        }
    }
}

/// A cheap, cloneable handle to the writer thread.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Command>,
    shared: Arc<Shared>,
}

struct Shared {
    thread: Mutex<Option<JoinHandle<()>>>,
    rejections_dropped: AtomicU64,
    storage_failing: AtomicBool,
    /// The newest seq of a change this writer committed (0 before any).
    last_committed_seq: AtomicI64,
}

impl Writer {
    /// Starts the writer thread on `client` (already connected and migrated).
    pub fn start(
        url: DatabaseUrl,
        client: Client,
        options: WriterOptions,
    ) -> Result<Self, StoreError> {
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        let shared = Arc::new(Shared {
            thread: Mutex::new(None),
            rejections_dropped: AtomicU64::new(0),
            storage_failing: AtomicBool::new(false),
            last_committed_seq: AtomicI64::new(0),
        });
        let mut worker = Worker {
            url,
            client: Some(client),
            statements: Statements::default(),
            rx,
            shared: shared.clone(),
            capped_since_prune: 0,
            max_batch: options.max_batch.max(1),
        };
        let thread = std::thread::Builder::new()
            .name("rollcall-pg-writer".into())
            .spawn(move || worker.run())
            .map_err(|e| StoreError::Unavailable(format!("could not start the writer: {e}")))?;
        *shared.thread.lock().expect("writer thread lock") = Some(thread);
        Ok(Self { queue, shared })
    }

    pub async fn deliver(&self, delivery: VerifiedDelivery) -> Result<IngestOutcome, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.queue
            .send(Command::Deliver(Box::new(delivery), tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

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

    /// Runs `task` in its own write transaction (under the write lock, ending with a
    /// notification) and returns its value once committed.
    pub async fn transact<T: Send + 'static>(
        &self,
        task: impl FnOnce(&mut WriteTx<'_>) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let erased: Task = Box::new(move |t| task(t).map(|value| Box::new(value) as TaskValue));
        self.queue
            .send(Command::Task(erased, tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        let value = rx.await.map_err(|_| StoreError::Closed)??;
        Ok(*value
            .downcast::<T>()
            .expect("a task's value comes back as the type it was sent with"))
    }

    pub fn rejections_dropped(&self) -> u64 {
        self.shared.rejections_dropped.load(Ordering::Relaxed)
    }

    pub fn storage_failing(&self) -> bool {
        self.shared.storage_failing.load(Ordering::Relaxed)
    }

    /// The newest seq of a change this writer committed: what a write's caller waits to see
    /// published before it answers (see `PostgresStore::published_through`).
    pub fn last_committed_seq(&self) -> i64 {
        self.shared.last_committed_seq.load(Ordering::Acquire)
    }

    /// Commits everything queued before this call, then stops the thread.
    pub fn shutdown(&self) {
        let _ = self.queue.blocking_send(Command::Shutdown);
        if let Some(thread) = self.shared.thread.lock().expect("writer lock").take() {
            let _ = thread.join();
        }
    }

    pub async fn shutdown_async(&self) {
        let this = self.clone();
        let _ = tokio::task::spawn_blocking(move || this.shutdown()).await;
    }
}

struct Worker {
    url: DatabaseUrl,
    client: Option<Client>,
    statements: Statements,
    rx: mpsc::Receiver<Command>,
    shared: Arc<Shared>,
    capped_since_prune: u64,
    max_batch: usize,
}

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
                if deliveries.len() >= self.max_batch || rejected.len() >= MAX_BATCH {
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

    /// The write connection, connecting again if it was lost.
    fn begin(&mut self) -> Result<WriteTx<'_>, StoreError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            self.statements.clear();
            self.client = Some(self.url.connect()?);
        }
        let client = self.client.as_mut().expect("connected above");
        let mut tx = client
            .transaction()
            .map_err(|e| store_error(&self.url, &e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
            .map_err(|e| store_error(&self.url, &e))?;
        Ok(WriteTx::new(tx, &mut self.statements))
    }

    fn run_task(&mut self, task: Task) -> Result<TaskValue, StoreError> {
        let url = self.url.clone();
        let result = self.begin().and_then(|mut tx| {
            let value = task(&mut tx)
                .and_then(|value| {
                    let last = notify(&mut tx)?;
                    tx.commit()?;
                    Ok((value, last))
                })
                .map_err(|e| store_error(&url, &e))?;
            Ok(value)
        });
        let result = result.map(|(value, last)| {
            self.committed_through(last);
            value
        });
        self.settle(result)
    }

    fn committed_through(&self, seq: i64) {
        self.shared
            .last_committed_seq
            .fetch_max(seq, Ordering::AcqRel);
    }

    fn settle<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match &result {
            Ok(_) => self.shared.storage_failing.store(false, Ordering::Relaxed),
            Err(error) => {
                self.shared.storage_failing.store(true, Ordering::Relaxed);
                if matches!(error, StoreError::Disconnected(_)) {
                    // Reconnect at the next command rather than reuse a broken session.
                    self.client = None;
                }
                tracing::error!(%error, "storage could not commit");
            }
        }
        result
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
        let result = self.try_commit(batch.iter().map(|(d, _)| d.as_ref()), &rejected);
        match self.settle(result) {
            Ok(outcomes) => {
                for ((_, reply), outcome) in batch.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) if batch.len() > 1 && !matches!(e, StoreError::Disconnected(_)) => {
                // One delivery the database refuses must not take the others down with it.
                tracing::warn!(error = %e, size = batch.len(), "batch commit failed; retrying singly");
                for (delivery, reply) in batch {
                    let result = self
                        .try_commit(std::iter::once(delivery.as_ref()), &[])
                        .map(|mut o| o.remove(0));
                    let _ = reply.send(self.settle(result));
                }
            }
            Err(error) => {
                for (_, reply) in batch {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }

    fn try_commit<'a>(
        &mut self,
        deliveries: impl Iterator<Item = &'a VerifiedDelivery>,
        rejected: &[RejectedDelivery],
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let url = self.url.clone();
        let since_prune = self.capped_since_prune;
        let mut tx = self.begin()?;
        let mut capped = rejected.len() as u64;
        let result = (|| {
            let deliveries: Vec<&VerifiedDelivery> = deliveries.collect();
            let outcomes = batch::apply(&mut tx, &deliveries, rejected)?;
            let mut totals: BTreeMap<DeliveryOutcome, i64> = BTreeMap::new();
            let mut applied = false;
            for outcome in &outcomes {
                let kind = outcome.delivery_outcome();
                if kind.is_capped() {
                    capped += 1;
                }
                applied |= matches!(outcome, IngestOutcome::Applied(_));
                *totals.entry(kind).or_default() += 1;
            }
            let last_accepted_at = deliveries.iter().map(|d| d.received_at).max();
            if !rejected.is_empty() {
                *totals.entry(DeliveryOutcome::Rejected).or_default() +=
                    rollcall_core::store::ingest::refusals(rejected);
            }
            // Running totals, so the status screen never counts the whole log.
            let mut counters: Vec<(String, i64)> = totals
                .into_iter()
                .map(|(outcome, n)| (outcome_counter(outcome), n))
                .collect();
            if capped > 0 {
                counters.push(("capped_logged".into(), capped as i64));
            }
            ingest::add_counters(&mut tx, &counters)?;
            if let Some(at) = last_accepted_at {
                ingest::raise_counter(&mut tx, LAST_ACCEPTED_AT, at)?;
            }
            let prune = since_prune + capped >= PRUNE_EVERY;
            if prune {
                ingest::prune_capped_log(&mut tx, CAPPED_LOG_KEEP)?;
            }
            let last = if applied { notify(&mut tx)? } else { 0 };
            tx.commit()?;
            Ok((outcomes, prune, last))
        })();
        let (outcomes, prune, last) = result.map_err(|e: postgres::Error| store_error(&url, &e))?;
        self.committed_through(last);
        self.capped_since_prune = if prune { 0 } else { since_prune + capped };
        Ok(outcomes)
    }
}

/// Wakes every server's listener when this transaction commits.
/// Returns the newest seq this transaction can see (its own changes included).
fn notify(tx: &mut WriteTx<'_>) -> Result<i64, postgres::Error> {
    let row = tx.query_one(
        "SELECT pg_notify('rollcall_changes', last::text), last
         FROM (SELECT COALESCE(MAX(seq), 0) AS last FROM changes) newest",
        &[],
    )?;
    Ok(row.get(1))
}
