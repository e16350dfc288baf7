//! Rollcall in a browser, as the office opens it from the link `rollcall serve` prints:
//! headless Chromium driven over WebDriver (chromedriver) against the real `rollcall serve`,
//! with signed deliveries posted by the test while the page is open.
//!
//! Needs: `cargo build -p rollcall-cli` first, the built UI (`ui/dist`), and the packages
//! `chromium chromium-driver`. Screenshots and logs: `target/e2e-artifacts/browser-*`.
//!
//! The README's screenshots come from the ignored test `readme_screenshots`
//! (`cargo test -p rollcall-e2e --test browser -- --ignored readme_screenshots`), which
//! writes them to `docs/screenshots/`.

use std::collections::BTreeMap;
use std::time::Duration;

use fantoccini::{Client, Locator};
use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_e2e::browser::{
    click, open_browser, screenshot_to, with_browsers, BrowserOptions, ChromeDriver,
};
use rollcall_e2e::desktop::{run_js, screenshot, wait_for, wait_for_text, FEED_IS_SHOWN};
use rollcall_e2e::serve::Serve;
use rollcall_e2e::webhook::{post_attendance_created, Attendance};
use rollcall_simulator::{plan, webhook_body, DemoSchool, PlanOptions, DEMO_TENANT};
use serde_json::{json, Value};

const SECRET: &str = "browser-e2e-secret";
/// A host name the browser is told resolves to 127.0.0.1: a DNS-rebinding site.
const REBINDING_HOST: &str = "rebind.example";
const WAIT: Duration = Duration::from_secs(30);

/// The rows the feed shows: (student, class) as read on screen.
const FEED_ROWS: &str = r#"
    const feed = document.querySelector('[aria-label="Attendance changes, newest first"]');
    if (!feed) return [];
    return Array.from(feed.querySelectorAll('.spacer a[data-seq]')).map((row) => [
        row.querySelector('.student').innerText.trim(),
        row.querySelector('.class').innerText.trim(),
    ]);"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_feed_filters_board_and_foreign_origins_in_a_browser() {
    let logs = rollcall_e2e::artifacts_dir().join("browser-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(data.path(), Some(SECRET), &[], &logs.join("serve.log"));
    let options = BrowserOptions {
        resolve_to_loopback: vec![REBINDING_HOST.into()],
        ..BrowserOptions::default()
    };
    let info = serve_info(&serve);
    with_browsers(&logs, "browser", 1, &options, |b| {
        checks(b[0].clone(), info)
    })
    .await;
    serve.stop();
}

/// What the checks need of the running `rollcall serve` (it stays owned by the test).
#[derive(Clone)]
struct ServeInfo {
    link: String,
    origin: String,
    token: String,
    webhook_url: String,
    ui_port: u16,
}

fn serve_info(serve: &Serve) -> ServeInfo {
    ServeInfo {
        link: serve.link.clone(),
        origin: serve.origin.clone(),
        token: serve.token.clone(),
        webhook_url: serve.webhook_url.clone(),
        ui_port: serve.ui_port(),
    }
}

