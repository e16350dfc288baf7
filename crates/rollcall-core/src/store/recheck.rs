//! Re-checking deliveries refused for the webhook secret. When the Secret was mistyped,
//! DreamClass's deliveries were refused (401) but their bodies were kept in the delivery log;
//! once the right Secret is entered they can be verified again and applied.
//!
//! The store's part is small: which refused entries are candidates (oldest first, a page at
//! a time) and marking an entry with what its re-check found. Applying goes through
//! [`super::Store::deliver`] like any delivery, so every ordering and duplicate rule holds
//! and a request id is applied once however often it is re-checked or sent again: the
//! `requests` table decides, not the mark.

use rusqlite::{params, Connection, Transaction};
use serde::Serialize;
use ts_rs::TS;

use super::ingest::IngestOutcome;

/// The refusal codes (the start of a rejected entry's `reason`) that a correct Secret can
/// cure: the delivery itself was fine, the key to check it was not.
pub const SECRET_REFUSAL_CODES: [&str; 3] = [
    "signature_invalid",
    "signature_missing",
    "secret_not_configured",
];

/// The SQL condition (shared by both stores) that picks rejected entries refused for the
/// secret and not yet decided by a re-check. `'still_unverified'` stays a candidate: the
/// office may correct the Secret again.
pub const CANDIDATE_CONDITION: &str = "outcome = 'rejected' AND status = 401
       AND (reason LIKE 'signature\\_invalid:%' ESCAPE '\\'
            OR reason LIKE 'signature\\_missing:%' ESCAPE '\\'
            OR reason LIKE 'secret\\_not\\_configured:%' ESCAPE '\\')
       AND (recheck IS NULL OR recheck = 'still_unverified')";

/// Which refused deliveries a re-check looks at: received in `[from, to)` (either end
/// open), with a log sequence above `after_seq` (the page before ended there).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecheckRange {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub after_seq: i64,
}

impl RecheckRange {
    /// The bounds as SQL parameters: open ends become the widest values.
    pub fn bounds(&self) -> (i64, i64, i64) {
        (
            self.after_seq,
            self.from.unwrap_or(i64::MIN),
            self.to.unwrap_or(i64::MAX),
        )
    }
}

/// A refused delivery as the log kept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptRefusal {
    /// Its delivery log sequence number.
    pub seq: i64,
    pub received_at: i64,
    pub request_id: Option<String>,
    pub reason: Option<String>,
    /// The body as kept (the first [`super::ingest::CAPPED_BODY_BYTES`] of it).
    pub body: Vec<u8>,
    /// The size of the body as received.
    pub body_bytes: i64,
    /// The school whose URL it was sent to; `None`: the single school's URL.
    pub school: Option<String>,
}

impl KeptRefusal {
    /// Whether the whole body was kept: a cut body cannot be applied.
    pub fn body_kept_whole(&self) -> bool {
        !self.body.is_empty() && self.body.len() as i64 == self.body_bytes
    }
}

/// One page of candidates, oldest first, and how many more match after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefusedForSecret {
    pub deliveries: Vec<KeptRefusal>,
    pub more: u64,
}

/// What re-checking one refused delivery found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RecheckResult {
    /// It verifies now and changed the stored record.
    Applied,
    /// It verifies now; the same request had already been received (a DreamClass retry, or
    /// an earlier re-check).
    Duplicate,
    /// It verifies now, but a newer version of its record is stored.
    Superseded,
    /// It verifies now and was stored; it is not attendance (names, other events).
    Ignored,
    /// It verifies now, but its request id was received with other content.
    Conflict,
    /// Its signature still does not match the current Secret.
    StillUnverified,
    /// It verifies now, but another check refuses it (a field, a timestamp in the future).
    Refused,
    /// Only the start of its body was kept, so it cannot be checked.
    BodyNotKept,
}

