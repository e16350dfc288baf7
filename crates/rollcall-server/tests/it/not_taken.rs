//! Lessons not taken by the cutoff over real HTTP: the Today board's list, the once-per-day
//! notice on the live stream (with a clock the test moves), and the CSV export.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;
use rollcall_server::lesson_cutoff::LocalClock;
use serde_json::{json, Value};

use crate::support::*;

/// Monday 30 November 2026 at `time`, local time.
fn monday_at(time: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(&format!("2026-11-30 {time}"), "%Y-%m-%d %H:%M").unwrap()
}

fn lesson(id: i64, date: &str, class_id: i64, course_id: i64) -> Value {
    json!({
        "id": id, "date": date, "type": "SESSION", "classId": class_id, "comment": "",
        "courseId": course_id, "statusId": 1, "studentPeriodId": 4
    })
}

/// A server whose clock reads `now`, checking the cutoff every 50 ms, with last Monday's
/// three lessons and one of them taken today.
async fn school(now: Arc<Mutex<NaiveDateTime>>) -> TestServer {
    let s = TestServer::start_with(|dir| {
        let mut config = signed_config(dir);
        config.clock = LocalClock::shared(now);
        config.cutoff_check_every = Duration::from_millis(50);
        config
    })
    .await;
    for (id, date, class_id, course_id) in [
        (1, "2026-11-23", 34, 40),
        (2, "2026-11-23", 34, 41),
        (3, "2026-11-23", 35, 40),
        (4, "2026-11-30", 34, 40),
    ] {
        let body = attendance(
            "ATTENDANCE_CREATED",
            &new_id(),
            now_ms() - 1000,
            lesson(id, date, class_id, course_id),
        );
        assert_eq!(s.post(&body).await.0, 200);
    }
    s
}

