//! `rollcall serve`: both listeners, optionally fed by the built-in demo traffic.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use rollcall_core::config::{self, BasicAuth, FileConfig};
use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_dreamclass::demo::{Demo, DemoTraffic};
use rollcall_dreamclass::ApiConfig;
use rollcall_server::{ServerConfig, WebhookAuth};
use rollcall_tunnel::{BoreConfig, NgrokConfig, ProviderKind, TunnelConfig};
use serde::Deserialize;

#[derive(Args)]
pub struct ServeArgs {
    /// Where the database and settings live [default: the platform's data folder; with
    /// --demo, a separate demo folder inside it].
    #[arg(long, env = "ROLLCALL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The webhook listener (what a tunnel or port-forward exposes) [default: 127.0.0.1:8787].
    #[arg(long, env = "ROLLCALL_WEBHOOK_ADDR")]
    webhook_addr: Option<SocketAddr>,
    /// The local interface and API, never exposed [default: 127.0.0.1:8788].
    #[arg(long, env = "ROLLCALL_UI_ADDR")]
    ui_addr: Option<SocketAddr>,
    /// The Secret set in DreamClass (Settings > Integrations).
    #[arg(
        long = "secret",
        env = "ROLLCALL_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    webhook_secret: Option<String>,
    /// How the secret becomes the signing key: `text` (its own bytes) or `base64` (decoded).
    #[arg(long, env = "ROLLCALL_KEY_ENCODING")]
    key_encoding: Option<KeyEncoding>,
    /// `username:password`, the Username and Password set in DreamClass.
    #[arg(long, env = "ROLLCALL_BASIC_AUTH", hide_env_values = true)]
    basic_auth: Option<String>,
    /// Accept deliveries without a valid signature when no secret is set. Only for trying
    /// Rollcall out: anyone who can reach the listener could then write attendance.
    #[arg(long)]
    allow_unsigned: bool,
    /// The built web UI [default: ui/dist of this checkout, found from the program's place].
    #[arg(long, env = "ROLLCALL_UI_DIR")]
    ui_dir: Option<PathBuf>,
    /// Feed the app a simulated school day (no DreamClass account needed).
    #[arg(long)]
    demo: bool,
    /// With --demo: how many deliveries to send in all.
    #[arg(long, default_value_t = 3000)]
    demo_events: usize,
    /// With --demo: deliveries per second after the first lessons.
    #[arg(long, default_value_t = 2.0)]
    demo_rate: f64,
    /// The DreamClass API address [default: from rollcall.toml, else DreamClass's public API].
    #[arg(long, env = "ROLLCALL_DREAMCLASS_URL")]
    dreamclass_url: Option<String>,
    /// The DreamClass API token (names and recovery of missed changes need it).
    #[arg(long, env = "ROLLCALL_DREAMCLASS_TOKEN", hide_env_values = true)]
    dreamclass_token: Option<String>,
    /// The school's DreamClass domain, e.g. my-school.
    #[arg(long, env = "ROLLCALL_DREAMCLASS_TENANT")]
    dreamclass_tenant: Option<String>,
    /// How DreamClass reaches this computer: ngrok, bore, cloudflare (experimental), manual
    /// (with --public-url) or none [default: from rollcall.toml, else none].
    #[arg(long, env = "ROLLCALL_TUNNEL")]
    tunnel: Option<ProviderKind>,
    /// The bore server (host name), for --tunnel bore.
    #[arg(long, env = "ROLLCALL_BORE_SERVER")]
    bore_server: Option<String>,
    /// The bore server's secret, if it was started with one.
    #[arg(long, env = "ROLLCALL_BORE_SECRET", hide_env_values = true)]
    bore_secret: Option<String>,
    /// The ngrok account's authtoken, for --tunnel ngrok.
    #[arg(long, env = "ROLLCALL_NGROK_AUTHTOKEN", hide_env_values = true)]
    ngrok_authtoken: Option<String>,
    /// A domain reserved in the ngrok account, so the URL stays the same across restarts.
    #[arg(long, env = "ROLLCALL_NGROK_DOMAIN")]
    ngrok_domain: Option<String>,
    /// A public URL you already have that reaches the webhook listener (reverse proxy,
    /// port forward), for --tunnel manual.
    #[arg(long, env = "ROLLCALL_PUBLIC_URL")]
    public_url: Option<String>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let data_dir = match (&args.data_dir, args.demo) {
        (Some(dir), _) => dir.clone(),
        (None, false) => config::default_data_dir(),
        (None, true) => config::default_data_dir().join("demo"),
    };
    let file = FileConfig::load(&data_dir)?;
    let mut secret = args.webhook_secret.clone().or(file.webhook_secret.clone());
    if args.demo && secret.is_none() {
        // The demo signs its traffic like DreamClass does, with a secret made for this run.
        secret = Some(format!("demo-{}", uuid_like()));
    }
    let encoding = args.key_encoding.or(file.key_encoding).unwrap_or_default();
    let key = secret
        .as_deref()
        .map(|s| SigningKey::new(s, encoding))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let basic_auth = args
        .basic_auth
        .clone()
        .or(file.basic_auth.clone())
        .map(|s| s.parse::<BasicAuth>())
        .transpose()?;
    let allow_unsigned = args.allow_unsigned || file.allow_unsigned.unwrap_or(false);
    let mut server_config = ServerConfig::new(data_dir.clone());
    server_config.webhook_addr = args
        .webhook_addr
        .or(file.webhook_addr)
        .unwrap_or(server_config.webhook_addr);
    server_config.ui_addr = args
        .ui_addr
        .or(file.ui_addr)
        .unwrap_or(server_config.ui_addr);
    server_config.auth = WebhookAuth {
        key: key.clone(),
        basic_auth: basic_auth.clone(),
        allow_unsigned,
    };
    server_config.ui_dir = args.ui_dir.clone().or_else(find_ui_dir);
    server_config.notify_status_ids = file.notify_status_ids.clone().unwrap_or_default();

