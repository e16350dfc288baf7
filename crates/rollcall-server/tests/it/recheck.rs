//! "Re-check with the current secret": deliveries refused while the Secret was mistyped are
//! verified again once it is right, applied once with every ordering and duplicate rule, and
//! the inspector says what became of each. On SQLite and on PostgreSQL.

use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_server::WebhookSettings;
use rollcall_store_postgres::cluster::{Durability, TestCluster};
use serde_json::{json, Value};

use crate::support::{self, attendance, new_id, now_ms, record, signed_config, TestServer, SECRET};

/// The rejected log entries, oldest first, once `expected` are there (they are written
/// without waiting).
async fn rejected(s: &TestServer, expected: usize) -> Vec<Value> {
    for _ in 0..400 {
        let list = s.api("/api/deliveries?outcome=rejected&limit=1000").await;
        let mut rows = list["deliveries"].as_array().unwrap().clone();
        if rows.len() >= expected {
            rows.reverse();
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the delivery log never held {expected} rejected entries");
}

/// A server whose Secret was mistyped.
fn mistyped(dir: &std::path::Path) -> rollcall_server::ServerConfig {
    let mut config = signed_config(dir);
    config.settings.webhook = WebhookSettings::signed("mistyped-secret");
    config
}

fn signed_by(secret: &str, mut body: Value) -> Value {
    let key = SigningKey::new(secret, KeyEncoding::Text).unwrap();
    let id = body["id"].as_str().unwrap().to_string();
    body["signature"] = key.sign(&id).into();
    body
}

fn results_by_request(report: &Value) -> Vec<(String, String)> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["requestId"].as_str().unwrap_or("").to_string(),
                r["result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The whole story on one server: refused while mistyped, corrected, re-checked twice.
async fn a_mistyped_secret_is_cured_once(s: &TestServer) {
    let t0 = now_ms() - 60_000;
    let first = attendance("ATTENDANCE_CREATED", &new_id(), t0, record(1, 2, ""));
    let newer = attendance("ATTENDANCE_UPDATED", &new_id(), t0 + 10, record(1, 3, ""));
    let retried = attendance("ATTENDANCE_CREATED", &new_id(), t0, record(2, 2, ""));
    let overtaken = attendance("ATTENDANCE_CREATED", &new_id(), t0, record(3, 2, ""));
    let forged = signed_by(
        "someone-else",
        attendance("ATTENDANCE_CREATED", &new_id(), t0, record(4, 2, "")),
    );
    let mut unsigned = attendance("ATTENDANCE_CREATED", &new_id(), t0, record(5, 2, ""));
    unsigned.as_object_mut().unwrap().remove("signature");
    let long = attendance(
        "ATTENDANCE_CREATED",
        &new_id(),
        t0,
        record(6, 2, &"x".repeat(3000)),
    );
    let refused = [
        &first, &newer, &retried, &overtaken, &forged, &unsigned, &long,
    ];
    for body in refused {
        assert_eq!(
            s.post(body).await.0,
            401,
            "refused while the Secret is mistyped"
        );
    }
    // Refused for another reason: never offered for a re-check.
    assert_eq!(
        s.post_raw("{not json", "application/json").await.0,
        400,
        "not JSON"
    );
    let log = rejected(s, refused.len() + 1).await;
    let arrival_of = |body: &Value| {
        log.iter()
            .find(|d| d["requestId"] == body["id"])
            .map(|d| d["receivedAt"].as_i64().unwrap())
            .unwrap()
    };
    let (first_at, newer_at) = (arrival_of(&first), arrival_of(&newer));

    // Before the Secret is corrected, a re-check finds nothing that verifies (and a cut
    // body is decided for good).
    let (code, early) = s
        .call(reqwest::Method::POST, "/api/deliveries/recheck", json!({}))
        .await;
    assert_eq!(code, 200, "{early}");
    let early = results_by_request(&early);
    assert_eq!(early.len(), refused.len());
    for (id, result) in early {
        let expected = if id == long["id"] {
            "body_not_kept"
        } else {
            "still_unverified"
        };
        assert_eq!(result, expected, "{id}");
    }
    assert_eq!(
        s.api("/api/attendance?limit=100").await["records"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "nothing applied with the mistyped Secret"
    );

    // The office corrects the Secret; DreamClass retries one request and sends a newer
    // version of another record meanwhile.
    let form = json!({"secret": SECRET, "keyEncoding": "text", "basicAuth": null});
    assert_eq!(
        s.call(reqwest::Method::PUT, "/api/settings/webhook", form)
            .await
            .0,
        200
    );
    assert_eq!(s.post(&retried).await.0, 200);
    let newest = attendance("ATTENDANCE_UPDATED", &new_id(), t0 + 50, record(3, 4, ""));
    assert_eq!(s.post(&newest).await.0, 200);

    let (code, report) = s
        .call(reqwest::Method::POST, "/api/deliveries/recheck", json!({}))
        .await;
    assert_eq!(code, 200, "{report}");
    let expected: Vec<(String, String)> = [
        (&first, "applied"),
        (&newer, "applied"),
        (&retried, "duplicate"),
        (&overtaken, "superseded"),
        (&forged, "still_unverified"),
        (&unsigned, "still_unverified"),
    ]
    .iter()
    .map(|(b, r)| (b["id"].as_str().unwrap().to_string(), r.to_string()))
    .collect();
    assert_eq!(results_by_request(&report), expected);
    assert_eq!(report["more"], 0);
    assert_eq!(report["nextAfterSeq"], Value::Null);
    assert_eq!(
        report["summary"],
        "Re-checked 6 refused deliveries: 2 applied, 1 already received, 1 older than the \
         stored version, 2 still do not verify."
    );

    let records = s.api("/api/attendance?limit=100").await;
    let status_of = |id: i64| {
        records["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["attendanceId"] == id)
            .map(|r| r["statusId"].as_i64().unwrap())
    };
    assert_eq!(status_of(1), Some(3), "the newest version wins");
    assert_eq!(status_of(2), Some(2));
    assert_eq!(
        status_of(3),
        Some(4),
        "an older re-checked version changes nothing"
    );
    assert_eq!(status_of(4), None, "a forged delivery stays refused");
    let history = s
        .api(&format!("/api/records/{}/1/history", support::TENANT))
        .await;
    let changes = history["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(
        changes[0]["recordedAt"], first_at,
        "a re-applied delivery keeps its original arrival time"
    );
    assert_eq!(changes[1]["recordedAt"], newer_at);
    let history = s
        .api(&format!("/api/records/{}/2/history", support::TENANT))
        .await;
    assert_eq!(
        history["changes"].as_array().unwrap().len(),
        1,
        "applied once"
    );

    // The refused entries say what their re-check found.
    let log = rejected(s, refused.len() + 1).await;
    let mark = |body: &Value| {
        let entry = log.iter().find(|d| d["requestId"] == body["id"]).unwrap();
        (entry["recheck"].clone(), entry["recheckedAt"].clone())
    };
    assert_eq!(mark(&first).0, "applied");
    assert_eq!(mark(&retried).0, "duplicate");
    assert_eq!(mark(&long).0, "body_not_kept");
    assert_eq!(mark(&forged).0, "still_unverified");
    let not_json = log.iter().find(|d| d["requestId"].is_null()).unwrap();
    assert_eq!(not_json["recheck"], Value::Null);

    // A second re-check applies nothing twice: only what still does not verify is offered.
    let (code, again) = s
        .call(reqwest::Method::POST, "/api/deliveries/recheck", json!({}))
        .await;
    assert_eq!(code, 200, "{again}");
    let ids: Vec<_> = results_by_request(&again);
    assert_eq!(
        ids,
        [
            (
                forged["id"].as_str().unwrap().into(),
                "still_unverified".into()
            ),
            (
                unsigned["id"].as_str().unwrap().into(),
                "still_unverified".into()
            ),
        ]
    );
    let history = s
        .api(&format!("/api/records/{}/1/history", support::TENANT))
        .await;
    assert_eq!(history["changes"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_mistyped_secret_is_cured_once_on_sqlite() {
    let s = TestServer::start_with(mistyped).await;
    a_mistyped_secret_is_cured_once(&s).await;
    s.stop().await;
}

#[test]
fn a_mistyped_secret_is_cured_once_on_postgres() {
    // The cluster's set-up uses blocking clients, so it comes before the runtime.
    let cluster = TestCluster::start(Durability::Fast).unwrap();
    let url = cluster.create_database().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let s = TestServer::start_with(|dir| {
            let mut config = mistyped(dir);
            config.database_url = Some(url);
            config
        })
        .await;
        a_mistyped_secret_is_cured_once(&s).await;
        s.stop().await;
    });
}

/// A run re-checks at most 200; the report says how many remain and where to continue, and
/// a time range limits which refused deliveries are looked at.
#[tokio::test]
async fn a_recheck_is_bounded_and_continues_where_it_stopped() {
    let s = TestServer::start_with(mistyped).await;
    let mut bodies = Vec::new();
    let total = 230;
    for n in 0..total {
        let body = attendance(
            "ATTENDANCE_CREATED",
            &new_id(),
            now_ms() - 1000,
            record(100 + n, 2, ""),
        );
        assert_eq!(s.post(&body).await.0, 401);
        bodies.push(body);
        if n == 199 {
            // Refusals are kept one by one in a burst of 200, then at 50 a second (a flood
            // beyond that is counted, not kept: crate::rejections); DreamClass's own pace.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
    let log = rejected(&s, total as usize).await;
    let form = json!({"secret": SECRET, "keyEncoding": "text", "basicAuth": null});
    assert_eq!(
        s.call(reqwest::Method::PUT, "/api/settings/webhook", form)
            .await
            .0,
        200
    );

    // A range around the tenth delivery only.
    let at = log[9]["receivedAt"].as_i64().unwrap();
    let (code, one) = s
        .call(
            reqwest::Method::POST,
            "/api/deliveries/recheck",
            json!({"from": at, "to": at + 1}),
        )
        .await;
    assert_eq!(code, 200, "{one}");
    let in_range = results_by_request(&one);
    assert!(!in_range.is_empty());
    assert!(in_range.iter().all(|(_, r)| r == "applied"));
    assert!(in_range.iter().any(|(id, _)| *id == bodies[9]["id"]));
    assert!(in_range.len() < 30, "the range is kept");

    let (code, page) = s
        .call(reqwest::Method::POST, "/api/deliveries/recheck", json!({}))
        .await;
    assert_eq!(code, 200, "{page}");
    let done = page["results"].as_array().unwrap().len();
    assert_eq!(done, 200, "at most 200 a run");
    let remaining = total as usize - in_range.len() - done;
    assert_eq!(page["more"], remaining as u64);
    assert!(page["summary"]
        .as_str()
        .unwrap()
        .contains(&format!("{remaining} more wait")));
    let next = page["nextAfterSeq"].as_i64().expect("where to continue");
    let (code, rest) = s
        .call(
            reqwest::Method::POST,
            "/api/deliveries/recheck",
            json!({"afterSeq": next}),
        )
        .await;
    assert_eq!(code, 200, "{rest}");
    assert_eq!(rest["results"].as_array().unwrap().len(), remaining);
    assert_eq!(rest["more"], 0);
    let records = s.api("/api/attendance?limit=1000").await;
    assert_eq!(records["records"].as_array().unwrap().len(), total as usize);
    s.stop().await;
}

#[tokio::test]
async fn a_recheck_needs_a_secret() {
    let s = TestServer::start_with(|dir| {
        let mut config = signed_config(dir);
        config.settings.webhook = WebhookSettings::default();
        config
    })
    .await;
    let (code, answer) = s
        .call(reqwest::Method::POST, "/api/deliveries/recheck", json!({}))
        .await;
    assert_eq!(code, 409, "{answer}");
    assert_eq!(answer["error"], "secret_not_configured");
    let (code, _) = s
        .call(
            reqwest::Method::POST,
            "/api/deliveries/recheck",
            json!({"from": 10, "to": 5}),
        )
        .await;
    assert_eq!(code, 400, "a range that ends before it starts");
    s.stop().await;
}
