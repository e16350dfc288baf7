//! From what the person starting Rollcall chose to a [`ServerConfig`]: the one place where
//! `rollcall serve` and the desktop app resolve their settings, so both read the same
//! `ROLLCALL_*` variables and `rollcall.toml` the same way.
//!
//! Precedence, highest first: flags or `ROLLCALL_*` variables, secrets kept outside the file
//! (the desktop's OS keyring), `rollcall.toml` in the data folder, defaults. The first layer
//! is kept apart as [`Overrides`]: it is in force for this run only, never written back, and
//! the Settings screen names it instead of offering to change it.

use std::net::SocketAddr;
use std::path::PathBuf;

use rollcall_core::config::{self, BasicAuth};
use rollcall_core::KeyEncoding;
use rollcall_tunnel::{BoreConfig, NgrokConfig, ProviderKind, TunnelConfig};

use super::find_ui_dir;
use crate::auth::openid::{DomainRule, OpenIdConfig};
use crate::auth::SignInConfig;
use crate::settings::{
    secret_names, Field, KeptSecrets, Overrides, Settings, SettingsFile, SECRETS,
};
use crate::ui_tls::UiTls;
use crate::ServerConfig;

/// What was chosen on the command line or in `ROLLCALL_*` variables. Unset means "as in
/// rollcall.toml, else the default".
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    pub data_dir: Option<PathBuf>,
    /// A district server's PostgreSQL database (`--database`, `ROLLCALL_DATABASE_URL`).
    pub database_url: Option<String>,
    /// A simulated school day and a fake DreamClass, in a data folder of their own.
    pub demo: bool,
    /// Show this Rollcall server's attendance instead of receiving webhooks (`--viewer-of`,
    /// `ROLLCALL_VIEWER_OF`): a copy in a data folder of its own, no webhook listener.
    pub viewer_of: Option<String>,
    /// The fingerprint of the viewed server's certificate, when it is self-signed
    /// (`--viewer-certificate`, `ROLLCALL_VIEWER_CERTIFICATE`).
    pub viewer_certificate: Option<String>,
    /// The data folder whose saved connection set `viewer_of` ([`Self::with_saved_server`]).
    pub viewer_saved_in: Option<PathBuf>,
    pub webhook_addr: Option<SocketAddr>,
    pub ui_addr: Option<SocketAddr>,
    pub webhook_secret: Option<String>,
    pub key_encoding: Option<KeyEncoding>,
    /// `username:password`.
    pub basic_auth: Option<String>,
    pub allow_unsigned: bool,
    pub ui_dir: Option<PathBuf>,
    pub dreamclass_url: Option<String>,
    pub dreamclass_token: Option<String>,
    pub dreamclass_tenant: Option<String>,
    pub tunnel: Option<ProviderKind>,
    pub bore_server: Option<String>,
    pub bore_secret: Option<String>,
    pub ngrok_authtoken: Option<String>,
    pub ngrok_domain: Option<String>,
    pub public_url: Option<String>,
    /// Every page and API call needs a signed-in person, even on loopback (behind a
    /// district's HTTPS proxy). Listening beyond this computer always requires it.
    pub require_sign_in: bool,
    /// Serve people on other computers over plain HTTP (a network the school trusts, or an
    /// HTTPS proxy on another machine): the session cookie is then not marked `Secure`.
    pub allow_plain_http: bool,
    /// How long a sign-in lasts (`12h`, `90m`, `30s`); 12 hours when unset.
    pub session_length: Option<String>,
    /// The district's certificate chain and its private key (PEM) for HTTPS.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Signing in with the district's Google or Microsoft accounts.
    pub openid: OpenIdOptions,
    /// Chosen with `rollcall serve`'s flags (each of which also reads its variable), not only
    /// variables: the Settings screen then names both as the origin.
    pub from_command_line: bool,
}

/// The OpenID Connect provider people may sign in with (`--openid-*`, `ROLLCALL_OPENID_*`).
#[derive(Debug, Clone, Default)]
pub struct OpenIdOptions {
    /// e.g. `https://accounts.google.com`, `https://login.microsoftonline.com/{tenant}/v2.0`.
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// What the button says after "Sign in with"; from the issuer when unset.
    pub name: Option<String>,
    pub redirect_url: Option<String>,
    /// `domain=role[:school,school]` rules for people without an account yet.
    pub allow: Vec<String>,
}

