//! Purging raw deliveries older than the retention period, at start and every few hours.
//! Attendance, the change log and the request ids (duplicate detection) are kept.

use std::time::Duration;

use rollcall_core::model::now_ms;

use crate::state::AppState;

/// A year of raw deliveries is kept unless the office chooses otherwise.
pub const DEFAULT_DAYS: u32 = crate::settings::DEFAULT_RETENTION_DAYS;
const EVERY: Duration = Duration::from_secs(6 * 3600);
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Purges now unless another server sharing the database holds the retention lease (it
/// purges for everyone).
async fn purge_if_ours(state: &AppState) -> Result<usize, rollcall_core::store::StoreError> {
    let lease_ms = 2 * EVERY.as_millis() as i64;
    if !state.store.take_lease("retention", lease_ms).await? {
        tracing::debug!("another server purges old deliveries");
        return Ok(0);
    }
    purge_now(state).await
}

/// Purges once now (if a period is set) and returns how many deliveries were deleted.
pub async fn purge_now(state: &AppState) -> Result<usize, rollcall_core::store::StoreError> {
    let days = state.settings.with(|s| s.delivery_retention_days);
    if days == 0 {
        return Ok(0);
    }
    let cutoff = now_ms() - i64::from(days) * DAY_MS;
    let purged = state.store.purge_deliveries_before(cutoff).await?;
    if purged > 0 {
        tracing::info!(
            purged,
            days,
            "raw deliveries older than the retention period deleted"
        );
    }
    Ok(purged)
}

pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut stopping = state.stopping.clone();
        loop {
            if let Err(e) = purge_if_ours(&state).await {
                tracing::warn!(error = %e, "old deliveries could not be purged; trying later");
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = stopping.wait_for(|stop| *stop) => return,
            }
        }
    });
}
