//! Starting a tunnel and the handle that watches and stops it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::TunnelConfig;
use crate::provider::{StopSignal, TunnelOptions};
use crate::state::{StatePublisher, TunnelState};

/// Starts the configured tunnel towards `local_webhook_addr`, the webhook listener's socket
/// (never the local UI/API socket). Returns at once; watch [`TunnelHandle::state`] for
/// progress. Must be called inside a Tokio runtime.
pub fn start(config: TunnelConfig, local_webhook_addr: SocketAddr) -> TunnelHandle {
    start_with(config, local_webhook_addr, TunnelOptions::default())
}

/// [`start`] with explicit [`TunnelOptions`].
pub fn start_with(
    config: TunnelConfig,
    local_webhook_addr: SocketAddr,
    options: TunnelOptions,
) -> TunnelHandle {
    let provider = config.kind();
    let initial = match config {
        TunnelConfig::None => TunnelState::Off,
        _ => TunnelState::Starting { provider },
    };
    let (state_tx, state_rx) = watch::channel(initial);
    let (stop_tx, stop_rx) = watch::channel(false);
    let publisher = StatePublisher::new(state_tx, provider);
    let handle_publisher = publisher.clone();
    let target = forward_target(local_webhook_addr);
    let stop = StopSignal::new(stop_rx);

    let task = tokio::spawn(async move {
        if let Err(err) = config.validate() {
            publisher.failed(err.to_string());
            return;
        }
        match config {
            TunnelConfig::None => {}
            TunnelConfig::Manual { public_url } => {
                crate::manual::run(&public_url, &publisher);
            }
            TunnelConfig::Bore(bore) => {
                crate::bore::run(bore, target, options, publisher, stop).await;
            }
            TunnelConfig::Ngrok(ngrok) => {
                crate::ngrok::run(ngrok, target, options, publisher, stop).await;
            }
            TunnelConfig::Cloudflare(cloudflare) => {
                crate::cloudflare::run(cloudflare, target, options, publisher, stop).await;
            }
        }
    });

    TunnelHandle {
        state: state_rx,
        publisher: handle_publisher,
        stop: stop_tx,
        task: Some(task),
    }
}

/// A running tunnel. Dropping it stops the tunnel too, without waiting.
pub struct TunnelHandle {
    state: watch::Receiver<TunnelState>,
    publisher: StatePublisher,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl TunnelHandle {
    /// A receiver of every state change, for the UI, the API and the reachability checker.
    pub fn state(&self) -> watch::Receiver<TunnelState> {
        self.state.clone()
    }

    pub fn current(&self) -> TunnelState {
        self.state.borrow().clone()
    }

    /// Waits until the tunnel is online (returns the public URL) or has failed (returns the
    /// failed state), or `timeout` passes (returns the state at that moment). For the CLI,
    /// which prints the URL or the reason once.
    pub async fn wait_online(&self, timeout: Duration) -> Result<String, TunnelState> {
        let mut rx = self.state.clone();
        let settled = tokio::time::timeout(
            timeout,
            rx.wait_for(|s| {
                matches!(s, TunnelState::Online { .. } | TunnelState::Failed { .. })
                    || *s == TunnelState::Off
            }),
        )
        .await;
        let state = match settled {
            Ok(Ok(state)) => state.clone(),
            _ => self.current(),
        };
        match state {
            TunnelState::Online { public_url, .. } => Ok(public_url),
            other => Err(other),
        }
    }

    /// Stops the tunnel: closes the provider's session or ends its process, then reports
    /// [`TunnelState::Off`] to every receiver.
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        if let Some(mut task) = self.task.take() {
            // Providers stop within a moment; one stuck in a system call is not waited for.
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        self.publisher.set(TunnelState::Off);
    }
}

impl Drop for TunnelHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// A listener bound to "all interfaces" is reached through loopback: connecting to 0.0.0.0
/// works on Linux but not on Windows.
fn forward_target(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_listener_is_reached_through_loopback() {
        assert_eq!(
            forward_target("0.0.0.0:8080".parse().unwrap()),
            "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            forward_target("[::]:8080".parse().unwrap()),
            "[::1]:8080".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            forward_target("127.0.0.1:9".parse().unwrap()),
            "127.0.0.1:9".parse::<SocketAddr>().unwrap()
        );
    }
}
