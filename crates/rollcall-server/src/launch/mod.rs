//! Starting Rollcall as `rollcall serve` and the desktop app do: [`LaunchOptions`] (in
//! `options.rs`) turns what the person chose into a [`ServerConfig`](crate::ServerConfig),
//! and [`launch`] starts the server from it, with the demo's fake DreamClass and simulated
//! school day when asked.

mod options;

use std::path::PathBuf;

use rollcall_simulator::demo::{Demo, DemoTraffic};
use tokio::task::JoinHandle;

pub use crate::settings::KeptSecrets;
use crate::{RunningServer, ServerConfig};
pub use options::{LaunchOptions, OpenIdOptions};

/// How fast the demo's simulated school day goes.
#[derive(Debug, Clone, Copy)]
pub struct DemoPace {
    /// Deliveries in all.
    pub events: usize,
    /// Deliveries per second after the first lessons.
    pub rate: f64,
}

impl Default for DemoPace {
    fn default() -> Self {
        Self {
            events: 3000,
            rate: 2.0,
        }
    }
}

/// The running server and, for the demo, its fake DreamClass and simulated traffic.
pub struct Launched {
    pub server: RunningServer,
    demo: Option<(Demo, JoinHandle<()>)>,
}

/// Starts the server for `config`. With `demo`, a fake DreamClass for the demo school comes
/// first (the server reads names from it) and a simulated school day, signed with the
/// server's own secret, is then sent to the server's webhook listener. The error is a
/// sentence for the person starting Rollcall.
pub async fn launch(mut config: ServerConfig, demo: Option<DemoPace>) -> Result<Launched, String> {
    let demo_school = match demo {
        Some(_) => {
            let school = Demo::start()
                .await
                .map_err(|e| format!("The demo could not start its DreamClass ({e})."))?;
            config.settings.dreamclass = school.api_config();
            Some(school)
        }
        None => None,
    };
    let server = match crate::start(config).await {
        Ok(server) => server,
        Err(e) => {
            if let Some(school) = demo_school {
                school.stop().await;
            }
            return Err(e.to_string());
        }
    };
    let demo = demo_school.zip(demo).map(|(school, pace)| {
        let auth = server.state().webhook_auth();
        let traffic = school.spawn_traffic(DemoTraffic {
            events: pace.events,
            rate: pace.rate,
            ..DemoTraffic::new(
                server.info().webhook_url(),
                auth.key,
                auth.basic_auth.map(|b| b.header_value()),
            )
        });
        (school, traffic)
    });
    Ok(Launched { server, demo })
}

impl Launched {
    /// Stops the demo traffic, then the listeners (everything received is committed), then
    /// the demo's DreamClass.
    pub async fn shutdown(self) {
        if let Some((_, traffic)) = &self.demo {
            traffic.abort();
        }
        self.server.shutdown().await;
        if let Some((school, _)) = self.demo {
            school.stop().await;
        }
    }
}

/// The built web UI: `ui` beside the program (an installed app), or `ui/dist` of the checkout
/// a development build was made in (`target/<profile>/<program>`, or `…/deps/` for tests).
pub fn find_ui_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let exe_dir = exe.parent()?;
    [
        exe_dir.join("ui"),
        exe_dir.join("../../ui/dist"),
        exe_dir.join("../../../ui/dist"),
    ]
    .into_iter()
    .find(|dir| dir.join("index.html").is_file())
    .and_then(|dir| dir.canonicalize().ok())
}
