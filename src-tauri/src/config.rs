//! What the desktop app starts the server with: the same `ROLLCALL_*` variables and
//! `rollcall.toml` as `rollcall serve`, with secrets from the OS keyring in between.
//!
//! Precedence, highest first: environment, OS keyring (webhook secrets), `rollcall.toml`,
//! defaults.
//! This mirrors `rollcall serve`'s resolution (crates/rollcall-cli/src/serve.rs), which lives in
//! a binary crate and so cannot be called from here yet.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rollcall_core::config::{self, BasicAuth, FileConfig};
use rollcall_core::{KeyEncoding, SigningKey};
use rollcall_server::{ApiConfig, ServerConfig, WebhookAuth};
use serde::Deserialize;

use crate::keyring_store::StoredSecrets;

/// Where the values come from; `std::env::var` in the app, a map in tests.
pub trait Environment {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// Everything the app needs to start its listeners.
pub struct DesktopConfig {
    pub server: ServerConfig,
    /// `ROLLCALL_DEMO=1`: feed the app a simulated school day, like `rollcall serve --demo`.
    pub demo: bool,
}

/// The data folder: `ROLLCALL_DATA_DIR`, or the platform's (a separate one for the demo, so
/// simulated attendance never mixes with the school's).
pub fn data_dir(env: &dyn Environment) -> PathBuf {
    match (env.get("ROLLCALL_DATA_DIR"), is_demo(env)) {
        (Some(dir), _) => PathBuf::from(dir),
        (None, false) => config::default_data_dir(),
        (None, true) => config::default_data_dir().join("demo"),
    }
}

fn is_demo(env: &dyn Environment) -> bool {
    env.get("ROLLCALL_DEMO")
        .is_some_and(|v| !matches!(v.as_str(), "0" | "false" | "no"))
}

/// Resolves the server configuration. The error is a sentence for the window.
pub fn resolve(
    env: &dyn Environment,
    data_dir: &Path,
    keyring: Option<&StoredSecrets>,
) -> Result<DesktopConfig, String> {
    let file = FileConfig::load(data_dir).map_err(|e| e.to_string())?;
    let demo = is_demo(env);
    let mut secret = env
        .get("ROLLCALL_WEBHOOK_SECRET")
        .or_else(|| keyring.and_then(|k| k.secret.clone()))
        .or(file.webhook_secret.clone());
    if demo && secret.is_none() {
        // The demo signs its traffic like DreamClass does, with a secret made for this run.
        secret = Some(format!("demo-{}", rollcall_core::model::now_ms()));
    }
    let encoding = match env.get("ROLLCALL_KEY_ENCODING") {
        Some(text) => text
            .parse::<KeyEncoding>()
            .map_err(|e| format!("ROLLCALL_KEY_ENCODING: {e}."))?,
        None => file.key_encoding.unwrap_or_default(),
    };
    let key = secret
        .as_deref()
        .map(|s| SigningKey::new(s, encoding))
        .transpose()?;
    let basic_auth = env
        .get("ROLLCALL_BASIC_AUTH")
        .or_else(|| keyring.and_then(|k| k.basic_auth.clone()))
        .or(file.basic_auth.clone())
        .map(|s| s.parse::<BasicAuth>())
        .transpose()
        .map_err(|e| e.to_string())?;

    let mut server = ServerConfig::new(data_dir.to_path_buf());
    server.webhook_addr = address(env, "ROLLCALL_WEBHOOK_ADDR")?
        .or(file.webhook_addr)
        .unwrap_or(server.webhook_addr);
    server.ui_addr = address(env, "ROLLCALL_UI_ADDR")?
        .or(file.ui_addr)
        .unwrap_or(server.ui_addr);
    server.auth = WebhookAuth {
        key,
        basic_auth,
        allow_unsigned: file.allow_unsigned.unwrap_or(false),
    };
    server.ui_dir = env
        .get("ROLLCALL_UI_DIR")
        .map(PathBuf::from)
        .or_else(find_ui_dir);
    server.notify_status_ids = file.notify_status_ids.clone().unwrap_or_default();
    server.dreamclass = dreamclass(env, &file)?;
    Ok(DesktopConfig { server, demo })
}

/// `[dreamclass]` from rollcall.toml, with `ROLLCALL_DREAMCLASS_*` on top.
fn dreamclass(env: &dyn Environment, file: &FileConfig) -> Result<ApiConfig, String> {
    let mut config = match &file.dreamclass {
        Some(table) => ApiConfig::deserialize(toml::Value::Table(table.clone()))
            .map_err(|e| format!("The [dreamclass] part of rollcall.toml has a mistake: {e}"))?,
        None => ApiConfig::default(),
    };
    if let Some(url) = env.get("ROLLCALL_DREAMCLASS_URL") {
        config.base_url = url;
    }
    if let Some(token) = env.get("ROLLCALL_DREAMCLASS_TOKEN") {
        config.token = token;
    }
    if let Some(tenant) = env.get("ROLLCALL_DREAMCLASS_TENANT") {
        config.tenant = tenant;
    }
    Ok(config)
}

fn address(env: &dyn Environment, name: &str) -> Result<Option<SocketAddr>, String> {
    env.get(name)
        .map(|text| {
            text.parse().map_err(|_| {
                format!("{name} is set to \"{text}\", which is not an address like 127.0.0.1:8787.")
            })
        })
        .transpose()
}

/// The built web UI: `ui` beside the program (an installed app), or `ui/dist` of the checkout
/// a development build was made in (`target/<profile>/rollcall-desktop`).
fn find_ui_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let exe_dir = exe.parent()?;
    [exe_dir.join("ui"), exe_dir.join("../../ui/dist")]
        .into_iter()
        .find(|dir| dir.join("index.html").is_file())
        .and_then(|dir| dir.canonicalize().ok())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Vars(HashMap<&'static str, &'static str>);

