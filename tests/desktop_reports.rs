//! Saving reports from the real `rollcall-desktop` window: Tauri's save dialog (a native GTK
//! window, filled in with xdotool as a person would), the progress bar, Cancel, and "Show in
//! folder". Needs what tests/desktop.rs needs, plus `xdotool`.

use std::time::Duration;

use rollcall_core::store::DATABASE_FILE;
use rollcall_e2e::desktop::{run_js, screenshot, wait_for, wait_for_text, DesktopRun};
use rollcall_e2e::headless::{answer_dialog, BusMonitor, DialogAnswer};
use rollcall_e2e::measure::large_database;
use rollcall_e2e::processes::wait_until;
use serde_json::json;

/// A term's worth of changes: the change log takes seconds to write, long enough to watch
/// its progress and press Cancel.
const CHANGES: usize = 240_000;
/// Students in that database (tests/support/measure.rs).
const STUDENTS: usize = 1_000;
const DIALOG_TITLE: &str = "Save the report";
const ALL_DAYS: &str = "from=2000-01-01&to=2100-12-31";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_saved_where_the_office_chooses_with_progress_cancel_and_show_in_folder() {
    let Some(run) = DesktopRun::prepare("desktop-reports") else {
        return;
    };
    let term = large_database(
        &rollcall_e2e::artifacts_dir().join("measure-cache"),
        CHANGES,
    );
    std::fs::copy(&term, run.data.path().join(DATABASE_FILE)).unwrap();
    let file_manager = BusMonitor::start(
        &run.headless,
        &run.logs,
        "file-manager.log",
        "org.freedesktop.FileManager1",
        "ShowItems",
    );
    let (mut driver, window) = run.open_window().await;
    let office = tempfile::tempdir().unwrap();

    // Any script error on the way fails the test (the Reports page once broke in WebKit only).
    run_js(
        &window,
        "window.pageErrors = []; \
         addEventListener('error', (e) => pageErrors.push(String(e.message))); \
         addEventListener('unhandledrejection', (e) => pageErrors.push(String(e.reason))); \
         return true;",
    )
    .await;
    run_js(
        &window,
        &format!("location.hash = '#/reports?{ALL_DAYS}'; return true;"),
    )
    .await;
    wait_for(
        &window,
        "the Save buttons of the desktop window",
        Duration::from_secs(30),
        "return !!document.querySelector('button[data-export=\"students\"]');",
    )
    .await;

    // 0. Closing the dialog without choosing saves nothing and leaves the buttons ready.
    click(&window, "button[data-export=\"attendance\"]").await;
    save_as(&run, None).await;
    wait_for(
        &window,
        "the page to be ready again after the dialog was closed",
        Duration::from_secs(20),
        "return !document.querySelector('[data-save-phase]') \
           && !document.querySelector('button[data-export=\"attendance\"]').disabled;",
    )
    .await;

    // 1. The per-student report, for a program other than Excel, saved where the office says.
    run_js(
        &window,
        "const box = [...document.querySelectorAll('label.choice input')][0]; \
         if (box.checked) box.click(); return true;",
    )
    .await;
    click(&window, "button[data-export=\"students\"]").await;
    let students = office.path().join("students this term.csv");
    save_as(&run, Some(&students)).await;
    wait_for(
        &window,
        "the report to be saved",
        Duration::from_secs(60),
        "return !!document.querySelector('[data-save-phase=\"saved\"]');",
    )
    .await;
    wait_for_text(
        &window,
        &format!("Saved {} rows", group_thousands(STUDENTS)),
        Duration::from_secs(5),
    )
    .await;
    screenshot(&window, "desktop-reports-1-saved").await;
    let shown_path = run_js(
        &window,
        "return document.querySelector('[data-saved-path]').dataset.savedPath;",
    )
    .await;
    assert_eq!(shown_path, json!(students.display().to_string()));
    // The file holds exactly what the same report downloads as in a browser.
    let saved = std::fs::read_to_string(&students).unwrap();
    let downloaded = fetch_in_window(
        &window,
        &format!("/api/export/students.csv?{ALL_DAYS}&excel=false"),
    )
    .await;
    assert_eq!(saved, downloaded);
    assert_eq!(
        saved.lines().count(),
        1 + STUDENTS,
        "a header and one row per student"
    );

    // 2. "Show in folder" asks the file manager (over D-Bus) to show the file. No file manager
    // runs on the test's bus, so the window says where the file is instead.
    click(&window, "[data-show-in-folder]").await;
    let uri = format!(
        "file://{}",
        students.display().to_string().replace(' ', "%20")
    );
    let calls = tokio::task::spawn_blocking(move || {
        wait_until(
            "the file manager to be asked to show the report",
            Duration::from_secs(20),
            || !file_manager.calls("ShowItems").is_empty(),
        );
        file_manager.calls("ShowItems")
    })
    .await
    .unwrap();
    assert_eq!(calls[0].first(), Some(&uri), "{calls:?}");
    wait_for_text(
        &window,
        &format!(
            "Rollcall could not open the folder. The report is saved at {}.",
            students.display()
        ),
        Duration::from_secs(20),
    )
    .await;
    // The page can show only reports the app saved, never any other path.
    let refused = invoke_in_window(
        &window,
        "show_report_in_folder",
        json!({ "path": "/etc/passwd" }),
    )
    .await;
    assert_eq!(
        refused,
        json!({ "error": "Rollcall only opens the folders of reports it saved." })
    );

    // 3. The whole change log, cancelled while it is written: nothing is left behind.
    click(&window, "button[data-export=\"changes\"]").await;
    let changes = office.path().join("changes.csv");
    save_as(&run, Some(&changes)).await;
    wait_for(
        &window,
        "the progress bar of the change log",
        Duration::from_secs(30),
        "return !!document.querySelector('[data-save-phase=\"writing\"] progress');",
    )
    .await;
    wait_for_text(
        &window,
        &format!("of {} rows", group_thousands(CHANGES)),
        Duration::from_secs(10),
    )
    .await;
    screenshot(&window, "desktop-reports-2-progress").await;
    click(&window, "[data-cancel-export]").await;
    wait_for(
        &window,
        "the save to be cancelled",
        Duration::from_secs(30),
        "return !!document.querySelector('[data-save-phase=\"cancelled\"]');",
    )
    .await;
    wait_for_text(
        &window,
        "was cancelled; nothing was saved",
        Duration::from_secs(5),
    )
    .await;
    let mut left: Vec<String> = std::fs::read_dir(office.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["students this term.csv"], "no partial file is left");
    assert_eq!(run_js(&window, "return pageErrors;").await, json!([]));

    let _ = tokio::time::timeout(Duration::from_secs(10), window.close()).await;
    driver.stop();
}

