//! The built `rollcall-desktop` and a WebDriver session on its window.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

use super::headless::{Headless, TauriDriver};

/// JavaScript that is true once the live feed's first screen is on show: its list region
/// with rows in it, or the "no changes yet" sentence, and no longer "Loading…" (the UI's
/// markup: ui/src/views/feed/FeedTable.svelte and FeedView.svelte).
pub const FEED_IS_SHOWN: &str = r#"(() => {
    const feed = document.querySelector('[aria-label="Attendance changes, newest first"]');
    if (!feed || feed.innerText.includes('Loading attendance changes')) return false;
    return feed.querySelector('.spacer > *') !== null
        || document.body.innerText.includes('No attendance changes yet');
})()"#;

/// `<target>/<profile>/rollcall-desktop`, next to the test's own profile folder.
pub fn desktop_binary() -> PathBuf {
    binary("rollcall-desktop", "cargo build -p rollcall-desktop")
}

/// A binary built in this test's profile folder; panics saying how to build it when missing.
pub fn binary(name: &str, build: &str) -> PathBuf {
    let path = super::profile_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} does not exist: `cargo test` does not build the app the end-to-end test launches. \
         Build it first: {build}",
        path.display()
    );
    path
}

/// The built web UI the app serves; panics saying how to build it when missing.
pub fn ui_dist() -> PathBuf {
    if let Some(dir) = std::env::var_os("ROLLCALL_UI_DIR") {
        return PathBuf::from(dir);
    }
    let dist = super::checkout_dir().join("ui/dist");
    assert!(
        dist.join("index.html").is_file(),
        "{} does not exist: the desktop window shows the built web UI. Build the UI first: \
         npm --prefix ui ci && npm --prefix ui run build",
        dist.display()
    );
    dist
}

/// Where the app under test keeps its data and listens.
pub struct AppSetup {
    pub data_dir: PathBuf,
    pub webhook_addr: SocketAddr,
    pub ui_addr: SocketAddr,
    pub secret: String,
}

impl AppSetup {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            webhook_addr: super::free_loopback_addr(),
            ui_addr: super::free_loopback_addr(),
            secret: "e2e-secret-of-this-run".into(),
        }
    }

    pub fn webhook_url(&self) -> String {
        format!("http://{}/webhooks/dreamclass", self.webhook_addr)
    }

    /// The app's own log (its stderr does not reach the test through WebKitWebDriver).
    pub fn app_log(&self) -> PathBuf {
        self.data_dir.join("rollcall-desktop.log") // src-tauri/src/logging.rs LOG_FILE
    }

    /// The app's environment, as `rollcall serve` reads it.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "ROLLCALL_DATA_DIR".into(),
                self.data_dir.display().to_string(),
            ),
            (
                "ROLLCALL_WEBHOOK_ADDR".into(),
                self.webhook_addr.to_string(),
            ),
            ("ROLLCALL_UI_ADDR".into(), self.ui_addr.to_string()),
            ("ROLLCALL_WEBHOOK_SECRET".into(), self.secret.clone()),
            ("ROLLCALL_UI_DIR".into(), ui_dist().display().to_string()),
        ]
    }
}

impl Drop for AppSetup {
    /// Keeps the app's log with the screenshots, passed or failed, before its folder goes.
    fn drop(&mut self) {
        let saved = super::artifacts_dir().join("desktop-logs/rollcall-desktop.log");
        let _ = std::fs::create_dir_all(saved.parent().expect("a folder"));
        let _ = std::fs::copy(self.app_log(), saved);
    }
}

