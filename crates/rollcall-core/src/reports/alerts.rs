//! Threshold alerts for the office: students absent in several lessons today, students absent
//! several school days in a row (see [`super::absent_days`]), and students at or above the
//! chronic-absence threshold over the current term.

use chrono::NaiveDate;
use rusqlite::Connection;
use serde::Serialize;
use ts_rs::TS;

use super::rows::ReportRow;
use super::summary::{chronic_students, ChronicStudent};
use super::tallies::records_sql;
use super::{ReportQuery, ReportSettings};
use crate::filter::RecordFilter;
use crate::scope::Scope;

/// Ordered as alerts are listed: today's absences, days in a row, chronic absence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// At least [`ReportSettings::absences_per_day`] absences today.
    AbsencesToday,
    /// Absent on at least [`ReportSettings::absent_days_in_row`] school days in a row.
    AbsentDaysInRow,
    /// At or above [`ReportSettings::chronic_threshold`] over the last
    /// [`ReportSettings::term_days`] days.
    Chronic,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// DreamClass's time of the student's latest absence counted (milliseconds).
    pub at: i64,
    pub kind: AlertKind,
    /// The student's school (DreamClass tenant).
    pub tenant: String,
    pub student_period_id: i64,
    /// `None` until the name is known from DreamClass.
    pub name: Option<String>,
    /// A sentence for the office.
    pub message: String,
}

/// The alerts as of `today` (the office's local date): today's first, most absences first;
/// then absent days in a row, longest run first; then chronic absence, highest rate first.
pub fn alerts(
    conn: &Connection,
    today: NaiveDate,
    settings: &ReportSettings,
) -> rusqlite::Result<Vec<Alert>> {
    alerts_in(conn, &Scope::all(), today, settings)
}

/// [`alerts`] about the students of the schools `scope` allows.
pub fn alerts_in(
    conn: &Connection,
    scope: &Scope,
    today: NaiveDate,
    settings: &ReportSettings,
) -> rusqlite::Result<Vec<Alert>> {
    let (sql, params) = absences_today_query(scope, today, settings);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut alerts = Vec::new();
    while let Some(row) = rows.next()? {
        alerts.push(absence_today_alert(row)?);
    }
    alerts.extend(super::absent_days::absent_days_in(
        conn, scope, today, settings,
    )?);
    let term = term_filter(scope, today, settings);
    for student in chronic_students(conn, &term, settings)?.chronic {
        alerts.push(chronic_alert(student, settings));
    }
    Ok(alerts)
}

/// The range chronic absence is alerted over: the last [`ReportSettings::term_days`] days
/// up to `today`.
pub fn term_filter(scope: &Scope, today: NaiveDate, settings: &ReportSettings) -> RecordFilter {
    RecordFilter {
        scope: scope.clone(),
        from: Some(
            (today - chrono::Days::new(u64::from(settings.term_days.max(1)) - 1))
                .format("%Y-%m-%d")
                .to_string(),
        ),
        to: Some(today.format("%Y-%m-%d").to_string()),
        ..Default::default()
    }
}

/// The chronic-absence alert about `student` (one of the summary's chronic students).
pub fn chronic_alert(student: ChronicStudent, settings: &ReportSettings) -> Alert {
    let who = display_name(student.name.as_deref(), student.student_period_id);
    let percent = (student.absent * 200 + student.sessions) / (2 * student.sessions);
    Alert {
        at: student.last_absence_at.unwrap_or_default(),
        kind: AlertKind::Chronic,
        tenant: student.tenant.clone(),
        student_period_id: student.student_period_id,
        message: format!(
            "{who} has been absent in {percent}% of lessons over the last {} days ({} of {}).",
            settings.term_days, student.absent, student.sessions
        ),
        name: student.name,
    }
}

/// Students with at least [`ReportSettings::absences_per_day`] absences on `today`, most
/// first: id, name, absences, the latest absence's time, school. The name is grouped by too
/// (it depends on the id alone), as PostgreSQL asks.
pub fn absences_today_query(
    scope: &Scope,
    today: NaiveDate,
    settings: &ReportSettings,
) -> ReportQuery {
    let day = today.format("%Y-%m-%d").to_string();
    let filter = RecordFilter {
        scope: scope.clone(),
        from: Some(day.clone()),
        to: Some(day),
        ..Default::default()
    };
    let (records, mut params) = records_sql(&filter);
    params.push(i64::from(settings.absences_per_day.max(1)).into());
    let sql = format!(
        "SELECT r.student_period_id, st.name, COUNT(*), MAX(r.event_ts), r.tenant
         FROM ({records}) r
         LEFT JOIN reference_students st ON st.tenant = r.tenant AND st.student_period_id = r.student_period_id
         WHERE r.cat IN (1, 3)
         GROUP BY r.tenant, r.student_period_id, st.name
         HAVING COUNT(*) >= ?
         ORDER BY COUNT(*) DESC, st.name IS NULL, st.name, r.student_period_id, r.tenant"
    );
    (sql, params)
}

/// The alert of one row of [`absences_today_query`].
pub fn absence_today_alert<R: ReportRow + ?Sized>(row: &R) -> Result<Alert, R::Error> {
    let student_period_id = row.int(0)?;
    let name = row.opt_text(1)?;
    let absences = row.int(2)?;
    let who = display_name(name.as_deref(), student_period_id);
    let lessons = if absences == 1 { "lesson" } else { "lessons" };
    Ok(Alert {
        at: row.int(3)?,
        kind: AlertKind::AbsencesToday,
        tenant: row.opt_text(4)?.unwrap_or_default(),
        student_period_id,
        name,
        message: format!("{who} has been absent in {absences} {lessons} today."),
    })
}

pub(super) fn display_name(name: Option<&str>, student_period_id: i64) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => name.to_string(),
        None => format!("Student {student_period_id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn students_without_a_name_are_named_by_number() {
        assert_eq!(display_name(Some("Maria García"), 4), "Maria García");
        assert_eq!(display_name(None, 4512), "Student 4512");
        assert_eq!(display_name(Some("  "), 4512), "Student 4512");
    }
}
