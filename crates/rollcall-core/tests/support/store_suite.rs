//! The store's contract as tests, written once against `&dyn Store`: any backend (SQLite
//! today, PostgreSQL next) runs [`run_all`] on a fresh, empty store of its own.
//!
//! Each check uses its own tenant and ids, so they can share one store.

use std::io::Write;
use std::sync::{Arc, Mutex};

use rollcall_core::envelope::parse_body;
use rollcall_core::filter::RecordFilter;
use rollcall_core::model::StatusCategory;
use rollcall_core::reports::{ExportParams, ExportRequest, ReportSettings};
use rollcall_core::store::reference::{
    FetchedName, FetchedReference, FetchedStatus, FetchedStudent, NamedId,
};
use rollcall_core::store::{IngestOutcome, Store, VerifiedDelivery};
use rollcall_core::{AttendanceEventKind, AttendanceRecord, DeliveryOutcome, Scope};

/// Every check, in turn.
pub async fn run_all(store: &dyn Store) {
    newest_timestamp_wins_and_deletions_are_tombstones(store).await;
    a_request_id_again_is_a_duplicate_or_a_conflict(store).await;
    changes_come_after_a_sequence_in_order(store).await;
    names_round_trip(store).await;
    a_gap_runs_from_the_last_heartbeat_to_the_next_start(store).await;
    reconciling_decides_by_content_only_where_timestamps_cannot(store).await;
    retention_purges_old_deliveries_only(store).await;
    a_scope_hides_other_tenants(store).await;
}

pub fn record(id: i64, date: &str, student_period_id: i64, status_id: i64) -> AttendanceRecord {
    AttendanceRecord {
        id,
        date: date.into(),
        kind: "SESSION".into(),
        class_id: 34,
        course_id: 40,
        status_id,
        student_period_id,
        comment: String::new(),
    }
}

/// A verified delivery as the webhook listener passes it on.
pub fn delivery(
    tenant: &str,
    request_id: &str,
    kind: AttendanceEventKind,
    record: &AttendanceRecord,
    timestamp: i64,
    received_at: i64,
) -> VerifiedDelivery {
    let body = serde_json::json!({
        "id": request_uuid(request_id),
        "type": kind.event_type(),
        "tenant": tenant,
        "timestamp": timestamp,
        "signature": "not checked here",
        "data": record,
    })
    .to_string()
    .into_bytes();
    let parsed = parse_body(&body).unwrap();
    VerifiedDelivery {
        received_at,
        content_sha256: parsed.content_sha256(),
        envelope: parsed.into_envelope().unwrap(),
        raw_body: body,
    }
}

