//! Measuring a running desktop app from outside: its process tree, memory (PSS) and start
//! time from /proc, and a large database made quickly for it to open.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rollcall_core::rusqlite::{params, Connection};

/// `pid` and every process below it (the app's WebKit web and network processes, and any
/// sandbox helpers between them).
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (child, parent) in all_processes() {
        children.entry(parent).or_default().push(child);
    }
    let mut tree = vec![pid];
    let mut index = 0;
    while index < tree.len() {
        if let Some(kids) = children.get(&tree[index]) {
            tree.extend(kids);
        }
        index += 1;
    }
    tree
}

/// (pid, parent pid) of every process.
fn all_processes() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, stat_fields(pid)?.get(1)?.parse().ok()?)))
        .collect()
}

/// The fields of /proc/PID/stat after the command name (state is [0], ppid [1]).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// The process below `root` running `exe`.
pub fn find_descendant_running(root: u32, exe: &Path) -> Option<u32> {
    let exe = exe.canonicalize().ok()?;
    process_tree(root).into_iter().find(|pid| {
        std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .as_deref()
            == Some(&exe)
    })
}

pub fn process_name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| format!("pid {pid}"))
}

/// Proportional set size in KiB: shared pages split between the processes sharing them, so
/// the sum over processes is the memory they take together.
pub fn pss_kib(pid: u32) -> Option<u64> {
    rollup_kib(pid, "Pss:")
}

/// The part of [`pss_kib`] that is anonymous memory (heaps, JavaScript, buffers), not mapped
/// files such as the program and its libraries.
pub fn anon_pss_kib(pid: u32) -> Option<u64> {
    rollup_kib(pid, "Pss_Anon:")
}

fn rollup_kib(pid: u32, field: &str) -> Option<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    rollup
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Memory of the processes of one name (KiB).
#[derive(Debug, Clone, Default)]
pub struct ProcessMemory {
    pub name: String,
    pub pss: u64,
    /// Of which anonymous ([`anon_pss_kib`]).
    pub anon: u64,
}

/// PSS of `pid` and its tree, per process name, e.g. `rollcall-desktop`,
/// `WebKitWebProcess`, `WebKitNetworkProcess`.
pub fn tree_pss_by_name(pid: u32) -> Vec<ProcessMemory> {
    let mut by_name: Vec<ProcessMemory> = Vec::new();
    for pid in process_tree(pid) {
        let Some(pss) = pss_kib(pid) else { continue };
        let anon = anon_pss_kib(pid).unwrap_or(0);
        let name = process_name(pid);
        let entry = match by_name.iter().position(|p| p.name == name) {
            Some(i) => &mut by_name[i],
            None => {
                by_name.push(ProcessMemory {
                    name,
                    ..Default::default()
                });
                by_name.last_mut().expect("just pushed")
            }
        };
        entry.pss += pss;
        entry.anon += anon;
    }
    by_name
}

/// When `pid` started, from its start time in clock ticks after boot (10 ms resolution).
pub fn process_start(pid: u32) -> Option<SystemTime> {
    let ticks: u64 = stat_fields(pid)?.get(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let ticks_per_second = clock_ticks_per_second();
    Some(
        UNIX_EPOCH
            + Duration::from_secs(boot)
            + Duration::from_millis(ticks * 1000 / ticks_per_second),
    )
}

fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100)
}

