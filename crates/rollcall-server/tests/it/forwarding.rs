//! Forwarding accepted deliveries to another system: signed anew with the forwarding
//! secret, only once durable, never holding up DreamClass's answer, tried again after a
//! failure, and shown on the Deliveries screen.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_server::forwarding::ForwardingRetry;
use rollcall_server::settings::ForwardingSettings;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use crate::support::{created, key, signed_config, TestServer};

const FORWARD_SECRET: &str = "the-other-systems-secret";

/// The other system: checks each delivery's signature with its own secret, answers 503 to
/// the first request and 400 to record 99, and holds every answer until the test lets it go.
#[derive(Clone)]
struct Receiver {
    accepted: Arc<Mutex<Vec<Value>>>,
    requests: Arc<Mutex<u32>>,
    bad_signatures: Arc<Mutex<u32>>,
    gate: Arc<Semaphore>,
}

async fn receive(State(r): State<Receiver>, Json(body): Json<Value>) -> StatusCode {
    r.gate.acquire().await.unwrap().forget();
    let n = {
        let mut requests = r.requests.lock().unwrap();
        *requests += 1;
        *requests
    };
    if n == 1 {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if body["data"]["id"] == 99 {
        return StatusCode::BAD_REQUEST;
    }
    let forward = SigningKey::new(FORWARD_SECRET, KeyEncoding::Text).unwrap();
    let id = body["id"].as_str().unwrap_or_default();
    if !forward.verify(id, body["signature"].as_str().unwrap_or_default()) {
        *r.bad_signatures.lock().unwrap() += 1;
        return StatusCode::UNAUTHORIZED;
    }
    r.accepted.lock().unwrap().push(body);
    StatusCode::OK
}

async fn start_receiver() -> (Receiver, String) {
    let receiver = Receiver {
        accepted: Arc::default(),
        requests: Arc::default(),
        bad_signatures: Arc::default(),
        gate: Arc::new(Semaphore::new(0)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/incoming", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/incoming", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, url)
}

async fn forwarding_status(s: &TestServer, until: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let status = s.api("/api/forwarding").await;
        if until(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("forwarding never reached the expected state");
}

#[tokio::test]
async fn accepted_deliveries_are_forwarded_signed_anew_without_holding_up_the_answer() {
    let (receiver, url) = start_receiver().await;
    let forward_to = url.clone();
    let s = TestServer::start_with(move |dir| {
        let mut config = signed_config(dir);
        config.settings.forwarding = ForwardingSettings {
            url: Some(forward_to),
            secret: Some(FORWARD_SECRET.into()),
        };
        config.forwarding_retry = ForwardingRetry {
            first_wait: Duration::from_millis(10),
            longest_wait: Duration::from_millis(50),
            ..ForwardingRetry::default()
        };
        config
    })
    .await;

    let delivery = created(1, 2);
    // The other system holds its answer: DreamClass is answered all the same (a listener
    // that waited for forwarding would not answer at all).
    let answered = tokio::time::timeout(Duration::from_secs(10), s.post(&delivery)).await;
    assert_eq!(
        answered.expect("answered without waiting for forwarding").0,
        200
    );
    assert_eq!(s.post(&delivery).await.0, 200, "a duplicate");
    assert_eq!(s.post(&created(2, 2)).await.0, 200);
    let waiting = forwarding_status(&s, |st| st["waiting"] == 2).await;
    assert_eq!(
        waiting["forwarded"], 0,
        "nothing got through the held receiver yet"
    );
    assert_eq!(waiting["url"], url.as_str());
    assert_eq!(waiting["secretConfigured"], true);

    receiver.gate.add_permits(100);
    let done = forwarding_status(&s, |st| st["forwarded"] == 2).await;
    assert_eq!(done["waiting"], 0);
    assert!(done["failedTries"].as_u64().unwrap() >= 1);
    let failure = done["lastFailure"]["message"].as_str().unwrap();
    assert!(
        failure.contains("refused a delivery (HTTP 503)"),
        "{failure}"
    );
    assert!(failure.contains("tries again"), "{failure}");

    let accepted = receiver.accepted.lock().unwrap().clone();
    assert_eq!(
        accepted.len(),
        2,
        "each delivery once; the duplicate is not forwarded"
    );
    assert_eq!(*receiver.bad_signatures.lock().unwrap(), 0);
    assert_eq!(
        accepted[0]["id"], delivery["id"],
        "in arrival order, retried first"
    );
    assert_eq!(accepted[0]["data"], delivery["data"]);
    assert_eq!(accepted[0]["timestamp"], delivery["timestamp"]);
    let id = delivery["id"].as_str().unwrap();
    assert!(
        !key().verify(id, accepted[0]["signature"].as_str().unwrap()),
        "signed anew, not with DreamClass's secret"
    );

    // One the other system refuses itself is given up at once, without holding up the next;
    // Rollcall's own test delivery is not forwarded.
    let tries_before = done["failedTries"].as_u64().unwrap();
    assert_eq!(s.post(&created(99, 2)).await.0, 200);
    let test_event: Value = s
        .http
        .post(format!("{}/api/test-event", s.api_base))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(test_event["ok"], true, "{test_event}");
    assert_eq!(s.post(&created(3, 2)).await.0, 200);
    let after = forwarding_status(&s, |st| {
        st["waiting"] == 0 && st["forwarded"].as_u64().unwrap() >= 3
    })
    .await;
    assert_eq!(after["forwarded"], 3);
    assert_eq!(after["givenUp"], 1);
    assert_eq!(
        after["failedTries"].as_u64().unwrap(),
        tries_before + 1,
        "tried once"
    );
    let failure = after["lastFailure"]["message"].as_str().unwrap();
    assert!(failure.contains("(HTTP 400)"), "{failure}");
    assert!(failure.contains("not sent again"), "{failure}");
    let accepted = receiver.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), 3);
    assert!(accepted.iter().all(|b| b["type"] != "ROLLCALL_TEST"));
    assert_eq!(accepted[2]["data"]["id"], 3);
    s.stop().await;
}

#[tokio::test]
async fn the_forwarding_setting_is_saved_and_checked() {
    let s = TestServer::start().await;
    let put = |body: Value| {
        let (http, base, token) = (s.http.clone(), s.api_base.clone(), s.token.clone());
        async move {
            let response = http
                .put(format!("{base}/api/settings/forwarding"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let off = s.api("/api/forwarding").await;
    assert_eq!(off["url"], Value::Null);
    let (code, answer) = put(json!({"url": "not a web address"})).await;
    assert_eq!(code, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("is not a web address"));
    let (code, _) = put(json!({"url": "https://other.example.org/in", "secret": "s"})).await;
    assert_eq!(code, 200);
    let on = s.api("/api/forwarding").await;
    assert_eq!(on["url"], "https://other.example.org/in");
    assert_eq!(on["secretConfigured"], true);
    let (code, _) = put(json!({"url": "https://other.example.org/in"})).await;
    assert_eq!(code, 200);
    assert_eq!(
        s.api("/api/forwarding").await["secretConfigured"],
        true,
        "the secret is kept unless cleared"
    );
    let (code, _) = put(json!({"url": null, "clearSecret": true})).await;
    assert_eq!(code, 200);
    let cleared = s.api("/api/forwarding").await;
    assert_eq!(
        (cleared["url"].clone(), cleared["secretConfigured"].clone()),
        (Value::Null, json!(false))
    );
    // Saved in the settings file (the secret too: tests have no keyring).
    let (code, _) = put(json!({"url": "https://other.example.org/in", "secret": "kept"})).await;
    assert_eq!(code, 200);
    let dir = s.stop().await;
    let text = std::fs::read_to_string(dir.path().join("rollcall.toml")).unwrap();
    assert!(
        text.contains("forward_url = \"https://other.example.org/in\""),
        "{text}"
    );
    assert!(text.contains("forward_secret = \"kept\""), "{text}");
}
