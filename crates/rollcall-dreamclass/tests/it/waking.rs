//! The computer sleeps with Rollcall open: the wall clock jumps ahead while the timers stand
//! still. On waking, the sleep is a gap and missed changes are asked for at once, not at the
//! next start. The jump is played on a wall clock of the test's own, never waited for.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use rollcall_core::store::{IngestOutcome, IngestWriter, DATABASE_FILE};
use rollcall_core::{AttendanceEventKind, AttendanceRecord, ChangeSource};
use rollcall_dreamclass::WallClock;

use crate::support::*;

/// How far this test's wall clock is ahead of the real one.
static AHEAD_MS: AtomicI64 = AtomicI64::new(0);

fn wall_clock() -> i64 {
    now_ms() + AHEAD_MS.load(Ordering::SeqCst)
}

#[tokio::test]
async fn after_a_sleep_missed_changes_are_asked_for_at_once() {
    let server = FakeServer::start().await;
    let fake = &server.fake;
    let dir = tempfile::tempdir().unwrap();
    let mut options = fast_options();
    options.wall_clock = WallClock(wall_clock);
    options.sleep_threshold = Duration::from_secs(60);
    let writer = IngestWriter::start(&dir.path().join(DATABASE_FILE)).unwrap();
    let app = App::start_with_options(dir.path(), server.config(), writer, options).await;
    let mut woke = app.dreamclass.subscribe_wake();
    // Nothing was missed before: no gap, and a few heartbeats of an awake computer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.dreamclass.state().pending_gaps, 0);
    assert!(woke.try_recv().is_err(), "an awake computer is not woken");

    let taken = lesson_record(5_000_001, &today(), 40, 1);
    fake.upsert_attendance(taken.clone());
    let outcome = app
        .deliver(AttendanceEventKind::Created, &taken, fake.now_ms())
        .await;
    assert!(matches!(outcome, IngestOutcome::Applied(_)), "{outcome:?}");

    // The lid is closed for 20 minutes; meanwhile a teacher corrects the lesson.
    fake.upsert_attendance(AttendanceRecord {
        status_id: 3,
        ..taken.clone()
    });
    fake.advance_clock(Duration::from_secs(1200));
    AHEAD_MS.fetch_add(1_200_000, Ordering::SeqCst);

    let event = tokio::time::timeout(WAIT, woke.recv())
        .await
        .expect("the wake-up is noticed at the next heartbeat")
        .unwrap();
    assert!(event.slept >= Duration::from_secs(1100), "{event:?}");
    let row = wait_for("the correction to be recovered", || async {
        app.row(taken.id).filter(|r| r.status_id == 3)
    })
    .await;
    assert!(row.request_id.starts_with("recovered:"), "{row:?}");
    let state = wait_for("the sleep's gap to be done", || async {
        let s = app.dreamclass.state();
        (s.pending_gaps == 0 && s.last_recovery.is_some()).then_some(s)
    })
    .await;
    let report = state.last_recovery.unwrap();
    assert_eq!(report.recovered, 1, "{report:?}");
    assert!(app
        .changes()
        .iter()
        .any(|c| c.source == ChangeSource::Recovered && c.attendance_id == taken.id));
    app.stop().await;
    server.stop().await;
}
