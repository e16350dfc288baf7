//! What the user chose in Settings (or on the command line): which provider gives the webhook
//! listener its public URL, and that provider's settings.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::ConfigError;
use crate::WEBHOOK_PATH;

/// How the webhook listener gets a public URL.
///
/// Secrets (the ngrok authtoken, the bore secret) are redacted from `Debug`. The desktop app
/// keeps them in the OS keyring; the CLI reads them from `ROLLCALL_NGROK_AUTHTOKEN` and
/// `ROLLCALL_BORE_SECRET`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "provider",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum TunnelConfig {
    /// No tunnel: the webhook listener is only reachable on this computer's network.
    #[default]
    None,
    /// The user already has a public URL (reverse proxy, port forward) that reaches the
    /// webhook listener. The app only shows and checks it.
    Manual { public_url: String },
    /// A bore server (self-hosted, or the public `bore.pub`). Plain HTTP: not encrypted.
    Bore(BoreConfig),
    /// ngrok, HTTPS, with an account authtoken and optionally a reserved domain.
    Ngrok(NgrokConfig),
    /// Experimental: a Cloudflare quick tunnel through the `cloudflared` program.
    Cloudflare(CloudflareConfig),
}

/// Settings of the bore provider.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoreConfig {
    /// Host name or IP address of the bore server, e.g. `bore.pub`. The control port is
    /// bore's fixed 7835.
    pub server: String,
    /// Public port to ask for. `None` lets the server choose; the app then asks for the same
    /// port again after a reconnect, so the URL stays the same while the server allows it.
    #[serde(default)]
    pub port: Option<u16>,
    /// Secret of a bore server started with `--secret`.
    #[serde(default)]
    pub secret: Option<String>,
}

/// Settings of the ngrok provider.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NgrokConfig {
    /// The account's authtoken (dashboard.ngrok.com, "Your Authtoken"). Empty means not
    /// entered yet, which the tunnel reports as a plain `Failed` reason.
    #[serde(default)]
    pub authtoken: String,
    /// A domain reserved in the ngrok account (e.g. `myschool.ngrok.app`), so the URL stays
    /// the same across restarts. Without it ngrok gives a new URL on every start.
    #[serde(default)]
    pub domain: Option<String>,
}

/// Settings of the Cloudflare quick tunnel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudflareConfig {
    /// Path of the `cloudflared` program; `None` looks for it on `PATH` and in the usual
    /// install folders.
    #[serde(default)]
    pub binary: Option<PathBuf>,
}

/// The provider names used by `rollcall serve --tunnel ...` and in the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(rename = "TunnelProvider")]
#[serde(rename_all = "camelCase")]
pub enum ProviderKind {
    None,
    Manual,
    Bore,
    Ngrok,
    Cloudflare,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Manual => "manual",
            Self::Bore => "bore",
            Self::Ngrok => "ngrok",
            Self::Cloudflare => "cloudflare",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(Self::None),
            "manual" => Ok(Self::Manual),
            "bore" => Ok(Self::Bore),
            "ngrok" => Ok(Self::Ngrok),
            "cloudflare" | "cloudflared" => Ok(Self::Cloudflare),
            other => Err(ConfigError::UnknownProvider(other.to_string())),
        }
    }
}

impl TunnelConfig {
    pub fn kind(&self) -> ProviderKind {
        match self {
            Self::None => ProviderKind::None,
            Self::Manual { .. } => ProviderKind::Manual,
            Self::Bore(_) => ProviderKind::Bore,
            Self::Ngrok(_) => ProviderKind::Ngrok,
            Self::Cloudflare(_) => ProviderKind::Cloudflare,
        }
    }

    /// Checks the settings without touching the network, so Settings can refuse them with a
    /// sentence before anything starts. [`crate::start`] runs the same check and reports a
    /// failure as `TunnelState::Failed`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::None | Self::Cloudflare(_) => Ok(()),
            Self::Manual { public_url } => normalize_public_url(public_url).map(drop),
            Self::Bore(bore) => bore.validate(),
            Self::Ngrok(ngrok) => ngrok.validate(),
        }
    }
}

