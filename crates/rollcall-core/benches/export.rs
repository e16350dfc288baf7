//! CSV export of 1,000,000 attendance rows against `sqlite3 -csv` on the same database, side by
//! side in one run, and the export's peak memory.
//!
//! `cargo bench -p rollcall-core --bench export [-- --rows N --runs R --dir DIR]`
//!
//! 1. Builds a database with the real schema (`open_writer`): a school of 1,000 students in
//!    40 classes with 12 courses, six lessons a day over school days, names for every id, a
//!    comment on one record in twenty. Bulk INSERTs in one transaction. With `--dir`, a
//!    database already there with the same number of rows is reused.
//! 2. Times `rollcall export attendance` (the library function, run in a child process so its
//!    peak memory is its own) and `sqlite3 -csv -header` with an equivalent query (the same
//!    joins, category and ISO time), alternating, `--runs` times each; prints the best of each
//!    and the ratio (target: no slower than 1.5x).
//!    Also times the desktop window's "Save report" path: the row count for its progress bar
//!    and the export with a progress callback (checking a cancel flag) in one read
//!    transaction, to a file synced to disk at the end.
//! 3. Peak memory: the child reads its own VmHWM from /proc/self/status after the export (and
//!    before it, to show what the export added). `sqlite3`'s is read through `/usr/bin/time`
//!    when that is installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rollcall_core::filter::RecordFilter;
use rollcall_core::reports::{
    count_report_rows, write_report, write_report_with_progress, ExportOptions, ReportKind,
};
use rollcall_core::rusqlite::params;
use rollcall_core::store::{open_reader, open_writer, DATABASE_FILE};

const STUDENTS: i64 = 1000;
const CLASSES: i64 = 40;
const COURSES: i64 = 12;
const LESSONS_PER_DAY: i64 = 6;

/// What `sqlite3` runs: the same rows, columns and order as `rollcall export attendance`.
const SQLITE3_QUERY: &str = "SELECT a.attendance_id, a.date, a.kind AS type, a.class_id, \
     c.name AS class, a.course_id, co.name AS course, a.student_period_id, st.name AS student, \
     a.status_id, s.name AS status, CASE COALESCE(s.user_category, s.guessed_category) \
     WHEN 'present' THEN 'present' WHEN 'absent' THEN 'absent' WHEN 'late' THEN 'late' \
     WHEN 'excused' THEN 'excused' ELSE 'other' END AS status_category, a.comment, \
     strftime('%Y-%m-%dT%H:%M:%fZ', a.event_ts / 1000.0, 'unixepoch') AS last_event_at, a.tenant AS school \
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
    dir: Option<PathBuf>,
}