/// WebKit's switch for drawing through OpenGL, which the desktop app turns off on Linux
/// (`src-tauri/src/memory.rs`): "1" off, "0" WebKit's default.
pub const COMPOSITING: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// Opens a WebDriver session, which launches `application` with `args`.
pub async fn open_session(driver: SocketAddr, application: &Path, args: &[&str]) -> Client {
    let capabilities = json!({
        "browserName": "wry",
        "tauri:options": { "application": application, "args": args },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("an object literal")
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://{driver}"))
        .await
        .unwrap_or_else(|e| panic!("no WebDriver session with {}: {e}", application.display()))
}

/// Runs `script` (a function body returning a value) in the window.
pub async fn run_js(client: &Client, script: &str) -> Value {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("the window did not run a script: {e}"))
}

/// The text a person sees in the window.
pub async fn visible_text(client: &Client) -> String {
    run_js(
        client,
        "return document.body ? document.body.innerText : '';",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

/// Waits until `script` returns `true` in the window; on timeout, saves a screenshot named
/// `name` and panics with the window's text.
pub async fn wait_for(client: &Client, name: &str, timeout: Duration, script: &str) {
    let deadline = Instant::now() + timeout;
    loop {
        // Errors while the page is between two documents count as "not yet".
        if let Ok(Value::Bool(true)) = client.execute(script, vec![]).await {
            return;
        }
        if Instant::now() > deadline {
            let shot = screenshot(client, &format!("timeout-{name}")).await;
            panic!(
                "timed out after {timeout:?} waiting for {name}.\nWindow at {:?} shows:\n{}\n\
                 Screenshot: {}",
                client.current_url().await.map(|u| u.to_string()),
                visible_text(client).await,
                shot.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the window's text contains `text`.
pub async fn wait_for_text(client: &Client, text: &str, timeout: Duration) {
    let script = format!(
        "return !!document.body && document.body.innerText.includes({});",
        json!(text)
    );
    wait_for(client, &format!("the text {text:?}"), timeout, &script).await;
}

/// Saves a screenshot of the window to `<target>/e2e-artifacts/<name>.png`.
pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    super::browser::wait_for_paint(client).await;
    let path = super::artifacts_dir().join(format!("{name}.png"));
    match client.screenshot().await {
        Ok(png) => std::fs::write(&path, png).expect("the screenshot can be saved"),
        Err(e) => eprintln!("could not take the screenshot {name}: {e}"),
    }
    path
}

/// One run of the desktop app under test: a display, session bus and data folder of its own.
/// Prepare the data folder, start any bus monitors, then [`open_window`](Self::open_window).
pub struct DesktopRun {
    pub app: PathBuf,
    pub logs: PathBuf,
    pub setup: AppSetup,
    /// What the app and anything launched beside it need (display, bus, the app's settings).
    pub env: Vec<(String, String)>,
    pub headless: Headless,
    pub data: tempfile::TempDir,
}

impl DesktopRun {
    /// `None`, said loudly, when ROLLCALL_SKIP_DESKTOP_E2E=1. Logs go to
    /// `<target>/e2e-artifacts/<name>-logs/`.
    pub fn prepare(name: &str) -> Option<Self> {
        if std::env::var("ROLLCALL_SKIP_DESKTOP_E2E").as_deref() == Ok("1") {
            eprintln!(
                "\n!!!!! SKIPPED: the desktop end-to-end test {name} (ROLLCALL_SKIP_DESKTOP_E2E=1). \
                 The desktop window was NOT tested. !!!!!\n"
            );
            return None;
        }
        let app = desktop_binary();
        ui_dist();
        let logs = super::artifacts_dir().join(format!("{name}-logs"));
        std::fs::create_dir_all(&logs).expect("the logs folder can be created");
        let data = tempfile::tempdir().expect("a data folder");
        let setup = AppSetup::new(data.path());
        let headless = Headless::start(&logs);
        let mut env = headless.env();
        env.extend(setup.env());
        // WebKitWebDriver's screenshots never return when the window is drawn without OpenGL
        // compositing under Xvfb, so these runs keep WebKit's default drawing unless asked
        // for the app's own ([`Self::as_shipped`]).
        env.push((COMPOSITING.into(), "0".into()));
        Some(Self {
            app,
            logs,
            setup,
            env,
            headless,
            data,
        })
    }

    /// The window drawn as the app draws it on Linux, without OpenGL compositing
    /// (`src-tauri/src/memory.rs`). Take no WebDriver screenshot of it: use
    /// [`Headless::capture_screen`].
    pub fn as_shipped(mut self) -> Self {
        self.env.retain(|(name, _)| name != COMPOSITING);
        self
    }

    /// Starts tauri-driver, which launches the app, and waits until the window shows the live
    /// feed served by the app's own local listener.
    pub async fn open_window(&self) -> (TauriDriver, Client) {
        let driver = TauriDriver::start(&self.env, &self.logs);
        let window = open_session(driver.addr, &self.app, &[]).await;
        let ui_origin = format!("http://{}/", self.setup.ui_addr);
        wait_for(
            &window,
            "the live feed of the Rollcall interface",
            Duration::from_secs(60),
            &format!(
                "return location.href.startsWith({}) && ({FEED_IS_SHOWN});",
                json!(ui_origin)
            ),
        )
        .await;
        (driver, window)
    }
}
