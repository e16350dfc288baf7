//! The summary behind the report charts: attendance rate by class, absences per day, and the
//! students at or above the chronic-absence threshold. Small lists (one entry per class, day
//! or student), so they are collected.

use rusqlite::Connection;
use serde::Serialize;
use ts_rs::TS;

use super::csv_output::rate_number;
use super::rows::ReportRow;
use super::settings::ChronicVerdict;
use super::tallies::{records_sql, students_sql, Tally, COUNTS_SQL};
use super::{ReportQuery, ReportSettings};
use crate::filter::RecordFilter;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(rename = "ReportSummary")]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub by_class: Vec<ClassRate>,
    pub by_day: Vec<DayAbsences>,
    pub chronic: Vec<ChronicStudent>,
    /// The chronic-absence threshold the list was made with.
    pub threshold: f64,
    /// Students left out of `chronic` whatever their rate, because their records cover fewer
    /// than `min_days` different days of the range: too early to tell.
    pub too_early: i64,
    /// The days with records a student needs before being judged
    /// ([`ReportSettings::chronic_min_days`]).
    pub min_days: u32,
}

/// One class over the whole range. Sorted by name (unknown names last), then id.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClassRate {
    /// The class's school (DreamClass tenant).
    pub tenant: String,
    pub id: i64,
    /// `None` until the name is known from DreamClass.
    pub name: Option<String>,
    pub sessions: i64,
    pub present: i64,
    pub absent: i64,
    pub late: i64,
    pub excused: i64,
    /// Attendance rate: (present + late) / sessions, 4 decimal places.
    pub rate: f64,
}

/// One day of the range that has attendance (days without any are left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DayAbsences {
    pub date: String,
    /// Absences: absent + excused.
    pub absent: i64,
    pub sessions: i64,
}

/// A student at or above the threshold. Sorted by absence rate, highest first, then name.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChronicStudent {
    /// The student's school (DreamClass tenant).
    pub tenant: String,
    pub student_period_id: i64,
    pub name: Option<String>,
    pub sessions: i64,
    /// Absences: absent + excused.
    pub absent: i64,
    /// Absence rate: absences / sessions, 4 decimal places.
    pub rate: f64,
    /// DreamClass's time of the latest absence in the range (milliseconds).
    #[serde(skip)]
    pub last_absence_at: Option<i64>,
}

/// The summary over `filter`, read from SQLite (PostgreSQL's store runs the same queries
/// and decoders).
pub fn summary(
    conn: &Connection,
    filter: &RecordFilter,
    settings: &ReportSettings,
) -> rusqlite::Result<Summary> {
    let judged = chronic_students(conn, filter, settings)?;
    Ok(Summary {
        by_class: collect(conn, by_class_query(filter), |row| class_rate(row))?,
        by_day: collect(conn, by_day_query(filter), |row| day_absences(row))?,
        chronic: judged.chronic,
        threshold: settings.chronic_threshold,
        too_early: judged.too_early,
        min_days: settings.chronic_min_days,
    })
}

/// Every row of `query`, decoded by `decode`.
fn collect<T>(
    conn: &Connection,
    (sql, params): ReportQuery,
    decode: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut all = Vec::new();
    while let Some(row) = rows.next()? {
        all.push(decode(row)?);
    }
    Ok(all)
}

/// Per class of a school over the range: id, name, the six counts, then the school. The name
/// is grouped by too (it depends on the id alone), as PostgreSQL asks.
pub fn by_class_query(filter: &RecordFilter) -> ReportQuery {
    let (records, params) = records_sql(filter);
    let sql = format!(
        "SELECT r.class_id, g.name, {COUNTS_SQL}, r.tenant
         FROM ({records}) r LEFT JOIN reference_classes g ON g.tenant = r.tenant AND g.id = r.class_id
         GROUP BY r.tenant, r.class_id, g.name
         ORDER BY g.name IS NULL, g.name, r.class_id, r.tenant"
    );
    (sql, params)
}

