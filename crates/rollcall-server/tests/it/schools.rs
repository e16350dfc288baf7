//! Several schools on one Rollcall: each school's own webhook URL, secret and tenant, against
//! the real listener; and the old URL for the single school.

use std::path::Path;

use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_server::settings::SchoolSettings;
use rollcall_server::{ServerConfig, WebhookSettings};
use serde_json::{json, Value};

use crate::support::*;

pub const NORTH_SECRET: &str = "north-secret";
pub const SOUTH_SECRET: &str = "south-secret";

pub fn school(id: &str, name: &str, tenant: &str, secret: &str) -> SchoolSettings {
    SchoolSettings {
        id: id.into(),
        name: name.into(),
        tenant: tenant.into(),
        webhook: WebhookSettings::signed(secret),
    }
}

pub fn north() -> SchoolSettings {
    school("north", "North Primary", "north-tenant", NORTH_SECRET)
}

pub fn south() -> SchoolSettings {
    school("south", "South High", "south-tenant", SOUTH_SECRET)
}

/// A server receiving `schools`, with no single school's secret.
pub fn schools_config(dir: &Path, schools: Vec<SchoolSettings>) -> ServerConfig {
    let mut config = ServerConfig::new(dir.to_path_buf());
    config.webhook_addr = "127.0.0.1:0".parse().unwrap();
    config.ui_addr = "127.0.0.1:0".parse().unwrap();
    config.settings.schools = schools;
    config
}

/// An ATTENDANCE_CREATED of record `id` naming `tenant`, signed with `secret`.
pub fn delivery(tenant: &str, secret: &str, id: i64) -> Value {
    let request_id = new_id();
    let key = SigningKey::new(secret, KeyEncoding::Text).unwrap();
    json!({
        "id": request_id,
        "data": record(id, 5, ""),
        "type": "ATTENDANCE_CREATED",
        "tenant": tenant,
        "signature": key.sign(&request_id),
        "timestamp": now_ms() - 1000,
    })
}

/// The URL of school `id` on this server's webhook listener.
pub fn url_of(s: &TestServer, id: &str) -> String {
    s.server.as_ref().unwrap().info().school_webhook_url(id)
}

