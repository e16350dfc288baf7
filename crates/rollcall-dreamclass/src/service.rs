//! [`DreamClass`]: what the server runs next to the webhook listener. It resolves names in the
//! background, records when Rollcall was listening, and recovers missed changes after a gap
//! (a stop, or the computer sleeping: see [`crate::wake`]) and on demand. None of it is ever
//! on the webhook path.
//!
//! It holds one API connection per school that has one (each school's DreamClass account has
//! its own token): names are read from each into that school's names, and a gap is asked
//! for of each, counting as recovered only when every school's check is done. The listening
//! periods and gaps are the installation's (one listener receives every school).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use serde::Serialize;
use tokio::sync::{broadcast, watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use ts_rs::TS;

use rollcall_core::scope::Scope;
use rollcall_core::store::{SharedStore, StoreError};

use crate::category::StatusCategory;
use crate::client::{ConnectionSummary, DreamClassClient};
use crate::config::ApiConfig;
use crate::error::ApiError;
use crate::listening::{self, ListeningPeriod};
use crate::recovery::{self, RecoveryOptions, RecoveryReport};
use crate::reference::{self, Reference};
use crate::resolver;
use crate::wake::WakeDetector;

/// How long a server asking DreamClass for missed changes keeps others from doing the same
/// (a district server's several processes share one list of gaps).
const RECOVERY_LEASE: Duration = Duration::from_secs(5 * 60);

/// When and how often the background work runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DreamClassOptions {
    /// Names are read again this often even when nothing asks for it.
    pub refresh_every: Duration,
    /// After a failure the API is tried again after this wait, doubling up to `retry_max`.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// An id without a name asks for a refresh at most this often.
    pub unknown_id_cooldown: Duration,
    /// How often the listening period's heartbeat is written.
    pub heartbeat_every: Duration,
    /// How far the wall clock must run ahead of the timers between two heartbeats to count as
    /// the computer having slept (then missed changes are asked for at once).
    pub sleep_threshold: Duration,
    /// The wall clock listening periods are written with (tests move it ahead).
    pub wall_clock: WallClock,
    pub recovery: RecoveryOptions,
}

/// A wall clock in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy)]
pub struct WallClock(pub fn() -> i64);

impl Default for WallClock {
    fn default() -> Self {
        Self(rollcall_core::model::now_ms)
    }
}

impl PartialEq for WallClock {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::fn_addr_eq(self.0, other.0)
    }
}

impl Eq for WallClock {}

/// Sent when the computer woke up from sleep: the server checks the public address at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WokeUp {
    /// About how long it slept.
    pub slept: Duration,
    /// When it woke, by the wall clock (milliseconds).
    pub at: i64,
}

impl Default for DreamClassOptions {
    fn default() -> Self {
        Self {
            refresh_every: Duration::from_secs(3600),
            retry_min: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
            unknown_id_cooldown: Duration::from_secs(30),
            heartbeat_every: Duration::from_secs(15),
            sleep_threshold: Duration::from_secs(60),
            wall_clock: WallClock::default(),
            recovery: RecoveryOptions::default(),
        }
    }
}

/// Sent when names changed: the UI should fetch `/api/reference` again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceChanged {
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
}

/// How the DreamClass API connection is doing, for a status line in the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(rename = "DreamClassState")]
#[serde(rename_all = "camelCase")]
pub struct ApiState {
    pub configured: bool,
    /// The last time names were read without error.
    pub last_success_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    /// The last error, in words for the user; `None` once a refresh succeeds.
    pub error: Option<String>,
    pub error_code: Option<String>,
    /// The last check for missed changes.
    pub last_recovery: Option<RecoveryReport>,
    /// Gaps in listening whose missed changes are still to be asked for.
    pub pending_gaps: usize,
}

/// The running DreamClass side. Cheap to clone.
#[derive(Clone)]
pub struct DreamClass {
    inner: Arc<Inner>,
}