    impl Environment for Vars {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    fn vars(pairs: &[(&'static str, &'static str)]) -> Vars {
        Vars(pairs.iter().copied().collect())
    }

    #[test]
    fn environment_wins_over_keyring_and_keyring_over_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(config::CONFIG_FILE),
            "webhook_secret = \"from-file\"\nbasic_auth = \"file:pw\"\nnotify_status_ids = [3]\n",
        )
        .unwrap();
        let keyring = StoredSecrets {
            secret: Some("from-keyring".into()),
            basic_auth: None,
        };
        let sign = |c: &DesktopConfig| c.server.auth.key.as_ref().unwrap().sign("x");
        let expect = |s: &str| SigningKey::new(s, KeyEncoding::Text).unwrap().sign("x");

        let c = resolve(&vars(&[]), dir.path(), Some(&keyring)).unwrap();
        assert_eq!(sign(&c), expect("from-keyring"));
        assert_eq!(c.server.auth.basic_auth.unwrap().username, "file");
        assert_eq!(c.server.notify_status_ids, vec![3]);

        let c = resolve(&vars(&[]), dir.path(), None).unwrap();
        assert_eq!(sign(&c), expect("from-file"));

        let env = vars(&[
            ("ROLLCALL_WEBHOOK_SECRET", "from-env"),
            ("ROLLCALL_WEBHOOK_ADDR", "127.0.0.1:9999"),
        ]);
        let c = resolve(&env, dir.path(), Some(&keyring)).unwrap();
        assert_eq!(sign(&c), expect("from-env"));
        assert_eq!(c.server.webhook_addr.port(), 9999);
        assert!(!c.demo);
    }

    #[test]
    fn dreamclass_settings_come_from_the_file_with_the_environment_on_top() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(config::CONFIG_FILE),
            "[dreamclass]\ntoken = \"file-token\"\ntenant = \"my-school\"\n",
        )
        .unwrap();
        let env = vars(&[("ROLLCALL_DREAMCLASS_TENANT", "other-school")]);
        let c = resolve(&env, dir.path(), None).unwrap();
        assert_eq!(c.server.dreamclass.token, "file-token");
        assert_eq!(c.server.dreamclass.tenant, "other-school");
        std::fs::write(
            dir.path().join(config::CONFIG_FILE),
            "[dreamclass]\ntokn = 1\n",
        )
        .unwrap();
        let err = resolve(&vars(&[]), dir.path(), None).err().unwrap();
        assert!(
            err.starts_with("The [dreamclass] part of rollcall.toml"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_address_is_a_sentence_naming_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let env = vars(&[("ROLLCALL_UI_ADDR", "localhost")]);
        let err = resolve(&env, dir.path(), None).err().unwrap();
        assert!(
            err.starts_with("ROLLCALL_UI_ADDR is set to \"localhost\""),
            "{err}"
        );
    }

    #[test]
    fn demo_signs_with_a_secret_of_its_own_in_a_folder_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let env = vars(&[("ROLLCALL_DEMO", "1")]);
        let c = resolve(&env, dir.path(), None).unwrap();
        assert!(c.demo && c.server.auth.key.is_some());
        assert!(data_dir(&env).ends_with("rollcall/demo"));
        assert!(!is_demo(&vars(&[("ROLLCALL_DEMO", "0")])));
    }
}
