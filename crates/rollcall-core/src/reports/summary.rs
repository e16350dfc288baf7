//! The summary behind the report charts: attendance rate by class, absences per day, and the
//! students at or above the chronic-absence threshold. Small lists (one entry per class, day
//! or student), so they are collected.

use rusqlite::Connection;
use serde::Serialize;
use ts_rs::TS;

use super::csv_output::rate_number;
use super::settings::ChronicVerdict;
use super::tallies::{records_sql, students_sql, Tally, COUNTS_SQL};
use super::ReportSettings;
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

pub fn summary(
    conn: &Connection,
    filter: &RecordFilter,
    settings: &ReportSettings,
) -> rusqlite::Result<Summary> {
    let judged = chronic_students(conn, filter, settings)?;
    Ok(Summary {
        by_class: by_class(conn, filter)?,
        by_day: by_day(conn, filter)?,
        chronic: judged.chronic,
        threshold: settings.chronic_threshold,
        too_early: judged.too_early,
        min_days: settings.chronic_min_days,
    })
}

fn by_class(conn: &Connection, filter: &RecordFilter) -> rusqlite::Result<Vec<ClassRate>> {
    let (records, params) = records_sql(filter);
    let sql = format!(
        "SELECT r.class_id, g.name, {COUNTS_SQL}
         FROM ({records}) r LEFT JOIN reference_classes g ON g.id = r.class_id
         GROUP BY r.class_id
         ORDER BY g.name IS NULL, g.name, r.class_id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
        let tally = Tally::from_row(row, 2)?;
        Ok(ClassRate {
            id: row.get(0)?,
            name: row.get(1)?,
            sessions: tally.sessions,
            present: tally.present,
            absent: tally.absent,
            late: tally.late,
            excused: tally.excused,
            rate: rate_number(tally.attended(), tally.sessions),
        })
    })?;
    rows.collect()
}

fn by_day(conn: &Connection, filter: &RecordFilter) -> rusqlite::Result<Vec<DayAbsences>> {
    let (records, params) = records_sql(filter);
    let sql = format!(
        "SELECT r.date, SUM(cat IN (1, 3)), COUNT(*)
         FROM ({records}) r GROUP BY r.date ORDER BY r.date"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |row| {
        Ok(DayAbsences {
            date: row.get(0)?,
            absent: row.get(1)?,
            sessions: row.get(2)?,
        })
    })?;
    rows.collect()
}

/// The students of a range, judged for chronic absence.
pub(crate) struct Judged {
    /// At or above the threshold, with enough days of records.
    pub chronic: Vec<ChronicStudent>,
    /// With too few days of records to be judged.
    pub too_early: i64,
}

/// Students whose absence rate over `filter`'s range is at or above the threshold, among those
/// with at least [`ReportSettings::chronic_min_days`] days of records; and how many have fewer.
pub(crate) fn chronic_students(
    conn: &Connection,
    filter: &RecordFilter,
    settings: &ReportSettings,
) -> rusqlite::Result<Judged> {
    let (sql, params) = students_sql(filter);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut chronic = Vec::new();
    let mut too_early = 0;
    while let Some(row) = rows.next()? {
        let tally = Tally::from_row(row, 4)?;
        let days: i64 = row.get(11)?;
        let verdict = settings.chronic_verdict(tally.absences(), tally.sessions, days);
        if verdict == ChronicVerdict::TooEarly {
            too_early += 1;
        } else if verdict == ChronicVerdict::Chronic {
            chronic.push(ChronicStudent {
                student_period_id: row.get(0)?,
                name: row.get(1)?,
                sessions: tally.sessions,
                absent: tally.absences(),
                rate: rate_number(tally.absences(), tally.sessions),
                last_absence_at: row.get(10)?,
            });
        }
    }
    // Highest rate first, compared exactly; the query's name order breaks ties (stable sort).
    chronic.sort_by(|a, b| {
        (b.absent as i128 * a.sessions as i128).cmp(&(a.absent as i128 * b.sessions as i128))
    });
    Ok(Judged { chronic, too_early })
}
