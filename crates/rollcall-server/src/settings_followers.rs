//! The parts of the server that follow the settings: each subscribes to the
//! [`SettingsStore`](crate::settings::SettingsStore) and applies the part it uses when that
//! part changes, whoever changed it. Nothing else tells them.

use std::future::Future;

use crate::settings::Settings;
use crate::state::{AppState, Notice};

/// Starts every follower; they end when the server stops.
pub fn spawn(state: &AppState) {
    // Any change: live subscribers fetch /api/status and the settings again.
    let notices = state.notices.clone();
    follow(state, Settings::clone, move |_| {
        let _ = notices.send(Notice::Status);
        async {}
    });
    let tunnel = state.tunnel.clone();
    follow(
        state,
        |s| s.tunnel.clone(),
        move |config| {
            let tunnel = tunnel.clone();
            async move { tunnel.restart(config).await }
        },
    );
    // The tunnel's self-check signs and authenticates like DreamClass; new credentials need a
    // new check.
    let tunnel = state.tunnel.clone();
    follow(
        state,
        |s| s.webhook.clone(),
        move |_| {
            let tunnel = tunnel.clone();
            async move { tunnel.credentials_changed().await }
        },
    );
    let dreamclass = state.dreamclass.clone();
    // One connection per school with its own (see `Settings::api_connections`).
    follow(state, Settings::api_connections, move |configs| {
        dreamclass.reconfigure_schools(configs);
        async {}
    });
}

/// Runs `apply` with `part` of the settings each time that part changes, in order.
fn follow<T, F, Fut>(state: &AppState, part: fn(&Settings) -> T, mut apply: F)
where
    T: Clone + PartialEq + Send + Sync + 'static,
    F: FnMut(T) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let mut changes = state.settings.subscribe();
    let mut stopping = state.stopping.clone();
    let mut last = part(&changes.borrow_and_update());
    tokio::spawn(async move {
        loop {
            let open = tokio::select! {
                _ = stopping.wait_for(|stop| *stop) => false,
                changed = changes.changed() => changed.is_ok(),
            };
            if !open {
                return;
            }
            let now = part(&changes.borrow_and_update());
            if now != last {
                last = now.clone();
                apply(now).await;
            }
        }
    });
}
