//! Keeps the answer to "can DreamClass reach this computer?" current: probes when the tunnel
//! comes online (first start and every reconnect), every `interval`, and on request.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use ts_rs::TS;

use crate::probe::{ProbeError, ProbeReport, Prober};
use crate::state::TunnelState;

/// The latest self-check, serialized for the API as `{"status":"reachable",...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(
    tag = "status",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Reachability {
    /// The tunnel is not online, so there is nothing to check.
    WaitingForTunnel,
    /// A probe is on its way.
    Checking { public_url: String },
    Reachable {
        public_url: String,
        round_trip_ms: u64,
        checked_at_ms: u64,
        message: String,
    },
    Unreachable {
        public_url: String,
        /// [`ProbeError::kind`], for the UI to pick an icon or a help link.
        kind: String,
        /// The sentence to show.
        reason: String,
        checked_at_ms: u64,
    },
}

impl Reachability {
    pub fn is_reachable(&self) -> bool {
        matches!(self, Self::Reachable { .. })
    }

    /// One line for the window, the tray and the CLI.
    pub fn message(&self) -> String {
        match self {
            Self::WaitingForTunnel => "Waiting for the tunnel before checking.".to_string(),
            Self::Checking { .. } => "Checking that DreamClass can reach this computer...".into(),
            Self::Reachable { message, .. } => message.clone(),
            Self::Unreachable { reason, .. } => reason.clone(),
        }
    }

    fn from_result(public_url: &str, result: &Result<ProbeReport, ProbeError>) -> Self {
        let checked_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        match result {
            Ok(report) => Self::Reachable {
                public_url: public_url.to_string(),
                round_trip_ms: report.round_trip.as_millis().try_into().unwrap_or(u64::MAX),
                checked_at_ms,
                message: report.message(),
            },
            Err(err) => Self::Unreachable {
                public_url: public_url.to_string(),
                kind: err.kind().to_string(),
                reason: err.to_string(),
                checked_at_ms,
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct CheckerOptions {
    /// Time between checks while nothing changes.
    pub interval: Duration,
    /// Extra tries before a failure is reported: a new ngrok or Cloudflare address can take
    /// a few seconds to resolve, and one lost packet should not alarm the office.
    pub retries: u32,
    pub retry_delay: Duration,
}

impl Default for CheckerOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10 * 60),
            retries: 2,
            retry_delay: Duration::from_secs(5),
        }
    }
}

/// The running checker. Dropping it stops it.
pub struct ReachabilityChecker {
    state: watch::Receiver<Reachability>,
    recheck: Arc<Notify>,
    task: JoinHandle<()>,
}

impl ReachabilityChecker {
    /// Starts checking the tunnel whose state `tunnel` reports (from
    /// [`crate::TunnelHandle::state`]). Must be called inside a Tokio runtime.
    pub fn spawn(
        tunnel: watch::Receiver<TunnelState>,
        prober: Prober,
        options: CheckerOptions,
    ) -> Self {
        let (tx, rx) = watch::channel(Reachability::WaitingForTunnel);
        let recheck = Arc::new(Notify::new());
        let task = tokio::spawn(check_loop(
            tunnel,
            prober,
            options,
            tx,
            Arc::clone(&recheck),
        ));
        Self {
            state: rx,
            recheck,
            task,
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<Reachability> {
        self.state.clone()
    }

    pub fn current(&self) -> Reachability {
        self.state.borrow().clone()
    }

    /// Checks again now (the "Check again" button).
    pub fn check_now(&self) {
        self.recheck.notify_one();
    }

    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for ReachabilityChecker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn check_loop(
    mut tunnel: watch::Receiver<TunnelState>,
    prober: Prober,
    options: CheckerOptions,
    tx: watch::Sender<Reachability>,
    recheck: Arc<Notify>,
) {
    loop {
        let public_url = tunnel.borrow_and_update().public_url().map(str::to_string);
        let Some(public_url) = public_url else {
            tx.send_replace(Reachability::WaitingForTunnel);
            if tunnel.changed().await.is_err() {
                return;
            }
            continue;
        };

        tx.send_replace(Reachability::Checking {
            public_url: public_url.clone(),
        });
        let mut result = prober.probe(&public_url).await;
        let mut tunnel_changed = false;
        for _ in 0..options.retries {
            if result.is_ok() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(options.retry_delay) => {}
                changed = tunnel.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    tunnel_changed = true;
                    break;
                }
            }
            result = prober.probe(&public_url).await;
        }
        if tunnel_changed {
            // The check is stale: start over with the new tunnel state.
            continue;
        }
        if let Err(err) = &result {
            tracing::warn!(%public_url, %err, "reachability self-check failed");
        }
        tx.send_replace(Reachability::from_result(&public_url, &result));

        tokio::select! {
            _ = tokio::time::sleep(options.interval) => {}
            _ = recheck.notified() => {}
            changed = tunnel.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
