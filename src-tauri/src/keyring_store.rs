//! The webhook Secret and Basic credentials in the OS keyring (Secret Service on Linux,
//! Keychain on macOS, Credential Manager on Windows) instead of the settings file.
//!
//! Every call blocks (D-Bus round trips, perhaps an unlock prompt): call from a blocking thread.

use keyring::Entry;
use rollcall_server::SecretStore;

/// The keyring "service" all of Rollcall's entries are filed under (the app's identifier).
const SERVICE: &str = "app.rollcall.desktop";
const SECRET_ACCOUNT: &str = "webhook-secret";
const BASIC_AUTH_ACCOUNT: &str = "webhook-basic-auth";

/// Secrets found in the keyring at start.
#[derive(Debug, Default, Clone)]
pub struct StoredSecrets {
    pub secret: Option<String>,
    /// `username:password`.
    pub basic_auth: Option<String>,
}

/// A keyring that answered when the app started.
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// Opens the keyring and reads Rollcall's entries, or says why there is no usable keyring
    /// (for example no Secret Service on the session bus, as under Xvfb in CI).
    pub fn open() -> Result<(Self, StoredSecrets), String> {
        Self::open_service(SERVICE)
    }

    fn open_service(service: &str) -> Result<(Self, StoredSecrets), String> {
        let store = Self {
            service: service.to_string(),
        };
        let secrets = StoredSecrets {
            secret: store.read(SECRET_ACCOUNT)?,
            basic_auth: store.read(BASIC_AUTH_ACCOUNT)?,
        };
        Ok((store, secrets))
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
    fn save(&self, secret: Option<&str>, basic_auth: Option<&str>) -> Result<(), String> {
        self.write(SECRET_ACCOUNT, secret)
            .and_then(|()| self.write(BASIC_AUTH_ACCOUNT, basic_auth))
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
        assert!(found.secret.is_none());
        store.save(Some("s3cret"), Some("office:pw")).unwrap();
        let (_, found) = KeyringStore::open_service(&service).unwrap();
        assert_eq!(found.secret.as_deref(), Some("s3cret"));
        assert_eq!(found.basic_auth.as_deref(), Some("office:pw"));
        store.save(None, None).unwrap();
        let (_, found) = KeyringStore::open_service(&service).unwrap();
        assert!(found.secret.is_none() && found.basic_auth.is_none());
    }
}