fn options() -> Options {
    let mut o = Options {
        rows: 1_000_000,
        runs: 3,
        dir: None,
    };
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--rows" => o.rows = pair[1].parse().expect("a number of rows"),
            "--runs" => o.runs = pair[1].parse().expect("a number of runs"),
            "--dir" => o.dir = Some(PathBuf::from(&pair[1])),
            _ => {}
        }
    }
    o
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child-export") {
        child_export(Path::new(&args[at + 1]), Path::new(&args[at + 2]));
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--child-save") {
        child_save(Path::new(&args[at + 1]), Path::new(&args[at + 2]));
        return;
    }
    let o = options();
    let temp = tempfile::tempdir().unwrap();
    let dir = o.dir.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(DATABASE_FILE);

    let started = Instant::now();
    if stored_rows(&db) == Some(o.rows) {
        println!("reusing {} ({} rows)", db.display(), o.rows);
    } else {
        let _ = std::fs::remove_file(&db);
        build_database(&db, o.rows);
        println!(
            "built {} with {} attendance rows in {:.1} s ({} MB)",
            db.display(),
            o.rows,
            started.elapsed().as_secs_f64(),
            std::fs::metadata(&db).unwrap().len() / 1_000_000
        );
    }
    print_query_plan(&db);
    // Both read a warm page cache: read the file once first.
    std::fs::read(&db).unwrap();

    let ours_out = dir.join("rollcall-attendance.csv");
    let saved_out = dir.join("rollcall-saved-attendance.csv");
    let sqlite_out = dir.join("sqlite3-attendance.csv");
    let have_sqlite3 = Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    let time_available = Path::new("/usr/bin/time").exists();
    let mut ours = Vec::new();
    let mut saves = Vec::new();
    let mut theirs = Vec::new();
    let mut report = String::new();
    let mut sqlite_peak = None;
    for _ in 0..o.runs {
        let exe = std::env::current_exe().unwrap();
        let t = Instant::now();
        let output = Command::new(exe)
            .arg("--child-export")
            .arg(&db)
            .arg(&ours_out)
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        ours.push(t.elapsed());
        assert!(output.status.success(), "the export failed");
        report = String::from_utf8(output.stdout).unwrap();
        let t = Instant::now();
        let saved = Command::new(std::env::current_exe().unwrap())
            .arg("--child-save")
            .arg(&db)
            .arg(&saved_out)
            .stderr(Stdio::inherit())
            .status()
            .unwrap();
        saves.push(t.elapsed());
        assert!(saved.success(), "the save failed");
        if have_sqlite3 {
            let (elapsed, peak) = run_sqlite3(&db, &sqlite_out, time_available);
            theirs.push(elapsed);
            sqlite_peak = peak.or(sqlite_peak);
        }
    }
    let best = |times: &[Duration]| times.iter().min().copied().unwrap_or_default();
    let (ours_best, theirs_best) = (best(&ours), best(&theirs));
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    println!();
    println!(
        "rollcall export attendance: {:>7.3} s  (best of {}: {})  {} bytes",
        ours_best.as_secs_f64(),
        o.runs,
        list(&ours),
        size(&ours_out)
    );
    println!(
        "desktop Save report path:   {:>7.3} s  (best of {}: {})  count + progress + fsync",
        best(&saves).as_secs_f64(),
        o.runs,
        list(&saves)
    );
    assert_eq!(
        std::fs::read(&ours_out).unwrap(),
        std::fs::read(&saved_out).unwrap(),
        "the saved file differs from the export"
    );
    if have_sqlite3 {
        println!(
            "sqlite3 -csv -header:       {:>7.3} s  (best of {}: {})  {} bytes",
            theirs_best.as_secs_f64(),
            o.runs,
            list(&theirs),
            size(&sqlite_out)
        );
        for (what, time) in [
            ("rollcall / sqlite3:  ", ours_best),
            ("Save report / sqlite3:", best(&saves)),
        ] {
            let ratio = time.as_secs_f64() / theirs_best.as_secs_f64();
            println!(
                "ratio {what} {ratio:>7.2}x  (target: at most 1.50x) {}",
                if ratio <= 1.5 {
                    "ok"
                } else {
                    "SLOWER THAN TARGET"
                }
            );
        }
        let lines = |p: &Path| {
            std::fs::read(p)
                .map(|b| b.iter().filter(|&&c| c == b'\n').count())
                .unwrap_or(0)
        };
        println!(
            "line ends in the files:     rollcall {}, sqlite3 {}",
            lines(&ours_out),
            lines(&sqlite_out)
        );
    } else {
        println!("sqlite3 is not installed: no comparison (apt-get install sqlite3)");
    }
    print!("{report}");
    if let Some(kb) = sqlite_peak {
        println!(
            "sqlite3 peak memory (max RSS): {:.1} MB",
            kb as f64 / 1024.0
        );
    }
    println!();
    println!(
        "reproduce: cargo bench -p rollcall-core --bench export -- --rows {} --runs {}",
        o.rows, o.runs
    );
}

