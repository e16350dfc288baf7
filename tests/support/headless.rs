//! A display (Xvfb) and a D-Bus session bus of the test's own, and tauri-driver on them.
//!
//! The private bus keeps the app under test away from the developer's desktop: its
//! single-instance name, keyring and notifications live on a bus that only the test uses (it
//! has no keyring service, so the app takes its settings-file fallback, as in CI).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::processes::{find_program, wait_until, Stoppable};

/// Xvfb and a session bus; dropping stops both.
pub struct Headless {
    pub display: String,
    pub bus_address: String,
    // Dropped in this order: the bus, then the display.
    _bus: Stoppable,
    _xvfb: Stoppable,
}

impl Headless {
    pub fn start(log_dir: &Path) -> Self {
        let (xvfb, display) = start_xvfb(log_dir);
        let (bus, bus_address) = start_session_bus(log_dir);
        Self {
            display,
            bus_address,
            _bus: bus,
            _xvfb: xvfb,
        }
    }

    /// What every process of the test needs to reach the display and the bus.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("DISPLAY".into(), self.display.clone()),
            ("DBUS_SESSION_BUS_ADDRESS".into(), self.bus_address.clone()),
            // No accessibility bus to look for on the private session bus.
            ("NO_AT_BRIDGE".into(), "1".into()),
        ]
    }

    /// A screenshot of the whole virtual screen (what a person would see), via ImageMagick.
    pub fn capture_screen(&self, path: &Path) {
        let status = Command::new("import")
            .args(["-display", &self.display, "-window", "root"])
            .arg(path)
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!(
                "could not capture the screen to {} ({status:?})",
                path.display()
            );
        }
    }
}

/// Records method calls on the test's bus that match a D-Bus match rule. No desktop service
/// (notifications, file manager) runs there, so each call fails, but the monitor sees it as
/// it was sent.
pub struct BusMonitor {
    log: PathBuf,
    _process: Stoppable,
}

impl BusMonitor {
    /// Watches for calls of `member` on `interface`, logging them to `log_dir/<log_name>`.
    pub fn start(
        headless: &Headless,
        log_dir: &Path,
        log_name: &str,
        interface: &str,
        member: &str,
    ) -> Self {
        let monitor = require("dbus-monitor", "dbus-bin");
        let log = log_dir.join(log_name);
        let mut command = Command::new(monitor);
        command
            .args(["--address", &headless.bus_address])
            .arg(format!(
                "type='method_call',interface='{interface}',member='{member}'"
            ))
            .stdout(log_file(log_dir, log_name))
            .stderr(Stdio::null());
        let process = Stoppable::spawn("dbus-monitor", &mut command);
        // It has subscribed once it has said hello to the bus.
        let ready_log = log.clone();
        wait_until("dbus-monitor to subscribe", Duration::from_secs(10), || {
            std::fs::read_to_string(&ready_log).is_ok_and(|t| t.contains("NameAcquired"))
        });
        Self {
            log,
            _process: process,
        }
    }

    /// The string arguments of each call of `member` so far, in order.
    pub fn calls(&self, member: &str) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tag = format!("member={member}");
        text.split("method call ")
            .skip(1)
            .filter(|call| call.contains(&tag))
            .map(|call| {
                call.lines()
                    .filter_map(|l| l.trim().strip_prefix("string \""))
                    .map(|l| l.trim_end_matches('"').to_string())
                    .collect()
            })
            .collect()
    }
}

/// Records the desktop notifications sent on the test's bus.
pub struct NotificationMonitor(BusMonitor);

impl NotificationMonitor {
    pub fn start(headless: &Headless, log_dir: &Path) -> Self {
        Self(BusMonitor::start(
            headless,
            log_dir,
            "notifications.log",
            "org.freedesktop.Notifications",
            "Notify",
        ))
    }

