//! Re-checking deliveries refused for the webhook secret, on PostgreSQL: the same SQL text
//! as SQLite's (rollcall-core's `store::recheck`), numbered for PostgreSQL.

use postgres::Client;
use rollcall_core::store::recheck::{self, KeptRefusal, RecheckRange, RecheckResult};
use rollcall_core::store::RefusedForSecret;

use crate::sql::placeholders;
use crate::write_tx::WriteTx;

pub fn refused_for_secret(
    c: &mut Client,
    range: RecheckRange,
    limit: usize,
) -> Result<RefusedForSecret, postgres::Error> {
    let (after, from, to) = range.bounds();
    let deliveries: Vec<KeptRefusal> = c
        .query(
            &placeholders(&recheck::page_sql()),
            &[&after, &from, &to, &(limit as i64)],
        )?
        .iter()
        .map(|r| KeptRefusal {
            seq: r.get(0),
            received_at: r.get(1),
            request_id: r.get(2),
            reason: r.get(3),
            body: r.get::<_, Option<Vec<u8>>>(4).unwrap_or_default(),
            body_bytes: r.get(5),
            school: r.get(6),
        })
        .collect();
    let last = deliveries.last().map_or(after, |d| d.seq);
    let more: i64 = c
        .query_one(&placeholders(&recheck::more_sql()), &[&last, &from, &to])?
        .get(0);
    Ok(RefusedForSecret {
        deliveries,
        more: more as u64,
    })
}

pub fn mark_rechecked(
    tx: &mut WriteTx<'_>,
    marks: &[(i64, RecheckResult)],
    now: i64,
) -> Result<usize, postgres::Error> {
    let statement = tx.tx.prepare(&placeholders(recheck::MARK_SQL))?;
    let mut marked = 0;
    for (seq, result) in marks {
        marked += tx.tx.execute(&statement, &[&now, &result.as_str(), seq])? as usize;
    }
    Ok(marked)
}
