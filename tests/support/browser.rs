//! Headless Chromium driven over WebDriver by chromedriver (Debian `chromium`,
//! `chromium-driver`), each with a profile folder of its own.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

use super::headless::log_file;
use super::processes::{find_program, wait_until, Stoppable};

/// The size of the browser window, and so of every screenshot.
pub const WINDOW: (u32, u32) = (1280, 800);

/// chromedriver on a free loopback port; dropping it stops it with SIGTERM.
pub struct ChromeDriver {
    pub addr: SocketAddr,
    process: Stoppable,
}

impl ChromeDriver {
    pub fn start(log_dir: &Path) -> Self {
        let driver = find_program("chromedriver").unwrap_or_else(|| {
            panic!("`chromedriver` is not installed: apt-get install chromium chromium-driver")
        });
        chromium_binary();
        let addr = super::free_loopback_addr();
        let mut command = Command::new(driver);
        command
            .arg(format!("--port={}", addr.port()))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!(
                "--log-path={}",
                log_dir.join("chromedriver.log").display()
            ))
            .stdout(log_file(log_dir, "chromedriver.out"))
            .stderr(log_file(log_dir, "chromedriver.err"));
        let process = Stoppable::spawn("chromedriver", &mut command);
        wait_until("chromedriver to listen", Duration::from_secs(30), || {
            TcpStream::connect(addr).is_ok()
        });
        Self { addr, process }
    }

    pub fn stop(&mut self) {
        self.process.stop(Duration::from_secs(10));
    }
}

/// Debian's Chromium launcher.
pub fn chromium_binary() -> PathBuf {
    find_program("chromium").unwrap_or_else(|| {
        panic!("`chromium` is not installed: apt-get install chromium chromium-driver")
    })
}

/// How the browser is launched.
#[derive(Debug, Default, Clone)]
pub struct BrowserOptions {
    /// The page prefers a dark colour scheme (as when the OS is in dark mode).
    pub dark: bool,
    /// Host names the browser resolves to 127.0.0.1 (as a DNS-rebinding site would make it).
    pub resolve_to_loopback: Vec<String>,
}

/// Opens a session: a new headless Chromium with its profile in `profile`.
pub async fn open_browser(
    driver: &ChromeDriver,
    profile: &Path,
    options: &BrowserOptions,
) -> Client {
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        "--hide-scrollbars".into(),
        format!("--window-size={},{}", WINDOW.0, WINDOW.1),
        format!("--user-data-dir={}", profile.display()),
    ];
    if options.dark {
        args.push("--force-dark-mode".into());
        args.push("--blink-settings=preferredColorScheme=0".into());
    }
    if !options.resolve_to_loopback.is_empty() {
        let rules: Vec<String> = options
            .resolve_to_loopback
            .iter()
            .map(|host| format!("MAP {host} 127.0.0.1"))
            .collect();
        args.push(format!("--host-resolver-rules={}", rules.join(", ")));
    }
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium_binary(),
            "args": args,
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("an object literal")
    };
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://{}", driver.addr))
        .await
        .unwrap_or_else(|e| panic!("no WebDriver session with headless Chromium: {e}"));
    // The page's viewport (what a screenshot holds) is the window less its frame: grow the
    // window by the frame so that the viewport is exactly WINDOW.
    let frame = client
        .execute(
            "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];",
            vec![],
        )
        .await
        .ok()
        .and_then(|v| serde_json::from_value::<(u32, u32)>(v).ok())
        .unwrap_or_default();
    if frame != (0, 0) {
        let _ = client
            .set_window_size(WINDOW.0 + frame.0, WINDOW.1 + frame.1)
            .await;
    }
    client
}

/// Waits two animation frames: a screenshot taken right after a DOM check can otherwise show
/// the previous paint.
pub async fn wait_for_paint(client: &Client) {
    let _ = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )
        .await;
}

/// Saves a screenshot of the page to `path` (any folder), after the page has painted.
pub async fn screenshot_to(client: &Client, path: &Path) {
    wait_for_paint(client).await;
    let png = client
        .screenshot()
        .await
        .unwrap_or_else(|e| panic!("could not take the screenshot {}: {e}", path.display()));
    std::fs::write(path, png).expect("the screenshot can be saved");
}

/// Runs `checks` with `count` browsers (each with a profile of its own) on one chromedriver
/// whose log goes to `logs`. Whether the checks pass or not, each browser is photographed
/// on failure (`{name}-failed-{i}.png`), closed, and chromedriver stopped; then the checks'
/// panic, if any, is passed on.
pub async fn with_browsers<F, Fut>(
    logs: &Path,
    name: &str,
    count: usize,
    options: &BrowserOptions,
    checks: F,
) where
    F: FnOnce(Vec<Client>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut driver = ChromeDriver::start(logs);
    let profiles: Vec<tempfile::TempDir> =
        (0..count).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut browsers = Vec::new();
    for profile in &profiles {
        browsers.push(open_browser(&driver, profile.path(), options).await);
    }
    let outcome = tokio::spawn(checks(browsers.clone())).await;
    for (i, browser) in browsers.into_iter().enumerate() {
        if outcome.is_err() {
            super::desktop::screenshot(&browser, &format!("{name}-failed-{i}")).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(15), browser.close()).await;
    }
    driver.stop();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Clicks the element at `css`, or fails naming it.
pub async fn click(browser: &Client, css: &str) {
    browser
        .find(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("nothing to click at {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("could not click {css}: {e}"));
}
