//! "Show in folder": the system's file manager opened at a file, with the file selected.
//!
//! The opener plugin does it everywhere (on Windows through the shell call Explorer itself
//! uses, `SHOpenFolderAndSelectItems`). On Windows that call is known to fail now and then
//! with "file not found" for a file that is there, and the plugin then opens the folder
//! without selecting anything, or fails; so there Rollcall falls back to `explorer /select,`.

use std::path::Path;

use tauri::{AppHandle, Runtime};
use tauri_plugin_opener::OpenerExt as _;

/// Opens the file manager at `path` (which exists), or says why not.
pub fn reveal_in_folder<R: Runtime>(app: &AppHandle<R>, path: &Path) -> Result<(), String> {
    match app.opener().reveal_item_in_dir(path) {
        Ok(()) => Ok(()),
        #[cfg(windows)]
        Err(e) => {
            tracing::warn!(error = %e, "the shell could not show the file; asking Explorer");
            explorer_select(path).map_err(|e| e.to_string())
        }
        #[cfg(not(windows))]
        Err(e) => Err(e.to_string()),
    }
}

/// `explorer /select,"C:\…\report.csv"`. Explorer's exit code says nothing (it is 1 when all
/// went well), so it is not waited for.
#[cfg(windows)]
fn explorer_select(path: &Path) -> std::io::Result<()> {
    use std::os::windows::process::CommandExt as _;
    std::process::Command::new("explorer.exe")
        .raw_arg(explorer_select_argument(path))
        .spawn()
        .map(drop)
}

/// Explorer parses its own command line: the path must follow `/select,` inside the same
/// argument, in quotes when it has spaces or commas. The standard quoting would wrap the
/// whole `/select,…` in quotes, which Explorer does not read as a selection (it opens a
/// default folder instead), so the argument is passed as it is. A Windows path cannot
/// contain `"`, so quoting it is safe.
#[cfg_attr(not(windows), allow(dead_code))]
fn explorer_select_argument(path: &Path) -> String {
    format!("/select,\"{}\"", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explorer_gets_the_path_quoted_inside_its_select_argument() {
        assert_eq!(
            explorer_select_argument(Path::new(
                r"C:\Users\Office, Main\Documents\rollcall-attendance 2026-11.csv"
            )),
            r#"/select,"C:\Users\Office, Main\Documents\rollcall-attendance 2026-11.csv""#
        );
    }
}
