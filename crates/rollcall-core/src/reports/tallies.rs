//! Counts by status category: per student over the range, and per class or course per day.

use std::io::Write;

use rusqlite::{Connection, Row};
use serde::Serialize;

use super::csv_output::{CsvFormat, CsvOut, ExportError, Progress};
use super::{ExportOptions, CATEGORY_CODE_SQL};
use crate::filter::RecordFilter;

/// Sessions and how many fell in each status category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub sessions: i64,
    pub present: i64,
    pub absent: i64,
    pub late: i64,
    pub excused: i64,
    pub other: i64,
}

impl Tally {
    /// Sessions attended: present + late.
    pub fn attended(&self) -> i64 {
        self.present + self.late
    }

    /// Absences: absent + excused.
    pub fn absences(&self) -> i64 {
        self.absent + self.excused
    }

    /// Reads the six counts [`COUNTS_SQL`] selects, starting at column `first`.
    pub(crate) fn from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            sessions: row.get(first)?,
            present: row.get(first + 1)?,
            absent: row.get(first + 2)?,
            late: row.get(first + 3)?,
            excused: row.get(first + 4)?,
            other: row.get(first + 5)?,
        })
    }

    fn write<W: Write>(&self, csv: &mut CsvOut<'_, W>) -> Result<(), ExportError> {
        for n in [
            self.sessions,
            self.present,
            self.absent,
            self.late,
            self.excused,
            self.other,
        ] {
            csv.int(n)?;
        }
        csv.rate(self.attended(), self.sessions)?;
        csv.rate(self.absences(), self.sessions)
    }
}

const TALLY_HEADER: [&str; 8] = [
    "sessions",
    "present",
    "absent",
    "late",
    "excused",
    "other",
    "attendance_rate",
    "absence_rate",
];

/// Current records matching a filter, each with its category code `cat`, as a subquery `r`
/// with the attendance columns reports group by.
pub(crate) fn records_sql(filter: &RecordFilter) -> (String, Vec<rusqlite::types::Value>) {
    let (conditions, params) = filter.sql("a", "status_id");
    let sql = format!(
        "SELECT a.date, a.class_id, a.course_id, a.student_period_id, a.event_ts,
                {CATEGORY_CODE_SQL} AS cat
         FROM attendance a LEFT JOIN reference_statuses s ON s.id = a.status_id
         WHERE a.deleted = 0 AND {conditions}"
    );
    (sql, params)
}

/// The six counts of [`Tally`] over rows of [`records_sql`] (which have a `cat` column).
pub(crate) const COUNTS_SQL: &str =
    "COUNT(*), SUM(cat = 0), SUM(cat = 1), SUM(cat = 2), SUM(cat = 3), SUM(cat = 4)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grouping {
    Class,
    Course,
}

impl Grouping {
    /// The attendance column grouped by, the table of its names, and the report's word for it.
    fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Class => ("class_id", "reference_classes", "class"),
            Self::Course => ("course_id", "reference_courses", "course"),
        }
    }
}

/// How many rows [`write_per_day`] writes for the same filter: one per day and class (or
/// course) with records.
pub(super) fn count_per_day(
    conn: &Connection,
    grouping: Grouping,
    filter: &RecordFilter,
) -> rusqlite::Result<u64> {
    let (id_column, _, _) = grouping.columns();
    let (records, params) = records_sql(filter);
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM ({records}) r GROUP BY r.date, r.{id_column})"
    );
    conn.query_row(&sql, rusqlite::params_from_iter(params), |row| row.get(0))
}

/// How many rows [`write_students`] writes for the same filter: one per student with records.
pub(super) fn count_students(conn: &Connection, filter: &RecordFilter) -> rusqlite::Result<u64> {
    let (records, params) = records_sql(filter);
    let sql = format!("SELECT COUNT(DISTINCT r.student_period_id) FROM ({records}) r");
    conn.query_row(&sql, rusqlite::params_from_iter(params), |row| row.get(0))
}

