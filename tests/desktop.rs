//! The real `rollcall-desktop` window, as the office sees it: started under Xvfb and driven
//! over WebDriver (tauri-driver + WebKitWebDriver).
//!
//! Needs: `cargo build -p rollcall-desktop` first, the built UI (`ui/dist`), and the packages
//! `xvfb xauth dbus-daemon dbus-bin webkit2gtk-driver` plus `cargo install tauri-driver --locked`.
//! Set ROLLCALL_SKIP_DESKTOP_E2E=1 to skip it (it says so loudly).
//! Screenshots and logs: `target/e2e-artifacts/`.

use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use rollcall_e2e::desktop::{
    open_session, screenshot, wait_for_text, DesktopRun, COMPOSITING, FEED_IS_SHOWN,
};
use rollcall_e2e::headless::{NotificationMonitor, TauriDriver};
use rollcall_e2e::processes::wait_until;
use rollcall_e2e::webhook::{post_attendance_created, Attendance};

/// A student id no demo or fixture uses, so its row ("Student #987654") is this delivery's.
const STUDENT: i64 = 987_654;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_shows_a_signed_delivery_live_and_quit_stops_the_listeners() {
    let Some(run) = DesktopRun::prepare("desktop") else {
        return;
    };
    // The office wants a notification when a student is marked Absent (status 2 here).
    std::fs::write(
        run.data.path().join("rollcall.toml"),
        "notify_status_ids = [2]\n",
    )
    .unwrap();
    let notifications = NotificationMonitor::start(&run.headless, &run.logs);
    // The window leaves its splash page for the UI served by the app's own local listener.
    let (mut driver, window) = run.open_window().await;
    let (app, env, setup, data, headless) =
        (&run.app, &run.env, &run.setup, &run.data, &run.headless);
    screenshot(&window, "desktop-1-started").await;

    // A delivery signed as DreamClass signs it, posted to the app's webhook listener, appears.
    let record = Attendance {
        attendance_id: 7_700_001,
        student_period_id: STUDENT,
        class_id: 731,
        course_id: 42,
        status_id: 2,
        date: chrono::Local::now().date_naive().to_string(),
        comment: "Doctor's appointment".into(),
    };
    let status = post_attendance_created(&setup.webhook_url(), &setup.secret, &record).await;
    assert_eq!(
        status, 200,
        "the app's webhook listener refused a signed delivery"
    );
    wait_for_text(
        &window,
        &format!("Student #{STUDENT}"),
        Duration::from_secs(30),
    )
    .await;
    wait_for_text(&window, "Doctor's appointment", Duration::from_secs(5)).await;
    screenshot(&window, "desktop-2-delivery-shown").await;

    // Two more absences in the same class right after: one grouped notification, not three.
    for (attendance_id, student) in [(7_700_002, STUDENT + 1), (7_700_003, STUDENT + 2)] {
        let other = Attendance {
            attendance_id,
            student_period_id: student,
            comment: String::new(),
            ..record.clone()
        };
        let status = post_attendance_created(&setup.webhook_url(), &setup.secret, &other).await;
        assert_eq!(status, 200);
    }
    let expected = "3 students marked status 2 in Class 731";
    tokio::time::timeout(Duration::from_secs(30), async {
        while !notifications
            .notifications()
            .iter()
            .any(|(_, body)| body == expected)
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "no notification {expected:?} within 30 s; sent: {:?}",
            notifications.notifications()
        )
    });
    assert_eq!(
        notifications.notifications().len(),
        1,
        "a burst of absences raises one notification"
    );

    // A second launch hands over to the running app and leaves, and the app keeps listening.
    let second = run_app(app, env, &[]).await;
    assert!(
        second.status.success(),
        "a second launch failed: {second:?}"
    );
    assert!(
        TcpStream::connect(setup.webhook_addr).is_ok(),
        "a second launch must not stop the running app"
    );

    // Quit (the tray's Quit, asked for by a launch with --quit) stops both listeners.
    quit_and_wait_for_the_ports(app, env, setup).await;
    headless.capture_screen(&rollcall_e2e::artifacts_dir().join("desktop-3-after-quit.png"));

    // Everything received was saved before the app exited.
    let db = rollcall_core::rusqlite::Connection::open(data.path().join("rollcall.db")).unwrap();
    let saved: i64 = db
        .query_row(
            "SELECT count(*) FROM changes WHERE student_period_id = ?1",
            [STUDENT],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(saved, 1, "the delivery is in the database after quit");

    // The app is gone; ending the session only tidies up WebKitWebDriver.
    let _ = tokio::time::timeout(Duration::from_secs(10), window.close()).await;
    driver.stop();
}

