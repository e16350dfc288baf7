//! The alert for a student absent several school days in a row
//! ([`ReportSettings::absent_days_in_row`], default 3).
//!
//! - A **school day** of a school (tenant) is a day on which that school recorded any current
//!   attendance, for any student. Weekends, holidays and days DreamClass sent nothing are not
//!   school days, so they neither break a run nor extend it.
//! - A student's day is an **absent day** when the student has at least one current record that
//!   day and every one of them is an absence (category absent or excused, as "absences"
//!   everywhere in the reports). One lesson present, late or "other" makes it not an absent day.
//! - **In a row**: the student's absent days on the school's latest school days, counted back
//!   from the latest one, without a school day in between on which the student was not absent
//!   (a present day, or a school day with no record of the student, ends the run). Today is the
//!   one exception: while today has no record of the student yet (their lessons may not be
//!   taken yet), the run is counted from the school day before, so a morning does not hide a
//!   run that is still going.
//! - The alert is raised at [`ReportSettings::absent_days_in_row`] days; only the latest
//!   `absent_days_in_row + 1` school days within the alert term are looked at, so the number
//!   in the sentence is at most one more than the threshold.

use chrono::NaiveDate;
use rusqlite::Connection;

use super::alerts::{display_name, Alert, AlertKind};
use super::rows::ReportRow;
use super::{ReportQuery, ReportSettings, CATEGORY_CODE_SQL};
use crate::scope::Scope;

/// The student days of the latest school days of each school in `scope`, up to `today` and
/// within the alert term: tenant, date, the day's rank (1 = the school's latest school day),
/// the school's latest school day, student id, student name, whether every record is an
/// absence (1 or 0), the latest absence's time. Ordered by tenant, student, rank.
pub fn absent_days_query(
    scope: &Scope,
    today: NaiveDate,
    settings: &ReportSettings,
) -> ReportQuery {
    let term = super::alerts::term_filter(scope, today, settings);
    let (conditions, mut params) = term.sql("a", "status_id");
    params.push(i64::from(window(settings)).into());
    let sql = format!(
        "WITH student_days AS (
             SELECT a.tenant AS tenant, a.date AS date, a.student_period_id AS student,
                    MIN(CASE WHEN {CATEGORY_CODE_SQL} IN (1, 3) THEN 1 ELSE 0 END) AS absent_day,
                    MAX(a.event_ts) AS last_ts
             FROM attendance a LEFT JOIN reference_statuses s ON s.tenant = a.tenant AND s.id = a.status_id
             WHERE a.deleted = 0 AND {conditions}
             GROUP BY a.tenant, a.date, a.student_period_id
         ),
         school_days AS (
             SELECT tenant, date FROM student_days GROUP BY tenant, date
         ),
         ranked AS (
             SELECT tenant, date,
                    ROW_NUMBER() OVER (PARTITION BY tenant ORDER BY date DESC) AS n,
                    MAX(date) OVER (PARTITION BY tenant) AS latest
             FROM school_days
         )
         SELECT r.tenant, r.date, r.n, r.latest, d.student, st.name, d.absent_day, d.last_ts
         FROM ranked r
         JOIN student_days d ON d.tenant = r.tenant AND d.date = r.date
         LEFT JOIN reference_students st ON st.tenant = d.tenant AND st.student_period_id = d.student
         WHERE r.n <= ?
         ORDER BY r.tenant, d.student, r.n"
    );
    (sql, params)
}

/// School days looked at: the threshold, and one more for today's records not taken yet.
fn window(settings: &ReportSettings) -> u32 {
    settings.absent_days_in_row.max(1) + 1
}

/// One row of [`absent_days_query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentDay {
    pub tenant: String,
    pub date: String,
    /// 1 for the school's latest school day, 2 for the one before, …
    pub rank: i64,
    /// The school's latest school day.
    pub latest: String,
    pub student_period_id: i64,
    pub name: Option<String>,
    pub absent: bool,
    pub last_ts: i64,
}

/// Decodes one row of [`absent_days_query`].
pub fn student_day<R: ReportRow + ?Sized>(row: &R) -> Result<StudentDay, R::Error> {
    Ok(StudentDay {
        tenant: row.opt_text(0)?.unwrap_or_default(),
        date: row.opt_text(1)?.unwrap_or_default(),
        rank: row.int(2)?,
        latest: row.opt_text(3)?.unwrap_or_default(),
        student_period_id: row.int(4)?,
        name: row.opt_text(5)?,
        absent: row.int(6)? != 0,
        last_ts: row.int(7)?,
    })
}