fn list(times: &[Duration]) -> String {
    times
        .iter()
        .map(|t| format!("{:.3}", t.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn run_sqlite3(db: &Path, out: &Path, with_time: bool) -> (Duration, Option<u64>) {
    let file = std::fs::File::create(out).unwrap();
    let mut command = if with_time {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "peak-kb=%M", "sqlite3"]);
        c
    } else {
        Command::new("sqlite3")
    };
    let t = Instant::now();
    let output = command
        .args(["-csv", "-header", "-readonly"])
        .arg(db)
        .arg(SQLITE3_QUERY)
        .stdout(file)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let elapsed = t.elapsed();
    assert!(
        output.status.success(),
        "sqlite3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let peak = String::from_utf8_lossy(&output.stderr)
        .lines()
        .find_map(|l| {
            l.strip_prefix("peak-kb=")
                .and_then(|v| v.trim().parse().ok())
        });
    (elapsed, peak)
}

/// The export, in a process of its own: prints its peak memory before and after.
fn child_export(db: &Path, out: &Path) {
    let conn = open_reader(db).unwrap();
    let before = vm_hwm_kb();
    let file = std::fs::File::create(out).unwrap();
    let rows = write_report(
        &conn,
        ReportKind::Attendance,
        &RecordFilter::default(),
        &ExportOptions::default(),
        file,
    )
    .unwrap();
    let after = vm_hwm_kb();
    println!(
        "rollcall export peak memory (VmHWM): {:.1} MB for {rows} rows ({:.1} MB before the \
         export started: the export added {:.1} MB)",
        after as f64 / 1024.0,
        before as f64 / 1024.0,
        after.saturating_sub(before) as f64 / 1024.0
    );
}

/// The desktop's "Save report" work, as `rollcall_server::report_file::save_report` does it:
/// count and export in one snapshot, a progress callback that checks a cancel flag, the file
/// synced at the end.
fn child_save(db: &Path, out: &Path) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let conn = open_reader(db).unwrap();
    let snapshot = conn.unchecked_transaction().unwrap();
    let filter = RecordFilter::default();
    let options = ExportOptions::default();
    let total = count_report_rows(&snapshot, ReportKind::Attendance, &filter, &options).unwrap();
    let cancel = AtomicBool::new(false);
    let mut file = std::fs::File::create(out).unwrap();
    let rows = write_report_with_progress(
        &snapshot,
        ReportKind::Attendance,
        &filter,
        &options,
        &mut file,
        &mut |written| {
            assert!(written <= total);
            if cancel.load(Ordering::Relaxed) {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        },
    )
    .unwrap();
    assert_eq!(rows, total);
    file.sync_all().unwrap();
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

fn stored_rows(db: &Path) -> Option<i64> {
    let conn = open_reader(db).ok()?;
    conn.query_row("SELECT COUNT(*) FROM attendance", [], |r| r.get(0))
        .ok()
}

fn print_query_plan(db: &Path) {
    let conn = open_reader(db).unwrap();
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {SQLITE3_QUERY}"))
        .unwrap();
    let plan: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    println!("query plan: {}", plan.join("; "));
}

/// A small deterministic generator, so every run builds the same school.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn build_database(db: &Path, rows: i64) {
    let mut conn = open_writer(db).unwrap();
    // Bulk loading only: the export reads the same schema whatever the durability settings.
    conn.pragma_update(None, "synchronous", "OFF").unwrap();
    let tx = conn.transaction().unwrap();
    {
        let first_names = [
            "María",
            "Γιώργος",
            "Seán",
            "Anna",
            "Jean-Luc",
            "Zoë",
            "Ελένη",
            "Ali",
        ];
        let last_names = [
            "García",
            "Παπαδόπουλος",
            "O'Brien",
            "Müller",
            "Dubois",
            "Nowak",
        ];
        let mut student = tx
            .prepare(
                "INSERT INTO reference_students (tenant, student_period_id, student_id, name, class_id,
                     school_period_id, active, fetched_at) VALUES ('bench-school', ?1, ?1, ?2, ?3, 1, 1, 0)",
            )
            .unwrap();
        for sp in 1..=STUDENTS {
            let name = format!(
                "{} {}",
                first_names[(sp % 8) as usize],
                last_names[(sp / 8 % 6) as usize]
            );
            student
                .execute(params![sp, name, 100 + sp % CLASSES])
                .unwrap();
        }
        for c in 0..CLASSES {
            tx.execute(
                "INSERT INTO reference_classes (tenant, id, name, school_period_id, active, fetched_at)
                 VALUES ('bench-school', ?1, ?2, 1, 1, 0)",
                params![
                    100 + c,
                    format!(
                        "{}{}",
                        1 + c / 8,
                        ["A", "B", "C", "D", "E"][(c % 5) as usize]
                    )
                ],
            )
            .unwrap();
        }
        let courses = [
            "Mathematics",
            "Ελληνικά",
            "English",
            "History",
            "Physics",
            "Chemistry",
            "Biology",
            "Geography",
            "Music",
            "Art",
            "Physical education",
            "Computing",
        ];
        for (i, name) in courses.iter().enumerate() {
            tx.execute(
                "INSERT INTO reference_courses (tenant, id, name, fetched_at) VALUES ('bench-school', ?1, ?2, 0)",
                params![200 + i as i64, name],
            )
            .unwrap();
        }
        tx.execute_batch(
            "INSERT INTO reference_statuses (tenant, id, name, guessed_category, user_category, fetched_at)
             VALUES ('bench-school', 1, 'Present', 'present', NULL, 0), ('bench-school', 2, 'Absent', 'absent', NULL, 0),
                    ('bench-school', 3, 'Late', 'late', NULL, 0), ('bench-school', 4, 'Excused', 'excused', NULL, 0),
                    ('bench-school', 5, 'Left early', 'other', NULL, 0);",
        )
        .unwrap();

        let mut insert = tx
            .prepare(
                "INSERT INTO attendance (tenant, attendance_id, date, kind, class_id, course_id,
                     status_id, student_period_id, comment, deleted, event_ts, request_id, last_seq)
                 VALUES ('bench-school', ?1, ?2, 'SESSION', ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?1)",
            )
            .unwrap();
        let mut rng = Lcg(42);
        let mut day = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let mut id = 0;
        'days: loop {
            use chrono::Datelike;
            if day.weekday().number_from_monday() <= 5 {
                let date = day.format("%Y-%m-%d").to_string();
                let morning = day
                    .and_hms_opt(7, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp_millis();
                for lesson in 0..LESSONS_PER_DAY {
                    for sp in 1..=STUDENTS {
                        if id == rows {
                            break 'days;
                        }
                        id += 1;
                        let class = sp % CLASSES;
                        let roll = rng.next() % 100;
                        let status = match roll {
                            0..=84 => 1,
                            85..=90 => 2,
                            91..=94 => 3,
                            95..=97 => 4,
                            _ => 5,
                        };
                        let comment = match rng.next() % 20 {
                            0 => "Late, the bus \"42\" was delayed",
                            _ => "",
                        };
                        insert
                            .execute(params![
                                id,
                                date,
                                100 + class,
                                200 + (lesson + class) % COURSES,
                                status,
                                sp,
                                comment,
                                morning + lesson * 3_000_000 + (rng.next() % 600_000) as i64,
                                format!("{:08x}-0000-4000-8000-{:012x}", id, id * 7919),
                            ])
                            .unwrap();
                    }
                }
            }
            day = day.succ_opt().unwrap();
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
}
