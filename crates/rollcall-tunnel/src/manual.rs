//! A public URL the user already has (reverse proxy, port forward): nothing to connect, only
//! something to show and check.

use crate::config::normalize_public_url;
use crate::state::StatePublisher;

const PLAIN_HTTP_NOTICE: &str = "This address uses plain http: attendance data travels \
    unencrypted between DreamClass and this computer. Use an https address if you can.";

pub(crate) fn run(public_url: &str, publisher: &StatePublisher) {
    match normalize_public_url(public_url) {
        Ok(url) => {
            let notice = url.starts_with("http://").then_some(PLAIN_HTTP_NOTICE);
            publisher.online(url, notice);
        }
        Err(err) => publisher.failed(err.to_string()),
    }
}
