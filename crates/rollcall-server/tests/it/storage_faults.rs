//! Storage faults: a database locked by another program (the writer's 5 s busy timeout, then
//! 503), and a full disk. For the full disk the data folder is put on a tiny tmpfs (mounting
//! needs root; without it the test says so and passes), the disk is filled, and deliveries must
//! be answered 503 (never a 200 that was not saved), with nothing half-written, and normal
//! service must come back by itself when space returns.

use std::path::{Path, PathBuf};
use std::process::Command;

use rollcall_core::store::DATABASE_FILE;
use serde_json::{json, Value};

use crate::support::*;

/// Unmounts the tmpfs when the test ends, passed or not.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tiny_tmpfs(path: &Path) -> Option<Mounted> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        println!("storage fault test skipped: mounting a tmpfs needs root");
        return None;
    }
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(path)
        .status()
        .ok()?;
    if !mounted.success() {
        println!("storage fault test skipped: could not mount a tmpfs here");
        return None;
    }
    Some(Mounted(path.to_path_buf()))
}

/// Fills the file system holding `path` until no byte more fits.
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 16 * 1024];
    while file.write_all(&chunk).is_ok() {}
    while file.write_all(&[0]).is_ok() {}
    let _ = file.sync_all();
}

/// A valid delivery with a large comment, so each one needs real room on the disk.
fn bulky(id: i64) -> Value {
    attendance(
        "ATTENDANCE_CREATED",
        &new_id(),
        now_ms() - 1000,
        record(id, 1, &"x".repeat(30 * 1024)),
    )
}

#[tokio::test]
async fn a_full_disk_answers_503_and_service_resumes_when_space_returns() {
    let mount_point = tempfile::tempdir().unwrap();
    let Some(_mounted) = mount_tiny_tmpfs(mount_point.path()) else {
        return;
    };
    let data_dir = mount_point.path().join("data");
    let s = TestServer::start_in(tempfile::tempdir().unwrap(), signed_config(&data_dir)).await;
    assert_eq!(s.post(&bulky(1)).await.0, 200);

    let filler = mount_point.path().join("filler");
    fill(&filler);
    // Deliveries until the disk refuses one: each is either saved (200) or refused (503).
    let mut saved = vec![1];
    let mut refused = Vec::new();
    for id in 2..200 {
        let body = bulky(id);
        let (status, answer) = s.post(&body).await;
        match status {
            200 => saved.push(id),
            503 => {
                assert_eq!(answer["error"], "storage_unavailable", "{answer}");
                assert!(
                    answer["message"].as_str().unwrap().contains("disk is full"),
                    "{answer}"
                );
                refused.push(body);
                if refused.len() == 3 {
                    break;
                }
            }
            other => panic!("answered {other}: {answer}"),
        }
    }
    assert!(!refused.is_empty(), "the full disk refused a delivery");
    let health = s
        .http
        .get(s.webhook_url.replace("/webhooks/dreamclass", "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.status(),
        503,
        "the health check shows the storage failure"
    );

    // Space returns: DreamClass's retries of the refused deliveries are now saved.
    std::fs::remove_file(&filler).unwrap();
    for body in &refused {
        let (status, answer) = s.post(body).await;
        assert_eq!((status, answer), (200, json!({})));
        saved.push(body["data"]["id"].as_i64().unwrap());
    }
    let health = s
        .http
        .get(s.webhook_url.replace("/webhooks/dreamclass", "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the storage warning clears by itself");

    let dir = s.stop().await;
    drop(dir);
    let conn = rollcall_core::rusqlite::Connection::open(data_dir.join(DATABASE_FILE)).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let stored: Vec<i64> = conn
        .prepare("SELECT attendance_id FROM attendance ORDER BY attendance_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    saved.sort_unstable();
    assert_eq!(
        stored, saved,
        "exactly what was answered 200, nothing half-written"
    );
    let changes: i64 = conn
        .query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(changes, saved.len() as i64);
    println!(
        "full disk: {} saved before the disk filled, {} refused with 503 and saved on retry",
        saved.len() - refused.len(),
        refused.len()
    );
}

#[tokio::test]
async fn a_database_locked_by_another_program_answers_503_then_recovers() {
    let s = TestServer::start().await;
    assert_eq!(s.post(&created(1, 1)).await.0, 200);

    // Another program takes the write lock and keeps it past the writer's busy timeout.
    let other = rollcall_core::rusqlite::Connection::open(s.db_path()).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let refused = created(2, 1);
    let (status, answer) = s.post(&refused).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"], "storage_unavailable");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("Another program is holding"),
        "{answer}"
    );
    other.execute_batch("ROLLBACK").unwrap();
    drop(other);

    // The retry is saved once, as if nothing had happened.
    assert_eq!(s.post(&refused).await, (200, json!({})));
    assert_eq!(s.change_count(), 2);
    assert_eq!(s.count("SELECT COUNT(*) FROM requests"), 2);
    let health = s
        .http
        .get(s.webhook_url.replace("/webhooks/dreamclass", "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
