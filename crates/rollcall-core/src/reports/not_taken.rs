//! Lessons not taken: the lessons expected on a day that have no attendance yet, like
//! PowerSchool's "section attendance status". Shown on the Today board after the school's
//! cutoff ([`ReportSettings::lesson_cutoff`](super::ReportSettings::lesson_cutoff)), notified
//! once per day and exported as CSV.
//!
//! ## What is expected is inferred
//! DreamClass's webhooks and the API paths Rollcall knows give no timetable (no lesson
//! periods, no days of the week per course; see `shared/dreamclass/CONTRACT.md`), so Rollcall
//! cannot know which lessons a day *should* have. It infers it from the school's own history:
//!
//! - A **lesson** is one class with one course (`classId`, `courseId`) on one day; with no
//!   timetable there are no lesson periods, so two periods of the same course in the same
//!   class on one day are one lesson here.
//! - A lesson is **expected** on day D when that class and course had at least one current
//!   (not deleted) attendance record on one of the [`EXPECTED_WEEKS_BACK`] (4) same weekdays
//!   before D (D − 7, D − 14, D − 21, D − 28 days), in the same school (tenant). Four weeks
//!   reach past a week of holiday and forget a course that was dropped a month ago; a one-off
//!   lesson is expected for the next four weeks, which the office sees as "inferred".
//! - A lesson is **taken** on D as soon as one current record of that class and course exists
//!   on D, whatever its status, kind or student.
//! - A lesson is **not taken** when it is expected and not taken. Each row says which earlier
//!   day it was inferred from (`last_taken`), and every view and export says it is inferred.
//!
//! A day with no record at all in a school is most likely not a school day (a holiday, a
//! weekend lesson in the history): the list is still given, but the office is not notified
//! (see [`NotTakenDay::is_school_day`]); the Today board already says nothing was recorded.

use std::io::Write;

use chrono::{Datelike, Days, NaiveDate};
use rusqlite::Connection;
use serde::Serialize;
use ts_rs::TS;

use super::csv_output::{CsvOut, ExportError};
use super::limits::MAX_TERM_DAYS;
use super::rows::ReportRow;
use super::{ReportQuery, SCHOOL_COLUMN};
use crate::filter::RecordFilter;
use crate::scope::Scope;

/// How many earlier same weekdays are looked at to infer the lessons expected on a day.
pub const EXPECTED_WEEKS_BACK: u64 = 4;

/// The sentence every view and export of lessons not taken shows: what "expected" means.
pub const INFERRED_RULE: &str = "DreamClass sends no timetable, so the lessons expected on a \
     day are inferred: a class and course that had attendance on the same weekday in one of \
     the four weeks before.";

/// One lesson expected on `date` with no attendance yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LessonNotTaken {
    /// The day (`YYYY-MM-DD`).
    pub date: String,
    /// The school (DreamClass tenant).
    pub tenant: String,
    pub class_id: i64,
    /// `None` until DreamClass has named the class.
    pub class_name: Option<String>,
    pub course_id: i64,
    /// `None` until DreamClass has named the course.
    pub course_name: Option<String>,
    /// Inferred: the latest earlier same weekday on which this class and course had
    /// attendance, the reason it is expected on `date`.
    pub last_taken: String,
}

impl LessonNotTaken {
    /// "7A · Mathematics", with ids where the names are not known yet.
    pub fn label(&self) -> String {
        let class = named(self.class_name.as_deref(), "Class", self.class_id);
        let course = named(self.course_name.as_deref(), "Course", self.course_id);
        format!("{class} · {course}")
    }
}

fn named(name: Option<&str>, what: &str, id: i64) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => name.to_string(),
        None => format!("{what} {id}"),
    }
}

/// The lessons not taken on one day, and whether the day looks like a school day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NotTakenDay {
    /// The day (`YYYY-MM-DD`).
    pub date: String,
    /// Current attendance records on the day, in the schools looked at.
    #[ts(type = "number")]
    pub records: i64,
    /// Class name, then course name order (ids while names are unknown).
    pub lessons: Vec<LessonNotTaken>,
}

