//! Read-only queries behind the local API, the live stream's catch-up and the exports.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row};
use ts_rs::TS;

use crate::filter::RecordFilter;
use crate::scope::Scope;

use super::recheck::RecheckResult;
use crate::model::{AttendanceRow, Change, ChangeSource, DeliveryOutcome, DeliveryRow};

fn where_clause(conds: &[String], extra: &[&str]) -> String {
    let all: Vec<&str> = conds
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .collect();
    if all.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", all.join(" AND "))
    }
}

pub const CHANGE_COLUMNS: &str = "seq, recorded_at, source, request_id, event_type, event_ts, \
    tenant, attendance_id, date, kind, class_id, course_id, student_period_id, status_before, \
    status_after, comment_before, comment_after";

pub fn change_from_row(r: &Row<'_>) -> rusqlite::Result<Change> {
    Ok(Change {
        seq: r.get(0)?,
        recorded_at: r.get(1)?,
        source: ChangeSource::parse(&r.get::<_, String>(2)?),
        request_id: r.get(3)?,
        event_type: r.get(4)?,
        event_ts: r.get(5)?,
        tenant: r.get(6)?,
        attendance_id: r.get(7)?,
        date: r.get(8)?,
        kind: r.get(9)?,
        class_id: r.get(10)?,
        course_id: r.get(11)?,
        student_period_id: r.get(12)?,
        status_before: r.get(13)?,
        status_after: r.get(14)?,
        comment_before: r.get(15)?,
        comment_after: r.get(16)?,
    })
}

/// Changes with a sequence number above `after`, oldest first.
pub fn changes_after(
    conn: &Connection,
    after: i64,
    limit: usize,
    filter: &RecordFilter,
) -> rusqlite::Result<Vec<Change>> {
    let (conds, mut params) = filter.conditions("", "status_after");
    params.push(after.into());
    params.push((limit as i64).into());
    let sql = format!(
        "SELECT {CHANGE_COLUMNS} FROM changes {} ORDER BY seq LIMIT ?",
        where_clause(&conds, &["seq > ?"])
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), change_from_row)?;
    rows.collect()
}

/// The newest changes (sequence below `before`, if given), newest first.
pub fn latest_changes(
    conn: &Connection,
    before: Option<i64>,
    limit: usize,
    filter: &RecordFilter,
) -> rusqlite::Result<Vec<Change>> {
    let (conds, mut params) = filter.conditions("", "status_after");
    params.push(before.unwrap_or(i64::MAX).into());
    params.push((limit as i64).into());
    let sql = format!(
        "SELECT {CHANGE_COLUMNS} FROM changes {} ORDER BY seq DESC LIMIT ?",
        where_clause(&conds, &["seq < ?"])
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), change_from_row)?;
    rows.collect()
}

/// The highest change sequence number stored (0 when none).
pub fn last_change_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
        r.get(0)
    })
}

/// [`last_change_seq`] among the changes `scope` allows.
pub fn last_change_seq_in(conn: &Connection, scope: &Scope) -> rusqlite::Result<i64> {
    if scope.tenant_list().is_none() {
        return last_change_seq(conn);
    }
    let (conds, params) = RecordFilter::default().within(scope).conditions("", "");
    let sql = format!(
        "SELECT COALESCE(MAX(seq), 0) FROM changes {}",
        where_clause(&conds, &[])
    );
    conn.query_row(&sql, rusqlite::params_from_iter(params), |r| r.get(0))
}

pub const ATTENDANCE_COLUMNS: &str = "tenant, attendance_id, date, kind, class_id, course_id, \
    status_id, student_period_id, comment, deleted, event_ts, request_id, last_seq";

pub fn attendance_from_row(r: &Row<'_>) -> rusqlite::Result<AttendanceRow> {
    Ok(AttendanceRow {
        tenant: r.get(0)?,
        attendance_id: r.get(1)?,
        date: r.get(2)?,
        kind: r.get(3)?,
        class_id: r.get(4)?,
        course_id: r.get(5)?,
        status_id: r.get(6)?,
        student_period_id: r.get(7)?,
        comment: r.get(8)?,
        deleted: r.get(9)?,
        event_ts: r.get(10)?,
        request_id: r.get(11)?,
        last_seq: r.get(12)?,
    })
}

/// The SQL and parameters selecting current attendance records, for queries and exports.
pub fn attendance_query(filter: &RecordFilter, include_deleted: bool) -> (String, Vec<SqlValue>) {
    let (conds, params) = filter.conditions("", "status_id");
    let extra: &[&str] = if include_deleted {
        &[]
    } else {
        &["deleted = 0"]
    };
    let sql = format!(
        "SELECT {ATTENDANCE_COLUMNS} FROM attendance {} ORDER BY date, class_id, course_id, \
         student_period_id, attendance_id",
        where_clause(&conds, extra)
    );
    (sql, params)
}

/// Current attendance records matching `filter`, at most `limit`.
pub fn attendance(
    conn: &Connection,
    filter: &RecordFilter,
    include_deleted: bool,
    limit: usize,
) -> rusqlite::Result<Vec<AttendanceRow>> {
    let (sql, mut params) = attendance_query(filter, include_deleted);
    let sql = format!("{sql} LIMIT ?");
    params.push((limit as i64).into());
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), attendance_from_row)?;
    rows.collect()
}

