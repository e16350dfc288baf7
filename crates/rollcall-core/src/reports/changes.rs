//! The change-log export: the audit trail, every change with its status before and after (ids
//! and names), where it came from (a webhook, or recovered through the API after a gap) and
//! when. Oldest first.

use std::io::Write;

use super::csv_output::{CsvOut, ExportError};
use super::rows::ReportRow;
use super::SCHOOL_COLUMN;
use crate::filter::RecordFilter;

pub(super) const HEADER: [&str; 22] = [
    "seq",
    "recorded_at",
    "source",
    "event_type",
    "event_time",
    "attendance_id",
    "date",
    "type",
    "class_id",
    "class",
    "course_id",
    "course",
    "student_period_id",
    "student",
    "status_id_before",
    "status_before",
    "status_id_after",
    "status_after",
    "comment_before",
    "comment_after",
    "request_id",
    SCHOOL_COLUMN,
];

/// Times (`recorded_at`, `event_time`) are columns 1 and 4; every other column is written as
/// it is. A status filter matches the status after the change, as in the live feed.
pub(super) fn query(filter: &RecordFilter) -> (String, Vec<rusqlite::types::Value>) {
    let (conditions, params) = filter.sql("ch", "status_after");
    let sql = format!(
        "SELECT ch.seq, ch.recorded_at, ch.source, ch.event_type, ch.event_ts, ch.attendance_id,
                ch.date, ch.kind, ch.class_id, c.name, ch.course_id, co.name,
                ch.student_period_id, st.name, ch.status_before, sb.name, ch.status_after,
                sa.name, ch.comment_before, ch.comment_after, ch.request_id, ch.tenant
         FROM changes ch
         LEFT JOIN reference_classes c ON c.tenant = ch.tenant AND c.id = ch.class_id
         LEFT JOIN reference_courses co ON co.tenant = ch.tenant AND co.id = ch.course_id
         LEFT JOIN reference_students st ON st.tenant = ch.tenant AND st.student_period_id = ch.student_period_id
         LEFT JOIN reference_statuses sb ON sb.tenant = ch.tenant AND sb.id = ch.status_before
         LEFT JOIN reference_statuses sa ON sa.tenant = ch.tenant AND sa.id = ch.status_after
         WHERE {conditions}
         ORDER BY ch.seq"
    );
    (sql, params)
}

/// Writes one row of [`query`].
pub(super) fn write_row<R: ReportRow, W: Write>(
    csv: &mut CsvOut<'_, W>,
    row: &R,
) -> Result<(), ExportError> {
    let e = R::export_error;
    for i in 0..HEADER.len() {
        match i {
            1 | 4 => csv.time(row.int(i).map_err(e)?)?,
            _ => csv.value(row.cell(i).map_err(e)?)?,
        }
    }
    Ok(())
}

/// How many rows [`query`] gives for the same filter (in the same read transaction).
pub(super) fn count_query(filter: &RecordFilter) -> (String, Vec<rusqlite::types::Value>) {
    let (conditions, params) = filter.sql("ch", "status_after");
    let sql = format!("SELECT COUNT(*) FROM changes ch WHERE {conditions}");
    (sql, params)
}
