//! Reports for the office: six CSV exports (the sixth, lessons not taken, is inferred: see
//! [`not_taken`]), the summary behind the charts, and threshold
//! alerts. One query layer, used by `rollcall export` and by the local API, so both give the
//! same bytes for the same filters — and by both stores: the SQL text here is written for
//! SQLite and PostgreSQL alike (integer sums by `CASE`, sums of sums cast to `BIGINT`,
//! `string_agg` over text, every selected column grouped by), and the CSV is written here by
//! [`ReportWriter`] from rows each backend decodes through [`ReportRow`]. The SQLite
//! functions below run them on a connection; rollcall-store-postgres runs the same queries.
//!
//! Exports are streamed: each row is written as the database yields it, so memory stays flat
//! however many rows a term holds (aggregates are grouped by the database, which spills to
//! disk when it must).
//!
//! ## What the numbers mean
//! - A **session** is one current (not deleted) attendance record: one student in one lesson
//!   (or one day, for daily kinds of attendance).
//! - Each status counts under its category from the DreamClass statuses (the office's choice
//!   when set, otherwise Rollcall's guess from the name): present, absent, late, excused or
//!   other. **A status without a known category (not yet fetched from DreamClass, or with a
//!   category Rollcall does not know) counts as "other"**, which is neither attendance nor
//!   absence.
//! - **Attendance rate** = (present + late) / sessions. **Absence rate** = (absent + excused)
//!   / sessions. "Absences" everywhere means absent + excused.
//! - A student is **chronically absent** when the absence rate is at or above the threshold
//!   (default 0.10, see [`ReportSettings`]), once there is enough data to say so.
//! - **Too early to tell**: a student is only judged once their records cover at least
//!   `chronic_min_days` (default 10) different dates of the range looked at (the report's
//!   filter, or the alert's term). A date counts when the student has at least one current
//!   record on it, whatever its status, kind, class or course; dates without any record of
//!   that student (weekends, holidays, days DreamClass sent nothing) do not count. Below the
//!   minimum, the student is neither listed as chronically absent nor alerted on, whatever
//!   the rate; the summary counts them in `tooEarly` and the students export writes
//!   `too early to tell` in `chronic_absence`.
//! - **Schools** are kept apart: ids (class, course, student) are DreamClass's within one
//!   school, so every count groups by school too, and every export has a `school` column
//!   (the DreamClass tenant). A report over "all schools" lists class 12 of two schools as
//!   two rows.
//! - Rates are decimals with [`RATE_DECIMALS`] (4) places, rounded half up from the exact
//!   counts: `0.9167` is 91.67%.

mod absent_days;
mod alerts;
mod attendance;
mod changes;
mod csv_output;
mod cutoff;
mod limits;
mod not_taken;
mod request;
mod rows;
mod separator;
mod settings;
mod summary;
mod tallies;

use std::io::Write;
use std::ops::ControlFlow;

use rusqlite::Connection;

use crate::filter::RecordFilter;
pub use absent_days::{absent_days_alerts, absent_days_query, student_day, StudentDay};
pub use alerts::{
    absence_today_alert, absences_today_query, alerts, alerts_in, chronic_alert, term_filter,
    Alert, AlertKind,
};
pub use csv_output::{
    format_rate, neutralise_formula, rate_number, CsvFormat, ExportError, Progress, PROGRESS_EVERY,
    RATE_DECIMALS, UTF8_BOM,
};
pub use cutoff::{LessonCutoff, EARLIEST_CUTOFF, LATEST_CUTOFF};
pub use limits::{ThresholdProblem, MAX_ABSENT_DAYS_IN_ROW, MAX_TERM_DAYS};
pub use not_taken::{
    day_records_query, export_days, lesson_not_taken, lessons_not_taken, not_taken_query,
    LessonNotTaken, NotTakenDay, EXPECTED_WEEKS_BACK, INFERRED_RULE,
};
pub use request::{ExportParams, ExportRequest, ExportRequestError};
pub use rows::{Cell, ReportRow};
pub use separator::{excel_separator_for_locale, numeric_locale_from_env, parse_separator};
pub use settings::{ChronicVerdict, ReportSettings};
pub use summary::{
    by_class_query, by_day_query, chronic_query, chronic_student, class_rate, day_absences,
    sort_chronic, summary, ChronicStudent, ClassRate, DayAbsences, Judged, Summary,
};
pub use tallies::Tally;

use csv_output::CsvOut;
use tallies::Grouping;

/// The CSV exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// Current attendance records with names.
    Attendance,
    /// Every change, before and after: the audit trail.
    Changes,
    /// Per student over the range: counts, rates, chronic absence.
    Students,
    /// Per class per day: counts and rates.
    Classes,
    /// Per course per day: counts and rates.
    Courses,
    /// Per day: the lessons expected (inferred, see [`not_taken`]) with no attendance.
    LessonsNotTaken,
}

