//! The built `rollcall-desktop` and a WebDriver session on its window.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

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
    // A screenshot taken right after a DOM check can show the previous paint: wait for two
    // animation frames so what was checked is on screen.
    let _ = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )
        .await;
    let path = super::artifacts_dir().join(format!("{name}.png"));
    match client.screenshot().await {
        Ok(png) => std::fs::write(&path, png).expect("the screenshot can be saved"),
        Err(e) => eprintln!("could not take the screenshot {name}: {e}"),
    }
    path
}
