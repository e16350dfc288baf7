//! From what the person starting Rollcall chose to a [`ServerConfig`]: the one place where
//! `rollcall serve` and the desktop app resolve their settings, so both read the same
//! `ROLLCALL_*` variables and `rollcall.toml` the same way.
//!
//! Precedence, highest first: flags or `ROLLCALL_*` variables, secrets kept outside the file
//! (the desktop's OS keyring), `rollcall.toml` in the data folder, defaults.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use rollcall_core::config::{self, BasicAuth, FileConfig};
use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_dreamclass::ApiConfig;
use rollcall_simulator::demo::{Demo, DemoTraffic};
use rollcall_tunnel::{BoreConfig, NgrokConfig, ProviderKind, TunnelConfig};
use serde::Deserialize;

use tokio::task::JoinHandle;

use crate::{secret_names, RunningServer, ServerConfig, WebhookAuth};

/// What was chosen on the command line or in `ROLLCALL_*` variables. Unset means "as in
/// rollcall.toml, else the default".
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    pub data_dir: Option<PathBuf>,
    /// A simulated school day and a fake DreamClass, in a data folder of their own.
    pub demo: bool,
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
}

/// Secrets kept outside `rollcall.toml` (for example in the OS keyring), by the names in
/// [`secret_names`].
#[derive(Debug, Clone, Default)]
pub struct KeptSecrets(pub BTreeMap<String, String>);

