//! "Save report" in the desktop window: Tauri's save dialog, a progress bar fed through a
//! channel, Cancel, and "Show in folder" once saved. (In a browser the same report simply
//! downloads from the export route.)
//!
//! The window's page comes from the local server, a remote origin to Tauri, which grants it
//! no IPC by default. [`grant_to_ui`] allows exactly these three commands to exactly that
//! origin once the server is up, and nothing else: the page cannot reach the file system,
//! only ask for a report to be saved where the person chooses in the dialog.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rollcall_core::filter::RecordFilter;
use rollcall_core::reports::ExportParams;
use rollcall_server::local::{export_file_name, export_request};
use rollcall_server::report_file::{save_report as write_report_file, SaveError, SaveProgress};
use rollcall_server::state::AppState;
use serde::Serialize;
use tauri::ipc::{CapabilityBuilder, Channel};
use tauri::{AppHandle, Manager, Runtime, State, WebviewWindow};
use tauri_plugin_dialog::DialogExt as _;

/// The commands the local UI may call; each needs an `allow-…` permission (see build.rs).
pub const COMMANDS: [&str; 4] = [
    "save_report",
    "cancel_export",
    "show_report_in_folder",
    // crate::server_sign_in
    "open_server_sign_in",
];

/// How often the progress bar is told about rows written: smooth to the eye, few messages.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Saves in progress and reports saved in this session.
#[derive(Default)]
pub struct Exports {
    /// The running server's state (a new one after Rollcall starts again).
    server: Mutex<Option<AppState>>,
    next_job: AtomicU64,
    /// Cancel flags of the saves in progress, by job.
    running: Mutex<HashMap<u64, Arc<AtomicBool>>>,
    /// Files saved here: the only paths "Show in folder" opens.
    saved: Mutex<HashSet<PathBuf>>,
    /// Where the last report was saved; the next dialog starts there.
    last_folder: Mutex<Option<PathBuf>>,
}

impl Exports {
    pub fn server_started(&self, state: AppState) {
        *self.server.lock().expect("server lock") = Some(state);
    }

    /// The running server's state, once it started.
    pub fn server(&self) -> Option<AppState> {
        self.server.lock().expect("server lock").clone()
    }

    /// Cancels every save in progress and waits (up to `limit`) until each has removed its
    /// partial file: quitting mid-save must not leave a hidden `.part` file in the folder.
    pub async fn cancel_all(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        for cancel in self.running.lock().expect("jobs lock").values() {
            cancel.store(true, Ordering::Relaxed);
        }
        while !self.running.lock().expect("jobs lock").is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Lets the UI page, served from `ui_origin` (`http://127.0.0.1:PORT`), call [`COMMANDS`].
pub fn grant_to_ui<R: Runtime>(app: &AppHandle<R>, ui_origin: &str, window: &str) {
    let mut capability = CapabilityBuilder::new("local-ui-reports")
        .remote(format!("{ui_origin}/*"))
        .window(window);
    for command in COMMANDS {
        capability = capability.permission(format!("allow-{}", command.replace('_', "-")));
    }
    if let Err(e) = app.add_capability(capability) {
        tracing::error!(error = %e, "reports cannot be saved from the window");
    }
}

/// What the progress channel tells the page.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum ExportUpdate {
    /// Writing began: `job` is what [`cancel_export`] takes.
    #[serde(rename_all = "camelCase")]
    Started {
        job: u64,
        file_name: String,
        total_rows: u64,
    },
    #[serde(rename_all = "camelCase")]
    Progress { rows_written: u64, total_rows: u64 },
}

/// How a save ended (failures are the command's error, a sentence).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum ExportOutcome {
    /// The dialog was closed without choosing a file.
    NotSaved,
    Cancelled,
    #[serde(rename_all = "camelCase")]
    Saved {
        path: PathBuf,
        file_name: String,
        rows: u64,
        bytes: u64,
    },
}