impl BoreConfig {
    pub fn new(server: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            ..Self::default()
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let server = self.server.trim();
        if server.is_empty() {
            return Err(ConfigError::MissingBoreServer);
        }
        let looks_like_url = server.contains("://") || server.contains('/');
        // A colon is fine only inside an IPv6 address, which has at least two.
        let has_port = server.matches(':').count() == 1;
        if looks_like_url || has_port || server.contains(char::is_whitespace) {
            return Err(ConfigError::BoreServerNotAHost(server.to_string()));
        }
        Ok(())
    }

    pub(crate) fn host(&self) -> &str {
        self.server.trim()
    }

    /// An empty secret means none: bore would otherwise send an empty one.
    pub(crate) fn secret(&self) -> Option<&str> {
        self.secret.as_deref().filter(|s| !s.is_empty())
    }

    /// The port to ask for: 0 means "any".
    pub(crate) fn requested_port(&self) -> u16 {
        self.port.unwrap_or(0)
    }
}

impl NgrokConfig {
    pub fn new(authtoken: impl Into<String>) -> Self {
        Self {
            authtoken: authtoken.into(),
            domain: None,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.authtoken.trim().is_empty() {
            return Err(ConfigError::MissingNgrokAuthtoken);
        }
        if let Some(domain) = self.domain() {
            let bare = domain.contains('.')
                && !domain.contains('/')
                && !domain.contains(':')
                && !domain.contains(char::is_whitespace);
            if !bare {
                return Err(ConfigError::NgrokDomainNotAHost(domain.to_string()));
            }
        }
        Ok(())
    }

    /// The reserved domain, tolerating a pasted `https://` prefix or trailing slash.
    pub(crate) fn domain(&self) -> Option<&str> {
        let domain = self.domain.as_deref()?.trim();
        let domain = domain
            .strip_prefix("https://")
            .or_else(|| domain.strip_prefix("http://"))
            .unwrap_or(domain)
            .trim_end_matches('/');
        (!domain.is_empty()).then_some(domain)
    }
}

/// Turns what the user typed as their public URL into the base URL the app shows and probes:
/// `https://school.example.org`, without a trailing slash. A pasted full webhook URL (ending
/// in `/webhooks/dreamclass`) is accepted and reduced to its base.
pub fn normalize_public_url(input: &str) -> Result<String, ConfigError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(ConfigError::MissingPublicUrl);
    }
    let url =
        reqwest::Url::parse(input).map_err(|_| ConfigError::PublicUrlInvalid(input.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(ConfigError::PublicUrlInvalid(input.to_string()));
    }
    let Some(host) = url.host_str() else {
        return Err(ConfigError::PublicUrlInvalid(input.to_string()));
    };
    if is_local_only_host(host) {
        return Err(ConfigError::PublicUrlIsLocal(input.to_string()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::PublicUrlInvalid(input.to_string()));
    }
    let mut base = url.as_str().trim_end_matches('/').to_string();
    if let Some(stripped) = base.strip_suffix(WEBHOOK_PATH) {
        base = stripped.trim_end_matches('/').to_string();
    }
    Ok(base)
}

/// Hosts that only this computer can reach: DreamClass, on the internet, never could.
fn is_local_only_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip.is_unspecified(),
        Err(_) => false,
    }
}

const REDACTED: &str = "<redacted>";

impl fmt::Debug for TunnelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Manual { public_url } => f
                .debug_struct("Manual")
                .field("public_url", public_url)
                .finish(),
            Self::Bore(c) => f.debug_tuple("Bore").field(c).finish(),
            Self::Ngrok(c) => f.debug_tuple("Ngrok").field(c).finish(),
            Self::Cloudflare(c) => f.debug_tuple("Cloudflare").field(c).finish(),
        }
    }
}

impl fmt::Debug for BoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoreConfig")
            .field("server", &self.server)
            .field("port", &self.port)
            .field("secret", &self.secret.as_ref().map(|_| REDACTED))
            .finish()
    }
}

