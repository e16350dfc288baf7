//! The attendance export: current records with the names of their class, course, student and
//! status (empty while a name is unknown; the ids are always there).

use std::io::Write;

use rusqlite::Connection;

use super::csv_output::{CsvFormat, CsvOut, ExportError, Progress};
use super::{CATEGORY_CODE_SQL, CATEGORY_NAMES};
use crate::filter::RecordFilter;

const HEADER: [&str; 14] = [
    "attendance_id",
    "date",
    "type",
    "class_id",
    "class",
    "course_id",
    "course",
    "student_period_id",
    "student",
    "status_id",
    "status",
    "status_category",
    "comment",
    "last_event_at",
];

/// Columns 0 to 10 are written as they are; then the category code, comment, event time and
/// deleted flag.
fn query(filter: &RecordFilter, include_deleted: bool) -> (String, Vec<rusqlite::types::Value>) {
    let (conditions, params) = filter.sql("a", "status_id");
    let deleted = if include_deleted {
        ""
    } else {
        " AND a.deleted = 0"
    };
    let sql = format!(
        "SELECT a.attendance_id, a.date, a.kind, a.class_id, c.name, a.course_id, co.name,
                a.student_period_id, st.name, a.status_id, s.name, {CATEGORY_CODE_SQL},
                a.comment, a.event_ts, a.deleted
         FROM attendance a
         LEFT JOIN reference_classes c ON c.id = a.class_id
         LEFT JOIN reference_courses co ON co.id = a.course_id
         LEFT JOIN reference_students st ON st.student_period_id = a.student_period_id
         LEFT JOIN reference_statuses s ON s.id = a.status_id
         WHERE {conditions}{deleted}
         ORDER BY a.date, a.class_id, a.course_id, a.student_period_id, a.attendance_id"
    );
    (sql, params)
}

pub(super) fn write(
    conn: &Connection,
    filter: &RecordFilter,
    include_deleted: bool,
    format: CsvFormat,
    out: impl Write,
    progress: Progress<'_>,
) -> Result<u64, ExportError> {
    let mut csv = CsvOut::new(out, format, progress)?;
    let mut header = HEADER.to_vec();
    if include_deleted {
        header.push("deleted");
    }
    csv.header(&header)?;
    let (sql, params) = query(filter, include_deleted);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    while let Some(row) = rows.next()? {
        for i in 0..=10 {
            csv.value(row.get_ref(i)?)?;
        }
        let category: usize = row.get(11)?;
        csv.trusted(CATEGORY_NAMES[category.min(4)])?;
        csv.value(row.get_ref(12)?)?;
        csv.time(row.get(13)?)?;
        if include_deleted {
            let deleted: bool = row.get(14)?;
            csv.trusted(if deleted { "yes" } else { "no" })?;
        }
        csv.end_row()?;
    }
    csv.finish()
}

/// How many rows [`write`] writes for the same filter (in the same read transaction).
pub(super) fn count(
    conn: &Connection,
    filter: &RecordFilter,
    include_deleted: bool,
) -> rusqlite::Result<u64> {
    let (conditions, params) = filter.sql("a", "status_id");
    let deleted = if include_deleted {
        ""
    } else {
        " AND a.deleted = 0"
    };
    let sql = format!("SELECT COUNT(*) FROM attendance a WHERE {conditions}{deleted}");
    conn.query_row(&sql, rusqlite::params_from_iter(params), |row| row.get(0))
}
