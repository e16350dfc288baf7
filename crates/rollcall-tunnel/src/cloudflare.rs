//! Experimental: a Cloudflare quick tunnel, by running `cloudflared tunnel --url ...` and
//! reading the `https://<words>.trycloudflare.com` address it prints.
//!
//! Quick tunnels need no account but get a new address on every start, and Cloudflare
//! documents them for testing. The tunnel counts as online while `cloudflared` runs; it keeps
//! its own connections to Cloudflare alive, and the reachability check shows whether
//! DreamClass really gets through. If the program exits it is started again (new address).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::config::CloudflareConfig;
use crate::provider::{StopSignal, TunnelOptions};
use crate::state::StatePublisher;

/// Shown with the quick tunnel address for as long as it is online.
pub const EXPERIMENTAL_NOTICE: &str = "Experimental: a Cloudflare quick tunnel gets a new \
    address every time it starts, and DreamClass must then be given the new one. For daily \
    use prefer ngrok with a reserved domain.";

/// What to say when the program is not there.
pub const MISSING_BINARY: &str = "The Cloudflare tunnel needs Cloudflare's free program \
    \"cloudflared\", and it is not installed on this computer. Install it (Windows: \
    winget install --id Cloudflare.cloudflared; Mac: brew install cloudflared; Linux: the \
    cloudflared package from Cloudflare's download page), then start the tunnel again, or \
    choose ngrok in Settings.";

/// After the address is printed, how long to wait for the first "Registered tunnel
/// connection" before calling the tunnel online anyway.
const REGISTRATION_WAIT: Duration = Duration::from_secs(15);

enum Outcome {
    Stopped,
    Fatal(String),
    Ended(String),
}

pub(crate) async fn run(
    config: CloudflareConfig,
    target: SocketAddr,
    options: TunnelOptions,
    publisher: StatePublisher,
    mut stop: StopSignal,
) {
    let binary = match locate(config.binary.as_deref()) {
        Ok(binary) => binary,
        Err(reason) => {
            publisher.failed(reason);
            return;
        }
    };
    let mut attempt: u32 = 0;
    loop {
        let last_error = match run_once(
            &binary,
            target,
            &options,
            &publisher,
            &mut stop,
            &mut attempt,
        )
        .await
        {
            Outcome::Stopped => return,
            Outcome::Fatal(reason) => {
                publisher.failed(reason);
                return;
            }
            Outcome::Ended(reason) => reason,
        };
        attempt += 1;
        publisher.reconnecting(attempt, last_error);
        if stop.sleep(options.reconnect.delay(attempt)).await {
            return;
        }
    }
}

async fn run_once(
    binary: &Path,
    target: SocketAddr,
    options: &TunnelOptions,
    publisher: &StatePublisher,
    stop: &mut StopSignal,
    attempt: &mut u32,
) -> Outcome {
    let mut command = Command::new(binary);
    command
        .args(["tunnel", "--no-autoupdate", "--url"])
        .arg(format!("http://{target}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    without_console_window(&mut command);
    let spawned = command.spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Outcome::Fatal(MISSING_BINARY.to_string())
        }
        Err(err) => {
            return Outcome::Fatal(format!(
                "Could not run cloudflared ({}): {err}. Reinstall cloudflared, or choose \
                 ngrok in Settings.",
                binary.display()
            ))
        }
    };
    let mut lines = merged_lines(&mut child);
    let mut last_error_line: Option<String> = None;

    // Until the address is known (and, briefly, until Cloudflare has registered it).
    let url_deadline = tokio::time::sleep(options.cloudflared_url_timeout);
    tokio::pin!(url_deadline);
    let mut url: Option<String> = None;
    loop {
        tokio::select! {
            line = lines.recv() => match line {
                Some(line) => {
                    note_error(&line, &mut last_error_line);
                    if url.is_none() {
                        url = find_quick_tunnel_url(&line);
                        if url.is_some() {
                            let registration = tokio::time::Instant::now() + REGISTRATION_WAIT;
                            if registration < url_deadline.deadline() {
                                url_deadline.as_mut().reset(registration);
                            }
                        }
                    } else if line.contains("Registered tunnel connection") {
                        break;
                    }
                }
                None => {
                    let status = child.wait().await.ok();
                    return Outcome::Ended(exited(status, last_error_line));
                }
            },
            _ = &mut url_deadline => {
                if url.is_some() {
                    break;
                }
                end(&mut child).await;
                return Outcome::Ended(format!(
                    "cloudflared did not give a public address within {} seconds.",
                    options.cloudflared_url_timeout.as_secs()
                ));
            }
            _ = stop.stopped() => {
                end(&mut child).await;
                return Outcome::Stopped;
            }
        }
    }
    let url = url.expect("the loop above only breaks with an address");
    *attempt = 0;
    publisher.online(url, Some(EXPERIMENTAL_NOTICE));

    loop {
        tokio::select! {
            line = lines.recv() => match line {
                Some(line) => note_error(&line, &mut last_error_line),
                None => {
                    let status = child.wait().await.ok();
                    return Outcome::Ended(exited(status, last_error_line));
                }
            },
            _ = stop.stopped() => {
                end(&mut child).await;
                return Outcome::Stopped;
            }
        }
    }
}

