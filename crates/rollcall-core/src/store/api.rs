//! [`Store`]: everything Rollcall keeps, behind one trait. This file is the whole contract;
//! [`super::SqliteStore`] is the first implementation (one writer thread with group commit,
//! read-only connections for queries) and a PostgreSQL one is meant to be the second.
//!
//! Rules every implementation keeps:
//! - **Durable before answered.** A write method returns `Ok` only once its effect is
//!   committed; [`Store::deliver`] is what the webhook's `200` waits for.
//! - **Newest DreamClass timestamp wins** per attendance record, whichever way a version
//!   arrives (webhook or recovery); equal timestamps are ordered by request id.
//! - **One change log.** Every applied change gets the next sequence number and is
//!   broadcast to [`Store::subscribe`]rs after commit, in sequence order.
//! - **Reads are scoped.** Every read of school data takes a [`Scope`] and never returns a
//!   row of a tenant it does not allow. [`Scope::all`] is what a single office uses.
//! - **Exports stream.** [`Store::export`] writes row by row into the caller's writer from
//!   one consistent snapshot; it never holds a whole report in memory.
//!
//! Errors are [`StoreError`]s: their `Display` is for the log, `user_message` for people.

use std::collections::HashMap;
use std::io::Write;
use std::ops::ControlFlow;
use std::sync::Arc;

use chrono::NaiveDate;
use tokio::sync::broadcast;

use super::ingest::{IngestOutcome, RejectedDelivery, VerifiedDelivery};
use super::listening::Gap;
use super::purge::PurgedSchool;
use super::queries::{BoardGroup, BoardGrouping};
use super::recheck::{RecheckRange, RecheckResult, RefusedForSecret};
use super::recovery::{DayCounts, ReconcileDay};
use super::reference::{
    FetchedReference, KnownIds, NamedId, Reference, ReferenceUpdate, ReferenceWebhookEffect,
};
use super::StoreError;
use crate::accounts::{
    Account, AccountWrite, AuditEntry, EndSessions, SessionRecord, SignInAttempt,
};
use crate::filter::RecordFilter;
use crate::model::{AttendanceRow, Change, DeliveryOutcome, DeliveryRow, StatusCategory};
use crate::reports::{Alert, ExportError, ExportRequest, NotTakenDay, ReportSettings, Summary};
use crate::scope::Scope;

/// A shared handle to the store, as servers and the desktop shell hold it.
pub type SharedStore = Arc<dyn Store>;

/// Where an export writes: any blocking writer the store may move to its own thread.
pub type ExportSink = Box<dyn Write + Send>;

/// Told how far a saved export is; answering [`ControlFlow::Break`] cancels it.
pub type ExportProgress = Box<dyn FnMut(ExportProgressUpdate) -> ControlFlow<()> + Send>;

/// How far an export with progress is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportProgressUpdate {
    pub rows_written: u64,
    /// The rows the export will write in all (counted in the same snapshot).
    pub total_rows: u64,
}

/// How the store itself is doing, for the status line and the tray.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreHealth {
    /// The last commit failed (full disk, locked database); cleared by the next success.
    pub storage_failing: bool,
    /// Rejected-delivery log entries dropped because the store was saturated.
    pub rejections_dropped: u64,
}

#[async_trait::async_trait]
pub trait Store: Send + Sync {
    // ----- Ingest -------------------------------------------------------------------

    /// Stores a verified delivery and says what became of it (applied, superseded,
    /// duplicate, ignored, conflict). Returns once the outcome is durable.
    async fn deliver(&self, delivery: VerifiedDelivery) -> Result<IngestOutcome, StoreError>;

    /// Logs a refused delivery without waiting. Under a flood it may be dropped (and
    /// counted in [`StoreHealth::rejections_dropped`]) rather than slow valid deliveries.
    fn log_rejected(&self, rejected: RejectedDelivery);

    /// Every change committed from now on, in sequence order. A receiver that falls behind
    /// gets `Lagged` and catches up with [`Store::changes_after`].
    fn subscribe(&self) -> broadcast::Receiver<Arc<Change>>;

    /// Whether commits are failing, and what was dropped under load.
    fn health(&self) -> StoreHealth;

    /// Commits everything queued, then stops accepting writes (they answer
    /// [`StoreError::Closed`]).
    async fn shutdown(&self);

    // ----- Reads of attendance and the change log -----------------------------------

    /// Changes with a sequence number above `after` that match `filter`, oldest first, at
    /// most `limit`: the live stream's catch-up and the feed's paging forward.
    async fn changes_after(
        &self,
        scope: &Scope,
        after: i64,
        limit: usize,
        filter: &RecordFilter,
    ) -> Result<Vec<Change>, StoreError>;

    /// The newest changes matching `filter` (sequence below `before`, if given), newest
    /// first, at most `limit`: the feed's first screen and its scrolling back.
    async fn latest_changes(
        &self,
        scope: &Scope,
        before: Option<i64>,
        limit: usize,
        filter: &RecordFilter,
    ) -> Result<Vec<Change>, StoreError>;

