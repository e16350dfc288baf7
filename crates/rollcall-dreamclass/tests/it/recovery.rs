use rollcall_core::config::FileConfig;
use rollcall_core::store::{IngestOutcome, IngestWriter, DATABASE_FILE};
use rollcall_core::{AttendanceEventKind, AttendanceRecord, ChangeSource};
use rollcall_dreamclass::ApiConfig;
use serde::Deserialize;

use crate::support::*;

const PRESENT: i64 = 1;
const ABSENT: i64 = 2;
const LATE: i64 = 3;

#[tokio::test]
async fn missed_changes_are_recovered_once_and_later_webhooks_still_apply() {
    let server = FakeServer::start().await;
    let fake = &server.fake;
    let dir = tempfile::tempdir().unwrap();
    let day = today();
    // This morning's lesson, taken an hour ago, arrived by webhook.
    let an_hour_ago = now_ms() - 3_600_000;
    let a = lesson_record(1_000_001, &day, 1, PRESENT);
    let b = lesson_record(1_000_002, &day, 2, PRESENT);
    let d = lesson_record(1_000_004, &day, 4, PRESENT);
    let app = App::start(dir.path(), server.config()).await;
    for record in [&a, &b, &d] {
        fake.upsert_attendance(record.clone());
        let outcome = app
            .deliver(AttendanceEventKind::Created, record, an_hour_ago)
            .await;
        assert!(matches!(outcome, IngestOutcome::Applied(_)));
    }
    app.stop().await;

    // While Rollcall is off, teachers correct A, delete B and take C. No webhook arrives.
    let a_corrected = AttendanceRecord {
        status_id: LATE,
        comment: "bus was late".into(),
        ..a.clone()
    };
    fake.upsert_attendance(a_corrected.clone());
    assert!(fake.delete_attendance(b.id));
    let c = lesson_record(1_000_003, &day, 3, ABSENT);
    fake.upsert_attendance(c.clone());

    // Rollcall starts again while DreamClass's API is down: it keeps the gap and retries.
    fake.set_down(true);
    let writer = IngestWriter::start(&dir.path().join(DATABASE_FILE)).unwrap();
    let mut live = writer.subscribe();
    let app = App::start_with_writer(dir.path(), server.config(), writer).await;
    let failed = wait_for("a failed first try", || async {
        app.dreamclass
            .state()
            .last_recovery
            .filter(|r| !r.errors.is_empty())
    })
    .await;
    assert_eq!(failed.recovered, 0);
    assert!(
        failed.message.contains("not complete"),
        "{}",
        failed.message
    );
    assert_eq!(app.dreamclass.state().pending_gaps, 1);
    assert_eq!(app.row(a.id).unwrap().status_id, PRESENT);

    // DreamClass is back: the missed changes come in, marked recovered, live.
    fake.set_down(false);
    let state = wait_for("the gap to be recovered", || async {
        let s = app.dreamclass.state();
        (s.pending_gaps == 0
            && s.last_recovery
                .as_ref()
                .is_some_and(|r| r.errors.is_empty()))
        .then_some(s)
    })
    .await;
    let report = state.last_recovery.unwrap();
    // The gap's own day (today) and, by default, the 7 days before it.
    assert_eq!(report.dates_checked, last_days(7), "{report:?}");
    assert_eq!(
        (
            report.created,
            report.updated,
            report.deleted,
            report.unchanged,
            report.recovered
        ),
        (1, 1, 1, 1, 3),
        "{report:?}"
    );
    assert!(
        report.message.contains("recovered 3 missed changes"),
        "{}",
        report.message
    );

    let mut streamed = Vec::new();
    while streamed.len() < 3 {
        let change = tokio::time::timeout(WAIT, live.recv())
            .await
            .unwrap()
            .unwrap();
        streamed.push(change);
    }
    assert!(streamed.iter().all(|c| c.source == ChangeSource::Recovered));
    assert!(streamed
        .iter()
        .all(|c| c.request_id.starts_with("recovered:")));

    let row = app.row(a.id).unwrap();
    assert_eq!(
        (row.status_id, row.comment.as_str()),
        (LATE, "bus was late")
    );
    assert!(app.row(b.id).unwrap().deleted);
    assert_eq!(app.row(c.id).unwrap().status_id, ABSENT);
    let untouched = app.row(d.id).unwrap();
    assert!(!untouched.request_id.starts_with("recovered:"));
    let recovered: Vec<_> = app
        .changes()
        .into_iter()
        .filter(|c| c.source == ChangeSource::Recovered)
        .collect();
    assert_eq!(recovered.len(), 3);
    let deletion = recovered.iter().find(|c| c.attendance_id == b.id).unwrap();
    assert_eq!(deletion.event_type, "ATTENDANCE_DELETED");
    assert_eq!(
        (deletion.status_before, deletion.status_after),
        (Some(PRESENT), None)
    );

    // "Check for missed changes" again: nothing is applied twice.
    let changes_before = app.changes().len();
    let again = app.dreamclass.check_for_missed_changes(None).await;
    assert!(again.errors.is_empty(), "{again:?}");
    // No gap is pending any more: today only.
    assert_eq!(again.dates_checked, vec![day.clone()], "{again:?}");
    assert_eq!((again.recovered, again.unchanged), (0, 3), "{again:?}");
    assert!(
        again.message.contains("nothing was missed"),
        "{}",
        again.message
    );
    assert_eq!(app.changes().len(), changes_before);

    // A late retry of A's first webhook is older than what DreamClass reported: superseded.
    let outcome = app
        .deliver(AttendanceEventKind::Updated, &a, an_hour_ago + 1)
        .await;
    assert_eq!(outcome, IngestOutcome::Superseded);
    assert_eq!(app.row(a.id).unwrap().status_id, LATE);

    // The teacher's next change arrives by webhook and applies as usual.
    let a_again = AttendanceRecord {
        status_id: PRESENT,
        comment: String::new(),
        ..a.clone()
    };
    let outcome = app
        .deliver(AttendanceEventKind::Updated, &a_again, now_ms())
        .await;
    let IngestOutcome::Applied(change) = outcome else {
        panic!("a later webhook must apply, got {outcome:?}");
    };
    assert_eq!(change.source, ChangeSource::Webhook);
    assert_eq!(
        (change.status_before, change.status_after),
        (Some(LATE), Some(PRESENT))
    );
    assert_eq!(app.row(a.id).unwrap().status_id, PRESENT);
    // And B, deleted in DreamClass, can be created again by a later webhook.
    let outcome = app
        .deliver(AttendanceEventKind::Created, &b, now_ms())
        .await;
    assert!(matches!(outcome, IngestOutcome::Applied(_)));
    assert!(!app.row(b.id).unwrap().deleted);

    app.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn webhook_data_newer_than_the_api_answer_is_kept() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path(), server.config()).await;
    let day = today();
    // DreamClass's API still shows E as present and does not list F yet, but webhooks just
    // told Rollcall that E is absent and F was taken.
    let e = lesson_record(2_000_001, &day, 10, PRESENT);
    server.fake.upsert_attendance(e.clone());
    let e_now = AttendanceRecord {
        status_id: ABSENT,
        ..e.clone()
    };
    app.deliver(AttendanceEventKind::Created, &e_now, now_ms())
        .await;
    let f = lesson_record(2_000_002, &day, 11, LATE);
    app.deliver(AttendanceEventKind::Created, &f, now_ms())
        .await;

    let report = app.dreamclass.check_for_missed_changes(None).await;
    assert!(report.errors.is_empty(), "{report:?}");
    assert_eq!((report.recovered, report.kept_newer), (0, 2), "{report:?}");
    assert!(
        report.message.contains("kept as received"),
        "{}",
        report.message
    );
    assert_eq!(app.row(e.id).unwrap().status_id, ABSENT);
    assert!(!app.row(f.id).unwrap().deleted);
    assert!(app
        .changes()
        .iter()
        .all(|c| c.source == ChangeSource::Webhook));

    app.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn a_failed_check_reports_in_plain_words_and_changes_nothing() {
    let server = FakeServer::start().await;
    server.fake.set_token_revoked(true);
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path(), server.config()).await;
    let report = app.dreamclass.check_for_missed_changes(None).await;
    assert_eq!(report.recovered, 0);
    assert!(
        report.message.contains("token was refused (401)"),
        "{}",
        report.message
    );
    assert!(app.changes().is_empty());
    app.stop().await;
    server.stop().await;
}

