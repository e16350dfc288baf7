//! Test helpers: the fake DreamClass API on 127.0.0.1:0 and Rollcall's store and DreamClass
//! side on a real SQLite file in a temporary directory.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rollcall_core::envelope::parse_body;
use rollcall_core::store::{
    IngestOutcome, IngestWriter, ReadPool, SqliteStore, VerifiedDelivery, DATABASE_FILE,
};
use rollcall_core::{AttendanceEventKind, AttendanceRecord, AttendanceRow, Change};
use rollcall_dreamclass::{ApiConfig, DreamClass, DreamClassOptions, RecoveryOptions};
use rollcall_simulator::FakeDreamClass;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const SEED: u64 = 7;
/// Generous: a loaded CI machine may be slow, but a condition that never comes still fails.
pub const WAIT: Duration = Duration::from_secs(30);

pub struct FakeServer {
    pub fake: FakeDreamClass,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl FakeServer {
    pub async fn start() -> Self {
        Self::start_with(FakeDreamClass::demo(SEED)).await
    }

    pub async fn start_with(fake: FakeDreamClass) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(rollcall_simulator::fake_dreamclass::serve(
            listener,
            fake.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            fake,
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Settings that reach the fake, with short waits so tests do not idle.
    pub fn config(&self) -> ApiConfig {
        ApiConfig {
            retries: 1,
            retry_base_ms: 20,
            timeout_ms: 10_000,
            max_requests_per_second: 0.0,
            ..self.fake.api_config(self.addr)
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

pub fn fast_options() -> DreamClassOptions {
    DreamClassOptions {
        refresh_every: Duration::from_secs(3600),
        retry_min: Duration::from_millis(50),
        retry_max: Duration::from_millis(400),
        unknown_id_cooldown: Duration::from_millis(100),
        heartbeat_every: Duration::from_millis(100),
        sleep_threshold: Duration::from_secs(60),
        wall_clock: rollcall_dreamclass::WallClock::default(),
        recovery: RecoveryOptions::default(),
    }
}

/// Rollcall's store and DreamClass side over the database in `dir`.
pub struct App {
    pub writer: IngestWriter,
    pub reads: Arc<ReadPool>,
    pub dreamclass: DreamClass,
}

impl App {
    pub async fn start(dir: &Path, config: ApiConfig) -> Self {
        let writer = IngestWriter::start(&dir.join(DATABASE_FILE)).unwrap();
        Self::start_with_writer(dir, config, writer).await
    }

    pub async fn start_with_writer(dir: &Path, config: ApiConfig, writer: IngestWriter) -> Self {
        Self::start_with_options(dir, config, writer, fast_options()).await
    }

    pub async fn start_with_options(
        dir: &Path,
        config: ApiConfig,
        writer: IngestWriter,
        mut options: DreamClassOptions,
    ) -> Self {
        let reads = Arc::new(ReadPool::new(&dir.join(DATABASE_FILE)));
        // As the server does with `[dreamclass]` from rollcall.toml.
        options.recovery.lookback_days = config.recovery_lookback_days;
        let store = SqliteStore::new(writer.clone(), reads.clone()).shared();
        let dreamclass = DreamClass::start(config, store, options).await.unwrap();
        Self {
            writer,
            reads,
            dreamclass,
        }
    }

    pub async fn stop(self) {
        self.dreamclass.shutdown().await;
        self.writer.shutdown_async().await;
    }

    pub async fn deliver(
        &self,
        kind: AttendanceEventKind,
        record: &AttendanceRecord,
        timestamp: i64,
    ) -> IngestOutcome {
        self.writer
            .deliver(webhook(kind, record, timestamp))
            .await
            .unwrap()
    }

    pub fn read<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> T {
        self.reads.with(f).unwrap()
    }

    pub fn row(&self, attendance_id: i64) -> Option<AttendanceRow> {
        self.read(|c| {
            let filter = rollcall_core::filter::RecordFilter {
                attendance_id: Some(attendance_id),
                ..Default::default()
            };
            rollcall_core::store::queries::attendance(c, &filter, true, 10)
        })
        .pop()
    }

    pub fn changes(&self) -> Vec<Change> {
        self.read(|c| {
            rollcall_core::store::queries::changes_after(c, 0, 100_000, &Default::default())
        })
    }
}

/// A verified delivery of an attendance webhook, as the listener would pass it on.
pub fn webhook(
    kind: AttendanceEventKind,
    record: &AttendanceRecord,
    timestamp: i64,
) -> VerifiedDelivery {
    let body = serde_json::json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "type": kind.event_type(),
        "tenant": rollcall_simulator::school::DEMO_TENANT,
        "timestamp": timestamp,
        "signature": "not checked here",
        "data": record,
    })
    .to_string()
    .into_bytes();
    let parsed = parse_body(&body).unwrap();
    VerifiedDelivery {
        received_at: rollcall_core::model::now_ms(),
        content_sha256: parsed.content_sha256(),
        envelope: parsed.into_envelope().unwrap(),
        raw_body: body,
    }
}

/// A lesson record of the demo school.
pub fn lesson_record(
    id: i64,
    date: &str,
    student_period_id: i64,
    status_id: i64,
) -> AttendanceRecord {
    let school = rollcall_simulator::school::DemoSchool::generate(SEED);
    let student = school
        .students
        .iter()
        .find(|s| s.student_period_id == student_period_id)
        .unwrap();
    let class = school
        .classes
        .iter()
        .find(|c| c.id == student.class_id)
        .unwrap();
    AttendanceRecord {
        id,
        date: date.into(),
        kind: "SESSION".into(),
        class_id: class.id,
        course_id: class.timetable[0],
        status_id,
        student_period_id,
        comment: String::new(),
    }
}

/// Polls `check` until it gives a value; panics with `what` after [`WAIT`].
pub async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn now_ms() -> i64 {
    rollcall_core::model::now_ms()
}

pub fn today() -> String {
    chrono::Local::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// The local date `days` before today.
pub fn days_ago(days: i64) -> String {
    (chrono::Local::now().date_naive() - chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// Every date from `days` before today through today, oldest first.
pub fn last_days(days: i64) -> Vec<String> {
    (0..=days).rev().map(days_ago).collect()
}
