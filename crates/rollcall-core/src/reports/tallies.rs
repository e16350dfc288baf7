//! Counts by status category: per student over the range, and per class or course per day.

use std::io::Write;

use serde::Serialize;

use super::csv_output::{CsvOut, ExportError};
use super::rows::ReportRow;
use super::{ExportOptions, CATEGORY_CODE_SQL, SCHOOL_COLUMN};
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
    pub fn from_row<R: ReportRow + ?Sized>(row: &R, first: usize) -> Result<Self, R::Error> {
        Ok(Self {
            sessions: row.int(first)?,
            present: row.int(first + 1)?,
            absent: row.int(first + 2)?,
            late: row.int(first + 3)?,
            excused: row.int(first + 4)?,
            other: row.int(first + 5)?,
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
/// with the attendance columns reports group by. Ids are DreamClass's within one school, so
/// every grouping by class, course or student groups by `tenant` too: class 12 of one school
/// is not class 12 of another.
pub(crate) fn records_sql(filter: &RecordFilter) -> (String, Vec<rusqlite::types::Value>) {
    let (conditions, params) = filter.sql("a", "status_id");
    let sql = format!(
        "SELECT a.tenant, a.date, a.class_id, a.course_id, a.student_period_id, a.event_ts,
                {CATEGORY_CODE_SQL} AS cat
         FROM attendance a LEFT JOIN reference_statuses s ON s.tenant = a.tenant AND s.id = a.status_id
         WHERE a.deleted = 0 AND {conditions}"
    );
    (sql, params)
}

/// The six counts of [`Tally`] over rows of [`records_sql`] (which have a `cat` column).
/// Written so that SQLite and PostgreSQL both count integers (no boolean sums).
pub(crate) const COUNTS_SQL: &str = "COUNT(*), \
     SUM(CASE WHEN cat = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN cat = 1 THEN 1 ELSE 0 END), \
     SUM(CASE WHEN cat = 2 THEN 1 ELSE 0 END), SUM(CASE WHEN cat = 3 THEN 1 ELSE 0 END), \
     SUM(CASE WHEN cat = 4 THEN 1 ELSE 0 END)";

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

/// How many rows [`per_day_query`] gives for the same filter: one per day and class (or
/// course) with records.
pub(super) fn count_per_day_query(
    grouping: Grouping,
    filter: &RecordFilter,
) -> (String, Vec<rusqlite::types::Value>) {
    let (id_column, _, _) = grouping.columns();
    let (records, params) = records_sql(filter);
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM ({records}) r GROUP BY r.date, r.tenant, r.{id_column}) days"
    );
    (sql, params)
}

/// How many rows [`students_sql`] gives for the same filter: one per student (of a school)
/// with records.
pub(super) fn count_students_query(filter: &RecordFilter) -> (String, Vec<rusqlite::types::Value>) {
    let (records, params) = records_sql(filter);
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM ({records}) r GROUP BY r.tenant, r.student_period_id) s"
    );
    (sql, params)
}

/// The header of the per-day report of `grouping`.
pub(super) fn per_day_header(grouping: Grouping) -> Vec<String> {
    let (_, _, label) = grouping.columns();
    let mut header = vec!["date".to_string(), format!("{label}_id"), label.to_string()];
    header.extend(TALLY_HEADER.map(String::from));
    header.push(SCHOOL_COLUMN.to_string());
    header
}

/// Per day and class (or course) of a school: the date, the id, its name, the six counts,
/// then the school.
pub(super) fn per_day_query(
    grouping: Grouping,
    filter: &RecordFilter,
) -> (String, Vec<rusqlite::types::Value>) {
    let (id_column, table, _) = grouping.columns();
    let (records, params) = records_sql(filter);
    // The name is grouped by too (it depends on the id alone): PostgreSQL asks for every
    // column selected to be grouped.
    let sql = format!(
        "SELECT r.date, r.{id_column}, g.name, {COUNTS_SQL}, r.tenant
         FROM ({records}) r LEFT JOIN {table} g ON g.tenant = r.tenant AND g.id = r.{id_column}
         GROUP BY r.date, r.tenant, r.{id_column}, g.name
         ORDER BY r.date, r.tenant, r.{id_column}"
    );
    (sql, params)
}

