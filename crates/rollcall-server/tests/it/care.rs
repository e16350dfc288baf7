//! Data care: backups downloaded from the window, the retention period, one Rollcall per folder.

use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn a_downloaded_backup_is_a_complete_database() {
    let s = TestServer::start().await;
    for i in 1..=5 {
        assert_eq!(s.post(&created(i, 1)).await.0, 200);
    }
    let response = s.get("/api/backup").await;
    assert_eq!(response.status(), 200);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.contains("rollcall-backup-"), "{disposition}");
    let bytes = response.bytes().await.unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();
    let conn = rollcall_core::rusqlite::Connection::open(file.path()).unwrap();
    let changes: i64 = conn
        .query_row("SELECT COUNT(*) FROM changes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(changes, 5);
    // Nothing is left behind in the data folder.
    let leftovers: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("backup-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test]
async fn the_retention_period_purges_raw_deliveries_but_keeps_attendance() {
    let s = TestServer::start().await;
    let first = created(1, 1);
    assert_eq!(s.post(&first).await.0, 200);
    // A delivery logged long ago (as if received two years back).
    let writer = rollcall_core::rusqlite::Connection::open(s.db_path()).unwrap();
    writer
        .execute(
            "UPDATE deliveries SET received_at = received_at - 2 * 365 * 86400000",
            [],
        )
        .unwrap();
    drop(writer);
    assert_eq!(s.api("/api/settings").await["deliveryRetentionDays"], 365);
    let r: Value = s
        .http
        .put(format!("{}/api/settings/retention", s.api_base))
        .bearer_auth(&s.token)
        .json(&json!({"days": 30}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["purged"], 1, "{r}");
    assert_eq!(s.count("SELECT COUNT(*) FROM deliveries"), 0);
    assert_eq!(s.attendance_count(), 1, "attendance is kept");
    assert_eq!(s.change_count(), 1, "the change log is kept");
    assert_eq!(s.api("/api/settings").await["deliveryRetentionDays"], 30);
    let saved = std::fs::read_to_string(s.dir.path().join("rollcall.toml")).unwrap();
    assert!(saved.contains("delivery_retention_days = 30"), "{saved}");
    // The same delivery again is still recognised as a duplicate: request ids are kept.
    let again = s
        .http
        .post(&s.webhook_url)
        .json(&first)
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers()["x-rollcall-outcome"], "duplicate");
    assert_eq!(s.change_count(), 1);
}

#[tokio::test]
async fn a_second_rollcall_on_the_same_folder_is_refused_in_plain_words() {
    let s = TestServer::start().await;
    let config = signed_config(s.dir.path());
    let err = match rollcall_server::start(config).await {
        Ok(_) => panic!("a second server started on the same folder"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("Another copy of Rollcall is already running"),
        "{err}"
    );
}
