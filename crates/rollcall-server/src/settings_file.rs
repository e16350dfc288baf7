//! Saving `rollcall.toml`, which may hold the webhook secret: written readable by this user only.

use std::io::Write;
use std::path::Path;

use rollcall_core::config::{FileConfig, CONFIG_FILE};

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
