//! `rollcall export` (the built binary) against the local API of a server running on the same
//! data folder: the same filters give the same bytes.

// The dataset and its expected CSV are shared with rollcall-core's and rollcall-server's tests.
#[path = "../../rollcall-core/tests/support/report_dataset.rs"]
mod dataset;

use std::path::Path;
use std::process::{Command, Output};

use rollcall_server::{RunningServer, ServerConfig};

struct Running {
    server: Option<RunningServer>,
    dir: tempfile::TempDir,
    api_base: String,
    token: String,
    http: reqwest::Client,
}

/// The dataset in `dir`, with its students judged from their first day of records (it spans
/// three days; the shared expected CSV is written so, and the minimum of days is tested in
/// rollcall-core): saved in rollcall.toml as the window would.
async fn build_school(dir: &Path) {
    dataset::build(dir).await;
    std::fs::write(
        dir.join("rollcall.toml"),
        "[reports]\nchronic_min_days = 1\n",
    )
    .unwrap();
}

async fn school_with_server() -> Running {
    let dir = tempfile::tempdir().unwrap();
    build_school(dir.path()).await;
    let mut config = ServerConfig::new(dir.path().to_path_buf());
    config.settings.reports.chronic_min_days = 1;
    config.webhook_addr = "127.0.0.1:0".parse().unwrap();
    config.ui_addr = "127.0.0.1:0".parse().unwrap();
    let server = rollcall_server::start(config).await.expect("server starts");
    let info = server.info().clone();
    Running {
        server: Some(server),
        dir,
        api_base: format!("http://{}", info.ui_addr),
        token: info.token,
        http: reqwest::Client::new(),
    }
}

