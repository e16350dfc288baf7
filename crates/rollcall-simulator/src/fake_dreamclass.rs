//! A fake DreamClass API: a real HTTP server that serves the demo school (the same one the
//! simulator sends webhooks for) under the paths of `CONTRACT.md`, checks the token and
//! tenant headers, and can be steered: attendance changed the way teachers change it (with no
//! webhook sent), downtime, a revoked token, and a request count.
//!
//! Its clock can be moved ahead ([`FakeDreamClass::advance_clock`]): every API answer's
//! `Date` header and [`FakeDreamClass::now_ms`] follow it, so tests can play a stop of
//! minutes by DreamClass's clock without waiting for it.
//!
//! Its answers deliberately vary in shape (bare lists, `{"data": ...}`, `{"items": ...}`,
//! extra fields) so that the client's tolerance is exercised by every test.
//!
//! Control endpoints (no token needed; bind the fake to loopback):
//!
//! | method, path | effect |
//! | --- | --- |
//! | `GET /_fake/attendance` | every record the fake school holds |
//! | `POST /_fake/attendance` | creates or updates a record (webhook `data` shape) |
//! | `DELETE /_fake/attendance/{id}` | deletes a record |
//! | `POST /_fake/events` | applies a webhook envelope body (`type` + `data`), e.g. one the simulator sent |
//! | `POST /_fake/downtime` | `{"down": true}`: every API call answers 503 |
//! | `POST /_fake/token` | `{"revoked": true}`: every API call answers 401 |
//! | `GET /_fake/stats` | `{"requests": n, "byPath": {...}}` API calls answered |
//! | `POST /_fake/stats/reset` | sets the count back to zero |

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use rollcall_core::{AttendanceEventKind, AttendanceRecord};
use rollcall_dreamclass::ApiConfig;

use crate::school::DemoSchool;

/// Where the fake serves the API, as the real one does.
pub const API_PREFIX: &str = "/dreamclassapi/v1";
/// The token the demo fake accepts.
pub const DEMO_TOKEN: &str = "demo-token";

/// The fake's state. Cheap to clone; clones share it.
#[derive(Clone)]
pub struct FakeDreamClass {
    inner: Arc<FakeState>,
}

struct FakeState {
    school: DemoSchool,
    token: String,
    attendance: Mutex<BTreeMap<i64, AttendanceRecord>>,
    /// attendance id → timestamp of the newest webhook applied to it (deletes included).
    webhook_versions: Mutex<BTreeMap<i64, i64>>,
    down: AtomicBool,
    token_revoked: AtomicBool,
    requests: AtomicU64,
    by_path: Mutex<BTreeMap<String, u64>>,
    /// How far DreamClass's clock is ahead of this computer's, in milliseconds.
    clock_ahead_ms: AtomicI64,
    /// attendance id → (an earlier version the lists still show, for how many more lists).
    stale: Mutex<HashMap<i64, (AttendanceRecord, u32)>>,
}