struct Inner {
    /// One per school with an API connection; never empty (one, maybe not configured).
    clients: watch::Sender<Vec<DreamClassClient>>,
    store: SharedStore,
    options: DreamClassOptions,
    reference_changed: broadcast::Sender<ReferenceChanged>,
    state: watch::Sender<ApiState>,
    /// Wakes the resolver to refresh now.
    refresh_now: Notify,
    /// Wakes the resolver to refresh soon (an unknown id), within the cooldown.
    refresh_soon: Notify,
    /// One check for missed changes at a time.
    recovery_lock: tokio::sync::Mutex<()>,
    /// Days a check could only decide from content, to be checked again when due.
    recheck: Mutex<Option<Recheck>>,
    /// Wakes the recovery loop: a re-check was asked for.
    recheck_wanted: Notify,
    /// This run's listening period; a new one begins after the computer slept.
    period: Mutex<ListeningPeriod>,
    woke_up: broadcast::Sender<WokeUp>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl DreamClass {
    /// Starts the DreamClass side: begins this run's listening period (recording the gap since
    /// the last run), then in the background reads names, beats the heartbeat, and asks
    /// DreamClass for what was missed in gaps. An unconfigured or unreachable API is not an
    /// error: the app runs with ids and catches up when the API answers.
    pub async fn start(
        config: ApiConfig,
        store: SharedStore,
        options: DreamClassOptions,
    ) -> Result<Self, StoreError> {
        Self::start_for_schools(vec![config], store, options).await
    }

    /// [`start`](Self::start) with one API connection per school (`configs`; each names its
    /// school's tenant).
    pub async fn start_for_schools(
        configs: Vec<ApiConfig>,
        store: SharedStore,
        options: DreamClassOptions,
    ) -> Result<Self, StoreError> {
        let (period, gap) =
            ListeningPeriod::begin(store.as_ref(), (options.wall_clock.0)()).await?;
        if let Some(gap) = gap {
            tracing::info!(
                from = gap.from_ms,
                to = gap.to_ms,
                "Rollcall was not listening; missed changes will be asked for"
            );
        }
        let clients = clients_for(configs);
        let configured = clients.iter().any(|c| c.config().is_configured());
        let (clients, _) = watch::channel(clients);
        let (stop, _) = watch::channel(false);
        let this = Self {
            inner: Arc::new(Inner {
                clients,
                store,
                options,
                reference_changed: broadcast::channel(64).0,
                state: watch::channel(ApiState {
                    configured,
                    ..Default::default()
                })
                .0,
                refresh_now: Notify::new(),
                refresh_soon: Notify::new(),
                recovery_lock: tokio::sync::Mutex::new(()),
                recheck: Mutex::new(None),
                recheck_wanted: Notify::new(),
                period: Mutex::new(period),
                woke_up: broadcast::channel(8).0,
                stop,
                tasks: Mutex::new(Vec::new()),
            }),
        };
        let tasks = vec![
            tokio::spawn(this.clone().resolve_names()),
            tokio::spawn(this.clone().beat_heartbeat()),
            tokio::spawn(this.clone().recover_in_background()),
        ];
        *this.inner.tasks.lock().expect("task list lock") = tasks;
        Ok(this)
    }

    /// Notifications that names changed (for the SSE `event: reference`).
    pub fn subscribe_reference(&self) -> broadcast::Receiver<ReferenceChanged> {
        self.inner.reference_changed.subscribe()
    }

    /// Told each time the computer wakes up from sleep (missed changes are already being
    /// asked for; the public address is for the subscriber to check).
    pub fn subscribe_wake(&self) -> broadcast::Receiver<WokeUp> {
        self.inner.woke_up.subscribe()
    }

    /// The connection's state now.
    pub fn state(&self) -> ApiState {
        self.inner.state.borrow().clone()
    }

    /// The connection's state, updated as it changes.
    pub fn watch_state(&self) -> watch::Receiver<ApiState> {
        self.inner.state.subscribe()
    }

    /// Every known name, as `GET /api/reference` answers.
    pub async fn reference(&self) -> Result<Reference, StoreError> {
        self.inner.store.reference(&Scope::all()).await
    }

    /// Uses new API settings from now on (after the user saved Settings), and tries them at
    /// once: names and pending gaps.
    pub fn reconfigure(&self, config: ApiConfig) {
        self.reconfigure_schools(vec![config]);
    }

    /// [`reconfigure`](Self::reconfigure) with one connection per school.
    pub fn reconfigure_schools(&self, configs: Vec<ApiConfig>) {
        let clients = clients_for(configs);
        let configured = clients.iter().any(|c| c.config().is_configured());
        self.inner.clients.send_replace(clients);
        self.inner.state.send_modify(|s| s.configured = configured);
        self.inner.refresh_now.notify_one();
    }

    /// "Test connection": reads the school with the current settings.
    pub async fn test_connection(&self) -> Result<ConnectionSummary, ApiError> {
        self.client().test_connection().await
    }

    /// Reads the names now instead of waiting for the next refresh.
    pub fn refresh_names(&self) {
        self.inner.refresh_now.notify_one();
    }

    /// Corrects (or, with `None`, un-corrects) the category of a status of school `tenant`.
    /// Returns whether the status is known.
    pub async fn set_status_category(
        &self,
        tenant: String,
        status_id: i64,
        category: Option<StatusCategory>,
    ) -> Result<bool, StoreError> {
        let known = self
            .inner
            .store
            .set_status_category(tenant, status_id, category)
            .await?;
        if known {
            self.publish_reference_changed();
        }
        Ok(known)
    }

    /// Applies a `STUDENT_PERIOD_*`, `STUDENT_CLASS_*` or `CLASS_*` webhook's `data`, as
    /// names of the school (`tenant`) the delivery named (call it after the delivery was
    /// stored, for types where [`reference::is_reference_event`]).
    pub async fn apply_webhook(
        &self,
        tenant: &str,
        event_type: &str,
        data: serde_json::Value,
    ) -> Result<(), StoreError> {
        if !reference::is_reference_event(event_type) {
            return Ok(());
        }
        let Some(update) = reference::reference_update(event_type, &data) else {
            return Ok(());
        };
        let now = rollcall_core::model::now_ms();
        let effect = self
            .inner
            .store
            .apply_reference_update(tenant.to_string(), update, now)
            .await?;
        if effect.names_changed {
            self.publish_reference_changed();
        }
        // Only a school these connections read is worth asking the API about.
        if effect.unknown_name && self.names_scope().allows(tenant) {
            self.inner.refresh_soon.notify_one();
        }
        Ok(())
    }

    /// "Check for missed changes": asks DreamClass for the attendance of `from..=to` (by
    /// default the days of pending gaps, with the lookback days before them, through today;
    /// today only when no gap is pending) and reconciles it. Recovered changes
    /// reach live subscribers like webhook ones, marked `source: "recovered"`.
    pub async fn check_for_missed_changes(
        &self,
        days: Option<(NaiveDate, NaiveDate)>,
    ) -> RecoveryReport {
        let gaps = self.pending_gaps().await.unwrap_or_default();
        let today = chrono::Local::now().date_naive();
        let options = &self.inner.options.recovery;
        let (from, to) = days.unwrap_or_else(|| {
            let from = gaps
                .iter()
                .map(|g| recovery::gap_days(g.from_ms, g.to_ms, 0, options.max_days).0)
                .min()
                .map_or(today, |first| {
                    let first = first.min(today);
                    recovery::with_lookback(first, today, options.lookback_days, options.max_days)
                });
            (from, today)
        });
        let covered: Vec<i64> = gaps
            .iter()
            .filter(|g| {
                let (f, t) = recovery::gap_days(g.from_ms, g.to_ms, 0, options.max_days);
                from <= f && t <= to
            })
            .map(|g| g.id)
            .collect();
        self.recover(from, to, covered).await
    }

    /// Stops the background work and ends this run's listening period. Call before the writer
    /// shuts down.
    pub async fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        let tasks = std::mem::take(&mut *self.inner.tasks.lock().expect("task list lock"));
        for task in tasks {
            let _ = task.await;
        }
        let period = *self.inner.period.lock().expect("period lock");
        let now = (self.inner.options.wall_clock.0)();
        if let Err(e) = period.end(self.inner.store.as_ref(), now).await {
            tracing::warn!(error = %e, "could not record the end of listening");
        }
    }

