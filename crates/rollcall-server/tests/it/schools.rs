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
        api: Default::default(),
        reports: None,
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

/// A fake DreamClass account of `tenant` (its own token, its own student names: seed), served
/// on loopback.
async fn fake_account(tenant: &str, seed: u64) -> (rollcall_simulator::FakeDreamClass, String) {
    let mut school = rollcall_simulator::DemoSchool::generate(seed);
    school.tenant = tenant.into();
    school.classes[0].name = format!("{} {}", school.classes[0].name, tenant);
    let fake = rollcall_simulator::FakeDreamClass::new(school, format!("{tenant}-token"));
    let base_url = rollcall_simulator::fake_dreamclass::serve_on_loopback(&fake)
        .await
        .base_url;
    (fake, base_url)
}

/// "Check for missed changes" for 2 March 2026: the report.
async fn check_2_march(s: &TestServer) -> Value {
    let body = json!({"from": "2026-03-02", "to": "2026-03-02"});
    s.call(reqwest::Method::POST, "/api/dreamclass/check", body)
        .await
        .1
}

/// North and South, each with its own DreamClass account (and token) run here.
async fn two_schools_with_their_own_accounts() -> (
    TestServer,
    rollcall_simulator::FakeDreamClass,
    rollcall_simulator::FakeDreamClass,
) {
    let (north_api, north_url) = fake_account("north-tenant", 1).await;
    let (south_api, south_url) = fake_account("south-tenant", 2).await;
    let mut schools = vec![north(), south()];
    for (school, (fake, url)) in schools
        .iter_mut()
        .zip([(&north_api, &north_url), (&south_api, &south_url)])
    {
        school.api = rollcall_server::settings::SchoolApi {
            token: Some(format!("{}-token", fake.school().tenant)),
            base_url: Some(url.clone()),
        };
    }
    let s = TestServer::start_with(move |dir| schools_config(dir, schools)).await;
    (s, north_api, south_api)
}

