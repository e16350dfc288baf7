//! The app's life: start the listeners in-process, point the window at the local UI, keep
//! running in the tray when the window closes, and stop the listeners cleanly on quit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rollcall_server::launch::{launch, DemoPace, KeptSecrets, LaunchOptions, Launched};
use rollcall_server::{RunningServer, SecretStore, ServerInfo};
use tauri::webview::{PageLoadEvent, PageLoadPayload};
use tauri::{AppHandle, Manager, Url, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

use crate::alerts;
use crate::exports::{self, Exports};
use crate::keyring_store::KeyringStore;
use crate::notifications::{self, NotificationPause};
use crate::tray::{self, Tray, TrayActions, TrayStatus};

pub const MAIN_WINDOW: &str = "main";

/// The app's state, managed by Tauri.
pub struct Desktop {
    /// `None` until started, and again once stopped. The start holds the lock until the server
    /// is in place, so a quit during start waits for it and then stops it.
    running: tokio::sync::Mutex<Option<Launched>>,
    /// Set once the listeners are up (anew each time Rollcall starts again).
    info: Mutex<Option<ServerInfo>>,
    /// Why the listeners could not start, a sentence for the window.
    startup_problem: Mutex<Option<String>>,
    quitting: AtomicBool,
    /// Showing a Rollcall server's attendance rather than receiving webhooks.
    viewing: AtomicBool,
    /// The interface origin the window's commands were granted to (once per origin: a start
    /// again on the same address keeps the grant).
    granted: Mutex<Option<String>>,
    told_about_tray: AtomicBool,
    pub pause: NotificationPause,
    pub tray: Tray,
}

impl Desktop {
    pub fn new(tray: Tray) -> Self {
        Self {
            running: tokio::sync::Mutex::new(None),
            info: Mutex::new(None),
            startup_problem: Mutex::new(None),
            quitting: AtomicBool::new(false),
            viewing: AtomicBool::new(false),
            granted: Mutex::new(None),
            told_about_tray: AtomicBool::new(false),
            pause: NotificationPause::default(),
            tray,
        }
    }

    pub fn info(&self) -> Option<ServerInfo> {
        self.info.lock().expect("info lock").clone()
    }

    fn ui_origin(&self) -> Option<String> {
        self.info().map(|info| format!("http://{}", info.ui_addr))
    }
}

/// What the tray's menu does in this app.
pub const TRAY_ACTIONS: TrayActions = TrayActions {
    show_window,
    quit,
    webhook_url: |app| {
        let desktop = app.state::<Desktop>();
        let info = desktop.info()?;
        // A viewer receives no webhooks: there is no address to copy.
        (!desktop.viewing.load(Ordering::Relaxed)).then(|| info.webhook_url())
    },
    pause_notifications: |app, paused| app.state::<Desktop>().pause.set(paused),
};

fn show_tray_status(app: &AppHandle, status: &TrayStatus) {
    app.state::<Desktop>().tray.show(status);
}

/// Opens the main window on the bundled splash page; [`start`] moves it to the UI.
pub fn create_window(app: &AppHandle, visible: bool) -> tauri::Result<WebviewWindow> {
    let navigation_app = app.clone();
    WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::App("index.html".into()))
        .title("Rollcall")
        .inner_size(1200.0, 760.0)
        .min_inner_size(640.0, 420.0)
        .visible(visible)
        .on_navigation(move |url| {
            let origin = navigation_app.state::<Desktop>().ui_origin();
            let allowed = is_app_page(url, origin.as_deref());
            if !allowed {
                tracing::warn!(%url, "the window was kept from leaving Rollcall");
            }
            allowed
        })
        .on_page_load(on_page_load)
        .build()
}

/// The splash page (bundled) or the local UI: nothing else is shown in the app's window, so
/// no other site ever runs next to the local API's cookie.
fn is_app_page(url: &Url, ui_origin: Option<&str>) -> bool {
    let splash = url.scheme() == "tauri" || url.host_str() == Some("tauri.localhost");
    let ui = ui_origin.is_some_and(|origin| url.origin().ascii_serialization() == origin);
    splash || ui
}

fn on_page_load(window: WebviewWindow, payload: PageLoadPayload<'_>) {
    if payload.event() != PageLoadEvent::Finished {
        return;
    }
    let problem = window
        .state::<Desktop>()
        .startup_problem
        .lock()
        .expect("problem lock")
        .clone();
    if let Some(problem) = problem {
        show_problem_in_window(&window, &problem);
    }
}

