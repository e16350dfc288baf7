//! Rollcall's browser UI checked for accessibility as an office would meet it: every view, in
//! the light and the dark theme, run through axe-core (no serious or critical violation), and
//! the main flows done with the keyboard alone (Tab to move, Enter or Space to act), with the
//! focus visible at each stop.
//!
//! Runs against `rollcall serve --demo` (names and traffic from its fake DreamClass) in
//! headless Chromium over WebDriver. Needs: `cargo build -p rollcall-cli`, the built UI
//! (`ui/dist`), the UI's packages (`ui/node_modules/axe-core`), and the packages
//! `chromium chromium-driver`. Screenshots and logs: `target/e2e-artifacts/accessibility-*`.

use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use rollcall_e2e::axe::serious_violations;
use rollcall_e2e::browser::{open_browser, BrowserOptions, ChromeDriver};
use rollcall_e2e::desktop::{run_js, screenshot, wait_for, wait_for_text, FEED_IS_SHOWN};
use rollcall_e2e::serve::Serve;
use rollcall_simulator::DEMO_TENANT;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

/// Tab presses allowed to reach one control: more means it cannot practically be reached.
const MAX_TABS: usize = 80;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_view_in_both_themes_passes_axe_and_the_main_flows_work_by_keyboard() {
    let logs = rollcall_e2e::artifacts_dir().join("accessibility-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(
        data.path(),
        None,
        &["--demo", "--demo-events", "400", "--demo-rate", "200"],
        &logs.join("serve-demo.log"),
    );
    let mut driver = ChromeDriver::start(&logs);
    wait_for_demo_traffic(&serve).await;
    let info = Info {
        link: serve.link.clone(),
        origin: serve.origin.clone(),
        token: serve.token.clone(),
    };
    let mut runs: Vec<(&str, bool)> = vec![("light", false), ("dark", true)];
    runs.push(("keyboard", false));
    for (name, dark) in runs {
        let profile = tempfile::tempdir().unwrap();
        let options = BrowserOptions {
            dark,
            ..BrowserOptions::default()
        };
        let browser = open_browser(&driver, profile.path(), &options).await;
        let outcome = if name == "keyboard" {
            tokio::spawn(keyboard_flows(browser.clone(), info.clone())).await
        } else {
            tokio::spawn(every_view(browser.clone(), info.clone(), name)).await
        };
        if outcome.is_err() {
            screenshot(&browser, &format!("accessibility-failed-{name}")).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(15), browser.close()).await;
        if let Err(e) = outcome {
            driver.stop();
            serve.stop();
            std::panic::resume_unwind(e.into_panic());
        }
    }
    driver.stop();
    serve.stop();
}

#[derive(Clone)]
struct Info {
    link: String,
    origin: String,
    token: String,
}

impl Info {
    async fn api(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.origin))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Waits until the demo has sent its deliveries and DreamClass's names are known.