/// Answers the save dialog with `path`, or closes it when `None`.
async fn save_as(run: &DesktopRun, path: Option<&std::path::Path>) {
    let display = run.headless.display.clone();
    let path = path.map(|p| p.display().to_string());
    tokio::task::spawn_blocking(move || {
        let answer = match &path {
            Some(path) => DialogAnswer::Type(path),
            None => DialogAnswer::Dismiss,
        };
        answer_dialog(&display, DIALOG_TITLE, answer)
    })
    .await
    .unwrap();
}

async fn click(window: &fantoccini::Client, selector: &str) {
    let clicked = run_js(
        window,
        &format!(
            "const el = document.querySelector({}); if (!el || el.disabled) return false; \
             el.click(); return true;",
            json!(selector)
        ),
    )
    .await;
    assert_eq!(clicked, json!(true), "nothing to click at {selector}");
}

/// GETs `path` from the window's page, with the page's own credentials.
async fn fetch_in_window(window: &fantoccini::Client, path: &str) -> String {
    let text = window
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0], { credentials: 'same-origin' })
               .then((r) => r.text()).then(done, (e) => done('fetch failed: ' + e));",
            vec![json!(path)],
        )
        .await
        .expect("the window runs the fetch");
    text.as_str().unwrap_or_default().to_string()
}

/// Calls one of the app's commands from the page, as its code would: `{ok}` or `{error}`.
async fn invoke_in_window(
    window: &fantoccini::Client,
    command: &str,
    args: serde_json::Value,
) -> serde_json::Value {
    window
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
               .then((ok) => done({ ok }), (error) => done({ error }));",
            vec![json!(command), args],
        )
        .await
        .expect("the window runs the call")
}

/// 240000 → "240,000", as the window writes numbers.
fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
