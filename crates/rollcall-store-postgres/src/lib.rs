//! [`PostgresStore`]: Rollcall's [`Store`] on PostgreSQL, for a district server where several
//! `rollcall serve` processes share one database.
//!
//! - Writes go through one [`writer`] thread per server (group commit); across servers they
//!   take turns under an advisory lock, which also makes the change log's `seq` commit-ordered.
//! - Reads run on pooled connections on the blocking threads ([`pool`]).
//! - Subscribers are fed by the [`listener`], which follows the change log for changes
//!   committed by any server (LISTEN/NOTIFY as the wake-up, the table as the truth).
//! - The schema is migrated at start under a lock ([`schema`]).
//!
//! The rules (ordering, duplicates, tombstones, what a change records, the reports' numbers)
//! are rollcall-core's; this crate holds their PostgreSQL SQL. The store contract is tested
//! by the same suite as SQLite's (tests/store_suite.rs).

mod accounts;
mod batch;
pub mod cluster;
pub mod connect;
pub mod import;
mod ingest;
mod listener;
mod listening;
mod pool;
mod queries;
mod recheck;
mod recovery;
mod reference;
mod reports;
pub mod schema;
mod sql;
mod write_tx;
pub mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use tokio::sync::{broadcast, watch};

use rollcall_core::accounts::{
    Account, AccountWrite, AuditEntry, EndSessions, SessionRecord, SignInAttempt,
};
use rollcall_core::filter::RecordFilter;
use rollcall_core::model::{AttendanceRow, Change, DeliveryOutcome, DeliveryRow, StatusCategory};
use rollcall_core::reports::{
    Alert, ExportError, ExportRequest, NotTakenDay, ReportSettings, Summary,
};
use rollcall_core::store::purge::PurgedSchool;
use rollcall_core::store::recheck::{RecheckRange, RecheckResult, RefusedForSecret};
use rollcall_core::store::recovery::{DayCounts, ReconcileDay};
use rollcall_core::store::reference::{
    FetchedReference, KnownIds, NamedId, Reference, ReferenceUpdate, ReferenceWebhookEffect,
};
use rollcall_core::store::{
    BoardGroup, BoardGrouping, ExportProgress, ExportSink, Gap, IngestOutcome, RejectedDelivery,
    SharedStore, Store, StoreError, StoreHealth, VerifiedDelivery,
};
use rollcall_core::Scope;

pub use connect::{DatabaseUrl, UrlError};
pub use writer::WriterOptions;

use listener::Listener;
use pool::Pool;
use writer::Writer;

/// Capacity of the live change broadcast; a subscriber further behind reloads from the log.
const BROADCAST_CAPACITY: usize = 4096;
/// How long a write waits for the live feed to publish its change before answering anyway.
const PUBLISH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The PostgreSQL store: a writer thread, pooled read connections and the live feed.
#[derive(Clone)]
pub struct PostgresStore {
    writer: Writer,
    pool: Arc<Pool>,
    changes: broadcast::Sender<Arc<Change>>,
    listener: Arc<Mutex<Option<Listener>>>,
    /// The newest seq the live feed has published to this server's subscribers.
    published: watch::Receiver<i64>,
    /// Who holds this server's leases: host, process and a random part (a restarted
    /// process is a new holder).
    holder: String,
}

impl PostgresStore {
    /// Connects, migrates the schema and starts the writer and the live feed. Blocking: call
    /// it off the async threads (or before the runtime starts).
    pub fn open(url: &DatabaseUrl) -> Result<Self, StoreError> {
        Self::open_with(url, WriterOptions::default())
    }