impl RecheckResult {
    pub const ALL: [RecheckResult; 8] = [
        Self::Applied,
        Self::Duplicate,
        Self::Superseded,
        Self::Ignored,
        Self::Conflict,
        Self::StillUnverified,
        Self::Refused,
        Self::BodyNotKept,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Superseded => "superseded",
            Self::Ignored => "ignored",
            Self::Conflict => "conflict",
            Self::StillUnverified => "still_unverified",
            Self::Refused => "refused",
            Self::BodyNotKept => "body_not_kept",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// What a delivery that verifies now became when it was stored.
    pub fn of_stored(outcome: &IngestOutcome) -> Self {
        match outcome {
            IngestOutcome::Applied(_) => Self::Applied,
            IngestOutcome::Duplicate => Self::Duplicate,
            IngestOutcome::Superseded => Self::Superseded,
            IngestOutcome::Ignored => Self::Ignored,
            IngestOutcome::Conflict => Self::Conflict,
        }
    }
}

/// One page of candidates, oldest first (`?1` after this sequence, `?2`..`?3` the time
/// range, `?4` the page size); both stores run this text.
pub fn page_sql() -> String {
    format!(
        "SELECT seq, received_at, request_id, reason, body, body_bytes, school FROM deliveries
         WHERE {CANDIDATE_CONDITION} AND seq > ?1 AND received_at >= ?2 AND received_at < ?3
         ORDER BY seq LIMIT ?4"
    )
}

/// How many candidates follow a page (`?1` its last sequence, `?2`..`?3` the time range).
pub fn more_sql() -> String {
    format!(
        "SELECT COUNT(*) FROM deliveries
         WHERE {CANDIDATE_CONDITION} AND seq > ?1 AND received_at >= ?2 AND received_at < ?3"
    )
}

/// Reads one page of candidates and counts the rest (SQLite).
pub fn refused_for_secret(
    conn: &Connection,
    range: RecheckRange,
    limit: usize,
) -> rusqlite::Result<RefusedForSecret> {
    let (after, from, to) = range.bounds();
    let deliveries: Vec<KeptRefusal> = conn
        .prepare_cached(&page_sql())?
        .query_map(params![after, from, to, limit as i64], |r| {
            Ok(KeptRefusal {
                seq: r.get(0)?,
                received_at: r.get(1)?,
                request_id: r.get(2)?,
                reason: r.get(3)?,
                body: r.get::<_, Option<Vec<u8>>>(4)?.unwrap_or_default(),
                body_bytes: r.get(5)?,
                school: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let last = deliveries.last().map_or(after, |d| d.seq);
    let more: i64 = conn
        .prepare_cached(&more_sql())?
        .query_row(params![last, from, to], |r| r.get(0))?;
    Ok(RefusedForSecret {
        deliveries,
        more: more as u64,
    })
}

/// The SQL that marks one candidate (shared by both stores; `?1` the time, `?2` the result,
/// `?3` the sequence). An entry a re-check already decided keeps its first result.
pub const MARK_SQL: &str = "UPDATE deliveries SET rechecked_at = ?1, recheck = ?2
     WHERE seq = ?3 AND outcome = 'rejected'
       AND (recheck IS NULL OR recheck = 'still_unverified')";

/// Marks refused entries with what their re-check found; returns how many were marked.
pub fn mark_rechecked(
    tx: &Transaction<'_>,
    marks: &[(i64, RecheckResult)],
    now: i64,
) -> rusqlite::Result<usize> {
    let mut stmt = tx.prepare_cached(MARK_SQL)?;
    let mut marked = 0;
    for (seq, result) in marks {
        marked += stmt.execute(params![now, result.as_str(), seq])?;
    }
    Ok(marked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_condition_names_every_secret_refusal_code() {
        for code in SECRET_REFUSAL_CODES {
            assert!(
                CANDIDATE_CONDITION.contains(&code.replace('_', "\\_")),
                "{code} is missing from the candidate condition"
            );
        }
    }

    #[test]
    fn results_round_trip_through_their_names() {
        for result in RecheckResult::ALL {
            assert_eq!(RecheckResult::parse(result.as_str()), Some(result));
        }
        assert!(CANDIDATE_CONDITION.contains(RecheckResult::StillUnverified.as_str()));
    }
}
