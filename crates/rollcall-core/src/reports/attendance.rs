//! The attendance export: current records with the names of their class, course, student and
//! status (empty while a name is unknown; the ids are always there).

use std::io::Write;

use super::csv_output::{CsvOut, ExportError};
use super::rows::ReportRow;
use super::{CATEGORY_CODE_SQL, CATEGORY_NAMES, SCHOOL_COLUMN};
use crate::filter::RecordFilter;

const HEADER: [&str; 15] = [
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
    SCHOOL_COLUMN,
];

/// Columns 0 to 10 are written as they are; then the category code, comment, event time,
/// school (column 15) and deleted flag (14).
pub(super) fn query(
    filter: &RecordFilter,
    include_deleted: bool,
) -> (String, Vec<rusqlite::types::Value>) {
    let (conditions, params) = filter.sql("a", "status_id");
    let deleted = if include_deleted {
        ""
    } else {
        " AND a.deleted = 0"
    };
    let sql = format!(
        "SELECT a.attendance_id, a.date, a.kind, a.class_id, c.name, a.course_id, co.name,
                a.student_period_id, st.name, a.status_id, s.name, {CATEGORY_CODE_SQL},
                a.comment, a.event_ts, a.deleted, a.tenant
         FROM attendance a
         LEFT JOIN reference_classes c ON c.tenant = a.tenant AND c.id = a.class_id
         LEFT JOIN reference_courses co ON co.tenant = a.tenant AND co.id = a.course_id
         LEFT JOIN reference_students st ON st.tenant = a.tenant AND st.student_period_id = a.student_period_id
         LEFT JOIN reference_statuses s ON s.tenant = a.tenant AND s.id = a.status_id
         WHERE {conditions}{deleted}
         ORDER BY a.date, a.class_id, a.course_id, a.student_period_id, a.attendance_id"
    );
    (sql, params)
}

/// The header row, with `deleted` when deleted records are included.
pub(super) fn header(include_deleted: bool) -> Vec<&'static str> {
    let mut header = HEADER.to_vec();
    if include_deleted {
        header.push("deleted");
    }
    header
}

/// Writes one row of [`query`].
pub(super) fn write_row<R: ReportRow, W: Write>(
    csv: &mut CsvOut<'_, W>,
    row: &R,
    include_deleted: bool,
) -> Result<(), ExportError> {
    let e = R::export_error;
    for i in 0..=10 {
        csv.value(row.cell(i).map_err(e)?)?;
    }
    let category = row.int(11).map_err(e)?;
    csv.trusted(CATEGORY_NAMES[category.clamp(0, 4) as usize])?;
    csv.value(row.cell(12).map_err(e)?)?;
    csv.time(row.int(13).map_err(e)?)?;
    csv.value(row.cell(15).map_err(e)?)?;
    if include_deleted {
        let deleted = row.int(14).map_err(e)? != 0;
        csv.trusted(if deleted { "yes" } else { "no" })?;
    }
    Ok(())
}

/// How many rows [`query`] gives for the same filter (in the same read transaction).
pub(super) fn count_query(
    filter: &RecordFilter,
    include_deleted: bool,
) -> (String, Vec<rusqlite::types::Value>) {
    let (conditions, params) = filter.sql("a", "status_id");
    let deleted = if include_deleted {
        ""
    } else {
        " AND a.deleted = 0"
    };
    let sql = format!("SELECT COUNT(*) FROM attendance a WHERE {conditions}{deleted}");
    (sql, params)
}
