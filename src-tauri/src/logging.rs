//! Logs go to stderr and to `rollcall-desktop.log` in the data folder, so that what happened
//! can be read after the window is gone (the previous run's log is kept as `.log.old`).
//!
//! The file is opened only once this launch is known to be the running instance: a second
//! launch, which hands over and exits, must not move the running one's log aside.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{fmt, EnvFilter};

pub const LOG_FILE: &str = "rollcall-desktop.log";

static FILE: OnceLock<Mutex<File>> = OnceLock::new();

pub fn init() {
    let filter = EnvFilter::try_from_env("ROLLCALL_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tao=warn,wry=warn"));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(fmt::layer().with_ansi(false).with_writer(LogFile))
        .init();
}

/// Starts writing the log file in `data_dir`.
pub fn open_file(data_dir: &Path) {
    let path = data_dir.join(LOG_FILE);
    let opened = std::fs::create_dir_all(data_dir).and_then(|()| {
        let _ = std::fs::rename(&path, path.with_extension("log.old"));
        File::create(&path)
    });
    match opened {
        Ok(file) => {
            let _ = FILE.set(Mutex::new(file));
        }
        Err(e) => tracing::warn!(error = %e, path = %path.display(), "no log file"),
    }
}

/// Writes to the log file once it is open, and nowhere before.
#[derive(Clone, Copy)]
struct LogFile;

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(file) = FILE.get() {
            file.lock().expect("log file lock").write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match FILE.get() {
            Some(file) => file.lock().expect("log file lock").flush(),
            None => Ok(()),
        }
    }
}

impl MakeWriter<'_> for LogFile {
    type Writer = LogFile;

    fn make_writer(&self) -> Self::Writer {
        *self
    }
}
