//! A correction made while Rollcall is stopped for a moment: the webhook before the stop and
//! DreamClass's answer after it are too close for their timestamps to say which is newer, so
//! recovery decides from content and checks again. Stops are played on the fake's clock
//! (`advance_clock`), never waited for.

use std::time::Duration;

use rollcall_core::store::{IngestOutcome, IngestWriter, DATABASE_FILE};
use rollcall_core::{AttendanceEventKind, AttendanceRecord, ChangeSource};
use rollcall_dreamclass::{DreamClassOptions, RecoveryReport};

use crate::support::*;

const PRESENT: i64 = 1;
const ABSENT: i64 = 2;
const LATE: i64 = 3;

fn options(recheck_after: Duration) -> DreamClassOptions {
    let mut options = fast_options();
    options.recovery.recheck_after = recheck_after;
    options
}

async fn start(dir: &std::path::Path, server: &FakeServer, recheck_after: Duration) -> App {
    let writer = IngestWriter::start(&dir.join(DATABASE_FILE)).unwrap();
    App::start_with_options(dir, server.config(), writer, options(recheck_after)).await
}

/// The report of the first check that went through after a start.
async fn first_check(app: &App) -> RecoveryReport {
    wait_for("the gap to be checked", || async {
        app.dreamclass
            .state()
            .last_recovery
            .filter(|r| r.errors.is_empty())
    })
    .await
}

/// The lesson of this test, taken by webhook (stamped by DreamClass's clock), then Rollcall
/// stops a second later.
async fn taken_then_stopped(server: &FakeServer, app: App, record: &AttendanceRecord) {
    server.fake.upsert_attendance(record.clone());
    let outcome = app
        .deliver(AttendanceEventKind::Created, record, server.fake.now_ms())
        .await;
    assert!(matches!(outcome, IngestOutcome::Applied(_)), "{outcome:?}");
    server.fake.advance_clock(Duration::from_secs(1));
    app.stop().await;
}

/// A webhook, a stop of `stop` during which the teacher corrects the lesson, and a start with
/// automatic re-checks far away: returns the first check's report and the app, running.
async fn correct_during_a_stop_of(
    stop: Duration,
    dir: &std::path::Path,
    server: &FakeServer,
) -> (RecoveryReport, App, AttendanceRecord) {
    let taken = lesson_record(4_000_001, &today(), 30, PRESENT);
    let app = start(dir, server, Duration::from_secs(3600)).await;
    taken_then_stopped(server, app, &taken).await;

    let corrected = AttendanceRecord {
        status_id: LATE,
        comment: "came in at 9:10".into(),
        ..taken.clone()
    };
    server.fake.upsert_attendance(corrected.clone());
    server.fake.advance_clock(stop);

    let app = start(dir, server, Duration::from_secs(3600)).await;
    let report = first_check(&app).await;
    // Whatever the length of the stop, Rollcall now shows what DreamClass has, and the change
    // log says what it was before.
    let row = app.row(taken.id).unwrap();
    assert_eq!(
        (row.status_id, row.comment.as_str()),
        (LATE, "came in at 9:10"),
        "{report:?}"
    );
    let recovered: Vec<_> = app
        .changes()
        .into_iter()
        .filter(|c| c.source == ChangeSource::Recovered)
        .collect();
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    let change = &recovered[0];
    assert_eq!(change.attendance_id, taken.id);
    assert_eq!(change.event_type, "ATTENDANCE_UPDATED");
    assert_eq!(
        (change.status_before, change.status_after),
        (Some(PRESENT), Some(LATE))
    );
    assert_eq!(
        (
            change.comment_before.as_deref(),
            change.comment_after.as_deref()
        ),
        (Some(""), Some("came in at 9:10"))
    );
    assert_eq!((report.recovered, report.updated), (1, 1), "{report:?}");
    assert_eq!(report.kept_newer, 0, "{report:?}");
    (report, app, corrected)
}