/// Writes one row of [`per_day_query`].
pub(super) fn write_per_day_row<R: ReportRow, W: Write>(
    csv: &mut CsvOut<'_, W>,
    row: &R,
) -> Result<(), ExportError> {
    for i in 0..3 {
        csv.value(row.cell(i).map_err(R::export_error)?)?;
    }
    Tally::from_row(row, 3)
        .map_err(R::export_error)?
        .write(csv)?;
    csv.value(row.cell(9).map_err(R::export_error)?)
}

/// Per student: counts per (student, class) first, so the classes a student had lessons in
/// can be listed in a fixed order, then summed per student; and the number of different days
/// the student has records on (column 11, for "too early to tell"), and the school (column 12).
/// A student is one of a school: the same id in two schools is two students. Sorted by name (unknown
/// names last), then id. The sums of sums are cast back to integers (PostgreSQL sums
/// `BIGINT`s as `NUMERIC`), and the class list is built from text on both databases.
pub(crate) fn students_sql(filter: &RecordFilter) -> (String, Vec<rusqlite::types::Value>) {
    let (records, params) = records_sql(filter);
    let sql = format!(
        "WITH r AS ({records}),
         per_class AS (
             SELECT r.tenant AS tenant, r.student_period_id AS sp, r.class_id, COUNT(*) AS n,
                    SUM(CASE WHEN cat = 0 THEN 1 ELSE 0 END) AS present,
                    SUM(CASE WHEN cat = 1 THEN 1 ELSE 0 END) AS absent,
                    SUM(CASE WHEN cat = 2 THEN 1 ELSE 0 END) AS late,
                    SUM(CASE WHEN cat = 3 THEN 1 ELSE 0 END) AS excused,
                    SUM(CASE WHEN cat = 4 THEN 1 ELSE 0 END) AS other,
                    MAX(CASE WHEN cat IN (1, 3) THEN r.event_ts END) AS last_absence_at
             FROM r
             GROUP BY r.tenant, r.student_period_id, r.class_id
         ),
         per_student_days AS (
             SELECT r.tenant AS tenant, r.student_period_id AS sp, COUNT(DISTINCT r.date) AS days
             FROM r
             GROUP BY r.tenant, r.student_period_id
         )
         SELECT p.sp, st.name,
                string_agg(CAST(p.class_id AS TEXT), '; ' ORDER BY p.class_id),
                string_agg(COALESCE(c.name, CAST(p.class_id AS TEXT)), '; ' ORDER BY p.class_id),
                CAST(SUM(p.n) AS BIGINT), CAST(SUM(p.present) AS BIGINT),
                CAST(SUM(p.absent) AS BIGINT), CAST(SUM(p.late) AS BIGINT),
                CAST(SUM(p.excused) AS BIGINT), CAST(SUM(p.other) AS BIGINT),
                MAX(p.last_absence_at), MAX(d.days), p.tenant
         FROM per_class p
         JOIN per_student_days d ON d.tenant = p.tenant AND d.sp = p.sp
         LEFT JOIN reference_students st ON st.tenant = p.tenant AND st.student_period_id = p.sp
         LEFT JOIN reference_classes c ON c.tenant = p.tenant AND c.id = p.class_id
         GROUP BY p.tenant, p.sp, st.name
         ORDER BY st.name IS NULL, st.name, p.sp, p.tenant"
    );
    (sql, params)
}

/// The header of the students report.
pub(super) fn students_header() -> Vec<&'static str> {
    let mut header = vec!["student_period_id", "student", "class_ids", "classes"];
    header.extend(TALLY_HEADER);
    header.push("chronic_absence");
    header.push(SCHOOL_COLUMN);
    header
}

/// Writes one row of [`students_sql`].
pub(super) fn write_student_row<R: ReportRow, W: Write>(
    csv: &mut CsvOut<'_, W>,
    row: &R,
    options: &ExportOptions,
) -> Result<(), ExportError> {
    for i in 0..4 {
        csv.value(row.cell(i).map_err(R::export_error)?)?;
    }
    let tally = Tally::from_row(row, 4).map_err(R::export_error)?;
    tally.write(csv)?;
    let days = row.int(11).map_err(R::export_error)?;
    let verdict = options
        .settings
        .chronic_verdict(tally.absences(), tally.sessions, days);
    csv.trusted(verdict.as_csv())?;
    csv.value(row.cell(12).map_err(R::export_error)?)
}
