use rollcall_dreamclass::{ApiConfig, ApiError, DreamClassClient};

use crate::support::*;

#[tokio::test]
async fn test_connection_says_what_it_found() {
    let server = FakeServer::start().await;
    let found = DreamClassClient::new(server.config())
        .test_connection()
        .await
        .unwrap();
    assert_eq!(found.students, 132);
    assert_eq!(found.classes, 6);
    assert_eq!(found.courses, 10);
    assert_eq!(
        found.statuses,
        ["Present", "Absent", "Late", "Excused", "Left early"]
    );
    assert!(
        found
            .message
            .starts_with("Connected to DreamClass: 132 students, 6 classes and 10 courses"),
        "{}",
        found.message
    );
    server.stop().await;
}

#[tokio::test]
async fn a_refused_token_says_to_create_a_new_one() {
    let server = FakeServer::start().await;
    let wrong = ApiConfig {
        token: "not-the-token".into(),
        ..server.config()
    };
    let err = DreamClassClient::new(wrong)
        .test_connection()
        .await
        .unwrap_err();
    assert_eq!(err, ApiError::TokenRefused);
    assert_eq!(
        err.to_string(),
        "The API token was refused (401): create a new one in DreamClass and enter it in Settings."
    );
    // A token revoked in DreamClass while Rollcall runs: the same words, shown in the state.
    server.fake.set_token_revoked(true);
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path(), server.config()).await;
    let state = wait_for("the error in the state", || async {
        let s = app.dreamclass.state();
        s.error.is_some().then_some(s)
    })
    .await;
    assert_eq!(state.error_code.as_deref(), Some("token_refused"));
    assert!(state
        .error
        .unwrap()
        .contains("create a new one in DreamClass"));
    // A refused call ends the refresh: nothing but the first list was asked for.
    let paths = server.fake.requests_by_path();
    assert_eq!(paths.len(), 1, "{paths:?}");
    assert!(paths
        .keys()
        .all(|p| p.ends_with("/students/attendance/status/list")));
    app.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_address_or_path_says_404_and_what_to_check() {
    let server = FakeServer::start().await;
    let wrong_base = ApiConfig {
        base_url: format!("http://{}/dreamclass/v1", server.addr),
        ..server.config()
    };
    let err = DreamClassClient::new(wrong_base)
        .test_connection()
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("(404)"), "{message}");
    assert!(message.contains("API address"), "{message}");
    assert!(
        message.contains("/dreamclass/v1/students/attendance/status/list"),
        "{message}"
    );

    let mut wrong_path = server.config();
    wrong_path.paths.courses = "/curriculum/course/list".into();
    let err = DreamClassClient::new(wrong_path)
        .courses()
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn another_school_unreachable_and_silent_servers_are_told_apart() {
    let server = FakeServer::start().await;
    let other_school = ApiConfig {
        tenant: "another-school".into(),
        ..server.config()
    };
    let err = DreamClassClient::new(other_school)
        .statuses()
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Forbidden { .. }));
    assert!(err.to_string().contains("another-school"));

    // Nothing listens on a port just released.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let unreachable = ApiConfig {
        base_url: format!("http://{closed}/dreamclassapi/v1"),
        ..server.config()
    };
    let err = DreamClassClient::new(unreachable)
        .statuses()
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("could not reach DreamClass"));

    // A server that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let slow = ApiConfig {
        base_url: format!("http://{silent_addr}/dreamclassapi/v1"),
        timeout_ms: 300,
        retries: 1,
        ..server.config()
    };
    let err = DreamClassClient::new(slow).statuses().await.unwrap_err();
    assert_eq!(err, ApiError::TimedOut);
    assert!(err.to_string().contains("did not answer in time"));
    hold.abort();

    let unset = ApiConfig::default();
    let err = DreamClassClient::new(unset).statuses().await.unwrap_err();
    assert_eq!(err, ApiError::NotConfigured);
    server.stop().await;
}

#[tokio::test]
async fn outages_are_retried_and_then_reported() {
    let server = FakeServer::start().await;
    server.fake.set_down(true);
    let config = ApiConfig {
        retries: 2,
        ..server.config()
    };
    let err = DreamClassClient::new(config).courses().await.unwrap_err();
    assert_eq!(err, ApiError::Unavailable { status: 503 });
    assert_eq!(server.fake.request_count(), 3, "one try and two retries");
    server.stop().await;
}

#[tokio::test]
async fn the_fake_can_be_steered_over_http_like_a_teacher_would() {
    let server = FakeServer::start().await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let record = lesson_record(5_000_001, &today(), 7, 1);
    let envelope = serde_json::json!({"id": "x", "type": "ATTENDANCE_CREATED", "data": record});
    let answer = http
        .post(format!("{base}/_fake/events"))
        .json(&envelope)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    assert_eq!(server.fake.attendance(), vec![record.clone()]);
    let answer = http
        .delete(format!("{base}/_fake/attendance/{}", record.id))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 204);
    assert!(server.fake.attendance().is_empty());
    http.post(format!("{base}/_fake/downtime"))
        .json(&serde_json::json!({"down": true}))
        .send()
        .await
        .unwrap();
    let err = DreamClassClient::new(ApiConfig {
        retries: 0,
        ..server.config()
    })
    .statuses()
    .await
    .unwrap_err();
    assert_eq!(err, ApiError::Unavailable { status: 503 });
    let stats: serde_json::Value = http
        .get(format!("{base}/_fake/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], 1);
    server.stop().await;
}
