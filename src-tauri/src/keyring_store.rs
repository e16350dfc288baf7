//! Secrets entered in the app (the webhook Secret and Basic credentials, the DreamClass API
//! token, tunnel tokens) in the OS keyring (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows) instead of the settings file.
//!
//! Every call blocks (D-Bus round trips, perhaps an unlock prompt): call from a blocking thread.

use keyring::Entry;
use rollcall_server::launch::KeptSecrets;
use rollcall_server::{secret_names, SecretStore};

/// The keyring "service" all of Rollcall's entries are filed under (the app's identifier);
/// each secret is an account named as in [`secret_names`].
const SERVICE: &str = "app.rollcall.desktop";

/// A keyring that answered when the app started.
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// Opens the keyring and reads Rollcall's entries, or says why there is no usable keyring
    /// (for example no Secret Service on the session bus, as under Xvfb in CI).
    pub fn open() -> Result<(Self, KeptSecrets), String> {
        Self::open_service(SERVICE)
    }

    fn open_service(service: &str) -> Result<(Self, KeptSecrets), String> {
        let store = Self {
            service: service.to_string(),
        };
        let mut kept = KeptSecrets::default();
        for name in secret_names::ALL {
            if let Some(value) = store.read(name)? {
                kept.0.insert(name.to_string(), value);
            }
        }
        Ok((store, kept))
    }

    fn entry(&self, account: &str) -> Result<Entry, String> {
        Entry::new(&self.service, account).map_err(|e| e.to_string())
    }

    fn read(&self, account: &str) -> Result<Option<String>, String> {
        match self.entry(account)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn write(&self, account: &str, value: Option<&str>) -> Result<(), String> {
        let entry = self.entry(account)?;
        match value {
            Some(value) => entry.set_password(value).map_err(|e| e.to_string()),
            None => match entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(e.to_string()),
            },
        }
    }
}

impl SecretStore for KeyringStore {
    fn save(&self, name: &str, value: Option<&str>) -> Result<(), String> {
        self.write(name, value)
            .map_err(|e| format!("the system keyring refused the secret: {e}"))
    }

    fn check(&self, name: &str, value: &str) -> Result<(), String> {
        if cfg!(windows) {
            fits_credential_manager(name, value)
        } else {
            // The Secret Service and the macOS Keychain have no size limit a DreamClass
            // token or a tunnel secret comes near.
            Ok(())
        }
    }
}

/// Windows' Credential Manager keeps a secret in at most 2,560 bytes
/// (`CRED_MAX_CREDENTIAL_BLOB_SIZE`), and the keyring crate stores text there as UTF-16: two
/// bytes a character, four for a character outside the Basic Multilingual Plane.
const CREDENTIAL_MANAGER_BYTES: usize = 2560;

/// A sentence when `value` is too long for Windows' Credential Manager. Refusing it beats the
/// alternative: the keyring would refuse it at save time and it would go to the settings file.
fn fits_credential_manager(name: &str, value: &str) -> Result<(), String> {
    let bytes = value.encode_utf16().count() * 2;
    if bytes <= CREDENTIAL_MANAGER_BYTES {
        return Ok(());
    }
    Err(format!(
        "{} is {} characters long, and Windows Credential Manager, where Rollcall keeps \
         secrets, holds at most {}. Check that only the {} was pasted, without anything \
         around it. Nothing was saved.",
        secret_label(name),
        value.chars().count(),
        CREDENTIAL_MANAGER_BYTES / 2,
        secret_noun(name),
    ))
}

fn secret_label(name: &str) -> &'static str {
    match name {
        secret_names::WEBHOOK_SECRET => "The webhook Secret",
        secret_names::BASIC_AUTH => "The webhook username and password",
        secret_names::DREAMCLASS_TOKEN => "The DreamClass API token",
        secret_names::NGROK_AUTHTOKEN => "The ngrok authtoken",
        secret_names::BORE_SECRET => "The bore server's secret",
        secret_names::DIGEST_SMTP_PASSWORD => "The e-mail digest's mail server password",
        secret_names::FORWARD_SECRET => "The forwarding secret",
        _ => "This secret",
    }
}

fn secret_noun(name: &str) -> &'static str {
    match name {
        secret_names::WEBHOOK_SECRET => "Secret",
        secret_names::BASIC_AUTH => "username and password",
        secret_names::DREAMCLASS_TOKEN | secret_names::NGROK_AUTHTOKEN => "token",
        secret_names::DIGEST_SMTP_PASSWORD => "password",
        _ => "secret",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_too_long_for_credential_manager_is_refused_with_a_sentence() {
        let token = secret_names::DREAMCLASS_TOKEN;
        assert!(fits_credential_manager(token, &"a".repeat(1280)).is_ok());
        let err = fits_credential_manager(token, &"a".repeat(1281)).unwrap_err();
        assert_eq!(
            err,
            "The DreamClass API token is 1281 characters long, and Windows Credential Manager, \
             where Rollcall keeps secrets, holds at most 1280. Check that only the token was \
             pasted, without anything around it. Nothing was saved."
        );
        // Characters outside the Basic Multilingual Plane take two UTF-16 units.
        assert!(fits_credential_manager(token, &"\u{1F600}".repeat(640)).is_ok());
        assert!(fits_credential_manager(token, &"\u{1F600}".repeat(641)).is_err());
    }

    /// Runs only where a keyring answers (a desktop session); elsewhere says so and passes, as
    /// the app itself then falls back to the settings file.
    #[test]
    fn saves_reads_back_and_removes_where_a_keyring_exists() {
        let service = format!("{SERVICE}.test-{}", std::process::id());
        let (store, found) = match KeyringStore::open_service(&service) {
            Ok(opened) => opened,
            Err(reason) => {
                eprintln!("NOTE: no OS keyring here ({reason}); keyring round trip not tested");
                return;
            }
        };
        assert!(found.0.is_empty());
        store
            .save(secret_names::WEBHOOK_SECRET, Some("s3cret"))
            .unwrap();
        store
            .save(secret_names::DREAMCLASS_TOKEN, Some("tok"))
            .unwrap();
        let (_, found) = KeyringStore::open_service(&service).unwrap();
        assert_eq!(found.0[secret_names::WEBHOOK_SECRET], "s3cret");
        assert_eq!(found.0[secret_names::DREAMCLASS_TOKEN], "tok");
        store.save(secret_names::WEBHOOK_SECRET, None).unwrap();
        store.save(secret_names::DREAMCLASS_TOKEN, None).unwrap();
        let (_, found) = KeyringStore::open_service(&service).unwrap();
        assert!(found.0.is_empty());
    }
}