impl OpenIdOptions {
    /// The provider's configuration, `None` when no issuer is given; the error names the
    /// option to fix.
    fn resolve(&self, by: impl Fn(&str, &str) -> String) -> Result<Option<OpenIdConfig>, String> {
        let Some(issuer) = self
            .issuer
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty())
        else {
            if self.client_id.is_some() || !self.allow.is_empty() {
                return Err(format!(
                    "Signing in with another account needs the provider's address ({}).",
                    by("ROLLCALL_OPENID_ISSUER", "--openid-issuer")
                ));
            }
            return Ok(None);
        };
        if !issuer.starts_with("https://") && !issuer.starts_with("http://127.0.0.1") {
            return Err(format!(
                "{} is \"{issuer}\": the provider's address starts with https://.",
                by("ROLLCALL_OPENID_ISSUER", "--openid-issuer")
            ));
        }
        let client_id = self
            .client_id
            .clone()
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                format!(
                    "Signing in with {issuer} needs the client ID the provider gave Rollcall ({}).",
                    by("ROLLCALL_OPENID_CLIENT_ID", "--openid-client-id")
                )
            })?;
        let domains = self
            .allow
            .iter()
            .map(|rule| {
                DomainRule::parse(rule)
                    .map_err(|e| format!("{}: {e}", by("ROLLCALL_OPENID_ALLOW", "--openid-allow")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let name = self.name.clone().unwrap_or_else(|| {
            if issuer.contains("accounts.google.com") {
                "Google".into()
            } else if issuer.contains("login.microsoftonline.com") {
                "Microsoft".into()
            } else {
                "your organisation's account".into()
            }
        });
        Ok(Some(OpenIdConfig {
            provider_name: name,
            issuer: issuer.to_string(),
            client_id,
            client_secret: self.client_secret.clone().filter(|s| !s.is_empty()),
            redirect_url: self.redirect_url.clone(),
            domains,
        }))
    }
}

impl LaunchOptions {
    /// The options from `ROLLCALL_*` variables, for a program without flags (the desktop
    /// app). `get` returns a variable's value, `None` when unset or empty. The error is a
    /// sentence naming the variable.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let address = |name: &str| {
            get(name)
                .map(|text| {
                    text.parse().map_err(|_| {
                        format!(
                            "{name} is set to \"{text}\", which is not an address like \
                             127.0.0.1:8787."
                        )
                    })
                })
                .transpose()
        };
        let flag =
            |name: &str| get(name).is_some_and(|v| !matches!(v.as_str(), "0" | "false" | "no"));
        Ok(Self {
            data_dir: get("ROLLCALL_DATA_DIR").map(PathBuf::from),
            database_url: get("ROLLCALL_DATABASE_URL"),
            demo: flag("ROLLCALL_DEMO"),
            viewer_of: get("ROLLCALL_VIEWER_OF"),
            viewer_certificate: get("ROLLCALL_VIEWER_CERTIFICATE"),
            viewer_saved_in: None,
            webhook_addr: address("ROLLCALL_WEBHOOK_ADDR")?,
            ui_addr: address("ROLLCALL_UI_ADDR")?,
            webhook_secret: get("ROLLCALL_WEBHOOK_SECRET"),
            key_encoding: get("ROLLCALL_KEY_ENCODING")
                .map(|t| {
                    t.parse()
                        .map_err(|e| format!("ROLLCALL_KEY_ENCODING: {e}."))
                })
                .transpose()?,
            basic_auth: get("ROLLCALL_BASIC_AUTH"),
            allow_unsigned: flag("ROLLCALL_ALLOW_UNSIGNED"),
            ui_dir: get("ROLLCALL_UI_DIR").map(PathBuf::from),
            dreamclass_url: get("ROLLCALL_DREAMCLASS_URL"),
            dreamclass_token: get("ROLLCALL_DREAMCLASS_TOKEN"),
            dreamclass_tenant: get("ROLLCALL_DREAMCLASS_TENANT"),
            tunnel: get("ROLLCALL_TUNNEL")
                .map(|t| t.parse().map_err(|e| format!("ROLLCALL_TUNNEL: {e}")))
                .transpose()?,
            bore_server: get("ROLLCALL_BORE_SERVER"),
            bore_secret: get("ROLLCALL_BORE_SECRET"),
            ngrok_authtoken: get("ROLLCALL_NGROK_AUTHTOKEN"),
            ngrok_domain: get("ROLLCALL_NGROK_DOMAIN"),
            public_url: get("ROLLCALL_PUBLIC_URL"),
            require_sign_in: flag("ROLLCALL_REQUIRE_SIGN_IN"),
            allow_plain_http: flag("ROLLCALL_ALLOW_PLAIN_HTTP"),
            session_length: get("ROLLCALL_SESSION_LENGTH"),
            tls_cert: get("ROLLCALL_TLS_CERT").map(PathBuf::from),
            tls_key: get("ROLLCALL_TLS_KEY").map(PathBuf::from),
            openid: OpenIdOptions {
                issuer: get("ROLLCALL_OPENID_ISSUER"),
                client_id: get("ROLLCALL_OPENID_CLIENT_ID"),
                client_secret: get("ROLLCALL_OPENID_CLIENT_SECRET"),
                name: get("ROLLCALL_OPENID_NAME"),
                redirect_url: get("ROLLCALL_OPENID_REDIRECT_URL"),
                allow: get("ROLLCALL_OPENID_ALLOW")
                    .map(|rules| {
                        rules
                            .split(';')
                            .map(str::trim)
                            .filter(|r| !r.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            from_command_line: false,
        })
    }

    /// The data folder: the one chosen, else the platform's (a separate one for the demo, so
    /// simulated attendance never mixes with the school's).
    pub fn data_dir(&self) -> PathBuf {
        match (&self.data_dir, self.demo) {
            (Some(dir), _) => dir.clone(),
            // A server's copy never mixes with the attendance this computer received itself.
            (None, _) if self.viewer_of.is_some() => config::default_data_dir().join("viewer"),
            (None, false) => config::default_data_dir(),
            (None, true) => config::default_data_dir().join("demo"),
        }
    }

    /// With the server saved by "Connect to a Rollcall server" in the data folder (unless a
    /// server or the demo was chosen for this run): the copy then lives in its `viewer`
    /// folder, apart from anything this computer received itself.
    pub fn with_saved_server(mut self) -> Self {
        if self.viewer_of.is_some() || self.demo {
            return self;
        }
        let base = self.data_dir();
        if let Some(saved) = crate::viewer::saved_server(&base) {
            self.viewer_of = Some(saved.server);
            self.viewer_certificate = saved.certificate;
            self.data_dir = Some(base.join("viewer"));
            self.viewer_saved_in = Some(base);
        }
        self
    }

    /// Reads `rollcall.toml` from the data folder and resolves the server's configuration.
    pub fn resolve(&self, kept: &KeptSecrets) -> Result<ServerConfig, String> {
        let file = crate::settings::read_file(&self.data_dir())?;
        self.resolve_with(&file, kept)
    }

    /// As [`resolve`](Self::resolve), with the file already read.
    pub fn resolve_with(
        &self,
        file: &SettingsFile,
        kept: &KeptSecrets,
    ) -> Result<ServerConfig, String> {
        let (settings, overrides) = self.settings(file, kept)?;
        let mut server = ServerConfig::new(self.data_dir());
        server.database_url = self
            .database_url
            .clone()
            .or_else(|| file.database_url.clone())
            .filter(|url| !url.trim().is_empty());
        server.webhook_addr = self
            .webhook_addr
            .or(file.webhook_addr)
            .unwrap_or(server.webhook_addr);
        server.ui_addr = self.ui_addr.or(file.ui_addr).unwrap_or(server.ui_addr);
        server.ui_dir = self.ui_dir.clone().or_else(find_ui_dir);
        (server.sign_in, server.ui_tls) = self.sign_in(server.ui_addr)?;
        server.settings = settings;
        server.overrides = overrides;
        server.viewer = match &self.viewer_of {
            None => None,
            Some(_) if self.demo => {
                return Err(
                    "The demo receives its own simulated school day: it cannot show a \
                            server's attendance too. Leave out --demo or --viewer-of."
                        .into(),
                )
            }
            Some(address) => Some(crate::viewer::ViewerConfig {
                saved_in: self.viewer_saved_in.clone(),
                certificate: self
                    .viewer_certificate
                    .as_deref()
                    .map(crate::viewer::trust::normalize),
                ..crate::viewer::ViewerConfig::parse(address)?
            }),
        };
        Ok(server)
    }

    /// Whether people sign in, and whether the interface speaks HTTPS: beyond this computer
    /// people always sign in, over HTTPS with the district's certificate or one Rollcall makes
    /// itself, unless plain HTTP is asked for (a network the school trusts, or an HTTPS server
    /// in front on another machine).
    fn sign_in(&self, ui_addr: SocketAddr) -> Result<(SignInConfig, UiTls), String> {
        let beyond = !ui_addr.ip().is_loopback();
        let files = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(UiTls::Files {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (None, None) => None,
            _ => {
                return Err(format!(
                    "HTTPS needs both the certificate ({}) and its private key ({}).",
                    self.by("ROLLCALL_TLS_CERT", "--tls-cert"),
                    self.by("ROLLCALL_TLS_KEY", "--tls-key")
                ))
            }
        };
        if files.is_some() && self.allow_plain_http {
            return Err(format!(
                "{} asks for plain HTTP, but a certificate is given: choose one.",
                self.by("ROLLCALL_ALLOW_PLAIN_HTTP", "--allow-plain-http")
            ));
        }
        let tls = match files {
            Some(files) => files,
            None if beyond && !self.allow_plain_http => UiTls::SelfSigned,
            None => UiTls::Off,
        };
        let defaults = SignInConfig::default();
        let session_length = match &self.session_length {
            None => defaults.session_length,
            Some(text) => parse_length(text).ok_or_else(|| {
                format!(
                    "{} is \"{text}\", which is not a length like 12h, 90m or 30s.",
                    self.by("ROLLCALL_SESSION_LENGTH", "--session-length")
                )
            })?,
        };
        let required = beyond || self.require_sign_in || tls != UiTls::Off;
        let openid = self.openid.resolve(|v, f| self.by(v, f))?;
        if openid.is_some() && !required {
            return Err(format!(
                "Signing in with another account is for a Rollcall people sign in to: add {} \
                 (behind the district's HTTPS server) or listen beyond this computer.",
                self.by("ROLLCALL_REQUIRE_SIGN_IN", "--require-sign-in")
            ));
        }
        let sign_in = SignInConfig {
            required,
            secure_cookie: !self.allow_plain_http,
            session_length,
            openid,
            ..defaults
        };
        Ok((sign_in, tls))
    }

    /// What to name as the origin of an option: the variable, or for `rollcall serve` the
    /// flag or the variable (clap reads both).
    fn by(&self, variable: &str, flag: &str) -> String {
        if self.from_command_line {
            format!("{flag} or {variable}")
        } else {
            variable.to_string()
        }
    }

    /// The settings as the file and the kept secrets give them (what a save writes back),
    /// and the options chosen at start on top of them. The settings in force are checked.
    pub fn settings(
        &self,
        file: &SettingsFile,
        kept: &KeptSecrets,
    ) -> Result<(Settings, Overrides), String> {
        let mut file = file.clone();
        for secret in &SECRETS {
            if let Some(value) = kept.get(secret.name) {
                (secret.set)(&mut file, Some(value));
            }
        }
        let saved = crate::settings::settings_from(&file)?;
        let mut on = saved.clone();
        let mut overrides = Overrides::default();
        if let Some(secret) = &self.webhook_secret {
            on.webhook.secret = Some(secret.clone());
            overrides.add(
                Field::WebhookSecret,
                self.by("ROLLCALL_WEBHOOK_SECRET", "--secret"),
            );
        }
        if self.demo && on.webhook.secret.is_none() {
            // The demo signs its traffic like DreamClass does, with a secret made for this run.
            on.webhook.secret = Some(format!("demo-{}", rollcall_core::model::now_ms()));
            overrides.add(Field::WebhookSecret, "the demo");
        }
        if let Some(encoding) = self.key_encoding {
            on.webhook.key_encoding = encoding;
            overrides.add(
                Field::KeyEncoding,
                self.by("ROLLCALL_KEY_ENCODING", "--key-encoding"),
            );
        }
        if let Some(basic) = &self.basic_auth {
            on.webhook.basic_auth = Some(basic.parse::<BasicAuth>().map_err(|e| e.to_string())?);
            overrides.add(
                Field::BasicAuth,
                self.by("ROLLCALL_BASIC_AUTH", "--basic-auth"),
            );
        }
        if self.allow_unsigned && !on.webhook.allow_unsigned {
            on.webhook.allow_unsigned = true;
            let by = if self.from_command_line {
                "--allow-unsigned".to_string()
            } else {
                "ROLLCALL_ALLOW_UNSIGNED".to_string()
            };
            overrides.add(Field::AllowUnsigned, by);
        }
        for (value, field, variable, flag, slot) in [
            (
                &self.dreamclass_url,
                Field::DreamclassBaseUrl,
                "ROLLCALL_DREAMCLASS_URL",
                "--dreamclass-url",
                &mut on.dreamclass.base_url,
            ),
            (
                &self.dreamclass_token,
                Field::DreamclassToken,
                "ROLLCALL_DREAMCLASS_TOKEN",
                "--dreamclass-token",
                &mut on.dreamclass.token,
            ),
            (
                &self.dreamclass_tenant,
                Field::DreamclassTenant,
                "ROLLCALL_DREAMCLASS_TENANT",
                "--dreamclass-tenant",
                &mut on.dreamclass.tenant,
            ),
        ] {
            if let Some(value) = value {
                value.clone_into(slot);
                overrides.add(field, self.by(variable, flag));
            }
        }
        if let Some(by) = self.tunnel_options() {
            // An option for another provider than the one in use (an ngrok token while bore
            // is chosen) changes nothing, and leaves the tunnel to the Settings screen.
            let tunnel = self.tunnel(&saved.tunnel, kept);
            if self.tunnel.is_some() || tunnel != saved.tunnel {
                on.tunnel = tunnel;
                overrides.add(Field::Tunnel, by);
            }
        }
        on.validate()?;
        overrides.set_values(&on);
        Ok((saved, overrides))
    }

    /// The tunnel options given, named; `None` when none is.
    fn tunnel_options(&self) -> Option<String> {
        let given: Vec<String> = [
            (self.tunnel.is_some(), "ROLLCALL_TUNNEL", "--tunnel"),
            (
                self.bore_server.is_some(),
                "ROLLCALL_BORE_SERVER",
                "--bore-server",
            ),
            (
                self.bore_secret.is_some(),
                "ROLLCALL_BORE_SECRET",
                "--bore-secret",
            ),
            (
                self.ngrok_authtoken.is_some(),
                "ROLLCALL_NGROK_AUTHTOKEN",
                "--ngrok-authtoken",
            ),
            (
                self.ngrok_domain.is_some(),
                "ROLLCALL_NGROK_DOMAIN",
                "--ngrok-domain",
            ),
            (
                self.public_url.is_some(),
                "ROLLCALL_PUBLIC_URL",
                "--public-url",
            ),
        ]
        .into_iter()
        .filter(|(given, ..)| *given)
        .map(|(_, variable, flag)| self.by(variable, flag))
        .collect();
        (!given.is_empty()).then(|| given.join(" and "))
    }

    /// The saved tunnel with the chosen provider and its options on top.
    fn tunnel(&self, saved: &TunnelConfig, kept: &KeptSecrets) -> TunnelConfig {
        let saved = saved.clone();
        match (self.tunnel.unwrap_or(saved.kind()), saved) {
            (ProviderKind::None, _) => TunnelConfig::None,
            (ProviderKind::Manual, saved) => TunnelConfig::Manual {
                public_url: self.public_url.clone().unwrap_or_else(|| match saved {
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
                    server: self.bore_server.clone().unwrap_or(saved.server),
                    port: saved.port,
                    secret: self
                        .bore_secret
                        .clone()
                        .or_else(|| kept.get(secret_names::BORE_SECRET))
                        .or(saved.secret),
                })
            }
            (ProviderKind::Ngrok, saved) => {
                let saved = match saved {
                    TunnelConfig::Ngrok(n) => n,
                    _ => NgrokConfig::default(),
                };
                TunnelConfig::Ngrok(NgrokConfig {
                    authtoken: self
                        .ngrok_authtoken
                        .clone()
                        .or_else(|| kept.get(secret_names::NGROK_AUTHTOKEN))
                        .unwrap_or(saved.authtoken),
                    domain: self.ngrok_domain.clone().or(saved.domain),
                })
            }
            (ProviderKind::Cloudflare, saved) => match saved {
                TunnelConfig::Cloudflare(c) => TunnelConfig::Cloudflare(c),
                _ => TunnelConfig::Cloudflare(Default::default()),
            },
        }
    }
}

/// `12h`, `90m` or `30s`: a whole number and its unit, more than nothing, at most a week.
fn parse_length(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let seconds_per = match unit {
        'h' => 3600,
        'm' => 60,
        's' => 1,
        _ => return None,
    };
    let count: u64 = text[..text.len() - 1].trim().parse().ok()?;
    let seconds = count.checked_mul(seconds_per)?;
    (1..=7 * 24 * 3600)
        .contains(&seconds)
        .then(|| std::time::Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rollcall_core::SigningKey;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    /// `rollcall.toml` with this text, read as at start.
    fn file(text: &str) -> SettingsFile {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(config::CONFIG_FILE), text).unwrap();
        crate::settings::read_file(dir.path()).unwrap()
    }

    /// The settings in force for these options, file and kept secrets.
    fn in_force(
        options: &LaunchOptions,
        file: &SettingsFile,
        kept: &KeptSecrets,
    ) -> Result<Settings, String> {
        let c = options.resolve_with(file, kept)?;
        Ok(c.overrides.apply(&c.settings))
    }

    fn sign(c: &Settings) -> String {
        c.webhook.auth().unwrap().key.unwrap().sign("x")
    }

    fn expect(secret: &str) -> String {
        SigningKey::new(secret, KeyEncoding::Text)
            .unwrap()
            .sign("x")
    }

    #[test]
    fn the_database_comes_from_the_flag_the_variable_or_the_file() {
        let kept = KeptSecrets::default();
        let none = LaunchOptions::default()
            .resolve_with(&file(""), &kept)
            .unwrap();
        assert_eq!(none.database_url, None, "SQLite in the data folder");
        let in_file = file("database_url = \"postgres://rollcall@db/district\"\n");
        let from_file = LaunchOptions::default()
            .resolve_with(&in_file, &kept)
            .unwrap();
        assert_eq!(
            from_file.database_url.as_deref(),
            Some("postgres://rollcall@db/district")
        );
        let variable = LaunchOptions::from_env(env(&[(
            "ROLLCALL_DATABASE_URL",
            "postgres://rollcall@other/district",
        )]))
        .unwrap();
        let chosen = variable.resolve_with(&in_file, &kept).unwrap();
        assert_eq!(
            chosen.database_url.as_deref(),
            Some("postgres://rollcall@other/district"),
            "the variable wins over the file"
        );
        let blank = file("database_url = \" \"\n");
        let blank = LaunchOptions::default()
            .resolve_with(&blank, &kept)
            .unwrap();
        assert_eq!(blank.database_url, None, "a blank address means SQLite");
    }

    #[test]
    fn options_win_over_kept_secrets_and_kept_secrets_over_the_file() {
        let file = file(
            "webhook_secret = \"from-file\"\nbasic_auth = \"file:pw\"\nnotify_status_ids = [3]\n",
        );
        let kept = KeptSecrets(
            [(
                secret_names::WEBHOOK_SECRET.to_string(),
                "from-keyring".to_string(),
            )]
            .into(),
        );
        let none = LaunchOptions::from_env(env(&[])).unwrap();
        let c = in_force(&none, &file, &kept).unwrap();
        assert_eq!(sign(&c), expect("from-keyring"));
        assert_eq!(c.webhook.basic_auth.unwrap().username, "file");
        assert_eq!(c.notify_status_ids, vec![3]);
        let c = in_force(&none, &file, &KeptSecrets::default()).unwrap();
        assert_eq!(sign(&c), expect("from-file"));
        let options = LaunchOptions::from_env(env(&[
            ("ROLLCALL_WEBHOOK_SECRET", "from-env"),
            ("ROLLCALL_WEBHOOK_ADDR", "127.0.0.1:9999"),
        ]))
        .unwrap();
        let c = in_force(&options, &file, &kept).unwrap();
        assert_eq!(sign(&c), expect("from-env"));
        assert_eq!(
            options
                .resolve_with(&file, &kept)
                .unwrap()
                .webhook_addr
                .port(),
            9999
        );
    }

    #[test]
    fn report_thresholds_come_from_the_file_and_a_bad_one_stops_the_start_with_a_sentence() {
        let none = LaunchOptions::from_env(env(&[])).unwrap();
        let c = in_force(
            &none,
            &file("[reports]\nabsences_per_day = 3\n"),
            &KeptSecrets::default(),
        )
        .unwrap();
        assert_eq!(c.reports.absences_per_day, 3);
        assert_eq!(c.reports.term_days, 90);
        let Err(err) = in_force(
            &none,
            &file("[reports]\nterm_days = 500\n"),
            &KeptSecrets::default(),
        ) else {
            panic!("a term of 500 days was accepted");
        };
        assert!(err.contains("term_days = 500 is not possible"), "{err}");
    }

    #[test]
    fn a_district_provider_needs_its_client_id_valid_rules_and_sign_in() {
        let kept = KeptSecrets::default();
        let google = |allow: &str| {
            LaunchOptions::from_env(env(&[
                ("ROLLCALL_REQUIRE_SIGN_IN", "1"),
                ("ROLLCALL_OPENID_ISSUER", "https://accounts.google.com"),
                (
                    "ROLLCALL_OPENID_CLIENT_ID",
                    "1234.apps.googleusercontent.com",
                ),
                ("ROLLCALL_OPENID_ALLOW", allow),
            ]))
            .unwrap()
        };
        let config = google("north.example.org=staff:north; district.example.org=viewer")
            .resolve_with(&file(""), &kept)
            .unwrap();
        let openid = config.sign_in.openid.expect("the provider");
        assert_eq!(openid.provider_name, "Google");
        assert_eq!(openid.domains.len(), 2);
        assert_eq!(
            openid.domains[1].role,
            rollcall_core::accounts::Role::Viewer
        );

        let Err(rule) = google("north.example.org=boss").resolve_with(&file(""), &kept) else {
            panic!("a rule with no such role was accepted");
        };
        assert!(
            rule.contains("ROLLCALL_OPENID_ALLOW") && rule.contains("boss"),
            "{rule}"
        );
        let Err(no_id) = LaunchOptions::from_env(env(&[
            ("ROLLCALL_REQUIRE_SIGN_IN", "1"),
            (
                "ROLLCALL_OPENID_ISSUER",
                "https://login.microsoftonline.com/t/v2.0",
            ),
        ]))
        .unwrap()
        .resolve_with(&file(""), &kept) else {
            panic!("a provider without a client id was accepted");
        };
        assert!(no_id.contains("ROLLCALL_OPENID_CLIENT_ID"), "{no_id}");
        let Err(office) = LaunchOptions::from_env(env(&[
            ("ROLLCALL_OPENID_ISSUER", "https://accounts.google.com"),
            ("ROLLCALL_OPENID_CLIENT_ID", "1234"),
        ]))
        .unwrap()
        .resolve_with(&file(""), &kept) else {
            panic!("a provider on the office PC, where nobody signs in, was accepted");
        };
        assert!(office.contains("ROLLCALL_REQUIRE_SIGN_IN"), "{office}");
    }

    #[test]
    fn listening_beyond_this_computer_requires_sign_in_and_a_choice_about_https() {
        let kept = KeptSecrets::default();
        let local = LaunchOptions::default()
            .resolve_with(&file(""), &kept)
            .unwrap();
        assert!(!local.sign_in.required, "the office PC opens with its link");
        let everyone = LaunchOptions {
            ui_addr: Some("0.0.0.0:8788".parse().unwrap()),
            ..LaunchOptions::default()
        };
        let https = everyone.resolve_with(&file(""), &kept).unwrap();
        assert_eq!(
            https.ui_tls,
            UiTls::SelfSigned,
            "HTTPS with its own certificate"
        );
        assert!(https.sign_in.required && https.sign_in.secure_cookie);
        let district = LaunchOptions {
            tls_cert: Some("cert.pem".into()),
            tls_key: Some("key.pem".into()),
            ..everyone.clone()
        }
        .resolve_with(&file(""), &kept)
        .unwrap();
        assert!(matches!(district.ui_tls, UiTls::Files { .. }));
        let Err(half) = LaunchOptions {
            tls_cert: Some("cert.pem".into()),
            ..everyone.clone()
        }
        .resolve_with(&file(""), &kept) else {
            panic!("a certificate without its key was accepted");
        };
        assert!(half.contains("ROLLCALL_TLS_KEY"), "{half}");
        let trusted = LaunchOptions {
            allow_plain_http: true,
            ..everyone
        }
        .resolve_with(&file(""), &kept)
        .unwrap();
        assert!(trusted.sign_in.required);
        assert!(!trusted.sign_in.secure_cookie);
        assert_eq!(trusted.ui_tls, UiTls::Off);
        let proxied = LaunchOptions::from_env(env(&[("ROLLCALL_REQUIRE_SIGN_IN", "1")]))
            .unwrap()
            .resolve_with(&file(""), &kept)
            .unwrap();
        assert!(proxied.sign_in.required && proxied.sign_in.secure_cookie);
        assert_eq!(proxied.sign_in.session_length.as_secs(), 12 * 3600);
        assert_eq!(parse_length("90m").unwrap().as_secs(), 5400);
        assert_eq!(parse_length("30s").unwrap().as_secs(), 30);
        assert_eq!(parse_length("0h"), None);
        assert_eq!(parse_length("12 hours"), None);
        let Err(err) = LaunchOptions::from_env(env(&[("ROLLCALL_SESSION_LENGTH", "soon")]))
            .unwrap()
            .resolve_with(&file(""), &kept)
        else {
            panic!("a session length of \"soon\" was accepted");
        };
        assert!(err.contains("ROLLCALL_SESSION_LENGTH"), "{err}");
    }

    #[test]
    fn a_bad_variable_is_a_sentence_naming_it() {
        let err = LaunchOptions::from_env(env(&[("ROLLCALL_UI_ADDR", "localhost")])).unwrap_err();
        assert!(
            err.starts_with("ROLLCALL_UI_ADDR is set to \"localhost\""),
            "{err}"
        );
        let err = LaunchOptions::from_env(env(&[("ROLLCALL_TUNNEL", "teleport")])).unwrap_err();
        assert!(err.starts_with("ROLLCALL_TUNNEL"), "{err}");
    }

    #[test]
    fn dreamclass_and_tunnel_come_from_the_file_with_options_on_top() {
        let file = file(
            "[dreamclass]\ntoken = \"file-token\"\ntenant = \"my-school\"\n\
             [tunnel]\nprovider = \"bore\"\nserver = \"bore.example.org\"\nsecret = \"s\"\n",
        );
        let options = LaunchOptions::from_env(env(&[
            ("ROLLCALL_DREAMCLASS_TENANT", "other-school"),
            ("ROLLCALL_BORE_SERVER", "127.0.0.1"),
        ]))
        .unwrap();
        let c = in_force(&options, &file, &KeptSecrets::default()).unwrap();
        assert_eq!(c.dreamclass.token, "file-token");
        assert_eq!(c.dreamclass.tenant, "other-school");
        match c.tunnel {
            TunnelConfig::Bore(b) => {
                assert_eq!(b.server, "127.0.0.1");
                assert_eq!(b.secret.as_deref(), Some("s"));
            }
            other => panic!("{other:?}"),
        }
        let c = options
            .resolve_with(&file, &KeptSecrets::default())
            .unwrap();
        let by: Vec<_> = c
            .overrides
            .list()
            .iter()
            .map(|o| (o.field, o.by.as_str()))
            .collect();
        assert_eq!(
            by,
            [
                (Field::DreamclassTenant, "ROLLCALL_DREAMCLASS_TENANT"),
                (Field::Tunnel, "ROLLCALL_BORE_SERVER"),
            ]
        );
        // What the file says stays what a save writes back.
        assert_eq!(c.settings.dreamclass.tenant, "my-school");
        // An option for a provider not in use overrides nothing.
        let unused = LaunchOptions::from_env(env(&[("ROLLCALL_NGROK_DOMAIN", "x.ngrok.app")]))
            .unwrap()
            .resolve_with(&file, &KeptSecrets::default())
            .unwrap();
        assert!(unused.overrides.get(Field::Tunnel).is_none());
        let off = LaunchOptions::from_env(env(&[("ROLLCALL_TUNNEL", "none")])).unwrap();
        let c = in_force(&off, &file, &KeptSecrets::default()).unwrap();
        assert!(matches!(c.tunnel, TunnelConfig::None));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(config::CONFIG_FILE),
            "[dreamclass]\ntokn = 1\n",
        )
        .unwrap();
        let err =
            crate::settings::read_file(dir.path()).expect_err("a mistake in the file is refused");
        assert!(
            err.starts_with("The [dreamclass] part of rollcall.toml"),
            "{err}"
        );
    }

    #[test]
    fn the_demo_signs_with_its_own_secret_in_its_own_folder() {
        let options = LaunchOptions::from_env(env(&[("ROLLCALL_DEMO", "1")])).unwrap();
        assert!(options.data_dir().ends_with("rollcall/demo"));
        let c = in_force(&options, &SettingsFile::default(), &KeptSecrets::default()).unwrap();
        assert!(c.webhook.auth().unwrap().key.is_some());
        let demo = options
            .resolve_with(&SettingsFile::default(), &KeptSecrets::default())
            .unwrap();
        assert_eq!(
            demo.overrides.get(Field::WebhookSecret).unwrap().message,
            "Set by the demo for this run; it cannot be changed here."
        );
        assert_eq!(
            demo.settings.webhook.secret, None,
            "the demo's secret is never saved"
        );
        assert!(
            !LaunchOptions::from_env(env(&[("ROLLCALL_DEMO", "0")]))
                .unwrap()
                .demo
        );
    }
}