/// DreamClass request ids are UUIDs: the same label always gives the same one.
fn request_uuid(label: &str) -> String {
    let mut bytes = [0u8; 16];
    for (i, b) in label.bytes().enumerate() {
        bytes[i % 16] = bytes[i % 16].wrapping_mul(31).wrapping_add(b);
    }
    bytes[15] ^= label.len() as u8;
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn only(tenant: &str, attendance_id: i64) -> RecordFilter {
    RecordFilter {
        tenant: Some(tenant.into()),
        attendance_id: Some(attendance_id),
        ..Default::default()
    }
}

fn now() -> i64 {
    rollcall_core::model::now_ms()
}

pub async fn newest_timestamp_wins_and_deletions_are_tombstones(store: &dyn Store) {
    let (t, all) = ("order-school", Scope::all());
    let first = record(1, "2026-11-02", 4, 1);
    let older = record(1, "2026-11-02", 4, 2);
    let applied = store
        .deliver(delivery(
            t,
            "o-1",
            AttendanceEventKind::Created,
            &first,
            200,
            now(),
        ))
        .await
        .unwrap();
    assert!(matches!(applied, IngestOutcome::Applied(_)), "{applied:?}");
    let late = store
        .deliver(delivery(
            t,
            "o-2",
            AttendanceEventKind::Updated,
            &older,
            100,
            now(),
        ))
        .await
        .unwrap();
    assert_eq!(
        late,
        IngestOutcome::Superseded,
        "an older event changes nothing"
    );
    let rows = store
        .attendance(&all, &only(t, 1), false, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status_id, 1, "the newest timestamp wins");

    let deleted = store
        .deliver(delivery(
            t,
            "o-3",
            AttendanceEventKind::Deleted,
            &first,
            300,
            now(),
        ))
        .await
        .unwrap();
    assert!(matches!(deleted, IngestOutcome::Applied(_)));
    let revived = store
        .deliver(delivery(
            t,
            "o-4",
            AttendanceEventKind::Updated,
            &older,
            250,
            now(),
        ))
        .await
        .unwrap();
    assert_eq!(revived, IngestOutcome::Superseded, "the deletion is newer");
    assert!(store
        .attendance(&all, &only(t, 1), false, 10)
        .await
        .unwrap()
        .is_empty());
    let tombstone = store.attendance(&all, &only(t, 1), true, 10).await.unwrap();
    assert_eq!(tombstone.len(), 1);
    assert!(tombstone[0].deleted, "a deletion is kept as a tombstone");
    let history = store.record_history(&all, t, 1).await.unwrap();
    assert_eq!(history.len(), 2, "created, then deleted: {history:?}");
}

pub async fn a_request_id_again_is_a_duplicate_or_a_conflict(store: &dyn Store) {
    let t = "duplicate-school";
    let r = record(2, "2026-11-02", 5, 1);
    let d = delivery(t, "d-1", AttendanceEventKind::Created, &r, 100, now());
    store.deliver(d.clone()).await.unwrap();
    assert_eq!(store.deliver(d).await.unwrap(), IngestOutcome::Duplicate);
    let other = record(2, "2026-11-02", 5, 3);
    let forged = delivery(t, "d-1", AttendanceEventKind::Updated, &other, 900, now());
    assert_eq!(
        store.deliver(forged).await.unwrap(),
        IngestOutcome::Conflict
    );
    let rows = store
        .attendance(&Scope::all(), &only(t, 2), false, 10)
        .await
        .unwrap();
    assert_eq!(rows[0].status_id, 1, "a conflict changes nothing");
    let counts = store.delivery_counts().await.unwrap();
    for outcome in [DeliveryOutcome::Duplicate, DeliveryOutcome::Conflict] {
        assert!(
            counts.iter().any(|(o, n)| *o == outcome && *n >= 1),
            "{outcome:?} counted: {counts:?}"
        );
    }
}

pub async fn changes_come_after_a_sequence_in_order(store: &dyn Store) {
    let (t, all) = ("stream-school", Scope::all());
    let start = store.last_change_seq(&all).await.unwrap();
    let mut live = store.subscribe();
    for n in 0..5 {
        let r = record(100 + n, "2026-11-03", 6, 1);
        let id = format!("s-{n}");
        store
            .deliver(delivery(
                t,
                &id,
                AttendanceEventKind::Created,
                &r,
                100,
                now(),
            ))
            .await
            .unwrap();
    }
    let filter = RecordFilter {
        tenant: Some(t.into()),
        ..Default::default()
    };
    let changes = store
        .changes_after(&all, start, 100, &filter)
        .await
        .unwrap();
    let ids: Vec<i64> = changes.iter().map(|c| c.attendance_id).collect();
    assert_eq!(ids, [100, 101, 102, 103, 104]);
    assert!(
        changes.windows(2).all(|w| w[0].seq < w[1].seq),
        "in sequence order"
    );
    let page = store
        .changes_after(&all, changes[1].seq, 2, &filter)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|c| c.attendance_id).collect::<Vec<_>>(),
        [102, 103]
    );
    let latest = store.latest_changes(&all, None, 2, &filter).await.unwrap();
    assert_eq!(
        latest.iter().map(|c| c.attendance_id).collect::<Vec<_>>(),
        [104, 103]
    );
    assert_eq!(store.last_change_seq(&all).await.unwrap(), changes[4].seq);
    for expected in &changes {
        let seen = live.recv().await.unwrap();
        assert_eq!(seen.seq, expected.seq, "subscribers see changes in order");
    }
}

pub async fn names_round_trip(store: &dyn Store) {
    let all = Scope::all();
    let fetched = FetchedReference {
        statuses: Some(vec![FetchedStatus {
            id: 901,
            name: "Late".into(),
            guessed_category: StatusCategory::Late,
        }]),
        students: vec![(
            7,
            vec![FetchedStudent {
                student_period_id: 904,
                student_id: Some(1904),
                name: Some("Eleni Georgiou".into()),
                class_id: Some(931),
            }],
        )],
        classes: vec![(
            7,
            vec![FetchedName {
                id: 931,
                name: "Year 7 A".into(),
            }],
        )],
        courses: Some(vec![FetchedName {
            id: 940,
            name: "Mathematics".into(),
        }]),
    };
    assert!(store.store_reference(fetched.clone(), 1).await.unwrap());
    assert!(
        !store.store_reference(fetched, 2).await.unwrap(),
        "same names: no change"
    );
    assert!(store
        .set_status_category(901, Some(StatusCategory::Excused))
        .await
        .unwrap());
    assert!(!store.set_status_category(999_999, None).await.unwrap());
    let reference = store.reference(&all).await.unwrap();
    let status = reference.statuses.iter().find(|s| s.id == 901).unwrap();
    assert_eq!(
        status.category,
        StatusCategory::Excused,
        "the user's correction wins"
    );
    assert!(reference
        .students
        .iter()
        .any(|s| s.name == "Eleni Georgiou"));
    assert!(reference.courses.iter().any(|c| c.name == "Mathematics"));
    let names = store
        .names_of(&all, vec![NamedId::Class(931), NamedId::Class(932)])
        .await
        .unwrap();
    assert_eq!(
        names.get(&NamedId::Class(931)).map(String::as_str),
        Some("Year 7 A")
    );
    assert!(!names.contains_key(&NamedId::Class(932)));
    let known = store.known_ids(&all).await.unwrap();
    assert!(known.students.contains(&904) && known.classes.contains(&931));
}