async fn wait_for_demo_traffic(serve: &Serve) {
    let mut last = -1;
    let mut steady = 0;
    for _ in 0..180 {
        let status = serve.api("/api/status").await;
        let received: i64 = status["deliveryCounts"]
            .as_object()
            .map(|o| o.values().filter_map(Value::as_i64).sum())
            .unwrap_or(0);
        let named = serve.api("/api/reference").await["students"]
            .as_array()
            .is_some_and(|s| !s.is_empty());
        steady = if received == last && received > 0 && named {
            steady + 1
        } else {
            0
        };
        if steady >= 3 {
            return;
        }
        last = received;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("the demo traffic did not settle within 3 minutes");
}

/// Every view, as the office opens it, checked with axe in the current theme.
async fn every_view(browser: Client, info: Info, theme: &str) {
    browser.goto(&info.link).await.unwrap();
    wait_for(
        &browser,
        "the live feed",
        WAIT,
        &format!("return {FEED_IS_SHOWN};"),
    )
    .await;
    // The alerts badge shows on every view until Reports is opened: check it with the feed.
    wait_for(
        &browser,
        "the alerts badge on the Reports tab",
        WAIT,
        "return document.querySelector(\"nav a[href='#/reports'] .badge\") !== null;",
    )
    .await;
    let mut problems = Vec::new();
    let found = |view: &str, lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|line| format!("{theme} theme, {view}: {line}"))
            .collect()
    };
    problems.extend(found("live feed", serious_violations(&browser).await));

    let record = any_record(&info).await;
    let views = [
        (
            format!("#/record/{DEMO_TENANT}/{record}"),
            "record history",
            "document.querySelectorAll('table tbody tr').length > 0",
        ),
        (
            "#/board".to_string(),
            "today board",
            "document.querySelector('section table tbody tr') !== null",
        ),
        (
            "#/reports".to_string(),
            "reports",
            "document.querySelector('main svg') !== null",
        ),
        (
            "#/deliveries".to_string(),
            "deliveries",
            "document.querySelector('li.delivery') !== null",
        ),
        (
            "#/setup".to_string(),
            "setup",
            "document.querySelector('main h1, main h2') !== null",
        ),
        (
            "#/settings".to_string(),
            "settings",
            "document.body.innerText.includes('DreamClass') \
             && document.querySelector('form.thresholds') !== null",
        ),
    ];
    for (hash, view, ready) in views {
        run_js(
            &browser,
            &format!("location.hash = {}; return true;", json!(hash)),
        )
        .await;
        wait_for(
            &browser,
            view,
            WAIT,
            &format!(
                "return location.hash.startsWith({}) && ({ready}) \
                 && !document.body.innerText.includes('Loading');",
                json!(hash)
            ),
        )
        .await;
        problems.extend(found(view, serious_violations(&browser).await));
        if view == "deliveries" {
            // One delivery opened: what DreamClass sent, and why it was kept.
            browser
                .find(Locator::Css("li.delivery button.summary"))
                .await
                .expect("a delivery to open")
                .click()
                .await
                .unwrap();
            wait_for_text(&browser, "What DreamClass sent", WAIT).await;
            problems.extend(found(
                "an opened delivery",
                serious_violations(&browser).await,
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "serious or critical accessibility violations:\n{}",
        problems.join("\n")
    );
}

/// Any attendance record the demo sent, for its history page.
async fn any_record(info: &Info) -> i64 {
    info.api("/api/changes/latest?limit=1").await["changes"][0]["attendanceId"]
        .as_i64()
        .expect("the demo sent changes")
}

/// Presses one key, as a person would, wherever the focus is.
async fn press(browser: &Client, key: Key) {
    let key = char::from(key);
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    browser
        .perform_actions(actions)
        .await
        .unwrap_or_else(|e| panic!("the key could not be pressed: {e}"));
}

/// Types `text` into whatever has the focus.
async fn type_text(browser: &Client, text: &str) {
    let mut actions = KeyActions::new("keyboard".into());
    for c in text.chars() {
        actions = actions
            .then(KeyAction::Down { value: c })
            .then(KeyAction::Up { value: c });
    }
    browser.perform_actions(actions).await.unwrap();
}

/// Presses Shift+Tab once: the focus moves back.
async fn press_shift_tab(browser: &Client) {
    let (shift, tab) = (char::from(Key::Shift), char::from(Key::Tab));
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: shift })
        .then(KeyAction::Down { value: tab })
        .then(KeyAction::Up { value: tab })
        .then(KeyAction::Up { value: shift });
    browser.perform_actions(actions).await.unwrap();
}

/// Presses Tab until the focused element matches `css`.
async fn tab_to(browser: &Client, what: &str, css: &str) {
    move_focus_to(browser, what, css, false).await;
}

/// Presses Shift+Tab until the focused element matches `css` (a control above the focus,
/// such as the view tabs once a page has been read down).
async fn tab_back_to(browser: &Client, what: &str, css: &str) {
    move_focus_to(browser, what, css, true).await;
}