impl FakeDreamClass {
    /// A fake serving `school`, accepting `token` for the school's tenant. It holds no
    /// attendance until told.
    pub fn new(school: DemoSchool, token: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(FakeState {
                school,
                token: token.into(),
                attendance: Mutex::new(BTreeMap::new()),
                webhook_versions: Mutex::new(BTreeMap::new()),
                down: AtomicBool::new(false),
                token_revoked: AtomicBool::new(false),
                requests: AtomicU64::new(0),
                by_path: Mutex::new(BTreeMap::new()),
                clock_ahead_ms: AtomicI64::new(0),
                stale: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The demo school of `seed` (as `DemoSchool::generate`), with [`DEMO_TOKEN`].
    pub fn demo(seed: u64) -> Self {
        Self::new(DemoSchool::generate(seed), DEMO_TOKEN)
    }

    pub fn school(&self) -> &DemoSchool {
        &self.inner.school
    }

    /// The settings that reach this fake at `addr`.
    pub fn api_config(&self, addr: SocketAddr) -> ApiConfig {
        ApiConfig {
            base_url: format!("http://{addr}{API_PREFIX}"),
            token: self.inner.token.clone(),
            tenant: self.inner.school.tenant.clone(),
            ..ApiConfig::default()
        }
    }

    /// Creates or updates a record, as a teacher taking or correcting attendance. Returns
    /// whether it was new.
    pub fn upsert_attendance(&self, record: AttendanceRecord) -> bool {
        self.records().insert(record.id, record).is_none()
    }

    /// Deletes a record; returns whether it existed.
    pub fn delete_attendance(&self, id: i64) -> bool {
        self.records().remove(&id).is_some()
    }

    /// Applies an attendance event the way DreamClass's own state would change.
    pub fn apply_event(&self, kind: AttendanceEventKind, record: AttendanceRecord) {
        match kind {
            AttendanceEventKind::Deleted => {
                self.delete_attendance(record.id);
            }
            _ => {
                self.upsert_attendance(record);
            }
        }
    }

    /// Applies an attendance webhook body (the simulator's, or DreamClass's) to the fake
    /// school, so that the fake's lists agree with the webhooks sent. Returns whether it was an
    /// attendance event.
    pub fn apply_webhook_body(&self, body: &[u8]) -> bool {
        let Ok(event) = serde_json::from_slice::<EventBody>(body) else {
            return false;
        };
        let Some(kind) = AttendanceEventKind::from_event_type(&event.event_type) else {
            return false;
        };
        // DreamClass's own state is the newest version of each record: a retried or stale
        // webhook (older timestamp) is a copy of the past, not a new change.
        let mut versions = self.inner.webhook_versions.lock().expect("fake lock");
        let newest = versions.entry(event.data.id).or_insert(i64::MIN);
        if event.timestamp > *newest {
            *newest = event.timestamp;
            self.apply_event(kind, event.data);
        }
        true
    }

    /// Every record the fake school holds, by id.
    pub fn attendance(&self) -> Vec<AttendanceRecord> {
        self.records().values().cloned().collect()
    }

    /// While down, every API call answers 503.
    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }

    /// While revoked, every API call answers 401.
    pub fn set_token_revoked(&self, revoked: bool) {
        self.inner.token_revoked.store(revoked, Ordering::SeqCst);
    }

    /// API calls received (control endpoints not counted).
    pub fn request_count(&self) -> u64 {
        self.inner.requests.load(Ordering::SeqCst)
    }

    /// API calls received per path.
    pub fn requests_by_path(&self) -> BTreeMap<String, u64> {
        self.inner.by_path.lock().expect("fake lock").clone()
    }

    pub fn reset_request_count(&self) {
        self.inner.requests.store(0, Ordering::SeqCst);
        self.inner.by_path.lock().expect("fake lock").clear();
    }

    /// DreamClass's clock now, in milliseconds since the epoch: what its answers' `Date`
    /// header says and what its webhooks would be stamped with.
    pub fn now_ms(&self) -> i64 {
        let local = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        local + self.inner.clock_ahead_ms.load(Ordering::SeqCst)
    }

    /// The next `lists` attendance lists that include `stale`'s id show `stale` instead of
    /// the current record: a DreamClass whose lists lag behind the webhooks it sent.
    pub fn show_stale_version(&self, stale: AttendanceRecord, lists: u32) {
        self.inner
            .stale
            .lock()
            .expect("fake lock")
            .insert(stale.id, (stale, lists));
    }

    /// Moves DreamClass's clock ahead by `by`, as if that much time had passed.
    pub fn advance_clock(&self, by: Duration) {
        self.inner
            .clock_ahead_ms
            .fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }

    fn records(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, AttendanceRecord>> {
        self.inner.attendance.lock().expect("fake lock")
    }

    /// The fake's routes, API and control endpoints.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/students/attendance/status/list", get(statuses))
            .route("/students/attendance/daily/list", get(daily_attendance))
            .route("/students/attendance/lesson/list", get(lesson_attendance))
            .route("/students/schoolperiod/{period}/list", get(students))
            .route("/curriculum/schoolperiods/list", get(school_periods))
            .route("/curriculum/courses/list", get(courses))
            .route("/curriculum/schoolperiod/{period}/classes", get(classes))
            .layer(middleware::from_fn_with_state(self.clone(), guard));
        Router::new()
            .nest(API_PREFIX, api)
            .route("/_fake/attendance", get(list_all).post(upsert))
            .route("/_fake/attendance/{id}", delete(remove))
            .route("/_fake/events", post(apply_event))
            .route("/_fake/downtime", post(set_downtime))
            .route("/_fake/token", post(set_token))
            .route("/_fake/stats", get(stats))
            .route("/_fake/stats/reset", post(reset_stats))
            .with_state(self.clone())
    }
}

/// Serves `fake` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    fake: FakeDreamClass,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, fake.router())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves `fake` on a free port of 127.0.0.1 until the runtime ends (tests); the settings
/// that reach it.
pub async fn serve_on_loopback(fake: &FakeDreamClass) -> ApiConfig {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port on 127.0.0.1");
    let addr = listener.local_addr().expect("the listener's address");
    tokio::spawn(serve(listener, fake.clone(), std::future::pending()));
    fake.api_config(addr)
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "status": status.as_u16(), "message": message })),
    )
        .into_response()
}