impl fmt::Debug for NgrokConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NgrokConfig")
            .field("authtoken", &REDACTED)
            .field("domain", &self.domain)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_is_reduced_to_its_base() {
        assert_eq!(
            normalize_public_url(" https://school.example.org/ ").unwrap(),
            "https://school.example.org"
        );
        assert_eq!(
            normalize_public_url("https://school.example.org/webhooks/dreamclass").unwrap(),
            "https://school.example.org"
        );
        assert_eq!(
            normalize_public_url("http://203.0.113.5:8080/rollcall").unwrap(),
            "http://203.0.113.5:8080/rollcall"
        );
    }

    #[test]
    fn public_url_that_dreamclass_cannot_reach_is_refused() {
        for url in [
            "http://localhost:8080",
            "http://127.0.0.1:9000",
            "http://[::1]:9000",
            "http://0.0.0.0:9000",
        ] {
            let err = normalize_public_url(url).unwrap_err();
            assert!(
                matches!(err, ConfigError::PublicUrlIsLocal(_)),
                "{url}: {err}"
            );
            assert!(err.to_string().contains("only this computer"), "{err}");
        }
        for url in [
            "",
            "school.example.org",
            "ftp://school.example.org",
            "https://x.org/?a=1",
        ] {
            assert!(normalize_public_url(url).is_err(), "{url} was accepted");
        }
    }

    #[test]
    fn bore_server_must_be_a_bare_host() {
        assert!(BoreConfig::new("bore.pub").validate().is_ok());
        assert!(BoreConfig::new("2001:db8::1").validate().is_ok());
        assert!(matches!(
            BoreConfig::new("  ").validate(),
            Err(ConfigError::MissingBoreServer)
        ));
        for bad in ["http://bore.pub", "bore.pub:7835", "bore.pub/x"] {
            let err = BoreConfig::new(bad).validate().unwrap_err();
            assert!(err.to_string().contains("without http://"), "{bad}: {err}");
        }
    }

    #[test]
    fn ngrok_domain_tolerates_a_pasted_url() {
        let mut config = NgrokConfig::new("token");
        config.domain = Some("https://myschool.ngrok.app/".into());
        assert!(config.validate().is_ok());
        assert_eq!(config.domain(), Some("myschool.ngrok.app"));
        config.domain = Some("   ".into());
        assert_eq!(config.domain(), None);
        config.domain = Some("myschool.ngrok.app/path".into());
        assert!(config.validate().is_err());
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let ngrok = TunnelConfig::Ngrok(NgrokConfig::new("2abcSECRETTOKEN"));
        let bore = TunnelConfig::Bore(BoreConfig {
            server: "bore.pub".into(),
            port: None,
            secret: Some("hunter2".into()),
        });
        let shown = format!("{ngrok:?} {bore:?}");
        assert!(
            !shown.contains("SECRETTOKEN") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn config_serializes_with_a_provider_tag() {
        let config = TunnelConfig::Manual {
            public_url: "https://school.example.org".into(),
        };
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"provider": "manual", "publicUrl": "https://school.example.org"})
        );
        let bore: TunnelConfig =
            serde_json::from_value(serde_json::json!({"provider": "bore", "server": "bore.pub"}))
                .unwrap();
        assert_eq!(bore, TunnelConfig::Bore(BoreConfig::new("bore.pub")));
    }

    #[test]
    fn provider_names_parse_as_on_the_command_line() {
        for (name, kind) in [
            ("ngrok", ProviderKind::Ngrok),
            ("bore", ProviderKind::Bore),
            ("Cloudflare", ProviderKind::Cloudflare),
            ("none", ProviderKind::None),
            ("manual", ProviderKind::Manual),
        ] {
            assert_eq!(name.parse::<ProviderKind>().unwrap(), kind);
        }
        let err = "localtunnel".parse::<ProviderKind>().unwrap_err();
        assert!(err
            .to_string()
            .contains("ngrok, bore, cloudflare, manual or none"));
    }
}
