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

/// Records the desktop notifications sent on the test's bus. No notification service runs
/// there, so each `Notify` call fails, but the monitor sees it as it was sent.
pub struct NotificationMonitor {
    log: PathBuf,
    _process: Stoppable,
}

impl NotificationMonitor {
    pub fn start(headless: &Headless, log_dir: &Path) -> Self {
        let monitor = require("dbus-monitor", "dbus-bin");
        let log = log_dir.join("notifications.log");
        let mut command = Command::new(monitor);
        command
            .args(["--address", &headless.bus_address])
            .arg("type='method_call',interface='org.freedesktop.Notifications',member='Notify'")
            .stdout(log_file(log_dir, "notifications.log"))
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

    /// The `Notify` calls so far, each as (summary, body).
    pub fn notifications(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.split("method call ")
            .skip(1)
            .filter(|call| call.contains("member=Notify"))
            .map(|call| {
                // Notify(app_name, replaces_id, app_icon, summary, body, …): the strings in order.
                let strings: Vec<String> = call
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix("string \""))
                    .map(|l| l.trim_end_matches('"').to_string())
                    .collect();
                (
                    strings.get(2).cloned().unwrap_or_default(),
                    strings.get(3).cloned().unwrap_or_default(),
                )
            })
            .collect()
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