/// Counts the call, then answers as DreamClass would when down, without a valid token, or for
/// another school.
async fn guard(
    State(fake): State<FakeDreamClass>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let state = &fake.inner;
    state.requests.fetch_add(1, Ordering::SeqCst);
    *state
        .by_path
        .lock()
        .expect("fake lock")
        .entry(request.uri().path().to_string())
        .or_default() += 1;
    if state.down.load(Ordering::SeqCst) {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service temporarily unavailable",
        );
    }
    let expected = format!("Bearer {}", state.token);
    let token_ok = headers
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == expected.as_bytes());
    if !token_ok || state.token_revoked.load(Ordering::SeqCst) {
        return error(StatusCode::UNAUTHORIZED, "Invalid or expired API token");
    }
    let tenant_ok = headers
        .get("tenant")
        .is_some_and(|v| v.as_bytes() == state.school.tenant.as_bytes());
    if !tenant_ok {
        return error(
            StatusCode::FORBIDDEN,
            "Access to this tenant is not allowed",
        );
    }
    let mut response = next.run(request).await;
    // DreamClass's own clock, as HTTP writes it (whole seconds); hyper keeps a Date header
    // that is already set.
    let date = chrono::DateTime::from_timestamp_millis(fake.now_ms())
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    if let Ok(value) = axum::http::HeaderValue::from_str(&date) {
        response
            .headers_mut()
            .insert(axum::http::header::DATE, value);
    }
    response
}

/// `None` for the demo school's period, else the 404 DreamClass answers.
fn unknown_period(fake: &FakeDreamClass, period: i64) -> Option<Response> {
    (period != fake.inner.school.school_period_id)
        .then(|| error(StatusCode::NOT_FOUND, "School period not found"))
}

async fn statuses(State(fake): State<FakeDreamClass>) -> Response {
    let list: Vec<Value> = fake
        .inner
        .school
        .statuses
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"id": s.id, "name": s.name, "color": "#888888", "ordering": i}))
        .collect();
    Json(list).into_response()
}

async fn school_periods(State(fake): State<FakeDreamClass>) -> Response {
    let school = &fake.inner.school;
    Json(json!({"data": [{
        "id": school.school_period_id,
        "name": "School year",
        "current": true,
        "locked": false
    }]}))
    .into_response()
}

async fn students(State(fake): State<FakeDreamClass>, Path(period): Path<i64>) -> Response {
    if let Some(r) = unknown_period(&fake, period) {
        return r;
    }
    let items: Vec<Value> = fake
        .inner
        .school
        .students
        .iter()
        .map(|s| {
            json!({
                "id": s.student_period_id,
                "studentPeriodId": s.student_period_id,
                "studentId": s.student_id,
                "firstName": s.first_name,
                "lastName": s.last_name,
                "classId": s.class_id,
                "active": true,
                "email": null
            })
        })
        .collect();
    let total = items.len();
    Json(json!({"items": items, "total": total})).into_response()
}