impl NotTakenDay {
    /// A day with at least one record: attendance is being taken, so lessons without any are
    /// worth telling the office about. A day with none is most likely a holiday.
    pub fn is_school_day(&self) -> bool {
        self.records > 0
    }

    /// The notification for the office at the cutoff: `None` when there is nothing to say
    /// (every expected lesson taken, or not a school day).
    pub fn notice(&self, cutoff: &str) -> Option<String> {
        if !self.is_school_day() || self.lessons.is_empty() {
            return None;
        }
        const SHOWN: usize = 3;
        let n = self.lessons.len();
        let mut names: Vec<String> = self.lessons.iter().take(SHOWN).map(|l| l.label()).collect();
        if n > SHOWN {
            names.push(format!("{} more", n - SHOWN));
        }
        let list = match names.len() {
            1 => names.remove(0),
            _ => {
                let last = names.pop().unwrap_or_default();
                format!("{} and {last}", names.join(", "))
            }
        };
        let lessons = if n == 1 { "lesson has" } else { "lessons have" };
        Some(format!(
            "By {cutoff}, {n} {lessons} no attendance yet today: {list}. Expected from earlier \
             weeks (inferred); see Today."
        ))
    }
}

/// The lessons not taken on `day` in the schools `scope` allows (SQLite; PostgreSQL runs
/// [`not_taken_query`] and [`day_records_query`] itself).
pub fn lessons_not_taken(
    conn: &Connection,
    scope: &Scope,
    day: NaiveDate,
) -> rusqlite::Result<NotTakenDay> {
    let (sql, params) = not_taken_query(&scope_filter(scope), &[day]);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut lessons = Vec::new();
    while let Some(row) = rows.next()? {
        lessons.push(lesson_not_taken(row)?);
    }
    let (sql, params) = day_records_query(scope, day);
    let records = conn.query_row(&sql, rusqlite::params_from_iter(params), |r| r.get(0))?;
    Ok(NotTakenDay {
        date: iso(day),
        records,
        lessons,
    })
}

/// A filter of `scope` alone.
fn scope_filter(scope: &Scope) -> RecordFilter {
    RecordFilter {
        scope: scope.clone(),
        ..Default::default()
    }
}