pub async fn a_gap_runs_from_the_last_heartbeat_to_the_next_start(store: &dyn Store) {
    let before: Vec<i64> = store
        .pending_gaps()
        .await
        .unwrap()
        .iter()
        .map(|g| g.id)
        .collect();
    let (first, _) = store.begin_listening(1_000).await.unwrap();
    store.heartbeat(first, 5_000).await.unwrap();
    store.heartbeat(first, 4_000).await.unwrap();
    store.end_listening(first, 6_000).await.unwrap();
    let (_, gap) = store.begin_listening(9_000).await.unwrap();
    let gap = gap.expect("the time since the last heartbeat is a gap");
    assert_eq!((gap.from_ms, gap.to_ms), (6_000, 9_000));
    let pending = store.pending_gaps().await.unwrap();
    assert!(pending.contains(&gap) && !before.contains(&gap.id));
    store
        .mark_recovered(vec![gap.id], 10_000, "done".into())
        .await
        .unwrap();
    assert!(!store.pending_gaps().await.unwrap().contains(&gap));
}

/// `reconcile_day`'s rules: timestamps first; where they cannot order the listed version
/// against the stored one, a webhook received since `listening_since` is kept and anything
/// else gives way to the list, dated just after it (see the trait's documentation).
pub async fn reconciling_decides_by_content_only_where_timestamps_cannot(store: &dyn Store) {
    use rollcall_core::store::recovery::{DayCounts, ListedAttendance, ReconcileDay};
    use rollcall_core::ChangeSource;
    let (t, all, date) = ("reconcile-school", Scope::all(), "2026-11-09");
    let restart = 50_000;
    // (id, webhook timestamp, received at): before or after Rollcall started again.
    let stored = [
        (1, 10_000, 40_000), // just before the stop, listed otherwise: the list wins
        (2, 10_000, 60_000), // since the restart, listed otherwise: kept
        (3, 5_000, 40_000),  // older than the list: the list wins by its timestamp
        (4, 10_000, 40_000), // listed as stored: unchanged
        (5, 10_000, 40_000), // just before the stop, no longer listed: deleted
        (6, 10_000, 60_000), // since the restart, not listed yet: kept
    ];
    for (id, ts, received) in stored {
        let outcome = store
            .deliver(delivery(
                t,
                &format!("r-{id}"),
                AttendanceEventKind::Created,
                &record(id, date, 10 + id, 1),
                ts,
                received,
            ))
            .await
            .unwrap();
        assert!(matches!(outcome, IngestOutcome::Applied(_)), "{outcome:?}");
    }
    let listed = |id: i64, status_id: i64| ListedAttendance {
        id,
        date: date.into(),
        kind: Some("SESSION".into()),
        class_id: Some(34),
        course_id: Some(40),
        status_id,
        student_period_id: 10 + id,
        comment: Some(String::new()),
    };
    let day = ReconcileDay {
        tenant: t.into(),
        version_ts: 9_000,
        lesson_kind: "SESSION".into(),
        listed_ids: [1, 2, 3, 4].into_iter().collect(),
        delete_lessons: true,
        delete_daily: false,
        date: date.into(),
        records: vec![listed(1, 3), listed(2, 3), listed(3, 3), listed(4, 1)],
        check_deletions: true,
        listening_since: restart,
    };
    let counts = store.reconcile_day(day).await.unwrap();
    assert_eq!(
        counts,
        DayCounts {
            created: 0,
            updated: 2,
            deleted: 1,
            unchanged: 1,
            kept_newer: 2,
            decided_by_content: 2,
        }
    );
    let tenant_only = RecordFilter {
        tenant: Some(t.into()),
        ..Default::default()
    };
    let rows: std::collections::HashMap<i64, _> = store
        .attendance(&all, &tenant_only, true, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.attendance_id, r))
        .collect();
    let row = |id: i64| &rows[&id];
    let one = row(1);
    assert_eq!((one.status_id, one.event_ts), (3, 10_001), "{one:?}");
    assert!(one.request_id.starts_with("recovered:"));
    assert_eq!((row(2).status_id, row(2).event_ts), (1, 10_000));
    assert_eq!((row(3).status_id, row(3).event_ts), (3, 9_000));
    assert_eq!(row(4).event_ts, 10_000);
    let five = row(5);
    assert!(five.deleted && five.event_ts == 10_001, "{five:?}");
    assert!(!row(6).deleted);
    let history = store.record_history(&all, t, 1).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.source, ChangeSource::Recovered);
    assert_eq!((last.status_before, last.status_after), (Some(1), Some(3)));

    // A webhook stamped after the version it replaced still wins.
    let later = store
        .deliver(delivery(
            t,
            "r-1-later",
            AttendanceEventKind::Updated,
            &record(1, date, 11, 2),
            10_500,
            now(),
        ))
        .await
        .unwrap();
    assert!(matches!(later, IngestOutcome::Applied(_)), "{later:?}");
}

