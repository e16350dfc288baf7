//! Saving `rollcall.toml`, which may hold the webhook secret: written readable by this user only.

use std::io::Write;
use std::path::Path;

use rollcall_core::config::{FileConfig, CONFIG_FILE};

use crate::error::{ApiError, ApiResult};

pub fn save(data_dir: &Path, config: &FileConfig) -> std::io::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let text = toml::to_string_pretty(config).map_err(std::io::Error::other)?;
    let path = data_dir.join(CONFIG_FILE);
    let temp = data_dir.join(format!("{CONFIG_FILE}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    // Rename so a crash never leaves a half-written settings file.
    std::fs::rename(&temp, &path)
}

/// Loads `rollcall.toml`, lets `change` edit it, and saves it, off the async threads. A
/// failure is answered with a sentence saying nothing was changed.
pub async fn update(
    data_dir: &Path,
    change: impl FnOnce(&mut FileConfig) -> Result<(), String> + Send + 'static,
) -> ApiResult<()> {
    let data_dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut file = FileConfig::load(&data_dir).unwrap_or_default();
        change(&mut file)?;
        save(&data_dir, &file).map_err(|e| e.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "settings_not_saved",
            format!("The settings could not be saved ({e}). Nothing was changed; try again."),
        )
    })
}
