//! `rollcall simulate`, and the demo traffic `rollcall serve --demo` sends to itself.

use clap::Args;
use rollcall_core::config::BasicAuth;
use rollcall_core::model::now_ms;
use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_simulator::{plan, send_all, DemoSchool, PlanOptions, SendOptions, DEMO_TENANT};

#[derive(Args)]
pub struct SimulateArgs {
    /// The webhook URL, e.g. http://127.0.0.1:8787/webhooks/dreamclass
    #[arg(long)]
    url: String,
    /// The secret to sign with (as set in Rollcall). Without it, deliveries are unsigned.
    #[arg(long, env = "ROLLCALL_WEBHOOK_SECRET", hide_env_values = true)]
    secret: Option<String>,
    #[arg(long, default_value = "text")]
    key_encoding: KeyEncoding,
    /// `username:password`, if the listener asks for them.
    #[arg(long, env = "ROLLCALL_BASIC_AUTH", hide_env_values = true)]
    basic_auth: Option<String>,
    #[arg(long, default_value = DEMO_TENANT)]
    tenant: String,
    /// Deliveries in all (duplicates and late, out-of-order ones included).
    #[arg(long, default_value_t = 1000)]
    events: usize,
    /// Deliveries per second [default: as fast as the concurrency allows].
    #[arg(long)]
    rate: Option<f64>,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// The same seed gives the same school and the same day.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let key = args
        .secret
        .as_deref()
        .map(|s| SigningKey::new(s, args.key_encoding))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let authorization = args
        .basic_auth
        .as_deref()
        .map(str::parse::<BasicAuth>)
        .transpose()?
        .map(|b| b.header_value());
    let school = DemoSchool::generate(args.seed);
    let plan = plan(
        &school,
        PlanOptions {
            events: args.events,
            seed: args.seed,
            end_ts: now_ms(),
            first_date: chrono::Local::now().date_naive(),
        },
    );
    println!(
        "Sending {} deliveries for {} ({} classes, {} students): {} duplicates, {} late and out of order.",
        plan.deliveries.len(),
        args.tenant,
        school.classes.len(),
        school.students.len(),
        plan.count(rollcall_simulator::DeliveryNote::Duplicate),
        plan.count(rollcall_simulator::DeliveryNote::Stale),
    );
    let report = send_all(
        &plan.deliveries,
        &SendOptions {
            url: args.url,
            tenant: args.tenant,
            key,
            authorization,
            rate: args.rate,
            concurrency: args.concurrency,
            before_send: None,
        },
    )
    .await;
    print!("{}", report.summary());
    let live = plan.expected.values().filter(|r| r.is_some()).count();
    println!(
        "Expected afterwards: {} attendance records ({} deleted).",
        live,
        plan.expected.len() - live
    );
    if report.transport_errors > 0 || report.statuses.keys().any(|s| *s >= 500) {
        anyhow::bail!("some deliveries were not accepted; see above");
    }
    Ok(())
}