pub(super) fn write_per_day(
    conn: &Connection,
    grouping: Grouping,
    filter: &RecordFilter,
    format: CsvFormat,
    out: impl Write,
    progress: Progress<'_>,
) -> Result<u64, ExportError> {
    let (id_column, table, label) = grouping.columns();
    let mut csv = CsvOut::new(out, format, progress)?;
    let id_header = format!("{label}_id");
    let mut header = vec!["date", id_header.as_str(), label];
    header.extend(TALLY_HEADER);
    csv.header(&header)?;
    let (records, params) = records_sql(filter);
    let sql = format!(
        "SELECT r.date, r.{id_column}, g.name, {COUNTS_SQL}
         FROM ({records}) r LEFT JOIN {table} g ON g.id = r.{id_column}
         GROUP BY r.date, r.{id_column}
         ORDER BY r.date, r.{id_column}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    while let Some(row) = rows.next()? {
        for i in 0..3 {
            csv.value(row.get_ref(i)?)?;
        }
        Tally::from_row(row, 3)?.write(&mut csv)?;
        csv.end_row()?;
    }
    csv.finish()
}

/// Per student: counts per (student, class) first, so the classes a student had lessons in
/// can be listed in a fixed order, then summed per student; and the number of different days
/// the student has records on (column 11, for "too early to tell"). Sorted by name (unknown
/// names last), then id.
pub(crate) fn students_sql(filter: &RecordFilter) -> (String, Vec<rusqlite::types::Value>) {
    let (records, params) = records_sql(filter);
    let sql = format!(
        "WITH r AS ({records}),
         per_class AS (
             SELECT r.student_period_id AS sp, r.class_id, COUNT(*) AS n,
                    SUM(cat = 0) AS present, SUM(cat = 1) AS absent, SUM(cat = 2) AS late,
                    SUM(cat = 3) AS excused, SUM(cat = 4) AS other,
                    MAX(CASE WHEN cat IN (1, 3) THEN r.event_ts END) AS last_absence_at
             FROM r
             GROUP BY r.student_period_id, r.class_id
         ),
         per_student_days AS (
             SELECT r.student_period_id AS sp, COUNT(DISTINCT r.date) AS days
             FROM r
             GROUP BY r.student_period_id
         )
         SELECT p.sp, st.name,
                group_concat(p.class_id, '; ' ORDER BY p.class_id),
                group_concat(COALESCE(c.name, p.class_id), '; ' ORDER BY p.class_id),
                SUM(p.n), SUM(p.present), SUM(p.absent), SUM(p.late), SUM(p.excused),
                SUM(p.other), MAX(p.last_absence_at), MAX(d.days)
         FROM per_class p
         JOIN per_student_days d ON d.sp = p.sp
         LEFT JOIN reference_students st ON st.student_period_id = p.sp
         LEFT JOIN reference_classes c ON c.id = p.class_id
         GROUP BY p.sp
         ORDER BY st.name IS NULL, st.name, p.sp"
    );
    (sql, params)
}

pub(super) fn write_students(
    conn: &Connection,
    filter: &RecordFilter,
    options: &ExportOptions,
    out: impl Write,
    progress: Progress<'_>,
) -> Result<u64, ExportError> {
    let mut csv = CsvOut::new(out, options.format, progress)?;
    let mut header = vec!["student_period_id", "student", "class_ids", "classes"];
    header.extend(TALLY_HEADER);
    header.push("chronic_absence");
    csv.header(&header)?;
    let (sql, params) = students_sql(filter);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    while let Some(row) = rows.next()? {
        for i in 0..4 {
            csv.value(row.get_ref(i)?)?;
        }
        let tally = Tally::from_row(row, 4)?;
        tally.write(&mut csv)?;
        let days: i64 = row.get(11)?;
        let verdict = options
            .settings
            .chronic_verdict(tally.absences(), tally.sessions, days);
        csv.trusted(verdict.as_csv())?;
        csv.end_row()?;
    }
    csv.finish()
}
