//! Signing in from a browser, as people on other computers open a Rollcall that requires it
//! (`rollcall serve --require-sign-in`): headless Chromium over WebDriver against the real
//! `rollcall serve`.
//!
//! - The first administrator is made on the page with the setup key the server printed.
//! - Two people of different roles and schools, signed in at once in two browsers, each see
//!   only their school's changes, live; the viewer is offered no settings and is refused a
//!   change with a sentence; a change without the session's CSRF token is refused.
//! - A session that expires sends the page back to the sign-in form.
//! - The setup form, the sign-in form and the People page pass axe-core (no serious or
//!   critical violation).
//!
//! Needs what `browser.rs` needs (`cargo build -p rollcall-cli`, `ui/dist`, chromium and
//! chromium-driver). Screenshots and logs: `target/e2e-artifacts/sign-in-*`.

use std::time::Duration;

use fantoccini::{Client, Locator};
use rollcall_e2e::axe::serious_violations;
use rollcall_e2e::browser::{click, with_browsers, BrowserOptions};
use rollcall_e2e::desktop::{run_js, screenshot, wait_for, wait_for_text, FEED_IS_SHOWN};
use rollcall_e2e::serve::Serve;
use rollcall_e2e::webhook::{post_attendance_created_for, Attendance};
use serde_json::{json, Value};

const SECRET: &str = "sign-in-e2e-secret";
const WAIT: Duration = Duration::from_secs(30);
const ADMIN_PASSWORD: &str = "the head's own password";
const PASSWORD: &str = "a colleague's password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_of_different_schools_and_roles_see_only_what_they_may() {
    let logs = rollcall_e2e::artifacts_dir().join("sign-in-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(
        data.path(),
        Some(SECRET),
        &["--require-sign-in", "--allow-plain-http"],
        &logs.join("serve.log"),
    );
    let site = Site {
        origin: serve.origin.clone(),
        token: serve.token.clone(),
        webhook_url: serve.webhook_url.clone(),
    };
    with_browsers(&logs, "sign-in", 2, &BrowserOptions::default(), |b| {
        people_checks(b[0].clone(), b[1].clone(), site)
    })
    .await;
    serve.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_sends_the_page_back_to_sign_in() {
    let logs = rollcall_e2e::artifacts_dir().join("sign-in-expiry-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(
        data.path(),
        Some(SECRET),
        &["--require-sign-in", "--session-length", "8s"],
        &logs.join("serve.log"),
    );
    let site = Site {
        origin: serve.origin.clone(),
        token: serve.token.clone(),
        webhook_url: serve.webhook_url.clone(),
    };
    with_browsers(
        &logs,
        "sign-in-expiry",
        1,
        &BrowserOptions::default(),
        |b| expiry_checks(b[0].clone(), site),
    )
    .await;
    serve.stop();
}

/// What the checks need of the running `rollcall serve` (it stays owned by the test).
#[derive(Clone)]
struct Site {
    origin: String,
    /// This run's token: from this computer it acts as an administrator (the test adds
    /// people with it, as the desktop window on the server would).
    token: String,
    webhook_url: String,
}

