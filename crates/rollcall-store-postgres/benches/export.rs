//! CSV export of 1,000,000 attendance rows from PostgreSQL through `Store::export`, against
//! `psql -c "\copy (…) to stdout csv"` on the same database, side by side in one run, and the
//! export's peak memory.
//!
//! `cargo bench -p rollcall-store-postgres --bench export [-- --rows N --runs R]`
//!
//! 1. Starts a durable throwaway cluster (fsync on) and loads, server side with
//!    `generate_series`, a school like core's export benchmark: 1,000 students in 40 classes,
//!    12 courses, six lessons a day, names for every id, a comment on one record in twenty.
//! 2. Times Rollcall's attendance export (to /dev/null through the store, as the API and the
//!    CLI call it) and `psql` `\copy` of an equivalent query (the same joins, order, category
//!    and ISO time), alternating, `--runs` times each; prints the best of each and the ratio
//!    (the aim: at most 1.5x).
//! 3. Peak memory: this process's VmHWM before the first export and after the last one; the
//!    rows stream, so the exports add next to nothing whatever the number of rows.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rollcall_core::filter::RecordFilter;
use rollcall_core::reports::{ExportParams, ExportRequest, ReportSettings};
use rollcall_core::store::Store;
use rollcall_core::Scope;
use rollcall_store_postgres::cluster::{Durability, TestCluster};
use rollcall_store_postgres::{DatabaseUrl, PostgresStore};

/// What `psql` copies: the same rows, columns and order as Rollcall's attendance export
/// (`\copy … csv` writes an empty text as `""`, so an empty comment is given as NULL).
const PSQL_QUERY: &str = "SELECT a.attendance_id, a.date, a.kind AS type, a.class_id, \
     c.name AS class, a.course_id, co.name AS course, a.student_period_id, st.name AS student, \
     a.status_id, s.name AS status, CASE COALESCE(s.user_category, s.guessed_category) \
     WHEN 'present' THEN 'present' WHEN 'absent' THEN 'absent' WHEN 'late' THEN 'late' \
     WHEN 'excused' THEN 'excused' ELSE 'other' END AS status_category, \
     NULLIF(a.comment, '') AS comment, \
     to_char(to_timestamp(a.event_ts / 1000.0) AT TIME ZONE 'UTC', \
     'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS last_event_at, a.tenant AS school \
     FROM attendance a \
     LEFT JOIN reference_classes c ON c.tenant = a.tenant AND c.id = a.class_id \
     LEFT JOIN reference_courses co ON co.tenant = a.tenant AND co.id = a.course_id \
     LEFT JOIN reference_students st ON st.tenant = a.tenant AND st.student_period_id = a.student_period_id \
     LEFT JOIN reference_statuses s ON s.tenant = a.tenant AND s.id = a.status_id \
     WHERE a.deleted = 0 \
     ORDER BY a.date, a.class_id, a.course_id, a.student_period_id, a.attendance_id";

struct Options {
    rows: i64,
    runs: usize,
}

fn options() -> Options {
    let mut o = Options {
        rows: 1_000_000,
        runs: 3,
    };
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--rows" => o.rows = pair[1].parse().expect("a number of rows"),
            "--runs" => o.runs = pair[1].parse().expect("a number of runs"),
            _ => {}
        }
    }
    o
}