impl ReportKind {
    pub const ALL: [ReportKind; 6] = [
        Self::Attendance,
        Self::Changes,
        Self::Students,
        Self::Classes,
        Self::Courses,
        Self::LessonsNotTaken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attendance => "attendance",
            Self::Changes => "changes",
            Self::Students => "students",
            Self::Classes => "classes",
            Self::Courses => "courses",
            Self::LessonsNotTaken => "lessons-not-taken",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A file name that says what is in the file, such as
    /// `rollcall-attendance-2026-11-01-to-2026-11-28.csv` (the UI names files the same way).
    pub fn file_name(self, filter: &RecordFilter, school: Option<&str>) -> String {
        // One day asked for as `date` is named like a range of one day.
        let (from, to) = match &filter.date {
            Some(day) => (Some(day), Some(day)),
            None => (filter.from.as_ref(), filter.to.as_ref()),
        };
        let range = match (from, to) {
            (Some(from), Some(to)) if from == to => format!("-{from}"),
            (Some(from), Some(to)) => format!("-{from}-to-{to}"),
            (Some(from), None) => format!("-from-{from}"),
            (None, Some(to)) => format!("-until-{to}"),
            (None, None) => String::new(),
        };
        // Only characters a file name may have everywhere.
        let school: String = school
            .map(|id| {
                let safe: String = id
                    .chars()
                    .map(|c| match c {
                        'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => c,
                        _ => '-',
                    })
                    .collect();
                format!("-{safe}")
            })
            .unwrap_or_default();
        format!("rollcall-{}{school}{range}.csv", self.as_str())
    }
}

/// How an export is written, beyond its filter.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ExportOptions {
    pub format: CsvFormat,
    /// Attendance only: include deleted records, with a `deleted` column.
    pub include_deleted: bool,
    /// Students only: the chronic-absence threshold.
    pub settings: ReportSettings,
}

/// A report query: SQL text both backends run (SQLite's `?` placeholders; PostgreSQL's
/// store numbers them) and its parameters.
pub type ReportQuery = (String, Vec<rusqlite::types::Value>);

/// The query whose rows [`ReportWriter::row`] writes for `kind`, in the report's order.
pub fn report_query(
    kind: ReportKind,
    filter: &RecordFilter,
    options: &ExportOptions,
) -> ReportQuery {
    match kind {
        ReportKind::Attendance => attendance::query(filter, options.include_deleted),
        ReportKind::Changes => changes::query(filter),
        ReportKind::Students => tallies::students_sql(filter),
        ReportKind::Classes => tallies::per_day_query(Grouping::Class, filter),
        ReportKind::Courses => tallies::per_day_query(Grouping::Course, filter),
        ReportKind::LessonsNotTaken => not_taken::export_query(filter),
    }
}

/// A query of one row and one column: how many rows [`report_query`] gives for the same
/// filter and options (the total of a progress bar; exact in the same read transaction).
pub fn count_query(
    kind: ReportKind,
    filter: &RecordFilter,
    options: &ExportOptions,
) -> ReportQuery {
    match kind {
        ReportKind::Attendance => attendance::count_query(filter, options.include_deleted),
        ReportKind::Changes => changes::count_query(filter),
        ReportKind::Students => tallies::count_students_query(filter),
        ReportKind::Classes => tallies::count_per_day_query(Grouping::Class, filter),
        ReportKind::Courses => tallies::count_per_day_query(Grouping::Course, filter),
        ReportKind::LessonsNotTaken => not_taken::count_query(filter),
    }
}

/// Writes one report as CSV: the header when started, then each row of [`report_query`] as
/// the backend decodes it. Every backend writes through this, so the bytes are the same for
/// the same data.
pub struct ReportWriter<'p, W: Write> {
    csv: CsvOut<'p, W>,
    kind: ReportKind,
    options: ExportOptions,
}

impl<'p, W: Write> ReportWriter<'p, W> {
    /// Writes the byte-order mark (Excel) and the header row of `kind`.
    pub fn start(
        kind: ReportKind,
        options: &ExportOptions,
        out: W,
        progress: Progress<'p>,
    ) -> Result<Self, ExportError> {
        let mut csv = CsvOut::new(out, options.format, progress)?;
        match kind {
            ReportKind::Attendance => csv.header(&attendance::header(options.include_deleted))?,
            ReportKind::Changes => csv.header(&changes::HEADER)?,
            ReportKind::LessonsNotTaken => csv.header(&not_taken::HEADER)?,
            ReportKind::Students => csv.header(&tallies::students_header())?,
            ReportKind::Classes | ReportKind::Courses => {
                let grouping = if kind == ReportKind::Classes {
                    Grouping::Class
                } else {
                    Grouping::Course
                };
                let header = tallies::per_day_header(grouping);
                let names: Vec<&str> = header.iter().map(String::as_str).collect();
                csv.header(&names)?;
            }
        }
        Ok(Self {
            csv,
            kind,
            options: *options,
        })
    }