/// Asks where to save `report` (for the records `filter` selects, written as `options`
/// say: the same values the export route reads from its address), then writes it there,
/// telling `on_progress` how far it is.
#[tauri::command]
pub async fn save_report(
    window: WebviewWindow,
    exports: State<'_, Exports>,
    report: String,
    filter: RecordFilter,
    options: ExportParams,
    on_progress: Channel<ExportUpdate>,
) -> Result<ExportOutcome, String> {
    let state = exports
        .server
        .lock()
        .expect("server lock")
        .clone()
        .ok_or("Rollcall is still starting. Try again in a moment.")?;
    let request = export_request(&state, &report, filter, &options).map_err(|e| e.message)?;
    let suggested = export_file_name(&state, &request);
    let start_in = exports.last_folder.lock().expect("folder lock").clone();
    let Some(path) = ask_where_to_save(&window, &suggested, start_in).await else {
        return Ok(ExportOutcome::NotSaved);
    };
    let path = with_csv_extension(path);

    let job = exports.next_job.fetch_add(1, Ordering::Relaxed);
    let cancel = Arc::new(AtomicBool::new(false));
    exports
        .running
        .lock()
        .expect("jobs lock")
        .insert(job, cancel.clone());
    let file_name = display_name(&path);
    let written = {
        let mut reporter = ProgressReporter::new(job, file_name.clone(), on_progress);
        write_report_file(&state, &request, &path, move |progress| {
            reporter.tell(progress);
            if cancel.load(Ordering::Relaxed) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await
    };
    exports.running.lock().expect("jobs lock").remove(&job);

    match written {
        Ok(saved) => {
            tracing::info!(report, rows = saved.rows, "report saved");
            if let Some(folder) = path.parent() {
                *exports.last_folder.lock().expect("folder lock") = Some(folder.to_path_buf());
            }
            exports
                .saved
                .lock()
                .expect("saved lock")
                .insert(path.clone());
            Ok(ExportOutcome::Saved {
                path,
                file_name,
                rows: saved.rows,
                bytes: saved.bytes,
            })
        }
        Err(SaveError::Cancelled) => Ok(ExportOutcome::Cancelled),
        Err(e) => {
            tracing::warn!(report, error = %e, "report not saved");
            Err(e.to_string())
        }
    }
}

/// Stops a save between two rows; its partial file is removed.
#[tauri::command]
pub fn cancel_export(exports: State<'_, Exports>, job: u64) {
    if let Some(cancel) = exports.running.lock().expect("jobs lock").get(&job) {
        cancel.store(true, Ordering::Relaxed);
    }
}

/// Opens the file manager at a report saved in this session.
#[tauri::command]
pub fn show_report_in_folder(
    app: AppHandle,
    exports: State<'_, Exports>,
    path: PathBuf,
) -> Result<(), String> {
    if !exports.saved.lock().expect("saved lock").contains(&path) {
        return Err("Rollcall only opens the folders of reports it saved.".into());
    }
    crate::reveal::reveal_in_folder(&app, &path).map_err(|e| {
        tracing::warn!(error = %e, "could not open the file manager");
        format!(
            "Rollcall could not open the folder. The report is saved at {}.",
            path.display()
        )
    })
}

/// Tauri's save dialog, over the window; `None` when closed without choosing.
async fn ask_where_to_save(
    window: &WebviewWindow,
    suggested: &str,
    start_in: Option<PathBuf>,
) -> Option<PathBuf> {
    let start_in = start_in.or_else(|| window.path().document_dir().ok());
    let mut dialog = window
        .dialog()
        .file()
        .set_parent(window)
        .set_title("Save the report")
        .set_file_name(suggested)
        .add_filter("CSV file (opens in Excel and LibreOffice)", &["csv"])
        .set_can_create_directories(true);
    if let Some(folder) = start_in.filter(|f| f.is_dir()) {
        dialog = dialog.set_directory(folder);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    dialog.save_file(move |chosen| {
        let _ = tx.send(chosen.and_then(|p| p.into_path().ok()));
    });
    rx.await.ok().flatten()
}

/// A name typed without an extension gets `.csv`, so the file opens in a spreadsheet.
fn with_csv_extension(path: PathBuf) -> PathBuf {
    if path.extension().is_some() {
        path
    } else {
        path.with_extension("csv")
    }
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Sends progress to the page at most every [`PROGRESS_INTERVAL`], always the first and the
/// last: a million rows would otherwise be a thousand messages.
struct ProgressReporter {
    job: u64,
    file_name: Option<String>,
    channel: Channel<ExportUpdate>,
    last_sent: Option<Instant>,
}

impl ProgressReporter {
    fn new(job: u64, file_name: String, channel: Channel<ExportUpdate>) -> Self {
        Self {
            job,
            file_name: Some(file_name),
            channel,
            last_sent: None,
        }
    }

    fn tell(&mut self, progress: SaveProgress) {
        let update = if let Some(file_name) = self.file_name.take() {
            ExportUpdate::Started {
                job: self.job,
                file_name,
                total_rows: progress.total_rows,
            }
        } else {
            let done = progress.rows_written == progress.total_rows;
            if !done
                && self
                    .last_sent
                    .is_some_and(|t| t.elapsed() < PROGRESS_INTERVAL)
            {
                return;
            }
            ExportUpdate::Progress {
                rows_written: progress.rows_written,
                total_rows: progress.total_rows,
            }
        };
        self.last_sent = Some(Instant::now());
        // The page may have gone (reloaded); the save goes on and its result still returns.
        let _ = self.channel.send(update);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quitting_cancels_saves_and_waits_for_them_to_tidy_up() {
        let exports = Arc::new(Exports::default());
        let cancel = Arc::new(AtomicBool::new(false));
        exports.running.lock().unwrap().insert(1, cancel.clone());
        // A save that notices the flag a little later, then removes its job (as save_report
        // does once its partial file is gone).
        let save = {
            let exports = exports.clone();
            std::thread::spawn(move || {
                while !cancel.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                std::thread::sleep(Duration::from_millis(50));
                exports.running.lock().unwrap().remove(&1);
            })
        };
        tauri::async_runtime::block_on(exports.cancel_all(Duration::from_secs(5)));
        assert!(exports.running.lock().unwrap().is_empty());
        save.join().unwrap();
    }

    #[test]
    fn typed_names_become_csv_files() {
        assert_eq!(
            with_csv_extension("/home/office/November".into()),
            PathBuf::from("/home/office/November.csv")
        );
        assert_eq!(
            with_csv_extension("/home/office/November.csv".into()),
            PathBuf::from("/home/office/November.csv")
        );
        assert_eq!(
            with_csv_extension("/home/office/November.txt".into()),
            PathBuf::from("/home/office/November.txt")
        );
    }

    #[test]
    fn the_page_is_told_in_camel_case() {
        let started = serde_json::to_value(ExportUpdate::Started {
            job: 3,
            file_name: "r.csv".into(),
            total_rows: 10,
        })
        .unwrap();
        assert_eq!(
            started,
            serde_json::json!({"event": "started", "job": 3, "fileName": "r.csv", "totalRows": 10})
        );
        let saved = serde_json::to_value(ExportOutcome::Saved {
            path: "/tmp/r.csv".into(),
            file_name: "r.csv".into(),
            rows: 2,
            bytes: 40,
        })
        .unwrap();
        assert_eq!(
            saved,
            serde_json::json!({"outcome": "saved", "path": "/tmp/r.csv", "fileName": "r.csv", "rows": 2, "bytes": 40})
        );
    }
}