/// One row of [`by_class_query`].
pub fn class_rate<R: ReportRow + ?Sized>(row: &R) -> Result<ClassRate, R::Error> {
    let tally = Tally::from_row(row, 2)?;
    Ok(ClassRate {
        tenant: row.opt_text(8)?.unwrap_or_default(),
        id: row.int(0)?,
        name: row.opt_text(1)?,
        sessions: tally.sessions,
        present: tally.present,
        absent: tally.absent,
        late: tally.late,
        excused: tally.excused,
        rate: rate_number(tally.attended(), tally.sessions),
    })
}

/// Per day: the date, its absences and its sessions.
pub fn by_day_query(filter: &RecordFilter) -> ReportQuery {
    let (records, params) = records_sql(filter);
    let sql = format!(
        "SELECT r.date, SUM(CASE WHEN cat IN (1, 3) THEN 1 ELSE 0 END), COUNT(*)
         FROM ({records}) r GROUP BY r.date ORDER BY r.date"
    );
    (sql, params)
}

/// One row of [`by_day_query`].
pub fn day_absences<R: ReportRow + ?Sized>(row: &R) -> Result<DayAbsences, R::Error> {
    Ok(DayAbsences {
        date: row.opt_text(0)?.unwrap_or_default(),
        absent: row.int(1)?,
        sessions: row.int(2)?,
    })
}

/// Per student over the range (the students report's query): chronic absence is decided
/// from its rows by [`chronic_student`].
pub fn chronic_query(filter: &RecordFilter) -> ReportQuery {
    students_sql(filter)
}

/// The verdict on the student of one row of [`chronic_query`], with the student when chronic
/// (too early before [`ReportSettings::chronic_min_days`] days with records, column 11).
pub fn chronic_student<R: ReportRow + ?Sized>(
    row: &R,
    settings: &ReportSettings,
) -> Result<(ChronicVerdict, Option<ChronicStudent>), R::Error> {
    let tally = Tally::from_row(row, 4)?;
    let days = row.int(11)?;
    let verdict = settings.chronic_verdict(tally.absences(), tally.sessions, days);
    if verdict != ChronicVerdict::Chronic {
        return Ok((verdict, None));
    }
    let student = ChronicStudent {
        tenant: row.opt_text(12)?.unwrap_or_default(),
        student_period_id: row.int(0)?,
        name: row.opt_text(1)?,
        sessions: tally.sessions,
        absent: tally.absences(),
        rate: rate_number(tally.absences(), tally.sessions),
        last_absence_at: row.opt_int(10)?,
    };
    Ok((verdict, Some(student)))
}

/// Highest rate first, compared exactly; the query's name order breaks ties (stable sort).
pub fn sort_chronic(chronic: &mut [ChronicStudent]) {
    chronic.sort_by(|a, b| {
        (b.absent as i128 * a.sessions as i128).cmp(&(a.absent as i128 * b.sessions as i128))
    });
}

/// The students of a range, judged for chronic absence (both stores build it from the rows
/// of [`chronic_query`] decoded by [`chronic_student`]).
pub struct Judged {
    /// At or above the threshold, with enough days of records, highest rate first.
    pub chronic: Vec<ChronicStudent>,
    /// With too few days of records to be judged.
    pub too_early: i64,
}

impl Judged {
    /// The verdicts of a range's students, in the query's order.
    pub fn of(verdicts: Vec<(ChronicVerdict, Option<ChronicStudent>)>) -> Self {
        let too_early = verdicts
            .iter()
            .filter(|(v, _)| *v == ChronicVerdict::TooEarly)
            .count() as i64;
        let mut chronic: Vec<ChronicStudent> =
            verdicts.into_iter().filter_map(|(_, s)| s).collect();
        sort_chronic(&mut chronic);
        Self { chronic, too_early }
    }
}

/// Students whose absence rate over `filter`'s range is at or above the threshold, among those
/// with at least [`ReportSettings::chronic_min_days`] days of records; and how many have fewer.
pub(crate) fn chronic_students(
    conn: &Connection,
    filter: &RecordFilter,
    settings: &ReportSettings,
) -> rusqlite::Result<Judged> {
    let judged = collect(conn, chronic_query(filter), |row| {
        chronic_student(row, settings)
    })?;
    Ok(Judged::of(judged))
}