/// Runs the app once more with the test's environment (a second instance), up to 30 s.
/// Asks the running app to quit (as the tray's Quit does, by a launch with `--quit`) and
/// waits until both of its ports refuse connections.
async fn quit_and_wait_for_the_ports(
    app: &std::path::Path,
    env: &[(String, String)],
    setup: &rollcall_e2e::desktop::AppSetup,
) {
    let quit = run_app(app, env, &["--quit"]).await;
    assert!(
        quit.status.success(),
        "`rollcall-desktop --quit` failed: {quit:?}"
    );
    let (webhook_addr, ui_addr) = (setup.webhook_addr, setup.ui_addr);
    tokio::task::spawn_blocking(move || {
        wait_until(
            "the webhook and UI ports to refuse connections after quit",
            Duration::from_secs(20),
            || TcpStream::connect(webhook_addr).is_err() && TcpStream::connect(ui_addr).is_err(),
        )
    })
    .await
    .unwrap();
}

async fn run_app(
    app: &std::path::Path,
    env: &[(String, String)],
    args: &[&str],
) -> std::process::Output {
    let mut command = Command::new(app);
    command.args(args).envs(env.iter().map(|(k, v)| (k, v)));
    let run = tokio::task::spawn_blocking(move || command.output());
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("a second launch of the app ends within 30 s")
        .unwrap()
        .expect("the app can be launched")
}

/// The window as the app draws it on Linux, without OpenGL compositing (src-tauri/src/memory.rs):
/// it shows the live feed, a delivery arrives in it, the page goes on painting
/// (`requestAnimationFrame` runs), and the app quits cleanly. No WebDriver screenshot here (they
/// never return in this mode under Xvfb): the screen is captured from the display instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_drawn_as_shipped_shows_a_delivery_live() {
    let Some(run) = DesktopRun::prepare("desktop-shipped") else {
        return;
    };
    let run = run.as_shipped();
    let mut driver = TauriDriver::start(&run.env, &run.logs);
    let window = open_session(driver.addr, &run.app, &[]).await;
    let shot = |name: &str| {
        let path = rollcall_e2e::artifacts_dir().join(format!("desktop-shipped-{name}.png"));
        run.headless.capture_screen(&path);
        path
    };
    let until = |what: &'static str, script: String| {
        let (window, shot) = (&window, &shot);
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            loop {
                if let Ok(serde_json::Value::Bool(true)) = window.execute(&script, vec![]).await {
                    return;
                }
                if std::time::Instant::now() > deadline {
                    panic!(
                        "timed out waiting for {what}; screen: {}",
                        shot("timeout").display()
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let ui_origin = format!("http://{}/", run.setup.ui_addr);
    until(
        "the live feed",
        format!(
            "return location.href.startsWith({}) && ({FEED_IS_SHOWN});",
            serde_json::json!(ui_origin)
        ),
    )
    .await;

    let student = STUDENT + 10;
    let record = Attendance {
        attendance_id: 7_700_101,
        student_period_id: student,
        class_id: 731,
        course_id: 42,
        status_id: 1,
        date: chrono::Local::now().date_naive().to_string(),
        comment: String::new(),
    };
    let status =
        post_attendance_created(&run.setup.webhook_url(), &run.setup.secret, &record).await;
    assert_eq!(status, 200);
    until(
        "the delivery in the feed",
        format!(
            "return !!document.body && document.body.innerText.includes('Student #{student}');"
        ),
    )
    .await;

    let painted = tokio::time::timeout(
        Duration::from_secs(10),
        window.execute_async(
            "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        ),
    )
    .await;
    assert!(
        matches!(painted, Ok(Ok(serde_json::Value::Bool(true)))),
        "the page goes on painting without compositing: {painted:?}; screen: {}",
        shot("not-painting").display()
    );
    shot("feed");

    // The page's process was started by the app with compositing off (what memory.rs sets
    // shows in the environment the app gave it).
    let page_process = rollcall_e2e::measure::process_tree(driver.pid())
        .into_iter()
        .find(|pid| rollcall_e2e::measure::process_name(*pid) == "WebKitWebProces")
        .expect("the window's page runs in a WebKitWebProcess");
    let environment = std::fs::read(format!("/proc/{page_process}/environ")).unwrap();
    assert!(
        environment
            .split(|b| *b == 0)
            .any(|entry| entry == format!("{COMPOSITING}=1").as_bytes()),
        "the app turns compositing off for its page"
    );

    quit_and_wait_for_the_ports(&run.app, &run.env, &run.setup).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), window.close()).await;
    driver.stop();
}
