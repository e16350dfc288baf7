//! Telling the office when DreamClass must be given a new URL.
//!
//! The caller persists the last public URL it showed to the user (settings file, database);
//! this module only compares. It is pure so that the window, the tray and the CLI all say
//! the same thing.

use serde::Serialize;
use ts_rs::TS;

use crate::webhook_url;

/// What to tell the office about the webhook URL. Serialized for the API as
/// `{"kind":"changed","previousWebhookUrl":...,"webhookUrl":...}`. The UI's `UrlNotice` adds
/// the sentence to this (rollcall-server's `UrlNoticeView`), so the comparison alone is
/// `UrlChange` in TypeScript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(rename = "UrlChange")]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum UrlNotice {
    /// Same URL as the one DreamClass was given: nothing to do.
    Unchanged,
    /// No URL was shown before: it must be entered in DreamClass once.
    First { webhook_url: String },
    /// The URL changed: DreamClass still has the old one and must be updated.
    Changed {
        previous_webhook_url: String,
        webhook_url: String,
    },
}

impl UrlNotice {
    /// Compares the current public URL with the one last shown (both base URLs, as in
    /// `TunnelState::Online::public_url`).
    pub fn compare(last_shown_public_url: Option<&str>, current_public_url: &str) -> Self {
        let current = webhook_url(current_public_url);
        match last_shown_public_url.map(webhook_url) {
            None => Self::First {
                webhook_url: current,
            },
            Some(previous) if same_url(&previous, &current) => Self::Unchanged,
            Some(previous) => Self::Changed {
                previous_webhook_url: previous,
                webhook_url: current,
            },
        }
    }

    pub fn needs_action(&self) -> bool {
        !matches!(self, Self::Unchanged)
    }

    /// The sentence for the window and the tray, `None` when there is nothing to do.
    pub fn message(&self) -> Option<String> {
        match self {
            Self::Unchanged => None,
            Self::First { webhook_url } => Some(format!(
                "Enter this webhook URL in DreamClass (Settings > Integrations): \
                 {webhook_url}"
            )),
            Self::Changed {
                previous_webhook_url,
                webhook_url,
            } => Some(format!(
                "The webhook URL changed from {previous_webhook_url} to {webhook_url}. Update \
                 it in DreamClass (Settings > Integrations): until then attendance \
                 will not arrive."
            )),
        }
    }

    /// The URL to put on the clipboard ("Copy" button), when there is something to do.
    pub fn url_to_copy(&self) -> Option<&str> {
        match self {
            Self::Unchanged => None,
            Self::First { webhook_url } | Self::Changed { webhook_url, .. } => Some(webhook_url),
        }
    }
}

/// Scheme and host are case-insensitive; the path is not.
fn same_url(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_url_asks_to_enter_it() {
        let notice = UrlNotice::compare(None, "https://a.ngrok.app");
        assert_eq!(
            notice.url_to_copy(),
            Some("https://a.ngrok.app/webhooks/dreamclass")
        );
        assert!(notice
            .message()
            .unwrap()
            .starts_with("Enter this webhook URL in DreamClass"));
    }

    #[test]
    fn same_url_needs_nothing() {
        for (shown, now) in [
            ("https://a.ngrok.app", "https://a.ngrok.app"),
            ("https://a.ngrok.app/", "https://a.ngrok.app"),
            ("https://A.Ngrok.App", "https://a.ngrok.app"),
        ] {
            let notice = UrlNotice::compare(Some(shown), now);
            assert_eq!(notice, UrlNotice::Unchanged, "{shown} vs {now}");
            assert_eq!(notice.message(), None);
        }
    }

    #[test]
    fn changed_url_says_from_and_to() {
        let notice = UrlNotice::compare(Some("http://bore.pub:4100"), "http://bore.pub:4200");
        assert!(notice.needs_action());
        assert_eq!(
            notice.message().unwrap(),
            "The webhook URL changed from http://bore.pub:4100/webhooks/dreamclass to \
             http://bore.pub:4200/webhooks/dreamclass. Update it in DreamClass (Settings > \
             Integrations): until then attendance will not arrive."
        );
        assert_eq!(
            serde_json::to_value(&notice).unwrap(),
            serde_json::json!({
                "kind": "changed",
                "previousWebhookUrl": "http://bore.pub:4100/webhooks/dreamclass",
                "webhookUrl": "http://bore.pub:4200/webhooks/dreamclass",
            })
        );
    }
}
