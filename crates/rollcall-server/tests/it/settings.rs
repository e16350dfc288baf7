//! Each family of settings reaches the part that uses it, whichever way it is changed: from
//! the Settings API, from rollcall.toml at a restart, and by a flag or variable at start
//! (which the Settings screen then names and cannot change).

use std::time::Duration;

use rollcall_core::config::CONFIG_FILE;
use rollcall_core::SigningKey;
use rollcall_server::launch::{KeptSecrets, LaunchOptions};
use rollcall_server::Notice;
use rollcall_simulator::FakeDreamClass;
use rollcall_tunnel::ProviderKind;
use serde_json::{json, Value};

use crate::support::*;

const SCHOOL_URL: &str = "https://rollcall.school.example.org";

/// Options as `rollcall serve` would have them with only the data folder and loopback ports.
fn options(dir: &tempfile::TempDir) -> LaunchOptions {
    LaunchOptions {
        data_dir: Some(dir.path().to_path_buf()),
        webhook_addr: Some("127.0.0.1:0".parse().unwrap()),
        ui_addr: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    }
}

/// Started the way Rollcall starts: rollcall.toml read, `options` on top.
async fn start(dir: tempfile::TempDir, options: LaunchOptions) -> TestServer {
    let config = options
        .resolve(&KeptSecrets::default())
        .expect("settings resolve");
    TestServer::start_in(dir, config).await
}