    /// [`open`](Self::open) with the writer's batching chosen (for benchmarks).
    pub fn open_with(url: &DatabaseUrl, options: WriterOptions) -> Result<Self, StoreError> {
        let mut client = url.connect()?;
        let found = schema::migrate(&mut client).map_err(|e| pool::store_error(url, &e))?;
        if found < schema::latest_version() {
            tracing::info!(
                from = found,
                to = schema::latest_version(),
                database = url.shown(),
                "database schema brought up to date"
            );
        }
        let high: i64 = client
            .query_one("SELECT COALESCE(MAX(seq), 0) FROM changes", &[])
            .map_err(|e| pool::store_error(url, &e))?
            .get(0);
        let writer = Writer::start(url.clone(), client, options)?;
        let (changes, _) = broadcast::channel(BROADCAST_CAPACITY);
        let (published_tx, published) = watch::channel(high);
        let listener = Listener::start(url.clone(), high, changes.clone(), published_tx)
            .map_err(|e| StoreError::Unavailable(format!("could not start the live feed: {e}")))?;
        Ok(Self {
            writer,
            pool: Arc::new(Pool::new(url.clone())),
            changes,
            listener: Arc::new(Mutex::new(Some(listener))),
            published,
            holder: lease_holder(),
        })
    }

    /// [`open`](Self::open) from async code.
    pub async fn open_async(url: DatabaseUrl) -> Result<Self, StoreError> {
        tokio::task::spawn_blocking(move || Self::open(&url))
            .await
            .map_err(|e| StoreError::Unavailable(format!("could not open the database: {e}")))?
    }

    /// Waits (briefly) until the live feed has published every change up to `seq`, so that a
    /// write answers only once its changes have reached this server's subscribers, as on
    /// SQLite: a subscriber that joins after a write never receives that write's change.
    /// Bounded: a feed that lost the database catches up later, and the write is committed.
    async fn published_through(&self, seq: i64) {
        if seq <= 0 {
            return;
        }
        let mut published = self.published.clone();
        let _ = tokio::time::timeout(
            PUBLISH_WAIT,
            published.wait_for(|&published| published >= seq),
        )
        .await;
    }

    /// This store as the shared handle the server holds.
    pub fn shared(self) -> SharedStore {
        Arc::new(self)
    }

