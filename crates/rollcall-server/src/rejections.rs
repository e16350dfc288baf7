//! The delivery log's record of refused deliveries, bounded so that a flood cannot crowd out
//! valid deliveries.
//!
//! Every refusal is written to the store's delivery log one by one while they come at a
//! normal pace (a burst of [`BURST`], then [`PER_SECOND`] a second). Beyond that, refusals
//! are counted per status and reason, and each such count is written once a second as one
//! summary entry whose reason says how many deliveries it stands for and that only their
//! count was kept. A forged flood then costs the store a few writes a second instead of one
//! per request, so valid deliveries do not wait behind them in the writer's queue, and the
//! running totals still count every refusal.
//!
//! Under a flood, the answers themselves wait [`FLOOD_ANSWER_DELAY`] (see [`answer_delay`]):
//! a sender that waits for each answer before sending again, as scripts and load tools do, then
//! sends at most one request per connection every 50 ms, and the CPU it would have taken stays
//! with valid deliveries, which never wait. Measured with the ingest benchmark: the p99 of
//! valid deliveries beside 20,000 forged ones at concurrency 64 was 4 to 6 times their p99
//! alone without the pause, about 1.1 times with it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rollcall_core::store::{RejectedDelivery, SharedStore};

use crate::limits::ConnectionSlots;

/// Refusals logged one by one in a burst, before the rate below applies.
pub const BURST: f64 = 200.0;
/// Refusals logged one by one per second under a sustained flood.
pub const PER_SECOND: f64 = 50.0;
/// How often the counted refusals are written as summaries.
const SUMMARY_EVERY: Duration = Duration::from_secs(1);
/// How long the answer to a refusal counted in a flood waits.
pub const FLOOD_ANSWER_DELAY: Duration = Duration::from_millis(50);

/// How [`RejectionLog::log`] kept a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    /// As its own entry: refusals come at a normal pace.
    OneByOne,
    /// Counted for the next summary: this is a flood.
    InFlood,
}

/// How long to wait before answering a refusal logged as `logged`: [`FLOOD_ANSWER_DELAY`] in
/// a flood, while at least half of the listener's connection slots are free. A waiting answer
/// holds its connection, so with slots scarce (a flood from many connections at once) the
/// answer goes at once and frees its slot for a valid delivery.
pub fn answer_delay(logged: Logged, slots: Option<&ConnectionSlots>) -> Option<Duration> {
    (logged == Logged::InFlood && slots.is_some_and(ConnectionSlots::plentiful))
        .then_some(FLOOD_ANSWER_DELAY)
}

/// A cheap, cloneable handle.
#[derive(Clone)]
pub struct RejectionLog {
    store: SharedStore,
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    /// Individual entries still allowed (a token bucket refilled at [`PER_SECOND`]).
    allowance: f64,
    refilled_at: Instant,
    /// Refusals counted since the last summary, by (status, reason).
    counted: BTreeMap<(u16, String), Counted>,
    /// Whether a task will write the summaries.
    summary_due: bool,
}

struct Counted {
    count: u64,
    first_at: i64,
    last_at: i64,
}

impl RejectionLog {
    pub fn new(store: SharedStore) -> Self {
        Self {
            store,
            inner: Arc::new(Mutex::new(Inner {
                allowance: BURST,
                refilled_at: Instant::now(),
                counted: BTreeMap::new(),
                summary_due: false,
            })),
        }
    }

    /// Logs `rejected` on its own, or counts it for the next summary under a flood.
    pub fn log(&self, rejected: RejectedDelivery) -> Logged {
        let spawn_summary = {
            let mut inner = self.inner.lock().expect("rejection log lock");
            let now = Instant::now();
            let refill = now.duration_since(inner.refilled_at).as_secs_f64() * PER_SECOND;
            inner.allowance = (inner.allowance + refill).min(BURST);
            inner.refilled_at = now;
            if inner.allowance >= 1.0 {
                inner.allowance -= 1.0;
                None
            } else {
                let counted = inner
                    .counted
                    .entry((rejected.status, rejected.reason.clone()))
                    .or_insert(Counted {
                        count: 0,
                        first_at: rejected.received_at,
                        last_at: rejected.received_at,
                    });
                counted.count += rejected.count;
                counted.first_at = counted.first_at.min(rejected.received_at);
                counted.last_at = counted.last_at.max(rejected.received_at);
                let spawn = !inner.summary_due;
                inner.summary_due = true;
                Some(spawn)
            }
        };
        match spawn_summary {
            None => {
                tracing::warn!(
                    status = rejected.status,
                    reason = %rejected.reason,
                    "webhook delivery rejected"
                );
                self.store.log_rejected(rejected);
                Logged::OneByOne
            }
            Some(true) => {
                let this = self.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(SUMMARY_EVERY).await;
                    this.write_summaries();
                });
                Logged::InFlood
            }
            Some(false) => Logged::InFlood,
        }
    }

    /// Writes what was counted as summary entries now (also at shutdown, before the store
    /// stops).
    pub fn write_summaries(&self) {
        let counted = {
            let mut inner = self.inner.lock().expect("rejection log lock");
            inner.summary_due = false;
            std::mem::take(&mut inner.counted)
        };
        for ((status, reason), c) in counted {
            tracing::warn!(
                status,
                count = c.count,
                %reason,
                "webhook deliveries rejected in a flood; counted, not logged one by one"
            );
            self.store.log_rejected(summary(status, &reason, &c));
        }
    }
}

fn summary(status: u16, reason: &str, c: &Counted) -> RejectedDelivery {
    let deliveries = if c.count == 1 {
        "1 delivery".to_string()
    } else {
        format!("{} deliveries", c.count)
    };
    RejectedDelivery {
        received_at: c.first_at,
        request_id: None,
        status,
        reason: format!(
            "{reason} Summary of a flood: {deliveries} refused this way within {:.1} s were \
             counted, not kept one by one.",
            (c.last_at - c.first_at) as f64 / 1000.0
        ),
        body: Vec::new(),
        // A summary stands for refusals at any URL; it has no body to re-check.
        school: None,
        count: c.count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::Semaphore;

    /// Slots of a listener with `max` of them, `busy` in use.
    fn slots(max: usize, busy: usize) -> (ConnectionSlots, Vec<tokio::sync::OwnedSemaphorePermit>) {
        let permits = Arc::new(Semaphore::new(max));
        let held = (0..busy)
            .map(|_| permits.clone().try_acquire_owned().unwrap())
            .collect();
        (ConnectionSlots::new(permits, max), held)
    }

    #[test]
    fn only_a_flood_waits_and_only_while_slots_are_plentiful() {
        let (free, _held) = slots(256, 64);
        assert_eq!(
            answer_delay(Logged::InFlood, Some(&free)),
            Some(FLOOD_ANSWER_DELAY)
        );
        assert_eq!(answer_delay(Logged::OneByOne, Some(&free)), None);

        let (half, _held) = slots(256, 128);
        assert!(half.plentiful(), "half free still counts as plentiful");
        let (scarce, _held) = slots(256, 129);
        assert_eq!(
            answer_delay(Logged::InFlood, Some(&scarce)),
            None,
            "with slots scarce the answer goes at once and frees its slot"
        );
        assert_eq!(
            answer_delay(Logged::InFlood, None),
            None,
            "a router served without limits never holds a connection on purpose"
        );
    }
}