    /// Writes one row of [`report_query`]; [`ExportError::Cancelled`] when progress said stop.
    pub fn row<R: ReportRow>(&mut self, row: &R) -> Result<(), ExportError> {
        let csv = &mut self.csv;
        match self.kind {
            ReportKind::Attendance => {
                attendance::write_row(csv, row, self.options.include_deleted)?
            }
            ReportKind::Changes => changes::write_row(csv, row)?,
            ReportKind::Students => tallies::write_student_row(csv, row, &self.options)?,
            ReportKind::Classes | ReportKind::Courses => tallies::write_per_day_row(csv, row)?,
            ReportKind::LessonsNotTaken => not_taken::write_row(csv, row)?,
        }
        csv.end_row()
    }

    /// Flushes and returns the number of rows written (the header not counted).
    pub fn finish(self) -> Result<u64, ExportError> {
        self.csv.finish()
    }
}

/// Writes one report as CSV to `out`, row by row. Returns the number of rows written (the
/// header not counted). Run it on a read connection: it holds one read transaction for the
/// whole export, so the file is one consistent snapshot while webhooks keep arriving.
pub fn write_report(
    conn: &Connection,
    kind: ReportKind,
    filter: &RecordFilter,
    options: &ExportOptions,
    out: impl Write,
) -> Result<u64, ExportError> {
    write_report_with_progress(conn, kind, filter, options, out, &mut |_| {
        ControlFlow::Continue(())
    })
}

/// [`write_report`], telling `progress` how far it is and stopping when it answers
/// [`ControlFlow::Break`] (then the error is [`ExportError::Cancelled`] and `out` holds a
/// partial file the caller throws away).
pub fn write_report_with_progress(
    conn: &Connection,
    kind: ReportKind,
    filter: &RecordFilter,
    options: &ExportOptions,
    out: impl Write,
    progress: Progress<'_>,
) -> Result<u64, ExportError> {
    let mut writer = ReportWriter::start(kind, options, out, progress)?;
    let (sql, params) = report_query(kind, filter, options);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    while let Some(row) = rows.next()? {
        writer.row(row)?;
    }
    writer.finish()
}

/// How many rows [`write_report`] would write for the same filter and options: the total of a
/// progress bar. Exact when run in the same read transaction as the export.
pub fn count_report_rows(
    conn: &Connection,
    kind: ReportKind,
    filter: &RecordFilter,
    options: &ExportOptions,
) -> Result<u64, ExportError> {
    let (sql, params) = count_query(kind, filter, options);
    let rows: i64 = conn.query_row(&sql, rusqlite::params_from_iter(params), |row| row.get(0))?;
    Ok(rows as u64)
}

/// The status category of the status joined as `s` (a LEFT JOIN of `reference_statuses`), as
/// a number: 0 present, 1 absent, 2 late, 3 excused, 4 other (also: no known category).
pub(crate) const CATEGORY_CODE_SQL: &str = "CASE COALESCE(s.user_category, s.guessed_category) \
     WHEN 'present' THEN 0 WHEN 'absent' THEN 1 WHEN 'late' THEN 2 WHEN 'excused' THEN 3 \
     ELSE 4 END";

/// The names of [`CATEGORY_CODE_SQL`]'s numbers.
/// The column every export names its rows' school (DreamClass tenant) in: one Rollcall may
/// receive several schools, and a file of "all schools" must say which row is whose.
pub(crate) const SCHOOL_COLUMN: &str = "school";

pub(crate) const CATEGORY_NAMES: [&str; 5] = ["present", "absent", "late", "excused", "other"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_file_names() {
        for kind in ReportKind::ALL {
            assert_eq!(ReportKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ReportKind::parse("pupils"), None);
        let filter = RecordFilter {
            from: Some("2026-11-01".into()),
            to: Some("2026-11-28".into()),
            ..Default::default()
        };
        assert_eq!(
            ReportKind::Attendance.file_name(&filter, None),
            "rollcall-attendance-2026-11-01-to-2026-11-28.csv"
        );
        assert_eq!(
            ReportKind::Attendance.file_name(&filter, Some("north/primary")),
            "rollcall-attendance-north-primary-2026-11-01-to-2026-11-28.csv",
            "the school's id, with what a file name may not hold replaced"
        );
        assert_eq!(
            ReportKind::Students.file_name(&RecordFilter::default(), None),
            "rollcall-students.csv"
        );
        let one_day = RecordFilter {
            from: Some("2026-11-02".into()),
            to: Some("2026-11-02".into()),
            ..Default::default()
        };
        assert_eq!(
            ReportKind::Classes.file_name(&one_day, None),
            "rollcall-classes-2026-11-02.csv"
        );
        let until = RecordFilter {
            to: Some("2026-11-02".into()),
            ..Default::default()
        };
        assert_eq!(
            ReportKind::Changes.file_name(&until, None),
            "rollcall-changes-until-2026-11-02.csv"
        );
    }
}
