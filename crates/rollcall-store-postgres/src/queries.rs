//! Reads of attendance, the change log and the delivery log. The filter conditions and column
//! lists are rollcall-core's, shared with SQLite (`store::queries`); rows are decoded here.

use std::collections::BTreeMap;

use postgres::{Client, Row};

use rollcall_core::filter::RecordFilter;
use rollcall_core::model::{AttendanceRow, Change, ChangeSource, DeliveryOutcome, DeliveryRow};
use rollcall_core::store::counters::{outcome_counter, LAST_ACCEPTED_AT};
use rollcall_core::store::queries::CHANGE_COLUMNS;
use rollcall_core::store::recheck::RecheckResult;
use rollcall_core::store::{BoardGroup, BoardGrouping};
use rollcall_core::Scope;

use crate::sql::{params, placeholders, refs, where_clause};

/// Every change above `$1`, oldest first, at most `$2`: what the live feed publishes.
pub const CHANGES_AFTER: &str = "SELECT seq, recorded_at, source, request_id, event_type, \
    event_ts, tenant, attendance_id, date, kind, class_id, course_id, student_period_id, \
    status_before, status_after, comment_before, comment_after \
    FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2";

pub fn change_from_row(r: &Row) -> Change {
    Change {
        seq: r.get(0),
        recorded_at: r.get(1),
        source: ChangeSource::parse(r.get(2)),
        request_id: r.get(3),
        event_type: r.get(4),
        event_ts: r.get(5),
        tenant: r.get(6),
        attendance_id: r.get(7),
        date: r.get(8),
        kind: r.get(9),
        class_id: r.get(10),
        course_id: r.get(11),
        student_period_id: r.get(12),
        status_before: r.get(13),
        status_after: r.get(14),
        comment_before: r.get(15),
        comment_after: r.get(16),
    }
}

pub fn attendance_from_row(r: &Row) -> AttendanceRow {
    AttendanceRow {
        tenant: r.get(0),
        attendance_id: r.get(1),
        date: r.get(2),
        kind: r.get(3),
        class_id: r.get(4),
        course_id: r.get(5),
        status_id: r.get(6),
        student_period_id: r.get(7),
        comment: r.get(8),
        deleted: r.get::<_, i64>(9) != 0,
        event_ts: r.get(10),
        request_id: r.get(11),
        last_seq: r.get(12),
    }
}

fn changes_where(
    c: &mut Client,
    filter: &RecordFilter,
    seq_condition: &str,
    seq: i64,
    order: &str,
    limit: usize,
) -> Result<Vec<Change>, postgres::Error> {
    let (conds, mut values) = filter.conditions("", "status_after");
    values.push(seq.into());
    values.push((limit as i64).into());
    let sql = placeholders(&format!(
        "SELECT {CHANGE_COLUMNS} FROM changes {} ORDER BY seq {order} LIMIT ?",
        where_clause(&conds, &[seq_condition])
    ));
    let params = params(values);
    Ok(c.query(&sql, &refs(&params))?
        .iter()
        .map(change_from_row)
        .collect())
}

pub fn changes_after(
    c: &mut Client,
    after: i64,
    limit: usize,
    filter: &RecordFilter,
) -> Result<Vec<Change>, postgres::Error> {
    changes_where(c, filter, "seq > ?", after, "", limit)
}

pub fn latest_changes(
    c: &mut Client,
    before: Option<i64>,
    limit: usize,
    filter: &RecordFilter,
) -> Result<Vec<Change>, postgres::Error> {
    changes_where(
        c,
        filter,
        "seq < ?",
        before.unwrap_or(i64::MAX),
        "DESC",
        limit,
    )
}

pub fn last_change_seq(c: &mut Client, scope: &Scope) -> Result<i64, postgres::Error> {
    let (conds, values) = RecordFilter::default().within(scope).conditions("", "");
    let sql = placeholders(&format!(
        "SELECT COALESCE(MAX(seq), 0) FROM changes {}",
        where_clause(&conds, &[])
    ));
    let params = params(values);
    Ok(c.query_one(&sql, &refs(&params))?.get(0))
}

pub fn attendance(
    c: &mut Client,
    filter: &RecordFilter,
    include_deleted: bool,
    limit: usize,
) -> Result<Vec<AttendanceRow>, postgres::Error> {
    let (sql, mut values) =
        rollcall_core::store::queries::attendance_query(filter, include_deleted);
    values.push((limit as i64).into());
    let sql = placeholders(&format!("{sql} LIMIT ?"));
    let params = params(values);
    Ok(c.query(&sql, &refs(&params))?
        .iter()
        .map(attendance_from_row)
        .collect())
}

