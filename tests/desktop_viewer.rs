//! The desktop app as a viewer of a Rollcall server, driven as a secretary would: the real
//! `rollcall-desktop` window (tauri-driver under Xvfb) connects to a real `rollcall serve
//! --require-sign-in` from its Settings, starts again as its viewer, signs in, shows a
//! webhook sent to the server, keeps showing its copy (and says how old it is) while the
//! server is stopped, and catches up once it is back: nothing missing, nothing twice.
//! Needs what tests/desktop.rs needs.

use std::path::Path;
use std::time::{Duration, Instant};

use rollcall_core::store::{open_reader, DATABASE_FILE};
use rollcall_e2e::desktop::{run_js, screenshot, wait_for, wait_for_text, DesktopRun};
use rollcall_e2e::serve::Serve;
use rollcall_e2e::webhook::{post_attendance_created, Attendance};
use serde_json::json;

const SECRET: &str = "the district's webhook secret";
const PASSWORD: &str = "the secretary's long password";

fn start_server(dir: &Path, ui_addr: &str, logs: &Path, run: usize) -> Serve {
    Serve::start(
        dir,
        Some(SECRET),
        &["--require-sign-in", "--ui-addr", ui_addr],
        &logs.join(format!("server-{run}.log")),
    )
}

fn record(id: i64, student: i64, comment: &str) -> Attendance {
    Attendance {
        attendance_id: id,
        student_period_id: student,
        class_id: 731,
        course_id: 42,
        status_id: 1,
        date: chrono::Local::now().date_naive().to_string(),
        comment: comment.into(),
    }
}