/// Every change of one attendance record, oldest first: its audit trail.
pub fn record_history(
    conn: &Connection,
    tenant: &str,
    attendance_id: i64,
) -> rusqlite::Result<Vec<Change>> {
    let sql = format!(
        "SELECT {CHANGE_COLUMNS} FROM changes WHERE tenant = ?1 AND attendance_id = ?2 ORDER BY seq"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params![tenant, attendance_id], change_from_row)?;
    rows.collect()
}

fn delivery_from_row(r: &Row<'_>) -> rusqlite::Result<DeliveryRow> {
    let outcome: String = r.get(5)?;
    let body: Option<Vec<u8>> = r.get(8)?;
    Ok(DeliveryRow {
        seq: r.get(0)?,
        received_at: r.get(1)?,
        request_id: r.get(2)?,
        event_type: r.get(3)?,
        tenant: r.get(4)?,
        outcome: DeliveryOutcome::parse(&outcome).unwrap_or(DeliveryOutcome::Rejected),
        status: r.get(6)?,
        reason: r.get(7)?,
        body: body.map(|b| String::from_utf8_lossy(&b).into_owned()),
        body_bytes: r.get(9)?,
        rechecked_at: r.get(10)?,
        recheck: r
            .get::<_, Option<String>>(11)?
            .as_deref()
            .and_then(RecheckResult::parse),
    })
}

/// The delivery log, newest first, optionally one outcome only, below sequence `before`.
pub fn deliveries(
    conn: &Connection,
    outcome: Option<DeliveryOutcome>,
    before: Option<i64>,
    limit: usize,
) -> rusqlite::Result<Vec<DeliveryRow>> {
    deliveries_in(conn, &Scope::all(), outcome, before, limit)
}

/// [`deliveries`] of the tenants `scope` allows (a delivery without a tenant, refused before
/// its school was known, only in [`Scope::all`]).
pub fn deliveries_in(
    conn: &Connection,
    scope: &Scope,
    outcome: Option<DeliveryOutcome>,
    before: Option<i64>,
    limit: usize,
) -> rusqlite::Result<Vec<DeliveryRow>> {
    // Parameters in the order of the WHERE clause: the scope's, then the extra conditions'.
    let (conds, mut params) = RecordFilter::default().within(scope).conditions("", "");
    let outcome: SqlValue = outcome.map(|o| o.as_str().to_string()).into();
    params.extend([outcome.clone(), outcome, before.unwrap_or(i64::MAX).into()]);
    params.push((limit as i64).into());
    let sql = format!(
        "SELECT seq, received_at, request_id, event_type, tenant, outcome, status, reason, body,
                body_bytes, rechecked_at, recheck
         FROM deliveries
         {}
         ORDER BY seq DESC LIMIT ?",
        where_clause(&conds, &["(? IS NULL OR outcome = ?)", "seq < ?"])
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), delivery_from_row)?;
    rows.collect()
}

/// How many deliveries of each outcome were received (running totals; the log itself is
/// capped and purged).
pub fn delivery_counts(conn: &Connection) -> rusqlite::Result<Vec<(DeliveryOutcome, i64)>> {
    DeliveryOutcome::ALL
        .into_iter()
        .map(|o| {
            Ok((
                o,
                super::counters::get(conn, &super::counters::outcome_counter(o))?,
            ))
        })
        .filter(|r| !matches!(r, Ok((_, 0))))
        .collect()
}

/// The time of the newest delivery that was not rejected, if any.
pub fn last_delivery_at(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    let at = super::counters::get(conn, super::counters::LAST_ACCEPTED_AT)?;
    Ok((at > 0).then_some(at))
}

/// Counts of current (not deleted) records on one day, grouped by class or by course.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BoardGroup {
    pub id: i64,
    pub total: i64,
    /// status id → number of records.
    pub counts: std::collections::BTreeMap<i64, i64>,
    /// The newest DreamClass event time among them.
    pub last_update: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardGrouping {
    Class,
    Course,
}

pub fn board(
    conn: &Connection,
    date: &str,
    by: BoardGrouping,
) -> rusqlite::Result<Vec<BoardGroup>> {
    board_in(conn, &Scope::all(), date, by)
}

/// [`board`] over the tenants `scope` allows.
pub fn board_in(
    conn: &Connection,
    scope: &Scope,
    date: &str,
    by: BoardGrouping,
) -> rusqlite::Result<Vec<BoardGroup>> {
    let column = match by {
        BoardGrouping::Class => "class_id",
        BoardGrouping::Course => "course_id",
    };
    let day = RecordFilter {
        date: Some(date.to_string()),
        ..Default::default()
    };
    let (conds, params) = day.within(scope).conditions("", "status_id");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {column}, status_id, COUNT(*), MAX(event_ts) FROM attendance
         {} GROUP BY {column}, status_id ORDER BY {column}",
        where_clause(&conds, &["deleted = 0"])
    ))?;
    let mut groups: Vec<BoardGroup> = Vec::new();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    while let Some(r) = rows.next()? {
        let (id, status, count, last): (i64, i64, i64, i64) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        if groups.last().is_none_or(|g| g.id != id) {
            groups.push(BoardGroup {
                id,
                total: 0,
                counts: Default::default(),
                last_update: 0,
            });
        }
        let group = groups.last_mut().expect("pushed above");
        group.total += count;
        group.counts.insert(status, count);
        group.last_update = group.last_update.max(last);
    }
    Ok(groups)
}
