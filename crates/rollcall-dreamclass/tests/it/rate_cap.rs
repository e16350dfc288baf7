use std::time::Duration;

use rollcall_dreamclass::{ApiConfig, DreamClassClient};

use crate::support::*;

#[tokio::test]
async fn the_rate_cap_holds_over_a_burst() {
    let server = FakeServer::start().await;
    // A burst of three, then one request per thousand seconds.
    let config = ApiConfig {
        max_requests_per_second: 0.001,
        burst: 3,
        ..server.config()
    };
    let client = DreamClassClient::new(config);
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.courses().await })
        })
        .collect();
    wait_for("the burst to arrive", || async {
        (server.fake.request_count() >= 3).then_some(())
    })
    .await;
    // Give the other seven every chance to slip through; the cap must hold them back.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.fake.request_count(), 3);
    let done = calls.iter().filter(|c| c.is_finished()).count();
    assert_eq!(done, 3);
    for call in calls {
        call.abort();
    }

    // With a usable rate every request goes out in the end.
    server.fake.reset_request_count();
    let config = ApiConfig {
        max_requests_per_second: 50.0,
        burst: 2,
        ..server.config()
    };
    let client = DreamClassClient::new(config);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.courses().await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().len(), 10);
    }
    assert_eq!(server.fake.request_count(), 8);
    server.stop().await;
}
