//! The store's contract as tests, written once against `&dyn Store`: any backend (SQLite
//! today, PostgreSQL next) runs [`run_all`] on a fresh, empty store of its own.
//!
//! Each check uses its own tenant and ids, so they can share one store.

use std::io::Write;
use std::sync::{Arc, Mutex};

use rollcall_core::envelope::parse_body;
use rollcall_core::filter::RecordFilter;
use rollcall_core::model::StatusCategory;
use rollcall_core::reports::{AlertKind, ClassRate, DayAbsences};
use rollcall_core::reports::{ExportParams, ExportRequest, ReportSettings};
use rollcall_core::store::reference::{
    FetchedName, FetchedReference, FetchedStatus, FetchedStudent, NamedId, ReferenceUpdate,
    ReferenceWebhookEffect,
};
use rollcall_core::store::{
    IngestOutcome, RecheckRange, RecheckResult, RejectedDelivery, Store, VerifiedDelivery,
};
use rollcall_core::{AttendanceEventKind, AttendanceRecord, DeliveryOutcome, Scope};

#[path = "accounts_suite.rs"]
mod accounts_suite;

/// Every check, in turn.
pub async fn run_all(store: &dyn Store) {
    newest_timestamp_wins_and_deletions_are_tombstones(store).await;
    a_request_id_again_is_a_duplicate_or_a_conflict(store).await;
    deliveries_arriving_together_decide_as_one_at_a_time(store).await;
    changes_come_after_a_sequence_in_order(store).await;
    names_round_trip(store).await;
    a_gap_runs_from_the_last_heartbeat_to_the_next_start(store).await;
    reconciling_decides_by_content_only_where_timestamps_cannot(store).await;
    retention_purges_old_deliveries_only(store).await;
    a_scope_hides_other_tenants(store).await;
    reference_webhooks_change_the_names(store).await;
    reports_give_the_same_numbers_and_bytes(store).await;
    // After the reports: it uses their status names (801 Present, 802 Absent, 804 Excused).
    lessons_not_taken_and_absent_days_in_a_row(store).await;
    // After the reports too: the same status names.
    schools_are_kept_apart_in_reports(store).await;
    refused_deliveries_are_rechecked_once(store).await;
    purging_a_school_removes_its_rows_only(store).await;
    accounts_suite::accounts_sessions_and_the_audit_log(store).await;
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

/// Deliveries queued together (one group commit) are decided in arrival order, exactly as
/// one at a time: a repeat of a request id in the same batch is a duplicate or a conflict,
/// and several versions of one record leave the newest.
pub async fn deliveries_arriving_together_decide_as_one_at_a_time(store: &dyn Store) {
    let t = "batch-school";
    let v = |status| record(7, "2026-10-20", 9, status);
    let first = delivery(t, "b-1", AttendanceEventKind::Created, &v(1), 100, now());
    let again = first.clone();
    let mut forged = delivery(t, "b-1", AttendanceEventKind::Created, &v(3), 100, now());
    forged.content_sha256 = "something else".into();
    let newer = delivery(t, "b-2", AttendanceEventKind::Updated, &v(2), 200, now());
    let stale = delivery(t, "b-3", AttendanceEventKind::Updated, &v(4), 150, now());
    let other = delivery(
        t,
        "b-4",
        AttendanceEventKind::Created,
        &record(8, "2026-10-20", 10, 1),
        100,
        now(),
    );
    let outcomes = futures::future::join_all(
        [first, again, forged, newer, stale, other]
            .into_iter()
            .map(|d| store.deliver(d)),
    )
    .await;
    let kinds: Vec<_> = outcomes
        .into_iter()
        .map(|o| o.unwrap().delivery_outcome())
        .collect();
    assert_eq!(
        kinds,
        [
            DeliveryOutcome::Applied,
            DeliveryOutcome::Duplicate,
            DeliveryOutcome::Conflict,
            DeliveryOutcome::Applied,
            DeliveryOutcome::Superseded,
            DeliveryOutcome::Applied,
        ]
    );
    let history = store.record_history(&Scope::all(), t, 7).await.unwrap();
    let statuses: Vec<_> = history
        .iter()
        .map(|c| (c.status_before, c.status_after))
        .collect();
    assert_eq!(
        statuses,
        [(None, Some(1)), (Some(1), Some(2))],
        "before/after chain"
    );
    assert!(history[0].seq < history[1].seq);
    let rows = store
        .attendance(&Scope::all(), &only(t, 7), false, 10)
        .await
        .unwrap();
    assert_eq!(rows[0].status_id, 2, "the newest version stays");
    assert_eq!(rows[0].last_seq, history[1].seq);
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
        tenant: NAMES_TENANT.into(),
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
        .set_status_category(NAMES_TENANT.into(), 901, Some(StatusCategory::Excused))
        .await
        .unwrap());
    assert!(!store
        .set_status_category(NAMES_TENANT.into(), 999_999, None)
        .await
        .unwrap());
    assert!(
        !store
            .set_status_category("names-elsewhere".into(), 901, None)
            .await
            .unwrap(),
        "status 901 of another school is not this one's"
    );
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
        .names_of(
            &all,
            NAMES_TENANT.into(),
            vec![NamedId::Class(931), NamedId::Class(932)],
        )
        .await
        .unwrap();
    assert_eq!(
        names.get(&NamedId::Class(931)).map(String::as_str),
        Some("Year 7 A")
    );
    assert!(!names.contains_key(&NamedId::Class(932)));
    let elsewhere = store
        .names_of(&all, "names-elsewhere".into(), vec![NamedId::Class(931)])
        .await
        .unwrap();
    assert!(
        elsewhere.is_empty(),
        "class 931 has a name in its own school only"
    );
    let hidden = store
        .names_of(
            &Scope::tenants(["names-elsewhere"]),
            NAMES_TENANT.into(),
            vec![NamedId::Class(931)],
        )
        .await
        .unwrap();
    assert!(hidden.is_empty(), "a reader of another school gets no name");
    let known = store.known_ids(&all).await.unwrap();
    let school = &known.schools[NAMES_TENANT];
    assert!(school.students.contains(&904) && school.classes.contains(&931));

    // The same ids in another school are another school's: its own names, and a reader of
    // one school sees only that school's.
    let other = FetchedReference {
        tenant: "names-elsewhere".into(),
        classes: vec![(
            7,
            vec![FetchedName {
                id: 931,
                name: "Elsewhere 7".into(),
            }],
        )],
        ..Default::default()
    };
    assert!(store.store_reference(other, 3).await.unwrap());
    let mine = store
        .reference(&Scope::tenants([NAMES_TENANT]))
        .await
        .unwrap();
    let classes: Vec<_> = mine
        .classes
        .iter()
        .filter(|c| c.id == 931)
        .map(|c| (c.tenant.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(classes, [(NAMES_TENANT, "Year 7 A")]);
    assert!(mine.statuses.iter().all(|s| s.tenant == NAMES_TENANT));
    let theirs = store
        .reference(&Scope::tenants(["names-elsewhere"]))
        .await
        .unwrap();
    assert_eq!(theirs.classes.len(), 1);
    assert_eq!(theirs.classes[0].name, "Elsewhere 7");
    assert!(theirs.students.is_empty() && theirs.statuses.is_empty());
}

/// The school of [`names_round_trip`].
const NAMES_TENANT: &str = "names-school";

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

/// The school of [`reference_webhooks_change_the_names`].
const WEBHOOK_NAMES_TENANT: &str = "webhook-names-school";

pub async fn reference_webhooks_change_the_names(store: &dyn Store) {
    let all = Scope::all();
    let enrolled = store
        .apply_reference_update(
            WEBHOOK_NAMES_TENANT.into(),
            ReferenceUpdate::StudentPeriod {
                id: 1201,
                student_id: Some(2201),
                name: None,
                active: true,
                deleted: false,
            },
            1,
        )
        .await
        .unwrap();
    assert_eq!(
        enrolled,
        ReferenceWebhookEffect {
            names_changed: false,
            unknown_name: true
        },
        "a new enrolment has no name yet"
    );
    let class = |name: Option<&str>, deleted| ReferenceUpdate::Class {
        id: 1203,
        name: name.map(String::from),
        school_period_id: Some(7),
        deleted,
    };
    let named = store
        .apply_reference_update(
            WEBHOOK_NAMES_TENANT.into(),
            class(Some("Year 9 C"), false),
            2,
        )
        .await
        .unwrap();
    assert!(named.names_changed && !named.unknown_name);
    let again = store
        .apply_reference_update(
            WEBHOOK_NAMES_TENANT.into(),
            class(Some("Year 9 C"), false),
            3,
        )
        .await
        .unwrap();
    assert!(!again.names_changed, "the same name again is no change");
    let joined = store
        .apply_reference_update(
            WEBHOOK_NAMES_TENANT.into(),
            ReferenceUpdate::StudentClass {
                student_period_id: 1201,
                class_id: 1203,
                deleted: false,
            },
            4,
        )
        .await
        .unwrap();
    assert!(joined.unknown_name, "the student still has no name");
    let renamed = store
        .apply_reference_update(
            WEBHOOK_NAMES_TENANT.into(),
            ReferenceUpdate::StudentPeriod {
                id: 1201,
                student_id: None,
                name: Some("Nikos Pappas".into()),
                active: true,
                deleted: false,
            },
            5,
        )
        .await
        .unwrap();
    assert_eq!(
        renamed,
        ReferenceWebhookEffect {
            names_changed: true,
            unknown_name: false
        }
    );
    // A deleted class keeps its name: old attendance still refers to it.
    store
        .apply_reference_update(WEBHOOK_NAMES_TENANT.into(), class(None, true), 6)
        .await
        .unwrap();
    let unnamed = store
        .apply_reference_update(
            WEBHOOK_NAMES_TENANT.into(),
            ReferenceUpdate::Class {
                id: 1204,
                name: None,
                school_period_id: None,
                deleted: false,
            },
            7,
        )
        .await
        .unwrap();
    assert!(unnamed.unknown_name);
    let reference = store.reference(&all).await.unwrap();
    assert!(reference
        .classes
        .iter()
        .any(|c| c.id == 1203 && c.name == "Year 9 C"));
    assert!(!reference.classes.iter().any(|c| c.id == 1204));
    assert!(reference
        .students
        .iter()
        .any(|s| s.student_period_id == 1201 && s.name == "Nikos Pappas"));
    let known = store.known_ids(&all).await.unwrap();
    let known = &known.schools[WEBHOOK_NAMES_TENANT];
    assert!(known.students.contains(&1201) && known.classes.contains(&1203));
    assert!(!known.classes.contains(&1204));
    assert!(store.attendance_has_unknown_ids(&all).await.unwrap());
}

/// The reports' small known school: names with a comma and a formula-like start, a student
/// and a class without a name, a status Rollcall has no name for.
const REPORTS_TENANT: &str = "reports-school";
const T0: i64 = 1_791_187_200_000; // 2026-10-05T08:00:00Z

/// The four statuses the report checks use (each school has its own): 801 Present,
/// 802 Absent, 803 Late, 804 Excused.
fn four_statuses() -> Option<Vec<FetchedStatus>> {
    Some(
        [
            (801, "Present", StatusCategory::Present),
            (802, "Absent", StatusCategory::Absent),
            (803, "Late", StatusCategory::Late),
            (804, "Excused", StatusCategory::Excused),
        ]
        .into_iter()
        .map(|(id, name, guessed_category)| FetchedStatus {
            id,
            name: name.into(),
            guessed_category,
        })
        .collect(),
    )
}

async fn a_small_school(store: &dyn Store) {
    let names = FetchedReference {
        tenant: REPORTS_TENANT.into(),
        statuses: four_statuses(),
        students: vec![(
            8,
            [(811, Some("Ana Silva")), (812, Some("=Bob")), (813, None)]
                .into_iter()
                .map(|(student_period_id, name)| FetchedStudent {
                    student_period_id,
                    student_id: None,
                    name: name.map(String::from),
                    class_id: None,
                })
                .collect(),
        )],
        classes: vec![(
            8,
            vec![FetchedName {
                id: 821,
                name: "Year 8, B".into(),
            }],
        )],
        courses: Some(vec![FetchedName {
            id: 831,
            name: "History".into(),
        }]),
    };
    store.store_reference(names, 1).await.unwrap();
    // (attendance id, date, class, student, status, comment)
    let records = [
        (7001, "2026-10-05", 821, 811, 801, ""),
        (7002, "2026-10-05", 821, 812, 802, "-sick"),
        (7003, "2026-10-05", 822, 811, 803, ""),
        (7004, "2026-10-06", 821, 812, 804, ""),
        (7005, "2026-10-06", 821, 813, 809, ""),
        (7006, "2026-10-06", 822, 812, 802, ""),
    ];
    for (k, (id, date, class_id, student_period_id, status_id, comment)) in
        records.into_iter().enumerate()
    {
        let record = AttendanceRecord {
            id,
            date: date.into(),
            kind: "SESSION".into(),
            class_id,
            course_id: 831,
            status_id,
            student_period_id,
            comment: comment.into(),
        };
        let outcome = store
            .deliver(delivery(
                REPORTS_TENANT,
                &format!("report-{id}"),
                AttendanceEventKind::Created,
                &record,
                T0 + (k as i64 + 1) * 60_000,
                now(),
            ))
            .await
            .unwrap();
        assert!(
            matches!(outcome, IngestOutcome::Applied { .. }),
            "{outcome:?}"
        );
    }
    // A record on a day of its own, created and then deleted.
    let gone = AttendanceRecord {
        id: 7007,
        date: "2026-10-07".into(),
        kind: "SESSION".into(),
        class_id: 821,
        course_id: 831,
        status_id: 801,
        student_period_id: 811,
        comment: String::new(),
    };
    for (k, kind) in [
        (7, AttendanceEventKind::Created),
        (8, AttendanceEventKind::Deleted),
    ] {
        store
            .deliver(delivery(
                REPORTS_TENANT,
                &format!("report-7007-{k}"),
                kind,
                &gone,
                T0 + k * 60_000,
                now(),
            ))
            .await
            .unwrap();
    }
}

/// Report settings that judge chronic absence from a student's first day of records (the
/// reports dataset spans two days).
fn judged_from_day_one() -> ReportSettings {
    ReportSettings {
        chronic_min_days: 1,
        ..Default::default()
    }
}

/// One report's CSV of the reports' school, as the store writes it.
async fn export_text(store: &dyn Store, report: &str, filter: &RecordFilter) -> String {
    export_in(store, &Scope::tenants([REPORTS_TENANT]), report, filter).await
}

/// One report's CSV as a reader of `scope` gets it, checked against the row count and the
/// same export with progress.
async fn export_in(
    store: &dyn Store,
    scope: &Scope,
    report: &str,
    filter: &RecordFilter,
) -> String {
    let request = ExportRequest::new(
        report,
        filter.clone(),
        &ExportParams::default(),
        judged_from_day_one(),
    )
    .unwrap();
    let out = SharedBuffer::default();
    let rows = store
        .export(scope, &request, Box::new(out.clone()), None)
        .await
        .unwrap();
    let text = out.text();
    assert_eq!(rows as usize + 1, text.matches("\r\n").count(), "{text}");
    // With progress: the total is counted in the same snapshot and the bytes are the same.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let told = seen.clone();
    let again = SharedBuffer::default();
    let progress_rows = store
        .export(
            scope,
            &request,
            Box::new(again.clone()),
            Some(Box::new(move |p| {
                told.lock().unwrap().push((p.rows_written, p.total_rows));
                std::ops::ControlFlow::Continue(())
            })),
        )
        .await
        .unwrap();
    assert_eq!((progress_rows, again.text()), (rows, text.clone()));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.first(), Some(&(0, rows)));
    assert_eq!(seen.last(), Some(&(rows, rows)));
    text
}

fn crlf(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

pub async fn reports_give_the_same_numbers_and_bytes(store: &dyn Store) {
    a_small_school(store).await;
    let scope = Scope::tenants([REPORTS_TENANT]);
    let range = RecordFilter {
        tenant: Some(REPORTS_TENANT.into()),
        from: Some("2026-10-05".into()),
        to: Some("2026-10-06".into()),
        ..Default::default()
    };
    // Two days of records are too early to judge chronic absence by default (10 days)...
    let early = store
        .summary(&scope, &range, &ReportSettings::default())
        .await
        .unwrap();
    assert!(early.chronic.is_empty(), "{:?}", early.chronic);
    assert!(early.too_early >= 1);
    assert_eq!(early.min_days, 10);
    // ...so the rest of the numbers judge students from their first day.
    let settings = judged_from_day_one();

    let summary = store.summary(&scope, &range, &settings).await.unwrap();
    assert_eq!(summary.too_early, 0);
    let class = |id, name: Option<&str>, counts: [i64; 5], rate| ClassRate {
        tenant: REPORTS_TENANT.into(),
        id,
        name: name.map(String::from),
        sessions: counts[0],
        present: counts[1],
        absent: counts[2],
        late: counts[3],
        excused: counts[4],
        rate,
    };
    assert_eq!(
        summary.by_class,
        [
            class(821, Some("Year 8, B"), [4, 1, 1, 0, 1], 0.25),
            class(822, None, [2, 0, 1, 1, 0], 0.5),
        ]
    );
    let day = |date: &str, absent, sessions| DayAbsences {
        date: date.into(),
        absent,
        sessions,
    };
    assert_eq!(
        summary.by_day,
        [day("2026-10-05", 1, 3), day("2026-10-06", 2, 3)]
    );
    let chronic: Vec<_> = summary
        .chronic
        .iter()
        .map(|c| {
            (
                c.student_period_id,
                c.name.as_deref(),
                c.sessions,
                c.absent,
                c.rate,
            )
        })
        .collect();
    assert_eq!(chronic, [(812, Some("=Bob"), 3, 3, 1.0)]);

    let today = chrono::NaiveDate::from_ymd_opt(2026, 10, 6).unwrap();
    let alerts = store.alerts(&scope, today, &settings).await.unwrap();
    let alerts: Vec<_> = alerts
        .iter()
        .map(|a| (a.kind, a.student_period_id, a.at, a.message.as_str()))
        .collect();
    assert_eq!(
        alerts,
        [
            (
                AlertKind::AbsencesToday,
                812,
                T0 + 360_000,
                "=Bob has been absent in 2 lessons today."
            ),
            (
                AlertKind::Chronic,
                812,
                T0 + 360_000,
                "=Bob has been absent in 100% of lessons over the last 90 days (3 of 3)."
            ),
        ]
    );
    assert!(store
        .alerts(&Scope::tenants(["another-school"]), today, &settings)
        .await
        .unwrap()
        .is_empty());

    let t = |k: i64| iso(T0 + k * 60_000);
    assert_eq!(
        export_text(store, "attendance", &range).await,
        crlf(&[
            "attendance_id,date,type,class_id,class,course_id,course,student_period_id,student,\
             status_id,status,status_category,comment,last_event_at,school",
            &format!("7001,2026-10-05,SESSION,821,\"Year 8, B\",831,History,811,Ana Silva,801,Present,present,,{},reports-school", t(1)),
            &format!("7002,2026-10-05,SESSION,821,\"Year 8, B\",831,History,812,'=Bob,802,Absent,absent,'-sick,{},reports-school", t(2)),
            &format!("7003,2026-10-05,SESSION,822,,831,History,811,Ana Silva,803,Late,late,,{},reports-school", t(3)),
            &format!("7004,2026-10-06,SESSION,821,\"Year 8, B\",831,History,812,'=Bob,804,Excused,excused,,{},reports-school", t(4)),
            &format!("7005,2026-10-06,SESSION,821,\"Year 8, B\",831,History,813,,809,,other,,{},reports-school", t(5)),
            &format!("7006,2026-10-06,SESSION,822,,831,History,812,'=Bob,802,Absent,absent,,{},reports-school", t(6)),
        ])
    );
    let deleted_day = RecordFilter {
        tenant: Some(REPORTS_TENANT.into()),
        date: Some("2026-10-07".into()),
        ..Default::default()
    };
    let header = "attendance_id,date,type,class_id,class,course_id,course,student_period_id,\
                  student,status_id,status,status_category,comment,last_event_at,school";
    assert_eq!(
        export_text(store, "attendance", &deleted_day).await,
        crlf(&[header])
    );
    let with_deleted = ExportRequest::new(
        "attendance",
        deleted_day,
        &ExportParams {
            include_deleted: Some(true),
            ..Default::default()
        },
        ReportSettings::default(),
    )
    .unwrap();
    let out = SharedBuffer::default();
    store
        .export(&scope, &with_deleted, Box::new(out.clone()), None)
        .await
        .unwrap();
    assert_eq!(
        out.text(),
        crlf(&[
            &format!("{header},deleted"),
            &format!(
                "7007,2026-10-07,SESSION,821,\"Year 8, B\",831,History,811,Ana Silva,801,Present,\
                 present,,{},reports-school,yes",
                t(8)
            ),
        ])
    );
    assert_eq!(
        export_text(store, "students", &range).await,
        crlf(&[
            "student_period_id,student,class_ids,classes,sessions,present,absent,late,excused,\
             other,attendance_rate,absence_rate,chronic_absence,school",
            "812,'=Bob,821; 822,\"Year 8, B; 822\",3,0,2,0,1,0,0.0000,1.0000,yes,reports-school",
            "811,Ana Silva,821; 822,\"Year 8, B; 822\",2,1,0,1,0,0,1.0000,0.0000,no,reports-school",
            "813,,821,\"Year 8, B\",1,0,0,0,0,1,0.0000,0.0000,no,reports-school",
        ])
    );
    assert_eq!(
        export_text(store, "classes", &range).await,
        crlf(&[
            "date,class_id,class,sessions,present,absent,late,excused,other,attendance_rate,\
             absence_rate,school",
            "2026-10-05,821,\"Year 8, B\",2,1,1,0,0,0,0.5000,0.5000,reports-school",
            "2026-10-05,822,,1,0,0,1,0,0,1.0000,0.0000,reports-school",
            "2026-10-06,821,\"Year 8, B\",2,0,0,0,1,1,0.0000,0.5000,reports-school",
            "2026-10-06,822,,1,0,1,0,0,0,0.0000,1.0000,reports-school",
        ])
    );
    assert_eq!(
        export_text(store, "courses", &range).await,
        crlf(&[
            "date,course_id,course,sessions,present,absent,late,excused,other,attendance_rate,\
             absence_rate,school",
            "2026-10-05,831,History,3,1,1,1,0,0,0.6667,0.3333,reports-school",
            "2026-10-06,831,History,3,0,1,0,1,1,0.0000,0.6667,reports-school",
        ])
    );
    // For Excel where the decimal mark is a comma: a byte-order mark, `;` and decimal commas.
    let excel = ExportRequest::new(
        "courses",
        range.clone(),
        &ExportParams {
            excel: Some(true),
            separator: Some(";".into()),
            ..Default::default()
        },
        ReportSettings::default(),
    )
    .unwrap();
    let out = SharedBuffer::default();
    store
        .export(&scope, &excel, Box::new(out.clone()), None)
        .await
        .unwrap();
    assert_eq!(
        out.text(),
        format!(
            "\u{feff}{}",
            crlf(&[
                "date;course_id;course;sessions;present;absent;late;excused;other;\
                 attendance_rate;absence_rate;school",
                "2026-10-05;831;History;3;1;1;1;0;0;0,6667;0,3333;reports-school",
                "2026-10-06;831;History;3;0;1;0;1;1;0,0000;0,6667;reports-school",
            ])
        )
    );
    // The change log: sequence numbers and the time recorded are the store's own; every
    // other cell is known.
    let changes = store.changes_after(&scope, 0, 100, &range).await.unwrap();
    assert_eq!(changes.len(), 6);
    let student = |id: i64| match id {
        811 => "Ana Silva",
        812 => "'=Bob",
        _ => "",
    };
    let status = |id: i64| match id {
        801 => "Present",
        802 => "Absent",
        803 => "Late",
        804 => "Excused",
        _ => "",
    };
    let mut expected = vec![
        "seq,recorded_at,source,event_type,event_time,attendance_id,date,type,class_id,class,\
         course_id,course,student_period_id,student,status_id_before,status_before,\
         status_id_after,status_after,comment_before,comment_after,request_id,school"
            .to_string(),
    ];
    for (k, c) in changes.iter().enumerate() {
        let class = if c.class_id == 821 {
            "\"Year 8, B\""
        } else {
            ""
        };
        let status_after = c.status_after.unwrap();
        let comment = if c.attendance_id == 7002 {
            "'-sick"
        } else {
            ""
        };
        expected.push(format!(
            "{},{},webhook,ATTENDANCE_CREATED,{},{},{},SESSION,{},{class},831,History,{},{},,,\
             {status_after},{},,{comment},{},{REPORTS_TENANT}",
            c.seq,
            iso(c.recorded_at),
            t(k as i64 + 1),
            c.attendance_id,
            c.date,
            c.class_id,
            c.student_period_id,
            student(c.student_period_id),
            status(status_after),
            request_uuid(&format!("report-{}", c.attendance_id)),
        ));
    }
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    assert_eq!(export_text(store, "changes", &range).await, crlf(&expected));
}

/// Two schools whose DreamClass ids coincide (class 921, course 931, student 911, even the
/// attendance ids): every report counts them apart and says whose each row is.
pub async fn schools_are_kept_apart_in_reports(store: &dyn Store) {
    let (east, west) = ("apart-east", "apart-west");
    let date = "2026-10-12";
    let lesson = |id, status_id| AttendanceRecord {
        id,
        date: date.into(),
        kind: "SESSION".into(),
        class_id: 921,
        course_id: 931,
        status_id,
        student_period_id: 911,
        comment: String::new(),
    };
    // Each school has its own names for the same ids: 801 Present, 802 Absent, and class
    // 921 is "East 7" in one and "West 7" in the other.
    for (tenant, class) in [(east, "East 7"), (west, "West 7")] {
        let names = FetchedReference {
            tenant: tenant.into(),
            statuses: four_statuses(),
            classes: vec![(
                1,
                vec![FetchedName {
                    id: 921,
                    name: class.into(),
                }],
            )],
            ..Default::default()
        };
        store.store_reference(names, 1).await.unwrap();
    }
    // East: absent in two lessons; west: present in one.
    deliver_all(store, east, &[lesson(9101, 802), lesson(9102, 802)], east).await;
    deliver_all(store, west, &[lesson(9101, 801)], west).await;
    let day = RecordFilter {
        date: Some(date.into()),
        ..Default::default()
    };
    let settings = judged_from_day_one();

    let summary = store.summary(&Scope::all(), &day, &settings).await.unwrap();
    let classes: Vec<_> = summary
        .by_class
        .iter()
        .map(|c| (c.tenant.as_str(), c.id, c.sessions, c.absent))
        .collect();
    assert_eq!(classes, [(east, 921, 2, 2), (west, 921, 1, 0)]);
    let chronic: Vec<_> = summary
        .chronic
        .iter()
        .map(|c| (c.tenant.as_str(), c.student_period_id, c.sessions))
        .collect();
    assert_eq!(chronic, [(east, 911, 2)], "west's student was present");

    let today = chrono::NaiveDate::from_ymd_opt(2026, 10, 12).unwrap();
    let both = Scope::tenants([east, west]);
    let alerts = store.alerts(&both, today, &settings).await.unwrap();
    let alerts: Vec<_> = alerts
        .iter()
        .map(|a| (a.kind, a.tenant.as_str(), a.student_period_id))
        .collect();
    assert_eq!(
        alerts,
        [
            (AlertKind::AbsencesToday, east, 911),
            (AlertKind::Chronic, east, 911)
        ]
    );

    let header = "student_period_id,student,class_ids,classes,sessions,present,absent,late,\
                  excused,other,attendance_rate,absence_rate,chronic_absence,school";
    assert_eq!(
        export_in(store, &both, "students", &day).await,
        crlf(&[
            header,
            "911,,921,East 7,2,0,2,0,0,0,0.0000,1.0000,yes,apart-east",
            "911,,921,West 7,1,1,0,0,0,0,1.0000,0.0000,no,apart-west",
        ])
    );
    assert_eq!(
        export_in(store, &both, "classes", &day).await,
        crlf(&[
            "date,class_id,class,sessions,present,absent,late,excused,other,attendance_rate,\
             absence_rate,school",
            "2026-10-12,921,East 7,2,0,2,0,0,0,0.0000,1.0000,apart-east",
            "2026-10-12,921,West 7,1,1,0,0,0,0,1.0000,0.0000,apart-west",
        ])
    );
    // A reader of one school, or a filter for one, gets that school's rows only.
    let west_only = export_in(store, &Scope::tenants([west]), "students", &day).await;
    assert_eq!(
        west_only,
        crlf(&[
            header,
            "911,,921,West 7,1,1,0,0,0,0,1.0000,0.0000,no,apart-west"
        ])
    );
    let east_day = RecordFilter {
        tenant: Some(east.into()),
        ..day.clone()
    };
    let attendance = export_in(store, &both, "attendance", &east_day).await;
    let schools: Vec<_> = attendance
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    assert_eq!(schools, [east, east], "{attendance}");
}

/// A school with five weeks of Mondays and a week of absences, for lessons not taken and
/// absent days in a row.
const WEEKS_TENANT: &str = "weeks-school";
const WEEKS_T0: i64 = 1_796_025_600_000; // 2026-12-01T08:00:00Z

async fn deliver_all(store: &dyn Store, tenant: &str, records: &[AttendanceRecord], label: &str) {
    for (k, record) in records.iter().enumerate() {
        let outcome = store
            .deliver(delivery(
                tenant,
                &format!("{label}-{}", record.id),
                AttendanceEventKind::Created,
                record,
                WEEKS_T0 + (k as i64 + 1) * 60_000,
                now(),
            ))
            .await
            .unwrap();
        assert!(
            matches!(outcome, IngestOutcome::Applied { .. }),
            "{outcome:?}"
        );
    }
}

fn lesson(
    id: i64,
    date: &str,
    class_id: i64,
    course_id: i64,
    student: i64,
    status: i64,
) -> AttendanceRecord {
    AttendanceRecord {
        id,
        date: date.into(),
        kind: "SESSION".into(),
        class_id,
        course_id,
        status_id: status,
        student_period_id: student,
        comment: String::new(),
    }
}

pub async fn lessons_not_taken_and_absent_days_in_a_row(store: &dyn Store) {
    let names = FetchedReference {
        tenant: WEEKS_TENANT.into(),
        statuses: four_statuses(),
        students: vec![],
        classes: vec![(
            9,
            vec![FetchedName {
                id: 951,
                name: "7A".into(),
            }],
        )],
        courses: None,
    };
    store.store_reference(names, 1).await.unwrap();
    let scope = Scope::tenants([WEEKS_TENANT]);
    // Mondays: 11-02, 11-09, 11-16, 11-23 are the four before 11-30; 10-26 is five before.
    deliver_all(
        store,
        WEEKS_TENANT,
        &[
            // 951 × 941: last Monday, and taken today.
            lesson(9001, "2026-11-23", 951, 941, 901, 801),
            lesson(9002, "2026-11-30", 951, 941, 901, 801),
            // 951 × 942: three weeks ago, not today.
            lesson(9003, "2026-11-16", 951, 942, 901, 801),
            // 952 × 941: four weeks ago only, not today.
            lesson(9004, "2026-11-02", 952, 941, 902, 802),
            // 952 × 942: five weeks ago only: not expected.
            lesson(9005, "2026-10-26", 952, 942, 902, 801),
            // 953 × 941: last Tuesday: not expected on a Monday.
            lesson(9006, "2026-11-24", 953, 941, 903, 801),
            // 954 × 941: last Monday; today's only record is deleted below.
            lesson(9007, "2026-11-23", 954, 941, 904, 801),
            lesson(9008, "2026-11-30", 954, 941, 904, 801),
        ],
        "weeks",
    )
    .await;
    store
        .deliver(delivery(
            WEEKS_TENANT,
            "weeks-9008-deleted",
            AttendanceEventKind::Deleted,
            &lesson(9008, "2026-11-30", 954, 941, 904, 801),
            WEEKS_T0 + 3_600_000,
            now(),
        ))
        .await
        .unwrap();
    // Another school's lesson of last Monday is not this school's.
    deliver_all(
        store,
        "other-weeks-school",
        &[lesson(9009, "2026-11-23", 951, 943, 909, 801)],
        "other",
    )
    .await;

    let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let day = store.lessons_not_taken(&scope, monday).await.unwrap();
    let found: Vec<_> = day
        .lessons
        .iter()
        .map(|l| {
            (
                l.class_id,
                l.class_name.as_deref(),
                l.course_id,
                l.last_taken.as_str(),
                l.tenant.as_str(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (951, Some("7A"), 942, "2026-11-16", WEEKS_TENANT),
            (952, None, 941, "2026-11-02", WEEKS_TENANT),
            (954, None, 941, "2026-11-23", WEEKS_TENANT),
        ]
    );
    assert_eq!((day.date.as_str(), day.records), ("2026-11-30", 1));
    assert!(day.is_school_day());
    // A Tuesday with nothing recorded: last Tuesday's lesson is expected, and it is no school day.
    let tuesday = store
        .lessons_not_taken(&scope, monday.succ_opt().unwrap())
        .await
        .unwrap();
    assert_eq!(tuesday.records, 0);
    assert_eq!(tuesday.lessons.len(), 1);
    assert_eq!(tuesday.lessons[0].class_id, 953);
    // Both schools: the other school's lesson too, never mixed with this one's.
    let both = Scope::tenants([WEEKS_TENANT, "other-weeks-school"]);
    let all = store.lessons_not_taken(&both, monday).await.unwrap();
    assert_eq!(all.lessons.len(), 4);
    assert!(all
        .lessons
        .iter()
        .any(|l| l.tenant == "other-weeks-school" && l.course_id == 943));
    assert!(store
        .lessons_not_taken(&Scope::tenants(["nobody"]), monday)
        .await
        .unwrap()
        .lessons
        .is_empty());

    // The export: the same lessons, saying what is inferred.
    let request = ExportRequest::new(
        "lessons-not-taken",
        RecordFilter {
            date: Some("2026-11-30".into()),
            ..Default::default()
        },
        &ExportParams::default(),
        ReportSettings::default(),
    )
    .unwrap();
    let out = SharedBuffer::default();
    let rows = store
        .export(&scope, &request, Box::new(out.clone()), None)
        .await
        .unwrap();
    assert_eq!(rows, 3);
    let because =
        |d: &str| format!("attendance on {d} (same weekday); no timetable from DreamClass");
    assert_eq!(
        out.text(),
        crlf(&[
            "date,weekday,school,class_id,class,course_id,course,expected_inferred_from",
            &format!(
                "2026-11-30,Mon,weeks-school,951,7A,942,,{}",
                because("2026-11-16")
            ),
            &format!(
                "2026-11-30,Mon,weeks-school,952,,941,,{}",
                because("2026-11-02")
            ),
            &format!(
                "2026-11-30,Mon,weeks-school,954,,941,,{}",
                because("2026-11-23")
            ),
        ])
    );
    assert!(ExportRequest::new(
        "lessons-not-taken",
        RecordFilter::default(),
        &ExportParams::default(),
        ReportSettings::default()
    )
    .is_err());

    // Absent days in a row. School days: Tue 12-01 to Fri 12-04 and Mon 12-07 (today); the
    // weekend between is no school day and does not break a run.
    let (present, absent, excused) = (801, 802, 804);
    deliver_all(
        store,
        WEEKS_TENANT,
        &[
            // 961: absent Wed, Thu (excused), Fri (both lessons); nothing yet today.
            lesson(9101, "2026-12-02", 955, 944, 961, absent),
            lesson(9102, "2026-12-03", 955, 944, 961, excused),
            lesson(9103, "2026-12-04", 955, 944, 961, absent),
            lesson(9104, "2026-12-04", 955, 945, 961, absent),
            // 962: absent Tue, Wed, Fri, present Thu and today.
            lesson(9111, "2026-12-01", 955, 944, 962, absent),
            lesson(9112, "2026-12-02", 955, 944, 962, absent),
            lesson(9113, "2026-12-03", 955, 944, 962, present),
            lesson(9114, "2026-12-04", 955, 944, 962, absent),
            lesson(9115, "2026-12-07", 955, 944, 962, present),
            // 963: absent Thu; on Fri absent in one lesson, present in the other.
            lesson(9121, "2026-12-03", 955, 944, 963, absent),
            lesson(9122, "2026-12-04", 955, 944, 963, absent),
            lesson(9123, "2026-12-04", 955, 945, 963, present),
            lesson(9124, "2026-12-07", 955, 944, 963, absent),
            // 964: absent Thu, Fri and today.
            lesson(9131, "2026-12-03", 955, 944, 964, absent),
            lesson(9132, "2026-12-04", 955, 944, 964, absent),
            lesson(9133, "2026-12-07", 955, 944, 964, absent),
            // 965: absent Wed, Fri and today, but no record on Thu, a school day.
            lesson(9141, "2026-12-02", 955, 944, 965, absent),
            lesson(9142, "2026-12-04", 955, 944, 965, absent),
            lesson(9143, "2026-12-07", 955, 944, 965, absent),
        ],
        "absent",
    )
    .await;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let settings = ReportSettings::default();
    let alerts = store.alerts(&scope, today, &settings).await.unwrap();
    let alerts: Vec<_> = alerts
        .iter()
        .map(|a| (a.kind, a.student_period_id, a.message.as_str()))
        .collect();
    assert_eq!(
        alerts,
        [
            (
                AlertKind::AbsentDaysInRow,
                961,
                "Student 961 has been absent on 3 school days in a row (Wed 2 Dec to Fri 4 Dec)."
            ),
            (
                AlertKind::AbsentDaysInRow,
                964,
                "Student 964 has been absent on 3 school days in a row (Thu 3 Dec to Mon 7 Dec)."
            ),
        ]
    );
    // Four days in a row: nobody yet. Two: 965's Friday and today count too (longest run
    // first); 963 is absent today after a mixed Friday, so not.
    let four = ReportSettings {
        absent_days_in_row: 4,
        ..settings
    };
    assert!(store.alerts(&scope, today, &four).await.unwrap().is_empty());
    let two = ReportSettings {
        absent_days_in_row: 2,
        ..settings
    };
    let ids: Vec<i64> = store
        .alerts(&scope, today, &two)
        .await
        .unwrap()
        .iter()
        .map(|a| a.student_period_id)
        .collect();
    assert_eq!(ids, [964, 961, 965]);
    // The day after, before any record of it: the runs are counted from Monday, which 961
    // missed (a school day without a record of the student ends the run).
    let tuesday = today.succ_opt().unwrap();
    let ids: Vec<i64> = store
        .alerts(&scope, tuesday, &settings)
        .await
        .unwrap()
        .iter()
        .map(|a| a.student_period_id)
        .collect();
    assert_eq!(ids, [964]);
}

/// Deliveries refused for the secret (and only those) are offered for a re-check, oldest
/// first, a page at a time within a time range; a decided re-check is kept, one that still
/// does not verify stays on offer.
pub async fn refused_deliveries_are_rechecked_once(store: &dyn Store) {
    // A time of its own, so the range isolates this check's entries.
    let base = 4_000_000_000_000;
    let refused = |n: i64, status: u16, code: &str, body: Vec<u8>| RejectedDelivery {
        received_at: base + n,
        request_id: Some(format!("recheck-{n}")),
        status,
        reason: format!("{code}: a sentence"),
        body,
        school: None,
        count: 1,
    };
    let body = |n: i64| format!("{{\"id\":\"recheck-{n}\"}}").into_bytes();
    store.log_rejected(refused(1, 401, "signature_invalid", body(1)));
    store.log_rejected(refused(2, 401, "basic_auth_required", body(2)));
    store.log_rejected(refused(3, 400, "invalid_json", body(3)));
    store.log_rejected(RejectedDelivery {
        school: Some("recheck-b".into()),
        ..refused(4, 401, "signature_missing", body(4))
    });
    store.log_rejected(refused(5, 401, "secret_not_configured", vec![b'x'; 3000]));
    // A delivery queued after them commits them too.
    let r = record(1, "2026-11-09", 9, 1);
    let flush = delivery(
        "recheck-school",
        "rc-1",
        AttendanceEventKind::Created,
        &r,
        1,
        base,
    );
    store.deliver(flush).await.unwrap();

    let everything = RecheckRange {
        from: Some(base),
        to: Some(base + 100),
        after_seq: 0,
    };
    let page = store.refused_for_secret(everything, 2).await.unwrap();
    let ids: Vec<_> = page
        .deliveries
        .iter()
        .map(|d| d.request_id.clone().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["recheck-1", "recheck-4"],
        "secret refusals only, oldest first"
    );
    assert_eq!(page.more, 1, "one more after this page");
    assert!(page.deliveries[0].body_kept_whole());
    assert_eq!(page.deliveries[0].body, body(1));
    assert_eq!(page.deliveries[0].received_at, base + 1);
    assert_eq!(
        page.deliveries[0].school, None,
        "sent to the single school's URL"
    );
    assert_eq!(
        page.deliveries[1].school.as_deref(),
        Some("recheck-b"),
        "the school whose URL it was sent to is kept, for a re-check with its secret"
    );

    let rest = store
        .refused_for_secret(
            RecheckRange {
                after_seq: page.deliveries[1].seq,
                ..everything
            },
            2,
        )
        .await
        .unwrap();
    assert_eq!(rest.deliveries.len(), 1);
    assert_eq!(rest.more, 0);
    assert!(
        !rest.deliveries[0].body_kept_whole(),
        "a body longer than the kept part cannot be re-checked"
    );
    let narrow = RecheckRange {
        from: Some(base + 4),
        to: Some(base + 5),
        after_seq: 0,
    };
    let in_range = store.refused_for_secret(narrow, 10).await.unwrap();
    assert_eq!(in_range.deliveries.len(), 1, "the time range is kept");
    assert_eq!(
        in_range.deliveries[0].request_id.as_deref(),
        Some("recheck-4")
    );

    let (first, fourth) = (page.deliveries[0].seq, page.deliveries[1].seq);
    let marked = store
        .mark_rechecked(
            vec![
                (first, RecheckResult::Applied),
                (fourth, RecheckResult::StillUnverified),
            ],
            base + 50,
        )
        .await
        .unwrap();
    assert_eq!(marked, 2);
    let after = store.refused_for_secret(everything, 10).await.unwrap();
    let seqs: Vec<_> = after.deliveries.iter().map(|d| d.seq).collect();
    assert!(
        !seqs.contains(&first),
        "a decided re-check is not offered again"
    );
    assert!(seqs.contains(&fourth), "one that still does not verify is");

    let again = store
        .mark_rechecked(vec![(first, RecheckResult::Duplicate)], base + 60)
        .await
        .unwrap();
    assert_eq!(again, 0, "the first decision is kept");
    let now_applied = store
        .mark_rechecked(vec![(fourth, RecheckResult::Applied)], base + 70)
        .await
        .unwrap();
    assert_eq!(now_applied, 1, "an unverified entry may be decided later");

    let log = store
        .deliveries(&Scope::all(), Some(DeliveryOutcome::Rejected), None, 1000)
        .await
        .unwrap();
    let entry = |seq: i64| log.iter().find(|d| d.seq == seq).unwrap();
    assert_eq!(entry(first).recheck, Some(RecheckResult::Applied));
    assert_eq!(entry(first).rechecked_at, Some(base + 50));
    assert_eq!(entry(fourth).recheck, Some(RecheckResult::Applied));
    assert_eq!(entry(fourth).rechecked_at, Some(base + 70));
    let untouched = log
        .iter()
        .find(|d| d.request_id.as_deref() == Some("recheck-2"))
        .unwrap();
    assert_eq!((untouched.recheck, untouched.rechecked_at), (None, None));
}

/// Purging a removed school deletes its attendance, change log and deliveries (those of its
/// tenant and those refused at its URL), and not one row of another school.
pub async fn purging_a_school_removes_its_rows_only(store: &dyn Store) {
    let (gone, stays, all) = ("purge-gone-tenant", "purge-stays-tenant", Scope::all());
    let day = "2026-11-12";
    for (tenant, id) in [(gone, 901), (gone, 902), (stays, 903)] {
        let r = record(id, day, 12, 1);
        let label = format!("purge-{tenant}-{id}");
        store
            .deliver(delivery(
                tenant,
                &label,
                AttendanceEventKind::Created,
                &r,
                100,
                now(),
            ))
            .await
            .unwrap();
    }
    let refused_at = |school: &str| RejectedDelivery {
        received_at: now(),
        request_id: Some(format!("purge-refused-{school}")),
        status: 401,
        reason: "signature_invalid: a sentence".into(),
        body: b"{}".to_vec(),
        school: Some(school.into()),
        count: 1,
    };
    store.log_rejected(refused_at("gone"));
    store.log_rejected(refused_at("stays"));
    // A delivery queued after the refusals commits them too.
    let flush = record(904, day, 12, 1);
    store
        .deliver(delivery(
            stays,
            "purge-flush",
            AttendanceEventKind::Created,
            &flush,
            100,
            now(),
        ))
        .await
        .unwrap();
    let of = |tenant: &str| RecordFilter {
        tenant: Some(tenant.into()),
        ..Default::default()
    };
    for tenant in [gone, stays] {
        let names = FetchedReference {
            tenant: tenant.into(),
            classes: vec![(
                1,
                vec![FetchedName {
                    id: 12,
                    name: format!("Class of {tenant}"),
                }],
            )],
            ..Default::default()
        };
        store.store_reference(names, 1).await.unwrap();
    }
    let log_before = store.deliveries(&all, None, None, 100_000).await.unwrap();

    let purged = store.purge_school(gone, "gone").await.unwrap();
    assert_eq!(purged.attendance, 2, "{purged:?}");
    assert_eq!(purged.changes, 2, "{purged:?}");
    assert_eq!(
        purged.deliveries, 3,
        "its two deliveries and the one refused at its URL: {purged:?}"
    );
    assert!(store
        .attendance(&all, &of(gone), true, 100)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .latest_changes(&all, None, 100, &of(gone))
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .record_history(&all, gone, 901)
        .await
        .unwrap()
        .is_empty());
    let log_after = store.deliveries(&all, None, None, 100_000).await.unwrap();
    assert_eq!(log_after.len(), log_before.len() - 3);
    assert!(log_after.iter().all(|d| d.tenant.as_deref() != Some(gone)
        && d.request_id.as_deref() != Some("purge-refused-gone")));
    assert!(log_after
        .iter()
        .any(|d| d.request_id.as_deref() == Some("purge-refused-stays")));

    let names: Vec<_> = store
        .reference(&Scope::tenants([gone, stays]))
        .await
        .unwrap()
        .classes
        .into_iter()
        .map(|c| c.tenant)
        .collect();
    assert_eq!(names, [stays], "the purged school's names go with it");

    // The other school is whole.
    let kept = store.attendance(&all, &of(stays), true, 100).await.unwrap();
    assert_eq!(
        kept.iter().map(|r| r.attendance_id).collect::<Vec<_>>(),
        [903, 904]
    );
    assert_eq!(
        store
            .latest_changes(&all, None, 100, &of(stays))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store.purge_school(gone, "gone").await.unwrap().total(),
        0,
        "a second purge finds nothing"
    );
}
