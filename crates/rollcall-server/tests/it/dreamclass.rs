//! The DreamClass API connection seen through the local API: names, events, recovery, errors.

use std::time::Duration;

use rollcall_simulator::FakeDreamClass;
use serde_json::{json, Value};

use crate::support::*;

async fn start_fake() -> (FakeDreamClass, std::net::SocketAddr) {
    let fake = FakeDreamClass::demo(1);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(rollcall_simulator::fake_dreamclass::serve(
        listener,
        fake.clone(),
        std::future::pending(),
    ));
    (fake, addr)
}

async fn wait_for(s: &TestServer, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let v = s.api(path).await;
        if ok(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never became as expected");
}

async fn post(s: &TestServer, path: &str, body: Value) -> Value {
    s.http
        .post(format!("{}{path}", s.api_base))
        .bearer_auth(&s.token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn names_arrive_and_the_stream_says_so() {
    let (fake, addr) = start_fake().await;
    let s = TestServer::start_with(|dir| {
        let mut c = signed_config(dir);
        c.settings.dreamclass = fake.api_config(addr);
        c
    })
    .await;
    let reference = wait_for(&s, "/api/reference", |r| {
        r["students"].as_array().is_some_and(|a| a.len() == 132)
    })
    .await;
    let student = &fake.school().students[0];
    let listed = reference["students"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["studentPeriodId"] == student.student_period_id)
        .unwrap();
    assert_eq!(listed["name"], student.full_name());
    let absent = reference["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["name"] == "Absent")
        .unwrap();
    assert_eq!(absent["category"], "absent");

    // Correcting a category tells every live stream to fetch the names again.
    let mut stream = s
        .http
        .get(format!("{}/api/stream", s.api_base))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    let r = s
        .http
        .put(format!("{}/api/statuses/5/category", s.api_base))
        .bearer_auth(&s.token)
        .json(&json!({"category": "excused"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut seen = String::new();
    while !seen.contains("event: reference") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("a reference event within 10 s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let reference = s.api("/api/reference").await;
    let left_early = reference["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["id"] == 5)
        .unwrap();
    assert_eq!(left_early["category"], "excused");
}

#[tokio::test]
async fn missed_changes_are_recovered_once_and_marked() {
    let (fake, addr) = start_fake().await;
    let s = TestServer::start_with(|dir| {
        let mut c = signed_config(dir);
        c.settings.dreamclass = fake.api_config(addr);
        c
    })
    .await;
    // A teacher takes attendance in DreamClass; no webhook arrives.
    let mut record: rollcall_core::AttendanceRecord =
        serde_json::from_value(record(501, 2, "missed")).unwrap();
    record.date = "2026-03-02".into();
    fake.upsert_attendance(record);
    let body = json!({"from": "2026-03-02", "to": "2026-03-02"});
    let report = post(&s, "/api/dreamclass/check", body.clone()).await;
    assert_eq!(report["recovered"], 1, "{report}");
    assert!(report["message"].as_str().unwrap().contains("recovered"));
    let changes = s.api("/api/changes?after=0").await;
    assert_eq!(changes["changes"][0]["source"], "recovered");
    assert_eq!(changes["changes"][0]["attendanceId"], 501);
    // Asking again recovers nothing more.
    let again = post(&s, "/api/dreamclass/check", body).await;
    assert_eq!(again["recovered"], 0, "{again}");
    assert_eq!(s.change_count(), 1);
}

#[tokio::test]
async fn a_refused_token_is_explained_in_plain_words() {
    let (fake, addr) = start_fake().await;
    let s = TestServer::start().await;
    let mut config = fake.api_config(addr);
    config.token = "revoked".into();
    let answer = post(
        &s,
        "/api/dreamclass/test",
        json!({"baseUrl": config.base_url, "token": "revoked", "tenant": config.tenant}),
    )
    .await;
    assert_eq!(answer["ok"], false);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("token was refused (401)"),
        "{answer}"
    );
    // Without a connection the app still works with ids.
    assert_eq!(s.post(&created(1, 1)).await.0, 200);
    let reference = s.api("/api/reference").await;
    assert_eq!(reference["students"], json!([]));
}
