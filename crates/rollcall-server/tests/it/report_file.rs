//! Saving a report to a file (the desktop's "Save report"): the same bytes as the download,
//! progress that ends at its total, and nothing left behind when cancelled or refused.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use rollcall_server::local::parse_export_request;
use rollcall_server::report_file::{save_report, SaveError, SaveProgress, SavedReport};

use crate::support::*;

/// A server holding a simulated day of 3,000 deliveries: a few thousand rows, several
/// progress steps.
async fn busy_school() -> TestServer {
    let s = TestServer::start().await;
    let (_, report) = send_school_day(&s, 3000, 11, 16).await;
    assert_eq!(report.transport_errors, 0, "{report:?}");
    s
}

/// Saves as the desktop does, recording every progress call.
async fn save(
    s: &TestServer,
    report: &str,
    query: &str,
    path: &Path,
    cancel_after: Option<u64>,
) -> (Result<SavedReport, SaveError>, Vec<SaveProgress>) {
    let state = s.server.as_ref().unwrap().state().clone();
    let request = parse_export_request(&state, report, query).expect("a valid request");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let result = save_report(&state, &request, path, move |p| {
        record.lock().unwrap().push(p);
        match cancel_after {
            Some(n) if p.rows_written >= n => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    (result, seen)
}

async fn download(s: &TestServer, report: &str, query: &str) -> Vec<u8> {
    let response = s.get(&format!("/api/export/{report}.csv?{query}")).await;
    assert_eq!(response.status(), 200);
    response.bytes().await.unwrap().to_vec()
}

fn files_in(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn a_saved_report_is_the_download_byte_for_byte_with_progress_to_its_total() {
    let s = busy_school().await;
    let folder = tempfile::tempdir().unwrap();
    for (report, query) in [
        ("attendance", ""),
        ("attendance", "excel=true&separator=%3B&includeDeleted=true"),
        ("changes", "to=2026-12-31"),
        ("students", "excel=true&chronicThreshold=0.2"),
        ("classes", ""),
        ("courses", "to=2026-03-02"),
    ] {
        let path = folder.path().join(format!("{report}.csv"));
        let (result, seen) = save(&s, report, query, &path, None).await;
        let saved = result.unwrap_or_else(|e| panic!("{report}?{query}: {e}"));
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes, download(&s, report, query).await, "{report}?{query}");
        assert_eq!(saved.bytes, bytes.len() as u64);
        assert!(saved.rows > 0, "{report}?{query}");
        // First 0 of the total, then rising, last exactly the total.
        let total = seen[0].total_rows;
        assert_eq!(seen[0].rows_written, 0);
        assert_eq!(seen.last().unwrap().rows_written, total, "{report}?{query}");
        assert_eq!(total, saved.rows);
        assert!(seen
            .windows(2)
            .all(|w| w[0].rows_written <= w[1].rows_written));
        assert!(seen.iter().all(|p| p.total_rows == total));
        if report == "attendance" || report == "changes" {
            assert!(seen.len() > 2, "{report}?{query}: {seen:?}");
        }
    }
    // Only the reports: no temporary file is left beside them.
    let names: Vec<String> = files_in(folder.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "attendance.csv",
            "changes.csv",
            "classes.csv",
            "courses.csv",
            "students.csv"
        ]
    );
}

#[tokio::test]
async fn cancelling_leaves_no_file_and_keeps_an_earlier_report_of_the_same_name() {
    let s = busy_school().await;
    let folder = tempfile::tempdir().unwrap();
    let fresh = folder.path().join("fresh.csv");
    let (result, seen) = save(&s, "changes", "", &fresh, Some(1024)).await;
    assert!(matches!(result, Err(SaveError::Cancelled)), "{result:?}");
    assert_eq!(seen.last().unwrap().rows_written, 1024);
    assert!(seen.last().unwrap().total_rows > 1024);
    assert!(files_in(folder.path()).is_empty());

    let earlier = folder.path().join("earlier.csv");
    std::fs::write(&earlier, "an earlier report").unwrap();
    let (result, _) = save(&s, "attendance", "", &earlier, Some(0)).await;
    assert!(matches!(result, Err(SaveError::Cancelled)), "{result:?}");
    assert_eq!(
        std::fs::read_to_string(&earlier).unwrap(),
        "an earlier report"
    );
    assert_eq!(files_in(folder.path()), [earlier]);
    assert_eq!(
        SaveError::Cancelled.to_string(),
        "The export was cancelled; nothing was saved."
    );
}

#[tokio::test]
async fn a_folder_that_cannot_be_written_is_explained() {
    let s = TestServer::start().await;
    let folder = tempfile::tempdir().unwrap();
    let missing = folder.path().join("gone").join("report.csv");
    let (result, seen) = save(&s, "attendance", "", &missing, None).await;
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("the folder does not exist.") && message.contains("Choose another folder"),
        "{message}"
    );
    assert!(
        seen.is_empty(),
        "nothing was read before the file could be made"
    );
    assert!(files_in(folder.path()).is_empty());
}

#[tokio::test]
async fn a_wrong_request_is_refused_with_a_sentence() {
    let s = TestServer::start().await;
    let state = s.server.as_ref().unwrap().state().clone();
    let refused = |report: &str, query: &str| {
        parse_export_request(&state, report, query)
            .unwrap_err()
            .message
    };
    assert!(refused("pupils", "").starts_with("There is no such report."));
    assert_eq!(
        refused("attendance", "from=2026-13-01"),
        "The first day `2026-13-01` is not a date written YYYY-MM-DD."
    );
    assert!(refused("attendance", "classId=5A").starts_with("The address has a wrong value"));
    assert!(refused("students", "chronicThreshold=2").contains("between 0 and 1"));
    let ok = parse_export_request(&state, "classes", "from=2026-11-02&to=2026-11-02").unwrap();
    assert_eq!(ok.file_name(None), "rollcall-classes-2026-11-02.csv");
}