/// The change log's sequence numbers in a Rollcall database file.
fn seqs(database: &Path) -> Vec<i64> {
    let conn = open_reader(database).expect("the database opens");
    let mut stmt = conn
        .prepare("SELECT seq FROM changes ORDER BY seq")
        .unwrap();
    let rows = stmt.query_map([], |r| r.get(0)).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

async fn fill(window: &fantoccini::Client, css: &str, text: &str) {
    run_js(
        window,
        &format!(
            "const input = document.querySelector({}); input.value = {}; \
             input.dispatchEvent(new Event('input', {{ bubbles: true }})); return true;",
            json!(css),
            json!(text)
        ),
    )
    .await;
}

async fn submit(window: &fantoccini::Client, form_of: &str) {
    run_js(
        window,
        &format!(
            "document.querySelector({}).form.requestSubmit(); return true;",
            json!(form_of)
        ),
    )
    .await;
}

fn viewer_is(state: &str) -> String {
    format!("return !!document.querySelector('[data-viewer=\"{state}\"]');")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_connects_to_a_server_shows_its_attendance_offline_and_catches_up() {
    let Some(run) = DesktopRun::prepare("desktop-viewer") else {
        return;
    };
    let server_dir = tempfile::tempdir().unwrap();
    let server_addr = rollcall_e2e::free_loopback_addr().to_string();
    let mut server = start_server(server_dir.path(), &server_addr, &run.logs, 1);
    // The district's administrator, then the secretary's account.
    let http = reqwest::Client::new();
    let admin = http
        .post(format!("{}/api/setup", server.origin))
        .json(&json!({
            "setupKey": server.token, "username": "head", "displayName": "The Head",
            "password": "the head's long password"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    let cookie = admin.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = admin.json::<serde_json::Value>().await.unwrap()["csrfToken"]
        .as_str()
        .unwrap()
        .to_string();
    let added = http
        .post(format!("{}/api/people", server.origin))
        .header("cookie", cookie)
        .header("x-rollcall-csrf", csrf)
        .json(&json!({
            "username": "secretary", "displayName": "The Secretary", "role": "staff",
            "schools": null, "password": PASSWORD
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    assert_eq!(
        post_attendance_created(
            &server.webhook_url,
            SECRET,
            &record(8_800_001, 880_001, "Before the viewer")
        )
        .await,
        200
    );

    // The office PC connects from Settings; Rollcall starts again as the server's viewer.
    let (mut driver, window) = run.open_window().await;
    run_js(&window, "location.hash = '#/settings'; return true;").await;
    wait_for(
        &window,
        "the Rollcall server section",
        Duration::from_secs(20),
        "return !!document.querySelector('input[name=\"viewer-server\"]');",
    )
    .await;
    fill(&window, "input[name=\"viewer-server\"]", &server.origin).await;
    submit(&window, "input[name=\"viewer-server\"]").await;
    wait_for(
        &window,
        "the viewer asking for a sign-in after starting again",
        Duration::from_secs(60),
        &viewer_is("signInNeeded"),
    )
    .await;
    assert!(
        run.data.path().join("viewer-of").is_file(),
        "the connection is saved for the next start"
    );
    screenshot(&window, "desktop-viewer-1-sign-in").await;

    fill(&window, "input[name=\"viewer-username\"]", "secretary").await;
    fill(&window, "input[name=\"viewer-password\"]", PASSWORD).await;
    submit(&window, "input[name=\"viewer-username\"]").await;
    wait_for(
        &window,
        "the viewer live",
        Duration::from_secs(30),
        &viewer_is("live"),
    )
    .await;
    wait_for_text(&window, "Before the viewer", Duration::from_secs(20)).await;

    // A webhook sent to the server shows in the window (how fast is printed, not asserted:
    // the machine is shared).
    let sent = Instant::now();
    assert_eq!(
        post_attendance_created(
            &server.webhook_url,
            SECRET,
            &record(8_800_002, 880_002, "Sent to the server")
        )
        .await,
        200
    );
    wait_for_text(&window, "Sent to the server", Duration::from_secs(20)).await;
    println!(
        "a webhook sent to the server showed in the viewer's window after {} ms",
        sent.elapsed().as_millis()
    );

    // The server stops: the window says so and keeps showing the copy, with its age.
    server.stop();
    wait_for(
        &window,
        "the viewer offline",
        Duration::from_secs(30),
        &viewer_is("offline"),
    )
    .await;
    wait_for_text(&window, "this is the copy from", Duration::from_secs(10)).await;
    wait_for_text(&window, "Copy, not live", Duration::from_secs(5)).await;
    wait_for(
        &window,
        "no DreamClass check offered on a viewer",
        Duration::from_secs(5),
        "return !document.body.innerText.includes('Missed changes');",
    )
    .await;
    wait_for_text(&window, "Sent to the server", Duration::from_secs(5)).await;
    wait_for_text(&window, "Before the viewer", Duration::from_secs(5)).await;
    screenshot(&window, "desktop-viewer-2-offline").await;

    // Back, with a change made meanwhile: caught up, nothing missing, nothing twice.
    let mut server = start_server(server_dir.path(), &server_addr, &run.logs, 2);
    assert_eq!(
        post_attendance_created(
            &server.webhook_url,
            SECRET,
            &record(8_800_003, 880_003, "While the viewer was away")
        )
        .await,
        200
    );
    wait_for(
        &window,
        "the viewer live again",
        Duration::from_secs(40),
        &viewer_is("live"),
    )
    .await;
    wait_for_text(
        &window,
        "While the viewer was away",
        Duration::from_secs(20),
    )
    .await;
    screenshot(&window, "desktop-viewer-3-caught-up").await;
    let copy = run.data.path().join("viewer").join(DATABASE_FILE);
    let on_server = seqs(&server_dir.path().join(DATABASE_FILE));
    assert_eq!(on_server.len(), 3);
    assert_eq!(
        seqs(&copy),
        on_server,
        "the copy holds the server's changes, once each"
    );

    let _ = tokio::time::timeout(Duration::from_secs(10), window.close()).await;
    driver.stop();
    server.stop();
}