fn main() {
    let o = options();
    let cluster = TestCluster::start(Durability::Durable).expect("a throwaway cluster");
    let url_text = cluster.create_database().expect("a database");
    let url = DatabaseUrl::parse(&url_text).unwrap();
    let database = url_text
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();

    // Opening migrates the schema; the rows are then loaded beside the store.
    let store = PostgresStore::open(&url).expect("the store opens");
    let started = Instant::now();
    load(&url, o.rows);
    println!(
        "loaded {} attendance rows in {:.1} s (durable cluster, fsync on)",
        o.rows,
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let request = ExportRequest::new(
        "attendance",
        RecordFilter::default(),
        &ExportParams::default(),
        ReportSettings::default(),
    )
    .unwrap();
    let before_kb = vm_hwm_kb();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let mut bytes = 0;
    for _ in 0..o.runs {
        let counted = Arc::new(AtomicU64::new(0));
        let sink = CountingNull(counted.clone());
        let t = Instant::now();
        let rows = runtime
            .block_on(store.export(&Scope::all(), &request, Box::new(sink), None))
            .expect("the export runs");
        ours.push(t.elapsed());
        assert_eq!(rows as i64, o.rows);
        bytes = counted.load(Ordering::Relaxed);

        let t = Instant::now();
        let status = Command::new("/usr/bin/psql")
            .args(["-h", "127.0.0.1", "-p", &cluster.port().to_string()])
            .args(["-U", "rollcall", "-d", &database, "-X", "-q", "-c"])
            .arg(format!("\\copy ({PSQL_QUERY}) to stdout csv header"))
            .stdout(Stdio::from(std::fs::File::create("/dev/null").unwrap()))
            .status()
            .expect("psql runs");
        theirs.push(t.elapsed());
        assert!(status.success(), "psql failed");
    }
    let after_kb = vm_hwm_kb();
    // The same content: psql ends lines with LF where Rollcall writes CRLF (RFC 4180).
    let copied = Command::new("/usr/bin/psql")
        .args(["-h", "127.0.0.1", "-p", &cluster.port().to_string()])
        .args(["-U", "rollcall", "-d", &database, "-X", "-q", "-c"])
        .arg(format!("\\copy ({PSQL_QUERY}) to stdout csv header"))
        .output()
        .expect("psql runs");
    let lines = copied.stdout.iter().filter(|b| **b == b'\n').count() as u64;
    println!(
        "psql wrote {} bytes in {lines} lines; with CRLF line ends that is {} bytes, Rollcall {bytes}: {}",
        copied.stdout.len(),
        copied.stdout.len() as u64 + lines,
        if copied.stdout.len() as u64 + lines == bytes { "the same size" } else { "DIFFERENT" }
    );
    let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let list = |v: &[Duration]| {
        v.iter()
            .map(|d| format!("{:.3}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (a, b) = (best(&ours), best(&theirs));
    println!(
        "rollcall export attendance (Store::export): {:.3} s  (best of {}: {})  {bytes} bytes",
        a.as_secs_f64(),
        o.runs,
        list(&ours)
    );
    println!(
        "psql \\copy … to stdout csv:                 {:.3} s  (best of {}: {})",
        b.as_secs_f64(),
        o.runs,
        list(&theirs)
    );
    let ratio = a.as_secs_f64() / b.as_secs_f64();
    println!(
        "ratio rollcall / psql: {ratio:.2}x  (aim: at most 1.50x) {}",
        if ratio <= 1.5 { "ok" } else { "ABOVE" }
    );
    println!(
        "peak memory (VmHWM): {:.1} MB before the exports, {:.1} MB after {} exports of {} \
         rows: they added {:.1} MB",
        before_kb as f64 / 1024.0,
        after_kb as f64 / 1024.0,
        o.runs,
        o.rows,
        after_kb.saturating_sub(before_kb) as f64 / 1024.0
    );
    runtime.block_on(store.shutdown());
    println!(
        "reproduce: cargo bench -p rollcall-store-postgres --bench export -- --rows {} --runs {}",
        o.rows, o.runs
    );
}

/// Loads the reference names and `rows` attendance records in one transaction, server side.
fn load(url: &DatabaseUrl, rows: i64) {
    let mut c = url.connect_raw().expect("a connection");
    c.batch_execute(
        "BEGIN;
         INSERT INTO reference_statuses (tenant, id, name, guessed_category, fetched_at) VALUES
             ('bench', 1, 'Present', 'present', 0), ('bench', 2, 'Absent', 'absent', 0),
             ('bench', 3, 'Late', 'late', 0), ('bench', 4, 'Excused', 'excused', 0);
         INSERT INTO reference_classes (tenant, id, name, school_period_id, active, fetched_at)
             SELECT 'bench', g, 'Class ' || g, 1, 1, 0 FROM generate_series('bench', 1, 40) g;
         INSERT INTO reference_courses (tenant, id, name, fetched_at)
             SELECT 'bench', g, 'Course ' || g, 0 FROM generate_series('bench', 1, 12) g;
         INSERT INTO reference_students (tenant, student_period_id, student_id, name, class_id, school_period_id, active, fetched_at)
             SELECT 'bench', g, 10000 + g, 'Student ' || g, 1 + g % 40, 1, 1, 0
             FROM generate_series('bench', 1, 1000) g;
         COMMIT;",
    )
    .expect("reference names load");
    // Record g: student g % 1000, lesson (g / 1000) % 6 of day g / 6000.
    c.execute(
        "INSERT INTO attendance (tenant, attendance_id, date, kind, class_id, course_id,
             status_id, student_period_id, comment, deleted, event_ts, request_id, last_seq)
         SELECT 'bench', g,
                to_char(DATE '2026-09-01' + CAST(g / 6000 AS INTEGER), 'YYYY-MM-DD'), 'SESSION',
                1 + (g % 1000) % 40, 1 + ((g / 1000) % 6 + g % 1000) % 12,
                CASE WHEN g % 10 = 0 THEN 2 WHEN g % 17 = 0 THEN 3
                     WHEN g % 23 = 0 THEN 4 ELSE 1 END,
                1 + g % 1000,
                CASE WHEN g % 20 = 0 THEN 'Came in at ' || (g % 60) || ' past' ELSE '' END,
                0, 1788249600000 + g * 1000, 'request-' || g, g
         FROM generate_series(0::BIGINT, $1::BIGINT - 1) g",
        &[&rows],
    )
    .expect("attendance loads");
    c.batch_execute("ANALYZE").expect("analyze");
}

/// /dev/null that counts what it was given.
struct CountingNull(Arc<AtomicU64>);

impl Write for CountingNull {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