async fn checks(browser: Client, serve: ServeInfo) {
    // Feed rows are dated yesterday, so that today's board holds only the day's traffic below.
    let yesterday = (chrono::Local::now().date_naive() - chrono::Days::new(1)).to_string();
    let record = |n: i64, class_id: i64| Attendance {
        attendance_id: 9_100_000 + n,
        student_period_id: 880_000 + n,
        class_id,
        course_id: 42,
        status_id: 2,
        date: yesterday.clone(),
        comment: format!("e2e note {n}"),
    };
    let post = |n: i64, class_id: i64| {
        let r = record(n, class_id);
        let url = serve.webhook_url.clone();
        async move {
            let status = post_attendance_created(&url, SECRET, &r).await;
            assert_eq!(
                status, 200,
                "the webhook listener refused a signed delivery"
            );
        }
    };

    // 1. Deliveries before the page is open make its first screen.
    for (n, class_id) in [(1, 731), (2, 732), (3, 731)] {
        post(n, class_id).await;
    }
    browser.goto(&serve.link).await.unwrap();
    let url = browser.current_url().await.unwrap().to_string();
    assert!(
        url.starts_with(&format!("{}/", serve.origin)) && !url.contains("token="),
        "the link sets its cookie and leaves for the UI without the token in the address: {url}"
    );
    wait_for(
        &browser,
        "the live feed",
        WAIT,
        &format!("return {FEED_IS_SHOWN};"),
    )
    .await;
    for n in 1..=3 {
        wait_for_text(&browser, &format!("Student #{}", 880_000 + n), WAIT).await;
    }
    assert_eq!(
        feed_rows(&browser).await.len(),
        3,
        "the first screen shows the 3 changes"
    );
    screenshot(&browser, "browser-1-first-screen").await;

    // Rows posted while the page is open slide in, newest first.
    post(4, 732).await;
    post(5, 731).await;
    wait_for_text(&browser, "Student #880005", WAIT).await;
    wait_for_text(&browser, "Student #880004", WAIT).await;
    let rows = feed_rows(&browser).await;
    let students: Vec<&str> = rows.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        students,
        [
            "Student #880005",
            "Student #880004",
            "Student #880003",
            "Student #880002",
            "Student #880001"
        ],
        "live rows arrive newest first"
    );
    screenshot(&browser, "browser-2-live-rows").await;

    // 2. One class chosen in the Class filter: its rows only, old and new.
    browser
        .find(Locator::XPath(
            "//form[@aria-label='Filters']//label[span='Class']/select",
        ))
        .await
        .expect("the feed has a Class filter")
        .select_by_value("731")
        .await
        .expect("Class 731 is offered in the Class filter");
    wait_for(
        &browser,
        "only Class 731 rows",
        WAIT,
        &format!(
            "const rows = (() => {{ {FEED_ROWS} }})();
             return rows.length === 3 && rows.every(([, c]) => c === 'Class 731');"
        ),
    )
    .await;
    for (n, class_id) in [(6, 732), (7, 731), (8, 733), (9, 732), (10, 731)] {
        post(n, class_id).await;
    }
    wait_for_text(&browser, "Student #880010", WAIT).await;
    wait_for_text(&browser, "Student #880007", WAIT).await;
    // The other classes' rows had their chance to (wrongly) show up by now, as Class 731's did.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let rows = feed_rows(&browser).await;
    assert_eq!(
        rows,
        [880_010, 880_007, 880_005, 880_003, 880_001]
            .map(|s| (format!("Student #{s}"), "Class 731".to_string()))
            .to_vec(),
        "with Class 731 chosen, only its rows show, new ones included"
    );
    screenshot(&browser, "browser-3-class-filter").await;

    // Paused, a new row waits behind "1 new change (paused)"; Resume shows it.
    browser
        .find(Locator::Css("button.pause"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&browser, "Resume", WAIT).await;
    post(11, 731).await;
    post(12, 732).await;
    wait_for_text(&browser, "1 new change (paused)", WAIT).await;
    assert!(
        !feed_rows(&browser)
            .await
            .iter()
            .any(|(s, _)| s == "Student #880011"),
        "a paused feed does not move"
    );
    screenshot(&browser, "browser-4-paused").await;
    browser
        .find(Locator::Css("button.pause"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&browser, "Student #880011", WAIT).await;
    let rows = feed_rows(&browser).await;
    assert_eq!(rows.len(), 6, "resumed: the held row joins the 5: {rows:?}");
    assert!(rows.iter().all(|(_, c)| c == "Class 731"), "{rows:?}");

    // 3. The Today board counts what was sent for today, per class and status.
    let expected = send_todays_traffic(&serve.webhook_url).await;
    browser
        .find(Locator::Css("nav[aria-label='Views'] a[href='#/board']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let mut shown = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        shown = board_by_class(&browser).await;
        if shown == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    screenshot(&browser, "browser-5-board").await;
    assert_eq!(
        shown, expected,
        "the Today board (class → status → count) matches today's deliveries"
    );

    // 4. Foreign origins are refused.
    foreign_origins_are_refused(&browser, &serve).await;
}

/// The feed's rows on screen, newest first, as (student, class).
async fn feed_rows(browser: &Client) -> Vec<(String, String)> {
    serde_json::from_value(run_js(browser, FEED_ROWS).await).expect("rows as pairs of text")
}

/// Posts a morning of the demo school's traffic (creations, corrections, deletions,
/// duplicates, stale versions) dated today; returns what the board must show for it:
/// class label → status label → count, totals included.
async fn send_todays_traffic(webhook_url: &str) -> BTreeMap<String, BTreeMap<String, i64>> {
    let school = DemoSchool::generate(7);
    let today = chrono::Local::now().date_naive();
    let traffic = plan(
        &school,
        PlanOptions {
            events: 160,
            seed: 11,
            end_ts: rollcall_core::model::now_ms(),
            first_date: today,
        },
    );
    let key = SigningKey::new(SECRET, KeyEncoding::Text).unwrap();
    let http = reqwest::Client::new();
    for delivery in &traffic.deliveries {
        let status = http
            .post(webhook_url)
            .header("content-type", "application/json")
            .body(webhook_body(delivery, DEMO_TENANT, Some(&key)))
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            status.is_success(),
            "a planned delivery was refused: {status}"
        );
    }
    let mut expected: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    let today = today.to_string();
    for record in traffic.expected.values().flatten() {
        if record.date != today {
            continue;
        }
        let class = expected
            .entry(format!("Class {}", record.class_id))
            .or_default();
        *class
            .entry(format!("Status {}", record.status_id))
            .or_default() += 1;
        *class.entry("Total".into()).or_default() += 1;
    }
    assert!(
        expected.len() > 1,
        "the day's traffic covers several classes"
    );
    expected
}

/// The "By class" table of the Today board: class → status column → count (and "Total").
async fn board_by_class(browser: &Client) -> BTreeMap<String, BTreeMap<String, i64>> {
    let table = run_js(
        browser,
        r#"const section = Array.from(document.querySelectorAll('section'))
               .find((s) => s.querySelector('h2')?.innerText.trim() === 'By class');
           const table = section && section.querySelector('table');
           if (!table) return {};
           const heads = Array.from(table.querySelectorAll('thead th')).map((th) => th.innerText.trim());
           const out = {};
           for (const tr of table.querySelectorAll('tbody tr')) {
               const cells = Array.from(tr.children).map((c) => c.innerText.trim());
               const counts = {};
               cells.forEach((text, i) => {
                   if (i === 0 || heads[i] === 'Last update') return;
                   if (/^\d+$/.test(text)) counts[heads[i]] = Number(text);
               });
               out[cells[0]] = counts;
           }
           return out;"#,
    )
    .await;
    serde_json::from_value(table).unwrap_or_default()
}

/// A foreign Origin or Host never gets data: not with the token, not through the browser.
async fn foreign_origins_are_refused(browser: &Client, serve: &ServeInfo) {
    // A program holding the token, sending a foreign Origin (what a cross-site page's request
    // carries): 403. The same request from the UI's own origin: 200.
    let http = reqwest::Client::new();
    let status_url = format!("{}/api/status", serve.origin);
    let foreign = http
        .get(&status_url)
        .bearer_auth(&serve.token)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        foreign.status().as_u16(),
        403,
        "a foreign Origin is refused"
    );
    let body: Value = foreign.json().await.unwrap();
    assert_eq!(body["error"], "forbidden_origin", "{body}");
    let own = http
        .get(&status_url)
        .bearer_auth(&serve.token)
        .header("origin", &serve.origin)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 200, "the UI's own origin is served");

    // The browser on a foreign name that resolves to the listener (DNS rebinding), even with
    // the token in the link: refused, no UI.
    let rebound = format!("http://{REBINDING_HOST}:{}", serve.ui_port);
    browser
        .goto(&format!("{rebound}/?token={}", serve.token))
        .await
        .unwrap();
    wait_for_text(browser, "forbidden_host", WAIT).await;
    let shown = rollcall_e2e::desktop::visible_text(browser).await;
    assert!(
        !shown.contains("Live feed"),
        "no UI on a foreign host: {shown}"
    );
    screenshot(browser, "browser-6-foreign-host").await;

    // From that foreign page, scripts get nothing: its own-origin request is refused by Host,
    // and a cross-origin request to the listener's real address (with cookies) is refused by
    // Origin and cannot be read.
    let outcome = browser
        .execute_async(
            r#"const [target, done] = arguments;
               const attempt = (url, init) => fetch(url, init)
                   .then(async (r) => ({ status: r.status, body: await r.text() }))
                   .catch((e) => ({ failed: String(e) }));
               Promise.all([
                   attempt('/api/changes/latest?limit=5', { credentials: 'include' }),
                   attempt(target + '/api/changes/latest?limit=5', { credentials: 'include' }),
               ]).then(done);"#,
            vec![json!(serve.origin)],
        )
        .await
        .unwrap();
    let same_name = &outcome[0];
    assert_eq!(same_name["status"], 403, "{outcome}");
    assert!(
        same_name["body"]
            .as_str()
            .unwrap_or_default()
            .contains("forbidden_host"),
        "{outcome}"
    );
    let cross = &outcome[1];
    assert!(
        cross.get("failed").is_some(),
        "a cross-origin page must not read the API: {outcome}"
    );
    assert!(!outcome.to_string().contains("Student #"), "{outcome}");
}

