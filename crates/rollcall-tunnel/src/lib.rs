//! Rollcall's public webhook URL: DreamClass must reach the webhook listener on an office PC
//! behind NAT, and staff cannot configure routers, so the app opens a tunnel itself, keeps it
//! up, and proves end to end that DreamClass can get through.
//!
//! # Providers
//!
//! | provider | URL | encrypted | notes |
//! | --- | --- | --- | --- |
//! | [`TunnelConfig::Ngrok`] | `https://<name>.ngrok-free.app`, or a reserved domain | yes | needs an account authtoken; a reserved domain keeps the URL across restarts (recommended) |
//! | [`TunnelConfig::Bore`] | `http://<server>:<port>` | **no** | self-hosted bore server or `bore.pub`; the state carries a warning |
//! | [`TunnelConfig::Cloudflare`] | `https://<words>.trycloudflare.com` | yes | experimental; needs the `cloudflared` program; new URL every start |
//! | [`TunnelConfig::Manual`] | what the user entered | if https | reverse proxy or port forward the user already has |
//! | [`TunnelConfig::None`] | none | | state is [`TunnelState::Off`] |
//!
//! # Only the webhook listener is exposed
//!
//! [`start`] takes the webhook listener's socket address and forwards to that socket only.
//! The local UI/API listens on a different socket, which no provider ever forwards.
//!
//! # States
//!
//! `Starting` → `Online { public_url, webhook_url, notice }` → `Reconnecting { attempt,
//! last_error }` → back to `Online` by itself, or `Failed { reason }` when only a change of
//! settings can help (missing token, wrong secret, cloudflared not installed). Every text is a
//! sentence for the office. Providers reconnect with exponential backoff and jitter
//! ([`ReconnectPolicy`], capped at 30 s).
//!
//! # Use from `rollcall serve` and the desktop app
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use std::time::Duration;
//! use rollcall_tunnel::{
//!     BoreConfig, CheckerOptions, NgrokConfig, ProbeSigner, Prober, ProviderKind,
//!     ReachabilityChecker, TunnelConfig, UrlNotice,
//! };
//!
//! # async fn serve(webhook_addr: SocketAddr, webhook_secret: String) {
//! // From `--tunnel ngrok|bore|cloudflare|none`, `--bore-server`, `--ngrok-domain`,
//! // `--public-url` and the ROLLCALL_* variables:
//! let kind: ProviderKind = "bore".parse().expect("clap already checked it");
//! let config = match kind {
//!     ProviderKind::Bore => TunnelConfig::Bore(BoreConfig {
//!         server: "bore.example.org".into(),
//!         port: None,
//!         secret: std::env::var("ROLLCALL_BORE_SECRET").ok(),
//!     }),
//!     ProviderKind::Ngrok => TunnelConfig::Ngrok(NgrokConfig {
//!         authtoken: std::env::var("ROLLCALL_NGROK_AUTHTOKEN").unwrap_or_default(),
//!         domain: Some("myschool.ngrok.app".into()),
//!     }),
//!     ProviderKind::Manual => TunnelConfig::Manual { public_url: "https://rollcall.school.org".into() },
//!     ProviderKind::Cloudflare => TunnelConfig::Cloudflare(Default::default()),
//!     ProviderKind::None => TunnelConfig::None,
//! };
//!
//! // `webhook_addr` is the webhook listener's bound address, never the local API's.
//! let tunnel = rollcall_tunnel::start(config, webhook_addr);
//! match tunnel.wait_online(Duration::from_secs(30)).await {
//!     Ok(public_url) => {
//!         println!("Webhook URL: {}", rollcall_tunnel::webhook_url(&public_url));
//!         // Persist the URL shown; next start, say whether DreamClass needs updating.
//!         let last_shown: Option<String> = None;
//!         if let Some(message) = UrlNotice::compare(last_shown.as_deref(), &public_url).message() {
//!             println!("{message}");
//!         }
//!     }
//!     Err(state) => eprintln!("{}", state.summary()),
//! }
//!
//! // Self-check now, after every reconnect and every 10 minutes.
//! let prober = Prober::new(ProbeSigner::hmac_sha256(webhook_secret));
//! let checker = ReachabilityChecker::spawn(tunnel.state(), prober, CheckerOptions::default());
//! let mut reachability = checker.subscribe();
//! // ... serve the API: `tunnel.state()` and `reachability` are `watch::Receiver`s of
//! // serde-serializable states (`{"state":"online","publicUrl":...}`,
//! // `{"status":"reachable","roundTripMs":...}`).
//! # let _ = reachability.changed().await;
//!
//! // On shutdown:
//! checker.stop().await;
//! tunnel.stop().await;
//! # }
//! ```
//!
//! # Tests and benchmark
//!
//! `cargo test -p rollcall-tunnel` runs everything on loopback: a real bore server in-process
//! (bore's control port is fixed at 7835, so those tests take turns), stand-in listeners, the
//! real `rollcall-server`, and a stand-in `cloudflared` script. ngrok and Cloudflare are only
//! reached when asked: `ROLLCALL_TEST_NGROK_AUTHTOKEN` (and optionally
//! `ROLLCALL_TEST_NGROK_DOMAIN`), `ROLLCALL_TEST_CLOUDFLARED=1`; otherwise those tests print
//! that they were skipped (`-- --nocapture` shows it).
//! `cargo bench -p rollcall-tunnel --bench tunnel_latency` prints the latency bore adds to a
//! delivery, p50/p99, next to the same delivery sent straight to the listener.

mod backoff;
mod bore;
mod checker;
mod cloudflare;
mod config;
mod error;
mod handle;
mod manual;
mod ngrok;
mod probe;
mod provider;
mod state;
mod url_notice;

pub use backoff::ReconnectPolicy;
pub use bore::PLAIN_HTTP_NOTICE as BORE_PLAIN_HTTP_NOTICE;
pub use checker::{CheckerOptions, Reachability, ReachabilityChecker};
pub use cloudflare::{
    find_quick_tunnel_url, EXPERIMENTAL_NOTICE as CLOUDFLARE_EXPERIMENTAL_NOTICE,
    MISSING_BINARY as CLOUDFLARED_MISSING_MESSAGE,
};
pub use config::{
    normalize_public_url, BoreConfig, CloudflareConfig, NgrokConfig, ProviderKind, TunnelConfig,
};
pub use error::ConfigError;
pub use handle::{start, start_with, TunnelHandle};
pub use ngrok::CHANGING_URL_NOTICE as NGROK_CHANGING_URL_NOTICE;
pub use probe::{
    probe, ProbeError, ProbeReport, ProbeSigner, Prober, DREAMCLASS_TIMEOUT, PROBE_TENANT,
    PROBE_TYPE,
};
pub use provider::TunnelOptions;
pub use state::TunnelState;
pub use url_notice::UrlNotice;

/// The webhook route on the listener; the only route DreamClass uses.
pub const WEBHOOK_PATH: &str = "/webhooks/dreamclass";

/// The URL to enter in DreamClass for a public base URL.
pub fn webhook_url(public_url: &str) -> String {
    format!("{}{WEBHOOK_PATH}", public_url.trim().trim_end_matches('/'))
}

/// Whether this build includes the ngrok provider (cargo feature `ngrok`, on by default).
pub const NGROK_AVAILABLE: bool = cfg!(feature = "ngrok");
