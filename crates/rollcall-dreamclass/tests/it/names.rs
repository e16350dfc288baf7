use rollcall_core::AttendanceEventKind;
use rollcall_dreamclass::{ApiState, Reference, StatusCategory};
use serde_json::json;

use crate::support::*;

fn has_names(r: &Reference) -> bool {
    !r.statuses.is_empty()
        && !r.students.is_empty()
        && !r.classes.is_empty()
        && !r.courses.is_empty()
}

#[tokio::test]
async fn names_resolve_and_a_notification_is_published() {
    let server = FakeServer::start().await;
    // Down at first, so that the subscription below surely precedes the names.
    server.fake.set_down(true);
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path(), server.config()).await;
    let mut notifications = app.dreamclass.subscribe_reference();
    server.fake.set_down(false);
    app.dreamclass.refresh_names();

    tokio::time::timeout(WAIT, notifications.recv())
        .await
        .expect("a reference notification")
        .unwrap();
    let reference = app.dreamclass.reference().await.unwrap();
    let school = server.fake.school();
    assert_eq!(reference.students.len(), school.students.len());
    assert_eq!(reference.classes.len(), school.classes.len());
    assert_eq!(reference.courses.len(), school.courses.len());
    let first = &school.students[0];
    let shown = reference
        .students
        .iter()
        .find(|s| s.student_period_id == first.student_period_id)
        .unwrap();
    assert_eq!(shown.name, first.full_name());
    // The guess from the name matches what the demo school means by each status.
    for status in &school.statuses {
        let shown = reference
            .statuses
            .iter()
            .find(|s| s.id == status.id)
            .unwrap();
        assert_eq!(shown.name, status.name);
        assert_eq!(
            serde_json::to_value(shown.category).unwrap(),
            serde_json::to_value(status.category).unwrap(),
            "{}",
            status.name
        );
    }
    // Every name is the school's own, under its tenant.
    assert!(reference.students.iter().all(|s| s.tenant == school.tenant));
    assert!(reference.statuses.iter().all(|s| s.tenant == school.tenant));
    // The shape of GET /api/reference.
    let json = serde_json::to_value(&reference).unwrap();
    assert_eq!(json["classes"][0]["tenant"], json!(school.tenant));
    assert_eq!(
        json["students"][0]["studentPeriodId"],
        json!(first.student_period_id)
    );
    assert!(json["statuses"][0]["category"].is_string());

    // The user corrects a category: stored, published, and kept by the next refresh.
    let late = school
        .statuses
        .iter()
        .find(|s| s.name == "Late")
        .unwrap()
        .id;
    assert!(app
        .dreamclass
        .set_status_category(school.tenant.clone(), late, Some(StatusCategory::Excused))
        .await
        .unwrap());
    tokio::time::timeout(WAIT, notifications.recv())
        .await
        .unwrap()
        .unwrap();
    let before = server.fake.request_count();
    app.dreamclass.refresh_names();
    wait_for("another refresh", || async {
        let state = app.dreamclass.state();
        (server.fake.request_count() >= before + 5 && state.error.is_none()).then_some(())
    })
    .await;
    let reference = app.dreamclass.reference().await.unwrap();
    let shown = reference.statuses.iter().find(|s| s.id == late).unwrap();
    assert_eq!(shown.category, StatusCategory::Excused);

    // A CLASS_UPDATED webhook renames a class at once.
    app.dreamclass
        .apply_webhook(
            &school.tenant,
            "CLASS_UPDATED",
            json!({"id": school.classes[0].id, "name": "Year 7 Alpha"}),
        )
        .await
        .unwrap();
    tokio::time::timeout(WAIT, notifications.recv())
        .await
        .unwrap()
        .unwrap();
    let reference = app.dreamclass.reference().await.unwrap();
    assert!(reference.classes.iter().any(|c| c.name == "Year 7 Alpha"));
    // The same webhook from another school names that school's class, not this one's.
    app.dreamclass
        .apply_webhook(
            "another-school",
            "CLASS_UPDATED",
            json!({"id": school.classes[1].id, "name": "Elsewhere"}),
        )
        .await
        .unwrap();
    let reference = app.dreamclass.reference().await.unwrap();
    let renamed: Vec<_> = reference
        .classes
        .iter()
        .filter(|c| c.name == "Elsewhere")
        .map(|c| (c.tenant.as_str(), c.id))
        .collect();
    assert_eq!(renamed, [("another-school", school.classes[1].id)]);
    assert!(reference.classes.iter().any(|c| c.tenant == school.tenant
        && c.id == school.classes[1].id
        && c.name != "Elsewhere"));

    app.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn with_the_api_down_at_start_the_app_shows_ids_until_names_arrive() {
    let server = FakeServer::start().await;
    server.fake.set_down(true);
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path(), server.config()).await;
    let mut notifications = app.dreamclass.subscribe_reference();

    // Attendance still arrives and is stored, with ids only.
    let record = lesson_record(1_000_001, &today(), 5, 2);
    let outcome = app
        .deliver(AttendanceEventKind::Created, &record, now_ms())
        .await;
    assert!(matches!(
        outcome,
        rollcall_core::store::IngestOutcome::Applied(_)
    ));
    let state: ApiState = wait_for("the API error to be shown", || async {
        let s = app.dreamclass.state();
        s.error.is_some().then_some(s)
    })
    .await;
    assert_eq!(state.error_code.as_deref(), Some("unavailable"));
    assert!(state.error.unwrap().contains("not available right now"));
    assert_eq!(app.row(record.id).unwrap().status_id, 2);
    assert!(!has_names(&app.dreamclass.reference().await.unwrap()));
    // The API was tried, and tried again (backoff), while down.
    wait_for("a retry while down", || async {
        (server.fake.request_count() >= 2).then_some(())
    })
    .await;

    // DreamClass comes back: names fill in by themselves, and the UI is told.
    server.fake.set_down(false);
    tokio::time::timeout(WAIT, notifications.recv())
        .await
        .unwrap()
        .unwrap();
    let reference = app.dreamclass.reference().await.unwrap();
    assert!(has_names(&reference));
    let student = reference
        .students
        .iter()
        .find(|s| s.student_period_id == 5)
        .unwrap();
    assert_eq!(student.name, server.fake.school().students[4].full_name());
    let state = wait_for("the error to clear", || async {
        let s = app.dreamclass.state();
        s.last_success_at.is_some().then_some(s)
    })
    .await;
    assert_eq!(state.error, None);

    app.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_id_in_a_new_change_asks_the_api_again() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path(), server.config()).await;
    wait_for("names", || async {
        app.dreamclass
            .state()
            .last_success_at
            .is_some()
            .then_some(())
    })
    .await;
    let after_first = server.fake.request_count();

    // A change for an enrolment DreamClass has not told us about: the resolver asks again.
    let mut record = lesson_record(1_000_002, &today(), 6, 1);
    record.student_period_id = 99_999;
    app.deliver(AttendanceEventKind::Created, &record, now_ms())
        .await;
    wait_for("a refresh for the unknown id", || async {
        (server.fake.request_count() > after_first).then_some(())
    })
    .await;

    app.stop().await;
    server.stop().await;
}