    /// The first school's connection (the only one of a single school).
    fn client(&self) -> DreamClassClient {
        self.inner.clients.borrow()[0].clone()
    }

    fn clients(&self) -> Vec<DreamClassClient> {
        self.inner.clients.borrow().clone()
    }

    /// The schools whose names these connections read: their tenants (none while not set).
    fn names_scope(&self) -> Scope {
        Scope::tenants(
            self.inner
                .clients
                .borrow()
                .iter()
                .map(|c| c.config().tenant.trim().to_string()),
        )
    }

    fn publish_reference_changed(&self) {
        let _ = self.inner.reference_changed.send(ReferenceChanged {
            at: rollcall_core::model::now_ms(),
        });
    }

    async fn pending_gaps(&self) -> Result<Vec<listening::Gap>, StoreError> {
        self.inner.store.pending_gaps().await
    }

    async fn recover(&self, from: NaiveDate, to: NaiveDate, gap_ids: Vec<i64>) -> RecoveryReport {
        let _one_at_a_time = self.inner.recovery_lock.lock().await;
        let listening_since = self.inner.period.lock().expect("period lock").started_at;
        // Each school's DreamClass is asked for its own attendance; the gap is done only
        // when every school's check is (see below).
        let mut reports = Vec::new();
        for client in self.checked_clients() {
            let report = recovery::recover_days(
                &client,
                self.inner.store.as_ref(),
                from,
                to,
                listening_since,
                &self.inner.options.recovery,
            )
            .await;
            reports.push((client.config().tenant.trim().to_string(), report));
        }
        let report = RecoveryReport::of_schools(reports);
        if report.check_again {
            let due = Instant::now() + self.inner.options.recovery.recheck_after;
            self.want_recheck(Recheck {
                from,
                to,
                due,
                gap_ids: gap_ids.clone(),
            });
        }
        // A gap is done only when a check needed no decision by content: until the re-check,
        // Rollcall agrees with DreamClass's list but cannot be sure the list was up to date.
        if !report.retry_later && !report.check_again && !gap_ids.is_empty() {
            let now = rollcall_core::model::now_ms();
            let summary = report.message.clone();
            let result = self.inner.store.mark_recovered(gap_ids, now, summary).await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "could not mark gaps as recovered");
            }
        }
        let pending = self.pending_gaps().await.map(|g| g.len()).unwrap_or(0);
        self.inner.state.send_modify(|s| {
            s.last_recovery = Some(report.clone());
            s.pending_gaps = pending;
        });
        tracing::info!(message = %report.message, "checked for missed changes");
        report
    }

    fn backoff(&self, failures: u32) -> Duration {
        self.inner
            .options
            .retry_min
            .saturating_mul(1 << failures.saturating_sub(1).min(16))
            .min(self.inner.options.retry_max)
    }

    /// Waits `duration`, or less if asked to stop; returns whether to stop.
    async fn pause(&self, duration: Duration) -> bool {
        let mut stop = self.inner.stop.subscribe();
        if *stop.borrow() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(duration) => false,
            _ = stop.changed() => true,
        }
    }

    /// The background resolver: refreshes names at start, periodically, when a change names
    /// an unknown id (at most once per cooldown), and on request; after a failure, with
    /// growing waits.
    async fn resolve_names(self) {
        let options = self.inner.options.clone();
        let mut stop = self.inner.stop.subscribe();
        // `None` once the writer has stopped: no more changes, the timer only.
        let mut changes = Some(self.inner.store.subscribe());
        let mut known = self
            .inner
            .store
            .known_ids(&self.names_scope())
            .await
            .unwrap_or_default();
        // Unknown ids already asked about; forgotten at each periodic refresh, so that an id
        // DreamClass does not know cannot cause a refresh per change.
        let mut asked: HashSet<(&'static str, i64)> = HashSet::new();
        let mut asked_since = Instant::now();
        let mut failures = 0u32;
        let mut last_attempt: Option<Instant> = None;
        let mut next_due = Instant::now();
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep_until(next_due) => {}
                _ = self.inner.refresh_now.notified() => {
                    failures = 0;
                }
                _ = self.inner.refresh_soon.notified() => {
                    next_due = self.soon(next_due, last_attempt, failures);
                    continue;
                }
                received = next_change(&mut changes) => {
                    let unknown = match received {
                        // A change of another school is not this connection's to name.
                        Ok(change) if !self.names_scope().allows(&change.tenant) => false,
                        Ok(change) => {
                            let mut any_new = false;
                            for id in known.missing(&change) {
                                any_new |= asked.insert(id);
                            }
                            any_new
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => self
                            .inner
                            .store
                            .attendance_has_unknown_ids(&self.names_scope())
                            .await
                            .unwrap_or(false),
                        Err(broadcast::error::RecvError::Closed) => {
                            changes = None;
                            false
                        }
                    };
                    if unknown {
                        next_due = self.soon(next_due, last_attempt, failures);
                    }
                    continue;
                }
            }
            let clients = self.checked_clients();
            if !clients.iter().any(|c| c.config().is_configured()) {
                self.inner.state.send_modify(|s| {
                    s.configured = false;
                    s.error = Some(ApiError::NotConfigured.to_string());
                    s.error_code = Some(ApiError::NotConfigured.code().into());
                });
                next_due = Instant::now() + options.refresh_every;
                continue;
            }
            if !self.lease("names", 2 * options.refresh_every).await {
                // Another server sharing the database refreshes the names for everyone.
                if let Ok(k) = self.inner.store.known_ids(&self.names_scope()).await {
                    known = k;
                }
                next_due = Instant::now() + options.refresh_every;
                continue;
            }
            last_attempt = Some(Instant::now());
            let attempt_at = rollcall_core::model::now_ms();
            let mut error = None;
            let several = clients.len() > 1;
            for client in &clients {
                let outcome = resolver::refresh(client, self.inner.store.as_ref()).await;
                let failed = match outcome {
                    Ok(outcome) => {
                        if outcome.changed {
                            self.publish_reference_changed();
                        }
                        outcome.error.map(|e| (e.to_string(), e.code().to_string()))
                    }
                    Err(e) => Some((e.user_message().to_string(), "storage".to_string())),
                };
                // The first failure is shown, naming its school when there are several.
                if let (None, Some((message, code))) = (&error, failed) {
                    let tenant = client.config().tenant.trim().to_string();
                    error = Some((school_says(several, &tenant, message), code));
                }
            }
            if let Ok(k) = self.inner.store.known_ids(&self.names_scope()).await {
                known = k;
            }
            self.inner.state.send_modify(|s| {
                s.configured = true;
                s.last_attempt_at = Some(attempt_at);
                if error.is_none() {
                    s.last_success_at = Some(attempt_at);
                }
                s.error = error.as_ref().map(|e| e.0.clone());
                s.error_code = error.as_ref().map(|e| e.1.clone());
            });
            if error.is_none() {
                failures = 0;
                if asked_since.elapsed() >= options.refresh_every {
                    asked.clear();
                    asked_since = Instant::now();
                }
                next_due = Instant::now() + options.refresh_every;
            } else {
                failures += 1;
                next_due = Instant::now() + self.backoff(failures);
            }
        }
    }

    /// When to refresh for an unknown id: soon, but not within the cooldown of the last try,
    /// and never earlier than a failure's backoff.
    fn soon(&self, next_due: Instant, last_attempt: Option<Instant>, failures: u32) -> Instant {
        if failures > 0 {
            return next_due;
        }
        let earliest = last_attempt
            .map(|t| t + self.inner.options.unknown_id_cooldown)
            .unwrap_or_else(Instant::now)
            .max(Instant::now());
        next_due.min(earliest)
    }

    /// Whether this server may run background job `job` now (see `Store::take_lease`); a
    /// store that cannot answer counts as no, and the job is tried again later.
    async fn lease(&self, job: &str, length: Duration) -> bool {
        match self
            .inner
            .store
            .take_lease(job, length.as_millis() as i64)
            .await
        {
            Ok(ours) => ours,
            Err(e) => {
                tracing::warn!(error = %e, job, "could not check who runs a background job");
                false
            }
        }
    }

    /// Beats the heartbeat; when the wall clock ran ahead of the timers (the computer slept),
    /// begins a new listening period instead, so that the sleep is a gap, asked for at once.
    async fn beat_heartbeat(self) {
        let clock = self.inner.options.wall_clock.0;
        let mut wake =
            WakeDetector::new(self.inner.options.sleep_threshold, clock(), Instant::now());
        loop {
            if self.pause(self.inner.options.heartbeat_every).await {
                return;
            }
            let now = clock();
            if let Some(slept) = wake.observe(now, Instant::now()) {
                self.woke_up(now, slept).await;
                continue;
            }
            let period = *self.inner.period.lock().expect("period lock");
            if let Err(e) = period.heartbeat(self.inner.store.as_ref(), now).await {
                tracing::warn!(error = %e, "could not record that Rollcall is listening");
            }
        }
    }

    /// After a sleep: the time since the last heartbeat becomes a gap (a new listening period
    /// begins), the recovery loop is woken to ask for it, and subscribers are told.
    async fn woke_up(&self, now: i64, slept: Duration) {
        tracing::info!(
            slept_s = slept.as_secs(),
            "the computer slept; missed changes will be asked for now"
        );
        match ListeningPeriod::begin(self.inner.store.as_ref(), now).await {
            Ok((period, _gap)) => {
                *self.inner.period.lock().expect("period lock") = period;
                self.inner.recheck_wanted.notify_one();
            }
            Err(e) => tracing::warn!(error = %e, "could not record the sleep as a gap"),
        }
        let _ = self.inner.woke_up.send(WokeUp { slept, at: now });
    }

    /// Asks for the days `recheck` names to be checked again when it is due (merged with a
    /// re-check already waiting: its days too, at the later time).
    fn want_recheck(&self, recheck: Recheck) {
        let mut wanted = self.inner.recheck.lock().expect("recheck lock");
        *wanted = Some(match wanted.take() {
            Some(w) => Recheck {
                from: w.from.min(recheck.from),
                to: w.to.max(recheck.to),
                due: w.due.max(recheck.due),
                gap_ids: w.gap_ids.into_iter().chain(recheck.gap_ids).collect(),
            },
            None => recheck,
        });
        drop(wanted);
        self.inner.recheck_wanted.notify_one();
    }

    /// The recovery loop: asks DreamClass for what was missed in pending gaps until it has
    /// been asked in full (an unreachable API is tried again with growing waits, new settings
    /// at once), and checks days again when a check could only decide from content.
    async fn recover_in_background(self) {
        let mut client_changed = self.inner.clients.subscribe();
        let mut stop = self.inner.stop.subscribe();
        let mut failures = 0u32;
        loop {
            if *stop.borrow() {
                return;
            }
            let gaps = match self.pending_gaps().await {
                Ok(g) => g,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the gaps in listening");
                    return;
                }
            };
            self.inner
                .state
                .send_modify(|s| s.pending_gaps = gaps.len());
            let waiting = self.inner.recheck.lock().expect("recheck lock").clone();
            // Gaps no check has looked at yet (a sleep just now) are checked at once.
            let new_gaps = gaps
                .iter()
                .any(|g| waiting.as_ref().is_none_or(|r| !r.gap_ids.contains(&g.id)));
            match waiting {
                // Wait until DreamClass's list has settled (or a new re-check moves the time).
                Some(r) if r.due > Instant::now() && !new_gaps => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(r.due) => {}
                        _ = self.inner.recheck_wanted.notified() => {}
                        _ = stop.changed() => return,
                    }
                    continue;
                }
                // Nothing to check until a check leaves days to check again.
                None if gaps.is_empty() => {
                    tokio::select! {
                        _ = self.inner.recheck_wanted.notified() => {}
                        _ = stop.changed() => return,
                    }
                    continue;
                }
                _ => {}
            }
            if !self.lease("recovery", RECOVERY_LEASE).await {
                // Another server sharing the database is asking DreamClass; look again
                // once its lease would have run out.
                if self.pause(RECOVERY_LEASE).await {
                    return;
                }
                continue;
            }
            let recheck = self.inner.recheck.lock().expect("recheck lock").take();
            let options = &self.inner.options.recovery;
            let mut own_days: Vec<_> = gaps
                .iter()
                .map(|g| recovery::gap_days(g.from_ms, g.to_ms, 0, options.max_days))
                .collect();
            if !own_days.is_empty() {
                // The days before the gaps too, within the cap on days per check.
                let from = own_days.iter().map(|d| d.0).min().expect("a gap");
                let to = own_days.iter().map(|d| d.1).max().expect("a gap");
                own_days = vec![(
                    recovery::with_lookback(from, to, options.lookback_days, options.max_days),
                    to,
                )];
            }
            own_days.extend(recheck.as_ref().map(|r| (r.from, r.to)));
            let from = own_days.iter().map(|d| d.0).min();
            let to = own_days.iter().map(|d| d.1).max();
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            let report = self
                .recover(from, to, gaps.iter().map(|g| g.id).collect())
                .await;
            if !report.retry_later {
                failures = 0;
                continue;
            }
            if let Some(r) = recheck {
                // Not done: the re-check is tried again with the gaps, after the wait below.
                self.want_recheck(Recheck {
                    due: Instant::now(),
                    ..r
                });
            }
            failures += 1;
            let wait = self.backoff(failures);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = client_changed.changed() => { failures = 0; }
                _ = stop.changed() => return,
            }
        }
    }
}

