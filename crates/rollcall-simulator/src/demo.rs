//! The demo: a fake DreamClass for the demo school on loopback, and a simulated school day of
//! signed webhooks that keeps the fake in step, so a new user sees live attendance with real
//! names, and "Check for missed changes" works, without a DreamClass account.
//!
//! Used by `rollcall serve --demo` and the desktop app's demo mode.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rollcall_core::model::now_ms;
use rollcall_core::SigningKey;
use rollcall_dreamclass::ApiConfig;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::fake_dreamclass::{self, FakeDreamClass};
use crate::{plan, send_all, PlanOptions, SendOptions};

/// The demo school's seed: the same school every time.
pub const DEMO_SEED: u64 = 1;

/// A running fake DreamClass for the demo school.
pub struct Demo {
    fake: FakeDreamClass,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
}

/// How the demo traffic is sent.
#[derive(Clone)]
pub struct DemoTraffic {
    /// The app's own webhook URL.
    pub url: String,
    pub key: Option<SigningKey>,
    /// `Authorization` header value when the listener asks for Basic credentials.
    pub authorization: Option<String>,
    /// Deliveries in all.
    pub events: usize,
    /// The first lessons of the day, sent at once.
    pub burst: usize,
    /// Deliveries per second after the burst.
    pub rate: f64,
    /// A pause before the first delivery, so a window can show the rows arriving.
    pub start_delay: Duration,
}

impl DemoTraffic {
    pub fn new(url: String, key: Option<SigningKey>, authorization: Option<String>) -> Self {
        Self {
            url,
            key,
            authorization,
            events: 3000,
            burst: 400,
            rate: 2.0,
            start_delay: Duration::from_millis(800),
        }
    }
}

impl Demo {
    /// Starts the fake DreamClass API on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let fake = FakeDreamClass::demo(DEMO_SEED);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopping) = watch::channel(false);
        let server = tokio::spawn({
            let fake = fake.clone();
            async move {
                let shutdown = async move {
                    let _ = stopping.wait_for(|s| *s).await;
                };
                if let Err(e) = fake_dreamclass::serve(listener, fake, shutdown).await {
                    tracing::warn!(error = %e, "the demo DreamClass stopped");
                }
            }
        });
        Ok(Self {
            fake,
            addr,
            stop,
            server,
        })
    }

    /// The API settings that reach the demo's DreamClass.
    pub fn api_config(&self) -> ApiConfig {
        self.fake.api_config(self.addr)
    }

    /// Sends a school day to the app, keeping the fake DreamClass in step with what was sent.
    pub fn spawn_traffic(&self, traffic: DemoTraffic) -> JoinHandle<()> {
        let fake = self.fake.clone();
        tokio::spawn(async move {
            tokio::time::sleep(traffic.start_delay).await;
            let school = fake.school().clone();
            let plan = plan(
                &school,
                PlanOptions {
                    events: traffic.events,
                    seed: now_ms() as u64,
                    end_ts: now_ms(),
                    first_date: chrono::Local::now().date_naive(),
                },
            );
            let teacher = fake.clone();
            let options = SendOptions {
                url: traffic.url,
                tenant: school.tenant.clone(),
                key: traffic.key,
                authorization: traffic.authorization,
                rate: None,
                concurrency: 4,
                before_send: Some(Arc::new(move |body: &[u8]| {
                    teacher.apply_webhook_body(body);
                })),
            };
            let burst = plan.deliveries.len().min(traffic.burst);
            let first = send_all(&plan.deliveries[..burst], &options).await;
            tracing::info!(
                sent = first.sent,
                accepted = first.ok(),
                "demo: first lessons sent"
            );
            let trickle = SendOptions {
                rate: Some(traffic.rate),
                concurrency: 1,
                ..options
            };
            let rest = send_all(&plan.deliveries[burst..], &trickle).await;
            tracing::info!(
                sent = rest.sent,
                accepted = rest.ok(),
                "demo: school day finished"
            );
        })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
    }
}
