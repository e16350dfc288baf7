//! `rollcall.toml` and [`Settings`]: reading one from the other, and writing the file so that
//! a crash, a full disk or another program holding it never leaves it half-written.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use rollcall_core::config::{BasicAuth, FileConfig, ReportThresholds, CONFIG_FILE};
use rollcall_dreamclass::ApiConfig;
use rollcall_tunnel::TunnelConfig;
use serde::Deserialize;

use super::{
    DigestSettings, ForwardingSettings, Settings, WebhookSettings, DEFAULT_RETENTION_DAYS,
};

/// `rollcall.toml` with its `[dreamclass]`, `[tunnel]` and `[digest]` parts typed.
pub type SettingsFile = FileConfig<ApiConfig, TunnelConfig, DigestSettings>;

/// Reads `rollcall.toml` from `data_dir` (a missing file is all defaults). A mistake in the
/// `[dreamclass]` or `[tunnel]` part is a sentence naming that part.
pub fn read(data_dir: &Path) -> Result<SettingsFile, String> {
    let file = FileConfig::load(data_dir).map_err(|e| e.to_string())?;
    let dreamclass = file
        .dreamclass
        .map(|table| ApiConfig::deserialize(toml::Value::Table(table)))
        .transpose()
        .map_err(|e| format!("The [dreamclass] part of {CONFIG_FILE} has a mistake: {e}"))?;
    let tunnel = file
        .tunnel
        .map(|table| TunnelConfig::deserialize(toml::Value::Table(table)))
        .transpose()
        .map_err(|e| format!("The [tunnel] part of {CONFIG_FILE} has a mistake: {e}"))?;
    let digest = file
        .digest
        .map(|table| DigestSettings::deserialize(toml::Value::Table(table)))
        .transpose()
        .map_err(|e| format!("The [digest] part of {CONFIG_FILE} has a mistake: {e}"))?;
    Ok(SettingsFile {
        database_url: file.database_url,
        webhook_addr: file.webhook_addr,
        ui_addr: file.ui_addr,
        webhook_secret: file.webhook_secret,
        key_encoding: file.key_encoding,
        basic_auth: file.basic_auth,
        allow_unsigned: file.allow_unsigned,
        notify_status_ids: file.notify_status_ids,
        dreamclass,
        tunnel,
        delivery_retention_days: file.delivery_retention_days,
        last_shown_public_url: file.last_shown_public_url,
        reports: file.reports,
        digest,
        forward_url: file.forward_url,
        forward_secret: file.forward_secret,
        schools: file.schools,
        removed_schools: file.removed_schools,
    })
}

/// The settings a file chooses, defaults for the rest. Not yet validated: a flag may still
/// replace a part that is unusable on its own.
pub fn settings_from(file: &SettingsFile) -> Result<Settings, String> {
    let basic_auth = file
        .basic_auth
        .as_deref()
        .map(str::parse::<BasicAuth>)
        .transpose()
        .map_err(|e| e.to_string())?;
    Ok(Settings {
        webhook: WebhookSettings {
            secret: file.webhook_secret.clone(),
            key_encoding: file.key_encoding.unwrap_or_default(),
            basic_auth,
            allow_unsigned: file.allow_unsigned.unwrap_or(false),
        },
        notify_status_ids: file.notify_status_ids.clone().unwrap_or_default(),
        delivery_retention_days: file
            .delivery_retention_days
            .unwrap_or(DEFAULT_RETENTION_DAYS),
        reports: file.report_settings().map_err(|e| e.to_string())?,
        dreamclass: file.dreamclass.clone().unwrap_or_default(),
        tunnel: file.tunnel.clone().unwrap_or_default(),
        last_shown_public_url: file.last_shown_public_url.clone(),
        digest: file.digest.clone().unwrap_or_default(),
        forwarding: ForwardingSettings {
            url: file.forward_url.clone(),
            secret: file.forward_secret.clone(),
        },
        schools: file
            .schools
            .iter()
            .map(super::schools::from_table)
            .collect::<Result<_, _>>()?,
        removed_schools: file
            .removed_schools
            .iter()
            .map(super::schools::removed_from_table)
            .collect(),
    })
}

/// Writes `settings` into `file`, leaving its other lines (the listening addresses) as they
/// are. A setting the file leaves out stays out while it has its default, so the file keeps
/// only what the office chose.
pub(super) fn write_into(settings: &Settings, file: &mut SettingsFile) {
    fn put<T: PartialEq>(slot: &mut Option<T>, value: T, default: T) {
        if slot.is_some() || value != default {
            *slot = Some(value);
        }
    }
    let webhook = &settings.webhook;
    file.webhook_secret = webhook.secret.clone();
    put(
        &mut file.key_encoding,
        webhook.key_encoding,
        Default::default(),
    );
    file.basic_auth = webhook
        .basic_auth
        .as_ref()
        .map(|b| format!("{}:{}", b.username, b.password));
    put(&mut file.allow_unsigned, webhook.allow_unsigned, false);
    put(
        &mut file.notify_status_ids,
        settings.notify_status_ids.clone(),
        Vec::new(),
    );
    put(
        &mut file.delivery_retention_days,
        settings.delivery_retention_days,
        DEFAULT_RETENTION_DAYS,
    );
    let reports = ReportThresholds::from_settings(&settings.reports);
    put(
        &mut file.reports,
        reports,
        ReportThresholds::from_settings(&Default::default()),
    );
    put(
        &mut file.dreamclass,
        settings.dreamclass.clone(),
        ApiConfig::default(),
    );
    put(
        &mut file.tunnel,
        settings.tunnel.clone(),
        TunnelConfig::None,
    );
    file.last_shown_public_url = settings.last_shown_public_url.clone();
    put(
        &mut file.digest,
        settings.digest.clone(),
        DigestSettings::default(),
    );
    file.forward_url = settings.forwarding.url.clone();
    file.forward_secret = settings.forwarding.secret.clone();
    file.schools = settings
        .schools
        .iter()
        .map(super::schools::to_table)
        .collect();
    file.removed_schools = settings
        .removed_schools
        .iter()
        .map(super::schools::removed_to_table)
        .collect();
}

