//! The thresholds of reports and alerts saved from Settings: in rollcall.toml, used at once by
//! summaries, alerts and exports, kept across a restart; wrong values refused, nothing saved.

// The dataset is shared with rollcall-core's and rollcall-cli's tests. reports.rs includes it
// too; a second copy here keeps the two test modules independent of each other.
#[allow(clippy::duplicate_mod)]
#[path = "../../../rollcall-core/tests/support/report_dataset.rs"]
mod dataset;

use rollcall_core::config::CONFIG_FILE;
use rollcall_core::filter::RecordFilter;
use rollcall_core::reports::{write_report, CsvFormat, ExportOptions, ReportKind, ReportSettings};
use rollcall_core::store::open_reader;
use rollcall_server::launch::{KeptSecrets, LaunchOptions};
use serde_json::{json, Value};

use crate::support::*;

/// The dataset's school, started the way Rollcall starts: settings read from rollcall.toml.
async fn school_in(dir: tempfile::TempDir) -> TestServer {
    let options = LaunchOptions {
        data_dir: Some(dir.path().to_path_buf()),
        webhook_addr: Some("127.0.0.1:0".parse().unwrap()),
        ui_addr: Some("127.0.0.1:0".parse().unwrap()),
        webhook_secret: Some(SECRET.to_string()),
        ..Default::default()
    };
    let config = options
        .resolve(&KeptSecrets::default())
        .expect("settings resolve");
    TestServer::start_in(dir, config).await
}

/// The dataset's school, its students judged from their first day of records (the dataset
/// spans three days; the minimum itself is tested in rollcall-core and below).
async fn school() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    dataset::build(dir.path()).await;
    std::fs::write(
        dir.path().join(CONFIG_FILE),
        "[reports]\nchronic_min_days = 1\n",
    )
    .unwrap();
    school_in(dir).await
}

