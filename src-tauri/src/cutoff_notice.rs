//! The lesson cutoff as an OS notification: the server tells its live subscribers once per
//! cutoff per day which lessons have no attendance yet (`rollcall_server::lesson_cutoff`);
//! the desktop shows that sentence as a notification, unless notifications are paused.

use rollcall_server::{AppState, Notice};
use tauri::{AppHandle, Runtime};
use tokio::sync::broadcast::error::RecvError;

use crate::notifications::{notify, NotificationPause};

/// Shows each cutoff notice until the server stops.
pub async fn watch<R: Runtime>(app: AppHandle<R>, state: AppState, pause: NotificationPause) {
    let mut notices = state.subscribe_notices();
    let mut stopping = state.stopping();
    loop {
        tokio::select! {
            received = notices.recv() => match received {
                Ok(Notice::LessonsNotTaken(notice)) if !pause.is_paused() => {
                    notify(&app, "Lessons not taken yet", &notice.message);
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}
