//! The live feed on every server: one thread holds its own connection with
//! `LISTEN rollcall_changes` and publishes every committed change, from any server, to this
//! server's subscribers, in `seq` order and exactly once.
//!
//! The notification is only the wake-up; the change log is the truth. On each wake-up, on
//! every reconnect and on a slow safety poll, it reads `seq > high` in order and publishes,
//! so a lost notification (a dropped connection, a restarted database) delays a change but
//! never loses it. Because `seq` is commit-ordered (see [`crate::writer::WRITE_LOCK`]), a
//! change read once is never followed by a lower one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;
use tokio::sync::{broadcast, watch};

use rollcall_core::model::Change;

use crate::connect::{describe, DatabaseUrl};
use crate::queries::{change_from_row, CHANGES_AFTER};
use crate::writer::CHANNEL;

/// How long the listener waits for a notification before reading anyway.
const SAFETY_POLL: Duration = Duration::from_secs(2);
/// How many changes one read publishes at most before reading again.
const PAGE: i64 = 1000;
/// Waits between attempts to reach a database that is down.
const RECONNECT: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

pub struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    /// Starts publishing every change above `high` (the newest seq when the store opened).
    pub fn start(
        url: DatabaseUrl,
        high: i64,
        changes: broadcast::Sender<Arc<Change>>,
        published: watch::Sender<i64>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut follower = Follower {
            url,
            high,
            changes,
            published,
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("rollcall-pg-listener".into())
            .spawn(move || follower.run())?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread (within one safety poll).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

struct Follower {
    url: DatabaseUrl,
    high: i64,
    changes: broadcast::Sender<Arc<Change>>,
    /// The newest seq published so far, for writers that answer once their change is out.
    published: watch::Sender<i64>,
    stop: Arc<AtomicBool>,
}

impl Follower {
    fn run(&mut self) {
        let mut failures = 0usize;
        while !self.stop.load(Ordering::Relaxed) {
            match self.follow() {
                Ok(()) => return,
                Err(e) => {
                    let wait = RECONNECT[failures.min(RECONNECT.len() - 1)];
                    if failures == 0 {
                        tracing::warn!(error = %describe(&e), "the live feed lost the database; reconnecting");
                    }
                    failures += 1;
                    std::thread::sleep(wait);
                }
            }
        }
    }

    /// Listens on one connection until it fails (`Err`) or the store stops (`Ok`).
    fn follow(&mut self) -> Result<(), postgres::Error> {
        let mut client = self.url.connect_raw()?;
        client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
        tracing::debug!(high = self.high, "live feed listening");
        let after = client.prepare(CHANGES_AFTER)?;
        // Whatever committed while we were away comes first.
        self.catch_up(&mut client, &after)?;
        while !self.stop.load(Ordering::Relaxed) {
            {
                // A notification, or the safety poll's time, whichever comes first.
                let mut notifications = client.notifications();
                let _woken = notifications.timeout_iter(SAFETY_POLL).next()?;
                // Several commits may have notified meanwhile: one read serves them all.
                let mut pending = notifications.iter();
                while pending.next()?.is_some() {}
            }
            self.catch_up(&mut client, &after)?;
        }
        Ok(())
    }

    fn catch_up(
        &mut self,
        client: &mut Client,
        after: &postgres::Statement,
    ) -> Result<(), postgres::Error> {
        loop {
            let rows = client.query(after, &[&self.high, &PAGE])?;
            let n = rows.len() as i64;
            for row in rows {
                let change = change_from_row(&row);
                self.high = change.seq;
                // No subscriber is not an error: the change log is the source of truth.
                let _ = self.changes.send(Arc::new(change));
            }
            self.published.send_if_modified(|published| {
                let moved = *published < self.high;
                *published = self.high;
                moved
            });
            if n < PAGE {
                return Ok(());
            }
        }
    }
}