async fn put(s: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let r = s
        .http
        .put(format!("{}{path}", s.api_base))
        .bearer_auth(&s.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn file_text(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join(CONFIG_FILE)).unwrap_or_default()
}

async fn wait_for(s: &TestServer, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = s.api(path).await;
        if ok(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} never became as expected: {last}");
}

/// The override the Settings API reports for `field`, if any.
async fn override_of(s: &TestServer, field: &str) -> Option<Value> {
    s.api("/api/settings").await["overrides"]
        .as_array()
        .expect("the settings list their overrides")
        .iter()
        .find(|o| o["field"] == field)
        .cloned()
}

#[tokio::test]
async fn the_tunnel_follows_the_api_the_file_and_a_variable() {
    let dir = tempfile::tempdir().unwrap();
    let o = options(&dir);
    let s = start(dir, o).await;
    assert_eq!(s.api("/api/status").await["tunnel"]["state"], "off");

    // From the Settings API: the tunnel runs with it when the save is answered.
    let manual = json!({"provider": "manual", "publicUrl": SCHOOL_URL});
    assert_eq!(put(&s, "/api/settings/tunnel", manual).await.0, 200);
    let status = s.api("/api/status").await;
    assert_eq!(status["tunnel"]["state"], "online", "{status}");
    assert_eq!(status["tunnel"]["publicUrl"], SCHOOL_URL, "{status}");
    assert_eq!(override_of(&s, "tunnel").await, None);

    // From rollcall.toml at the next start.
    let dir = s.stop().await;
    assert!(file_text(dir.path()).contains(SCHOOL_URL));
    let o = options(&dir);
    let s = start(dir, o).await;
    let status = wait_for(&s, "/api/status", |st| st["tunnel"]["state"] == "online").await;
    assert_eq!(status["tunnel"]["publicUrl"], SCHOOL_URL, "{status}");

    // A variable wins for this run, is named, and cannot be changed from the screen.
    let dir = s.stop().await;
    let mut o = options(&dir);
    o.tunnel = Some(ProviderKind::None);
    let s = start(dir, o).await;
    assert_eq!(s.api("/api/status").await["tunnel"]["state"], "off");
    assert_eq!(s.api("/api/settings/tunnel").await["provider"], "none");
    let shown = override_of(&s, "tunnel")
        .await
        .expect("the tunnel is overridden");
    assert_eq!(shown["by"], "ROLLCALL_TUNNEL");
    assert_eq!(
        shown["message"],
        "Set by ROLLCALL_TUNNEL when Rollcall was started; change it there."
    );
    let other = json!({"provider": "manual", "publicUrl": "https://other.example.org"});
    let (code, answer) = put(&s, "/api/settings/tunnel", other).await;
    assert_eq!(code, 409, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("ROLLCALL_TUNNEL"),
        "{answer}"
    );
    assert_eq!(s.api("/api/status").await["tunnel"]["state"], "off");
    // The file keeps what the office chose; the variable's value is never written.
    let saved = file_text(s.dir.path());
    assert!(saved.contains(SCHOOL_URL), "{saved}");
    assert!(!saved.contains("other.example.org"), "{saved}");
}

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

/// "Test connection" with the saved settings.
async fn test_connection(s: &TestServer) -> Value {
    s.http
        .post(format!("{}/api/dreamclass/test", s.api_base))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until "Test connection" answers `ok` as expected (the DreamClass side takes a
/// published change at once, on its own task).
async fn wait_for_connection(s: &TestServer, ok: bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = test_connection(s).await;
        if last["ok"] == ok {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the connection test never answered ok = {ok}: {last}");
}

#[tokio::test]
async fn dreamclass_uses_the_api_the_file_and_a_variable_on_its_next_call() {
    let (fake, addr) = start_fake().await;
    let good = fake.api_config(addr);
    let dir = tempfile::tempdir().unwrap();
    let o = options(&dir);
    let s = start(dir, o).await;
    assert_eq!(test_connection(&s).await["ok"], false);

    // From the Settings API.
    let form = json!({"baseUrl": good.base_url, "token": good.token, "tenant": good.tenant});
    let (code, answer) = put(&s, "/api/settings/dreamclass", form).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["settings"]["tokenConfigured"], true, "{answer}");
    assert_eq!(answer["settings"]["baseUrl"], good.base_url.as_str());
    wait_for_connection(&s, true).await;

    // From rollcall.toml at the next start.
    let dir = s.stop().await;
    let o = options(&dir);
    let s = start(dir, o).await;
    assert_eq!(test_connection(&s).await["ok"], true);

    // A variable wins for this run: a revoked token is used, and named.
    let dir = s.stop().await;
    let mut o = options(&dir);
    o.dreamclass_token = Some("revoked".into());
    let s = start(dir, o).await;
    let answer = test_connection(&s).await;
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("token was refused (401)"),
        "{answer}"
    );
    let shown = override_of(&s, "dreamclassToken").await.unwrap();
    assert_eq!(shown["by"], "ROLLCALL_DREAMCLASS_TOKEN");
    // A new token cannot be saved over it; the rest of the form can.
    let (code, _) = put(&s, "/api/settings/dreamclass", json!({"token": "another"})).await;
    assert_eq!(code, 409);
    let (code, answer) = put(&s, "/api/settings/dreamclass", json!({"schoolPeriodId": 7})).await;
    assert_eq!(code, 200, "{answer}");
    let saved = file_text(s.dir.path());
    assert!(saved.contains("school_period_id = 7"), "{saved}");
    assert!(!saved.contains("revoked"), "{saved}");
    assert!(
        saved.contains(&good.token),
        "the saved token stays: {saved}"
    );
}

/// Deliveries logged long ago (as if received two years back).
fn age_deliveries(s: &TestServer) {
    let writer = rollcall_core::rusqlite::Connection::open(s.db_path()).unwrap();
    writer
        .execute(
            "UPDATE deliveries SET received_at = received_at - 2 * 365 * 86400000",
            [],
        )
        .unwrap();
}

#[tokio::test]
async fn the_retention_period_reaches_the_purge_from_the_api_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = options(&dir);
    let mut o = LaunchOptions {
        webhook_secret: Some(SECRET.into()),
        ..o
    };
    let s = start(dir, o.clone()).await;
    assert_eq!(s.post(&created(1, 1)).await.0, 200);
    age_deliveries(&s);
    // From the API: 0 keeps everything, on this pass and the next.
    let (code, answer) = put(&s, "/api/settings/retention", json!({"days": 0})).await;
    assert_eq!((code, answer["purged"].as_i64()), (200, Some(0)));
    let dir = s.stop().await;
    assert!(file_text(dir.path()).contains("delivery_retention_days = 0"));
    o.data_dir = Some(dir.path().to_path_buf());
    let s = start(dir, o.clone()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.count("SELECT COUNT(*) FROM deliveries"), 1);
    // From rollcall.toml: the purge at start uses the file's period.
    let dir = s.stop().await;
    std::fs::write(
        dir.path().join(CONFIG_FILE),
        "delivery_retention_days = 30\n",
    )
    .unwrap();
    let s = start(dir, o).await;
    for _ in 0..100 {
        if s.count("SELECT COUNT(*) FROM deliveries") == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.count("SELECT COUNT(*) FROM deliveries"), 0);
    assert_eq!(s.attendance_count(), 1, "attendance is kept");
    assert_eq!(s.api("/api/settings").await["deliveryRetentionDays"], 30);
}

#[tokio::test]
async fn a_threshold_or_retention_change_tells_live_subscribers() {
    let s = TestServer::start().await;
    let mut notices = s.server.as_ref().unwrap().state().subscribe_notices();
    let body = json!({"chronicThreshold": 0.2, "absencesPerDay": 2, "termDays": 60});
    assert_eq!(put(&s, "/api/settings/reports", body).await.0, 200);
    let notice = tokio::time::timeout(Duration::from_secs(5), notices.recv()).await;
    assert_eq!(notice.unwrap().unwrap(), Notice::Status);
    // The thresholds are those summaries use from now on.
    assert_eq!(
        s.server
            .as_ref()
            .unwrap()
            .state()
            .report_settings()
            .term_days,
        60
    );
    assert_eq!(
        put(&s, "/api/settings/retention", json!({"days": 90}))
            .await
            .0,
        200
    );
    let notice = tokio::time::timeout(Duration::from_secs(5), notices.recv()).await;
    assert_eq!(notice.unwrap().unwrap(), Notice::Status);
    // A refused save tells nobody.
    let (code, _) = put(&s, "/api/settings/retention", json!({"days": 99999})).await;
    assert_eq!(code, 400);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(notices.try_recv().is_err(), "nothing was published");
    assert!(!file_text(s.dir.path()).contains("99999"));
}

/// A delivery signed with `secret`.
fn signed_with(secret: &str, id: i64) -> Value {
    let mut body = created(id, 1);
    let request_id = body["id"].as_str().unwrap().to_string();
    body["signature"] = SigningKey::new(secret, rollcall_core::KeyEncoding::Text)
        .unwrap()
        .sign(&request_id)
        .into();
    body
}

#[tokio::test]
async fn the_webhook_secret_follows_the_file_the_api_and_a_variable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(CONFIG_FILE),
        "webhook_secret = \"file-secret\"\n",
    )
    .unwrap();
    let o = options(&dir);
    let s = start(dir, o).await;
    // From rollcall.toml.
    assert_eq!(s.post(&signed_with("file-secret", 1)).await.0, 200);
    assert_eq!(s.post(&signed_with(SECRET, 2)).await.0, 401);
    // From the Settings API: the next delivery is checked with the new one.
    let form = json!({"secret": SECRET, "keyEncoding": "text", "basicAuth": null});
    assert_eq!(put(&s, "/api/settings/webhook", form).await.0, 200);
    assert_eq!(s.post(&signed_with(SECRET, 3)).await.0, 200);
    assert_eq!(s.post(&signed_with("file-secret", 4)).await.0, 401);
    // Without a secret store the secret is in the file (readable by this user only).
    let dir = s.stop().await;
    assert!(file_text(dir.path()).contains(SECRET));

    // A variable wins for this run, is named, and a save of another secret is refused.
    let mut o = options(&dir);
    o.webhook_secret = Some("variable-secret".into());
    let s = start(dir, o).await;
    assert_eq!(s.post(&signed_with("variable-secret", 5)).await.0, 200);
    assert_eq!(s.post(&signed_with(SECRET, 6)).await.0, 401);
    let shown = override_of(&s, "webhookSecret").await.unwrap();
    assert_eq!(shown["by"], "ROLLCALL_WEBHOOK_SECRET");
    let form = json!({"secret": "typed-in", "keyEncoding": "text"});
    let (code, answer) = put(&s, "/api/settings/webhook", form).await;
    assert_eq!(code, 409, "{answer}");
    assert_eq!(s.post(&signed_with("variable-secret", 7)).await.0, 200);
    // Other settings still save, and the variable's secret never reaches the file.
    let (code, _) = put(&s, "/api/settings/notifications", json!({"statusIds": [2]})).await;
    assert_eq!(code, 200);
    let saved = file_text(s.dir.path());
    assert!(!saved.contains("variable-secret"), "{saved}");
    assert!(!saved.contains("typed-in"), "{saved}");
    assert!(saved.contains(SECRET), "the saved secret stays: {saved}");
    assert!(saved.contains("notify_status_ids = [2]"), "{saved}");
}
