//! "Re-check with the current secret": after the Secret was mistyped, DreamClass's
//! deliveries were refused (401) and their bodies kept in the delivery log. Once the right
//! Secret is in force, this verifies them again with the listener's own checks
//! ([`crate::webhook::check_body`], against each delivery's original arrival time) and stores
//! those that pass through [`crate::webhook::store_checked`], the listener's own path: the
//! ordering rule, duplicates and conflicts decide exactly as for a new delivery, a request
//! DreamClass already sent again is a duplicate (applied once), and a re-applied delivery
//! keeps its original `received_at`. Each refused entry is then marked with what was found.
//!
//! Work is bounded: [`RECHECK_LIMIT`] refused deliveries per run, oldest first; the report
//! says how many remain and where the next run continues. One run at a time.

use axum::http::StatusCode;
use rollcall_core::model::now_ms;
use rollcall_core::store::ingest::CAPPED_BODY_BYTES;
use rollcall_core::store::recheck::SECRET_REFUSAL_CODES;
use rollcall_core::store::{KeptRefusal, RecheckRange, RecheckResult};
use serde::Serialize;
use ts_rs::TS;

use crate::error::ApiError;
use crate::state::AppState;
use crate::webhook::{check_body, no_receiver, store_checked};

/// The most refused deliveries one run re-checks.
pub const RECHECK_LIMIT: usize = 200;

/// What one refused delivery's re-check found.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RecheckedDelivery {
    /// The refused entry's sequence in the delivery log.
    pub seq: i64,
    pub received_at: i64,
    pub request_id: Option<String>,
    pub result: RecheckResult,
    pub message: String,
}

/// `POST /api/deliveries/recheck`: each delivery re-checked, in log order, and what is left.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RecheckReport {
    pub results: Vec<RecheckedDelivery>,
    /// Refused deliveries in the chosen range still to re-check after this run.
    pub more: u64,
    /// Where the next run continues (send it back as `afterSeq`); `None` when none remain.
    pub next_after_seq: Option<i64>,
    /// One sentence for the screen.
    pub summary: String,
}

/// Re-checks one page of refused deliveries in `range` with the Secret in force now.
pub async fn recheck(state: &AppState, range: RecheckRange) -> Result<RecheckReport, ApiError> {
    let _one_at_a_time = state.rechecking.lock().await;
    let settings = state.settings.current();
    if !settings.some_receiver_checks() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "secret_not_configured",
            "Enter the Secret from DreamClass (Settings > Integrations) first; the refused \
             deliveries are checked again with it.",
        ));
    }
    let page = state.store.refused_for_secret(range, RECHECK_LIMIT).await?;
    let mut results = Vec::with_capacity(page.deliveries.len());
    let mut failure = None;
    for kept in &page.deliveries {
        // Each refusal is checked with the secret of the school whose URL it was sent to.
        let auth = settings
            .receiver(kept.school.as_deref())
            .map_err(|why| no_receiver(why, kept.school.as_deref()));
        match recheck_one(state, auth, kept).await {
            Ok((result, message)) => results.push(RecheckedDelivery {
                seq: kept.seq,
                received_at: kept.received_at,
                request_id: kept.request_id.clone(),
                result,
                message,
            }),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    // What was decided is marked even when storage failed part-way.
    let marks: Vec<_> = results.iter().map(|r| (r.seq, r.result)).collect();
    if !marks.is_empty() {
        state.store.mark_rechecked(marks, now_ms()).await?;
    }
    if let Some(e) = failure {
        return Err(e.into());
    }
    let more = page.more;
    let next_after_seq = results.last().map(|r| r.seq).filter(|_| more > 0);
    let summary = summary(&results, more);
    Ok(RecheckReport {
        results,
        more,
        next_after_seq,
        summary,
    })
}

async fn recheck_one(
    state: &AppState,
    auth: Result<crate::settings::WebhookAuth, crate::webhook::Refusal>,
    kept: &KeptRefusal,
) -> Result<(RecheckResult, String), rollcall_core::store::StoreError> {
    let auth = match auth {
        Ok(auth) => auth,
        // Its school was removed (or the single school's URL now has several): nothing
        // could verify it; it stays on offer.
        Err(refusal) => {
            return Ok((
                RecheckResult::StillUnverified,
                refusal.message().to_string(),
            ))
        }
    };
    if !kept.body_kept_whole() {
        return Ok((
            RecheckResult::BodyNotKept,
            format!(
                "Only the first {} KiB of this delivery ({} bytes) were kept, so it cannot be \
                 checked again. Ask DreamClass to send it again, or use \"Check for missed \
                 changes\".",
                CAPPED_BODY_BYTES / 1024,
                kept.body_bytes
            ),
        ));
    }
    let checked = match check_body(&auth, &state.limits, &kept.body, kept.received_at) {
        Ok(checked) => checked,
        Err(refusal) if SECRET_REFUSAL_CODES.contains(&refusal.code()) => {
            return Ok((
                RecheckResult::StillUnverified,
                refusal.message().to_string(),
            ))
        }
        Err(refusal) => return Ok((RecheckResult::Refused, refusal.message().to_string())),
    };
    let outcome = store_checked(state, checked).await?;
    let result = RecheckResult::of_stored(&outcome);
    Ok((result, sentence(result).to_string()))
}

/// What a delivery that verifies now became, for people.
fn sentence(result: RecheckResult) -> &'static str {
    match result {
        RecheckResult::Applied => "It verifies with the current Secret and was applied.",
        RecheckResult::Duplicate => {
            "It verifies, but this request had already been received (DreamClass sent it again, \
             or an earlier re-check applied it); nothing was applied twice."
        }
        RecheckResult::Superseded => {
            "It verifies, but a newer version of this attendance record is stored; nothing \
             changed."
        }
        RecheckResult::Ignored => "It verifies and was stored; it is not an attendance change.",
        RecheckResult::Conflict => {
            "It verifies, but this request id was received with other content: it was refused \
             and flagged as suspicious."
        }
        RecheckResult::StillUnverified => "It still does not verify with the current Secret.",
        RecheckResult::Refused => "It verifies, but another check refuses it.",
        RecheckResult::BodyNotKept => "Its body was not kept whole.",
    }
}