/// A teacher corrects a lesson of 3 days ago while Rollcall is closed. Rollcall starts again
/// and checks the gap; returns Rollcall's record afterwards, the report of the check that
/// recovered the gap, and how many changes to that record were marked recovered.
async fn correct_three_days_ago_during_a_gap(
    config: ApiConfig,
) -> (
    rollcall_core::AttendanceRow,
    rollcall_dreamclass::RecoveryReport,
    usize,
) {
    let server = FakeServer::start().await;
    let fake = &server.fake;
    let dir = tempfile::tempdir().unwrap();
    let config = ApiConfig {
        recovery_lookback_days: config.recovery_lookback_days,
        ..server.config()
    };
    // Three days ago the lesson was taken and its webhook arrived.
    let taken = lesson_record(3_000_001, &days_ago(3), 20, PRESENT);
    let app = App::start(dir.path(), config.clone()).await;
    fake.upsert_attendance(taken.clone());
    let outcome = app
        .deliver(
            AttendanceEventKind::Created,
            &taken,
            now_ms() - 3 * 86_400_000,
        )
        .await;
    assert!(matches!(outcome, IngestOutcome::Applied(_)));
    app.stop().await;

    // Rollcall is closed; the teacher corrects that lesson. No webhook arrives.
    fake.upsert_attendance(AttendanceRecord {
        status_id: LATE,
        comment: "note from home".into(),
        ..taken.clone()
    });

    let app = App::start(dir.path(), config.clone()).await;
    let report = wait_for("the gap to be checked", || async {
        let s = app.dreamclass.state();
        (s.pending_gaps == 0).then_some(s.last_recovery).flatten()
    })
    .await;
    assert!(report.errors.is_empty(), "{report:?}");
    app.stop().await;

    // Closed and started once more: the next gap's check applies nothing twice.
    let app = App::start(dir.path(), config).await;
    let again = wait_for("the next gap to be checked", || async {
        let s = app.dreamclass.state();
        (s.pending_gaps == 0).then_some(s.last_recovery).flatten()
    })
    .await;
    assert!(again.errors.is_empty(), "{again:?}");
    assert_eq!(again.recovered, 0, "{again:?}");
    let row = app.row(taken.id).unwrap();
    let recovered = app
        .changes()
        .iter()
        .filter(|c| c.source == ChangeSource::Recovered && c.attendance_id == taken.id)
        .count();
    app.stop().await;
    server.stop().await;
    (row, report, recovered)
}