/// How often a rename refused because another program holds the file is tried, and the
/// first wait between tries (doubling each time).
const RENAME_TRIES: u32 = 5;
const RENAME_FIRST_WAIT: Duration = Duration::from_millis(20);

/// Replaces `dir/name` with `text`, readable by this user only: a temporary file in the same
/// folder is written and flushed to disk, then renamed over the old one, and the folder is
/// flushed so the rename itself survives a power cut. On any failure the old file is left as
/// it was. Blocking.
pub fn write_atomically(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    let temp = dir.join(format!("{name}.tmp"));
    // A temporary file left by a crash may have other permissions; start afresh.
    let _ = std::fs::remove_file(&temp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| rename_with_retry(&temp, &path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    sync_folder(dir);
    Ok(())
}

/// On Windows a rename fails while another program (an editor, a virus scanner, a backup
/// tool) has the file open; it usually lets go within a moment.
fn rename_with_retry(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut wait = RENAME_FIRST_WAIT;
    let mut tries = 1;
    loop {
        match std::fs::rename(from, to) {
            Err(e) if tries < RENAME_TRIES && held_by_another_program(&e) => {
                std::thread::sleep(wait);
                wait *= 2;
                tries += 1;
            }
            result => return result,
        }
    }
}

fn held_by_another_program(e: &std::io::Error) -> bool {
    /// Windows' ERROR_SHARING_VIOLATION and ERROR_LOCK_VIOLATION.
    const SHARING_VIOLATION: i32 = 32;
    const LOCK_VIOLATION: i32 = 33;
    cfg!(windows)
        && (e.kind() == std::io::ErrorKind::PermissionDenied
            || matches!(e.raw_os_error(), Some(SHARING_VIOLATION | LOCK_VIOLATION)))
}

/// Makes the rename durable. Folders cannot be opened for flushing on Windows, where the
/// rename is durable once it returns.
fn sync_folder(dir: &Path) {
    #[cfg(unix)]
    if let Err(e) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(error = %e, "the settings folder could not be flushed to disk");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        write_atomically(dir.path(), "rollcall.toml", "old = 1\n").unwrap();
        // A folder where the temporary file would go makes the write fail (even for root,
        // who may write into read-only folders).
        let temp = dir.path().join("rollcall.toml.tmp");
        std::fs::create_dir(&temp).unwrap();
        std::fs::write(temp.join("keep"), "x").unwrap();
        assert!(write_atomically(dir.path(), "rollcall.toml", "new = 2\n").is_err());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("rollcall.toml")).unwrap(),
            "old = 1\n"
        );
        std::fs::remove_dir_all(&temp).unwrap();
        write_atomically(dir.path(), "rollcall.toml", "new = 2\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("rollcall.toml")).unwrap(),
            "new = 2\n"
        );
        assert!(!temp.exists(), "no temporary file is left behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("rollcall.toml"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    /// Windows only (run under Wine by `scripts/windows.sh`): a program holding
    /// `rollcall.toml` open without sharing it (an editor, a virus scanner) makes the rename
    /// fail at first; the write waits for it and then succeeds.
    #[cfg(windows)]
    #[test]
    fn a_file_held_by_another_program_is_replaced_once_it_lets_go() {
        use std::os::windows::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        write_atomically(dir.path(), "rollcall.toml", "old = 1\n").unwrap();
        let held = std::fs::OpenOptions::new()
            .read(true)
            .share_mode(0)
            .open(dir.path().join("rollcall.toml"))
            .unwrap();
        let rename_refused = std::fs::rename(
            {
                std::fs::write(dir.path().join("probe"), "x").unwrap();
                dir.path().join("probe")
            },
            dir.path().join("rollcall.toml"),
        )
        .unwrap_err();
        assert!(
            held_by_another_program(&rename_refused),
            "{rename_refused:?}"
        );
        let letting_go = std::thread::spawn(move || {
            std::thread::sleep(RENAME_FIRST_WAIT * 3);
            drop(held);
        });
        write_atomically(dir.path(), "rollcall.toml", "new = 2\n").unwrap();
        letting_go.join().unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("rollcall.toml")).unwrap(),
            "new = 2\n"
        );
        assert!(!dir.path().join("rollcall.toml.tmp").exists());
    }

    #[test]
    fn a_settings_round_trip_keeps_a_short_file() {
        let mut file = SettingsFile::default();
        write_into(&Settings::default(), &mut file);
        assert_eq!(toml::to_string(&file).unwrap(), "");
        let chosen = Settings {
            notify_status_ids: vec![2],
            tunnel: TunnelConfig::Manual {
                public_url: "https://school.example.org".into(),
            },
            ..Settings::default()
        };
        write_into(&chosen, &mut file);
        let text = toml::to_string(&file).unwrap();
        let read: SettingsFile = toml::from_str(&text).unwrap();
        assert_eq!(settings_from(&read).unwrap(), chosen);
    }
}
