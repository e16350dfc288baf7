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
        wait_until("tauri-driver to listen", Duration::from_secs(20), || {
            TcpStream::connect(addr).is_ok()
        });
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
