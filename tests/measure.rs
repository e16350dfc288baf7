//! Measurements of the desktop app, not pass/fail tests: how long from process start until the
//! live feed's first screen is shown, and how much memory the app takes with all its
//! processes (PSS summed over the app and its WebKit children), with an empty database and
//! with 1,000,000 stored changes, next to an empty Tauri window measured the same way.
//!
//! ```sh
//! npm --prefix ui ci && npm --prefix ui run build
//! cargo build --release -p rollcall-desktop --bin rollcall-desktop --example empty_window
//! cargo test -p rollcall-e2e --test desktop_measure -- --ignored --nocapture
//! ```
//!
//! Environment: ROLLCALL_MEASURE_PROFILE (`release`, the default, or `debug`: which build of
//! the app to measure), ROLLCALL_MEASURE_RUNS (runs per case, default 3),
//! ROLLCALL_MEASURE_CHANGES (default 1000000). The large database is built once with direct
//! SQLite inserts and cached in `target/e2e-artifacts/measure-cache/`. The file cache is warm
//! (dropping it needs privileges a test does not have): these are warm-start numbers.
//! The table is printed and saved to `target/e2e-artifacts/desktop-measurements.md`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use rollcall_e2e::desktop::{open_session, AppSetup, COMPOSITING, FEED_IS_SHOWN};
use rollcall_e2e::headless::{Headless, TauriDriver};
use rollcall_e2e::measure::{
    find_descendant_running, large_database, process_start, tree_pss_by_name, ProcessMemory,
};
use rollcall_e2e::processes::{send_sigterm, wait_until};

/// How long memory is left to settle after the window is ready.
const SETTLE: Duration = Duration::from_secs(3);

struct Case {
    label: String,
    binary: PathBuf,
    /// A database to start from, copied into the run's data folder.
    database: Option<PathBuf>,
    /// JavaScript true once the window shows what a person came for.
    ready: String,
    rollcall: bool,
    /// Set for this case only.
    env: Vec<(String, String)>,
}

struct Sample {
    ready: Duration,
    /// From process start until the page that is finally shown started loading: for
    /// Rollcall, the shell, the keyring look-up and the listeners starting.
    page_started: Duration,
    /// The local API requests of the first screen: (path, start ms, duration ms).
    api_requests: Vec<(String, u64, u64)>,
    memory: Vec<ProcessMemory>,
}

impl Sample {
    fn total_kib(&self) -> u64 {
        self.memory.iter().map(|p| p.pss).sum()
    }
}

