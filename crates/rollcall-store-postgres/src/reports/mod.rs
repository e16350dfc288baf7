//! Reports and exports on PostgreSQL. The queries, the numbers' rules and the CSV writing
//! are rollcall-core's (`reports`), shared with SQLite; this folder only runs the queries and
//! hands core each row through [`row::PgRow`], so both backends give the same bytes.
//!
//! - [`summary`], [`alerts`] and [`lessons_not_taken`]: small lists, collected.
//! - [`export`](export::export): streamed row by row into the caller's writer, from one
//!   snapshot (see export.rs).

mod export;
mod row;

use chrono::NaiveDate;
use postgres::Client;
use rollcall_core::filter::RecordFilter;
use rollcall_core::reports::{self, Alert, NotTakenDay, ReportQuery, ReportSettings, Summary};
use rollcall_core::Scope;

use crate::sql::{params, placeholders, refs};

pub use export::export;
use row::PgRow;

/// Every row of a core query, decoded by core's `decode`.
fn collect<T>(
    c: &mut Client,
    (sql, values): ReportQuery,
    decode: impl Fn(&PgRow<'_>) -> Result<T, postgres::Error>,
) -> Result<Vec<T>, postgres::Error> {
    let params = params(values);
    c.query(&placeholders(&sql), &refs(&params))?
        .iter()
        .map(|row| decode(&PgRow(row)))
        .collect()
}

pub fn summary(
    c: &mut Client,
    filter: &RecordFilter,
    settings: &ReportSettings,
) -> Result<Summary, postgres::Error> {
    let judged = chronic_students(c, filter, settings)?;
    Ok(Summary {
        by_class: collect(c, reports::by_class_query(filter), |r| {
            reports::class_rate(r)
        })?,
        by_day: collect(c, reports::by_day_query(filter), |r| {
            reports::day_absences(r)
        })?,
        chronic: judged.chronic,
        threshold: settings.chronic_threshold,
        too_early: judged.too_early,
        min_days: settings.chronic_min_days,
    })
}

fn chronic_students(
    c: &mut Client,
    filter: &RecordFilter,
    settings: &ReportSettings,
) -> Result<reports::Judged, postgres::Error> {
    let verdicts = collect(c, reports::chronic_query(filter), |r| {
        reports::chronic_student(r, settings)
    })?;
    Ok(reports::Judged::of(verdicts))
}

pub fn alerts(
    c: &mut Client,
    scope: &Scope,
    today: NaiveDate,
    settings: &ReportSettings,
) -> Result<Vec<Alert>, postgres::Error> {
    let mut alerts = collect(
        c,
        reports::absences_today_query(scope, today, settings),
        |r| reports::absence_today_alert(r),
    )?;
    let days = collect(c, reports::absent_days_query(scope, today, settings), |r| {
        reports::student_day(r)
    })?;
    alerts.extend(reports::absent_days_alerts(&days, today, settings));
    let term = reports::term_filter(scope, today, settings);
    for student in chronic_students(c, &term, settings)?.chronic {
        alerts.push(reports::chronic_alert(student, settings));
    }
    Ok(alerts)
}

pub fn lessons_not_taken(
    c: &mut Client,
    scope: &Scope,
    day: NaiveDate,
) -> Result<NotTakenDay, postgres::Error> {
    let filter = RecordFilter {
        scope: scope.clone(),
        ..Default::default()
    };
    let lessons = collect(c, reports::not_taken_query(&filter, &[day]), |r| {
        reports::lesson_not_taken(r)
    })?;
    let records = collect(c, reports::day_records_query(scope, day), |r| {
        use rollcall_core::reports::ReportRow;
        r.int(0)
    })?;
    Ok(NotTakenDay {
        date: day.format("%Y-%m-%d").to_string(),
        records: records.first().copied().unwrap_or(0),
        lessons,
    })
}
