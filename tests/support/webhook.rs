//! Deliveries as DreamClass sends them, posted to a running listener.

use rollcall_core::{KeyEncoding, SigningKey};
use serde_json::json;

/// One attendance record, with ids chosen by the test so its row can be recognised.
#[derive(Debug, Clone)]
pub struct Attendance {
    pub attendance_id: i64,
    pub student_period_id: i64,
    pub class_id: i64,
    pub course_id: i64,
    pub status_id: i64,
    pub date: String,
    pub comment: String,
}

/// Posts an `ATTENDANCE_CREATED` delivery signed with `secret`; returns the HTTP status.
pub async fn post_attendance_created(url: &str, secret: &str, record: &Attendance) -> u16 {
    post_attendance_created_for(url, secret, "e2e-school", record).await
}

/// As [`post_attendance_created`], for the school (DreamClass tenant) `tenant`.
pub async fn post_attendance_created_for(
    url: &str,
    secret: &str,
    tenant: &str,
    record: &Attendance,
) -> u16 {
    let key = SigningKey::new(secret, KeyEncoding::Text).expect("a non-empty secret");
    let request_id = uuid::Uuid::new_v4().to_string();
    let data = json!({
        "id": record.attendance_id,
        "date": record.date,
        "type": "SESSION",
        "classId": record.class_id,
        "courseId": record.course_id,
        "statusId": record.status_id,
        "studentPeriodId": record.student_period_id,
        "comment": record.comment,
    });
    let body = rollcall_simulator::envelope_body(
        &request_id,
        "ATTENDANCE_CREATED",
        tenant,
        rollcall_core::model::now_ms(),
        data,
        Some(&key),
    );
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("the webhook listener at {url} did not answer: {e}"))
        .status()
        .as_u16()
}