fn show_problem_in_window(window: &WebviewWindow, problem: &str) {
    let sentence = serde_json::to_string(problem).expect("a string serialises");
    // The splash page defines this; the page may not have loaded yet, in which case the
    // page-load handler calls it again.
    let script = format!("window.showStartupProblem && window.showStartupProblem({sentence})");
    if let Err(e) = window.eval(&script) {
        tracing::warn!(error = %e, "could not show the start-up problem in the window");
    }
}

/// Starts the listeners (in the background of the already open window) and then moves the
/// window to the UI, or shows why they could not start.
pub fn start(app: AppHandle) {
    tauri::async_runtime::spawn(async move {
        let desktop = app.state::<Desktop>();
        let mut slot = desktop.running.lock().await;
        match start_server(bundled_ui(&app)).await {
            Ok(launched) => {
                on_started(&app, &desktop, &launched.server);
                restart_when_asked(app.clone(), &launched.server);
                *slot = Some(launched);
            }
            Err(problem) => {
                tracing::error!(%problem, "Rollcall could not start");
                on_start_failed(&app, &desktop, problem);
            }
        }
    });
}

/// "Connect to a Rollcall server" or "Stop viewing" in the window: the listeners stop
/// (everything received is committed) and start again with the saved choice, and the window
/// moves to the new run's interface.
fn restart_when_asked(app: AppHandle, server: &RunningServer) {
    let mut asked = server.state().restart_requested();
    tauri::async_runtime::spawn(async move {
        if asked.wait_for(|asked| *asked).await.is_err() {
            return;
        }
        let desktop = app.state::<Desktop>();
        if desktop.quitting.load(Ordering::SeqCst) {
            return;
        }
        let running = desktop.running.lock().await.take();
        if let Some(running) = running {
            tracing::info!("starting again with the saved choice");
            running.shutdown().await;
        }
        start(app.clone());
    });
}

/// The web UI an installed app carries as a resource (`ui/`, see scripts/package.sh), when
/// it is there.
fn bundled_ui(app: &AppHandle) -> Option<std::path::PathBuf> {
    let dir = app.path().resource_dir().ok()?.join("ui");
    dir.join("index.html").is_file().then_some(dir)
}

/// `bundled_ui`: used when neither `ROLLCALL_UI_DIR` nor a checkout's `ui/dist` gives the UI.
async fn start_server(bundled_ui: Option<std::path::PathBuf>) -> Result<Launched, String> {
    let (config, demo) = tauri::async_runtime::spawn_blocking(move || {
        let mut options =
            LaunchOptions::from_env(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))?
                .with_saved_server();
        options.ui_dir = options
            .ui_dir
            .or_else(rollcall_server::launch::find_ui_dir)
            .or(bundled_ui);
        let data_dir = options.data_dir();
        // Keyring calls block (D-Bus); this is a blocking thread.
        let (store, kept) = match KeyringStore::open() {
            Ok((store, kept)) => (Some(Arc::new(store) as Arc<dyn SecretStore>), kept),
            Err(reason) => {
                tracing::warn!(
                    %reason,
                    "NO SYSTEM KEYRING: secrets entered in Rollcall are saved in {} instead \
                     (readable by this user only)",
                    data_dir.join(rollcall_core::config::CONFIG_FILE).display()
                );
                (None, KeptSecrets::default())
            }
        };
        let mut config = options.resolve(&kept)?;
        config.secret_store = store;
        Ok::<_, String>((config, options.demo.then(DemoPace::default)))
    })
    .await
    .map_err(|e| format!("Rollcall could not read its settings ({e})."))??;
    launch(config, demo).await
}

fn on_started(app: &AppHandle, desktop: &Desktop, server: &RunningServer) {
    let info = server.info().clone();
    tracing::info!(
        webhook = %info.webhook_url(),
        ui = %format!("http://{}/", info.ui_addr),
        data = %info.data_dir.display(),
        "Rollcall is running"
    );
    *desktop.info.lock().expect("info lock") = Some(info.clone());
    let viewing = server.state().viewer().is_some();
    desktop.viewing.store(viewing, Ordering::Relaxed);
    if !viewing {
        desktop.tray.enable_copy_webhook_url();
    }
    let state = server.state().clone();
    app.state::<Exports>().server_started(state.clone());
    let origin = format!("http://{}", info.ui_addr);
    let mut granted = desktop.granted.lock().expect("grant lock");
    if granted.as_deref() != Some(origin.as_str()) {
        exports::grant_to_ui(app, &origin, MAIN_WINDOW);
        *granted = Some(origin);
    }
    drop(granted);
    tauri::async_runtime::spawn(tray::watch_status(
        app.clone(),
        state.clone(),
        show_tray_status,
    ));
    tauri::async_runtime::spawn(alerts::watch(
        app.clone(),
        state.clone(),
        desktop.pause.clone(),
    ));
    tauri::async_runtime::spawn(crate::cutoff_notice::watch(
        app.clone(),
        state.clone(),
        desktop.pause.clone(),
    ));
    tauri::async_runtime::spawn(notifications::watch(
        app.clone(),
        state.clone(),
        desktop.pause.clone(),
    ));
    match (
        app.get_webview_window(MAIN_WINDOW),
        Url::parse(&info.ui_url()),
    ) {
        (Some(window), Ok(url)) => {
            if let Err(e) = window.navigate(url) {
                tracing::error!(error = %e, "could not open the interface in the window");
            }
        }
        (None, _) => tracing::error!("the main window is missing"),
        (_, Err(e)) => tracing::error!(error = %e, "the interface address is not a URL"),
    }
}

