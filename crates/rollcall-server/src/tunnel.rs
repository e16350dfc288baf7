//! The tunnel beside the listeners: it forwards the public URL to the webhook socket only,
//! checks that DreamClass can get through, and tells the window when the URL must be updated
//! in DreamClass.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rollcall_tunnel::{
    CheckerOptions, ProbeSigner, Prober, Reachability, ReachabilityChecker, TunnelConfig,
    TunnelHandle, TunnelState, UrlNotice,
};
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use ts_rs::TS;

use crate::notice::Notice;
use crate::settings::SettingsStore;

/// The public-address part of `GET /api/status`, spliced into its top level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TunnelStatus {
    /// `{"state":"off"}` when no tunnel is configured.
    pub tunnel: TunnelState,
    /// `null` until the tunnel has started.
    pub reachability: Option<Reachability>,
    /// `null` while there is no public URL.
    pub url_notice: Option<UrlNoticeView>,
}

/// Whether DreamClass must be given a new webhook URL (`rollcall_tunnel::UrlNotice`), with
/// the sentence to show. The UI knows this, sentence included, as `UrlNotice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(rename = "UrlNotice")]
pub struct UrlNoticeView {
    #[serde(flatten)]
    pub notice: UrlNotice,
    /// Absent when there is nothing to do (`unchanged`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub message: Option<String>,
}

impl From<UrlNotice> for UrlNoticeView {
    fn from(notice: UrlNotice) -> Self {
        Self {
            message: notice.message(),
            notice,
        }
    }
}

struct Running {
    handle: TunnelHandle,
    checker: Option<ReachabilityChecker>,
    announcer: JoinHandle<()>,
}

/// How long a settings save waits for the tunnel to switch before answering anyway.
const SWITCH_WAIT: Duration = Duration::from_secs(10);

/// The tunnel in use. It follows the tunnel settings (see `settings_followers`); the webhook
/// credentials and the last URL shown are read from the settings when needed.
pub struct TunnelService {
    webhook_addr: std::net::SocketAddr,
    settings: SettingsStore,
    notices: broadcast::Sender<Notice>,
    /// The configuration the running tunnel was started with.
    in_use: watch::Sender<TunnelConfig>,
    running: tokio::sync::Mutex<Option<Running>>,
    /// A copy of the latest states, readable without awaiting.
    latest: Arc<Mutex<(TunnelState, Option<Reachability>)>>,
    /// Set by `shutdown`: a settings change arriving later starts nothing.
    closed: AtomicBool,
}

impl TunnelService {
    pub fn new(
        webhook_addr: std::net::SocketAddr,
        settings: SettingsStore,
        notices: broadcast::Sender<Notice>,
    ) -> Self {
        Self {
            webhook_addr,
            settings,
            notices,
            in_use: watch::channel(TunnelConfig::None).0,
            running: tokio::sync::Mutex::new(None),
            latest: Arc::new(Mutex::new((TunnelState::Off, None))),
            closed: AtomicBool::new(false),
        }
    }

    /// Waits (a few seconds at most) until the tunnel runs with `config`, so that a save is
    /// answered once it took effect.
    pub async fn wait_until_using(&self, config: &TunnelConfig) {
        let mut in_use = self.in_use.subscribe();
        let _ = tokio::time::timeout(SWITCH_WAIT, in_use.wait_for(|c| c == config)).await;
    }

    /// Stops the tunnel in use (if any) and starts `config`.
    pub async fn restart(&self, config: TunnelConfig) {
        let mut running = self.running.lock().await;
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        if let Some(old) = running.take() {
            stop(old).await;
        }
        *self.latest.lock().expect("tunnel lock") = (TunnelState::Off, None);
        if matches!(config, TunnelConfig::None) {
            self.in_use.send_replace(config);
            let _ = self.notices.send(Notice::Status);
            return;
        }
        let handle = rollcall_tunnel::start(config.clone(), self.webhook_addr);
        let checker =
            ReachabilityChecker::spawn(handle.state(), self.prober(), CheckerOptions::default());
        let announcer = tokio::spawn(announce(
            handle.state(),
            checker.subscribe(),
            self.latest.clone(),
            self.notices.clone(),
        ));
        *running = Some(Running {
            handle,
            checker: Some(checker),
            announcer,
        });
        self.in_use.send_replace(config);
    }

    /// The self-check signs its probe like DreamClass does, with the secret in force at the
    /// time of each probe, and sends the Basic credentials configured when it started.
    fn prober(&self) -> Prober {
        let settings = self.settings.clone();
        let signer = ProbeSigner::from_fn(move |id| {
            settings
                .with(|s| s.webhook.auth())
                .ok()
                .and_then(|auth| auth.key)
                .map(|k| k.sign(id))
                .unwrap_or_default()
        });
        let prober = Prober::new(signer);
        match self.settings.with(|s| s.webhook.basic_auth.clone()) {
            Some(b) => prober.with_basic_auth(b.username, b.password),
            None => prober,
        }
    }

