//! Every row of the webhook answer table: status, error code, what is logged, what is stored.

use rollcall_core::config::BasicAuth;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn valid_created_updated_deleted_are_applied() {
    let s = TestServer::start().await;
    let t = now_ms() - 10_000;
    for (i, event_type) in [
        "ATTENDANCE_CREATED",
        "ATTENDANCE_UPDATED",
        "ATTENDANCE_DELETED",
    ]
    .into_iter()
    .enumerate()
    {
        let body = attendance(
            event_type,
            &new_id(),
            t + i as i64,
            record(52, 5 + i as i64, "x"),
        );
        let response = s
            .http
            .post(&s.webhook_url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-rollcall-outcome"], "applied");
        assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
    }
    assert_eq!(s.change_count(), 3);
    let deleted: bool = s.query(|c| {
        c.query_row(
            "SELECT deleted FROM attendance WHERE attendance_id = 52",
            [],
            |r| r.get(0),
        )
        .unwrap()
    });
    assert!(deleted);
    let outcomes = s.outcomes(3).await;
    assert!(outcomes
        .iter()
        .all(|(o, status, _)| o == "applied" && *status == 200));
}

#[tokio::test]
async fn published_sample_shape_is_accepted_with_its_own_signature() {
    // The published sample, re-signed with our secret (its secret is not published).
    let s = TestServer::start().await;
    let sample: Value = serde_json::from_str(
        r#"{"id":"dcba9199-0860-4324-8927-17df766a290e",
         "data":{"id":52,"date":"2025-06-19","type":"SESSION","classId":34,"comment":"sample comment",
                 "courseId":40,"statusId":5,"studentPeriodId":4},
         "type":"ATTENDANCE_CREATED","tenant":"my-school",
         "signature":"ssw0fpOJXiij/MRjaZfjSG8Toacmfr8UVKPa5JOKHDs=","timestamp":1727885988419}"#,
    )
    .unwrap();
    let (status, body) = s.post(&sample).await;
    assert_eq!(
        status, 401,
        "the sample's signature is not made with our secret"
    );
    assert_eq!(body["error"], "signature_invalid");
    let mut signed = sample.clone();
    signed["signature"] = key().sign("dcba9199-0860-4324-8927-17df766a290e").into();
    assert_eq!(s.post(&signed).await.0, 200);
    let rows = s.api("/api/attendance?date=2025-06-19").await;
    assert_eq!(rows["records"][0]["comment"], "sample comment");
    assert_eq!(rows["records"][0]["studentPeriodId"], 4);
}

#[tokio::test]
async fn same_id_same_body_is_a_duplicate_and_changes_nothing() {
    let s = TestServer::start().await;
    let body = created(1, 1);
    assert_eq!(s.post(&body).await.0, 200);
    // The same content re-serialised with other spacing and key order still counts as the same.
    let text = serde_json::to_string_pretty(&body).unwrap();
    let (status, answer) = s.post_raw(text, "application/json").await;
    assert_eq!((status, answer), (200, json!({})));
    assert_eq!(s.change_count(), 1);
    let outcomes = s.outcomes(2).await;
    assert_eq!(outcomes[1].0, "duplicate");
}