/// "Re-checked 5 refused deliveries: 3 applied, 2 still do not verify." and what remains.
pub fn summary(results: &[RecheckedDelivery], more: u64) -> String {
    if results.is_empty() {
        return "No refused delivery in this range is waiting for a re-check.".to_string();
    }
    let parts: Vec<String> = RecheckResult::ALL
        .into_iter()
        .filter_map(|kind| {
            let n = results.iter().filter(|r| r.result == kind).count();
            (n > 0).then(|| format!("{n} {}", phrase(kind, n)))
        })
        .collect();
    let noun = if results.len() == 1 {
        "delivery"
    } else {
        "deliveries"
    };
    let mut text = format!(
        "Re-checked {} refused {noun}: {}.",
        results.len(),
        parts.join(", ")
    );
    if more > 0 {
        text.push_str(&format!(
            " {more} more wait; re-check again to continue (at most {RECHECK_LIMIT} at a time)."
        ));
    }
    text
}

fn phrase(kind: RecheckResult, n: usize) -> &'static str {
    match kind {
        RecheckResult::Applied => "applied",
        RecheckResult::Duplicate => "already received",
        RecheckResult::Superseded => "older than the stored version",
        RecheckResult::Ignored => "stored (not attendance)",
        RecheckResult::Conflict => "in conflict with another delivery",
        RecheckResult::StillUnverified if n == 1 => "still does not verify",
        RecheckResult::StillUnverified => "still do not verify",
        RecheckResult::Refused => "refused by another check",
        RecheckResult::BodyNotKept => "not kept whole",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(result: RecheckResult) -> RecheckedDelivery {
        RecheckedDelivery {
            seq: 1,
            received_at: 1,
            request_id: None,
            result,
            message: String::new(),
        }
    }

    #[test]
    fn the_summary_counts_each_result_and_says_what_remains() {
        let results = [
            done(RecheckResult::Applied),
            done(RecheckResult::Applied),
            done(RecheckResult::StillUnverified),
        ];
        assert_eq!(
            summary(&results, 0),
            "Re-checked 3 refused deliveries: 2 applied, 1 still does not verify."
        );
        assert!(summary(&results, 7)
            .ends_with("7 more wait; re-check again to continue (at most 200 at a time)."));
        assert_eq!(
            summary(&[], 0),
            "No refused delivery in this range is waiting for a re-check."
        );
    }
}
