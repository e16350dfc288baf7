//! How long to wait before reconnecting: exponential, capped, with jitter so that many
//! offices behind one bore server do not all reconnect in the same instant after it restarts.

use std::time::Duration;

use rand::Rng;

/// Delays between reconnect attempts. Attempt `n` waits `initial * 2^(n-1)`, capped at `max`,
/// then shortened by a random fraction up to `jitter`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReconnectPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// Between 0.0 (no jitter) and 1.0 (anywhere from 0 to the full delay).
    pub jitter: f64,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
            jitter: 0.5,
        }
    }
}

impl ReconnectPolicy {
    /// Short delays for tests and local development.
    pub fn fast() -> Self {
        Self {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(500),
            jitter: 0.5,
        }
    }

    /// The delay before attempt `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let base = self.initial.saturating_mul(1u32 << exponent).min(self.max);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 {
            return base;
        }
        let cut = rand::rng().random_range(0.0..jitter);
        base.mul_f64(1.0 - cut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stop_at_the_cap() {
        let policy = ReconnectPolicy {
            jitter: 0.0,
            ..ReconnectPolicy::default()
        };
        let secs: Vec<u64> = (1..=8).map(|n| policy.delay(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(policy.delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn jitter_only_shortens_within_its_fraction() {
        let policy = ReconnectPolicy::default();
        let mut seen_different = false;
        for _ in 0..200 {
            let delay = policy.delay(10);
            assert!(delay <= Duration::from_secs(30), "{delay:?}");
            assert!(delay >= Duration::from_secs(15), "{delay:?}");
            seen_different |= delay != Duration::from_secs(30);
        }
        assert!(seen_different, "jitter never changed the delay");
    }
}