    /// The `Notify` calls so far, each as (summary, body).
    pub fn notifications(&self) -> Vec<(String, String)> {
        // Notify(app_name, replaces_id, app_icon, summary, body, …): the strings in order.
        self.0
            .calls("Notify")
            .into_iter()
            .map(|strings| {
                (
                    strings.get(2).cloned().unwrap_or_default(),
                    strings.get(3).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }
}

/// How a person answers a native dialog.
#[derive(Debug, Clone, Copy)]
pub enum DialogAnswer<'a> {
    /// Select what the dialog's text box holds, type this, press Enter.
    Type(&'a str),
    /// Press Escape: close it without choosing.
    Dismiss,
}

/// Answers the native window titled `title` (such as a GTK file dialog, which WebDriver cannot
/// reach) the way a person would, with the keyboard, through the X server (xdotool).
/// Blocking: call it from `spawn_blocking` in async tests.
pub fn answer_dialog(display: &str, title: &str, answer: DialogAnswer<'_>) {
    let xdotool = require("xdotool", "xdotool");
    let run = |args: &[&str]| {
        Command::new(&xdotool)
            .args(args)
            .env("DISPLAY", display)
            .output()
            .expect("xdotool runs")
    };
    let pattern = format!("^{title}$");
    let mut window = String::new();
    wait_until(
        &format!("the window {title:?} to open"),
        Duration::from_secs(30),
        || {
            let found = run(&["search", "--onlyvisible", "--name", &pattern]);
            window = String::from_utf8_lossy(&found.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            !window.is_empty()
        },
    );
    // A dialog maps before it is ready for keys; give GTK a moment after focusing it.
    let mut steps = vec![
        vec!["windowfocus", "--sync", window.as_str()],
        vec!["sleep", "0.5"],
    ];
    match answer {
        DialogAnswer::Type(text) => steps.extend([
            vec!["key", "--clearmodifiers", "ctrl+a"],
            vec!["type", "--delay", "20", text],
            vec!["key", "Return"],
        ]),
        DialogAnswer::Dismiss => steps.push(vec!["key", "Escape"]),
    }
    for args in steps {
        let done = run(&args);
        assert!(
            done.status.success(),
            "xdotool {args:?} failed: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
}

fn require(program: &str, package: &str) -> PathBuf {
    find_program(program)
        .unwrap_or_else(|| panic!("`{program}` is not installed: apt-get install {package}"))
}

fn start_xvfb(log_dir: &Path) -> (Stoppable, String) {
    let xvfb = require("Xvfb", "xvfb xauth");
    // -displayfd: Xvfb picks a free display itself and writes its number once it is ready.
    let mut child = Command::new(xvfb)
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(log_file(log_dir, "xvfb.log"))
        .spawn()
        .expect("Xvfb starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("Xvfb reports its display");
    let number = line.trim();
    assert!(
        !number.is_empty(),
        "Xvfb did not start; see {}",
        log_dir.join("xvfb.log").display()
    );
    (Stoppable::from_child("Xvfb", child), format!(":{number}"))
}

fn start_session_bus(log_dir: &Path) -> (Stoppable, String) {
    let daemon = require("dbus-daemon", "dbus-daemon");
    let mut child = Command::new(daemon)
        .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(log_file(log_dir, "dbus.log"))
        .spawn()
        .expect("dbus-daemon starts");
    let mut address = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut address)
        .expect("dbus-daemon prints its address");
    let address = address.trim().to_string();
    assert!(!address.is_empty(), "dbus-daemon did not start");
    (Stoppable::from_child("dbus-daemon", child), address)
}

pub fn log_file(dir: &Path, name: &str) -> File {
    File::create(dir.join(name)).expect("a log file can be created")
}

/// tauri-driver (which runs WebKitWebDriver) on a free port, with `env` passed down to the
/// app it launches.
pub struct TauriDriver {
    pub addr: SocketAddr,
    process: Stoppable,
}

impl TauriDriver {
    pub fn start(env: &[(String, String)], log_dir: &Path) -> Self {
        let driver = find_program("tauri-driver").unwrap_or_else(|| {
            panic!("`tauri-driver` is not installed: cargo install tauri-driver --locked")
        });
        require("WebKitWebDriver", "webkit2gtk-driver");
        let addr = super::free_loopback_addr();
        let native = super::free_loopback_addr();
        let mut command = Command::new(driver);
        command
            .args(["--port", &addr.port().to_string()])
            .args(["--native-port", &native.port().to_string()])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(log_file(log_dir, "tauri-driver.log"))
            .stderr(log_file(log_dir, "app-and-driver.log"));
        let process = Stoppable::spawn("tauri-driver", &mut command);
        // tauri-driver listens at once but forwards to WebKitWebDriver, which takes a moment
        // longer (seconds on a busy machine): a session asked for before fails.
        wait_until(
            "tauri-driver and WebKitWebDriver to listen",
            Duration::from_secs(30),
            || TcpStream::connect(addr).is_ok() && TcpStream::connect(native).is_ok(),
        );
        Self { addr, process }
    }

    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// SIGTERM, so that tauri-driver stops WebKitWebDriver too.
    pub fn stop(&mut self) {
        self.process.stop(Duration::from_secs(10));
    }
}