    /// After the webhook credentials change: a new self-check with them, checking at once.
    pub async fn credentials_changed(&self) {
        let mut running = self.running.lock().await;
        if let Some(r) = running.as_mut() {
            if let Some(old) = r.checker.take() {
                old.stop().await;
            }
            let checker = ReachabilityChecker::spawn(
                r.handle.state(),
                self.prober(),
                CheckerOptions::default(),
            );
            r.announcer.abort();
            r.announcer = tokio::spawn(announce(
                r.handle.state(),
                checker.subscribe(),
                self.latest.clone(),
                self.notices.clone(),
            ));
            r.checker = Some(checker);
        }
    }

    /// "Check now".
    pub async fn check_now(&self) -> Option<Reachability> {
        let running = self.running.lock().await;
        let checker = running.as_ref()?.checker.as_ref()?;
        let mut updates = checker.subscribe();
        updates.borrow_and_update();
        checker.check_now();
        // Wait for the check to finish (Checking → Reachable/Unreachable), up to the probe's
        // own time limits.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(40), async {
            while updates.changed().await.is_ok() {
                if !matches!(*updates.borrow(), Reachability::Checking { .. }) {
                    break;
                }
            }
        })
        .await;
        let current = checker.current();
        Some(current)
    }

    pub fn state(&self) -> TunnelState {
        self.latest.lock().expect("tunnel lock").0.clone()
    }

    /// The tunnel, the self-check and the URL notice, as `/api/status` shows them.
    pub fn status(&self) -> TunnelStatus {
        let (tunnel, reachability) = self.latest.lock().expect("tunnel lock").clone();
        let url_notice = tunnel.public_url().map(|url| {
            let last = self.last_shown_public_url();
            UrlNoticeView::from(UrlNotice::compare(last.as_deref(), url))
        });
        TunnelStatus {
            tunnel,
            reachability,
            url_notice,
        }
    }

    /// The most pressing thing to tell the office about the public address, in one sentence
    /// (for the tray and other places without room for the whole card), if anything.
    pub fn attention(&self) -> Option<String> {
        let (state, reachability) = self.latest.lock().expect("tunnel lock").clone();
        match (&state, &reachability) {
            (TunnelState::Failed { reason, .. }, _) => Some(reason.clone()),
            (TunnelState::Reconnecting { .. }, _) => Some(state.summary()),
            (_, Some(r @ Reachability::Unreachable { .. })) => Some(r.message()),
            (TunnelState::Online { public_url, .. }, _) => {
                let last = self.last_shown_public_url();
                UrlNotice::compare(last.as_deref(), public_url).message()
            }
            _ => None,
        }
    }

    /// The public URL in use, which the user is asked to enter in DreamClass.
    pub fn public_url(&self) -> Option<String> {
        self.state().public_url().map(str::to_string)
    }

    fn last_shown_public_url(&self) -> Option<String> {
        self.settings.with(|s| s.last_shown_public_url.clone())
    }

    pub async fn shutdown(&self) {
        // Taken under the lock `restart` holds, so no restart runs past this point.
        let mut running = self.running.lock().await;
        self.closed.store(true, Ordering::SeqCst);
        if let Some(running) = running.take() {
            stop(running).await;
        }
    }
}

async fn stop(running: Running) {
    running.announcer.abort();
    if let Some(checker) = running.checker {
        checker.stop().await;
    }
    running.handle.stop().await;
}

/// Keeps the latest states, logs them, and tells live subscribers to refresh the status.
async fn announce(
    mut tunnel: tokio::sync::watch::Receiver<TunnelState>,
    mut reachability: tokio::sync::watch::Receiver<Reachability>,
    latest: Arc<Mutex<(TunnelState, Option<Reachability>)>>,
    notices: broadcast::Sender<Notice>,
) {
    loop {
        {
            let state = tunnel.borrow_and_update().clone();
            let reach = reachability.borrow_and_update().clone();
            let mut l = latest.lock().expect("tunnel lock");
            if l.0 != state {
                tracing::info!("{}", state.summary());
            }
            if l.1.as_ref() != Some(&reach) && !matches!(reach, Reachability::Checking { .. }) {
                tracing::info!("{}", reach.message());
            }
            *l = (state, Some(reach));
        }
        let _ = notices.send(Notice::Status);
        tokio::select! {
            changed = tunnel.changed() => if changed.is_err() { return },
            changed = reachability.changed() => if changed.is_err() { return },
        }
    }
}