pub fn record_history(
    c: &mut Client,
    tenant: &str,
    attendance_id: i64,
) -> Result<Vec<Change>, postgres::Error> {
    let sql = format!(
        "SELECT {CHANGE_COLUMNS} FROM changes WHERE tenant = $1 AND attendance_id = $2 ORDER BY seq"
    );
    Ok(c.query(&sql, &[&tenant, &attendance_id])?
        .iter()
        .map(change_from_row)
        .collect())
}

pub fn board(
    c: &mut Client,
    scope: &Scope,
    date: &str,
    by: BoardGrouping,
) -> Result<Vec<BoardGroup>, postgres::Error> {
    let column = match by {
        BoardGrouping::Class => "class_id",
        BoardGrouping::Course => "course_id",
    };
    let day = RecordFilter {
        date: Some(date.to_string()),
        ..Default::default()
    };
    let (conds, values) = day.within(scope).conditions("", "status_id");
    let sql = placeholders(&format!(
        "SELECT {column}, status_id, COUNT(*), MAX(event_ts) FROM attendance
         {} GROUP BY {column}, status_id ORDER BY {column}",
        where_clause(&conds, &["deleted = 0"])
    ));
    let params = params(values);
    let mut groups: Vec<BoardGroup> = Vec::new();
    for r in c.query(&sql, &refs(&params))? {
        let (id, status, count, last): (i64, i64, i64, i64) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        if groups.last().is_none_or(|g| g.id != id) {
            groups.push(BoardGroup {
                id,
                total: 0,
                counts: BTreeMap::new(),
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

fn delivery_from_row(r: &Row) -> DeliveryRow {
    let outcome: &str = r.get(5);
    let body: Option<Vec<u8>> = r.get(8);
    DeliveryRow {
        seq: r.get(0),
        received_at: r.get(1),
        request_id: r.get(2),
        event_type: r.get(3),
        tenant: r.get(4),
        outcome: DeliveryOutcome::parse(outcome).unwrap_or(DeliveryOutcome::Rejected),
        status: r.get::<_, i64>(6) as u16,
        reason: r.get(7),
        body: body.map(|b| String::from_utf8_lossy(&b).into_owned()),
        body_bytes: r.get(9),
        rechecked_at: r.get(10),
        recheck: r
            .get::<_, Option<String>>(11)
            .as_deref()
            .and_then(RecheckResult::parse),
    }
}

pub fn deliveries(
    c: &mut Client,
    scope: &Scope,
    outcome: Option<DeliveryOutcome>,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<DeliveryRow>, postgres::Error> {
    let (conds, mut values) = RecordFilter::default().within(scope).conditions("", "");
    let outcome: Option<String> = outcome.map(|o| o.as_str().to_string());
    values.extend([
        outcome.clone().into(),
        outcome.into(),
        before.unwrap_or(i64::MAX).into(),
        (limit as i64).into(),
    ]);
    // `?::text` so PostgreSQL knows the type of a parameter that may be NULL.
    let sql = placeholders(&format!(
        "SELECT seq, received_at, request_id, event_type, tenant, outcome, status, reason, body,
                body_bytes, rechecked_at, recheck
         FROM deliveries
         {}
         ORDER BY seq DESC LIMIT ?",
        where_clause(&conds, &["(?::text IS NULL OR outcome = ?)", "seq < ?"])
    ));
    let params = params(values);
    Ok(c.query(&sql, &refs(&params))?
        .iter()
        .map(delivery_from_row)
        .collect())
}

pub fn delivery_counts(c: &mut Client) -> Result<Vec<(DeliveryOutcome, i64)>, postgres::Error> {
    let mut counts = Vec::new();
    for outcome in DeliveryOutcome::ALL {
        let n = counter(c, &outcome_counter(outcome))?;
        if n != 0 {
            counts.push((outcome, n));
        }
    }
    Ok(counts)
}

pub fn last_delivery_at(c: &mut Client) -> Result<Option<i64>, postgres::Error> {
    let at = counter(c, LAST_ACCEPTED_AT)?;
    Ok((at > 0).then_some(at))
}

fn counter(c: &mut Client, name: &str) -> Result<i64, postgres::Error> {
    Ok(
        c.query_opt("SELECT value FROM counters WHERE name = $1", &[&name])?
            .map(|r| r.get(0))
            .unwrap_or(0),
    )
}
