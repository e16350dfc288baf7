//! The live stream: every committed change, in order, and a reconnect resumes without gaps.

use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn stream_delivers_every_change_and_resumes_after_reconnect() {
    let s = TestServer::start().await;
    // Two changes before anyone listens: replayed from the log.
    s.post(&created(1, 1)).await;
    s.post(&created(2, 1)).await;
    let mut stream = SseReader::open(&s, "?after=0", None).await;
    assert_eq!(stream.next_change().await["seq"], 1);
    assert_eq!(stream.next_change().await["seq"], 2);
    // Live ones.
    s.post(&created(3, 2)).await;
    let live = stream.next_change().await;
    assert_eq!(
        (live["seq"].as_i64(), live["attendanceId"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(live["statusAfter"], 2);
    drop(stream);

    // Changes while disconnected, then a reconnect from the last id seen.
    for i in 4..=6 {
        s.post(&created(i, 1)).await;
    }
    let mut stream = SseReader::open(&s, "", Some(3)).await;
    for expected in 4..=6 {
        assert_eq!(stream.next_change().await["seq"], expected);
    }
    s.post(&created(7, 1)).await;
    assert_eq!(stream.next_change().await["seq"], 7);
}

#[tokio::test]
async fn a_burst_larger_than_the_broadcast_buffer_arrives_complete_and_in_order() {
    let s = TestServer::start().await;
    let mut stream = SseReader::open(&s, "?after=0", None).await;
    // Read nothing while the burst is stored, so the subscriber falls behind.
    let (_, report) = send_school_day(&s, 600, 5, 32).await;
    assert_eq!(report.ok(), 600);
    let total = s.change_count();
    for expected in 1..=total {
        assert_eq!(stream.next_change().await["seq"], expected);
    }
}

#[tokio::test]
async fn events_are_written_as_the_ui_reads_them() {
    let s = TestServer::start().await;
    s.post(&created(1, 3)).await;
    let mut stream = SseReader::open(&s, "?after=0", None).await;
    let change = stream.next_event().await;
    assert_eq!(
        (change.name.as_str(), change.id.as_deref()),
        ("change", Some("1"))
    );
    let data: Value = serde_json::from_str(&change.data).unwrap();
    assert_eq!(
        (data["seq"].as_i64(), data["statusAfter"].as_i64()),
        (Some(1), Some(3))
    );

    // A status notice: only its name matters, and its data is an empty object.
    let saved = s
        .http
        .put(format!("{}/api/settings/notifications", s.api_base))
        .bearer_auth(&s.token)
        .json(&json!({"statusIds": [3]}))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    // Notices (status, reference, ping) carry no id and `{}` as data.
    loop {
        let notice = stream.next_event().await;
        assert_eq!(
            (notice.id.as_deref(), notice.data.as_str()),
            (None, "{}"),
            "{notice:?}"
        );
        if notice.name == "status" {
            break;
        }
    }
}