async fn put(s: &TestServer, body: &Value) -> (u16, Value) {
    let response = s
        .http
        .put(format!("{}/api/settings/reports", s.api_base))
        .bearer_auth(&s.token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn chronic_ids(summary: &Value) -> Vec<i64> {
    summary["chronic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["studentPeriodId"].as_i64().unwrap())
        .collect()
}

fn kinds(alerts: &Value) -> Vec<(String, i64)> {
    alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["studentPeriodId"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn config_text(s: &TestServer) -> String {
    std::fs::read_to_string(s.dir.path().join(CONFIG_FILE)).unwrap_or_default()
}

const SUMMARY: &str = "/api/reports/summary?from=2026-11-02&to=2026-11-04";
const ALERTS: &str = "/api/alerts?date=2026-11-02";

#[tokio::test]
async fn saved_thresholds_are_used_at_once_and_kept_after_a_restart() {
    let s = school().await;
    assert_eq!(
        s.api("/api/settings/reports").await,
        json!({"chronicThreshold": 0.1, "absencesPerDay": 2, "termDays": 90, "chronicMinDays": 1,
               "absentDaysInRow": 3, "lessonCutoff": "09:30"})
    );
    // With the defaults: four chronic students, and María absent twice on the 2nd.
    assert_eq!(chronic_ids(&s.api(SUMMARY).await), [7, 4, 6, 5]);
    let before = kinds(&s.api(ALERTS).await);
    assert!(before.contains(&("absences_today".into(), 4)), "{before:?}");

    let chosen = json!({"chronicThreshold": 0.6, "absencesPerDay": 3, "termDays": 30, "chronicMinDays": 1,
               "absentDaysInRow": 4, "lessonCutoff": "08:45"});
    let (status, body) = put(&s, &chosen).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"ok": true, "settings": chosen}));
    assert_eq!(s.api("/api/settings/reports").await, chosen);
    let saved = config_text(&s);
    assert!(
        saved.contains("[reports]\nchronic_threshold = 0.6\nabsences_per_day = 3\nterm_days = 30"),
        "{saved}"
    );
    assert!(
        saved.contains("absent_days_in_row = 4\nlesson_cutoff = \"08:45\""),
        "{saved}"
    );

    // The summary: only students absent from 60% of lessons or more.
    let summary = s.api(SUMMARY).await;
    assert_eq!(summary["threshold"], 0.6);
    assert_eq!(chronic_ids(&summary), [7, 4]);
    // A report may still choose its own threshold.
    let own = s.api(&format!("{SUMMARY}&threshold=0.1")).await;
    assert_eq!(chronic_ids(&own), [7, 4, 6, 5]);

    // The alerts: two absences in a day no longer raise one; the term is 30 days.
    let alerts = s.api(ALERTS).await;
    let after = kinds(&alerts);
    assert!(after.iter().all(|(kind, _)| kind == "chronic"), "{after:?}");
    assert!(!after.is_empty());
    assert!(alerts["alerts"][0]["message"]
        .as_str()
        .unwrap()
        .contains("over the last 30 days"));

    // The students export marks chronic absence with the saved threshold.
    let export = s
        .get("/api/export/students.csv")
        .await
        .bytes()
        .await
        .unwrap();
    let expected = |threshold: f64| {
        let options = ExportOptions {
            format: CsvFormat::from_options(false, None),
            include_deleted: false,
            settings: ReportSettings {
                chronic_threshold: threshold,
                chronic_min_days: 1,
                ..Default::default()
            },
        };
        let mut out = Vec::new();
        let conn = open_reader(&s.db_path()).unwrap();
        write_report(
            &conn,
            ReportKind::Students,
            &RecordFilter::default(),
            &options,
            &mut out,
        )
        .unwrap();
        out
    };
    assert_eq!(export.to_vec(), expected(0.6));
    assert_ne!(expected(0.6), expected(0.1), "the dataset tells them apart");

    // After a restart on the same data folder, the saved thresholds are in force.
    let dir = s.stop().await;
    let s = school_in(dir).await;
    assert_eq!(s.api("/api/settings/reports").await, chosen);
    assert_eq!(chronic_ids(&s.api(SUMMARY).await), [7, 4]);
}

#[tokio::test]
async fn wrong_thresholds_are_refused_with_a_sentence_and_nothing_is_saved() {
    let s = school().await;
    let good = json!({"chronicThreshold": 0.2, "absencesPerDay": 2, "termDays": 90, "chronicMinDays": 1,
               "absentDaysInRow": 3, "lessonCutoff": "09:30"});
    assert_eq!(put(&s, &good).await.0, 200);
    let saved = config_text(&s);

    for (body, says) in [
        (
            json!({"chronicThreshold": 10, "absencesPerDay": 2, "termDays": 90}),
            "A chronic-absence threshold of 1000% is not possible",
        ),
        (
            json!({"chronicThreshold": -0.1, "absencesPerDay": 2, "termDays": 90}),
            "choose between 0% and 100%",
        ),
        (
            json!({"chronicThreshold": 0.1, "absencesPerDay": 0, "termDays": 90}),
            "must be at least 1",
        ),
        (
            json!({"chronicThreshold": 0.1, "absencesPerDay": 2, "termDays": 0}),
            "choose between 1 and 366 days",
        ),
        (
            json!({"chronicThreshold": 0.1, "absencesPerDay": 2, "termDays": 400}),
            "A term of 400 days is not possible",
        ),
        (
            json!({"chronicThreshold": 0.1, "absencesPerDay": 2.5, "termDays": 90}),
            "whole numbers",
        ),
        (
            json!({"chronicThreshold": 0.1, "absencesPerDay": 2, "termDays": 90, "chronicMinDays": 0}),
            "after 0 days of records is not possible",
        ),
        (
            json!({"chronicThreshold": 0.1, "absencesPerDay": 2, "termDays": 90, "absentDaysInRow": 1}),
            "An alert after 1 absent school days in a row is not possible: choose between 2 and 30",
        ),
        (
            json!({"chronicThreshold": 0.1, "absencesPerDay": 2, "termDays": 90, "lessonCutoff": "9h30"}),
            "The lesson cutoff `9h30` is not a time of day",
        ),
        (
            json!({"chronicThreshold": 0.1, "absencesPerDay": 2, "termDays": 90, "lessonCutoff": "22:00"}),
            "A cutoff at 22:00 is not possible: choose a time between 05:00 and 20:00",
        ),
        (
            json!({"chronicThreshold": 0.1, "absencesPerDay": 2}),
            "were not understood",
        ),
        (json!({"chronicThreshold": "ten"}), "were not understood"),
    ] {
        let (status, answer) = put(&s, &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"], "bad_request", "{answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    assert_eq!(config_text(&s), saved, "nothing was saved");
    assert_eq!(s.api("/api/settings/reports").await, good);
    assert_eq!(s.api(SUMMARY).await["threshold"], 0.2);
}

#[tokio::test]
async fn saving_thresholds_keeps_the_other_settings() {
    let dir = tempfile::tempdir().unwrap();
    dataset::build(dir.path()).await;
    std::fs::write(
        dir.path().join(CONFIG_FILE),
        "notify_status_ids = [2]\ndelivery_retention_days = 30\n",
    )
    .unwrap();
    let s = school_in(dir).await;
    let body = json!({"chronicThreshold": 0.25, "absencesPerDay": 4, "termDays": 120});
    assert_eq!(put(&s, &body).await.0, 200);
    let file: rollcall_core::config::FileConfig = toml::from_str(&config_text(&s)).unwrap();
    assert_eq!(file.notify_status_ids, Some(vec![2]));
    assert_eq!(file.delivery_retention_days, Some(30));
    assert_eq!(
        file.report_settings().unwrap(),
        ReportSettings {
            chronic_threshold: 0.25,
            absences_per_day: 4,
            term_days: 120,
            ..ReportSettings::default()
        }
    );
}

#[tokio::test]
async fn the_days_before_judging_chronic_absence_are_a_saved_setting() {
    // A fresh school: the default of 10 days, so three days of data are too early to tell.
    let dir = tempfile::tempdir().unwrap();
    dataset::build(dir.path()).await;
    let s = school_in(dir).await;
    assert_eq!(s.api("/api/settings/reports").await["chronicMinDays"], 10);
    let summary = s.api(SUMMARY).await;
    assert_eq!(chronic_ids(&summary), Vec::<i64>::new());
    assert_eq!(
        (summary["tooEarly"].as_i64(), summary["minDays"].as_i64()),
        (Some(6), Some(10))
    );
    assert!(kinds(&s.api(ALERTS).await)
        .iter()
        .all(|(kind, _)| kind != "chronic"));
    let export = s
        .get("/api/export/students.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        export
            .lines()
            .skip(1)
            .all(|l| l.ends_with(",too early to tell,my-school")),
        "{export}"
    );

    // Two days: the students with records on two days or more are judged, and it is saved.
    let two = json!({"chronicThreshold": 0.1, "absencesPerDay": 2, "termDays": 90, "chronicMinDays": 2,
               "absentDaysInRow": 3, "lessonCutoff": "09:30"});
    let (status, body) = put(&s, &two).await;
    assert_eq!((status, &body["settings"]), (200, &two), "{body}");
    assert!(
        config_text(&s).contains("chronic_min_days = 2"),
        "{}",
        config_text(&s)
    );
    let summary = s.api(SUMMARY).await;
    assert_eq!(chronic_ids(&summary), [4, 6, 5]);
    assert_eq!(summary["tooEarly"], 3);
}
