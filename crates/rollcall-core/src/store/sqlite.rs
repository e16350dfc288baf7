//! [`SqliteStore`]: the [`Store`] on one SQLite file. Writes go through the
//! [`IngestWriter`] (one thread, group commit); reads run on the [`ReadPool`]'s read-only
//! connections off the async threads (WAL: readers never hold up the writer).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use tokio::sync::broadcast;

use super::api::{ExportProgress, ExportProgressUpdate, ExportSink, Store, StoreHealth};
use super::ingest::{IngestOutcome, RejectedDelivery, VerifiedDelivery};
use super::listening::{self, Gap};
use super::purge::{self, PurgedSchool};
use super::queries::{self, BoardGroup, BoardGrouping};
use super::recheck::{self, RecheckRange, RecheckResult, RefusedForSecret};
use super::recovery::{self, DayCounts, ReconcileDay};
use super::reference::{
    self, FetchedReference, KnownIds, NamedId, Reference, ReferenceUpdate, ReferenceWebhookEffect,
};
use super::{accounts, care, IngestWriter, ReadPool, StoreError};
use crate::accounts::{
    Account, AccountWrite, AuditEntry, EndSessions, SessionRecord, SignInAttempt,
};
use crate::filter::RecordFilter;
use crate::model::{AttendanceRow, Change, DeliveryOutcome, DeliveryRow, StatusCategory};
use crate::reports::{
    self, Alert, ExportError, ExportRequest, NotTakenDay, ReportSettings, Summary,
};
use crate::scope::Scope;

/// The SQLite store: the writer thread and a pool of read connections on one file.
#[derive(Clone)]
pub struct SqliteStore {
    writer: IngestWriter,
    reads: Arc<ReadPool>,
}