/// Moves the focus with Tab (or Shift+Tab) until it is on an element matching `css`, then
/// checks that the focus can be seen (an outline or a ring); panics naming `what` if it takes
/// more than [`MAX_TABS`] presses.
async fn move_focus_to(browser: &Client, what: &str, css: &str, backwards: bool) {
    let is_there = format!(
        "const e = document.activeElement; return !!e && e.matches({});",
        json!(css)
    );
    for _ in 0..MAX_TABS {
        if run_js(browser, &is_there).await == Value::Bool(true) {
            let visible = run_js(
                browser,
                "const s = getComputedStyle(document.activeElement);
                 return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                     || s.boxShadow !== 'none';",
            )
            .await;
            assert_eq!(
                visible,
                Value::Bool(true),
                "the keyboard focus on {what} cannot be seen"
            );
            return;
        }
        if backwards {
            press_shift_tab(browser).await;
        } else {
            press(browser, Key::Tab).await;
        }
    }
    let at = run_js(
        browser,
        "const e = document.activeElement; return e ? e.outerHTML.slice(0, 200) : null;",
    )
    .await;
    panic!("{what} cannot be reached with Tab in {MAX_TABS} presses; the focus is on {at}");
}

/// The main flows with the keyboard alone.
async fn keyboard_flows(browser: Client, info: Info) {
    browser.goto(&info.link).await.unwrap();
    wait_for(
        &browser,
        "the live feed",
        WAIT,
        &format!("return {FEED_IS_SHOWN};"),
    )
    .await;

    // 1. Open a record from the live feed and read its history.
    tab_to(
        &browser,
        "the first row of the live feed",
        "[aria-label='Attendance changes, newest first'] a[data-seq]",
    )
    .await;
    press(&browser, Key::Enter).await;
    wait_for(
        &browser,
        "a record's history, opened with Enter",
        WAIT,
        "return location.hash.startsWith('#/record/') \
             && document.querySelectorAll('table tbody tr').length > 0;",
    )
    .await;

    // 2. Go to Today's board from the tabs.
    tab_back_to(&browser, "the Today tab", "nav a[href='#/board']").await;
    press(&browser, Key::Enter).await;
    wait_for(
        &browser,
        "the board, opened with Enter",
        WAIT,
        "return location.hash.startsWith('#/board') \
             && document.querySelector('section table tbody tr') !== null;",
    )
    .await;

    // 3. Open a delivery in the deliveries inspector.
    tab_back_to(&browser, "the Deliveries tab", "nav a[href='#/deliveries']").await;
    press(&browser, Key::Enter).await;
    wait_for(
        &browser,
        "the deliveries, opened with Enter",
        WAIT,
        "return location.hash.startsWith('#/deliveries') \
             && document.querySelector('li.delivery button.summary') !== null;",
    )
    .await;
    tab_to(&browser, "the first delivery", "li.delivery button.summary").await;
    press(&browser, Key::Space).await;
    wait_for_text(&browser, "What DreamClass sent", WAIT).await;

    // 4. Reports: opened from its tab, which clears the alerts badge.
    tab_back_to(&browser, "the Reports tab", "nav a[href='#/reports']").await;
    press(&browser, Key::Enter).await;
    wait_for(
        &browser,
        "the reports, opened with Enter",
        WAIT,
        "return location.hash.startsWith('#/reports') \
             && document.querySelector('main svg') !== null \
             && document.querySelector(\"nav a[href='#/reports'] .badge\") === null;",
    )
    .await;

    // 5. Settings: change when chronic absence is judged, and save, without a mouse.
    tab_to(&browser, "the Settings tab", "nav a[href='#/settings']").await;
    press(&browser, Key::Enter).await;
    wait_for(
        &browser,
        "the settings, opened with Enter",
        WAIT,
        "return location.hash.startsWith('#/settings') \
             && document.querySelector('form.thresholds') !== null;",
    )
    .await;
    tab_to(
        &browser,
        "the days before judging chronic absence",
        "form.thresholds input[name='chronicMinDays']",
    )
    .await;
    // Select what is there, then type over it.
    let select_all = KeyActions::new("keyboard".into())
        .then(KeyAction::Down {
            value: char::from(Key::Control),
        })
        .then(KeyAction::Down { value: 'a' })
        .then(KeyAction::Up { value: 'a' })
        .then(KeyAction::Up {
            value: char::from(Key::Control),
        });
    browser.perform_actions(select_all).await.unwrap();
    type_text(&browser, "5").await;
    tab_to(&browser, "Save", "form.thresholds button[type='submit']").await;
    press(&browser, Key::Enter).await;
    wait_for_text(&browser, "Before 5 school days with records", WAIT).await;
    assert_eq!(
        info.api("/api/settings/reports").await["chronicMinDays"],
        5,
        "saved with the keyboard"
    );
}
