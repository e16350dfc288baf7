//! What every provider (bore, ngrok, cloudflared) is given by [`start_with`](crate::start_with):
//! the tuning that Settings does not show, and the signal that asks it to stop. Providers and
//! the handle both build on this module; neither depends on the other.

use std::time::Duration;

use tokio::sync::watch;

use crate::backoff::ReconnectPolicy;

/// Tuning that Settings does not show. `Default` is right for the app; tests shorten delays.
#[derive(Debug, Clone)]
pub struct TunnelOptions {
    /// Delays between reconnect attempts (bore, ngrok, cloudflared restarts).
    pub reconnect: ReconnectPolicy,
    /// A bore server sends a heartbeat twice a second; silence this long means the
    /// connection is dead even if no error was seen (sleep, Wi-Fi change).
    pub bore_heartbeat_timeout: Duration,
    /// How long `cloudflared` may take to print its public URL.
    pub cloudflared_url_timeout: Duration,
    /// The ngrok service to connect to, as `host:port`; `None` is ngrok's own. Tests point
    /// it at loopback to exercise the error paths without the internet.
    pub ngrok_server_addr: Option<String>,
}

impl Default for TunnelOptions {
    fn default() -> Self {
        Self {
            reconnect: ReconnectPolicy::default(),
            bore_heartbeat_timeout: Duration::from_secs(10),
            cloudflared_url_timeout: Duration::from_secs(60),
            ngrok_server_addr: None,
        }
    }
}

/// The provider's view of [`TunnelHandle::stop`](crate::TunnelHandle::stop).
#[derive(Clone)]
pub(crate) struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    pub(crate) fn new(stop: watch::Receiver<bool>) -> Self {
        Self(stop)
    }

    /// Resolves once stop was asked (or the handle is gone).
    pub(crate) async fn stopped(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    pub(crate) fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Sleeps `delay` unless stop is asked first; returns true if it was.
    pub(crate) async fn sleep(&mut self, delay: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(delay) => self.is_stopped(),
            _ = self.stopped() => true,
        }
    }
}
