//! The tray icon: what the app is doing at a glance (listening, last event, problems) and the
//! menu that stays when the window is closed.

use std::sync::Mutex;
use std::time::Duration;

use rollcall_server::AppState;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::AppHandle;
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_clipboard_manager::ClipboardExt as _;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

const ICON: &[u8] = include_bytes!("../icons/tray.png");
const ICON_PROBLEM: &[u8] = include_bytes!("../icons/tray-problem.png");
/// How often the tray looks at things no event announces (a storage failure clearing).
const REFRESH: Duration = Duration::from_secs(5);

/// What the tray shows; compared with what it showed to skip needless menu updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayStatus {
    pub listening: String,
    pub last_event: String,
    pub problem: Option<String>,
}

impl TrayStatus {
    fn tooltip(&self) -> String {
        let mut text = format!("Rollcall: {}\n{}", self.listening, self.last_event);
        if let Some(problem) = &self.problem {
            text.push('\n');
            text.push_str(problem);
        }
        text
    }
}

/// What the tray's menu asks of the app. The desktop module provides them, so the tray knows
/// nothing of the app's state and the two modules do not import each other.
#[derive(Clone, Copy)]
pub struct TrayActions {
    pub show_window: fn(&AppHandle),
    pub quit: fn(&AppHandle),
    /// The webhook listener's URL, once the listener is up.
    pub webhook_url: fn(&AppHandle) -> Option<String>,
    pub pause_notifications: fn(&AppHandle, bool),
}

/// The tray and the menu items whose text changes.
pub struct Tray {
    icon: TrayIcon,
    listening: MenuItem<tauri::Wry>,
    last_event: MenuItem<tauri::Wry>,
    problem: MenuItem<tauri::Wry>,
    copy_webhook_url: MenuItem<tauri::Wry>,
    shown: Mutex<Option<TrayStatus>>,
}

pub fn build(app: &AppHandle, actions: TrayActions) -> tauri::Result<Tray> {
    let listening = MenuItem::with_id(app, "listening", "Starting…", false, None::<&str>)?;
    let last_event = MenuItem::with_id(app, "last-event", "No events yet", false, None::<&str>)?;
    let problem = MenuItem::with_id(app, "problem", "No problems", false, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open Rollcall", true, None::<&str>)?;
    // Enabled once the listener is up and its address is known.
    let copy_webhook_url = MenuItem::with_id(
        app,
        "copy-webhook-url",
        "Copy webhook URL",
        false,
        None::<&str>,
    )?;
    let pause = CheckMenuItem::with_id(
        app,
        "pause-notifications",
        "Pause notifications",
        true,
        false,
        None::<&str>,
    )?;
    let start_at_login = CheckMenuItem::with_id(
        app,
        "start-at-login",
        "Start at login",
        true,
        app.autolaunch().is_enabled().unwrap_or(false),
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, "quit", "Quit Rollcall", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &listening,
            &last_event,
            &problem,
            &PredefinedMenuItem::separator(app)?,
            &open,
            &copy_webhook_url,
            &pause,
            &start_at_login,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let icon = TrayIconBuilder::with_id("main")
        .icon(Image::from_bytes(ICON)?)
        .tooltip("Rollcall: starting…")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(move |app, event| {
            on_menu_event(app, &event, actions, &pause, &start_at_login)
        })
        .on_tray_icon_event(move |tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                (actions.show_window)(tray.app_handle());
            }
        })
        .build(app)?;
    Ok(Tray {
        icon,
        listening,
        last_event,
        problem,
        copy_webhook_url,
        shown: Mutex::new(None),
    })
}

fn on_menu_event(
    app: &AppHandle,
    event: &MenuEvent,
    actions: TrayActions,
    pause: &CheckMenuItem<tauri::Wry>,
    start_at_login: &CheckMenuItem<tauri::Wry>,
) {
    match event.id().as_ref() {
        "open" => (actions.show_window)(app),
        "copy-webhook-url" => {
            if let Some(url) = (actions.webhook_url)(app) {
                if let Err(e) = app.clipboard().write_text(url) {
                    tracing::warn!(error = %e, "could not copy the webhook URL");
                }
            }
        }
        "pause-notifications" => {
            let paused = pause.is_checked().unwrap_or(false);
            (actions.pause_notifications)(app, paused);
            tracing::info!(paused, "notifications paused from the tray");
        }
        "start-at-login" => {
            let wanted = start_at_login.is_checked().unwrap_or(false);
            let launcher = app.autolaunch();
            let result = if wanted {
                launcher.enable()
            } else {
                launcher.disable()
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, wanted, "could not change start at login");
                let _ = start_at_login.set_checked(launcher.is_enabled().unwrap_or(false));
            }
        }
        "quit" => (actions.quit)(app),
        _ => {}
    }
}

