//! `rollcall fake-dreamclass`: the fake DreamClass API for the demo school, on its own.

use std::net::SocketAddr;

use clap::Args;
use rollcall_simulator::FakeDreamClass;

#[derive(Args)]
pub struct FakeArgs {
    #[arg(long, default_value = "127.0.0.1:8790")]
    addr: SocketAddr,
    /// The same seed gives the same school as `rollcall simulate --seed`.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub async fn run(args: FakeArgs) -> anyhow::Result<()> {
    let fake = FakeDreamClass::demo(args.seed);
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let config = fake.api_config(listener.local_addr()?);
    println!("Fake DreamClass API for {} is running.", config.tenant);
    println!("  API address: {}", config.base_url);
    println!("  API token:   {}", config.token);
    println!("  Tenant:      {}", config.tenant);
    rollcall_simulator::fake_dreamclass::serve(listener, fake, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
