//! Sign-in attempts per address: at most so many a minute, so nobody can try passwords as
//! fast as the network allows. Kept in memory per server; the lock-out of an account after
//! wrong passwords is in the database and holds across servers. Behind a proxy every
//! attempt comes from the proxy's address, so the limit is then the whole server's.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; beyond, the oldest windows are forgotten first.
const MAX_ADDRESSES: usize = 10_000;

pub struct Throttle {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Throttle {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `from`; `Err` with the wait when the minute's allowance is used.
    pub fn attempt(&self, from: IpAddr) -> Result<(), Duration> {
        self.attempt_at(from, Instant::now())
    }

    fn attempt_at(&self, from: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut windows = self.windows.lock().expect("throttle lock");
        if windows.len() >= MAX_ADDRESSES {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(from).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            (*start, *count) = (now, 0);
        }
        if *count >= self.per_minute {
            return Err(WINDOW.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_allowance_per_minute() {
        let throttle = Throttle::new(3);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(throttle.attempt_at(a, t0).is_ok());
        }
        let wait = throttle
            .attempt_at(a, t0 + Duration::from_secs(20))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(40));
        assert!(
            throttle.attempt_at(b, t0).is_ok(),
            "another address has its own"
        );
        assert!(throttle.attempt_at(a, t0 + WINDOW).is_ok(), "a new minute");
    }
}