impl Tray {
    pub fn show(&self, status: &TrayStatus) {
        let mut shown = self.shown.lock().expect("tray status lock");
        if shown.as_ref() == Some(status) {
            return;
        }
        let _ = self.listening.set_text(&status.listening);
        let _ = self.last_event.set_text(&status.last_event);
        let _ = self
            .problem
            .set_text(status.problem.as_deref().unwrap_or("No problems"));
        let _ = self.icon.set_tooltip(Some(status.tooltip()));
        let had_problem = shown.as_ref().map(|s| s.problem.is_some());
        if had_problem != Some(status.problem.is_some()) {
            let bytes = if status.problem.is_some() {
                ICON_PROBLEM
            } else {
                ICON
            };
            if let Ok(image) = Image::from_bytes(bytes) {
                let _ = self.icon.set_icon(Some(image));
            }
        }
        *shown = Some(status.clone());
    }

    pub fn enable_copy_webhook_url(&self) {
        let _ = self.copy_webhook_url.set_enabled(true);
    }
}

/// The status of a running server.
fn status_of(state: &AppState, last_event_at: Option<i64>) -> TrayStatus {
    let last_event = match last_event_at {
        Some(ms) => format!("Last event: {}", describe_time(ms)),
        None => "No events yet".to_string(),
    };
    // A viewer receives no webhooks: what matters is whether its copy is live.
    if let Some(viewer) = state.viewer() {
        let live = viewer.connection == rollcall_server::viewer::ViewerConnection::Live;
        return TrayStatus {
            listening: format!("Showing {}", viewer.server),
            last_event,
            problem: if state.storage_failing() {
                Some("Problem: this computer's copy cannot be saved. Check the disk.".to_string())
            } else {
                (!live).then(|| format!("Not live: {}", viewer.message))
            },
        };
    }
    let auth = state.webhook_auth();
    let problem = if state.storage_failing() {
        Some("Problem: saving is failing, deliveries are refused. Check the disk.".to_string())
    } else if auth.key.is_none() && !auth.allow_unsigned {
        Some("Problem: no webhook secret, deliveries are refused. Open Setup.".to_string())
    } else {
        // A failed or unreachable public address, or a new URL to enter in DreamClass.
        state.tunnel().attention()
    };
    let listening_at = match state.tunnel().state() {
        rollcall_server::TunnelState::Online { webhook_url, .. } => webhook_url,
        _ => state.info().webhook_addr.to_string(),
    };
    TrayStatus {
        listening: format!("Listening for DreamClass at {listening_at}"),
        last_event,
        problem,
    }
}

/// `14:05:09` today, `28 Nov 14:05` on another day (local time).
fn describe_time(ms: i64) -> String {
    use chrono::{Local, TimeZone};
    match Local.timestamp_millis_opt(ms).single() {
        Some(at) if at.date_naive() == Local::now().date_naive() => {
            at.format("%H:%M:%S").to_string()
        }
        Some(at) => at.format("%-d %b %H:%M").to_string(),
        None => "unknown".to_string(),
    }
}

/// Keeps the tray up to date while the server runs; `show` puts a status in the app's tray.
pub async fn watch_status(app: AppHandle, state: AppState, show: fn(&AppHandle, &TrayStatus)) {
    let mut changes = state.subscribe_changes();
    let mut notices = state.subscribe_notices();
    let mut stopping = state.stopping();
    let mut tick = tokio::time::interval(REFRESH);
    let mut last_event_at = state.store().last_delivery_at().await.unwrap_or_default();
    loop {
        show(&app, &status_of(&state, last_event_at));
        tokio::select! {
            received = changes.recv() => match received {
                Ok(change) => {
                    last_event_at = Some(change.recorded_at);
                    // Under a burst, one menu update for everything queued.
                    loop {
                        match changes.try_recv() {
                            Ok(change) => last_event_at = Some(change.recorded_at),
                            Err(TryRecvError::Lagged(_)) => continue,
                            Err(_) => break,
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            _ = notices.recv() => {}
            _ = tick.tick() => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}
