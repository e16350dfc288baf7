//! Telling that the computer slept: while it is suspended, the wall clock moves on but the
//! monotonic clock (which timers use) does not, so after waking the wall clock is ahead of
//! what the monotonic clock says has passed. Such a jump is a gap in listening: webhooks sent
//! meanwhile were missed, and the public address may have gone away.
//!
//! Invariant: a jump is only reported when the wall clock ran ahead by more than
//! [`WakeDetector::threshold`]; a slow or busy machine (both clocks move together) never is.

use std::time::Duration;

use tokio::time::Instant;

/// Compares the two clocks at each observation.
#[derive(Debug, Clone, Copy)]
pub struct WakeDetector {
    threshold: Duration,
    last_wall_ms: i64,
    last_mono: Instant,
}

impl WakeDetector {
    /// Starts from the clocks' readings now.
    pub fn new(threshold: Duration, wall_ms: i64, mono: Instant) -> Self {
        Self {
            threshold,
            last_wall_ms: wall_ms,
            last_mono: mono,
        }
    }

    /// How far ahead the wall clock must run to count as a sleep.
    pub fn threshold(&self) -> Duration {
        self.threshold
    }

    /// Records the clocks' readings now; returns how long the computer slept since the last
    /// observation, if the wall clock ran ahead by more than the threshold. A wall clock set
    /// back is not a sleep.
    pub fn observe(&mut self, wall_ms: i64, mono: Instant) -> Option<Duration> {
        let wall = wall_ms - self.last_wall_ms;
        let monotonic = mono.saturating_duration_since(self.last_mono).as_millis() as i64;
        self.last_wall_ms = wall_ms;
        self.last_mono = mono;
        let ahead = wall - monotonic;
        (ahead > self.threshold.as_millis() as i64).then(|| Duration::from_millis(ahead as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_wall_clock_running_ahead_is_a_sleep() {
        let start = Instant::now();
        let mut d = WakeDetector::new(Duration::from_secs(30), 1_000_000, start);
        // 15 s by both clocks: awake, however slow the beat was.
        let t = start + Duration::from_secs(15);
        assert_eq!(d.observe(1_015_000, t), None);
        // 15 s by the monotonic clock, 10 minutes by the wall clock: asleep for 9 min 45 s.
        let t2 = t + Duration::from_secs(15);
        assert_eq!(
            d.observe(1_015_000 + 600_000, t2),
            Some(Duration::from_secs(585))
        );
        // A little drift is not a sleep, nor a wall clock set back.
        let t3 = t2 + Duration::from_secs(15);
        assert_eq!(d.observe(1_615_000 + 25_000, t3), None);
        assert_eq!(d.observe(1_000_000, t3 + Duration::from_secs(1)), None);
    }
}