async fn end(child: &mut Child) {
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

fn exited(status: Option<ExitStatus>, last_error_line: Option<String>) -> String {
    let how = match status.and_then(|s| s.code()) {
        Some(code) => format!("cloudflared stopped (exit code {code})"),
        None => "cloudflared stopped".to_string(),
    };
    match last_error_line {
        Some(line) => format!("{how}: {line}"),
        None => format!("{how}."),
    }
}

/// cloudflared logs `<time> ERR <message>`; the last such line is the best explanation of
/// an exit.
fn note_error(line: &str, last: &mut Option<String>) {
    if let Some((_, message)) = line.split_once(" ERR ") {
        *last = Some(message.trim().to_string());
    }
}

/// Lines of stdout and stderr together (cloudflared logs to stderr; older versions used
/// stdout). The channel closes when both are closed, i.e. when the process is gone.
fn merged_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(256);
    fn pump(stream: impl AsyncRead + Unpin + Send + 'static, tx: mpsc::Sender<String>) {
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!(target: "cloudflared", "{line}");
                if tx.send(line).await.is_err() {
                    break;
                }
            }
        });
    }
    if let Some(stdout) = child.stdout.take() {
        pump(stdout, tx.clone());
    }
    if let Some(stderr) = child.stderr.take() {
        pump(stderr, tx);
    }
    rx
}

/// The quick tunnel's address in a line of cloudflared's output, if there is one.
pub fn find_quick_tunnel_url(line: &str) -> Option<String> {
    let mut rest = line;
    while let Some(start) = rest.find("https://") {
        let after = &rest[start + "https://".len()..];
        let host_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
            .unwrap_or(after.len());
        let host = after[..host_len].trim_end_matches('.');
        if let Some(name) = host.strip_suffix(".trycloudflare.com") {
            // api.trycloudflare.com is the service cloudflared asks, not a tunnel address.
            if !name.is_empty() && name != "api" && !name.contains('.') {
                return Some(format!("https://{host}"));
            }
        }
        rest = after;
    }
    None
}

fn locate(configured: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = configured {
        return if is_executable(path) {
            Ok(path.to_path_buf())
        } else {
            Err(format!(
                "cloudflared was not found at {}. Check the path in Settings, or clear it to \
                 look for cloudflared in the usual places. {MISSING_BINARY}",
                path.display()
            ))
        };
    }
    find_in(std::env::var_os("PATH"), &usual_install_dirs()).ok_or_else(|| MISSING_BINARY.into())
}

/// Looks for the program in `PATH` and then in `extra` folders.
fn find_in(path_var: Option<OsString>, extra: &[PathBuf]) -> Option<PathBuf> {
    let name = if cfg!(windows) {
        "cloudflared.exe"
    } else {
        "cloudflared"
    };
    let from_path = path_var
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    from_path
        .iter()
        .chain(extra)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// A desktop app started from the Dock or Start menu does not get the shell's PATH, so the
/// places installers put cloudflared are searched too.
fn usual_install_dirs() -> Vec<PathBuf> {
    if cfg!(windows) {
        ["ProgramFiles(x86)", "ProgramFiles"]
            .iter()
            .filter_map(std::env::var_os)
            .map(|dir| PathBuf::from(dir).join("cloudflared"))
            .collect()
    } else {
        ["/opt/homebrew/bin", "/usr/local/bin", "/usr/bin"]
            .iter()
            .map(PathBuf::from)
            .collect()
    }
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// The desktop app has no console (`windows_subsystem = "windows"`), so Windows would open a
/// new console window for `cloudflared.exe`, a console program, and keep it on screen for as
/// long as the tunnel runs; closing it would stop the tunnel. Its output is read through the
/// pipes instead. (Not testable off a Windows desktop: a window that does not appear cannot be
/// observed under Wine.)
#[cfg(windows)]
fn without_console_window(command: &mut Command) {
    /// `CREATE_NO_WINDOW` from the Windows process creation flags.
    const CREATE_NO_WINDOW: u32 = 0x0800_0000;
    command.creation_flags(CREATE_NO_WINDOW);
}

#[cfg(not(windows))]
fn without_console_window(_command: &mut Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_address_in_cloudflared_output() {
        let line = "2025-01-01T00:00:00Z INF |  https://quiet-river-stone.trycloudflare.com    |";
        assert_eq!(
            find_quick_tunnel_url(line).as_deref(),
            Some("https://quiet-river-stone.trycloudflare.com")
        );
        for line in [
            "2025-01-01T00:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...",
            "ERR failed to unmarshal quick Tunnel: https://api.trycloudflare.com/tunnel",
            "INF Visit https://www.cloudflare.com/ for more",
            "https://a.b.trycloudflare.com",
        ] {
            assert_eq!(find_quick_tunnel_url(line), None, "{line}");
        }
    }

    #[test]
    fn error_lines_explain_an_exit() {
        let mut last = None;
        note_error("2025-01-01T00:00:00Z INF Starting tunnel", &mut last);
        assert_eq!(last, None);
        note_error(
            "2025-01-01T00:00:00Z ERR failed to request quick Tunnel: 429 Too Many Requests",
            &mut last,
        );
        assert_eq!(
            exited(None, last),
            "cloudflared stopped: failed to request quick Tunnel: 429 Too Many Requests"
        );
    }

    #[test]
    fn a_missing_program_is_not_found_anywhere() {
        let empty = tempfile::tempdir().unwrap();
        let empty = empty.path().to_path_buf();
        assert_eq!(find_in(Some(empty.clone().into_os_string()), &[]), None);
        assert_eq!(find_in(None, &[empty]), None);
    }

    #[cfg(unix)]
    #[test]
    fn the_program_is_found_in_path_when_executable() {
        use std::os::unix::fs::PermissionsExt;
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let program = dir.join("cloudflared");
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(find_in(Some(dir.clone().into_os_string()), &[]), None);
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_in(Some(dir.into_os_string()), &[]), Some(program));
    }
}
