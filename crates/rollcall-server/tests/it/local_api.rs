//! The local API's boundary: loopback host names only, no foreign origins, the run token.

use serde_json::Value;

use crate::support::*;

async fn get(s: &TestServer, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = s.http.get(format!("{}{path}", s.api_base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn requests_without_the_token_are_refused() {
    let s = TestServer::start().await;
    let (status, body) = get(&s, "/api/status", &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("token_required"))
    );
    let (status, _) = get(&s, "/api/changes", &[("authorization", "Bearer wrong")]).await;
    assert_eq!(status, 401);
    let (status, _) = get(&s, "/api/stream", &[("cookie", "rollcall_token=nope")]).await;
    assert_eq!(status, 401);
    let bearer = format!("Bearer {}", s.token);
    assert_eq!(
        get(&s, "/api/status", &[("authorization", &bearer)])
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn the_printed_link_sets_a_strict_cookie_that_opens_the_api() {
    let s = TestServer::start().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_redirects
        .get(format!("{}/?token={}", s.api_base, s.token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    assert_eq!(get(&s, "/api/status", &[("cookie", pair)]).await.0, 200);
    // A link from an earlier run does not.
    let stale = no_redirects
        .get(format!("{}/?token=0123", s.api_base))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);
}

#[tokio::test]
async fn dns_rebinding_and_cross_site_requests_are_refused() {
    let s = TestServer::start().await;
    let port = s.api_base.rsplit(':').next().unwrap().to_string();
    let bearer = format!("Bearer {}", s.token);
    // DNS rebinding: a page on evil.example resolves its name to 127.0.0.1; the Host header
    // still names evil.example.
    for host in [
        format!("evil.example:{port}"),
        "127.0.0.1:1".to_string(),
        "127.0.0.1".to_string(),
    ] {
        let (status, body) = get(
            &s,
            "/api/status",
            &[("host", &host), ("authorization", &bearer)],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("forbidden_host")),
            "{host}"
        );
        // Static pages too.
        assert_eq!(get(&s, "/", &[("host", &host)]).await.0, 403, "{host}");
    }
    // Cross-site: a page elsewhere calling the API from the user's browser.
    for origin in ["https://evil.example", "http://127.0.0.1:1", "null"] {
        let (status, body) = get(
            &s,
            "/api/status",
            &[("origin", origin), ("authorization", &bearer)],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("forbidden_origin")),
            "{origin}"
        );
    }
    // The listener's own origin and loopback names are fine.
    for (host, origin) in [
        (
            format!("localhost:{port}"),
            format!("http://localhost:{port}"),
        ),
        (
            format!("127.0.0.1:{port}"),
            format!("http://127.0.0.1:{port}"),
        ),
    ] {
        let (status, _) = get(
            &s,
            "/api/status",
            &[
                ("host", &host),
                ("origin", &origin),
                ("authorization", &bearer),
            ],
        )
        .await;
        assert_eq!(status, 200, "{host} {origin}");
    }
}

#[tokio::test]
async fn the_webhook_listener_serves_no_api_and_the_api_listener_takes_no_webhooks() {
    let s = TestServer::start().await;
    let webhook_base = s.webhook_url.trim_end_matches("/webhooks/dreamclass");
    let bearer = format!("Bearer {}", s.token);
    for path in ["/api/status", "/api/changes", "/api/stream", "/"] {
        let r = s
            .http
            .get(format!("{webhook_base}{path}"))
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path} on the webhook listener");
    }
    let r = s
        .http
        .post(format!("{}/webhooks/dreamclass", s.api_base))
        .header("authorization", &bearer)
        .json(&created(1, 1))
        .send()
        .await
        .unwrap();
    assert!([404, 405].contains(&r.status().as_u16()), "{}", r.status());
    assert_eq!(s.attendance_count(), 0);
}

#[tokio::test]
async fn board_counts_match_what_was_sent() {
    let s = TestServer::start().await;
    let t = now_ms() - 60_000;
    let data = |id: i64, class: i64, course: i64, status: i64| {
        let mut r = record(id, status, "");
        r["classId"] = class.into();
        r["courseId"] = course.into();
        r["date"] = "2026-03-02".into();
        attendance("ATTENDANCE_CREATED", &new_id(), t + id, r)
    };
    for (id, class, course, status) in [
        (1, 31, 40, 1),
        (2, 31, 40, 2),
        (3, 31, 41, 1),
        (4, 32, 40, 1),
    ] {
        s.post(&data(id, class, course, status)).await;
    }
    // Deleted records do not count.
    s.post(&attendance("ATTENDANCE_DELETED", &new_id(), t + 100, {
        let mut r = record(4, 1, "");
        r["classId"] = 32.into();
        r["date"] = "2026-03-02".into();
        r
    }))
    .await;
    let board = s.api("/api/board?date=2026-03-02").await;
    assert_eq!(board["byClass"].as_array().unwrap().len(), 1);
    assert_eq!(board["byClass"][0]["id"], 31);
    assert_eq!(board["byClass"][0]["total"], 3);
    assert_eq!(board["byClass"][0]["counts"]["1"], 2);
    assert_eq!(board["byClass"][0]["counts"]["2"], 1);
    let courses: Vec<(i64, i64)> = board["byCourse"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["id"].as_i64().unwrap(), g["total"].as_i64().unwrap()))
        .collect();
    assert_eq!(courses, vec![(40, 2), (41, 1)]);
}

#[tokio::test]
async fn test_event_proves_the_path_and_settings_apply_at_once() {
    let s = TestServer::start().await;
    let bearer = format!("Bearer {}", s.token);
    let r: Value = s
        .http
        .post(format!("{}/api/test-event", s.api_base))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(s.outcomes(1).await[0].0, "ignored");
    assert_eq!(s.attendance_count(), 0, "a test event is never attendance");

    // A new secret applies immediately and is saved (readable by this user only).
    let r = s
        .http
        .put(format!("{}/api/settings/webhook", s.api_base))
        .header("authorization", &bearer)
        .json(
            &serde_json::json!({"secret": "new-secret", "keyEncoding": "text", "basicAuth": null}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.post(&created(1, 1)).await.0,
        401,
        "the old secret no longer works"
    );
    let saved = std::fs::read_to_string(s.dir.path().join("rollcall.toml")).unwrap();
    assert!(saved.contains("new-secret"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.dir.path().join("rollcall.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let settings = s.api("/api/settings").await;
    assert_eq!(settings["secretConfigured"], true);
    assert!(
        !settings.to_string().contains("new-secret"),
        "secrets are never sent back"
    );
    // An invalid base64 secret is refused with a sentence and changes nothing.
    let r = s
        .http
        .put(format!("{}/api/settings/webhook", s.api_base))
        .header("authorization", &bearer)
        .json(&serde_json::json!({"secret": "%%%", "keyEncoding": "base64"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r: Value = s
        .http
        .post(format!("{}/api/test-event", s.api_base))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["ok"], true, "the new secret still works: {r}");
}

/// A keyring stand-in: what the desktop's OS keyring does, in memory; or one that refuses.
struct MemoryStore {
    saved: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    refuse: bool,
}

impl rollcall_server::SecretStore for MemoryStore {
    fn save(&self, name: &str, value: Option<&str>) -> Result<(), String> {
        if self.refuse {
            return Err("locked".into());
        }
        let mut saved = self.saved.lock().unwrap();
        match value {
            Some(v) => saved.insert(name.to_string(), v.to_string()),
            None => saved.remove(name),
        };
        Ok(())
    }
}

async fn put(s: &TestServer, path: &str, body: Value) -> u16 {
    s.http
        .put(format!("{}{path}", s.api_base))
        .bearer_auth(&s.token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn secrets_go_to_the_keyring_and_never_to_the_file() {
    let store = std::sync::Arc::new(MemoryStore {
        saved: Default::default(),
        refuse: false,
    });
    let shared = store.clone();
    let s = TestServer::start_with(move |dir| {
        let mut c = signed_config(dir);
        c.secret_store = Some(shared);
        c
    })
    .await;
    let webhook = serde_json::json!({"secret": "kept-secret", "keyEncoding": "text",
        "basicAuth": {"username": "office", "password": "kept-pw"}});
    assert_eq!(put(&s, "/api/settings/webhook", webhook).await, 200);
    let api = serde_json::json!({"baseUrl": "https://api.example.invalid/v1", "token": "kept-token", "tenant": "my-school"});
    assert_eq!(put(&s, "/api/settings/dreamclass", api).await, 200);
    let tunnel = serde_json::json!({"provider": "ngrok", "authtoken": "kept-ngrok"});
    assert_eq!(put(&s, "/api/settings/tunnel", tunnel).await, 200);

    let saved = store.saved.lock().unwrap().clone();
    assert_eq!(saved["webhook-secret"], "kept-secret");
    assert_eq!(saved["webhook-basic-auth"], "office:kept-pw");
    assert_eq!(saved["dreamclass-token"], "kept-token");
    assert_eq!(saved["ngrok-authtoken"], "kept-ngrok");
    let file = std::fs::read_to_string(s.dir.path().join("rollcall.toml")).unwrap();
    for secret in ["kept-secret", "kept-pw", "kept-token", "kept-ngrok"] {
        assert!(
            !file.contains(secret),
            "{secret} leaked into rollcall.toml:\n{file}"
        );
    }
    assert!(
        file.contains("api.example.invalid"),
        "the rest is saved: {file}"
    );
}

#[tokio::test]
async fn a_refusing_keyring_falls_back_to_the_file_rather_than_losing_the_secret() {
    let s = TestServer::start_with(|dir| {
        let mut c = signed_config(dir);
        c.secret_store = Some(std::sync::Arc::new(MemoryStore {
            saved: Default::default(),
            refuse: true,
        }));
        c
    })
    .await;
    let webhook = serde_json::json!({"secret": "fallback-secret", "keyEncoding": "text"});
    assert_eq!(put(&s, "/api/settings/webhook", webhook).await, 200);
    let file = std::fs::read_to_string(s.dir.path().join("rollcall.toml")).unwrap();
    assert!(file.contains("fallback-secret"));
}
