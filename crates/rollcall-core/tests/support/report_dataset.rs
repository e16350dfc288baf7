//! A small school's three days of attendance, stored through the real ingest path, with the
//! CSV every report must produce for it, written out by hand.
//!
//! Shared by the report tests of rollcall-core, rollcall-server and rollcall-cli (included with
//! `#[path]`), so all three check the same data against the same bytes.
//!
//! Records (id: day, class, course, student, status):
//! ```text
//!  1: 11-02, 34, 40, 4, 2 Absent          9: 11-03, 36, 41, 8, 9 (unknown status)
//!  2: 11-02, 34, 40, 5, 2 Absent         10: 11-03, 35, 42, 6, 6 =Left early (other)
//!  3: 11-02, 34, 41, 4, 2 Absent         11: 11-03, 36, 41, 9, 1 Present (DAILY)
//!  4: 11-02, 34, 41, 5, 3 Late           12: 11-04, 34, 40, 4, 1 Present, then 4 Excused
//!  5: 11-02, 35, 40, 6, 4 Excused        13: 11-04, 35, 40, 7, 2 Absent, then deleted
//!  6: 11-02, 35, 42, 7, 5 Απών (absent)  14: 11-04, 35, 41, 5, 1 Present
//!  7: 11-03, 34, 40, 4, 2 Absent         15: 11-04, 34, 41, 4, 1 Present
//!  8: 11-03, 34, 40, 5, 1 Present
//! ```
//! Each record is created at 07:MM UTC of its day, MM being its id; record 12 is updated at
//! 07:30 (webhook) and record 13 deleted at 07:31 (recovered through the API). Each change is
//! recorded 1.5 s after its event. Change `n` has request id `…-00000000000n`.
#![allow(dead_code)]

use std::path::Path;

use rollcall_core::envelope::{parse_body, AttendanceEvent, AttendanceEventKind, AttendanceRecord};
use rollcall_core::model::ChangeSource;
use rollcall_core::store::ingest::apply_attendance_event;
use rollcall_core::store::{
    open_writer, IngestOutcome, IngestWriter, VerifiedDelivery, DATABASE_FILE,
};

pub const TENANT: &str = "my-school";

/// 2026-11-02T07:00:00Z.
const NOV_2_7AM: i64 = 1_793_602_800_000;
const DAY: i64 = 86_400_000;
const MINUTE: i64 = 60_000;