impl SqliteStore {
    /// Opens (creating and migrating) the database at `path` and starts its writer.
    /// Blocking: the migration may take a moment on a large file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let writer = IngestWriter::start(path)?;
        Ok(Self::new(writer, Arc::new(ReadPool::new(path))))
    }

    /// A store on a writer and read pool already started on the same file.
    pub fn new(writer: IngestWriter, reads: Arc<ReadPool>) -> Self {
        Self { writer, reads }
    }

    /// Stores a server's changes in this copy with the server's sequence numbers (a viewer's
    /// local copy: [`super::replica`]); once committed they go out on this store's stream.
    pub async fn replicate(&self, changes: Vec<Change>) -> Result<super::Replicated, StoreError> {
        self.writer
            .transact(move |t, published| super::replica::store_changes(t, &changes, published))
            .await
    }

    /// Empties a viewer's copy: its changes, attendance and names.
    pub async fn clear_copy(&self) -> Result<(), StoreError> {
        self.writer.transact(|t, _| super::replica::clear(t)).await
    }

    /// This store as the shared handle the server and the shell hold.
    pub fn shared(self) -> super::SharedStore {
        Arc::new(self)
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn deliver(&self, delivery: VerifiedDelivery) -> Result<IngestOutcome, StoreError> {
        self.writer.deliver(delivery).await
    }

    fn log_rejected(&self, rejected: RejectedDelivery) {
        self.writer.log_rejected(rejected);
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.writer.subscribe()
    }

    fn health(&self) -> StoreHealth {
        StoreHealth {
            storage_failing: self.writer.storage_failing(),
            rejections_dropped: self.writer.rejections_dropped(),
        }
    }

    async fn shutdown(&self) {
        self.writer.shutdown_async().await;
    }

    async fn changes_after(
        &self,
        scope: &Scope,
        after: i64,
        limit: usize,
        filter: &RecordFilter,
    ) -> Result<Vec<Change>, StoreError> {
        let filter = filter.within(scope);
        self.reads
            .read(move |c| queries::changes_after(c, after, limit, &filter))
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
        self.reads
            .read(move |c| queries::latest_changes(c, before, limit, &filter))
            .await
    }

    async fn last_change_seq(&self, scope: &Scope) -> Result<i64, StoreError> {
        let scope = scope.clone();
        self.reads
            .read(move |c| queries::last_change_seq_in(c, &scope))
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
        self.reads
            .read(move |c| queries::attendance(c, &filter, include_deleted, limit))
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
        self.reads
            .read(move |c| queries::record_history(c, &tenant, attendance_id))
            .await
    }

    async fn board(
        &self,
        scope: &Scope,
        date: &str,
        by: BoardGrouping,
    ) -> Result<Vec<BoardGroup>, StoreError> {
        let (scope, date) = (scope.clone(), date.to_string());
        self.reads
            .read(move |c| queries::board_in(c, &scope, &date, by))
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
        self.reads
            .read(move |c| queries::deliveries_in(c, &scope, outcome, before, limit))
            .await
    }

    async fn delivery_counts(&self) -> Result<Vec<(DeliveryOutcome, i64)>, StoreError> {
        self.reads.read(queries::delivery_counts).await
    }

    async fn last_delivery_at(&self) -> Result<Option<i64>, StoreError> {
        self.reads.read(queries::last_delivery_at).await
    }

    async fn refused_for_secret(
        &self,
        range: RecheckRange,
        limit: usize,
    ) -> Result<RefusedForSecret, StoreError> {
        self.reads
            .read(move |c| recheck::refused_for_secret(c, range, limit))
            .await
    }

    async fn mark_rechecked(
        &self,
        marks: Vec<(i64, RecheckResult)>,
        now: i64,
    ) -> Result<usize, StoreError> {
        self.writer
            .transact(move |t, _| recheck::mark_rechecked(t, &marks, now))
            .await
    }

    async fn reference(&self, scope: &Scope) -> Result<Reference, StoreError> {
        let scope = scope.clone();
        self.reads
            .read(move |c| reference::load_reference(c, &scope))
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
        self.reads
            .read(move |c| reference::names_of(c, &tenant, &ids))
            .await
    }

    async fn known_ids(&self, scope: &Scope) -> Result<KnownIds, StoreError> {
        let scope = scope.clone();
        self.reads.read(move |c| KnownIds::load(c, &scope)).await
    }

    async fn attendance_has_unknown_ids(&self, scope: &Scope) -> Result<bool, StoreError> {
        let scope = scope.clone();
        self.reads
            .read(move |c| reference::attendance_has_unknown_ids(c, &scope))
            .await
    }

    async fn store_reference(
        &self,
        fetched: FetchedReference,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.writer
            .transact(move |t, _| reference::store_fetched(t, &fetched, now))
            .await
    }

    async fn set_status_category(
        &self,
        tenant: String,
        status_id: i64,
        category: Option<StatusCategory>,
    ) -> Result<bool, StoreError> {
        self.writer
            .transact(move |t, _| reference::set_status_category(t, &tenant, status_id, category))
            .await
    }

    async fn apply_reference_update(
        &self,
        tenant: String,
        update: ReferenceUpdate,
        now: i64,
    ) -> Result<ReferenceWebhookEffect, StoreError> {
        self.writer
            .transact(move |t, _| reference::apply_reference_update(t, &tenant, &update, now))
            .await
    }

    async fn begin_listening(&self, now: i64) -> Result<(i64, Option<Gap>), StoreError> {
        self.writer
            .transact(move |t, _| listening::begin(t, now))
            .await
    }

    async fn heartbeat(&self, period_id: i64, now: i64) -> Result<(), StoreError> {
        self.writer
            .transact(move |t, _| listening::heartbeat(t, period_id, now))
            .await
    }

    async fn end_listening(&self, period_id: i64, now: i64) -> Result<(), StoreError> {
        self.writer
            .transact(move |t, _| listening::end(t, period_id, now))
            .await
    }

    async fn pending_gaps(&self) -> Result<Vec<Gap>, StoreError> {
        self.reads.read(listening::pending_gaps).await
    }

    async fn mark_recovered(
        &self,
        gap_ids: Vec<i64>,
        now: i64,
        summary: String,
    ) -> Result<(), StoreError> {
        self.writer
            .transact(move |t, _| listening::mark_recovered(t, &gap_ids, now, &summary))
            .await
    }

    async fn reconcile_day(&self, day: ReconcileDay) -> Result<DayCounts, StoreError> {
        self.writer
            .transact(move |t, changes| recovery::reconcile_day(t, &day, changes))
            .await
    }

    async fn purge_deliveries_before(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        self.writer
            .transact(move |t, _| care::purge_deliveries_before(t, cutoff_ms))
            .await
    }

    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.reads.read(accounts::accounts).await
    }

    async fn save_account(&self, account: AccountWrite) -> Result<i64, StoreError> {
        self.writer
            .transact(move |t, _| accounts::save_account(t, &account))
            .await
    }

    async fn note_sign_in(
        &self,
        account_id: i64,
        attempt: SignInAttempt,
    ) -> Result<(), StoreError> {
        self.writer
            .transact(move |t, _| accounts::note_sign_in(t, account_id, attempt))
            .await
    }

    async fn create_session(&self, session: SessionRecord) -> Result<(), StoreError> {
        self.writer
            .transact(move |t, _| accounts::create_session(t, &session))
            .await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(SessionRecord, Account)>, StoreError> {
        let token_hash = token_hash.to_string();
        self.reads
            .read(move |c| accounts::session(c, &token_hash, now))
            .await
    }

    async fn end_sessions(&self, end: EndSessions) -> Result<usize, StoreError> {
        self.writer
            .transact(move |t, _| accounts::end_sessions(t, &end))
            .await
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.writer
            .transact(move |t, _| accounts::append_audit(t, &entry))
            .await
    }

    async fn audit_log(
        &self,
        before_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.reads
            .read(move |c| accounts::audit_log(c, before_id, limit))
            .await
    }

    async fn purge_school(&self, tenant: &str, school: &str) -> Result<PurgedSchool, StoreError> {
        let (tenant, school) = (tenant.to_string(), school.to_string());
        self.writer
            .transact(move |t, _| purge::purge_school(t, &tenant, &school))
            .await
    }

    async fn summary(
        &self,
        scope: &Scope,
        filter: &RecordFilter,
        settings: &ReportSettings,
    ) -> Result<Summary, StoreError> {
        let (filter, settings) = (filter.within(scope), *settings);
        self.reads
            .read(move |c| reports::summary(c, &filter, &settings))
            .await
    }

    async fn alerts(
        &self,
        scope: &Scope,
        today: NaiveDate,
        settings: &ReportSettings,
    ) -> Result<Vec<Alert>, StoreError> {
        let (scope, settings) = (scope.clone(), *settings);
        self.reads
            .read(move |c| reports::alerts_in(c, &scope, today, &settings))
            .await
    }

    async fn lessons_not_taken(
        &self,
        scope: &Scope,
        day: NaiveDate,
    ) -> Result<NotTakenDay, StoreError> {
        let scope = scope.clone();
        self.reads
            .read(move |c| reports::lessons_not_taken(c, &scope, day))
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
        // The export holds its read connection (and one snapshot) for as long as the writer
        // takes: a slow download slows the export instead of filling memory.
        self.reads
            .read(move |conn| Ok(export_on(conn, &request, out, progress)))
            .await?
    }
}

/// Writes `request` on one read connection, in one snapshot when progress is counted.
fn export_on(
    conn: &rusqlite::Connection,
    request: &ExportRequest,
    out: ExportSink,
    progress: Option<ExportProgress>,
) -> Result<u64, ExportError> {
    let Some(mut progress) = progress else {
        return reports::write_report(conn, request.kind, &request.filter, &request.options, out);
    };
    // One snapshot for the count and the rows, so the bar ends exactly at its total.
    let snapshot = conn.unchecked_transaction()?;
    let total_rows =
        reports::count_report_rows(&snapshot, request.kind, &request.filter, &request.options)?;
    let mut tell = |rows_written| {
        progress(ExportProgressUpdate {
            rows_written,
            total_rows,
        })
    };
    if tell(0).is_break() {
        return Err(ExportError::Cancelled);
    }
    reports::write_report_with_progress(
        &snapshot,
        request.kind,
        &request.filter,
        &request.options,
        out,
        &mut tell,
    )
}