/// What the page says about its own loading (Navigation and Resource Timing).
const PAGE_TIMING: &str = r#"return {
    origin: performance.timeOrigin,
    api: performance.getEntriesByType('resource')
        .filter(e => e.name.includes('/api/'))
        .map(e => [new URL(e.name).pathname + new URL(e.name).search,
                   Math.round(e.startTime), Math.round(e.duration)]),
};"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement (minutes); run with --ignored --nocapture"]
async fn desktop_window_ready_time_and_memory() {
    let profile = std::env::var("ROLLCALL_MEASURE_PROFILE").unwrap_or_else(|_| "release".into());
    let runs: usize = env_number("ROLLCALL_MEASURE_RUNS", 3);
    let changes: usize = env_number("ROLLCALL_MEASURE_CHANGES", 1_000_000);
    let bin_dir = rollcall_e2e::profile_dir().parent().unwrap().join(&profile);
    let build = format!(
        "cargo build {}-p rollcall-desktop --bin rollcall-desktop --example empty_window",
        if profile == "release" {
            "--release "
        } else {
            ""
        }
    );
    let app = existing(bin_dir.join("rollcall-desktop"), &build);
    let empty_window = existing(bin_dir.join("examples/empty_window"), &build);
    rollcall_e2e::desktop::ui_dist();

    let artifacts = rollcall_e2e::artifacts_dir();
    let started = Instant::now();
    let big = large_database(&artifacts.join("measure-cache"), changes);
    println!(
        "large database ready in {:.1?}: {}",
        started.elapsed(),
        big.display()
    );

    let static_ready = "return document.readyState === 'complete' \
                        && document.body.innerText.includes('Rollcall');";
    let feed_ready = format!("return location.protocol === 'http:' && ({FEED_IS_SHOWN});");
    let cases = [
        Case {
            label: "empty Tauri window (static page), WebKit's defaults".into(),
            binary: empty_window.clone(),
            database: None,
            ready: static_ready.into(),
            rollcall: false,
            // "0" keeps WebKit's default (compositing on) even if the shell says otherwise.
            env: vec![(COMPOSITING.into(), "0".into())],
        },
        Case {
            label: "empty Tauri window (static page), compositing off as Rollcall runs".into(),
            binary: empty_window,
            database: None,
            ready: static_ready.into(),
            rollcall: false,
            env: vec![(COMPOSITING.into(), "1".into())],
        },
        Case {
            label: "Rollcall, empty database".into(),
            binary: app.clone(),
            database: None,
            ready: feed_ready.clone(),
            rollcall: true,
            env: Vec::new(),
        },
        Case {
            label: format!("Rollcall, {changes} stored changes"),
            binary: app,
            database: Some(big),
            ready: feed_ready,
            rollcall: true,
            env: Vec::new(),
        },
    ];

    let logs = artifacts.join("measure-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let headless = Headless::start(&logs);
    let mut table = format!(
        "Desktop app ({profile} build), median of {runs} runs, warm file cache, Xvfb; load \
         average at start: {}.\n\n\
         | case | window ready (ms) | page load started (ms) | total PSS (MiB) | by process (MiB) |\n\
         | --- | --- | --- | --- | --- |\n",
        load_average()
    );
    let mut totals = Vec::new();
    for case in &cases {
        let mut samples = Vec::new();
        for run in 0..runs {
            let sample = measure(&headless, case, &logs).await;
            println!(
                "{} run {}: ready {} ms (page started at {} ms), {:.0} MiB; API: {:?}",
                case.label,
                run + 1,
                sample.ready.as_millis(),
                sample.page_started.as_millis(),
                mib(sample.total_kib()),
                sample.api_requests
            );
            samples.push(sample);
        }
        samples.sort_by_key(|s| s.ready);
        let ready = samples[samples.len() / 2].ready;
        let mut page_started: Vec<Duration> = samples.iter().map(|s| s.page_started).collect();
        page_started.sort();
        let page_started = page_started[page_started.len() / 2];
        let mut by_memory: Vec<&Sample> = samples.iter().collect();
        by_memory.sort_by_key(|s| s.total_kib());
        let median = by_memory[by_memory.len() / 2];
        let total = median.total_kib();
        totals.push(total);
        let parts: Vec<String> = median
            .memory
            .iter()
            .map(|p| format!("{} {:.0} (anon {:.0})", p.name, mib(p.pss), mib(p.anon)))
            .collect();
        table.push_str(&format!(
            "| {} | {} | {} | {:.0} | {} |\n",
            case.label,
            ready.as_millis(),
            page_started.as_millis(),
            mib(total),
            parts.join(", ")
        ));
    }
    let (defaults, like_rollcall, full) = (totals[0], totals[1], totals[3]);
    table.push_str(&format!(
        "\nRollcall with {changes} changes: {:.2}x an empty window with WebKit's defaults, \
         {:.2}x one drawn as Rollcall draws (aim: at most 1.15x).\n",
        full as f64 / defaults as f64,
        full as f64 / like_rollcall as f64
    ));
    table.push_str(&format!("\nLoad average at the end: {}.\n", load_average()));
    println!("\n{table}");
    std::fs::write(artifacts.join("desktop-measurements.md"), &table).unwrap();
}

/// One launch: process start to ready, then memory after [`SETTLE`], then a clean quit.
async fn measure(headless: &Headless, case: &Case, logs: &Path) -> Sample {
    let data = tempfile::tempdir().unwrap();
    if let Some(database) = &case.database {
        std::fs::copy(
            database,
            data.path().join(rollcall_core::store::DATABASE_FILE),
        )
        .unwrap();
    }
    let setup = AppSetup::new(data.path());
    let mut env = headless.env();
    env.extend(setup.env());
    env.extend(case.env.iter().cloned());
    let mut driver = TauriDriver::start(&env, logs);
    let window = open_session(driver.addr, &case.binary, &[]).await;
    let pid = find_descendant_running(driver.pid(), &case.binary)
        .expect("the launched app is below tauri-driver");
    let deadline = Instant::now() + Duration::from_secs(120);
    let ready_at = loop {
        if let Ok(serde_json::Value::Bool(true)) = window.execute(&case.ready, vec![]).await {
            break SystemTime::now();
        }
        assert!(
            Instant::now() < deadline,
            "{} was not ready within 120 s",
            case.label
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let started = process_start(pid).expect("the app's start time is known");
    let ready = ready_at.duration_since(started).unwrap_or_default();
    let timing = window
        .execute(PAGE_TIMING, vec![])
        .await
        .unwrap_or_default();
    let page_origin = SystemTime::UNIX_EPOCH
        + Duration::from_secs_f64(timing["origin"].as_f64().unwrap_or_default() / 1000.0);
    let page_started = page_origin.duration_since(started).unwrap_or_default();
    let api_requests = timing["api"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|r| {
                    let path = r[0].as_str().unwrap_or_default().to_string();
                    (path, r[1].as_u64().unwrap_or(0), r[2].as_u64().unwrap_or(0))
                })
                .collect()
        })
        .unwrap_or_default();
    tokio::time::sleep(SETTLE).await;
    let memory = tree_pss_by_name(pid);

    if case.rollcall {
        let quit = Command::new(&case.binary)
            .arg("--quit")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .status()
            .unwrap();
        assert!(quit.success());
    } else {
        send_sigterm(pid);
    }
    wait_until("the app to exit", Duration::from_secs(30), || {
        // Gone, or a zombie until WebKitWebDriver reaps it: either way its exe link is dead.
        !Path::new(&format!("/proc/{pid}/exe")).exists()
    });
    let _ = tokio::time::timeout(Duration::from_secs(10), window.close()).await;
    driver.stop();
    Sample {
        ready,
        page_started,
        api_requests,
        memory,
    }
}

fn existing(path: PathBuf, build: &str) -> PathBuf {
    assert!(
        path.is_file(),
        "{} does not exist; build it first: {build}",
        path.display()
    );
    path
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The machine's 1, 5 and 15 minute load averages: numbers taken on a busy machine are slower.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