impl Running {
    async fn download(&self, path_and_query: &str) -> Vec<u8> {
        let response = self
            .http
            .get(format!("{}{path_and_query}", self.api_base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path_and_query}");
        response.bytes().await.unwrap().to_vec()
    }

    async fn stop(mut self) {
        self.server.take().unwrap().shutdown().await;
    }
}

/// Runs `rollcall export …` with a chosen locale (and no other locale variables).
fn rollcall(data_dir: &Path, lang: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .arg("export")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("LC_ALL")
        .env_remove("LC_NUMERIC")
        .env_remove("ROLLCALL_DATA_DIR")
        .env("LANG", lang)
        .output()
        .unwrap()
}

fn stdout_of(output: Output) -> Vec<u8> {
    assert!(
        output.status.success(),
        "rollcall failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[tokio::test]
async fn the_command_and_the_api_write_the_same_bytes() {
    let s = school_with_server().await;
    let filters: [(&[&str], &str); 4] = [
        (&[], ""),
        (
            &["--from", "2026-11-02", "--to", "2026-11-03"],
            "from=2026-11-02&to=2026-11-03",
        ),
        (
            &["--class", "34", "--course", "41"],
            "classId=34&courseId=41",
        ),
        (
            &["--status", "2", "--student", "4"],
            "statusId=2&studentPeriodId=4",
        ),
    ];
    // (flags, locale, query): Excel's separator comes from the locale on the command line and
    // from the UI (the browser's locale) in the API.
    let formats: [(&[&str], &str, &str); 5] = [
        (&[], "en_US.UTF-8", ""),
        (&["--excel"], "en_US.UTF-8", "excel=true"),
        (&["--excel"], "el_GR.UTF-8", "excel=true&separator=%3B"),
        (
            &["--excel", "--separator", ";"],
            "C",
            "excel=true&separator=;",
        ),
        (&["--separator", "tab"], "de_DE.UTF-8", "separator=tab"),
    ];
    let kinds = ["attendance", "changes", "students", "classes", "courses"];
    let mut compared = 0;
    for kind in kinds {
        for (filter_flags, filter_query) in filters {
            for (format_flags, lang, format_query) in formats {
                let mut args = vec![kind];
                args.extend(filter_flags);
                args.extend(format_flags);
                let cli = stdout_of(rollcall(s.dir.path(), lang, &args));
                let api = s
                    .download(&format!(
                        "/api/export/{kind}.csv?{filter_query}&{format_query}"
                    ))
                    .await;
                assert!(
                    cli == api,
                    "rollcall export {args:?} (LANG={lang}) differs from the API ({filter_query}&{format_query}):\n{}\n---\n{}",
                    String::from_utf8_lossy(&cli),
                    String::from_utf8_lossy(&api)
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 5 * 4 * 5);

    let cli = stdout_of(rollcall(
        s.dir.path(),
        "C",
        &["attendance", "--include-deleted", "--student", "7"],
    ));
    let api = s
        .download("/api/export/attendance.csv?includeDeleted=true&studentPeriodId=7")
        .await;
    assert_eq!(cli, api);
    let cli = stdout_of(rollcall(
        s.dir.path(),
        "C",
        &["students", "--chronic-threshold", "0.5"],
    ));
    let api = s
        .download("/api/export/students.csv?chronicThreshold=0.5")
        .await;
    assert_eq!(cli, api);
    s.stop().await;
}

#[tokio::test]
async fn the_command_writes_the_expected_csv_and_follows_the_locale_for_excel() {
    let dir = tempfile::tempdir().unwrap();
    build_school(dir.path()).await;
    let out = stdout_of(rollcall(dir.path(), "C", &["attendance"]));
    assert_eq!(String::from_utf8(out).unwrap(), dataset::ATTENDANCE_CSV);
    let out = stdout_of(rollcall(dir.path(), "C", &["courses"]));
    assert_eq!(String::from_utf8(out).unwrap(), dataset::COURSES_CSV);

    // German: semicolons and decimal commas; an explicit separator wins over the locale.
    let out = stdout_of(rollcall(dir.path(), "de_DE.UTF-8", &["classes", "--excel"]));
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("\u{feff}date;class_id;class;sessions;"),
        "{text}"
    );
    assert!(
        text.contains("\r\n2026-11-02;34;5A;4;0;3;1;0;0;0,2500;0,7500;my-school\r\n"),
        "{text}"
    );
    let out = stdout_of(rollcall(
        dir.path(),
        "de_DE.UTF-8",
        &["classes", "--excel", "--separator", ","],
    ));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("\u{feff}{}", dataset::CLASSES_CSV)
    );
    // LC_ALL wins over LANG.
    let output = Command::new(env!("CARGO_BIN_EXE_rollcall"))
        .args(["export", "classes", "--excel", "--data-dir"])
        .arg(dir.path())
        .env("LANG", "en_US.UTF-8")
        .env("LC_ALL", "fr_FR.UTF-8")
        .output()
        .unwrap();
    assert!(String::from_utf8(stdout_of(output))
        .unwrap()
        .starts_with("\u{feff}date;class_id;"));

    // -o writes the file and says how many rows.
    let file = dir.path().join("students.csv");
    let output = rollcall(dir.path(), "C", &["students", "-o", file.to_str().unwrap()]);
    assert!(output.status.success());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        dataset::STUDENTS_CSV
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("Wrote 6 rows"));
}

#[tokio::test]
async fn wrong_flags_are_refused_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    dataset::build(dir.path()).await;
    for (args, says) in [
        (&["attendance", "--from", "2026-11-31"][..], "YYYY-MM-DD"),
        (
            &["attendance", "--from", "2026-11-04", "--to", "2026-11-01"],
            "comes after",
        ),
        (
            &["students", "--chronic-threshold", "10"],
            "between 0 and 1",
        ),
        (
            &["attendance", "--separator", "ab"],
            "cannot separate columns",
        ),
        (&["pupils"], "invalid value"),
    ] {
        let output = rollcall(dir.path(), "C", args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let empty = tempfile::tempdir().unwrap();
    let output = rollcall(empty.path(), "C", &["attendance"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("There is no Rollcall database"));
}

#[tokio::test]
async fn the_command_uses_the_threshold_saved_in_settings_unless_one_is_given() {
    let s = school_with_server().await;
    let response = s
        .http
        .put(format!("{}/api/settings/reports", s.api_base))
        .bearer_auth(&s.token)
        .json(&serde_json::json!({"chronicThreshold": 0.5, "absencesPerDay": 2, "termDays": 90}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Saved from the window, used by the command: the same bytes as the window's download.
    let cli = stdout_of(rollcall(s.dir.path(), "C", &["students"]));
    let api = s.download("/api/export/students.csv").await;
    assert_eq!(cli, api);
    assert_ne!(
        String::from_utf8(cli).unwrap(),
        dataset::STUDENTS_CSV,
        "0.5 marks fewer students than the default 0.1"
    );
    // A threshold given on the command line wins over the saved one.
    let given = stdout_of(rollcall(
        s.dir.path(),
        "C",
        &["students", "--chronic-threshold", "0.1"],
    ));
    assert_eq!(String::from_utf8(given).unwrap(), dataset::STUDENTS_CSV);
    s.stop().await;
}

#[tokio::test]
async fn a_wrong_saved_threshold_stops_the_export_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    dataset::build(dir.path()).await;
    std::fs::write(
        dir.path().join("rollcall.toml"),
        "[reports]\nchronic_threshold = 10\n",
    )
    .unwrap();
    let output = rollcall(dir.path(), "C", &["students"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("chronic_threshold = 10 is not possible: write a share between 0 and 1"),
        "{stderr}"
    );
}
