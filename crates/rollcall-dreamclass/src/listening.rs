//! When Rollcall was listening for webhooks, from the async side: this run's listening
//! period and its heartbeat. The periods and gaps are kept by the store
//! (`rollcall_core::store::listening`).

use rollcall_core::store::{Store, StoreError};

pub use rollcall_core::store::Gap;

/// The listening period of this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListeningPeriod {
    pub id: i64,
    pub started_at: i64,
}

impl ListeningPeriod {
    /// Begins a period at `now` (ms since the epoch); returns it and the gap before it, if any.
    pub async fn begin(store: &dyn Store, now: i64) -> Result<(Self, Option<Gap>), StoreError> {
        let (id, gap) = store.begin_listening(now).await?;
        Ok((
            Self {
                id,
                started_at: now,
            },
            gap,
        ))
    }

    /// Call every few seconds while listening: the last beat is where the next gap starts.
    pub async fn heartbeat(&self, store: &dyn Store, now: i64) -> Result<(), StoreError> {
        store.heartbeat(self.id, now).await
    }

    /// Call at shutdown, before the store stops.
    pub async fn end(&self, store: &dyn Store, now: i64) -> Result<(), StoreError> {
        store.end_listening(self.id, now).await
    }
}