/// For stops shorter than the settling margin: the first check decided from content, says
/// so, and keeps the gap pending; a later check, once DreamClass's clock has passed the
/// margin, finds nothing more and ends the gap.
async fn a_short_stop_is_recovered_and_checked_again(stop: Duration) {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (report, app, _) = correct_during_a_stop_of(stop, dir.path(), &server).await;
    assert_eq!(report.decided_by_content, 1, "{report:?}");
    assert!(report.check_again, "{report:?}");
    let days = match report.dates_checked.as_slice() {
        [first, .., last] => format!("{first} to {last}"),
        _ => panic!("{report:?}"),
    };
    assert_eq!(
        report.message,
        format!(
            "Checked {days} with DreamClass: recovered 1 missed change (0 new, 1 changed, 0 \
             deleted), marked as recovered. 1 of them replaced a change received just before \
             Rollcall stopped: DreamClass's list differs from it, so DreamClass's version was \
             taken. Rollcall will check these days again in about 60 minutes to be sure."
        )
    );
    assert_eq!(
        app.dreamclass.state().pending_gaps,
        1,
        "not done while unsure"
    );

    server.fake.advance_clock(Duration::from_secs(150));
    let again = app.dreamclass.check_for_missed_changes(None).await;
    assert!(again.errors.is_empty(), "{again:?}");
    assert_eq!(
        (again.recovered, again.decided_by_content, again.check_again),
        (0, 0, false),
        "{again:?}"
    );
    assert!(again.message.contains("nothing was missed"), "{again:?}");
    assert_eq!(app.dreamclass.state().pending_gaps, 0);
    let recovered = app
        .changes()
        .iter()
        .filter(|c| c.source == ChangeSource::Recovered)
        .count();
    assert_eq!(recovered, 1, "nothing applied twice");
    app.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn a_correction_during_a_stop_of_1_s_is_recovered() {
    a_short_stop_is_recovered_and_checked_again(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_correction_during_a_stop_of_30_s_is_recovered() {
    a_short_stop_is_recovered_and_checked_again(Duration::from_secs(30)).await;
}

#[tokio::test]
async fn a_correction_during_a_stop_of_5_min_is_recovered_by_its_timestamps() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (report, app, _) =
        correct_during_a_stop_of(Duration::from_secs(300), dir.path(), &server).await;
    // DreamClass's answer is dated well after the webhook: no doubt, no second check.
    assert_eq!(
        (report.decided_by_content, report.check_again),
        (0, false),
        "{report:?}"
    );
    assert!(
        report.message.ends_with(
            "recovered 1 missed change (0 new, 1 changed, 0 deleted), marked as recovered."
        ),
        "{}",
        report.message
    );
    assert_eq!(app.dreamclass.state().pending_gaps, 0);
    app.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn the_check_again_comes_by_itself_and_ends_the_gap() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let taken = lesson_record(4_000_002, &today(), 31, PRESENT);
    let app = start(dir.path(), &server, Duration::from_millis(100)).await;
    taken_then_stopped(&server, app, &taken).await;
    let corrected = AttendanceRecord {
        status_id: ABSENT,
        ..taken.clone()
    };
    server.fake.upsert_attendance(corrected);

    let app = start(dir.path(), &server, Duration::from_millis(100)).await;
    let state = wait_for("the gap to be done", || async {
        let s = app.dreamclass.state();
        (s.pending_gaps == 0 && s.last_recovery.is_some()).then_some(s)
    })
    .await;
    let last = state.last_recovery.unwrap();
    assert!(last.message.contains("nothing was missed"), "{last:?}");
    assert_eq!(app.row(taken.id).unwrap().status_id, ABSENT);
    let recovered = app
        .changes()
        .iter()
        .filter(|c| c.source == ChangeSource::Recovered)
        .count();
    assert_eq!(recovered, 1);
    app.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn a_list_lagging_behind_the_webhook_before_the_stop_is_put_right_by_the_check_again() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let taken = lesson_record(4_000_003, &today(), 32, LATE);
    let app = start(dir.path(), &server, Duration::from_millis(100)).await;
    taken_then_stopped(&server, app, &taken).await;
    // DreamClass sent LATE, but its list still shows the lesson as present once more.
    server.fake.show_stale_version(
        AttendanceRecord {
            status_id: PRESENT,
            ..taken.clone()
        },
        1,
    );

    let app = start(dir.path(), &server, Duration::from_millis(100)).await;
    wait_for("the gap to be done", || async {
        let s = app.dreamclass.state();
        (s.pending_gaps == 0 && s.last_recovery.is_some()).then_some(s)
    })
    .await;
    assert_eq!(app.row(taken.id).unwrap().status_id, LATE);
    // The lagging list was believed for a moment, then the check again put it right; both are
    // in the change log.
    let recovered: Vec<_> = app
        .changes()
        .into_iter()
        .filter(|c| c.source == ChangeSource::Recovered)
        .map(|c| (c.status_before, c.status_after))
        .collect();
    assert_eq!(
        recovered,
        vec![(Some(LATE), Some(PRESENT)), (Some(PRESENT), Some(LATE))]
    );
    app.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn a_webhook_after_the_restart_newer_than_the_list_wins() {
    let server = FakeServer::start().await;
    let fake = &server.fake;
    let dir = tempfile::tempdir().unwrap();
    let taken = lesson_record(4_000_004, &today(), 33, PRESENT);
    let app = start(dir.path(), &server, Duration::from_secs(3600)).await;
    taken_then_stopped(&server, app, &taken).await;
    // Corrected during the stop (no webhook reaches Rollcall) ...
    fake.upsert_attendance(AttendanceRecord {
        status_id: ABSENT,
        ..taken.clone()
    });
    fake.advance_clock(Duration::from_secs(1));
    // ... and again after the restart, by webhook, while DreamClass's list still shows the
    // first correction and its API does not answer yet.
    fake.set_down(true);
    let app = start(dir.path(), &server, Duration::from_secs(3600)).await;
    let latest = AttendanceRecord {
        status_id: LATE,
        comment: "arrived with a note".into(),
        ..taken.clone()
    };
    let outcome = app
        .deliver(AttendanceEventKind::Updated, &latest, fake.now_ms())
        .await;
    assert!(matches!(outcome, IngestOutcome::Applied(_)), "{outcome:?}");
    fake.set_down(false);

    let report = first_check(&app).await;
    assert_eq!(
        (report.recovered, report.kept_newer, report.check_again),
        (0, 1, false),
        "{report:?}"
    );
    assert!(
        report.message.ends_with(
            "nothing was missed (1 record). 1 record was kept as received since Rollcall \
             started, newer than DreamClass's list."
        ),
        "{}",
        report.message
    );
    let row = app.row(taken.id).unwrap();
    assert_eq!(
        (row.status_id, row.comment.as_str()),
        (LATE, "arrived with a note")
    );
    assert_eq!(app.dreamclass.state().pending_gaps, 0);
    assert!(app
        .changes()
        .iter()
        .all(|c| c.source == ChangeSource::Webhook));
    app.stop().await;
    server.stop().await;
}