    server_config.dreamclass = dreamclass_config(&args, &file)?;
    server_config.tunnel = tunnel_config(&args, &file)?;
    server_config.last_shown_public_url = file.last_shown_public_url.clone();
    // The demo brings its own DreamClass, serving the same school as its webhooks.
    let demo = if args.demo {
        let demo = Demo::start().await?;
        server_config.dreamclass = demo.api_config();
        Some(demo)
    } else {
        None
    };

    let server = rollcall_server::start(server_config).await?;
    let info = server.info();
    println!("Rollcall is running.");
    println!(
        "  Webhook URL for DreamClass (Settings > Integrations): {}",
        info.webhook_url()
    );
    println!("  Open Rollcall: {}", info.ui_url());
    println!("  Data folder: {}", data_dir.display());
    if key.is_none() && !allow_unsigned {
        println!(
            "  No webhook secret is set, so every delivery is refused. Set the Secret in \
             DreamClass and the same one here (ROLLCALL_WEBHOOK_SECRET or the settings screen)."
        );
    }
    if key.is_none() && allow_unsigned {
        tracing::warn!(
            "UNSIGNED DELIVERIES ARE ACCEPTED: anyone who can reach {} can write attendance. \
             Use this only for trying Rollcall out.",
            info.webhook_url()
        );
    }
    if server.state().info.ui_addr.ip().is_unspecified() || !info.ui_addr.ip().is_loopback() {
        tracing::warn!(
            "the local interface listens beyond this computer ({}); it still needs the key in \
             the printed link",
            info.ui_addr
        );
    }
    let demo_traffic = demo.as_ref().map(|demo| {
        demo.spawn_traffic(DemoTraffic {
            events: args.demo_events,
            rate: args.demo_rate,
            ..DemoTraffic::new(
                info.webhook_url(),
                key.clone(),
                basic_auth.as_ref().map(BasicAuth::header_value),
            )
        })
    });

    wait_for_stop_signal().await;
    println!("Stopping: finishing and saving what has arrived…");
    if let Some(traffic) = demo_traffic {
        traffic.abort();
    }
    server.shutdown().await;
    if let Some(demo) = demo {
        demo.stop().await;
    }
    println!("Stopped. Everything received was saved.");
    Ok(())
}

/// `[dreamclass]` from rollcall.toml, with flags and `ROLLCALL_DREAMCLASS_*` on top.
fn dreamclass_config(args: &ServeArgs, file: &FileConfig) -> anyhow::Result<ApiConfig> {
    let mut config = match &file.dreamclass {
        Some(table) => ApiConfig::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
            anyhow::anyhow!("The [dreamclass] part of rollcall.toml has a mistake: {e}")
        })?,
        None => ApiConfig::default(),
    };
    if let Some(url) = &args.dreamclass_url {
        config.base_url = url.clone();
    }
    if let Some(token) = &args.dreamclass_token {
        config.token = token.clone();
    }
    if let Some(tenant) = &args.dreamclass_tenant {
        config.tenant = tenant.clone();
    }
    Ok(config)
}

/// `[tunnel]` from rollcall.toml, with `--tunnel` and its options on top.
fn tunnel_config(args: &ServeArgs, file: &FileConfig) -> anyhow::Result<TunnelConfig> {
    let saved = match &file.tunnel {
        Some(table) => {
            TunnelConfig::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
                anyhow::anyhow!("The [tunnel] part of rollcall.toml has a mistake: {e}")
            })?
        }
        None => TunnelConfig::None,
    };
    let kind = args.tunnel.unwrap_or(saved.kind());
    let config = match (kind, saved) {
        (ProviderKind::None, _) => TunnelConfig::None,
        (ProviderKind::Manual, saved) => TunnelConfig::Manual {
            public_url: args.public_url.clone().unwrap_or_else(|| match saved {
                TunnelConfig::Manual { public_url } => public_url,
                _ => String::new(),
            }),
        },
        (ProviderKind::Bore, saved) => {
            let saved = match saved {
                TunnelConfig::Bore(b) => b,
                _ => BoreConfig::default(),
            };
            TunnelConfig::Bore(BoreConfig {
                server: args.bore_server.clone().unwrap_or(saved.server),
                port: saved.port,
                secret: args.bore_secret.clone().or(saved.secret),
            })
        }
        (ProviderKind::Ngrok, saved) => {
            let saved = match saved {
                TunnelConfig::Ngrok(n) => n,
                _ => NgrokConfig::default(),
            };
            TunnelConfig::Ngrok(NgrokConfig {
                authtoken: args.ngrok_authtoken.clone().unwrap_or(saved.authtoken),
                domain: args.ngrok_domain.clone().or(saved.domain),
            })
        }
        (ProviderKind::Cloudflare, saved) => match saved {
            TunnelConfig::Cloudflare(c) => TunnelConfig::Cloudflare(c),
            _ => TunnelConfig::Cloudflare(Default::default()),
        },
    };
    config.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(config)
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `ui/dist` of the checkout this program was built in, or `ui` beside the program.
fn find_ui_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let exe_dir = exe.parent()?;
    let candidates = [
        exe_dir.join("ui"),
        // target/<profile>/rollcall → <checkout>/ui/dist
        exe_dir.join("../../ui/dist"),
        // target/<profile>/deps/… (tests) → <checkout>/ui/dist
        exe_dir.join("../../../ui/dist"),
    ];
    candidates
        .into_iter()
        .find(|dir| dir.join("index.html").is_file())
        .and_then(|dir| dir.canonicalize().ok())
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}")
}
