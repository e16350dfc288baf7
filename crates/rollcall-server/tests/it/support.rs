//! Test helpers: a real server on 127.0.0.1:0 with a real SQLite file, and signed deliveries.

use std::path::{Path, PathBuf};

use rollcall_core::store::{open_reader, DATABASE_FILE};
use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_server::{RunningServer, ServerConfig, WebhookSettings};
use serde_json::{json, Value};

pub const SECRET: &str = "test-secret";
pub const TENANT: &str = "my-school";

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub webhook_url: String,
    pub api_base: String,
    pub token: String,
}

pub fn key() -> SigningKey {
    SigningKey::new(SECRET, KeyEncoding::Text).unwrap()
}

pub fn signed_config(dir: &Path) -> ServerConfig {
    let mut config = ServerConfig::new(dir.to_path_buf());
    config.webhook_addr = "127.0.0.1:0".parse().unwrap();
    config.ui_addr = "127.0.0.1:0".parse().unwrap();
    config.settings.webhook = WebhookSettings::signed(SECRET);
    config
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(signed_config).await
    }

    pub async fn start_with(configure: impl FnOnce(&Path) -> ServerConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = configure(dir.path());
        Self::start_in(dir, config).await
    }

    pub async fn start_in(dir: tempfile::TempDir, config: ServerConfig) -> Self {
        let server = rollcall_server::start(config).await.expect("server starts");
        let info = server.info().clone();
        Self {
            server: Some(server),
            dir,
            http: reqwest::Client::new(),
            webhook_url: info.webhook_url(),
            api_base: format!("http://{}", info.ui_addr),
            token: info.token.clone(),
        }
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join(DATABASE_FILE)
    }

    /// Stops the server (committing everything) and returns its data folder.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.server.take().unwrap().shutdown().await;
        self.dir
    }

    pub async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> (u16, Value) {
        let response = self
            .http
            .post(&self.webhook_url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn post(&self, body: &Value) -> (u16, Value) {
        self.post_raw(serde_json::to_vec(body).unwrap(), "application/json")
            .await
    }

    /// GET on the local API with the run token, whatever the answer.
    pub async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{}", self.api_base, path_and_query))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    /// A request with a JSON body to the local API with the run token: the status and the
    /// JSON answer (null when there is none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: impl serde::Serialize,
    ) -> (u16, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.api_base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GET on the local API with the run token, expecting 200 and JSON.
    pub async fn api(&self, path_and_query: &str) -> Value {
        let response = self.get(path_and_query).await;
        assert_eq!(response.status(), 200, "GET {path_and_query}");
        response.json().await.unwrap()
    }

    /// Runs a query on the database file, as a separate reader would.
    pub fn query<T>(&self, f: impl FnOnce(&rollcall_core::rusqlite::Connection) -> T) -> T {
        let conn = open_reader(&self.db_path()).unwrap();
        f(&conn)
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.query(|c| c.query_row(sql, [], |r| r.get(0)).unwrap())
    }

    pub fn attendance_count(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM attendance")
    }

    pub fn change_count(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM changes")
    }

    /// Outcomes in the delivery log, oldest first. The rejected log is written without
    /// waiting, so wait until `expected` entries are there.
    pub async fn outcomes(&self, expected: usize) -> Vec<(String, i64, Option<String>)> {
        for _ in 0..200 {
            let rows: Vec<(String, i64, Option<String>)> = self.query(|c| {
                let mut stmt = c
                    .prepare("SELECT outcome, status, reason FROM deliveries ORDER BY seq")
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
        panic!("the delivery log never reached {expected} entries");
    }
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn now_ms() -> i64 {
    rollcall_core::model::now_ms()
}

/// A signed attendance delivery.
pub fn attendance(event_type: &str, request_id: &str, timestamp: i64, data: Value) -> Value {
    json!({
        "id": request_id,
        "data": data,
        "type": event_type,
        "tenant": TENANT,
        "signature": key().sign(request_id),
        "timestamp": timestamp,
    })
}

pub fn record(id: i64, status_id: i64, comment: &str) -> Value {
    json!({
        "id": id, "date": "2025-06-19", "type": "SESSION", "classId": 34,
        "comment": comment, "courseId": 40, "statusId": status_id, "studentPeriodId": 4
    })
}

/// A valid ATTENDANCE_CREATED for record `id`.
pub fn created(id: i64, status_id: i64) -> Value {
    attendance(
        "ATTENDANCE_CREATED",
        &new_id(),
        now_ms() - 1000,
        record(id, status_id, ""),
    )
}

/// Sends a simulated school day of `events` deliveries (seed `seed`, dated from 2 March 2026)
/// to the server with `concurrency` in flight, signed with the test secret.
pub async fn send_school_day(
    s: &TestServer,
    events: usize,
    seed: u64,
    concurrency: usize,
) -> (
    rollcall_simulator::TrafficPlan,
    rollcall_simulator::SendReport,
) {
    use rollcall_simulator::{plan, send_all, DemoSchool, PlanOptions, SendOptions};
    let plan = plan(
        &DemoSchool::generate(seed),
        PlanOptions {
            events,
            seed,
            end_ts: now_ms(),
            first_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        },
    );
    let report = send_all(
        &plan.deliveries,
        &SendOptions {
            url: s.webhook_url.clone(),
            tenant: "demo-school".into(),
            key: Some(key()),
            authorization: None,
            rate: None,
            concurrency,
            before_send: None,
        },
    )
    .await;
    (plan, report)
}

/// Reads Server-Sent Events from a response: (event, id, data) triples.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    pub async fn open(server: &TestServer, query: &str, last_event_id: Option<i64>) -> Self {
        let mut request = server
            .http
            .get(format!("{}/api/stream{query}", server.api_base))
            .bearer_auth(&server.token);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next `change` event's data, waiting up to 10 s.
    pub async fn next_change(&mut self) -> Value {
        loop {
            let event = self.next_event().await;
            if event.name == "change" {
                return serde_json::from_str(&event.data).unwrap();
            }
        }
    }

    /// The next event of any kind, as written on the wire, waiting up to 10 s.
    pub async fn next_event(&mut self) -> SseEvent {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    name: "message".to_string(),
                    id: None,
                    data: String::new(),
                };
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event: ") {
                        event.name = e.to_string();
                    } else if let Some(i) = line.strip_prefix("id: ") {
                        event.id = Some(i.to_string());
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        event.data.push_str(d);
                    }
                }
                return event;
            }
            let chunk =
                tokio::time::timeout(std::time::Duration::from_secs(10), self.response.chunk())
                    .await
                    .expect("an event arrives within 10 s")
                    .unwrap()
                    .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// One Server-Sent Event: its name, id (if any) and data.
#[derive(Debug)]
pub struct SseEvent {
    pub name: String,
    pub id: Option<String>,
    pub data: String,
}