impl KeptSecrets {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned()
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
            demo: flag("ROLLCALL_DEMO"),
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
        })
    }

    /// The data folder: the one chosen, else the platform's (a separate one for the demo, so
    /// simulated attendance never mixes with the school's).
    pub fn data_dir(&self) -> PathBuf {
        match (&self.data_dir, self.demo) {
            (Some(dir), _) => dir.clone(),
            (None, false) => config::default_data_dir(),
            (None, true) => config::default_data_dir().join("demo"),
        }
    }

    /// Reads `rollcall.toml` from the data folder and resolves the server's configuration.
    pub fn resolve(&self, kept: &KeptSecrets) -> Result<ServerConfig, String> {
        let data_dir = self.data_dir();
        let file = FileConfig::load(&data_dir).map_err(|e| e.to_string())?;
        self.resolve_with(&file, kept)
    }

    /// As [`resolve`](Self::resolve), with the file already read.
    pub fn resolve_with(
        &self,
        file: &FileConfig,
        kept: &KeptSecrets,
    ) -> Result<ServerConfig, String> {
        let mut secret = self
            .webhook_secret
            .clone()
            .or_else(|| kept.get(secret_names::WEBHOOK_SECRET))
            .or_else(|| file.webhook_secret.clone());
        if self.demo && secret.is_none() {
            // The demo signs its traffic like DreamClass does, with a secret made for this run.
            secret = Some(format!("demo-{}", rollcall_core::model::now_ms()));
        }
        let encoding = self.key_encoding.or(file.key_encoding).unwrap_or_default();
        let key = secret
            .as_deref()
            .map(|s| SigningKey::new(s, encoding))
            .transpose()?;
        let basic_auth = self
            .basic_auth
            .clone()
            .or_else(|| kept.get(secret_names::BASIC_AUTH))
            .or_else(|| file.basic_auth.clone())
            .map(|s| s.parse::<BasicAuth>())
            .transpose()
            .map_err(|e| e.to_string())?;

        let mut server = ServerConfig::new(self.data_dir());
        server.webhook_addr = self
            .webhook_addr
            .or(file.webhook_addr)
            .unwrap_or(server.webhook_addr);
        server.ui_addr = self.ui_addr.or(file.ui_addr).unwrap_or(server.ui_addr);
        server.auth = WebhookAuth {
            key,
            basic_auth,
            allow_unsigned: self.allow_unsigned || file.allow_unsigned.unwrap_or(false),
        };
        server.ui_dir = self.ui_dir.clone().or_else(find_ui_dir);
        server.notify_status_ids = file.notify_status_ids.clone().unwrap_or_default();
        server.dreamclass = self.dreamclass(file, kept)?;
        server.dreamclass_options.recovery.lookback_days = server.dreamclass.recovery_lookback_days;
        server.tunnel = self.tunnel(file, kept)?;
        server.last_shown_public_url = file.last_shown_public_url.clone();
        if let Some(days) = file.delivery_retention_days {
            server.delivery_retention_days = days;
        }
        server.report_settings = file.report_settings().map_err(|e| e.to_string())?;
        Ok(server)
    }

    /// `[dreamclass]` from rollcall.toml, with the options on top.
    fn dreamclass(&self, file: &FileConfig, kept: &KeptSecrets) -> Result<ApiConfig, String> {
        let mut config = match &file.dreamclass {
            Some(table) => {
                ApiConfig::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
                    format!("The [dreamclass] part of rollcall.toml has a mistake: {e}")
                })?
            }
            None => ApiConfig::default(),
        };
        if let Some(token) = kept.get(secret_names::DREAMCLASS_TOKEN) {
            config.token = token;
        }
        if let Some(url) = &self.dreamclass_url {
            config.base_url = url.clone();
        }
        if let Some(token) = &self.dreamclass_token {
            config.token = token.clone();
        }
        if let Some(tenant) = &self.dreamclass_tenant {
            config.tenant = tenant.clone();
        }
        Ok(config)
    }

    /// `[tunnel]` from rollcall.toml, with the chosen provider and its options on top.
    fn tunnel(&self, file: &FileConfig, kept: &KeptSecrets) -> Result<TunnelConfig, String> {
        let saved = match &file.tunnel {
            Some(table) => TunnelConfig::deserialize(toml::Value::Table(table.clone()))
                .map_err(|e| format!("The [tunnel] part of rollcall.toml has a mistake: {e}"))?,
            None => TunnelConfig::None,
        };
        let config = match (self.tunnel.unwrap_or(saved.kind()), saved) {
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
        };
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

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
            config.dreamclass = school.api_config();
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn sign(c: &ServerConfig) -> String {
        c.auth.key.as_ref().unwrap().sign("x")
    }

    fn expect(secret: &str) -> String {
        SigningKey::new(secret, KeyEncoding::Text)
            .unwrap()
            .sign("x")
    }

    #[test]
    fn options_win_over_kept_secrets_and_kept_secrets_over_the_file() {
        let file: FileConfig = toml::from_str(
            "webhook_secret = \"from-file\"\nbasic_auth = \"file:pw\"\nnotify_status_ids = [3]\n",
        )
        .unwrap();
        let kept = KeptSecrets(
            [(
                secret_names::WEBHOOK_SECRET.to_string(),
                "from-keyring".to_string(),
            )]
            .into(),
        );
        let none = LaunchOptions::from_env(env(&[])).unwrap();
        let c = none.resolve_with(&file, &kept).unwrap();
        assert_eq!(sign(&c), expect("from-keyring"));
        assert_eq!(c.auth.basic_auth.unwrap().username, "file");
        assert_eq!(c.notify_status_ids, vec![3]);
        let c = none.resolve_with(&file, &KeptSecrets::default()).unwrap();
        assert_eq!(sign(&c), expect("from-file"));
        let options = LaunchOptions::from_env(env(&[
            ("ROLLCALL_WEBHOOK_SECRET", "from-env"),
            ("ROLLCALL_WEBHOOK_ADDR", "127.0.0.1:9999"),
        ]))
        .unwrap();
        let c = options.resolve_with(&file, &kept).unwrap();
        assert_eq!(sign(&c), expect("from-env"));
        assert_eq!(c.webhook_addr.port(), 9999);
    }

    #[test]
    fn report_thresholds_come_from_the_file_and_a_bad_one_stops_the_start_with_a_sentence() {
        let none = LaunchOptions::from_env(env(&[])).unwrap();
        let file: FileConfig = toml::from_str("[reports]\nabsences_per_day = 3\n").unwrap();
        let c = none.resolve_with(&file, &KeptSecrets::default()).unwrap();
        assert_eq!(c.report_settings.absences_per_day, 3);
        assert_eq!(c.report_settings.term_days, 90);
        let file: FileConfig = toml::from_str("[reports]\nterm_days = 500\n").unwrap();
        let Err(err) = none.resolve_with(&file, &KeptSecrets::default()) else {
            panic!("a term of 500 days was accepted");
        };
        assert!(err.contains("term_days = 500 is not possible"), "{err}");
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
        let file: FileConfig = toml::from_str(
            "[dreamclass]\ntoken = \"file-token\"\ntenant = \"my-school\"\n\
             [tunnel]\nprovider = \"bore\"\nserver = \"bore.example.org\"\nsecret = \"s\"\n",
        )
        .unwrap();
        let options = LaunchOptions::from_env(env(&[
            ("ROLLCALL_DREAMCLASS_TENANT", "other-school"),
            ("ROLLCALL_BORE_SERVER", "127.0.0.1"),
        ]))
        .unwrap();
        let c = options
            .resolve_with(&file, &KeptSecrets::default())
            .unwrap();
        assert_eq!(c.dreamclass.token, "file-token");
        assert_eq!(c.dreamclass.tenant, "other-school");
        match c.tunnel {
            TunnelConfig::Bore(b) => {
                assert_eq!(b.server, "127.0.0.1");
                assert_eq!(b.secret.as_deref(), Some("s"));
            }
            other => panic!("{other:?}"),
        }
        let off = LaunchOptions::from_env(env(&[("ROLLCALL_TUNNEL", "none")])).unwrap();
        let c = off.resolve_with(&file, &KeptSecrets::default()).unwrap();
        assert!(matches!(c.tunnel, TunnelConfig::None));
        let broken: FileConfig = toml::from_str("[dreamclass]\ntokn = 1\n").unwrap();
        let err = off
            .resolve_with(&broken, &KeptSecrets::default())
            .err()
            .expect("a mistake in the file is refused");
        assert!(
            err.starts_with("The [dreamclass] part of rollcall.toml"),
            "{err}"
        );
    }

    #[test]
    fn the_demo_signs_with_its_own_secret_in_its_own_folder() {
        let options = LaunchOptions::from_env(env(&[("ROLLCALL_DEMO", "1")])).unwrap();
        assert!(options.data_dir().ends_with("rollcall/demo"));
        let c = options
            .resolve_with(&FileConfig::default(), &KeptSecrets::default())
            .unwrap();
        assert!(c.auth.key.is_some());
        assert!(
            !LaunchOptions::from_env(env(&[("ROLLCALL_DEMO", "0")]))
                .unwrap()
                .demo
        );
    }
}
