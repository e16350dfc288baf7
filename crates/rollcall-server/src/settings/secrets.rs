//! Which settings are secrets, in one table, and where they are kept: in a [`SecretStore`]
//! (the desktop's OS keyring) when there is one, else in `rollcall.toml` (readable by this
//! user only).

use std::collections::BTreeMap;

use rollcall_tunnel::TunnelConfig;

use super::file::write_into;
use super::{Settings, SettingsFile};

/// Keeps secrets somewhere safer than the settings file, such as the operating system's
/// keyring (the desktop app provides one). Secrets are named by [`secret_names`].
pub trait SecretStore: Send + Sync {
    /// Saves, or with `None` removes, one secret. Blocking: called off the async threads.
    fn save(&self, name: &str, value: Option<&str>) -> Result<(), String>;

    /// Whether this store can keep `value` at all (Windows' Credential Manager has a size
    /// limit), checked before anything is saved; a sentence for the user saying why not.
    fn check(&self, _name: &str, _value: &str) -> Result<(), String> {
        Ok(())
    }
}

/// The names of the secrets a [`SecretStore`] keeps.
pub mod secret_names {
    /// The Secret set in DreamClass (Settings > Integrations).
    pub const WEBHOOK_SECRET: &str = "webhook-secret";
    /// `username:password` set in DreamClass.
    pub const BASIC_AUTH: &str = "webhook-basic-auth";
    /// The DreamClass API token.
    pub const DREAMCLASS_TOKEN: &str = "dreamclass-token";
    pub const NGROK_AUTHTOKEN: &str = "ngrok-authtoken";
    pub const BORE_SECRET: &str = "bore-secret";
    /// The password of the mail server the daily digest is sent through.
    pub const DIGEST_SMTP_PASSWORD: &str = "digest-smtp-password";
    /// The secret forwarded deliveries are signed with.
    pub const FORWARD_SECRET: &str = "forward-secret";
    /// Every listed school's webhook Secret and Basic credentials, in one entry (see
    /// `settings::schools`: the keyring is read by these fixed names at start).
    pub const SCHOOL_SECRETS: &str = "school-webhook-secrets";
    pub const ALL: [&str; 8] = [
        WEBHOOK_SECRET,
        BASIC_AUTH,
        DREAMCLASS_TOKEN,
        NGROK_AUTHTOKEN,
        BORE_SECRET,
        DIGEST_SMTP_PASSWORD,
        FORWARD_SECRET,
        SCHOOL_SECRETS,
    ];
}

/// Secrets kept outside `rollcall.toml` (for example in the OS keyring), by the names in
/// [`secret_names`], as read when Rollcall starts.
#[derive(Debug, Clone, Default)]
pub struct KeptSecrets(pub BTreeMap<String, String>);

impl KeptSecrets {
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

/// One secret setting: its name in the [`SecretStore`] and where it sits in the file.
pub struct Secret {
    pub name: &'static str,
    /// The value in the file's shape; `None` when not set.
    pub get: fn(&SettingsFile) -> Option<String>,
    /// Puts a value in (or with `None` takes it out of) the file's shape. A secret whose part
    /// of the file is absent (an ngrok token while bore is chosen) is left alone.
    pub set: fn(&mut SettingsFile, Option<String>),
}

/// Every secret setting. A setting not listed here is written to `rollcall.toml` as it is.
pub const SECRETS: [Secret; 8] = [
    Secret {
        name: secret_names::WEBHOOK_SECRET,
        get: |f| f.webhook_secret.clone(),
        set: |f, v| f.webhook_secret = v,
    },
    Secret {
        name: secret_names::BASIC_AUTH,
        get: |f| f.basic_auth.clone(),
        set: |f, v| f.basic_auth = v,
    },
    Secret {
        name: secret_names::DREAMCLASS_TOKEN,
        get: |f| {
            f.dreamclass
                .as_ref()
                .map(|d| d.token.clone())
                .filter(|t| !t.is_empty())
        },
        set: |f, v| {
            if let Some(d) = &mut f.dreamclass {
                d.token = v.unwrap_or_default();
            }
        },
    },
    Secret {
        name: secret_names::NGROK_AUTHTOKEN,
        get: |f| match &f.tunnel {
            Some(TunnelConfig::Ngrok(n)) if !n.authtoken.is_empty() => Some(n.authtoken.clone()),
            _ => None,
        },
        set: |f, v| {
            if let Some(TunnelConfig::Ngrok(n)) = &mut f.tunnel {
                n.authtoken = v.unwrap_or_default();
            }
        },
    },
    Secret {
        name: secret_names::BORE_SECRET,
        get: |f| match &f.tunnel {
            Some(TunnelConfig::Bore(b)) => b.secret.clone().filter(|s| !s.is_empty()),
            _ => None,
        },
        set: |f, v| {
            if let Some(TunnelConfig::Bore(b)) = &mut f.tunnel {
                b.secret = v;
            }
        },
    },
    Secret {
        name: secret_names::DIGEST_SMTP_PASSWORD,
        get: |f| {
            f.digest
                .as_ref()
                .and_then(|d| d.smtp.password.clone())
                .filter(|p| !p.is_empty())
        },
        set: |f, v| {
            if let Some(d) = &mut f.digest {
                d.smtp.password = v;
            }
        },
    },
    Secret {
        name: secret_names::FORWARD_SECRET,
        get: |f| f.forward_secret.clone(),
        set: |f, v| f.forward_secret = v,
    },
    Secret {
        name: secret_names::SCHOOL_SECRETS,
        get: |f| super::schools::secrets_of(&f.schools),
        set: |f, v| super::schools::put_secrets(&mut f.schools, v),
    },
];

/// Refuses, with the store's sentence, a change that gives a secret a value `store` cannot
/// keep. Without this, such a secret would quietly go to the settings file instead.
pub(super) fn check_changed(
    store: &dyn SecretStore,
    old: &Settings,
    new: &Settings,
) -> Result<(), String> {
    let (mut old_file, mut new_file) = (SettingsFile::default(), SettingsFile::default());
    write_into(old, &mut old_file);
    write_into(new, &mut new_file);
    for secret in &SECRETS {
        let value = (secret.get)(&new_file);
        if let Some(value) = value.as_deref() {
            if Some(value) != (secret.get)(&old_file).as_deref() {
                store.check(secret.name, value)?;
            }
        }
    }
    Ok(())
}

/// Saves one changed secret in `store`. Returns whether it is kept there (then the settings
/// file must not hold it); on a store failure it goes to the file instead, with a warning,
/// rather than being lost.
pub(super) fn keep(store: &dyn SecretStore, name: &str, value: Option<&str>) -> bool {
    match store.save(name, value) {
        Ok(()) => true,
        Err(reason) => {
            tracing::warn!(
                %reason,
                secret = name,
                "the system keyring refused a secret; it is saved in rollcall.toml (readable by \
                 this user only) instead"
            );
            false
        }
    }
}