/// A Rollcall database with `changes` stored changes, as a school term would leave it: one
/// delivery (raw body kept) per change, mostly new records and some corrections, spread over
/// the school days up to today, in 40 classes of 25 students. Written with direct SQLite
/// inserts into the real schema (migrated by `open_writer`), in one transaction: a million
/// changes take well under a minute, where posting them through the listener would take
/// many. Kept under `cache_dir` and reused while the row count and schema are the same.
pub fn large_database(cache_dir: &Path, changes: usize) -> PathBuf {
    let dir = cache_dir.join(format!(
        "db-{changes}-v{}",
        rollcall_core::store::schema::latest_version()
    ));
    let path = dir.join(rollcall_core::store::DATABASE_FILE);
    let done = dir.join("complete");
    if done.is_file() {
        return path;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the cache folder can be created");
    let mut conn = rollcall_core::store::open_writer(&path).expect("a new database opens");
    fill(&mut conn, changes).expect("the database fills");
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")
        .expect("the database settles");
    drop(conn);
    std::fs::write(&done, "").expect("the marker can be written");
    path
}

fn fill(conn: &mut Connection, changes: usize) -> rollcall_core::rusqlite::Result<()> {
    conn.pragma_update(None, "synchronous", "OFF")?;
    let tx = conn.transaction()?;
    {
        let mut delivery = tx.prepare(
            "INSERT INTO deliveries (seq, received_at, request_id, event_type, tenant, outcome,
                status, reason, body, body_bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, 'applied', 200, NULL, ?6, ?7)",
        )?;
        let mut request = tx.prepare(
            "INSERT INTO requests (request_id, content_sha256, first_seen) VALUES (?1, ?2, ?3)",
        )?;
        let mut change = tx.prepare(
            "INSERT INTO changes (seq, recorded_at, source, request_id, event_type, event_ts,
                tenant, attendance_id, date, kind, class_id, course_id, student_period_id,
                status_before, status_after, comment_before, comment_after)
             VALUES (?1, ?2, 'webhook', ?3, ?4, ?5, ?6, ?7, ?8, 'SESSION', ?9, ?10, ?11, ?12,
                ?13, ?14, ?15)",
        )?;
        let mut current = tx.prepare(
            "INSERT OR REPLACE INTO attendance (tenant, attendance_id, date, kind, class_id,
                course_id, status_id, student_period_id, comment, deleted, event_ts,
                request_id, last_seq)
             VALUES (?1, ?2, ?3, 'SESSION', ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10, ?11)",
        )?;
        let tenant = "bench-school";
        let per_day = 6_000usize;
        let days = changes.div_ceil(per_day) as i64;
        let today = rollcall_core::model::now_ms() / 86_400_000;
        let mut random = XorShift(0x9e37_79b9_7f4a_7c15);
        // (attendance id, status, student, class, course) of today's records, for corrections.
        let mut day_records: Vec<(i64, i64, i64, i64, i64)> = Vec::new();
        let mut next_attendance_id = 1i64;
        for i in 0..changes {
            let seq = i as i64 + 1;
            let day_index = (i / per_day) as i64;
            if i % per_day == 0 {
                day_records.clear();
            }
            let day = today - (days - 1 - day_index);
            let date = date_of_day(day);
            let at = day * 86_400_000 + 8 * 3_600_000 + (i % per_day) as i64 * 5_000;
            let correction = !day_records.is_empty() && random.below(10) == 0;
            let (attendance_id, before, student, class, course) = if correction {
                let pick = random.below(day_records.len() as u64) as usize;
                let (id, status, student, class, course) = day_records[pick];
                (id, Some(status), student, class, course)
            } else {
                let student = random.below(1_000) as i64 + 1;
                let class = (student - 1) / 25 + 1;
                let course = random.below(30) as i64 + 1;
                let id = next_attendance_id;
                next_attendance_id += 1;
                (id, None, student, class, course)
            };
            let status = match random.below(100) {
                0..=79 => 1,
                80..=89 => 2,
                90..=96 => 3,
                _ => 4,
            };
            if correction {
                if let Some(r) = day_records.iter_mut().find(|r| r.0 == attendance_id) {
                    r.1 = status;
                }
            } else {
                day_records.push((attendance_id, status, student, class, course));
            }
            let event_type = if correction {
                "ATTENDANCE_UPDATED"
            } else {
                "ATTENDANCE_CREATED"
            };
            let comment = if status == 4 {
                "Doctor's appointment"
            } else {
                ""
            };
            let request_id = format!("{:08x}-0000-4000-8000-{:012x}", i, seq);
            let body = format!(
                r#"{{"id":"{request_id}","data":{{"id":{attendance_id},"date":"{date}","type":"SESSION","classId":{class},"courseId":{course},"statusId":{status},"studentPeriodId":{student},"comment":"{comment}"}},"type":"{event_type}","tenant":"{tenant}","signature":"c2lnbmF0dXJlLW9mLXRoaXMtcmVxdWVzdC1pZC0wMDAwMDA=","timestamp":{at}}}"#
            );
            delivery.execute(params![
                seq,
                at,
                request_id,
                event_type,
                tenant,
                body.as_bytes(),
                body.len() as i64
            ])?;
            request.execute(params![request_id, format!("{seq:064x}"), at])?;
            change.execute(params![
                seq,
                at,
                request_id,
                event_type,
                at,
                tenant,
                attendance_id,
                date,
                class,
                course,
                student,
                before,
                status,
                before.map(|_| comment),
                comment
            ])?;
            current.execute(params![
                tenant,
                attendance_id,
                date,
                class,
                course,
                status,
                student,
                comment,
                at,
                request_id,
                seq
            ])?;
        }
    }
    tx.commit()
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (UTC).
fn date_of_day(day: i64) -> String {
    let date = chrono::DateTime::from_timestamp(day * 86_400, 0).expect("a date in range");
    date.date_naive().to_string()
}

/// A small deterministic generator: the same database every time, no dependency.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