/// Saves one README screenshot (1280×800) to `docs/screenshots/<name>.png`.
async fn readme_shot(browser: &Client, name: &str) {
    // No focus ring left on the last control used.
    let _ = browser
        .execute("document.activeElement?.blur(); return true;", vec![])
        .await;
    let path = rollcall_e2e::checkout_dir().join(format!("docs/screenshots/{name}.png"));
    screenshot_to(browser, &path).await;
    eprintln!("saved {}", path.display());
}

/// The README's screenshots, from `rollcall serve --demo` (names from its fake DreamClass).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots/; run with --ignored readme_screenshots"]
async fn readme_screenshots() {
    let logs = rollcall_e2e::artifacts_dir().join("browser-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(
        data.path(),
        None,
        &["--demo", "--demo-events", "1500", "--demo-rate", "100"],
        &logs.join("serve-demo.log"),
    );
    let mut driver = ChromeDriver::start(&logs);
    wait_for_demo_traffic(&serve).await;
    for dark in [false, true] {
        let profile = tempfile::tempdir().unwrap();
        let options = BrowserOptions {
            dark,
            ..BrowserOptions::default()
        };
        let browser = open_browser(&driver, profile.path(), &options).await;
        let outcome = tokio::spawn(readme_views(browser.clone(), serve_info(&serve), dark)).await;
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

/// Waits until the demo has sent its deliveries (their count stops growing).
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

/// Leaves time for rows to finish sliding in and charts to draw.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1200)).await;
}

async fn readme_views(browser: Client, serve: ServeInfo, dark: bool) {
    browser.goto(&serve.link).await.unwrap();
    wait_for(
        &browser,
        "the live feed",
        WAIT,
        &format!("return {FEED_IS_SHOWN};"),
    )
    .await;
    // Today's changes: the demo's last deliveries fill in the day before.
    browser
        .find(Locator::XPath(
            "//form[@aria-label='Filters']//label[span='Date']/select",
        ))
        .await
        .expect("the feed has a Date filter")
        .select_by_value("today")
        .await
        .unwrap();
    wait_for(
        &browser,
        "the live feed",
        WAIT,
        &format!("return {FEED_IS_SHOWN};"),
    )
    .await;
    // Names from the demo's DreamClass, not "Student #…".
    wait_for(
        &browser,
        "students' names in the feed",
        WAIT,
        &format!(
            "const rows = (() => {{ {FEED_ROWS} }})();
             return rows.length > 5 && rows.every(([s]) => !s.startsWith('Student #'));"
        ),
    )
    .await;
    settle().await;
    if dark {
        readme_shot(&browser, "feed-dark").await;
        return;
    }
    readme_shot(&browser, "feed").await;

    // A record's history: one that was corrected after it was taken, so it has several changes.
    let record = corrected_record(&serve).await;
    browser
        .goto(&format!("{}/#/record/{DEMO_TENANT}/{record}", serve.origin))
        .await
        .unwrap();
    wait_for(
        &browser,
        "a record's history",
        WAIT,
        "return document.querySelectorAll('main table tbody tr, table tbody tr').length > 1 \
             && !document.body.innerText.includes('Loading');",
    )
    .await;
    settle().await;
    readme_shot(&browser, "history").await;

    for (href, name, ready) in [
        (
            "#/board",
            "board",
            "document.querySelector('section table tbody tr') !== null",
        ),
        (
            "#/reports",
            "reports",
            "document.querySelector('main svg, svg') !== null",
        ),
        (
            "#/deliveries",
            "deliveries",
            "document.body.innerText.includes('Saved')",
        ),
        (
            "#/settings",
            "settings",
            "document.body.innerText.includes('DreamClass')",
        ),
    ] {
        click(
            &browser,
            &format!("nav[aria-label='Views'] a[href='{href}']"),
        )
        .await;
        wait_for(
            &browser,
            name,
            WAIT,
            &format!(
                "return location.hash.startsWith('{href}') && ({ready}) \
                 && !document.body.innerText.includes('Loading');"
            ),
        )
        .await;
        settle().await;
        match name {
            // The charts are below the period and export choices.
            "reports" => {
                run_js(
                    &browser,
                    "document.getElementById('summary-title').scrollIntoView({ block: 'start' }); \
                     return true;",
                )
                .await;
                settle().await;
            }
            // One delivery opened, with what DreamClass sent.
            "deliveries" => {
                browser
                    .find(Locator::XPath(
                        "//button[@aria-pressed][starts-with(normalize-space(.), 'Saved')]",
                    ))
                    .await
                    .expect("the deliveries can be narrowed to the saved ones")
                    .click()
                    .await
                    .unwrap();
                wait_for(
                    &browser,
                    "the saved deliveries",
                    WAIT,
                    "return location.hash.includes('outcome=applied') \
                         && document.querySelector('li.delivery .outcome.applied') !== null;",
                )
                .await;
                click(&browser, "li.delivery button.summary").await;
                wait_for_text(&browser, "What DreamClass sent", WAIT).await;
                settle().await;
            }
            _ => {}
        }
        readme_shot(&browser, name).await;
    }
}

/// The id of a record of the demo school that changed more than once.
async fn corrected_record(serve: &ServeInfo) -> i64 {
    let answer: Value = reqwest::Client::new()
        .get(format!("{}/api/changes/latest?limit=5000", serve.origin))
        .bearer_auth(&serve.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut changes: BTreeMap<i64, usize> = BTreeMap::new();
    for change in answer["changes"].as_array().expect("a list of changes") {
        *changes
            .entry(change["attendanceId"].as_i64().unwrap())
            .or_default() += 1;
    }
    changes
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .max_by_key(|(_, n)| *n)
        .map(|(id, _)| id)
        .expect("the demo corrects some records")
}