fn iso(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// One row and one column: the current records on `day` in `scope`.
pub fn day_records_query(scope: &Scope, day: NaiveDate) -> ReportQuery {
    let filter = RecordFilter {
        date: Some(iso(day)),
        ..scope_filter(scope)
    };
    let (conditions, params) = filter.sql("a", "status_id");
    let sql = format!("SELECT COUNT(*) FROM attendance a WHERE a.deleted = 0 AND {conditions}");
    (sql, params)
}

/// The lessons not taken on each of `days`, in day order, then by class name and course name:
/// date, tenant, class id, class name, course id, course name, last day taken. `filter`'s
/// class, course, school and scope narrow it; its dates, status and student are not used
/// (the days are `days`).
pub fn not_taken_query(filter: &RecordFilter, days: &[NaiveDate]) -> ReportQuery {
    let narrowed = RecordFilter {
        class_id: filter.class_id,
        course_id: filter.course_id,
        tenant: filter.tenant.clone(),
        scope: filter.scope.clone(),
        ..Default::default()
    };
    let (conditions, filter_params) = narrowed.sql("a", "status_id");
    let mut params = Vec::new();
    let days_sql = if days.is_empty() {
        "SELECT CAST(NULL AS TEXT) AS day, CAST(NULL AS TEXT) AS past WHERE 1 = 0".to_string()
    } else {
        let mut rows = Vec::new();
        for day in days {
            for week in 1..=EXPECTED_WEEKS_BACK {
                let past = *day - Days::new(7 * week);
                rows.push("(CAST(? AS TEXT), CAST(? AS TEXT))");
                params.push(iso(*day).into());
                params.push(iso(past).into());
            }
        }
        format!("VALUES {}", rows.join(", "))
    };
    params.extend(filter_params);
    let sql = format!(
        "WITH days(day, past) AS ({days_sql}),
         seen AS (
             SELECT d.day AS day, a.tenant AS tenant, a.class_id AS class_id,
                    a.course_id AS course_id, MAX(a.date) AS last_taken
             FROM days d JOIN attendance a ON a.date = d.past
             WHERE a.deleted = 0 AND {conditions}
             GROUP BY d.day, a.tenant, a.class_id, a.course_id
         )
         SELECT e.day, e.tenant, e.class_id, c.name, e.course_id, co.name, e.last_taken
         FROM seen e
         LEFT JOIN reference_classes c ON c.tenant = e.tenant AND c.id = e.class_id
         LEFT JOIN reference_courses co ON co.tenant = e.tenant AND co.id = e.course_id
         WHERE NOT EXISTS (
             SELECT 1 FROM attendance t
             WHERE t.date = e.day AND t.class_id = e.class_id AND t.course_id = e.course_id
               AND t.tenant = e.tenant AND t.deleted = 0
         )
         ORDER BY e.day, c.name IS NULL, c.name, e.class_id, co.name IS NULL, co.name,
                  e.course_id, e.tenant"
    );
    (sql, params)
}

/// One row of [`not_taken_query`].
pub fn lesson_not_taken<R: ReportRow + ?Sized>(row: &R) -> Result<LessonNotTaken, R::Error> {
    Ok(LessonNotTaken {
        date: row.opt_text(0)?.unwrap_or_default(),
        tenant: row.opt_text(1)?.unwrap_or_default(),
        class_id: row.int(2)?,
        class_name: row.opt_text(3)?,
        course_id: row.int(4)?,
        course_name: row.opt_text(5)?,
        last_taken: row.opt_text(6)?.unwrap_or_default(),
    })
}

/// The days the export covers: the filter's `date`, or every day from `from` to `to`.
/// `Err` with a sentence when the filter names no day or too many.
pub fn export_days(filter: &RecordFilter) -> Result<Vec<NaiveDate>, String> {
    let parse = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    let (first, last) = match (&filter.date, &filter.from, &filter.to) {
        (Some(day), _, _) => (parse(day), parse(day)),
        (None, Some(from), Some(to)) => (parse(from), parse(to)),
        (None, Some(day), None) | (None, None, Some(day)) => (parse(day), parse(day)),
        (None, None, None) => {
            return Err(
                "Choose the day (or the first and last day) of lessons not taken to \
                        export."
                    .into(),
            )
        }
    };
    let (Some(first), Some(last)) = (first, last) else {
        return Err("The day of lessons not taken is not a date written YYYY-MM-DD.".into());
    };
    let count = (last - first).num_days() + 1;
    if count < 1 || count > i64::from(MAX_TERM_DAYS) {
        return Err(format!(
            "Lessons not taken can be exported for at most {MAX_TERM_DAYS} days at a time."
        ));
    }
    Ok(first.iter_days().take(count as usize).collect())
}

/// The export's query: [`not_taken_query`] over [`export_days`] (none when the filter names
/// no day; the request is refused before that, see `ExportRequest::new`).
pub(super) fn export_query(filter: &RecordFilter) -> ReportQuery {
    not_taken_query(filter, &export_days(filter).unwrap_or_default())
}

/// How many rows [`export_query`] gives.
pub(super) fn count_query(filter: &RecordFilter) -> ReportQuery {
    let (sql, params) = export_query(filter);
    (format!("SELECT COUNT(*) FROM ({sql}) lessons"), params)
}

/// The export's columns; the last says the lesson is inferred, and from which day.
pub(super) const HEADER: [&str; 8] = [
    "date",
    "weekday",
    SCHOOL_COLUMN,
    "class_id",
    "class",
    "course_id",
    "course",
    "expected_inferred_from",
];

/// Writes one row of [`export_query`].
pub(super) fn write_row<R: ReportRow, W: Write>(
    csv: &mut CsvOut<'_, W>,
    row: &R,
) -> Result<(), ExportError> {
    let lesson = lesson_not_taken(row).map_err(R::export_error)?;
    csv.trusted(&lesson.date)?;
    let weekday = NaiveDate::parse_from_str(&lesson.date, "%Y-%m-%d")
        .map(|d| d.weekday().to_string())
        .unwrap_or_default();
    csv.trusted(&weekday)?;
    csv.text(lesson.tenant.as_bytes())?;
    csv.int(lesson.class_id)?;
    csv.text(lesson.class_name.unwrap_or_default().as_bytes())?;
    csv.int(lesson.course_id)?;
    csv.text(lesson.course_name.unwrap_or_default().as_bytes())?;
    csv.text(
        format!(
            "attendance on {} (same weekday); no timetable from DreamClass",
            lesson.last_taken
        )
        .as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson(class: Option<&str>, course: &str) -> LessonNotTaken {
        LessonNotTaken {
            date: "2026-11-30".into(),
            tenant: "my-school".into(),
            class_id: 34,
            class_name: class.map(Into::into),
            course_id: 40,
            course_name: Some(course.into()),
            last_taken: "2026-11-23".into(),
        }
    }

    #[test]
    fn the_office_is_told_at_the_cutoff_only_on_a_school_day_with_lessons_missing() {
        let mut day = NotTakenDay {
            date: "2026-11-30".into(),
            records: 12,
            lessons: vec![lesson(Some("7A"), "Maths")],
        };
        assert_eq!(
            day.notice("09:30").unwrap(),
            "By 09:30, 1 lesson has no attendance yet today: 7A · Maths. Expected from earlier \
             weeks (inferred); see Today."
        );
        day.lessons.push(lesson(None, "English"));
        assert!(day.notice("09:30").unwrap().contains(
            "2 lessons have no attendance yet today: 7A · Maths and Class 34 · English."
        ));
        day.lessons
            .extend([lesson(Some("7B"), "Art"), lesson(Some("7C"), "Art")]);
        assert!(day
            .notice("09:30")
            .unwrap()
            .contains("7A · Maths, Class 34 · English, 7B · Art and 1 more."));
        // Nothing recorded at all: a holiday, most likely. Nothing to notify.
        day.records = 0;
        assert_eq!(day.notice("09:30"), None);
        day.records = 1;
        day.lessons.clear();
        assert_eq!(day.notice("09:30"), None);
    }

    #[test]
    fn the_export_covers_the_day_or_the_range_asked_for() {
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let one = RecordFilter {
            date: Some("2026-11-30".into()),
            ..Default::default()
        };
        assert_eq!(export_days(&one), Ok(vec![day("2026-11-30")]));
        let range = RecordFilter {
            from: Some("2026-11-27".into()),
            to: Some("2026-11-30".into()),
            ..Default::default()
        };
        assert_eq!(export_days(&range).unwrap().len(), 4);
        assert!(export_days(&RecordFilter::default())
            .unwrap_err()
            .contains("Choose the day"));
        let too_long = RecordFilter {
            from: Some("2025-01-01".into()),
            to: Some("2026-11-30".into()),
            ..Default::default()
        };
        assert!(export_days(&too_long)
            .unwrap_err()
            .contains("at most 366 days"));
    }

    #[test]
    fn each_day_is_compared_with_its_four_earlier_weekdays() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let (sql, params) = not_taken_query(&RecordFilter::default(), &[day]);
        let texts: Vec<String> = params
            .iter()
            .map(|v| match v {
                rusqlite::types::Value::Text(t) => t.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            texts,
            [
                "2026-11-30",
                "2026-11-23",
                "2026-11-30",
                "2026-11-16",
                "2026-11-30",
                "2026-11-09",
                "2026-11-30",
                "2026-11-02"
            ]
        );
        assert!(sql.contains("NOT EXISTS"));
    }
}