/// The names `/api/reference` lists of `kind` for `tenant`: id → name.
fn names_of(reference: &Value, kind: &str, id_field: &str, tenant: &str) -> Vec<(i64, String)> {
    reference[kind]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["tenant"] == tenant)
        .map(|n| {
            (
                n[id_field].as_i64().unwrap(),
                n["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_school_reads_its_names_and_missed_changes_from_its_own_dreamclass_account() {
    let (s, north_api, south_api) = two_schools_with_their_own_accounts().await;

    // Names: each school's from its own account, under its own tenant.
    let mut reference = Value::Null;
    for _ in 0..200 {
        reference = s.api("/api/reference").await;
        let counts = ["north-tenant", "south-tenant"]
            .map(|t| names_of(&reference, "students", "studentPeriodId", t).len());
        if counts
            == [
                north_api.school().students.len(),
                south_api.school().students.len(),
            ]
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for fake in [&north_api, &south_api] {
        let tenant = &fake.school().tenant;
        let students = names_of(&reference, "students", "studentPeriodId", tenant);
        let expected: Vec<(i64, String)> = fake
            .school()
            .students
            .iter()
            .map(|st| (st.student_period_id, st.full_name()))
            .collect();
        let mut students = students;
        students.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(
            students, expected,
            "{tenant}'s students, from its own account"
        );
        let first_class = &fake.school().classes[0];
        assert!(
            names_of(&reference, "classes", "id", tenant)
                .contains(&(first_class.id, first_class.name.clone())),
            "{tenant}'s class {} is named {}: {reference}",
            first_class.id,
            first_class.name
        );
    }
    assert_eq!(
        north_api.school().classes[0].id,
        south_api.school().classes[0].id,
        "the check needs the same class id in both schools"
    );

    // Missed changes: each school's DreamClass is asked for its own.
    for (fake, id) in [(&north_api, 701), (&south_api, 702)] {
        let mut record: rollcall_core::AttendanceRecord =
            serde_json::from_value(record(id, 2, "missed")).unwrap();
        record.date = "2026-03-02".into();
        fake.upsert_attendance(record);
    }
    let report = check_2_march(&s).await;
    assert_eq!(report["recovered"], 2, "{report}");
    let message = report["message"].as_str().unwrap();
    assert!(
        message.contains("north-tenant:") && message.contains("south-tenant:"),
        "the report names each school: {message}"
    );
    let changes = s.api("/api/changes?after=0").await;
    let mut recovered: Vec<(String, i64)> = changes["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["tenant"].as_str().unwrap().to_string(),
                c["attendanceId"].as_i64().unwrap(),
            )
        })
        .collect();
    recovered.sort();
    assert_eq!(
        recovered,
        [
            ("north-tenant".to_string(), 701),
            ("south-tenant".to_string(), 702)
        ]
    );

    // The window sees which school has its own connection; removing south's token leaves it
    // without one (nothing serves its tenant: [dreamclass] is not set up here).
    let list = s.api("/api/schools").await;
    assert_eq!(list["schools"][1]["apiTokenConfigured"], true, "{list}");
    assert!(
        !list.to_string().contains("south-tenant-token"),
        "never the token: {list}"
    );
    let put = |body: Value| {
        s.http
            .put(format!("{}/api/schools/south/dreamclass", s.api_base))
            .bearer_auth(&s.token)
            .json(&body)
            .send()
    };
    let refused = put(json!({"token": null, "baseUrl": "not an address"}))
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let sentence: Value = refused.json().await.unwrap();
    assert!(
        sentence["message"]
            .as_str()
            .unwrap()
            .contains("is not a web address"),
        "{sentence}"
    );
    let removed: Value = put(json!({"token": ""}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(removed["apiTokenConfigured"], false, "{removed}");
    let before = south_api.request_count();
    let report = check_2_march(&s).await;
    assert_eq!(
        south_api.request_count(),
        before,
        "south's account is no longer asked: {report}"
    );
}

/// One absence today of student `student` at `tenant`, signed with `secret`.
fn absent_today(tenant: &str, secret: &str, id: i64, student: i64) -> Value {
    let request_id = new_id();
    let key = SigningKey::new(secret, KeyEncoding::Text).unwrap();
    json!({
        "id": request_id,
        "data": {
            "id": id, "date": chrono::Local::now().date_naive().to_string(), "type": "SESSION",
            "classId": 34, "comment": "", "courseId": 40, "statusId": 2, "studentPeriodId": student
        },
        "type": "ATTENDANCE_CREATED",
        "tenant": tenant,
        "signature": key.sign(&request_id),
        "timestamp": now_ms() - 1000,
    })
}

#[tokio::test]
async fn a_school_with_its_own_thresholds_is_alerted_by_them_and_the_others_by_the_installations() {
    let (s, _north, _south) = two_schools_with_their_own_accounts().await;
    // Both schools' statuses are known (an absence counts only once "Absent" is named).
    for _ in 0..200 {
        let reference = s.api("/api/reference").await;
        if ["north-tenant", "south-tenant"]
            .iter()
            .all(|t| !names_of(&reference, "statuses", "id", t).is_empty())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let settings = |path: &str| {
        s.http
            .request(
                reqwest::Method::GET,
                format!("{}/api/settings/reports{path}", s.api_base),
            )
            .bearer_auth(&s.token)
    };
    let everyone: Value = settings("").send().await.unwrap().json().await.unwrap();
    assert!(
        everyone["absencesPerDay"].as_u64().unwrap() > 1,
        "{everyone}"
    );
    let own = json!({"chronicThreshold": 0.2, "absencesPerDay": 1, "termDays": 30});
    let saved: Value = s
        .http
        .put(format!("{}/api/settings/reports?school=south", s.api_base))
        .bearer_auth(&s.token)
        .json(&own)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["settings"]["absencesPerDay"], 1, "{saved}");
    let south_now: Value = settings("?school=south")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(south_now["absencesPerDay"], 1);
    let north_now: Value = settings("?school=north")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(north_now, everyone, "north uses every school's thresholds");
    let unknown = settings("?school=nowhere").send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let list = s.api("/api/schools").await;
    assert_eq!(list["schools"][0]["ownThresholds"], false);
    assert_eq!(list["schools"][1]["ownThresholds"], true);

    // One absence today in each school: only south's threshold (1) is reached.
    for (school, secret, id) in [("north", NORTH_SECRET, 801), ("south", SOUTH_SECRET, 802)] {
        let tenant = format!("{school}-tenant");
        let (status, body) = post_to(
            &s,
            &url_of(&s, school),
            &absent_today(&tenant, secret, id, 4),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let today_alerts = |alerts: &Value| -> Vec<String> {
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "absences_today")
            .map(|a| a["tenant"].as_str().unwrap().to_string())
            .collect()
    };
    let alerts = s.api("/api/alerts").await;
    assert_eq!(today_alerts(&alerts), ["south-tenant"], "{alerts}");
    let south_only = s.api("/api/alerts?tenant=south-tenant").await;
    assert_eq!(today_alerts(&south_only), ["south-tenant"]);
    // South's summary is judged with its own chronic threshold.
    let summary = s
        .api("/api/reports/summary?tenant=south-tenant&from=2025-01-01&to=2030-01-01")
        .await;
    assert_eq!(summary["threshold"], 0.2, "{summary}");
    let summary = s
        .api("/api/reports/summary?from=2025-01-01&to=2030-01-01")
        .await;
    assert_eq!(summary["threshold"], everyone["chronicThreshold"]);

    // Back to every school's thresholds: no alert for one absence.
    let back = s
        .http
        .delete(format!("{}/api/settings/reports?school=south", s.api_base))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 200);
    assert!(today_alerts(&s.api("/api/alerts").await).is_empty());
    assert_eq!(
        s.api("/api/schools").await["schools"][1]["ownThresholds"],
        false
    );
}
