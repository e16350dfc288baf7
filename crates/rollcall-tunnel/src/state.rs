//! The tunnel's state as the window, the tray, the CLI and the API show it.

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use ts_rs::TS;

use crate::config::ProviderKind;
use crate::webhook_url;

/// Where the tunnel is. Serialized for the API as
/// `{"state":"online","provider":"bore","publicUrl":"http://bore.pub:41234",...}`.
///
/// Every text field is a sentence for the office, not an error dump: `reason` says what to do
/// next, `notice` carries a standing caveat of the provider (bore is not encrypted, the
/// Cloudflare quick tunnel is experimental, an ngrok URL without a reserved domain changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum TunnelState {
    /// No tunnel is configured, or it was stopped.
    Off,
    /// Connecting for the first time.
    Starting { provider: ProviderKind },
    /// DreamClass can be given `webhook_url`.
    Online {
        provider: ProviderKind,
        /// The base URL, e.g. `https://myschool.ngrok.app`.
        public_url: String,
        /// What to enter in DreamClass: `public_url` + `/webhooks/dreamclass`.
        webhook_url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notice: Option<String>,
    },
    /// The connection was lost (or could not be made) and the app is retrying by itself.
    Reconnecting {
        provider: ProviderKind,
        /// 1 for the first retry after a loss.
        attempt: u32,
        last_error: String,
    },
    /// Retrying cannot help: the settings must change. `reason` says what to do.
    Failed {
        provider: ProviderKind,
        reason: String,
    },
}

impl TunnelState {
    pub(crate) fn online(provider: ProviderKind, public_url: String, notice: Option<&str>) -> Self {
        Self::Online {
            provider,
            webhook_url: webhook_url(&public_url),
            public_url,
            notice: notice.map(str::to_string),
        }
    }

    pub fn is_online(&self) -> bool {
        matches!(self, Self::Online { .. })
    }

    /// The public base URL while online.
    pub fn public_url(&self) -> Option<&str> {
        match self {
            Self::Online { public_url, .. } => Some(public_url),
            _ => None,
        }
    }

    /// One line for the CLI and the tray tooltip.
    pub fn summary(&self) -> String {
        match self {
            Self::Off => {
                "Tunnel off: DreamClass cannot reach this computer from the internet.".to_string()
            }
            Self::Starting { provider } => format!("Tunnel ({provider}) starting..."),
            Self::Online {
                provider,
                webhook_url,
                notice,
                ..
            } => {
                let mut line = format!("Tunnel ({provider}) online. Webhook URL: {webhook_url}");
                if let Some(notice) = notice {
                    line.push_str("\n  ");
                    line.push_str(notice);
                }
                line
            }
            Self::Reconnecting {
                provider,
                attempt,
                last_error,
            } => format!("Tunnel ({provider}) reconnecting (attempt {attempt}): {last_error}"),
            Self::Failed { provider, reason } => format!("Tunnel ({provider}) stopped: {reason}"),
        }
    }
}

/// The sending side of the state channel, shared by a provider's tasks.
#[derive(Clone)]
pub(crate) struct StatePublisher {
    tx: watch::Sender<TunnelState>,
    provider: ProviderKind,
}

impl StatePublisher {
    pub(crate) fn new(tx: watch::Sender<TunnelState>, provider: ProviderKind) -> Self {
        Self { tx, provider }
    }

    pub(crate) fn set(&self, state: TunnelState) {
        match &state {
            TunnelState::Failed { reason, .. } => {
                tracing::warn!(provider = %self.provider, %reason, "tunnel failed")
            }
            TunnelState::Reconnecting {
                attempt,
                last_error,
                ..
            } => {
                tracing::info!(provider = %self.provider, attempt, %last_error, "tunnel reconnecting")
            }
            TunnelState::Online { public_url, .. } => {
                tracing::info!(provider = %self.provider, %public_url, "tunnel online")
            }
            TunnelState::Starting { .. } | TunnelState::Off => {}
        }
        self.tx.send_replace(state);
    }

    pub(crate) fn online(&self, public_url: String, notice: Option<&str>) {
        self.set(TunnelState::online(self.provider, public_url, notice));
    }

    pub(crate) fn reconnecting(&self, attempt: u32, last_error: impl Into<String>) {
        self.set(TunnelState::Reconnecting {
            provider: self.provider,
            attempt,
            last_error: last_error.into(),
        });
    }

    pub(crate) fn failed(&self, reason: impl Into<String>) {
        self.set(TunnelState::Failed {
            provider: self.provider,
            reason: reason.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_serialize_as_the_api_shows_them() {
        let online = TunnelState::online(
            ProviderKind::Bore,
            "http://bore.pub:41234".into(),
            Some("not encrypted"),
        );
        assert_eq!(
            serde_json::to_value(&online).unwrap(),
            json!({
                "state": "online",
                "provider": "bore",
                "publicUrl": "http://bore.pub:41234",
                "webhookUrl": "http://bore.pub:41234/webhooks/dreamclass",
                "notice": "not encrypted",
            })
        );
        let reconnecting = TunnelState::Reconnecting {
            provider: ProviderKind::Ngrok,
            attempt: 3,
            last_error: "no answer".into(),
        };
        assert_eq!(
            serde_json::to_value(&reconnecting).unwrap(),
            json!({"state": "reconnecting", "provider": "ngrok", "attempt": 3, "lastError": "no answer"})
        );
        assert_eq!(
            serde_json::to_value(TunnelState::Off).unwrap(),
            json!({"state": "off"})
        );
        let failed: TunnelState = serde_json::from_value(
            json!({"state": "failed", "provider": "cloudflare", "reason": "install it"}),
        )
        .unwrap();
        assert!(matches!(failed, TunnelState::Failed { .. }));
    }
}
