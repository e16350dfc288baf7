//! Signing in with the district's Google account in a real browser: headless Chromium presses
//! "Sign in with Google" on `rollcall serve`'s sign-in page, goes through an OpenID Connect
//! provider run in the test (rollcall-simulator's fake_openid) and back, and lands signed in on
//! the live feed. What this proves beyond the server's own tests: the browser keeps the
//! sign-in's cookie across the provider's redirects, and the `SameSite=Strict` session cookie
//! set at the end of a chain that started at another site is sent with the next page.

use std::time::Duration;

use fantoccini::Client;
use rollcall_e2e::axe::serious_violations;
use rollcall_e2e::browser::{click, with_browsers, BrowserOptions};
use rollcall_e2e::desktop::{run_js, wait_for, wait_for_text, FEED_IS_SHOWN};
use rollcall_e2e::serve::Serve;
use rollcall_simulator::fake_openid::{Account, FakeProvider, CLIENT_ID, CLIENT_SECRET};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

/// `rollcall serve` with sign-in and the provider, its first administrator made (so its page
/// offers sign-in rather than setup).
async fn district_server(
    data: &std::path::Path,
    provider: &FakeProvider,
    log: &std::path::Path,
) -> Serve {
    let serve = Serve::start(
        data,
        Some("openid-e2e-secret"),
        &[
            "--require-sign-in",
            "--allow-plain-http",
            "--openid-issuer",
            &provider.issuer,
            "--openid-client-id",
            CLIENT_ID,
            "--openid-client-secret",
            CLIENT_SECRET,
            "--openid-name",
            "Google",
            "--openid-allow",
            "north.example.org=staff:north",
        ],
        log,
    );
    let setup = reqwest::Client::new()
        .post(format!("{}/api/setup", serve.origin))
        .json(&json!({
            "setupKey": serve.token, "username": "head", "displayName": "The Head",
            "password": "the head's own password"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(setup.status(), 200, "{}", setup.text().await.unwrap());
    serve
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_account_signs_in_from_the_browser_and_lands_on_the_feed() {
    let logs = rollcall_e2e::artifacts_dir().join("openid-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let provider = FakeProvider::start().await;
    provider.signs_in(Account::of("anna@north.example.org", "Anna Smith"));
    let data = tempfile::tempdir().unwrap();
    let mut serve = district_server(data.path(), &provider, &logs.join("serve.log")).await;

    let origin = serve.origin.clone();
    with_browsers(&logs, "openid", 1, &BrowserOptions::default(), |b| {
        checks(b[0].clone(), origin)
    })
    .await;
    serve.stop();
}

async fn checks(browser: Client, origin: String) {
    browser.goto(&format!("{origin}/")).await.unwrap();
    wait_for_text(&browser, "Sign in with Google", WAIT).await;
    let problems = serious_violations(&browser).await;
    assert!(problems.is_empty(), "the sign-in page: {problems:?}");

    click(&browser, "a[data-openid]").await;
    wait_for(
        &browser,
        "signed in as Anna",
        WAIT,
        "return !!document.querySelector('[data-signed-in=\"anna@north.example.org\"]');",
    )
    .await;
    wait_for(
        &browser,
        "the live feed",
        WAIT,
        &format!("return {FEED_IS_SHOWN};"),
    )
    .await;
    let url = browser.current_url().await.unwrap();
    assert!(url.as_str().starts_with(&origin), "back on Rollcall: {url}");
    let shown = run_js(&browser, "return document.body.innerText;").await;
    assert!(
        shown.as_str().unwrap_or("").contains("Anna Smith"),
        "the header names her: {shown}"
    );
    // The session is the page's own: the API answers it as signed in, as staff of north.
    let session = browser
        .execute_async(
            "const done = arguments[0]; fetch('/api/session').then(r => r.json()).then(done);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(session["signedIn"], true, "{session}");
    assert_eq!(session["person"]["role"], "staff", "{session}");
    assert_eq!(session["person"]["schools"], json!(["north"]), "{session}");
}

/// An office PC viewing the district's server signs Anna in with Google: "Sign in with Google"
/// in the viewer's banner opens the server's sign-in in a new tab, which goes through the
/// provider and comes back to the viewer; the viewer's window then follows the server as Anna.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_signs_in_with_the_district_account_in_a_new_tab() {
    let logs = rollcall_e2e::artifacts_dir().join("openid-viewer-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let provider = FakeProvider::start().await;
    provider.signs_in(Account::of("anna@north.example.org", "Anna Smith"));
    let server_data = tempfile::tempdir().unwrap();
    let mut server = district_server(server_data.path(), &provider, &logs.join("server.log")).await;
    let viewer_data = tempfile::tempdir().unwrap();
    let mut viewer = Serve::start(
        viewer_data.path(),
        None,
        &["--viewer-of", &server.origin],
        &logs.join("viewer.log"),
    );
    let (link, server_origin) = (viewer.link.clone(), server.origin.clone());
    with_browsers(&logs, "openid-viewer", 1, &BrowserOptions::default(), |b| {
        viewer_checks(b[0].clone(), link, server_origin)
    })
    .await;
    viewer.stop();
    server.stop();
}

async fn viewer_checks(browser: Client, link: String, server: String) {
    browser.goto(&link).await.unwrap();
    wait_for(
        &browser,
        "the viewer's sign-in with Google",
        WAIT,
        "return !!document.querySelector('button[data-viewer-openid]');",
    )
    .await;
    let problems = serious_violations(&browser).await;
    assert!(problems.is_empty(), "the viewer's sign-in: {problems:?}");
    let main = browser.window().await.unwrap();
    click(&browser, "button[data-viewer-openid]").await;
    // (The window says to finish in the browser; the tab may be quicker than a look at it.)
    // The new tab: the server, the provider, the server again, then this viewer.
    let mut tab = None;
    for _ in 0..100 {
        tab = browser
            .windows()
            .await
            .unwrap()
            .into_iter()
            .find(|w| *w != main);
        if tab.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser
        .switch_to_window(tab.expect("the sign-in opened in a new tab"))
        .await
        .unwrap();
    wait_for_text(&browser, "You are signed in to", WAIT).await;
    let shown = run_js(&browser, "return document.body.innerText;").await;
    assert!(
        shown
            .as_str()
            .unwrap_or("")
            .contains("as anna@north.example.org"),
        "{shown}"
    );
    let there = browser.current_url().await.unwrap();
    assert!(
        !there.as_str().starts_with(&server),
        "the tab ends at the viewer, not the server: {there}"
    );
    browser.close_window().await.unwrap();
    browser.switch_to_window(main).await.unwrap();
    wait_for(
        &browser,
        "the viewer signed in as Anna and live",
        WAIT,
        "return !!document.querySelector('[data-viewer=\"live\"]');",
    )
    .await;
}