/// The alerts of the rows of [`absent_days_query`] (in its order): one per student whose run
/// of absent school days reaches the threshold, longest run first.
pub fn absent_days_alerts(
    rows: &[StudentDay],
    today: NaiveDate,
    settings: &ReportSettings,
) -> Vec<Alert> {
    let today = today.format("%Y-%m-%d").to_string();
    let mut found: Vec<(usize, Alert)> = Vec::new();
    for student in
        rows.chunk_by(|a, b| a.tenant == b.tenant && a.student_period_id == b.student_period_id)
    {
        let first = &student[0];
        // Today without a record of the student yet does not end the run.
        let start: i64 = if first.latest == today && first.rank != 1 {
            2
        } else {
            1
        };
        // The student's days from the start, while each is the next school day and absent.
        let run: Vec<&StudentDay> = student
            .iter()
            .zip(start..)
            .take_while(|(day, expected)| day.rank == *expected && day.absent)
            .map(|(day, _)| day)
            .collect();
        if run.len() < settings.absent_days_in_row as usize {
            continue;
        }
        let (latest, earliest) = (run[0], run[run.len() - 1]);
        let who = display_name(latest.name.as_deref(), latest.student_period_id);
        found.push((
            run.len(),
            Alert {
                at: latest.last_ts,
                kind: AlertKind::AbsentDaysInRow,
                tenant: latest.tenant.clone(),
                student_period_id: latest.student_period_id,
                name: latest.name.clone(),
                message: format!(
                    "{who} has been absent on {} school days in a row ({} to {}).",
                    run.len(),
                    short_date(&earliest.date),
                    short_date(&latest.date),
                ),
            },
        ));
    }
    found.sort_by_key(|(run, _)| std::cmp::Reverse(*run));
    found.into_iter().map(|(_, alert)| alert).collect()
}

/// "Mon 2 Nov" for `2026-11-02`.
fn short_date(iso: &str) -> String {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(|d| d.format("%a %-d %b").to_string())
        .unwrap_or_else(|_| iso.to_string())
}

/// [`absent_days_alerts`] on SQLite.
pub fn absent_days_in(
    conn: &Connection,
    scope: &Scope,
    today: NaiveDate,
    settings: &ReportSettings,
) -> rusqlite::Result<Vec<Alert>> {
    let (sql, params) = absent_days_query(scope, today, settings);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut days = Vec::new();
    while let Some(row) = rows.next()? {
        days.push(student_day(row)?);
    }
    Ok(absent_days_alerts(&days, today, settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(rank: i64, date: &str, absent: bool) -> StudentDay {
        StudentDay {
            tenant: "s".into(),
            date: date.into(),
            rank,
            latest: "2026-11-05".into(),
            student_period_id: 4,
            name: Some("María".into()),
            absent,
            last_ts: 100 + rank,
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 5).unwrap()
    }

    #[test]
    fn three_absent_school_days_in_a_row_raise_one_alert() {
        let s = ReportSettings::default();
        let rows = [
            day(1, "2026-11-05", true),
            day(2, "2026-11-04", true),
            day(3, "2026-11-02", true),
            day(4, "2026-10-30", false),
        ];
        let alerts = absent_days_alerts(&rows, today(), &s);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].kind, AlertKind::AbsentDaysInRow);
        assert_eq!(alerts[0].at, 101);
        assert_eq!(
            alerts[0].message,
            "María has been absent on 3 school days in a row (Mon 2 Nov to Thu 5 Nov)."
        );
    }

    #[test]
    fn a_present_day_or_a_school_day_without_records_ends_the_run() {
        let s = ReportSettings::default();
        let present = [
            day(1, "2026-11-05", true),
            day(2, "2026-11-04", false),
            day(3, "2026-11-03", true),
            day(4, "2026-11-02", true),
        ];
        assert!(absent_days_alerts(&present, today(), &s).is_empty());
        let missing = [
            day(1, "2026-11-05", true),
            day(3, "2026-11-03", true),
            day(4, "2026-11-02", true),
        ];
        assert!(absent_days_alerts(&missing, today(), &s).is_empty());
        let two = [day(1, "2026-11-05", true), day(2, "2026-11-04", true)];
        assert!(absent_days_alerts(&two, today(), &s).is_empty());
    }

    #[test]
    fn today_without_records_yet_does_not_end_the_run_but_an_older_gap_does() {
        let s = ReportSettings::default();
        let morning = [
            day(2, "2026-11-04", true),
            day(3, "2026-11-03", true),
            day(4, "2026-11-02", true),
        ];
        assert_eq!(absent_days_alerts(&morning, today(), &s).len(), 1);
        // The school's latest school day was yesterday: a missing day is a real gap.
        let tomorrow = today().succ_opt().unwrap();
        assert!(absent_days_alerts(&morning, tomorrow, &s).is_empty());
    }
}
