//! A token bucket that caps how fast Rollcall calls DreamClass, whatever asks at once (name
//! refreshes, recovery, "Test connection").

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    bucket: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// `per_second` requests on average, up to `burst` at once. `None` when `per_second` is not
    /// positive: no cap.
    pub fn new(per_second: f64, burst: u32) -> Option<Self> {
        if !(per_second > 0.0 && per_second.is_finite()) {
            return None;
        }
        let burst = f64::from(burst.max(1));
        Some(Self {
            per_second,
            burst,
            bucket: Mutex::new(Bucket {
                tokens: burst,
                last: Instant::now(),
            }),
        })
    }

    /// Waits for a token. Waiters are served in arrival order: the lock is fair and is held
    /// while waiting, so a later caller cannot overtake an earlier one.
    pub async fn acquire(&self) {
        let mut bucket = self.bucket.lock().await;
        loop {
            let now = Instant::now();
            let elapsed = now.duration_since(bucket.last).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
            bucket.last = now;
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                return;
            }
            let wait = (1.0 - bucket.tokens) / self.per_second;
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_then_waiting() {
        // One token per thousand seconds: after the burst, the next one is far away.
        let limiter = RateLimiter::new(0.001, 3).unwrap();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        let fourth = tokio::time::timeout(Duration::from_millis(200), limiter.acquire()).await;
        assert!(
            fourth.is_err(),
            "a fourth request went out within the burst of three"
        );
        assert!(RateLimiter::new(0.0, 3).is_none());
        assert!(RateLimiter::new(f64::NAN, 3).is_none());
    }
}
