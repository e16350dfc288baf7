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
}

#[cfg(test)]
mod tests {
    use super::*;

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
