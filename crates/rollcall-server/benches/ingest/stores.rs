//! The stores the benchmark puts behind the real listener: the real SQLite store with only
//! `deliver` replaced, so everything but the storage of a delivery (settings, names, the
//! listening period, the rejected log) behaves as in production.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use rollcall_core::accounts::{
    Account, AccountWrite, AuditEntry, EndSessions, SessionRecord, SignInAttempt,
};
use rollcall_core::filter::RecordFilter;
use rollcall_core::model::{AttendanceRow, Change, DeliveryOutcome, DeliveryRow, StatusCategory};
use rollcall_core::reports::{Alert, ExportError, ExportRequest, ReportSettings, Summary};
use rollcall_core::rusqlite::{params, Connection, TransactionBehavior};
use rollcall_core::scope::Scope;
use rollcall_core::store::queries::{BoardGroup, BoardGrouping};
use rollcall_core::store::recovery::{DayCounts, ReconcileDay};
use rollcall_core::store::reference::{
    FetchedReference, KnownIds, NamedId, Reference, ReferenceUpdate, ReferenceWebhookEffect,
};
use rollcall_core::store::{
    ExportProgress, ExportSink, Gap, IngestOutcome, RejectedDelivery, SharedStore, SqliteStore,
    Store, StoreError, StoreHealth, VerifiedDelivery,
};
use tokio::sync::broadcast;

/// What `deliver` does instead of the store's group commit.
pub enum Delivery {
    /// Answers at once, stores nothing: the ceiling of HTTP, parsing and verification.
    NoOp,
    /// Inserts the delivery in its own transaction on one connection (WAL,
    /// `synchronous=FULL`), as a design that commits each request before answering it would:
    /// concurrent requests take turns on the connection, each paying its own fsync.
    OneCommitPerEvent(Arc<Mutex<Connection>>),
}

impl Delivery {
    /// A one-commit-per-event database at `path`, beside the store's own.
    pub fn one_commit_per_event(path: &Path) -> Self {
        let conn = Connection::open(path).unwrap();
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
            .unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS deliveries
                 (seq INTEGER PRIMARY KEY, received_at INTEGER, request_id TEXT, body BLOB)",
        )
        .unwrap();
        Self::OneCommitPerEvent(Arc::new(Mutex::new(conn)))
    }
}

/// The SQLite store in `dir`, with [`Delivery`] in place of its `deliver`.
pub struct BenchStore {
    inner: SharedStore,
    delivery: Delivery,
}

impl BenchStore {
    pub fn open(dir: &Path, delivery: Delivery) -> SharedStore {
        let inner = SqliteStore::open(&dir.join(rollcall_core::store::DATABASE_FILE))
            .unwrap()
            .shared();
        Arc::new(Self { inner, delivery })
    }
}

