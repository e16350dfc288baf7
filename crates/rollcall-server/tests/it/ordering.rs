//! The ordering rules: the newest event wins, late ones are recorded but change nothing, and a
//! delete leaves a tombstone.

use serde_json::Value;

use crate::support::*;

async fn stored(s: &TestServer, id: i64) -> Value {
    let rows = s
        .api(&format!(
            "/api/attendance?attendanceId={id}&includeDeleted=true"
        ))
        .await;
    rows["records"][0].clone()
}

#[tokio::test]
async fn an_older_update_arriving_late_changes_nothing() {
    let s = TestServer::start().await;
    let t = now_ms() - 60_000;
    let body = |ts, status, comment| {
        attendance(
            "ATTENDANCE_UPDATED",
            &new_id(),
            ts,
            record(7, status, comment),
        )
    };
    assert_eq!(
        s.post(&attendance(
            "ATTENDANCE_CREATED",
            &new_id(),
            t,
            record(7, 1, "")
        ))
        .await
        .0,
        200
    );
    assert_eq!(s.post(&body(t + 2000, 3, "newest")).await.0, 200);
    let response = s
        .http
        .post(&s.webhook_url)
        .json(&body(t + 1000, 2, "older"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "a late event is accepted, not refused"
    );
    assert_eq!(response.headers()["x-rollcall-outcome"], "superseded");
    let record = stored(&s, 7).await;
    assert_eq!(record["statusId"], 3);
    assert_eq!(record["comment"], "newest");
    assert_eq!(s.change_count(), 2, "the late event made no change");
    let outcomes = s.outcomes(3).await;
    assert_eq!(outcomes[2].0, "superseded");
}

#[tokio::test]
async fn delete_then_late_update_stays_deleted() {
    let s = TestServer::start().await;
    let t = now_ms() - 60_000;
    s.post(&attendance(
        "ATTENDANCE_CREATED",
        &new_id(),
        t,
        record(8, 1, ""),
    ))
    .await;
    s.post(&attendance(
        "ATTENDANCE_DELETED",
        &new_id(),
        t + 3000,
        record(8, 1, ""),
    ))
    .await;
    let (status, _) = s
        .post(&attendance(
            "ATTENDANCE_UPDATED",
            &new_id(),
            t + 2000,
            record(8, 2, "late"),
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(stored(&s, 8).await["deleted"], true);
    let visible = s.api("/api/attendance?attendanceId=8").await;
    assert_eq!(visible["records"].as_array().unwrap().len(), 0);
    // A genuinely newer event may bring it back (teacher re-enters it).
    s.post(&attendance(
        "ATTENDANCE_CREATED",
        &new_id(),
        t + 4000,
        record(8, 2, "again"),
    ))
    .await;
    assert_eq!(stored(&s, 8).await["deleted"], false);
}

#[tokio::test]
async fn events_arriving_in_any_order_end_in_the_same_state() {
    let s = TestServer::start().await;
    let t = now_ms() - 60_000;
    let events = [
        attendance(
            "ATTENDANCE_UPDATED",
            &new_id(),
            t + 3000,
            record(9, 3, "third"),
        ),
        attendance("ATTENDANCE_CREATED", &new_id(), t, record(9, 1, "first")),
        attendance(
            "ATTENDANCE_UPDATED",
            &new_id(),
            t + 1000,
            record(9, 2, "second"),
        ),
    ];
    for e in &events {
        assert_eq!(s.post(e).await.0, 200);
    }
    let record = stored(&s, 9).await;
    assert_eq!(
        (record["statusId"].clone(), record["comment"].clone()),
        (3.into(), "third".into())
    );
    assert_eq!(
        s.change_count(),
        1,
        "only the newest event changed the record"
    );
}

#[tokio::test]
async fn equal_timestamps_are_decided_by_request_id() {
    let s = TestServer::start().await;
    let t = now_ms() - 60_000;
    let (low, high) = (
        "00000000-0000-4000-8000-000000000001",
        "ffffffff-0000-4000-8000-000000000001",
    );
    s.post(&attendance(
        "ATTENDANCE_UPDATED",
        high,
        t,
        record(10, 2, "high"),
    ))
    .await;
    s.post(&attendance(
        "ATTENDANCE_UPDATED",
        low,
        t,
        record(10, 1, "low"),
    ))
    .await;
    assert_eq!(stored(&s, 10).await["comment"], "high");
}

#[tokio::test]
async fn change_log_records_before_and_after() {
    let s = TestServer::start().await;
    let t = now_ms() - 60_000;
    s.post(&attendance(
        "ATTENDANCE_CREATED",
        &new_id(),
        t,
        record(11, 1, ""),
    ))
    .await;
    s.post(&attendance(
        "ATTENDANCE_UPDATED",
        &new_id(),
        t + 1,
        record(11, 2, "sick"),
    ))
    .await;
    s.post(&attendance(
        "ATTENDANCE_DELETED",
        &new_id(),
        t + 2,
        record(11, 2, "sick"),
    ))
    .await;
    let history = s.api("/api/records/my-school/11/history").await;
    let changes = history["changes"].as_array().unwrap();
    let summary: Vec<(Value, Value, Value)> = changes
        .iter()
        .map(|c| {
            (
                c["eventType"].clone(),
                c["statusBefore"].clone(),
                c["statusAfter"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("ATTENDANCE_CREATED".into(), Value::Null, 1.into()),
            ("ATTENDANCE_UPDATED".into(), 1.into(), 2.into()),
            ("ATTENDANCE_DELETED".into(), 2.into(), Value::Null),
        ]
    );
    assert_eq!(changes[1]["commentAfter"], "sick");
    let seqs: Vec<i64> = changes.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn a_simulated_school_day_leaves_exactly_the_expected_state() {
    let s = TestServer::start().await;
    let (plan, report) = send_school_day(&s, 1200, 3, 16).await;
    assert_eq!(report.ok(), 1200, "{}", report.summary());
    let rows = s
        .api("/api/attendance?includeDeleted=true&limit=100000")
        .await;
    let stored: std::collections::BTreeMap<i64, (bool, i64, String)> = rows["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["attendanceId"].as_i64().unwrap(),
                (
                    r["deleted"].as_bool().unwrap(),
                    r["statusId"].as_i64().unwrap(),
                    r["comment"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(stored.len(), plan.expected.len());
    for (id, expected) in &plan.expected {
        let (deleted, status, comment) = &stored[id];
        match expected {
            None => assert!(deleted, "record {id} should be deleted"),
            Some(r) => {
                assert!(!deleted, "record {id} should be live");
                assert_eq!((status, comment), (&r.status_id, &r.comment), "record {id}");
            }
        }
    }
}