fn request_id(n: i64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn at(day: &str, minute: i64) -> i64 {
    let offset = match day {
        "2026-11-02" => 0,
        "2026-11-03" => 1,
        "2026-11-04" => 2,
        _ => unreachable!("a day of the dataset"),
    };
    NOV_2_7AM + offset * DAY + minute * MINUTE
}

#[allow(clippy::too_many_arguments)]
fn record(
    id: i64,
    date: &str,
    class_id: i64,
    course_id: i64,
    student_period_id: i64,
    status_id: i64,
    kind: &str,
    comment: &str,
) -> AttendanceRecord {
    AttendanceRecord {
        id,
        date: date.into(),
        kind: kind.into(),
        class_id,
        course_id,
        status_id,
        student_period_id,
        comment: comment.into(),
    }
}

fn records() -> Vec<AttendanceRecord> {
    vec![
        record(1, "2026-11-02", 34, 40, 4, 2, "SESSION", ""),
        record(2, "2026-11-02", 34, 40, 5, 2, "SESSION", "late, bus"),
        record(
            3,
            "2026-11-02",
            34,
            41,
            4,
            2,
            "SESSION",
            "=HYPERLINK(\"http://x\",\"click\")",
        ),
        record(4, "2026-11-02", 34, 41, 5, 3, "SESSION", "He said \"hi\""),
        record(
            5,
            "2026-11-02",
            35,
            40,
            6,
            4,
            "SESSION",
            "Bus late\nsecond line",
        ),
        record(6, "2026-11-02", 35, 42, 7, 5, "SESSION", ""),
        record(7, "2026-11-03", 34, 40, 4, 2, "SESSION", ""),
        record(8, "2026-11-03", 34, 40, 5, 1, "SESSION", ""),
        record(9, "2026-11-03", 36, 41, 8, 9, "SESSION", "+1 early"),
        record(10, "2026-11-03", 35, 42, 6, 6, "SESSION", "\tTab"),
        record(11, "2026-11-03", 36, 41, 9, 1, "DAILY", "-"),
        record(12, "2026-11-04", 34, 40, 4, 1, "SESSION", ""),
        record(13, "2026-11-04", 35, 40, 7, 2, "SESSION", ""),
        record(14, "2026-11-04", 35, 41, 5, 1, "SESSION", ""),
        record(15, "2026-11-04", 34, 41, 4, 1, "SESSION", ""),
    ]
}

/// A delivery as the webhook listener passes it on after checking the signature.
fn delivery(
    n: i64,
    kind: AttendanceEventKind,
    record: &AttendanceRecord,
    ts: i64,
) -> VerifiedDelivery {
    let body = serde_json::json!({
        "id": request_id(n),
        "type": kind.event_type(),
        "tenant": TENANT,
        "timestamp": ts,
        "signature": "checked by the listener",
        "data": record,
    })
    .to_string()
    .into_bytes();
    let parsed = parse_body(&body).unwrap();
    VerifiedDelivery {
        received_at: ts + 1500,
        content_sha256: parsed.content_sha256(),
        envelope: parsed.into_envelope().unwrap(),
        raw_body: body,
    }
}

/// Stores the dataset in `data_dir` (a new database) and fills the reference tables as the
/// DreamClass resolver would.
pub async fn build(data_dir: &Path) {
    let path = data_dir.join(DATABASE_FILE);
    let writer = IngestWriter::start(&path).unwrap();
    let records = records();
    for r in &records {
        let outcome = writer
            .deliver(delivery(
                r.id,
                AttendanceEventKind::Created,
                r,
                at(&r.date, r.id),
            ))
            .await
            .unwrap();
        assert!(matches!(outcome, IngestOutcome::Applied(_)), "{outcome:?}");
    }
    let mut excused = records[11].clone();
    excused.status_id = 4;
    excused.comment = "note from doctor".into();
    let outcome = writer
        .deliver(delivery(
            16,
            AttendanceEventKind::Updated,
            &excused,
            at("2026-11-04", 30),
        ))
        .await
        .unwrap();
    assert!(matches!(outcome, IngestOutcome::Applied(_)), "{outcome:?}");
    // Record 13's deletion was missed while the office PC was off and recovered later.
    let deleted = AttendanceEvent {
        kind: AttendanceEventKind::Deleted,
        record: records[12].clone(),
    };
    writer
        .transact(move |tx, changes| {
            let ts = at("2026-11-04", 31);
            let change = apply_attendance_event(
                tx,
                TENANT,
                &request_id(17),
                ts,
                &deleted,
                ChangeSource::Recovered,
                ts + 1500,
            )?
            .expect("the deletion is newer");
            changes.push(change);
            Ok(())
        })
        .await
        .unwrap();
    writer.shutdown_async().await;

    let conn = open_writer(&path).unwrap();
    conn.execute_batch(
        "INSERT INTO reference_statuses (tenant, id, name, guessed_category, user_category, fetched_at)
         VALUES ('my-school', 1, 'Present', 'present', NULL, 0), ('my-school', 2, 'Absent', 'absent', NULL, 0),
                ('my-school', 3, 'Late', 'late', NULL, 0), ('my-school', 4, 'Excused, doctor', 'excused', NULL, 0),
                ('my-school', 5, 'Απών', 'other', 'absent', 0), ('my-school', 6, '=Left early', 'other', NULL, 0);
         INSERT INTO reference_students (tenant, student_period_id, student_id, name, class_id, school_period_id, active, fetched_at)
         VALUES ('my-school', 4, 104, 'María García', 34, 1, 1, 0), ('my-school', 5, 105, 'O''Brien, Seán', 34, 1, 1, 0),
                ('my-school', 6, 106, 'Γιώργος Παπαδόπουλος', 35, 1, 1, 0),
                ('my-school', 7, 107, '-Minus Name', 35, 1, 1, 0), ('my-school', 9, 109, NULL, 36, 1, 1, 0);
         INSERT INTO reference_classes (tenant, id, name, school_period_id, active, fetched_at)
         VALUES ('my-school', 34, '5A', 1, 1, 0), ('my-school', 35, '6\"B\"', 1, 1, 0);
         INSERT INTO reference_courses (tenant, id, name, fetched_at)
         VALUES ('my-school', 40, 'Mathematics', 0), ('my-school', 41, 'Ελληνικά', 0);",
    )
    .unwrap();
}

/// `rollcall export attendance` of the whole dataset.
pub const ATTENDANCE_CSV: &str = "\
attendance_id,date,type,class_id,class,course_id,course,student_period_id,student,status_id,status,status_category,comment,last_event_at,school\r
1,2026-11-02,SESSION,34,5A,40,Mathematics,4,María García,2,Absent,absent,,2026-11-02T07:01:00.000Z,my-school\r
2,2026-11-02,SESSION,34,5A,40,Mathematics,5,\"O'Brien, Seán\",2,Absent,absent,\"late, bus\",2026-11-02T07:02:00.000Z,my-school\r
3,2026-11-02,SESSION,34,5A,41,Ελληνικά,4,María García,2,Absent,absent,\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\",2026-11-02T07:03:00.000Z,my-school\r
4,2026-11-02,SESSION,34,5A,41,Ελληνικά,5,\"O'Brien, Seán\",3,Late,late,\"He said \"\"hi\"\"\",2026-11-02T07:04:00.000Z,my-school\r
5,2026-11-02,SESSION,35,\"6\"\"B\"\"\",40,Mathematics,6,Γιώργος Παπαδόπουλος,4,\"Excused, doctor\",excused,\"Bus late\nsecond line\",2026-11-02T07:05:00.000Z,my-school\r
6,2026-11-02,SESSION,35,\"6\"\"B\"\"\",42,,7,'-Minus Name,5,Απών,absent,,2026-11-02T07:06:00.000Z,my-school\r
7,2026-11-03,SESSION,34,5A,40,Mathematics,4,María García,2,Absent,absent,,2026-11-03T07:07:00.000Z,my-school\r
8,2026-11-03,SESSION,34,5A,40,Mathematics,5,\"O'Brien, Seán\",1,Present,present,,2026-11-03T07:08:00.000Z,my-school\r
10,2026-11-03,SESSION,35,\"6\"\"B\"\"\",42,,6,Γιώργος Παπαδόπουλος,6,'=Left early,other,'\tTab,2026-11-03T07:10:00.000Z,my-school\r
9,2026-11-03,SESSION,36,,41,Ελληνικά,8,,9,,other,'+1 early,2026-11-03T07:09:00.000Z,my-school\r
11,2026-11-03,DAILY,36,,41,Ελληνικά,9,,1,Present,present,'-,2026-11-03T07:11:00.000Z,my-school\r
12,2026-11-04,SESSION,34,5A,40,Mathematics,4,María García,4,\"Excused, doctor\",excused,note from doctor,2026-11-04T07:30:00.000Z,my-school\r
15,2026-11-04,SESSION,34,5A,41,Ελληνικά,4,María García,1,Present,present,,2026-11-04T07:15:00.000Z,my-school\r
14,2026-11-04,SESSION,35,\"6\"\"B\"\"\",41,Ελληνικά,5,\"O'Brien, Seán\",1,Present,present,,2026-11-04T07:14:00.000Z,my-school\r
";

/// `rollcall export students` of the whole dataset (chronic threshold 0.10).
pub const STUDENTS_CSV: &str = "\
student_period_id,student,class_ids,classes,sessions,present,absent,late,excused,other,attendance_rate,absence_rate,chronic_absence,school\r
7,'-Minus Name,35,\"6\"\"B\"\"\",1,0,1,0,0,0,0.0000,1.0000,yes,my-school\r
4,María García,34,5A,5,1,3,0,1,0,0.2000,0.8000,yes,my-school\r
5,\"O'Brien, Seán\",34; 35,\"5A; 6\"\"B\"\"\",4,2,1,1,0,0,0.7500,0.2500,yes,my-school\r
6,Γιώργος Παπαδόπουλος,35,\"6\"\"B\"\"\",2,0,0,0,1,1,0.0000,0.5000,yes,my-school\r
8,,36,36,1,0,0,0,0,1,0.0000,0.0000,no,my-school\r
9,,36,36,1,1,0,0,0,0,1.0000,0.0000,no,my-school\r
";

/// `rollcall export classes` of the whole dataset.
pub const CLASSES_CSV: &str = "\
date,class_id,class,sessions,present,absent,late,excused,other,attendance_rate,absence_rate,school\r
2026-11-02,34,5A,4,0,3,1,0,0,0.2500,0.7500,my-school\r
2026-11-02,35,\"6\"\"B\"\"\",2,0,1,0,1,0,0.0000,1.0000,my-school\r
2026-11-03,34,5A,2,1,1,0,0,0,0.5000,0.5000,my-school\r
2026-11-03,35,\"6\"\"B\"\"\",1,0,0,0,0,1,0.0000,0.0000,my-school\r
2026-11-03,36,,2,1,0,0,0,1,0.5000,0.0000,my-school\r
2026-11-04,34,5A,2,1,0,0,1,0,0.5000,0.5000,my-school\r
2026-11-04,35,\"6\"\"B\"\"\",1,1,0,0,0,0,1.0000,0.0000,my-school\r
";

/// `rollcall export courses` of the whole dataset.
pub const COURSES_CSV: &str = "\
date,course_id,course,sessions,present,absent,late,excused,other,attendance_rate,absence_rate,school\r
2026-11-02,40,Mathematics,3,0,2,0,1,0,0.0000,1.0000,my-school\r
2026-11-02,41,Ελληνικά,2,0,1,1,0,0,0.5000,0.5000,my-school\r
2026-11-02,42,,1,0,1,0,0,0,0.0000,1.0000,my-school\r
2026-11-03,40,Mathematics,2,1,1,0,0,0,0.5000,0.5000,my-school\r
2026-11-03,41,Ελληνικά,2,1,0,0,0,1,0.5000,0.0000,my-school\r
2026-11-03,42,,1,0,0,0,0,1,0.0000,0.0000,my-school\r
2026-11-04,40,Mathematics,1,0,0,0,1,0,0.0000,1.0000,my-school\r
2026-11-04,41,Ελληνικά,2,2,0,0,0,0,1.0000,0.0000,my-school\r
";

/// `rollcall export changes --student 7`: a creation, another, and a recovered deletion.
pub const CHANGES_STUDENT_7_CSV: &str = "\
seq,recorded_at,source,event_type,event_time,attendance_id,date,type,class_id,class,course_id,course,student_period_id,student,status_id_before,status_before,status_id_after,status_after,comment_before,comment_after,request_id,school\r
6,2026-11-02T07:06:01.500Z,webhook,ATTENDANCE_CREATED,2026-11-02T07:06:00.000Z,6,2026-11-02,SESSION,35,\"6\"\"B\"\"\",42,,7,'-Minus Name,,,5,Απών,,,00000000-0000-4000-8000-000000000006,my-school\r
13,2026-11-04T07:13:01.500Z,webhook,ATTENDANCE_CREATED,2026-11-04T07:13:00.000Z,13,2026-11-04,SESSION,35,\"6\"\"B\"\"\",40,Mathematics,7,'-Minus Name,,,2,Absent,,,00000000-0000-4000-8000-000000000013,my-school\r
17,2026-11-04T07:31:01.500Z,recovered,ATTENDANCE_DELETED,2026-11-04T07:31:00.000Z,13,2026-11-04,SESSION,35,\"6\"\"B\"\"\",40,Mathematics,7,'-Minus Name,2,Absent,,,,,00000000-0000-4000-8000-000000000017,my-school\r
";
