//! Reports over real HTTP: CSV downloads byte for byte, the summary and alerts as JSON.

// The dataset and its expected CSV are shared with rollcall-core's and rollcall-cli's tests.
#[path = "../../../rollcall-core/tests/support/report_dataset.rs"]
mod dataset;

use rollcall_core::filter::RecordFilter;
use rollcall_core::reports::{write_report, CsvFormat, ExportOptions, ReportKind, ReportSettings};
use rollcall_core::store::{open_reader, open_writer};
use serde_json::{json, Value};

use crate::support::*;

async fn school() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    dataset::build(dir.path()).await;
    let mut config = signed_config(dir.path());
    // The dataset spans three days: its students are judged from their first day of records,
    // as the shared expected CSV was written (the minimum is tested in rollcall-core).
    config.settings.reports = judged_from_the_first_day();
    TestServer::start_in(dir, config).await
}

fn judged_from_the_first_day() -> ReportSettings {
    ReportSettings {
        chronic_min_days: 1,
        ..ReportSettings::default()
    }
}

struct Download {
    status: u16,
    content_type: String,
    disposition: String,
    body: Vec<u8>,
}

async fn download(s: &TestServer, path_and_query: &str) -> Download {
    let response = s.get(path_and_query).await;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    Download {
        status: response.status().as_u16(),
        content_type: header("content-type"),
        disposition: header("content-disposition"),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

async fn get_json(s: &TestServer, path_and_query: &str) -> (u16, Value) {
    let response = s.get(path_and_query).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// What the library writes for the same report on the same database.
fn library_bytes(
    s: &TestServer,
    kind: ReportKind,
    filter: &RecordFilter,
    options: &ExportOptions,
) -> Vec<u8> {
    let conn = open_reader(&s.db_path()).unwrap();
    let mut out = Vec::new();
    write_report(&conn, kind, filter, options, &mut out).unwrap();
    out
}

#[tokio::test]
async fn attendance_downloads_as_the_expected_csv() {
    let s = school().await;
    let d = download(&s, "/api/export/attendance.csv").await;
    assert_eq!(d.status, 200);
    assert_eq!(d.content_type, "text/csv; charset=utf-8");
    assert_eq!(
        d.disposition,
        "attachment; filename=\"rollcall-attendance.csv\""
    );
    assert_eq!(String::from_utf8(d.body).unwrap(), dataset::ATTENDANCE_CSV);

    let d = download(&s, "/api/export/students.csv").await;
    assert_eq!(String::from_utf8(d.body).unwrap(), dataset::STUDENTS_CSV);
    let d = download(&s, "/api/export/changes.csv?studentPeriodId=7").await;
    assert_eq!(
        String::from_utf8(d.body).unwrap(),
        dataset::CHANGES_STUDENT_7_CSV
    );
}

#[tokio::test]
async fn every_report_with_filters_matches_the_library_byte_for_byte() {
    let s = school().await;
    let cases = [
        (
            "from=2026-11-02&to=2026-11-03",
            RecordFilter {
                from: Some("2026-11-02".into()),
                to: Some("2026-11-03".into()),
                ..Default::default()
            },
        ),
        (
            "classId=34&courseId=41",
            RecordFilter {
                class_id: Some(34),
                course_id: Some(41),
                ..Default::default()
            },
        ),
        (
            "statusId=2&studentPeriodId=4",
            RecordFilter {
                status_id: Some(2),
                student_period_id: Some(4),
                ..Default::default()
            },
        ),
    ];
    let formats = [
        ("", CsvFormat::plain()),
        ("&excel=true&separator=%3B", CsvFormat::excel(b';')),
        ("&excel=true", CsvFormat::excel(b',')),
        (
            "&excel=false&separator=%7C",
            CsvFormat::from_options(false, Some(b'|')),
        ),
    ];
    for kind in ReportKind::ALL {
        for (query, filter) in &cases {
            for (format_query, format) in formats {
                let path = format!("/api/export/{}.csv?{query}{format_query}", kind.as_str());
                let d = download(&s, &path).await;
                // Lessons not taken are for named days: refused without one, with a sentence.
                let no_day = filter.date.is_none() && filter.from.is_none() && filter.to.is_none();
                if kind == ReportKind::LessonsNotTaken && no_day {
                    assert_eq!(d.status, 400, "{path}");
                    assert!(String::from_utf8_lossy(&d.body).contains("Choose the day"));
                    continue;
                }
                assert_eq!(d.status, 200, "{path}");
                let options = ExportOptions {
                    format,
                    settings: judged_from_the_first_day(),
                    ..Default::default()
                };
                let expected = library_bytes(&s, kind, filter, &options);
                assert_eq!(
                    String::from_utf8_lossy(&d.body),
                    String::from_utf8_lossy(&expected),
                    "{path}"
                );
                assert!(d.body.len() > 3, "{path}: at least a header");
            }
        }
    }
    let d = download(&s, "/api/export/classes.csv?from=2026-11-02&to=2026-11-03").await;
    assert_eq!(
        d.disposition,
        "attachment; filename=\"rollcall-classes-2026-11-02-to-2026-11-03.csv\""
    );
    let d = download(&s, "/api/export/students.csv?excel=true&separator=%3B").await;
    assert!(d
        .body
        .starts_with(b"\xEF\xBB\xBFstudent_period_id;student;"));
    let d = download(
        &s,
        "/api/export/attendance.csv?includeDeleted=true&studentPeriodId=7",
    )
    .await;
    let text = String::from_utf8(d.body).unwrap();
    assert!(
        text.lines().next().unwrap().ends_with(",school,deleted"),
        "{text}"
    );
    assert!(
        text.contains(",2026-11-04T07:31:00.000Z,my-school,yes\r\n"),
        "{text}"
    );
    let d = download(&s, "/api/export/students.csv?chronicThreshold=0.5").await;
    let text = String::from_utf8(d.body).unwrap();
    assert!(text.contains("\r\n5,\"O'Brien, Seán\",34; 35,"), "{text}");
    assert!(text.contains(",0.7500,0.2500,no,my-school\r\n"), "{text}");
}

#[tokio::test]
async fn wrong_exports_are_refused_with_a_sentence() {
    let s = school().await;
    let (status, body) = get_json(&s, "/api/export/pupils.csv").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_report"))
    );
    let (status, _) = get_json(&s, "/api/export/attendance").await;
    assert_eq!(status, 404);
    let (status, body) = get_json(&s, "/api/export/attendance.csv?from=2026-13-01").await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("YYYY-MM-DD"),
        "{body}"
    );
    let (status, body) = get_json(
        &s,
        "/api/export/attendance.csv?from=2026-11-04&to=2026-11-01",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = get_json(&s, "/api/export/attendance.csv?separator=ab").await;
    assert_eq!(status, 400);
    let (status, _) = get_json(&s, "/api/export/attendance.csv?classId=x").await;
    assert_eq!(status, 400);
    let (status, _) = get_json(&s, "/api/export/students.csv?chronicThreshold=2").await;
    assert_eq!(status, 400);
    let response = s
        .http
        .get(format!("{}/api/export/attendance.csv", s.api_base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "student data needs the token");
}

#[tokio::test]
async fn a_large_export_streams_whole_and_a_cancelled_one_frees_the_server() {
    let s = school().await;
    // 60,000 more records (several megabytes of CSV, many chunks), straight into the table.
    {
        let mut conn = open_writer(&s.db_path()).unwrap();
        let tx = conn.transaction().unwrap();
        let mut insert = tx
            .prepare(
                "INSERT INTO attendance (tenant, attendance_id, date, kind, class_id, course_id,
                     status_id, student_period_id, comment, deleted, event_ts, request_id, last_seq)
                 VALUES ('my-school', ?1, '2026-10-01', 'SESSION', 34, 40, 1, ?2, 'a comment, long
                     enough to make the rows wide', 0, 1790000000000, 'bulk', 0)",
            )
            .unwrap();
        for i in 0..60_000i64 {
            insert.execute([1000 + i, 4 + i % 6]).unwrap();
        }
        drop(insert);
        tx.commit().unwrap();
    }
    let d = download(&s, "/api/export/attendance.csv").await;
    let expected = library_bytes(
        &s,
        ReportKind::Attendance,
        &RecordFilter::default(),
        &ExportOptions::default(),
    );
    assert!(expected.len() > 4 * 1024 * 1024);
    assert!(
        d.body == expected,
        "the download differs from the library's export"
    );

    // Open several downloads and drop them after the first chunk.
    for _ in 0..6 {
        let mut response = s.get("/api/export/attendance.csv").await;
        assert!(response.chunk().await.unwrap().is_some());
        drop(response);
    }
    // The server still answers (the cancelled exports gave their connections back).
    let (status, _) = get_json(&s, "/api/reports/summary").await;
    assert_eq!(status, 200);
    let d = download(&s, "/api/export/classes.csv?from=2026-11-02").await;
    assert_eq!(String::from_utf8(d.body).unwrap(), dataset::CLASSES_CSV);
}

#[tokio::test]
async fn summary_has_the_shape_the_ui_draws_with_hand_counted_numbers() {
    let s = school().await;
    let (status, body) = get_json(&s, "/api/reports/summary?from=2026-11-02&to=2026-11-04").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "byClass": [
                {"tenant": "my-school", "id": 34, "name": "5A", "sessions": 8, "present": 2, "absent": 4, "late": 1, "excused": 1, "rate": 0.375},
                {"tenant": "my-school", "id": 35, "name": "6\"B\"", "sessions": 4, "present": 1, "absent": 1, "late": 0, "excused": 1, "rate": 0.25},
                {"tenant": "my-school", "id": 36, "name": null, "sessions": 2, "present": 1, "absent": 0, "late": 0, "excused": 0, "rate": 0.5},
            ],
            "byDay": [
                {"date": "2026-11-02", "absent": 5, "sessions": 6},
                {"date": "2026-11-03", "absent": 1, "sessions": 5},
                {"date": "2026-11-04", "absent": 1, "sessions": 3},
            ],
            "chronic": [
                {"tenant": "my-school", "studentPeriodId": 7, "name": "-Minus Name", "sessions": 1, "absent": 1, "rate": 1.0},
                {"tenant": "my-school", "studentPeriodId": 4, "name": "María García", "sessions": 5, "absent": 4, "rate": 0.8},
                {"tenant": "my-school", "studentPeriodId": 6, "name": "Γιώργος Παπαδόπουλος", "sessions": 2, "absent": 1, "rate": 0.5},
                {"tenant": "my-school", "studentPeriodId": 5, "name": "O'Brien, Seán", "sessions": 4, "absent": 1, "rate": 0.25},
            ],
            "threshold": 0.1,
            "tooEarly": 0,
            "minDays": 1,
        })
    );
    // One course on one day: 3 and 4 (class 34, course 41) on the 2nd.
    let (_, body) = get_json(
        &s,
        "/api/reports/summary?from=2026-11-02&to=2026-11-02&courseId=41&classId=34",
    )
    .await;
    assert_eq!(
        body["byClass"],
        json!([{"tenant": "my-school", "id": 34, "name": "5A", "sessions": 2, "present": 0, "absent": 1, "late": 1, "excused": 0, "rate": 0.5}])
    );
    assert_eq!(
        body["byDay"],
        json!([{"date": "2026-11-02", "absent": 1, "sessions": 2}])
    );
    let (status, _) = get_json(&s, "/api/reports/summary?to=yesterday").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn alerts_name_students_absent_today_and_chronically() {
    let s = school().await;
    let (status, body) = get_json(&s, "/api/alerts?date=2026-11-02").await;
    assert_eq!(status, 200);
    let alerts = body["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 5, "{body}");
    assert_eq!(
        alerts[0],
        json!({
            "at": 1_793_602_980_000i64,
            "kind": "absences_today",
            "tenant": "my-school",
            "studentPeriodId": 4,
            "name": "María García",
            "message": "María García has been absent in 2 lessons today.",
        })
    );
    let chronic: Vec<(&str, i64)> = alerts[1..]
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap(),
                a["studentPeriodId"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        chronic,
        [
            ("chronic", 7),
            ("chronic", 4),
            ("chronic", 6),
            ("chronic", 5)
        ]
    );

    // Without a date: today, local time. The dataset has nothing today, so any alert is a
    // chronic one (there are some while its days are within the last 90).
    let (status, body) = get_json(&s, "/api/alerts").await;
    assert_eq!(status, 200);
    assert!(body["alerts"].is_array());
    assert!(body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["kind"] == "chronic"));
}
