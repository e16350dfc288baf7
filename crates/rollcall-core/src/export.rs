//! CSV exports, streamed: rows are written as they are read, so memory stays flat however
//! many rows a term holds.

use std::io::Write;

use rusqlite::Connection;

use crate::store::queries::{self, RecordFilter, CHANGE_COLUMNS};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("could not read the database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("could not write the export: {0}")]
    Write(#[from] csv::Error),
    #[error("could not write the export: {0}")]
    Io(#[from] std::io::Error),
}

impl ExportError {
    /// The reader went away (for example `rollcall export … | head`).
    pub fn is_broken_pipe(&self) -> bool {
        let io = match self {
            Self::Io(e) => Some(e),
            Self::Write(e) => match e.kind() {
                csv::ErrorKind::Io(e) => Some(e),
                _ => None,
            },
            Self::Database(_) => None,
        };
        io.is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// Spreadsheet programs run a cell that starts with one of these as a formula; a leading
/// apostrophe makes them show it as text instead (OWASP "CSV injection").
pub fn neutralise_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn iso_utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Writes current attendance records. Returns the number of rows written.
pub fn export_attendance(
    conn: &Connection,
    filter: &RecordFilter,
    include_deleted: bool,
    out: impl Write,
) -> Result<u64, ExportError> {
    let mut csv = csv::Writer::from_writer(out);
    let mut header = vec![
        "attendance_id",
        "date",
        "type",
        "class_id",
        "course_id",
        "student_period_id",
        "status_id",
        "comment",
        "tenant",
    ];
    if include_deleted {
        header.push("deleted");
    }
    csv.write_record(&header)?;
    let (sql, params) = queries::attendance_query(filter, include_deleted);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let r = queries::attendance_from_row(row)?;
        let mut record = vec![
            r.attendance_id.to_string(),
            r.date,
            r.kind,
            r.class_id.to_string(),
            r.course_id.to_string(),
            r.student_period_id.to_string(),
            r.status_id.to_string(),
            neutralise_formula(&r.comment).into_owned(),
            r.tenant,
        ];
        if include_deleted {
            record.push(if r.deleted { "yes" } else { "no" }.into());
        }
        csv.write_record(&record)?;
        count += 1;
    }
    csv.flush()?;
    Ok(count)
}

/// Writes the change log (the audit trail), oldest first. Returns the number of rows written.
pub fn export_changes(
    conn: &Connection,
    filter: &RecordFilter,
    out: impl Write,
) -> Result<u64, ExportError> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record([
        "seq",
        "recorded_at",
        "source",
        "request_id",
        "event_type",
        "event_time",
        "attendance_id",
        "date",
        "type",
        "class_id",
        "course_id",
        "student_period_id",
        "status_id_before",
        "status_id_after",
        "comment_before",
        "comment_after",
        "tenant",
    ])?;
    let mut conditions = Vec::new();
    let mut params: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(from) = &filter.from {
        conditions.push("date >= ?");
        params.push(from.clone().into());
    }
    if let Some(to) = &filter.to {
        conditions.push("date <= ?");
        params.push(to.clone().into());
    }
    let filter_rest = RecordFilter {
        from: None,
        to: None,
        ..filter.clone()
    };
    let where_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT {CHANGE_COLUMNS} FROM changes {where_sql} ORDER BY seq"
    ))?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let c = queries::change_from_row(row)?;
        if !filter_rest.matches_change(&c) {
            continue;
        }
        csv.write_record([
            c.seq.to_string(),
            iso_utc(c.recorded_at),
            c.source.as_str().to_string(),
            c.request_id,
            c.event_type,
            iso_utc(c.event_ts),
            c.attendance_id.to_string(),
            c.date,
            c.kind,
            c.class_id.to_string(),
            c.course_id.to_string(),
            c.student_period_id.to_string(),
            opt(c.status_before),
            opt(c.status_after),
            neutralise_formula(c.comment_before.as_deref().unwrap_or("")).into_owned(),
            neutralise_formula(c.comment_after.as_deref().unwrap_or("")).into_owned(),
            c.tenant,
        ])?;
        count += 1;
    }
    csv.flush()?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(
            neutralise_formula("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(neutralise_formula("+1"), "'+1");
        assert_eq!(neutralise_formula("-1"), "'-1");
        assert_eq!(neutralise_formula("@SUM"), "'@SUM");
        assert_eq!(neutralise_formula("\tx"), "'\tx");
        assert_eq!(neutralise_formula("late, bus"), "late, bus");
        assert_eq!(neutralise_formula(""), "");
    }
}