pub async fn post_to(s: &TestServer, url: &str, body: &Value) -> (u16, Value) {
    let response = s.http.post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub fn attendance_of(s: &TestServer, tenant: &str) -> i64 {
    s.query(|c| {
        c.query_row(
            "SELECT COUNT(*) FROM attendance WHERE tenant = ?1",
            [tenant],
            |r| r.get(0),
        )
        .unwrap()
    })
}

/// The refused deliveries in the log, oldest first: (status, reason, school). The rejection
/// log is written without waiting, so this waits until `expected` are there.
pub async fn refusals(s: &TestServer, expected: usize) -> Vec<(i64, String, Option<String>)> {
    for _ in 0..200 {
        let rows: Vec<(i64, String, Option<String>)> = s.query(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT status, reason, school FROM deliveries WHERE outcome = 'rejected' \
                     ORDER BY seq",
                )
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        });
        if rows.len() >= expected {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the delivery log never reached {expected} refusals");
}

fn assert_sentence(answer: &Value) -> &str {
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(message.ends_with('.'), "a sentence: {answer}");
    message
}

#[tokio::test]
async fn each_schools_url_accepts_its_own_signed_delivery_and_stores_it() {
    let s = TestServer::start_with(|dir| schools_config(dir, vec![north(), south()])).await;
    let (status, answer) = post_to(
        &s,
        &url_of(&s, "north"),
        &delivery("north-tenant", NORTH_SECRET, 1),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = post_to(
        &s,
        &url_of(&s, "south"),
        &delivery("south-tenant", SOUTH_SECRET, 2),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(attendance_of(&s, "north-tenant"), 1);
    assert_eq!(attendance_of(&s, "south-tenant"), 1);
    let tenants: Vec<String> = s.query(|c| {
        let mut stmt = c
            .prepare("SELECT tenant FROM attendance ORDER BY attendance_id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    });
    assert_eq!(tenants, ["north-tenant", "south-tenant"]);
}

#[tokio::test]
async fn one_schools_secret_never_verifies_at_another_schools_url() {
    let s = TestServer::start_with(|dir| schools_config(dir, vec![north(), south()])).await;
    // North's own delivery, sent to South's URL.
    let (status, answer) = post_to(
        &s,
        &url_of(&s, "south"),
        &delivery("north-tenant", NORTH_SECRET, 1),
    )
    .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"], "signature_invalid", "{answer}");
    assert_sentence(&answer);
    // Naming South's tenant does not help: the signature is North's.
    let (status, answer) = post_to(
        &s,
        &url_of(&s, "south"),
        &delivery("south-tenant", NORTH_SECRET, 2),
    )
    .await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"], "signature_invalid", "{answer}");
    assert_eq!(s.attendance_count(), 0);
    assert_eq!(s.change_count(), 0);
    let logged = refusals(&s, 2).await;
    assert!(
        logged
            .iter()
            .all(|(status, _, school)| *status == 401 && school.as_deref() == Some("south")),
        "{logged:?}"
    );
}

#[tokio::test]
async fn a_delivery_naming_another_tenant_is_422_named_logged_and_not_stored() {
    let s = TestServer::start_with(|dir| schools_config(dir, vec![north(), south()])).await;
    // Signed with South's secret, at South's URL, but for North's tenant.
    let (status, answer) = post_to(
        &s,
        &url_of(&s, "south"),
        &delivery("north-tenant", SOUTH_SECRET, 1),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"], "tenant_mismatch", "{answer}");
    let message = assert_sentence(&answer);
    for named in ["north-tenant", "south-tenant", "South High"] {
        assert!(message.contains(named), "names {named}: {message}");
    }
    assert_eq!(s.attendance_count(), 0);
    assert_eq!(s.change_count(), 0);
    let logged = refusals(&s, 1).await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    let (status, reason, school) = &logged[0];
    assert_eq!(*status, 422);
    assert!(reason.starts_with("tenant_mismatch: "), "{reason}");
    assert_eq!(school.as_deref(), Some("south"));
}

#[tokio::test]
async fn an_unknown_school_is_404_with_a_sentence() {
    let s = TestServer::start_with(|dir| schools_config(dir, vec![north(), south()])).await;
    let (status, answer) = post_to(
        &s,
        &url_of(&s, "west"),
        &delivery("west-tenant", NORTH_SECRET, 1),
    )
    .await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"], "unknown_school", "{answer}");
    assert!(assert_sentence(&answer).contains("`west`"), "{answer}");
    assert_eq!(s.attendance_count(), 0);
    // An id anybody may type is not remembered as a school.
    let logged = refusals(&s, 1).await;
    assert_eq!(logged[0].2, None, "{logged:?}");

    // Without a list, a school's URL names the one address there is.
    let single = TestServer::start().await;
    let (status, answer) = post_to(&single, &url_of(&single, "north"), &created(1, 5)).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"], "unknown_school", "{answer}");
    assert!(
        assert_sentence(&answer).contains("/webhooks/dreamclass"),
        "{answer}"
    );
    assert_eq!(single.attendance_count(), 0);
}

#[tokio::test]
async fn the_old_url_keeps_working_for_the_single_school_and_a_list_of_one() {
    // No list: the single school, whose deliveries' tenant is not checked.
    let single = TestServer::start().await;
    assert_eq!(single.post(&created(1, 5)).await.0, 200);
    let other_tenant = delivery("any-tenant", SECRET, 2);
    assert_eq!(single.post(&other_tenant).await.0, 200);
    assert_eq!(single.attendance_count(), 2);

    // A list of one: the old URL is that school's, with its secret and its tenant.
    let one = TestServer::start_with(|dir| schools_config(dir, vec![north()])).await;
    let (status, answer) = one.post(&delivery("north-tenant", NORTH_SECRET, 1)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(attendance_of(&one, "north-tenant"), 1);
    let (status, answer) = one.post(&delivery("south-tenant", NORTH_SECRET, 2)).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"], "tenant_mismatch", "{answer}");
    let (status, answer) = one.post(&created(3, 5)).await;
    assert_eq!(status, 401, "the single school's old secret: {answer}");
    assert_eq!(one.attendance_count(), 1);
}

#[tokio::test]
async fn with_several_schools_the_old_url_refuses_with_a_sentence() {
    let s = TestServer::start_with(|dir| schools_config(dir, vec![north(), south()])).await;
    let (status, answer) = s.post(&delivery("north-tenant", NORTH_SECRET, 1)).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"], "school_required", "{answer}");
    assert!(
        assert_sentence(&answer).contains("/webhooks/dreamclass/<school>"),
        "{answer}"
    );
    assert_eq!(s.attendance_count(), 0);
}

#[tokio::test]
async fn with_several_schools_the_status_and_the_test_delivery_speak_of_every_school() {
    let s = TestServer::start_with(|dir| schools_config(dir, vec![north(), south()])).await;
    let status = s.api("/api/status").await;
    assert_eq!(
        status["secretConfigured"], true,
        "every school has its Secret"
    );
    let (code, answer) = s
        .call(reqwest::Method::POST, "/api/test-event", json!({}))
        .await;
    assert_eq!(code, 200);
    assert_eq!(answer["ok"], true, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("North Primary: The test delivery arrived")
            && message.contains("South High: The test delivery arrived"),
        "{message}"
    );

    // A school without its Secret: the status says so, and its test delivery is refused.
    let mut unsigned = south();
    unsigned.webhook = WebhookSettings::default();
    let t = TestServer::start_with(|dir| schools_config(dir, vec![north(), unsigned])).await;
    assert_eq!(t.api("/api/status").await["secretConfigured"], false);
    let (_, answer) = t
        .call(reqwest::Method::POST, "/api/test-event", json!({}))
        .await;
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("South High: Enter the Secret"),
        "{answer}"
    );
}
