//! `ROLLCALL_DEMO=1`: the app feeds itself a simulated school day through its own webhook
//! listener, like `rollcall serve --demo`, so it can be tried without a DreamClass account.
//!
//! The same as the CLI's `demo_traffic` (crates/rollcall-cli/src/simulate.rs), which lives in a
//! binary crate; both should call one function in rollcall-simulator.

use std::time::Duration;

use rollcall_core::model::now_ms;
use rollcall_core::SigningKey;
use rollcall_simulator::{plan, send_all, DemoSchool, PlanOptions, SendOptions, DEMO_TENANT};

const EVENTS: usize = 3000;
/// Deliveries per second after the first lessons.
const RATE: f64 = 2.0;
/// The first lessons of the day, sent at once.
const BURST: usize = 400;

pub async fn traffic(url: String, key: Option<SigningKey>, authorization: Option<String>) {
    // Let the window load the interface first, so the rows are seen arriving.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let school = DemoSchool::generate(1);
    let plan = plan(
        &school,
        PlanOptions {
            events: EVENTS,
            seed: now_ms() as u64,
            end_ts: now_ms(),
            first_date: chrono::Local::now().date_naive(),
        },
    );
    let burst = plan.deliveries.len().min(BURST);
    let options = SendOptions {
        url,
        tenant: DEMO_TENANT.to_string(),
        key,
        authorization,
        rate: None,
        concurrency: 4,
        before_send: None,
    };
    let first = send_all(&plan.deliveries[..burst], &options).await;
    tracing::info!(
        sent = first.sent,
        accepted = first.ok(),
        "demo: first lessons sent"
    );
    let trickle = SendOptions {
        rate: Some(RATE),
        concurrency: 1,
        ..options
    };
    let rest = send_all(&plan.deliveries[burst..], &trickle).await;
    tracing::info!(
        sent = rest.sent,
        accepted = rest.ok(),
        "demo: school day finished"
    );
}