fn lessons(view: &Value) -> Vec<(i64, i64, String)> {
    view["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["classId"].as_i64().unwrap(),
                l["courseId"].as_i64().unwrap(),
                l["lastTaken"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn after_the_cutoff_the_lessons_without_attendance_are_listed_notified_once_and_exported() {
    let now = Arc::new(Mutex::new(monday_at("09:00")));
    let s = school(now.clone()).await;
    let mut stream = SseReader::open(&s, "", None).await;

    // Before the cutoff: the lessons still to be taken, the cutoff not passed.
    let view = s.api("/api/reports/not-taken").await;
    assert_eq!(view["date"], "2026-11-30");
    assert_eq!(view["cutoff"], "09:30");
    assert_eq!(view["cutoffPassed"], false);
    assert_eq!(view["schoolDay"], true);
    assert!(view["inferred"].as_str().unwrap().contains("inferred"));
    let expected = vec![
        (34, 41, "2026-11-23".to_string()),
        (35, 40, "2026-11-23".to_string()),
    ];
    assert_eq!(lessons(&view), expected);

    // The cutoff passes: one notice on the stream.
    *now.lock().unwrap() = monday_at("09:30");
    let notice = next_not_taken(&mut stream).await;
    assert_eq!(notice["date"], "2026-11-30");
    assert_eq!(notice["count"], 2);
    assert_eq!(
        notice["message"],
        "By 09:30, 2 lessons have no attendance yet today: Class 34 · Course 41 and Class 35 \
         · Course 40. Expected from earlier weeks (inferred); see Today."
    );
    assert_eq!(s.api("/api/reports/not-taken").await["cutoffPassed"], true);
    // Later the same day: no second notice (other events may come; none of this kind).
    *now.lock().unwrap() = monday_at("11:00");
    assert_no_not_taken(&mut stream, Duration::from_millis(600)).await;

    // A lesson taken now leaves the list.
    let body = attendance(
        "ATTENDANCE_CREATED",
        &new_id(),
        now_ms() - 1000,
        lesson(5, "2026-11-30", 35, 40),
    );
    assert_eq!(s.post(&body).await.0, 200);
    let view = s.api("/api/reports/not-taken?date=2026-11-30").await;
    assert_eq!(lessons(&view), expected[..1]);

    // The export says what is inferred.
    let csv = s
        .get("/api/export/lessons-not-taken.csv?date=2026-11-30")
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("rollcall-lessons-not-taken-2026-11-30.csv"));
    assert_eq!(
        csv.text().await.unwrap(),
        "date,weekday,school,class_id,class,course_id,course,expected_inferred_from\r\n\
         2026-11-30,Mon,my-school,34,,41,,attendance on 2026-11-23 (same weekday); no timetable \
         from DreamClass\r\n"
    );
    let refused = s.get("/api/export/lessons-not-taken.csv").await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("Choose the day"));
}

#[tokio::test]
async fn a_later_cutoff_chosen_the_same_day_is_told_again_at_its_time() {
    let now = Arc::new(Mutex::new(monday_at("09:00")));
    let s = school(now.clone()).await;
    let mut stream = SseReader::open(&s, "", None).await;
    // The clock jumps past the cutoff (a computer waking up): told at once.
    *now.lock().unwrap() = monday_at("09:45");
    assert_eq!(next_not_taken(&mut stream).await["cutoff"], "09:30");
    let body = json!({"chronicThreshold": 0.1, "absencesPerDay": 2, "termDays": 90,
                      "lessonCutoff": "10:15"});
    let response = s
        .http
        .put(format!("{}/api/settings/reports", s.api_base))
        .bearer_auth(&s.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_no_not_taken(&mut stream, Duration::from_millis(400)).await;
    *now.lock().unwrap() = monday_at("10:15");
    let notice = next_not_taken(&mut stream).await;
    assert_eq!(
        (notice["cutoff"].as_str(), notice["count"].as_i64()),
        (Some("10:15"), Some(2))
    );
}

async fn next_not_taken(stream: &mut SseReader) -> Value {
    loop {
        let event = stream.next_event().await;
        if event.name == "lessonsNotTaken" {
            return serde_json::from_str(&event.data).unwrap();
        }
    }
}

/// No `lessonsNotTaken` event for `wait`.
async fn assert_no_not_taken(stream: &mut SseReader, wait: Duration) {
    let found = tokio::time::timeout(wait, next_not_taken(stream)).await;
    assert!(found.is_err(), "a second notice: {found:?}");
}

#[tokio::test]
async fn a_school_with_its_own_cutoff_is_told_at_its_time_in_a_notice_that_names_it() {
    use crate::schools::{
        north, post_to, schools_config, south, url_of, NORTH_SECRET, SOUTH_SECRET,
    };
    use rollcall_core::{KeyEncoding, SigningKey};
    let now = Arc::new(Mutex::new(monday_at("07:30")));
    let clock = now.clone();
    let mut schools = vec![north(), south()];
    schools[1].reports = Some(rollcall_core::reports::ReportSettings {
        lesson_cutoff: rollcall_core::reports::LessonCutoff::at(8, 0).unwrap(),
        ..Default::default()
    });
    let s = TestServer::start_with(move |dir| {
        let mut config = schools_config(dir, schools);
        config.clock = LocalClock::shared(clock);
        config.cutoff_check_every = Duration::from_millis(50);
        config
    })
    .await;
    // Each school had two lessons last Monday, and one of them is taken today.
    for (school, secret, id, date, course) in [
        ("north", NORTH_SECRET, 1, "2026-11-23", 40),
        ("north", NORTH_SECRET, 2, "2026-11-23", 41),
        ("north", NORTH_SECRET, 3, "2026-11-30", 40),
        ("south", SOUTH_SECRET, 1, "2026-11-23", 40),
        ("south", SOUTH_SECRET, 2, "2026-11-23", 41),
        ("south", SOUTH_SECRET, 3, "2026-11-30", 40),
    ] {
        let request_id = new_id();
        let body = json!({
            "id": request_id, "data": lesson(id, date, 34, course),
            "type": "ATTENDANCE_CREATED", "tenant": format!("{school}-tenant"),
            "signature": SigningKey::new(secret, KeyEncoding::Text).unwrap().sign(&request_id),
            "timestamp": now_ms() - 1000,
        });
        assert_eq!(post_to(&s, &url_of(&s, school), &body).await.0, 200);
    }
    let mut stream = SseReader::open(&s, "", None).await;
    // South's cutoff (08:00) passes: South alone, named.
    *now.lock().unwrap() = monday_at("08:15");
    let notice = next_not_taken(&mut stream).await;
    assert_eq!(notice["cutoff"], "08:00");
    assert_eq!(notice["count"], 1);
    let message = notice["message"].as_str().unwrap();
    assert!(
        message.starts_with("South High: By 08:00, 1 lesson"),
        "{message}"
    );
    // South's board says its own cutoff passed; North's not yet.
    let south_view = s.api("/api/reports/not-taken?tenant=south-tenant").await;
    assert_eq!(
        (
            south_view["cutoff"].as_str(),
            south_view["cutoffPassed"].as_bool()
        ),
        (Some("08:00"), Some(true))
    );
    let north_view = s.api("/api/reports/not-taken?tenant=north-tenant").await;
    assert_eq!(
        (
            north_view["cutoff"].as_str(),
            north_view["cutoffPassed"].as_bool()
        ),
        (Some("09:30"), Some(false))
    );
    assert_no_not_taken(&mut stream, Duration::from_millis(400)).await;
    // The installation's cutoff (09:30): North, the school without its own.
    *now.lock().unwrap() = monday_at("09:30");
    let notice = next_not_taken(&mut stream).await;
    assert_eq!(notice["cutoff"], "09:30");
    assert_eq!(notice["count"], 1, "North's lesson only: {notice}");
    assert!(
        notice["message"].as_str().unwrap().starts_with("By 09:30"),
        "{notice}"
    );
}