    /// The database address, without its password.
    pub fn shown_url(&self) -> &str {
        self.pool.url().shown()
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn deliver(&self, delivery: VerifiedDelivery) -> Result<IngestOutcome, StoreError> {
        let outcome = self.writer.deliver(delivery).await?;
        if let IngestOutcome::Applied(change) = &outcome {
            self.published_through(change.seq).await;
        }
        Ok(outcome)
    }

    fn log_rejected(&self, rejected: RejectedDelivery) {
        self.writer.log_rejected(rejected);
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    fn health(&self) -> StoreHealth {
        StoreHealth {
            storage_failing: self.writer.storage_failing(),
            rejections_dropped: self.writer.rejections_dropped(),
        }
    }

    async fn shutdown(&self) {
        self.writer.shutdown_async().await;
        let listener = self.listener.lock().expect("listener lock").take();
        if let Some(mut listener) = listener {
            let _ = tokio::task::spawn_blocking(move || listener.stop()).await;
        }
        self.pool.clear();
    }

    async fn changes_after(
        &self,
        scope: &Scope,
        after: i64,
        limit: usize,
        filter: &RecordFilter,
    ) -> Result<Vec<Change>, StoreError> {
        let filter = filter.within(scope);
        self.pool
            .run(move |c| queries::changes_after(c, after, limit, &filter))
            .await
    }

    async fn latest_changes(
        &self,
        scope: &Scope,
        before: Option<i64>,
        limit: usize,
        filter: &RecordFilter,
    ) -> Result<Vec<Change>, StoreError> {
        let filter = filter.within(scope);
        self.pool
            .run(move |c| queries::latest_changes(c, before, limit, &filter))
            .await
    }

    async fn last_change_seq(&self, scope: &Scope) -> Result<i64, StoreError> {
        let scope = scope.clone();
        self.pool
            .run(move |c| queries::last_change_seq(c, &scope))
            .await
    }

    async fn attendance(
        &self,
        scope: &Scope,
        filter: &RecordFilter,
        include_deleted: bool,
        limit: usize,
    ) -> Result<Vec<AttendanceRow>, StoreError> {
        let filter = filter.within(scope);
        self.pool
            .run(move |c| queries::attendance(c, &filter, include_deleted, limit))
            .await
    }

    async fn record_history(
        &self,
        scope: &Scope,
        tenant: &str,
        attendance_id: i64,
    ) -> Result<Vec<Change>, StoreError> {
        if !scope.allows(tenant) {
            return Ok(Vec::new());
        }
        let tenant = tenant.to_string();
        self.pool
            .run(move |c| queries::record_history(c, &tenant, attendance_id))
            .await
    }

    async fn board(
        &self,
        scope: &Scope,
        date: &str,
        by: BoardGrouping,
    ) -> Result<Vec<BoardGroup>, StoreError> {
        let (scope, date) = (scope.clone(), date.to_string());
        self.pool
            .run(move |c| queries::board(c, &scope, &date, by))
            .await
    }

    async fn deliveries(
        &self,
        scope: &Scope,
        outcome: Option<DeliveryOutcome>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let scope = scope.clone();
        self.pool
            .run(move |c| queries::deliveries(c, &scope, outcome, before, limit))
            .await
    }

    async fn delivery_counts(&self) -> Result<Vec<(DeliveryOutcome, i64)>, StoreError> {
        self.pool.run(queries::delivery_counts).await
    }

    async fn last_delivery_at(&self) -> Result<Option<i64>, StoreError> {
        self.pool.run(queries::last_delivery_at).await
    }

    async fn refused_for_secret(
        &self,
        range: RecheckRange,
        limit: usize,
    ) -> Result<RefusedForSecret, StoreError> {
        self.pool
            .run(move |c| recheck::refused_for_secret(c, range, limit))
            .await
    }

    async fn mark_rechecked(
        &self,
        marks: Vec<(i64, RecheckResult)>,
        now: i64,
    ) -> Result<usize, StoreError> {
        self.writer
            .transact(move |t| recheck::mark_rechecked(t, &marks, now))
            .await
    }

    // The reference tables hold the names of the schools this database serves; as on SQLite,
    // a scope does not narrow them (ids are DreamClass's, per installation).
    async fn reference(&self, scope: &Scope) -> Result<Reference, StoreError> {
        let scope = scope.clone();
        self.pool
            .run(move |c| reference::load_reference(c, &scope))
            .await
    }

    async fn names_of(
        &self,
        scope: &Scope,
        tenant: String,
        ids: Vec<NamedId>,
    ) -> Result<HashMap<NamedId, String>, StoreError> {
        if !scope.allows(&tenant) {
            return Ok(HashMap::new());
        }
        self.pool
            .run(move |c| reference::names_of(c, &tenant, &ids))
            .await
    }

    async fn known_ids(&self, scope: &Scope) -> Result<KnownIds, StoreError> {
        let scope = scope.clone();
        self.pool
            .run(move |c| reference::known_ids(c, &scope))
            .await
    }

    async fn attendance_has_unknown_ids(&self, scope: &Scope) -> Result<bool, StoreError> {
        let scope = scope.clone();
        self.pool
            .run(move |c| reference::attendance_has_unknown_ids(c, &scope))
            .await
    }

    async fn store_reference(
        &self,
        fetched: FetchedReference,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.writer
            .transact(move |t| reference::store_fetched(t, &fetched, now))
            .await
    }

    async fn set_status_category(
        &self,
        tenant: String,
        status_id: i64,
        category: Option<StatusCategory>,
    ) -> Result<bool, StoreError> {
        self.writer
            .transact(move |t| reference::set_status_category(t, &tenant, status_id, category))
            .await
    }

    async fn apply_reference_update(
        &self,
        tenant: String,
        update: ReferenceUpdate,
        now: i64,
    ) -> Result<ReferenceWebhookEffect, StoreError> {
        self.writer
            .transact(move |t| reference::apply_reference_update(t, &tenant, &update, now))
            .await
    }

    async fn begin_listening(&self, now: i64) -> Result<(i64, Option<Gap>), StoreError> {
        self.writer
            .transact(move |t| listening::begin(t, now))
            .await
    }

    async fn heartbeat(&self, period_id: i64, now: i64) -> Result<(), StoreError> {
        self.writer
            .transact(move |t| listening::heartbeat(t, period_id, now))
            .await
    }

    async fn end_listening(&self, period_id: i64, now: i64) -> Result<(), StoreError> {
        self.writer
            .transact(move |t| listening::end(t, period_id, now))
            .await
    }

    async fn pending_gaps(&self) -> Result<Vec<Gap>, StoreError> {
        self.pool.run(listening::pending_gaps).await
    }

    async fn mark_recovered(
        &self,
        gap_ids: Vec<i64>,
        now: i64,
        summary: String,
    ) -> Result<(), StoreError> {
        self.writer
            .transact(move |t| listening::mark_recovered(t, &gap_ids, now, &summary))
            .await
    }

    async fn reconcile_day(&self, day: ReconcileDay) -> Result<DayCounts, StoreError> {
        let counts = self
            .writer
            .transact(move |t| recovery::reconcile_day(t, &day))
            .await?;
        self.published_through(self.writer.last_committed_seq())
            .await;
        Ok(counts)
    }

    async fn purge_deliveries_before(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        self.writer
            .transact(move |t| listening::purge_deliveries_before(t, cutoff_ms))
            .await
            .map(|n| n as usize)
    }

    async fn purge_school(&self, tenant: &str, school: &str) -> Result<PurgedSchool, StoreError> {
        let (tenant, school) = (tenant.to_string(), school.to_string());
        self.writer
            .transact(move |t| listening::purge_school(t, &tenant, &school))
            .await
    }

    async fn take_lease(&self, job: &str, for_ms: i64) -> Result<bool, StoreError> {
        let (job, holder) = (job.to_string(), self.holder.clone());
        let now = rollcall_core::model::now_ms();
        self.writer
            .transact(move |t| listening::take_lease(t, &job, &holder, now, for_ms))
            .await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.pool.run(accounts::accounts).await
    }

    async fn save_account(&self, account: AccountWrite) -> Result<i64, StoreError> {
        self.writer
            .transact(move |t| accounts::save_account(t, &account))
            .await
    }

    async fn note_sign_in(
        &self,
        account_id: i64,
        attempt: SignInAttempt,
    ) -> Result<(), StoreError> {
        self.writer
            .transact(move |t| accounts::note_sign_in(t, account_id, attempt))
            .await
    }

    async fn create_session(&self, session: SessionRecord) -> Result<(), StoreError> {
        self.writer
            .transact(move |t| accounts::create_session(t, &session))
            .await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(SessionRecord, Account)>, StoreError> {
        let token_hash = token_hash.to_string();
        self.pool
            .run(move |c| accounts::session(c, &token_hash, now))
            .await
    }

    async fn end_sessions(&self, end: EndSessions) -> Result<usize, StoreError> {
        self.writer
            .transact(move |t| accounts::end_sessions(t, &end))
            .await
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.writer
            .transact(move |t| accounts::append_audit(t, &entry))
            .await
    }

    async fn audit_log(
        &self,
        before_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.pool
            .run(move |c| accounts::audit_log(c, before_id, limit))
            .await
    }

    async fn summary(
        &self,
        scope: &Scope,
        filter: &RecordFilter,
        settings: &ReportSettings,
    ) -> Result<Summary, StoreError> {
        let (filter, settings) = (filter.within(scope), *settings);
        self.pool
            .run(move |c| reports::summary(c, &filter, &settings))
            .await
    }

    async fn alerts(
        &self,
        scope: &Scope,
        today: NaiveDate,
        settings: &ReportSettings,
    ) -> Result<Vec<Alert>, StoreError> {
        let (scope, settings) = (scope.clone(), *settings);
        self.pool
            .run(move |c| reports::alerts(c, &scope, today, &settings))
            .await
    }

    async fn lessons_not_taken(
        &self,
        scope: &Scope,
        day: NaiveDate,
    ) -> Result<NotTakenDay, StoreError> {
        let scope = scope.clone();
        self.pool
            .run(move |c| reports::lessons_not_taken(c, &scope, day))
            .await
    }

    async fn export(
        &self,
        scope: &Scope,
        request: &ExportRequest,
        out: ExportSink,
        progress: Option<ExportProgress>,
    ) -> Result<u64, ExportError> {
        let mut request = request.clone();
        request.filter = request.filter.within(scope);
        let url = self.pool.url().clone();
        self.pool
            .run(move |c| Ok(reports::export(c, &url, &request, out, progress)))
            .await?
    }
}

fn lease_holder() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|| "server".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{host}:{}:{nanos:08x}", std::process::id())
}