fn on_start_failed(app: &AppHandle, desktop: &Desktop, problem: String) {
    desktop.tray.show(&TrayStatus {
        listening: "Not running".into(),
        last_event: "No events yet".into(),
        problem: Some(format!("Problem: {problem}")),
    });
    *desktop.startup_problem.lock().expect("problem lock") = Some(problem.clone());
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        show_problem_in_window(&window, &problem);
        show_window(app);
    }
}

/// Brings the window back (tray, second launch).
pub fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Closing the window keeps Rollcall listening in the tray (the first time, it says so); when
/// it could not start, there is nothing to keep running and closing quits.
pub fn close_window(window: &tauri::Window) {
    let desktop = window.state::<Desktop>();
    if desktop
        .startup_problem
        .lock()
        .expect("problem lock")
        .is_some()
    {
        quit(window.app_handle());
        return;
    }
    let _ = window.hide();
    if !desktop.told_about_tray.swap(true, Ordering::Relaxed) {
        notifications::notify(
            window.app_handle(),
            "Rollcall is still running",
            "Attendance keeps arriving. Open Rollcall from its tray icon, or start it again.",
        );
    }
}

/// A second launch: `--quit` stops the running Rollcall; anything else shows its window.
pub fn on_second_launch(app: &AppHandle, args: Vec<String>) {
    if args.iter().any(|a| a == "--quit") {
        tracing::info!("asked to quit by another launch");
        quit(app);
    } else {
        show_window(app);
    }
}

/// Stops the listeners (requests in flight finish, everything received is committed), then
/// exits. Every way out (tray, `--quit`, SIGTERM, the OS) comes here.
pub fn quit(app: &AppHandle) {
    let desktop = app.state::<Desktop>();
    if desktop.quitting.swap(true, Ordering::SeqCst) {
        return;
    }
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.hide();
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        app.state::<Exports>()
            .cancel_all(std::time::Duration::from_secs(3))
            .await;
        let desktop = app.state::<Desktop>();
        let running = desktop.running.lock().await.take();
        if let Some(running) = running {
            tracing::info!("stopping: finishing and saving what has arrived");
            running.shutdown().await;
            tracing::info!("stopped; everything received was saved");
        }
        app.exit(0);
    });
}

/// Whether the app may exit now: only once [`quit`] has stopped the listeners.
pub fn may_exit(app: &AppHandle) -> bool {
    app.state::<Desktop>().quitting.load(Ordering::SeqCst)
}

/// SIGTERM (logout, `kill`) and Ctrl+C in a terminal take the same way out as the tray's Quit.
#[cfg(unix)]
pub fn quit_on_signals(app: AppHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    tauri::async_runtime::spawn(async move {
        let (Ok(mut term), Ok(mut interrupt)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("could not listen for stop signals");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = interrupt.recv() => tracing::info!("SIGINT received"),
        }
        quit(&app);
    });
}

#[cfg(not(unix))]
pub fn quit_on_signals(_app: AppHandle) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_shows_only_the_splash_and_the_local_ui() {
        let ui = Some("http://127.0.0.1:8788");
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(is_app_page(&url("tauri://localhost/index.html"), ui));
        assert!(is_app_page(&url("http://tauri.localhost/index.html"), ui));
        assert!(is_app_page(&url("http://127.0.0.1:8788/?token=abc"), ui));
        assert!(is_app_page(&url("http://127.0.0.1:8788/#/board"), ui));
        assert!(!is_app_page(
            &url("http://127.0.0.1:8787/webhooks/dreamclass"),
            ui
        ));
        assert!(!is_app_page(&url("http://localhost:8788/"), ui));
        assert!(!is_app_page(&url("https://example.com/"), ui));
        assert!(!is_app_page(&url("http://127.0.0.1:8788/"), None));
    }
}