async fn classes(State(fake): State<FakeDreamClass>, Path(period): Path<i64>) -> Response {
    if let Some(r) = unknown_period(&fake, period) {
        return r;
    }
    let data: Vec<Value> = fake
        .inner
        .school
        .classes
        .iter()
        .map(|c| json!({"id": c.id, "name": c.name, "schoolPeriodId": period, "capacity": 30}))
        .collect();
    Json(json!({ "data": data })).into_response()
}

async fn courses(State(fake): State<FakeDreamClass>) -> Response {
    let list: Vec<Value> = fake
        .inner
        .school
        .courses
        .iter()
        .map(|c| json!({"id": c.id, "name": c.name, "code": format!("C{}", c.id)}))
        .collect();
    Json(list).into_response()
}

async fn lesson_attendance(
    State(fake): State<FakeDreamClass>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    attendance_list(&fake, &query, true)
}

async fn daily_attendance(
    State(fake): State<FakeDreamClass>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    attendance_list(&fake, &query, false)
}

fn attendance_list(
    fake: &FakeDreamClass,
    query: &HashMap<String, String>,
    lessons: bool,
) -> Response {
    let period = query.get("periodId").and_then(|p| p.parse::<i64>().ok());
    let (Some(period), Some(from), Some(to)) = (period, query.get("fromDate"), query.get("toDate"))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "periodId, fromDate and toDate are required",
        );
    };
    if let Some(r) = unknown_period(fake, period) {
        return r;
    }
    let mut stale = fake.inner.stale.lock().expect("fake lock");
    let data: Vec<Value> = fake
        .records()
        .values()
        .filter(|r| (r.kind == "SESSION") == lessons)
        .filter(|r| r.date.as_str() >= from.as_str() && r.date.as_str() <= to.as_str())
        .map(|r| {
            let shown = match stale.get_mut(&r.id) {
                Some((old, lists)) if *lists > 0 => {
                    *lists -= 1;
                    old.clone()
                }
                _ => r.clone(),
            };
            let mut v = serde_json::to_value(&shown).expect("a record serialises");
            v["teacherId"] = json!(7);
            v
        })
        .collect();
    let total = data.len();
    Json(json!({"data": data, "total": total})).into_response()
}

async fn list_all(State(fake): State<FakeDreamClass>) -> Json<Vec<AttendanceRecord>> {
    Json(fake.attendance())
}

async fn upsert(
    State(fake): State<FakeDreamClass>,
    Json(record): Json<AttendanceRecord>,
) -> Response {
    let created = fake.upsert_attendance(record.clone());
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(record)).into_response()
}

async fn remove(State(fake): State<FakeDreamClass>, Path(id): Path<i64>) -> StatusCode {
    if fake.delete_attendance(id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

#[derive(Deserialize)]
struct EventBody {
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    timestamp: i64,
    data: AttendanceRecord,
}

async fn apply_event(State(fake): State<FakeDreamClass>, body: axum::body::Bytes) -> Response {
    if fake.apply_webhook_body(&body) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(
            StatusCode::BAD_REQUEST,
            "send a webhook body with an ATTENDANCE_* type and its data",
        )
    }
}

#[derive(Deserialize)]
struct Downtime {
    down: bool,
}

async fn set_downtime(
    State(fake): State<FakeDreamClass>,
    Json(body): Json<Downtime>,
) -> StatusCode {
    fake.set_down(body.down);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct TokenState {
    revoked: bool,
}

async fn set_token(State(fake): State<FakeDreamClass>, Json(body): Json<TokenState>) -> StatusCode {
    fake.set_token_revoked(body.revoked);
    StatusCode::NO_CONTENT
}

async fn stats(State(fake): State<FakeDreamClass>) -> Json<Value> {
    Json(json!({"requests": fake.request_count(), "byPath": fake.requests_by_path()}))
}

async fn reset_stats(State(fake): State<FakeDreamClass>) -> StatusCode {
    fake.reset_request_count();
    StatusCode::NO_CONTENT
}