#[tokio::test]
async fn same_id_different_body_is_refused_as_conflict() {
    let s = TestServer::start().await;
    let first = created(1, 1);
    assert_eq!(s.post(&first).await.0, 200);
    let mut forged = first.clone();
    forged["data"]["statusId"] = 2.into();
    let (status, body) = s.post(&forged).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"], "request_id_conflict");
    let stored: i64 = s.query(|c| {
        c.query_row(
            "SELECT status_id FROM attendance WHERE attendance_id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap()
    });
    assert_eq!(stored, 1, "the forged status is not stored");
    let outcomes = s.outcomes(2).await;
    assert_eq!(outcomes[1].0, "conflict");
    assert_eq!(outcomes[1].1, 409);
    assert!(outcomes[1].2.as_deref().unwrap().contains("replay"));
}

#[tokio::test]
async fn other_dreamclass_types_are_logged_as_ignored() {
    let s = TestServer::start().await;
    for event_type in ["STUDENT_PERIOD_CREATED", "CLASS_UPDATED", "SOMETHING_NEW"] {
        let id = new_id();
        let body = json!({
            "id": id, "type": event_type, "tenant": TENANT, "timestamp": now_ms(),
            "signature": key().sign(&id),
            "data": {"id": 9, "active": true, "studentId": 77, "addedAt": "2025-01-01"}
        });
        assert_eq!(s.post(&body).await, (200, json!({})), "{event_type}");
    }
    assert_eq!(s.attendance_count(), 0);
    let outcomes = s.outcomes(3).await;
    assert!(outcomes.iter().all(|(o, _, _)| o == "ignored"));
}

#[tokio::test]
async fn a_names_webhook_renames_what_the_office_sees() {
    let s = TestServer::start().await;
    let id = new_id();
    let body = json!({
        "id": id, "type": "CLASS_UPDATED", "tenant": TENANT, "timestamp": now_ms(),
        "signature": key().sign(&id),
        "data": {"id": 31, "name": "Year 7 Alpha"}
    });
    assert_eq!(s.post(&body).await, (200, json!({})));
    // The names are saved after the answer, so the office sees them a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let reference = s.api("/api/reference").await;
        if reference["classes"] == json!([{"tenant": TENANT, "id": 31, "name": "Year 7 Alpha"}]) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the class was never renamed: {reference}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(s.attendance_count(), 0, "names are not attendance");
}

/// Posts `body` and checks the answer; then checks that nothing was stored and the refusal
/// was logged as rejected with the same status.
async fn assert_rejected(s: &TestServer, response: (u16, Value), status: u16, code: &str) {
    assert_eq!(response.0, status, "answer: {}", response.1);
    assert_eq!(response.1["error"], code, "answer: {}", response.1);
    assert!(
        response.1["message"]
            .as_str()
            .is_some_and(|m| m.ends_with('.')),
        "a sentence: {}",
        response.1
    );
    assert_eq!(s.attendance_count(), 0);
    assert_eq!(s.change_count(), 0);
}

#[tokio::test]
async fn signature_missing_or_wrong_is_401_and_logged() {
    let s = TestServer::start().await;
    let mut body = created(1, 1);
    body.as_object_mut().unwrap().remove("signature");
    assert_rejected(&s, s.post(&body).await, 401, "signature_missing").await;

    let mut body = created(1, 1);
    body["signature"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    assert_rejected(&s, s.post(&body).await, 401, "signature_invalid").await;

    // A valid signature, but of another request id.
    let mut body = created(1, 1);
    body["signature"] = key().sign(&new_id()).into();
    assert_rejected(&s, s.post(&body).await, 401, "signature_invalid").await;

    let outcomes = s.outcomes(3).await;
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes
        .iter()
        .all(|(o, st, _)| o == "rejected" && *st == 401));
}

#[tokio::test]
async fn basic_auth_when_configured() {
    let s = TestServer::start_with(|dir| {
        let mut c = signed_config(dir);
        c.settings.webhook.basic_auth = Some("office:letmein".parse().unwrap());
        c
    })
    .await;
    let body = created(1, 1);
    assert_rejected(&s, s.post(&body).await, 401, "basic_auth_required").await;
    let wrong: BasicAuth = "office:wrong".parse().unwrap();
    let response = s
        .http
        .post(&s.webhook_url)
        .header("authorization", wrong.header_value())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"Rollcall\""
    );
    let right: BasicAuth = "office:letmein".parse().unwrap();
    let response = s
        .http
        .post(&s.webhook_url)
        .header("authorization", right.header_value())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(s.attendance_count(), 1);
}

#[tokio::test]
async fn no_secret_refuses_everything_unless_unsigned_is_allowed() {
    let s = TestServer::start_with(|dir| {
        let mut c = signed_config(dir);
        c.settings.webhook.secret = None;
        c
    })
    .await;
    assert_rejected(
        &s,
        s.post(&created(1, 1)).await,
        401,
        "secret_not_configured",
    )
    .await;

    let s = TestServer::start_with(|dir| {
        let mut c = signed_config(dir);
        c.settings.webhook.secret = None;
        c.settings.webhook.allow_unsigned = true;
        c
    })
    .await;
    let mut body = created(1, 1);
    body["signature"] = "".into();
    assert_eq!(s.post(&body).await.0, 200);
    assert_eq!(s.attendance_count(), 1);
}

#[tokio::test]
async fn not_json_is_400() {
    let s = TestServer::start().await;
    for body in [&b"{\"id\": "[..], b"not json", b"", b"\xff\xfe{}"] {
        let response = s.post_raw(body.to_vec(), "application/json").await;
        assert_rejected(&s, response, 400, "invalid_json").await;
    }
    assert_eq!(s.outcomes(4).await.len(), 4);
}

#[tokio::test]
async fn wrong_fields_are_422_and_named() {
    let s = TestServer::start().await;
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("`id`", Box::new(|b| b["id"] = "not-a-uuid".into())),
        (
            "`type`",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("type");
            }),
        ),
        ("`tenant`", Box::new(|b| b["tenant"] = 5.into())),
        (
            "`timestamp`",
            Box::new(|b| b["timestamp"] = "yesterday".into()),
        ),
        ("`data`", Box::new(|b| b["data"] = "x".into())),
        (
            "`data.date`",
            Box::new(|b| b["data"]["date"] = "2025-13-01".into()),
        ),
        (
            "`data.classId`",
            Box::new(|b| b["data"]["classId"] = "34".into()),
        ),
        (
            "`data.statusId`",
            Box::new(|b| {
                b["data"].as_object_mut().unwrap().remove("statusId");
            }),
        ),
        (
            "`data.comment`",
            Box::new(|b| b["data"]["comment"] = Value::Null),
        ),
    ];
    for (field, mutate) in cases {
        let mut body = created(1, 1);
        mutate(&mut body);
        let id = body["id"].as_str().unwrap_or("").to_string();
        if uuid::Uuid::try_parse(&id).is_ok() {
            body["signature"] = key().sign(&id).into();
        }
        let response = s.post(&body).await;
        assert!(
            response.1["message"].as_str().unwrap_or("").contains(field),
            "{field}: {}",
            response.1
        );
        assert_rejected(&s, response, 422, "invalid_field").await;
    }
    let outcomes = s.outcomes(9).await;
    assert!(outcomes
        .iter()
        .all(|(o, st, _)| o == "rejected" && *st == 422));
}