impl DreamClass {
    /// The connections a check or a refresh uses: those configured, or, when none is, the
    /// first alone (so that its report says what to set up).
    fn checked_clients(&self) -> Vec<DreamClassClient> {
        let clients = self.clients();
        let configured: Vec<_> = clients
            .iter()
            .filter(|c| c.config().is_configured())
            .cloned()
            .collect();
        if configured.is_empty() {
            clients.into_iter().take(1).collect()
        } else {
            configured
        }
    }
}

/// One client per connection; an empty list is one unconfigured connection.
fn clients_for(configs: Vec<ApiConfig>) -> Vec<DreamClassClient> {
    let mut clients: Vec<_> = configs.into_iter().map(DreamClassClient::new).collect();
    if clients.is_empty() {
        clients.push(DreamClassClient::new(ApiConfig::default()));
    }
    clients
}

/// `message`, prefixed with the school (`tenant`) it is about when there are `several`.
pub(crate) fn school_says(several: bool, tenant: &str, message: String) -> String {
    if several {
        format!("{tenant}: {message}")
    } else {
        message
    }
}

/// Days to check again, from when, and the gaps left pending for it.
#[derive(Debug, Clone)]
struct Recheck {
    from: NaiveDate,
    to: NaiveDate,
    due: Instant,
    gap_ids: Vec<i64>,
}

/// The next change, or never once the feed is gone.
async fn next_change(
    changes: &mut Option<broadcast::Receiver<Arc<rollcall_core::Change>>>,
) -> Result<Arc<rollcall_core::Change>, broadcast::error::RecvError> {
    match changes {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}
