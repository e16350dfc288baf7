//! Rollcall's desktop app: a thin Tauri shell around the same server `rollcall serve` runs.
//! It starts the webhook and local API listeners in-process, shows the local UI in its
//! window, and adds what only a desktop app can: a tray, notifications, the OS keyring, start
//! at login, one instance.

mod alerts;
mod cutoff_notice;
mod desktop;
mod exports;
mod keyring_store;
mod logging;
mod memory;
mod notifications;
mod reveal;
mod server_sign_in;
mod tray;

use tauri::{Manager, RunEvent, WindowEvent};
use tauri_plugin_autostart::MacosLauncher;

/// Passed when the OS starts Rollcall at login: open in the tray, without the window.
const HIDDEN_FLAG: &str = "--hidden";

pub fn run() {
    logging::init();
    // Before any thread is started: it may set an environment variable.
    memory::prefer_software_rendering();
    let app = tauri::Builder::default()
        // First, so that a second launch hands over to the running one before doing anything.
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            desktop::on_second_launch(app, args)
        }))
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            Some(vec![HIDDEN_FLAG]),
        ))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        // Used from Rust only (the save dialog, "Show in folder"): the page gets no access.
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .manage(exports::Exports::default())
        .invoke_handler(tauri::generate_handler![
            exports::save_report,
            exports::cancel_export,
            exports::show_report_in_folder,
            server_sign_in::open_server_sign_in
        ])
        .setup(|app| {
            let args: Vec<String> = std::env::args().collect();
            if args.iter().any(|a| a == "--quit") {
                // A running copy would have taken the request and this one would be gone.
                println!("Rollcall is not running.");
                std::process::exit(0);
            }
            logging::open_file(&data_dir());
            let handle = app.handle().clone();
            let tray = tray::build(&handle, desktop::TRAY_ACTIONS)?;
            app.manage(desktop::Desktop::new(tray));
            desktop::create_window(&handle, !args.iter().any(|a| a == HIDDEN_FLAG))?;
            desktop::start(handle.clone());
            desktop::quit_on_signals(handle);
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                if window.label() == desktop::MAIN_WINDOW {
                    api.prevent_close();
                    desktop::close_window(window);
                }
            }
        })
        .build(tauri::generate_context!())
        .expect("the Tauri application builds");
    app.run(|app, event| {
        if let RunEvent::ExitRequested { api, .. } = event {
            if !desktop::may_exit(app) {
                // Stop the listeners first; quit exits when they are stopped.
                api.prevent_exit();
                desktop::quit(app);
            }
        }
    });
}

/// The data folder as the server will use it, for the log file; an unreadable variable is
/// reported when the server starts.
fn data_dir() -> std::path::PathBuf {
    rollcall_server::launch::LaunchOptions::from_env(|name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    })
    .unwrap_or_default()
    .data_dir()
}