#[tokio::test]
async fn timestamp_far_in_the_future_is_422() {
    let s = TestServer::start().await;
    let id = new_id();
    let body = attendance(
        "ATTENDANCE_CREATED",
        &id,
        now_ms() + 6 * 60_000,
        record(1, 1, ""),
    );
    assert_rejected(&s, s.post(&body).await, 422, "timestamp_in_future").await;
    // Within the allowance (clock skew) is fine.
    let id = new_id();
    let body = attendance(
        "ATTENDANCE_CREATED",
        &id,
        now_ms() + 60_000,
        record(1, 1, ""),
    );
    assert_eq!(s.post(&body).await.0, 200);
}

#[tokio::test]
async fn body_over_64_kib_is_413_and_not_stored() {
    let s = TestServer::start().await;
    let mut body = created(1, 1);
    body["data"]["comment"] = "x".repeat(70 * 1024).into();
    let bytes = serde_json::to_vec(&body).unwrap();
    assert_rejected(
        &s,
        s.post_raw(bytes.clone(), "application/json").await,
        413,
        "body_too_large",
    )
    .await;
    // Also when the sender does not announce the length (chunked).
    let stream = futures::stream::iter(
        bytes
            .chunks(8192)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let response = s
        .post_raw(reqwest::Body::wrap_stream(stream), "application/json")
        .await;
    assert_rejected(&s, response, 413, "body_too_large").await;
    let logged = s.outcomes(2).await;
    assert!(logged
        .iter()
        .all(|(o, st, _)| o == "rejected" && *st == 413));
    let kept: i64 = s.count("SELECT COALESCE(MAX(LENGTH(body)), 0) FROM deliveries");
    assert_eq!(kept, 0, "the oversized body is not stored");
}

#[tokio::test]
async fn content_type_not_json_is_415() {
    let s = TestServer::start().await;
    let bytes = serde_json::to_vec(&created(1, 1)).unwrap();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let response = s.post_raw(bytes.clone(), content_type).await;
        assert_rejected(&s, response, 415, "unsupported_media_type").await;
    }
    // Parameters are fine.
    let response = s.post_raw(bytes, "application/json; charset=utf-8").await;
    assert_eq!(response.0, 200);
}

#[tokio::test]
async fn other_methods_and_paths() {
    let s = TestServer::start().await;
    let get = s.http.get(&s.webhook_url).send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(
        get.json::<Value>().await.unwrap()["error"],
        "method_not_allowed"
    );
    let put = s.http.put(&s.webhook_url).send().await.unwrap();
    assert_eq!(put.status(), 405);
    let base = s.webhook_url.trim_end_matches("/webhooks/dreamclass");
    for path in ["/", "/api/status", "/webhooks"] {
        let response = s.http.post(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let health = s.http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(s.count("SELECT COUNT(*) FROM deliveries"), 0);
    // A school's address on a Rollcall of one school: refused with a sentence and logged, so
    // the office sees where DreamClass sends (tests/it/schools.rs has the rest).
    let response = s
        .http
        .post(format!("{base}/webhooks/dreamclass/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "unknown_school"
    );
    assert_eq!(s.outcomes(1).await[0].1, 404);
}

#[tokio::test]
async fn storage_that_cannot_commit_is_503_and_service_resumes() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&created(1, 1)).await.0, 200);
    // Another program holds the write lock for longer than the writer waits.
    let blocker = rollcall_core::rusqlite::Connection::open(s.db_path()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (status, body) = s.post(&created(2, 1)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "storage_unavailable");
    assert!(body["message"].as_str().unwrap().contains("send it again"));
    let health = s
        .http
        .get(s.webhook_url.replace("/webhooks/dreamclass", "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    // The retry DreamClass would send is stored normally.
    assert_eq!(s.post(&created(2, 1)).await.0, 200);
    assert_eq!(s.attendance_count(), 2);
}

#[tokio::test]
async fn rejected_log_is_capped() {
    // The cap is enforced by pruning; check the pruning keeps the newest entries and that the
    // body kept per entry is bounded.
    let s = TestServer::start().await;
    let mut body = created(1, 1);
    body["signature"] = "AAAA".into();
    body["data"]["comment"] = "y".repeat(30_000).into();
    let bytes = serde_json::to_vec(&body).unwrap();
    for _ in 0..20 {
        assert_eq!(s.post_raw(bytes.clone(), "application/json").await.0, 401);
    }
    s.outcomes(20).await;
    let longest: i64 = s.count("SELECT MAX(LENGTH(body)) FROM deliveries");
    assert_eq!(
        longest, 2048,
        "only the first 2 KiB of a refused body is kept"
    );
    let sizes: i64 = s.count("SELECT MIN(body_bytes) FROM deliveries");
    assert_eq!(sizes as usize, bytes.len(), "the received size is recorded");
}