impl Site {
    async fn add_person(&self, username: &str, role: &str, schools: &[&str]) {
        let answer = reqwest::Client::new()
            .post(format!("{}/api/people", self.origin))
            .bearer_auth(&self.token)
            .json(&json!({
                "username": username, "displayName": username, "role": role,
                "schools": schools, "password": PASSWORD
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap());
    }

    async fn deliver(&self, tenant: &str, student: i64, attendance_id: i64) {
        let record = Attendance {
            attendance_id,
            student_period_id: student,
            class_id: 731,
            course_id: 42,
            status_id: 2,
            date: chrono::Local::now().date_naive().to_string(),
            comment: String::new(),
        };
        let status = post_attendance_created_for(&self.webhook_url, SECRET, tenant, &record).await;
        assert_eq!(status, 200, "a signed delivery was refused");
    }
}

async fn people_checks(anna: Client, victor: Client, site: Site) {
    // The first administrator, on the page, with the printed setup key.
    anna.goto(&format!("{}/", site.origin)).await.unwrap();
    wait_for_text(&anna, "Set up Rollcall", WAIT).await;
    let mut problems = Vec::new();
    problems.extend(axe(&anna, "the setup form").await);
    fill(&anna, "setupKey", &site.token).await;
    fill(&anna, "displayName", "The Head").await;
    fill(&anna, "username", "head").await;
    fill(&anna, "password", ADMIN_PASSWORD).await;
    fill(&anna, "confirm", ADMIN_PASSWORD).await;
    submit(&anna).await;
    wait_for(
        &anna,
        "the head signed in",
        WAIT,
        "return !!document.querySelector('[data-signed-in=\"head\"]');",
    )
    .await;
    screenshot(&anna, "sign-in-1-administrator").await;
    anna.goto(&format!("{}/#/people", site.origin))
        .await
        .unwrap();
    wait_for(
        &anna,
        "the People page",
        WAIT,
        "return !!document.querySelector('[data-person=\"head\"]');",
    )
    .await;
    problems.extend(axe(&anna, "the People page").await);
    click(&anna, "[data-signed-in] button").await; // sign out
    wait_for_text(&anna, "Sign in to Rollcall", WAIT).await;
    problems.extend(axe(&anna, "the sign-in form").await);
    assert!(
        problems.is_empty(),
        "serious accessibility problems:\n{}",
        problems.join("\n")
    );

    site.add_person("anna", "staff", &["north"]).await;
    site.add_person("victor", "viewer", &["south"]).await;
    site.deliver("north", 770_001, 1).await;
    site.deliver("south", 660_001, 2).await;

    sign_in(&anna, &site, "anna").await;
    sign_in(&victor, &site, "victor").await;
    for (browser, own, other) in [(&anna, 770_001, 660_001), (&victor, 660_001, 770_001)] {
        wait_for(
            browser,
            "the live feed",
            WAIT,
            &format!("return {FEED_IS_SHOWN};"),
        )
        .await;
        wait_for_text(browser, &format!("Student #{own}"), WAIT).await;
        assert!(!page_text(browser)
            .await
            .contains(&format!("Student #{other}")));
    }
    // Live, while both are signed in: each sees their own school's new change only.
    site.deliver("south", 660_002, 3).await;
    site.deliver("north", 770_002, 4).await;
    wait_for_text(&anna, "Student #770002", WAIT).await;
    wait_for_text(&victor, "Student #660002", WAIT).await;
    assert!(!page_text(&anna).await.contains("Student #660002"));
    assert!(!page_text(&victor).await.contains("Student #770002"));
    screenshot(&anna, "sign-in-2-staff-north").await;
    screenshot(&victor, "sign-in-3-viewer-south").await;

    // The viewer is offered no settings, and the server refuses them anyway.
    let nav = run_js(&victor, "return document.querySelector('nav').innerText;").await;
    let nav = nav.as_str().unwrap();
    assert!(
        nav.contains("Live feed") && !nav.contains("Settings"),
        "{nav}"
    );
    victor
        .goto(&format!("{}/#/settings", site.origin))
        .await
        .unwrap();
    wait_for_text(&victor, "This page is for administrators", WAIT).await;
    let refused = page_fetch(&victor, "PUT", "/api/settings/retention", true).await;
    assert_eq!(refused["status"], 403, "{refused}");
    let message = refused["body"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("You are signed in as a viewer"),
        "{refused}"
    );

    // A change without the session's CSRF token is not made, even from the page itself.
    let forged = page_fetch(&anna, "POST", "/api/sign-out", false).await;
    assert_eq!(forged["status"], 403, "{forged}");
    assert_eq!(forged["body"]["error"], "csrf_invalid");
    let still = page_fetch(&anna, "GET", "/api/changes/latest", false).await;
    assert_eq!(still["status"], 200, "anna is still signed in: {still}");
}

async fn expiry_checks(browser: Client, site: Site) {
    site.add_person("anna", "staff", &["north"]).await;
    site.deliver("north", 770_001, 1).await;
    sign_in(&browser, &site, "anna").await;
    wait_for_text(&browser, "Student #770001", WAIT).await;
    // The session lasts 8 s; the page's next call after that is refused and it reloads.
    wait_for_text(&browser, "Sign in to Rollcall", Duration::from_secs(60)).await;
    let session = page_fetch(&browser, "GET", "/api/session", false).await;
    assert_eq!(session["body"]["signedIn"], false, "{session}");
}

/// axe-core's serious and critical findings on the page, named.
async fn axe(browser: &Client, page: &str) -> Vec<String> {
    serious_violations(browser)
        .await
        .into_iter()
        .map(|line| format!("{page}: {line}"))
        .collect()
}

async fn sign_in(browser: &Client, site: &Site, username: &str) {
    browser.goto(&format!("{}/", site.origin)).await.unwrap();
    wait_for_text(browser, "Sign in to Rollcall", WAIT).await;
    fill(browser, "username", username).await;
    fill(browser, "password", PASSWORD).await;
    submit(browser).await;
    wait_for(
        browser,
        "signed in",
        WAIT,
        &format!("return !!document.querySelector('[data-signed-in=\"{username}\"]');"),
    )
    .await;
}

/// A request from the page itself: with or without the session's CSRF token (read from
/// `/api/session`, as the page reads it); `{status, body}`.
async fn page_fetch(browser: &Client, method: &str, path: &str, with_csrf: bool) -> Value {
    let script = r#"
        const [method, path, withCsrf, done] = arguments;
        (async () => {
            const session = await (await fetch('/api/session')).json();
            const headers = { 'Content-Type': 'application/json' };
            if (withCsrf) headers['X-Rollcall-Csrf'] = session.csrfToken;
            const init = { method, headers };
            if (method !== 'GET') init.body = JSON.stringify({ days: 30 });
            const answer = await fetch(path, init);
            let body = null;
            try { body = await answer.json(); } catch (e) {}
            done({ status: answer.status, body });
        })().catch((e) => done({ status: 0, body: String(e) }));"#;
    browser
        .execute_async(script, vec![json!(method), json!(path), json!(with_csrf)])
        .await
        .unwrap_or_else(|e| panic!("{method} {path} from the page failed: {e}"))
}

async fn page_text(browser: &Client) -> String {
    run_js(browser, "return document.body.innerText;")
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
}

async fn fill(browser: &Client, name: &str, text: &str) {
    browser
        .find(Locator::Css(&format!("input[name=\"{name}\"]")))
        .await
        .unwrap_or_else(|e| panic!("no field {name}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("could not type in {name}: {e}"));
}

async fn submit(browser: &Client) {
    click(browser, "form[data-sign-in] button[type=submit]").await;
}