/// `[dreamclass]` from a rollcall.toml with this text, read as the server reads it.
fn dreamclass_from_file(text: &str) -> ApiConfig {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rollcall.toml"), text).unwrap();
    let file = FileConfig::load(dir.path()).unwrap();
    ApiConfig::deserialize(file.dreamclass.unwrap_or_default()).unwrap()
}

#[tokio::test]
async fn a_correction_to_an_earlier_day_made_during_a_gap_is_recovered_once() {
    let config = dreamclass_from_file("[dreamclass]\ntenant = \"x\"\n");
    assert_eq!(config.recovery_lookback_days, 7);
    let (row, report, recovered) = correct_three_days_ago_during_a_gap(config).await;
    assert_eq!(report.dates_checked, last_days(7), "{report:?}");
    assert_eq!(
        (report.updated, report.recovered, report.unchanged),
        (1, 1, 0),
        "{report:?}"
    );
    assert_eq!(
        (row.status_id, row.comment.as_str()),
        (LATE, "note from home")
    );
    assert!(row.request_id.starts_with("recovered:"), "{row:?}");
    assert_eq!(recovered, 1);
}

#[tokio::test]
async fn with_no_lookback_only_the_gap_s_own_days_are_checked() {
    let config = dreamclass_from_file("[dreamclass]\nrecovery_lookback_days = 0\n");
    assert_eq!(config.recovery_lookback_days, 0);
    let (row, report, recovered) = correct_three_days_ago_during_a_gap(config).await;
    assert_eq!(report.dates_checked, vec![today()], "{report:?}");
    assert_eq!(report.recovered, 0, "{report:?}");
    // The correction is missed: Rollcall still shows what the webhook said.
    assert_eq!((row.status_id, row.comment.as_str()), (PRESENT, ""));
    assert!(!row.request_id.starts_with("recovered:"), "{row:?}");
    assert_eq!(recovered, 0);
}
