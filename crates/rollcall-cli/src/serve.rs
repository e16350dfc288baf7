//! `rollcall serve`: both listeners, optionally fed by the built-in demo traffic.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use rollcall_core::KeyEncoding;
use rollcall_server::launch::{launch, DemoPace, KeptSecrets, LaunchOptions, OpenIdOptions};
use rollcall_tunnel::ProviderKind;

#[derive(Args)]
pub struct ServeArgs {
    /// Where the database and settings live [default: the platform's data folder; with
    /// --demo, a separate demo folder inside it].
    #[arg(long, env = "ROLLCALL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// A district server's PostgreSQL database, e.g. postgres://rollcall@db.example.org/rollcall
    /// (several `rollcall serve` may share it) [default: SQLite in the data folder].
    #[arg(
        long = "database",
        env = "ROLLCALL_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Show this Rollcall server's attendance instead of receiving webhooks, e.g.
    /// https://rollcall.district.org:8788: no webhook listener, no tunnel; a copy is kept in
    /// the data folder [default data folder: a separate viewer folder].
    #[arg(long, env = "ROLLCALL_VIEWER_OF", conflicts_with = "demo")]
    viewer_of: Option<String>,
    /// With --viewer-of: the SHA-256 fingerprint of the server's certificate when it made its
    /// own (the server prints it when it starts) [default: only certificates of public
    /// authorities are trusted].
    #[arg(long, env = "ROLLCALL_VIEWER_CERTIFICATE", requires = "viewer_of")]
    viewer_certificate: Option<String>,
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
    /// Every page and API call needs a signed-in person, even on 127.0.0.1 (behind the
    /// district's HTTPS server). Always so when --ui-addr is beyond this computer.
    #[arg(long, env = "ROLLCALL_REQUIRE_SIGN_IN")]
    require_sign_in: bool,
    /// Let other computers open Rollcall over plain HTTP (--ui-addr 0.0.0.0:8788 on a network
    /// the school trusts). Without it, Rollcall listens beyond this computer only behind HTTPS.
    #[arg(long, env = "ROLLCALL_ALLOW_PLAIN_HTTP")]
    allow_plain_http: bool,
    /// How long a sign-in lasts, e.g. 12h, 90m [default: 12h].
    #[arg(long, env = "ROLLCALL_SESSION_LENGTH")]
    session_length: Option<String>,
    /// The interface's HTTPS certificate chain, PEM [default beyond this computer: one
    /// Rollcall makes itself and keeps in the data folder].
    #[arg(long, env = "ROLLCALL_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert, PEM.
    #[arg(long, env = "ROLLCALL_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// People may also sign in with this OpenID Connect provider: https://accounts.google.com
    /// for Google Workspace, https://login.microsoftonline.com/TENANT-ID/v2.0 for Microsoft
    /// Entra.
    #[arg(long, env = "ROLLCALL_OPENID_ISSUER")]
    openid_issuer: Option<String>,
    /// The client ID the provider gave Rollcall.
    #[arg(long, env = "ROLLCALL_OPENID_CLIENT_ID")]
    openid_client_id: Option<String>,
    /// The client secret the provider gave Rollcall.
    #[arg(long, env = "ROLLCALL_OPENID_CLIENT_SECRET", hide_env_values = true)]
    openid_client_secret: Option<String>,
    /// What the button says after "Sign in with" [default: Google or Microsoft, from the
    /// issuer].
    #[arg(long, env = "ROLLCALL_OPENID_NAME")]
    openid_name: Option<String>,
    /// The address registered with the provider for Rollcall's answer [default: this
    /// Rollcall's address as the browser reached it, /api/sign-in/openid/callback].
    #[arg(long, env = "ROLLCALL_OPENID_REDIRECT_URL")]
    openid_redirect_url: Option<String>,
    /// Who may sign in without an account made beforehand, as domain=role or
    /// domain=role:school,school (e.g. north.example.org=staff:north); repeat it, or separate
    /// rules with ; in the variable. People with an account of their e-mail address always
    /// may.
    #[arg(long, env = "ROLLCALL_OPENID_ALLOW", value_delimiter = ';')]
    openid_allow: Vec<String>,
}