#[async_trait::async_trait]
impl Store for BenchStore {
    async fn deliver(&self, delivery: VerifiedDelivery) -> Result<IngestOutcome, StoreError> {
        match &self.delivery {
            Delivery::NoOp => Ok(IngestOutcome::Ignored),
            Delivery::OneCommitPerEvent(conn) => {
                let conn = conn.clone();
                tokio::task::spawn_blocking(move || {
                    let mut conn = conn.lock().unwrap();
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    tx.prepare_cached(
                        "INSERT INTO deliveries (received_at, request_id, body) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![
                        delivery.received_at,
                        delivery.envelope.request_id,
                        delivery.raw_body
                    ])?;
                    tx.commit()?;
                    Ok(IngestOutcome::Ignored)
                })
                .await
                .unwrap()
                .map_err(|e: rollcall_core::rusqlite::Error| StoreError::from(e))
            }
        }
    }

    fn log_rejected(&self, rejected: RejectedDelivery) {
        self.inner.log_rejected(rejected)
    }

    async fn refused_for_secret(
        &self,
        range: rollcall_core::store::RecheckRange,
        limit: usize,
    ) -> Result<rollcall_core::store::RefusedForSecret, StoreError> {
        self.inner.refused_for_secret(range, limit).await
    }

    async fn mark_rechecked(
        &self,
        marks: Vec<(i64, rollcall_core::store::RecheckResult)>,
        now: i64,
    ) -> Result<usize, StoreError> {
        self.inner.mark_rechecked(marks, now).await
    }

    async fn lessons_not_taken(
        &self,
        scope: &Scope,
        day: NaiveDate,
    ) -> Result<rollcall_core::reports::NotTakenDay, StoreError> {
        self.inner.lessons_not_taken(scope, day).await
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.inner.subscribe()
    }

    fn health(&self) -> StoreHealth {
        self.inner.health()
    }

    async fn shutdown(&self) {
        self.inner.shutdown().await
    }

    async fn changes_after(
        &self,
        scope: &Scope,
        after: i64,
        limit: usize,
        filter: &RecordFilter,
    ) -> Result<Vec<Change>, StoreError> {
        self.inner.changes_after(scope, after, limit, filter).await
    }

    async fn latest_changes(
        &self,
        scope: &Scope,
        before: Option<i64>,
        limit: usize,
        filter: &RecordFilter,
    ) -> Result<Vec<Change>, StoreError> {
        self.inner
            .latest_changes(scope, before, limit, filter)
            .await
    }

    async fn last_change_seq(&self, scope: &Scope) -> Result<i64, StoreError> {
        self.inner.last_change_seq(scope).await
    }

    async fn attendance(
        &self,
        scope: &Scope,
        filter: &RecordFilter,
        include_deleted: bool,
        limit: usize,
    ) -> Result<Vec<AttendanceRow>, StoreError> {
        self.inner
            .attendance(scope, filter, include_deleted, limit)
            .await
    }

    async fn record_history(
        &self,
        scope: &Scope,
        tenant: &str,
        attendance_id: i64,
    ) -> Result<Vec<Change>, StoreError> {
        self.inner
            .record_history(scope, tenant, attendance_id)
            .await
    }

    async fn board(
        &self,
        scope: &Scope,
        date: &str,
        by: BoardGrouping,
    ) -> Result<Vec<BoardGroup>, StoreError> {
        self.inner.board(scope, date, by).await
    }

    async fn deliveries(
        &self,
        scope: &Scope,
        outcome: Option<DeliveryOutcome>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        self.inner.deliveries(scope, outcome, before, limit).await
    }

    async fn delivery_counts(&self) -> Result<Vec<(DeliveryOutcome, i64)>, StoreError> {
        self.inner.delivery_counts().await
    }

    async fn last_delivery_at(&self) -> Result<Option<i64>, StoreError> {
        self.inner.last_delivery_at().await
    }

    async fn reference(&self, scope: &Scope) -> Result<Reference, StoreError> {
        self.inner.reference(scope).await
    }

    async fn names_of(
        &self,
        scope: &Scope,
        tenant: String,
        ids: Vec<NamedId>,
    ) -> Result<HashMap<NamedId, String>, StoreError> {
        self.inner.names_of(scope, tenant, ids).await
    }

    async fn known_ids(&self, scope: &Scope) -> Result<KnownIds, StoreError> {
        self.inner.known_ids(scope).await
    }

    async fn attendance_has_unknown_ids(&self, scope: &Scope) -> Result<bool, StoreError> {
        self.inner.attendance_has_unknown_ids(scope).await
    }

    async fn store_reference(
        &self,
        fetched: FetchedReference,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.inner.store_reference(fetched, now).await
    }

    async fn set_status_category(
        &self,
        tenant: String,
        status_id: i64,
        category: Option<StatusCategory>,
    ) -> Result<bool, StoreError> {
        self.inner
            .set_status_category(tenant, status_id, category)
            .await
    }

    async fn apply_reference_update(
        &self,
        tenant: String,
        update: ReferenceUpdate,
        now: i64,
    ) -> Result<ReferenceWebhookEffect, StoreError> {
        self.inner.apply_reference_update(tenant, update, now).await
    }

    async fn begin_listening(&self, now: i64) -> Result<(i64, Option<Gap>), StoreError> {
        self.inner.begin_listening(now).await
    }

    async fn heartbeat(&self, period_id: i64, now: i64) -> Result<(), StoreError> {
        self.inner.heartbeat(period_id, now).await
    }

    async fn end_listening(&self, period_id: i64, now: i64) -> Result<(), StoreError> {
        self.inner.end_listening(period_id, now).await
    }

    async fn pending_gaps(&self) -> Result<Vec<Gap>, StoreError> {
        self.inner.pending_gaps().await
    }

    async fn mark_recovered(
        &self,
        gap_ids: Vec<i64>,
        now: i64,
        summary: String,
    ) -> Result<(), StoreError> {
        self.inner.mark_recovered(gap_ids, now, summary).await
    }

    async fn reconcile_day(&self, day: ReconcileDay) -> Result<DayCounts, StoreError> {
        self.inner.reconcile_day(day).await
    }

    async fn purge_deliveries_before(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        self.inner.purge_deliveries_before(cutoff_ms).await
    }

    async fn purge_school(
        &self,
        tenant: &str,
        school: &str,
    ) -> Result<rollcall_core::store::PurgedSchool, StoreError> {
        self.inner.purge_school(tenant, school).await
    }

    async fn take_lease(&self, job: &str, for_ms: i64) -> Result<bool, StoreError> {
        self.inner.take_lease(job, for_ms).await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.inner.accounts().await
    }

    async fn save_account(&self, account: AccountWrite) -> Result<i64, StoreError> {
        self.inner.save_account(account).await
    }

    async fn note_sign_in(
        &self,
        account_id: i64,
        attempt: SignInAttempt,
    ) -> Result<(), StoreError> {
        self.inner.note_sign_in(account_id, attempt).await
    }

    async fn create_session(&self, session: SessionRecord) -> Result<(), StoreError> {
        self.inner.create_session(session).await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(SessionRecord, Account)>, StoreError> {
        self.inner.session(token_hash, now).await
    }

    async fn end_sessions(&self, end: EndSessions) -> Result<usize, StoreError> {
        self.inner.end_sessions(end).await
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.inner.audit(entry).await
    }

    async fn audit_log(
        &self,
        before_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit_log(before_id, limit).await
    }

    async fn summary(
        &self,
        scope: &Scope,
        filter: &RecordFilter,
        settings: &ReportSettings,
    ) -> Result<Summary, StoreError> {
        self.inner.summary(scope, filter, settings).await
    }

    async fn alerts(
        &self,
        scope: &Scope,
        today: NaiveDate,
        settings: &ReportSettings,
    ) -> Result<Vec<Alert>, StoreError> {
        self.inner.alerts(scope, today, settings).await
    }

    async fn export(
        &self,
        scope: &Scope,
        request: &ExportRequest,
        out: ExportSink,
        progress: Option<ExportProgress>,
    ) -> Result<u64, ExportError> {
        self.inner.export(scope, request, out, progress).await
    }
}
