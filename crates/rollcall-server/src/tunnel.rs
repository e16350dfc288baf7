//! The tunnel beside the listeners: it forwards the public URL to the webhook socket only,
//! checks that DreamClass can get through, and tells the window when the URL must be updated
//! in DreamClass.

use std::sync::{Arc, Mutex, RwLock};

use rollcall_tunnel::{
    CheckerOptions, ProbeSigner, Prober, Reachability, ReachabilityChecker, TunnelConfig,
    TunnelHandle, TunnelState, UrlNotice,
};
use serde::Serialize;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use ts_rs::TS;

use crate::state::{Notice, WebhookAuth};

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

/// The tunnel in use, restartable from the settings screen.
pub struct TunnelService {
    webhook_addr: std::net::SocketAddr,
    auth: Arc<RwLock<WebhookAuth>>,
    notices: broadcast::Sender<Notice>,
    config: Mutex<TunnelConfig>,
    running: tokio::sync::Mutex<Option<Running>>,
    /// A copy of the latest states, readable without awaiting.
    latest: Arc<Mutex<(TunnelState, Option<Reachability>)>>,
    last_shown_public_url: RwLock<Option<String>>,
}

impl TunnelService {
    pub fn new(
        webhook_addr: std::net::SocketAddr,
        auth: Arc<RwLock<WebhookAuth>>,
        notices: broadcast::Sender<Notice>,
        last_shown_public_url: Option<String>,
    ) -> Self {
        Self {
            webhook_addr,
            auth,
            notices,
            config: Mutex::new(TunnelConfig::None),
            running: tokio::sync::Mutex::new(None),
            latest: Arc::new(Mutex::new((TunnelState::Off, None))),
            last_shown_public_url: RwLock::new(last_shown_public_url),
        }
    }

    pub fn config(&self) -> TunnelConfig {
        self.config.lock().expect("tunnel lock").clone()
    }

    /// Stops the tunnel in use (if any) and starts `config`.
    pub async fn restart(&self, config: TunnelConfig) {
        let mut running = self.running.lock().await;
        if let Some(old) = running.take() {
            stop(old).await;
        }
        *self.config.lock().expect("tunnel lock") = config.clone();
        *self.latest.lock().expect("tunnel lock") = (TunnelState::Off, None);
        if matches!(config, TunnelConfig::None) {
            let _ = self.notices.send(Notice::Status);
            return;
        }
        let handle = rollcall_tunnel::start(config, self.webhook_addr);
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
    }

    /// The self-check signs its probe like DreamClass does, with the secret in force at the
    /// time of each probe, and sends the Basic credentials configured when it started.
    fn prober(&self) -> Prober {
        let auth = self.auth.clone();
        let signer = ProbeSigner::from_fn(move |id| {
            auth.read()
                .expect("auth lock")
                .key
                .as_ref()
                .map(|k| k.sign(id))
                .unwrap_or_default()
        });
        let prober = Prober::new(signer);
        match self.auth.read().expect("auth lock").basic_auth.clone() {
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
            let last = self
                .last_shown_public_url
                .read()
                .expect("tunnel lock")
                .clone();
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
                let last = self
                    .last_shown_public_url
                    .read()
                    .expect("tunnel lock")
                    .clone();
                UrlNotice::compare(last.as_deref(), public_url).message()
            }
            _ => None,
        }
    }

    /// The user entered the current public URL in DreamClass. Returns it, to be saved.
    pub fn acknowledge_url(&self) -> Option<String> {
        let url = self.state().public_url()?.to_string();
        *self.last_shown_public_url.write().expect("tunnel lock") = Some(url.clone());
        let _ = self.notices.send(Notice::Status);
        Some(url)
    }

    pub async fn shutdown(&self) {
        if let Some(running) = self.running.lock().await.take() {
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