impl ServeArgs {
    fn launch_options(&self) -> LaunchOptions {
        LaunchOptions {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            demo: self.demo,
            viewer_of: self.viewer_of.clone(),
            viewer_certificate: self.viewer_certificate.clone(),
            viewer_saved_in: None,
            webhook_addr: self.webhook_addr,
            ui_addr: self.ui_addr,
            webhook_secret: self.webhook_secret.clone(),
            key_encoding: self.key_encoding,
            basic_auth: self.basic_auth.clone(),
            allow_unsigned: self.allow_unsigned,
            ui_dir: self.ui_dir.clone(),
            dreamclass_url: self.dreamclass_url.clone(),
            dreamclass_token: self.dreamclass_token.clone(),
            dreamclass_tenant: self.dreamclass_tenant.clone(),
            tunnel: self.tunnel,
            bore_server: self.bore_server.clone(),
            bore_secret: self.bore_secret.clone(),
            ngrok_authtoken: self.ngrok_authtoken.clone(),
            ngrok_domain: self.ngrok_domain.clone(),
            public_url: self.public_url.clone(),
            require_sign_in: self.require_sign_in,
            allow_plain_http: self.allow_plain_http,
            session_length: self.session_length.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            openid: OpenIdOptions {
                issuer: self.openid_issuer.clone(),
                client_id: self.openid_client_id.clone(),
                client_secret: self.openid_client_secret.clone(),
                name: self.openid_name.clone(),
                redirect_url: self.openid_redirect_url.clone(),
                allow: self.openid_allow.clone(),
            },
            from_command_line: true,
        }
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    // "Connect to a Rollcall server" (or "Stop viewing") in the window starts it again with
    // the choice saved in the data folder.
    while run_once(&args).await? == Ended::Restart {
        println!("Starting again…");
    }
    Ok(())
}

#[derive(PartialEq, Eq)]
enum Ended {
    Stopped,
    Restart,
}

async fn run_once(args: &ServeArgs) -> anyhow::Result<Ended> {
    let options = args.launch_options().with_saved_server();
    let data_dir = options.data_dir();
    let server_config = options
        .resolve(&KeptSecrets::default())
        .map_err(anyhow::Error::msg)?;
    let server_config_database = server_config
        .database_url
        .as_deref()
        .map(rollcall_store_postgres::connect::redact);
    let in_force = server_config.overrides.apply(&server_config.settings);
    let key = in_force.webhook.secret.clone();
    let allow_unsigned = in_force.webhook.allow_unsigned;
    let demo = args.demo.then_some(DemoPace {
        events: args.demo_events,
        rate: args.demo_rate,
    });
    let launched = launch(server_config, demo)
        .await
        .map_err(anyhow::Error::msg)?;
    let server = &launched.server;
    let info = server.info();
    println!("Rollcall is running.");
    match server.state().viewer() {
        Some(viewer) => println!(
            "  Showing the attendance of {} (sign in to it in the window).",
            viewer.server
        ),
        None => println!(
            "  Webhook URL for DreamClass (Settings > Integrations): {}",
            info.webhook_url()
        ),
    }
    println!("  Open Rollcall: {}", info.ui_url());
    if server.state().signs_in() {
        // "0.0.0.0" is no address to type: other computers reach this one by its name.
        let origin = match rollcall_server::ui_tls::this_host_name() {
            Some(name) if info.ui_addr.ip().is_unspecified() => info
                .ui_origin()
                .replace(&info.ui_addr.ip().to_string(), &name),
            _ => info.ui_origin(),
        };
        println!("  Everyone else opens {origin}/ (or the district's HTTPS address) and signs in.");
        if let Some(fingerprint) = &info.ui_tls_fingerprint {
            println!(
                "  HTTPS certificate fingerprint (SHA-256), for people to check when their \
                 browser asks: {fingerprint}"
            );
        }
        if server.state().store().accounts().await?.is_empty() {
            println!(
                "  Nobody can sign in yet. Setup key for the first administrator: {}",
                info.token
            );
        }
    }
    println!("  Data folder: {}", data_dir.display());
    if let Some(url) = &server_config_database {
        println!("  Database: {url}");
    }
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
    if !info.ui_addr.ip().is_loopback() && info.ui_tls_fingerprint.is_none() {
        tracing::warn!(
            "PLAIN HTTP BEYOND THIS COMPUTER (--allow-plain-http): passwords and attendance \
             cross the network at {} unencrypted; everyone signs in",
            info.ui_addr
        );
    }
    let mut restart = server.state().restart_requested();
    let ended = tokio::select! {
        _ = wait_for_stop_signal() => Ended::Stopped,
        _ = restart.wait_for(|asked| *asked) => Ended::Restart,
    };
    println!("Stopping: finishing and saving what has arrived…");
    launched.shutdown().await;
    println!("Stopped. Everything received was saved.");
    Ok(ended)
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
    #[cfg(windows)]
    {
        // Ctrl-C and Ctrl-Break in the console; closing the console window, logging off and
        // shutting down. For the last three Windows ends the process about five seconds
        // after telling it (tokio holds the notification until then), which is enough to
        // commit and answer what has arrived.
        use tokio::signal::windows::{ctrl_break, ctrl_close, ctrl_logoff, ctrl_shutdown};
        let (mut close, mut logoff, mut shutdown, mut brk) = (
            ctrl_close().expect("console close handler installs"),
            ctrl_logoff().expect("logoff handler installs"),
            ctrl_shutdown().expect("shutdown handler installs"),
            ctrl_break().expect("Ctrl-Break handler installs"),
        );
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = close.recv() => {}
            _ = logoff.recv() => {}
            _ = shutdown.recv() => {}
            _ = brk.recv() => {}
        }
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