    /// The highest sequence number among the changes `scope` allows (0 when none): where
    /// a live stream starts.
    async fn last_change_seq(&self, scope: &Scope) -> Result<i64, StoreError>;

    /// Current attendance records matching `filter`, in register order, at most `limit`.
    async fn attendance(
        &self,
        scope: &Scope,
        filter: &RecordFilter,
        include_deleted: bool,
        limit: usize,
    ) -> Result<Vec<AttendanceRow>, StoreError>;

    /// Every change of one record, oldest first (its audit trail); empty when the record
    /// is unknown or outside `scope`.
    async fn record_history(
        &self,
        scope: &Scope,
        tenant: &str,
        attendance_id: i64,
    ) -> Result<Vec<Change>, StoreError>;

    /// Per class or course, the counts of current records by status on `date`.
    async fn board(
        &self,
        scope: &Scope,
        date: &str,
        by: BoardGrouping,
    ) -> Result<Vec<BoardGroup>, StoreError>;

    // ----- The delivery log ---------------------------------------------------------

    /// The delivery log, newest first, optionally of one outcome, below sequence `before`.
    /// Deliveries refused before their school was known are shown only to
    /// [`Scope::all`].
    async fn deliveries(
        &self,
        scope: &Scope,
        outcome: Option<DeliveryOutcome>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<DeliveryRow>, StoreError>;

    /// How many deliveries of each outcome were ever received (running totals of this
    /// installation: the log itself is capped and purged). Outcomes never seen are absent.
    async fn delivery_counts(&self) -> Result<Vec<(DeliveryOutcome, i64)>, StoreError>;

    /// When the newest delivery that was not rejected arrived, if any.
    async fn last_delivery_at(&self) -> Result<Option<i64>, StoreError>;

    /// Deliveries refused for the webhook secret (401 `signature_invalid`,
    /// `signature_missing`, `secret_not_configured`) in `range` that no re-check has decided
    /// yet (never re-checked, or still not verifying), oldest first, at most `limit`, with
    /// their kept bodies; and how many more match after them. Such entries have no school
    /// (it is not known before the signature is), so this is an installation-wide read.
    async fn refused_for_secret(
        &self,
        range: RecheckRange,
        limit: usize,
    ) -> Result<RefusedForSecret, StoreError>;

    /// Marks refused log entries (by sequence) with what their re-check found, at `now`. An
    /// entry a re-check already decided keeps its first result (only
    /// [`RecheckResult::StillUnverified`] may be replaced). Returns how many were marked.
    /// Applying a re-checked delivery is [`Store::deliver`]'s, not this method's.
    async fn mark_rechecked(
        &self,
        marks: Vec<(i64, RecheckResult)>,
        now: i64,
    ) -> Result<usize, StoreError>;

    // ----- Names behind the ids -----------------------------------------------------

    /// Every known name of the schools `scope` allows, as `GET /api/reference` answers.
    /// Names belong to their school (DreamClass ids are per tenant).
    async fn reference(&self, scope: &Scope) -> Result<Reference, StoreError>;

    /// The stored, non-blank names of `ids` of school `tenant`; ids without one are left
    /// out, and every id when `scope` does not allow `tenant`.
    async fn names_of(
        &self,
        scope: &Scope,
        tenant: String,
        ids: Vec<NamedId>,
    ) -> Result<HashMap<NamedId, String>, StoreError>;

    /// The ids that have a name, per school, in the schools `scope` allows.
    async fn known_ids(&self, scope: &Scope) -> Result<KnownIds, StoreError>;

    /// Whether stored attendance of the schools `scope` allows names an id without a name.
    async fn attendance_has_unknown_ids(&self, scope: &Scope) -> Result<bool, StoreError>;

    /// Stores one refresh from the API, under its school (`fetched.tenant`); names no longer
    /// listed are kept. Returns whether a name the user sees changed.
    async fn store_reference(
        &self,
        fetched: FetchedReference,
        now: i64,
    ) -> Result<bool, StoreError>;

    /// Sets (or with `None` clears) the user's category for a status; it survives every
    /// refresh. Returns whether the status is known.
    async fn set_status_category(
        &self,
        tenant: String,
        status_id: i64,
        category: Option<StatusCategory>,
    ) -> Result<bool, StoreError>;

    /// Applies what a reference webhook of school `tenant` said.
    async fn apply_reference_update(
        &self,
        tenant: String,
        update: ReferenceUpdate,
        now: i64,
    ) -> Result<ReferenceWebhookEffect, StoreError>;

    // ----- Listening periods and recovery -------------------------------------------

    /// Starts a listening period at `now`. If an earlier run left a heartbeat, the time
    /// since is recorded as a pending gap. Returns the period's id and that gap.
    async fn begin_listening(&self, now: i64) -> Result<(i64, Option<Gap>), StoreError>;

    /// Records that period `period_id` is still listening at `now` (never moves back).
    async fn heartbeat(&self, period_id: i64, now: i64) -> Result<(), StoreError>;

    /// Ends period `period_id` at `now` (a clean shutdown).
    async fn end_listening(&self, period_id: i64, now: i64) -> Result<(), StoreError>;

    /// Gaps whose missed changes have not been asked for yet, oldest first.
    async fn pending_gaps(&self) -> Result<Vec<Gap>, StoreError>;

    /// Marks gaps as done, with the check's summary sentence.
    async fn mark_recovered(
        &self,
        gap_ids: Vec<i64>,
        now: i64,
        summary: String,
    ) -> Result<(), StoreError>;

    /// Reconciles one day of listed attendance in one transaction; applied changes reach
    /// subscribers marked as recovered. Per listed record whose content differs from the
    /// stored one (and per stored record missing from complete lists, when deletions are
    /// allowed):
    /// - stored version older than (`version_ts`, recovered request id): the listed version
    ///   is applied at `version_ts` (created / updated / deleted);
    /// - otherwise, when the stored version's change is a webhook recorded at or after
    ///   `day.listening_since`: kept (`kept_newer`);
    /// - otherwise (a webhook recorded before that, or an earlier recovered version): the
    ///   listed version is applied at the stored `event_ts + 1`, counted in created /
    ///   updated / deleted and in `decided_by_content`.
    ///
    /// See `super::recovery` for why; an implementation must decide exactly so.
    async fn reconcile_day(&self, day: ReconcileDay) -> Result<DayCounts, StoreError>;

    // ----- Care ---------------------------------------------------------------------

    /// Deletes raw deliveries received before `cutoff_ms`; attendance, the change log and
    /// request ids (duplicate detection) are kept. Returns how many were deleted.
    async fn purge_deliveries_before(&self, cutoff_ms: i64) -> Result<usize, StoreError>;

    /// Takes (or renews) this store's lease on background job `job` (name refresh,
    /// recovery, retention) for `for_ms`, unless another server's lease is running. Returns
    /// whether this server may run the job now. Several servers share a PostgreSQL store, so
    /// a job that must run once takes a lease first and renews it each time it runs; a
    /// SQLite store has one process (its data folder is locked), so it always may.
    async fn take_lease(&self, job: &str, for_ms: i64) -> Result<bool, StoreError> {
        let _ = (job, for_ms);
        Ok(true)
    }

    // ----- People (sign-in beyond this computer) ------------------------------------

    /// Every account, by username.
    async fn accounts(&self) -> Result<Vec<Account>, StoreError>;

    /// Adds an account (`id: None`) or saves over one (which also lifts its lock), and
    /// returns its id. A username taken by another account is a [`StoreError`].
    async fn save_account(&self, account: AccountWrite) -> Result<i64, StoreError>;

    /// Counts a sign-in attempt against an account, locking it after too many wrong
    /// passwords in a row (counted in the database, so every server of a district sees them).
    async fn note_sign_in(&self, account_id: i64, attempt: SignInAttempt)
        -> Result<(), StoreError>;

    async fn create_session(&self, session: SessionRecord) -> Result<(), StoreError>;

    /// The session whose token hashes to `token_hash`, with its account, only while it has
    /// not expired at `now` and the account is not disabled.
    async fn session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<(SessionRecord, Account)>, StoreError>;

    /// Ends sessions; returns how many.
    async fn end_sessions(&self, end: EndSessions) -> Result<usize, StoreError>;

    /// Appends one line to the audit log.
    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError>;

    /// The newest audit entries with an id below `before_id` (all when `None`), newest first.
    async fn audit_log(
        &self,
        before_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Deletes everything kept of one school, in one transaction: the attendance records
    /// and change log of DreamClass tenant `tenant`, and the deliveries of that tenant or
    /// refused at the URL of school `school` (its id). No row of another tenant or school is
    /// touched. The caller makes sure the school is no longer configured.
    async fn purge_school(&self, tenant: &str, school: &str) -> Result<PurgedSchool, StoreError>;

    // ----- Reports ------------------------------------------------------------------

    /// Attendance rate by class, absences per day and chronic absence over `filter`.
    async fn summary(
        &self,
        scope: &Scope,
        filter: &RecordFilter,
        settings: &ReportSettings,
    ) -> Result<Summary, StoreError>;

    /// The threshold alerts as of `today` (the office's local date).
    async fn alerts(
        &self,
        scope: &Scope,
        today: NaiveDate,
        settings: &ReportSettings,
    ) -> Result<Vec<Alert>, StoreError>;

    /// The lessons expected on `day` (inferred from the four earlier same weekdays, see
    /// `reports::not_taken`) that have no current attendance record, and how many records
    /// the day has. The Today board, the cutoff notice and the e-mail digest read it.
    async fn lessons_not_taken(
        &self,
        scope: &Scope,
        day: NaiveDate,
    ) -> Result<NotTakenDay, StoreError>;

    /// Writes one report as CSV into `out`, row by row from one snapshot, and returns the
    /// rows written (header not counted). With `progress`, the rows are counted first (in
    /// the same snapshot) and `progress` is told how far it is; its `Break` cancels with
    /// [`ExportError::Cancelled`]. A writer that fails ends the export with its error.
    async fn export(
        &self,
        scope: &Scope,
        request: &ExportRequest,
        out: ExportSink,
        progress: Option<ExportProgress>,
    ) -> Result<u64, ExportError>;
}