pub async fn retention_purges_old_deliveries_only(store: &dyn Store) {
    let (t, all) = ("retention-school", Scope::all());
    let long_ago = 1_000;
    let r = record(3, "2026-11-04", 7, 1);
    store
        .deliver(delivery(
            t,
            "p-1",
            AttendanceEventKind::Created,
            &r,
            100,
            long_ago,
        ))
        .await
        .unwrap();
    let purged = store.purge_deliveries_before(long_ago + 1).await.unwrap();
    assert!(purged >= 1, "the old delivery is purged");
    let log = store.deliveries(&all, None, None, 1000).await.unwrap();
    assert!(log.iter().all(|d| d.received_at > long_ago));
    let rows = store
        .attendance(&all, &only(t, 3), false, 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "attendance is kept");
}

/// A writer the test can read back after the store has taken it.
#[derive(Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub async fn a_scope_hides_other_tenants(store: &dyn Store) {
    let (north, south) = ("scope-north", "scope-south");
    let date = "2026-11-05";
    for (tenant, id) in [(north, 501), (south, 502)] {
        let r = record(id, date, 8, 1);
        let request_id = format!("{tenant}-{id}");
        store
            .deliver(delivery(
                tenant,
                &request_id,
                AttendanceEventKind::Created,
                &r,
                100,
                now(),
            ))
            .await
            .unwrap();
    }
    let day = RecordFilter {
        date: Some(date.into()),
        ..Default::default()
    };
    let scope = Scope::tenants([north]);
    let feed = store.latest_changes(&scope, None, 100, &day).await.unwrap();
    assert_eq!(
        feed.iter().map(|c| c.tenant.as_str()).collect::<Vec<_>>(),
        [north]
    );
    let everyone = store
        .latest_changes(&Scope::all(), None, 100, &day)
        .await
        .unwrap();
    assert_eq!(everyone.len(), 2);
    let caught_up = store.changes_after(&scope, 0, 100_000, &day).await.unwrap();
    assert!(caught_up.iter().all(|c| c.tenant == north));
    let rows = store.attendance(&scope, &day, true, 100).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.attendance_id).collect::<Vec<_>>(),
        [501]
    );
    assert!(store
        .record_history(&scope, south, 502)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .record_history(&scope, north, 501)
            .await
            .unwrap()
            .len(),
        1
    );
    let deliveries = store.deliveries(&scope, None, None, 1000).await.unwrap();
    assert!(deliveries
        .iter()
        .all(|d| d.tenant.as_deref() == Some(north)));
    assert!(!deliveries.is_empty());
    let nobody = Scope::tenants(Vec::<String>::new());
    assert!(store
        .latest_changes(&nobody, None, 100, &day)
        .await
        .unwrap()
        .is_empty());

    let request = ExportRequest::new(
        "attendance",
        day.clone(),
        &ExportParams::default(),
        ReportSettings::default(),
    )
    .unwrap();
    let out = SharedBuffer::default();
    let rows = store
        .export(&scope, &request, Box::new(out.clone()), None)
        .await
        .unwrap();
    assert_eq!(rows, 1, "{}", out.text());
    assert!(
        out.text().contains("501") && !out.text().contains("502"),
        "{}",
        out.text()
    );
    let out = SharedBuffer::default();
    let rows = store
        .export(&Scope::all(), &request, Box::new(out.clone()), None)
        .await
        .unwrap();
    assert_eq!(rows, 2);
}
