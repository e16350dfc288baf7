//! Saving a report to a file the person chose: the desktop window's "Save report", with a
//! progress bar and a Cancel button. A browser downloads the same bytes from the export route
//! instead (both read the request through [`ExportRequest`]).
//!
//! The report is written to a hidden temporary file beside the destination and renamed over
//! it only once complete and on disk, so a cancelled or failed save leaves nothing behind and
//! never half-overwrites an earlier report of the same name.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::state::AppState;
use rollcall_core::reports::{ExportError, ExportRequest};
use rollcall_core::store::{ExportProgress, ExportProgressUpdate};
use rollcall_core::Scope;

/// How far a save is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveProgress {
    pub rows_written: u64,
    /// The rows the report has, counted in the same snapshot the rows are read from.
    pub total_rows: u64,
}

/// A report saved in full.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedReport {
    pub path: PathBuf,
    pub rows: u64,
    pub bytes: u64,
}

/// Why a report was not saved; each a sentence for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("The export was cancelled; nothing was saved.")]
    Cancelled,
    #[error("Rollcall could not save the report in {folder}: {reason} Choose another folder, such as Documents, and try again.")]
    Write { folder: String, reason: String },
    #[error("Rollcall could not read the attendance for the report. Try again; if it keeps happening, restart Rollcall.")]
    Database(String),
}

impl SaveError {
    /// The database failed: its detail goes to the log (the person gets the sentence).
    fn database(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "a report could not be read from the database");
        Self::Database(detail.to_string())
    }
}

/// Writes `request`'s report to `path`, telling `on_progress` how far it is (first with 0
/// rows written, then every [`rollcall_core::reports::PROGRESS_EVERY`] rows, and at the end); answering
/// [`ControlFlow::Break`] cancels. The store reads one snapshot on its own connection, so
/// webhooks keep being stored meanwhile.
pub async fn save_report(
    state: &AppState,
    request: &ExportRequest,
    path: &Path,
    mut on_progress: impl FnMut(SaveProgress) -> ControlFlow<()> + Send + 'static,
) -> Result<SavedReport, SaveError> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let write_error = |e: &std::io::Error| SaveError::Write {
        folder: folder.display().to_string(),
        reason: io_sentence(e),
    };
    // Readable by this user only: the file holds students' names.
    let mut part = tempfile::Builder::new()
        .prefix(".rollcall-report-")
        .suffix(".part")
        .tempfile_in(folder)
        .map_err(|e| write_error(&e))?;
    // The store writes through its own handle of the same open file.
    let sink = part.as_file().try_clone().map_err(|e| write_error(&e))?;
    let progress: ExportProgress = Box::new(move |p: ExportProgressUpdate| {
        on_progress(SaveProgress {
            rows_written: p.rows_written,
            total_rows: p.total_rows,
        })
    });
    let written = state
        .store
        .export(&Scope::all(), request, Box::new(sink), Some(progress))
        .await;
    let rows = match written {
        Ok(rows) => rows,
        Err(ExportError::Cancelled) => return Err(SaveError::Cancelled),
        Err(e) => match e.io_error() {
            Some(io) => return Err(write_error(io)),
            None => return Err(SaveError::database(e)),
        },
    };
    let file = part.as_file_mut();
    file.flush().map_err(|e| write_error(&e))?;
    file.sync_all().map_err(|e| write_error(&e))?;
    let bytes = file.metadata().map_err(|e| write_error(&e))?.len();
    part.persist(path).map_err(|e| write_error(&e.error))?;
    Ok(SavedReport {
        path: path.to_path_buf(),
        rows,
        bytes,
    })
}

/// What went wrong writing, as the end of a sentence.
fn io_sentence(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::StorageFull => "the disk is full.".into(),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            "Rollcall is not allowed to write there.".into()
        }
        ErrorKind::NotFound => "the folder does not exist.".into(),
        _ => format!("{e}."),
    }
}
