//! What survives a restart, and concurrent deliveries stored exactly once.

use crate::support::*;

#[tokio::test]
async fn restart_keeps_everything_including_seen_request_ids() {
    let s = TestServer::start().await;
    let first = created(1, 1);
    assert_eq!(s.post(&first).await.0, 200);
    assert_eq!(s.post(&created(2, 2)).await.0, 200);
    let dir = s.stop().await;

    let config = signed_config(dir.path());
    let s = TestServer::start_in(dir, config).await;
    assert_eq!(s.attendance_count(), 2);
    assert_eq!(s.change_count(), 2);
    // The same delivery after the restart is still recognised as a duplicate.
    let response = s
        .http
        .post(&s.webhook_url)
        .json(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-rollcall-outcome"], "duplicate");
    assert_eq!(s.change_count(), 2);
    let changes = s.api("/api/changes?after=0").await;
    assert_eq!(changes["lastSeq"], 2);
}

#[tokio::test]
async fn two_hundred_parallel_deliveries_are_stored_exactly_once() {
    let s = TestServer::start().await;
    let bodies: Vec<_> = (0..200).map(|i| created(1000 + i, 1)).collect();
    // Each is sent twice at the same time: once must apply, once must be a duplicate.
    let sends = bodies.iter().chain(bodies.iter()).map(|b| {
        let http = s.http.clone();
        let url = s.webhook_url.clone();
        let b = b.clone();
        tokio::spawn(async move {
            let r = http.post(url).json(&b).send().await.unwrap();
            (
                r.status().as_u16(),
                r.headers()["x-rollcall-outcome"]
                    .to_str()
                    .unwrap()
                    .to_string(),
            )
        })
    });
    let results = futures::future::join_all(sends).await;
    let mut applied = 0;
    let mut duplicate = 0;
    for r in results {
        let (status, outcome) = r.unwrap();
        assert_eq!(status, 200);
        match outcome.as_str() {
            "applied" => applied += 1,
            "duplicate" => duplicate += 1,
            other => panic!("unexpected outcome {other}"),
        }
    }
    assert_eq!((applied, duplicate), (200, 200));
    assert_eq!(s.attendance_count(), 200);
    assert_eq!(s.change_count(), 200);
    assert_eq!(
        s.count("SELECT COUNT(DISTINCT attendance_id) FROM changes"),
        200
    );
    let integrity: String = s.query(|c| {
        c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap()
    });
    assert_eq!(integrity, "ok");
}
