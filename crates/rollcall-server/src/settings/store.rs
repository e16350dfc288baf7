//! The one owner of the settings. Reading is `current()` or `subscribe()`; the only way to
//! change a setting is `update`, which checks, keeps the secrets safe, writes `rollcall.toml`
//! and then publishes, in that order, so that what is published is always what is saved.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rollcall_core::config::CONFIG_FILE;
use tokio::sync::{watch, Mutex};

use super::file::write_into;
use super::secrets::{check_changed, keep};
use super::{write_atomically, Overrides, SecretStore, Settings, SettingsFile, SECRETS};

/// Why a change was not made. Nothing was saved or published in every case.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The new settings cannot be used; the sentence says what to change.
    #[error("{0}")]
    Invalid(String),
    /// The change touches a setting chosen by a flag or variable at start.
    #[error("{0}")]
    SetAtStart(String),
    #[error("The settings could not be saved ({0}). Nothing was changed; try again.")]
    NotSaved(String),
}

/// Cheap to clone: every clone is the same store.
#[derive(Clone)]
pub struct SettingsStore {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    /// Where secrets go; `None`: in `rollcall.toml` (readable by this user only).
    secret_store: Option<Arc<dyn SecretStore>>,
    overrides: Overrides,
    /// The settings in force (the file's, with the overrides on top).
    published: watch::Sender<Settings>,
    /// Held for the whole of an update, so two saves never interleave their writes.
    saved: Mutex<Saved>,
}

/// What `rollcall.toml` and the secret store hold.
struct Saved {
    settings: Settings,
    /// Secrets that sit in the file although there is a secret store: the file had them at
    /// start, or the store refused them. They stay there until they change.
    secrets_in_file: BTreeSet<&'static str>,
}

impl SettingsStore {
    /// The store for `saved` (as `rollcall.toml` and the secret store hold them) with
    /// `overrides` on top.
    pub fn new(
        data_dir: PathBuf,
        saved: Settings,
        overrides: Overrides,
        secret_store: Option<Arc<dyn SecretStore>>,
    ) -> Self {
        let secrets_in_file = secrets_in_file(&data_dir);
        let (published, _) = watch::channel(overrides.apply(&saved));
        Self {
            inner: Arc::new(Inner {
                data_dir,
                secret_store,
                overrides,
                published,
                saved: Mutex::new(Saved {
                    settings: saved,
                    secrets_in_file,
                }),
            }),
        }
    }

    /// The settings in force now.
    pub fn current(&self) -> Settings {
        self.inner.published.borrow().clone()
    }

    /// Reads a part of the settings in force without copying the rest.
    pub fn with<T>(&self, read: impl FnOnce(&Settings) -> T) -> T {
        read(&self.inner.published.borrow())
    }

    /// The settings in force, then each change to them.
    pub fn subscribe(&self) -> watch::Receiver<Settings> {
        self.inner.published.subscribe()
    }

    /// The settings chosen by flags or variables at start.
    pub fn overrides(&self) -> &Overrides {
        &self.inner.overrides
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Whether secrets go to a secret store (the keyring) rather than `rollcall.toml`.
    pub fn has_secret_store(&self) -> bool {
        self.inner.secret_store.is_some()
    }

    /// Lets `change` edit the settings in force, then checks the result, saves it and
    /// publishes it. `change` refuses with a sentence by returning `Err`. On any refusal or
    /// failure nothing is saved and nothing is published. Returns the settings now in force.
    pub async fn update(
        &self,
        change: impl FnOnce(&mut Settings) -> Result<(), String> + Send,
    ) -> Result<Settings, SettingsError> {
        let mut saved = self.inner.saved.lock().await;
        let before = self.current();
        let mut after = before.clone();
        change(&mut after).map_err(SettingsError::Invalid)?;
        let overrides = &self.inner.overrides;
        overrides
            .refuse_changes(&before, &after)
            .map_err(SettingsError::SetAtStart)?;
        after.validate().map_err(SettingsError::Invalid)?;
        let to_save = overrides.without(&after, &saved.settings);
        if let Some(store) = self.inner.secret_store.as_deref() {
            check_changed(store, &saved.settings, &to_save).map_err(SettingsError::Invalid)?;
        }
        let job = SaveJob {
            data_dir: self.inner.data_dir.clone(),
            secret_store: self.inner.secret_store.clone(),
            old: saved.settings.clone(),
            new: to_save.clone(),
            secrets_in_file: saved.secrets_in_file.clone(),
        };
        // File and keyring calls block.
        let secrets_in_file = tokio::task::spawn_blocking(move || job.run())
            .await
            .map_err(|e| SettingsError::NotSaved(e.to_string()))?
            .map_err(|e| SettingsError::NotSaved(e.to_string()))?;
        *saved = Saved {
            settings: to_save,
            secrets_in_file,
        };
        self.inner.published.send_if_modified(|published| {
            let changed = *published != after;
            if changed {
                *published = after.clone();
            }
            changed
        });
        Ok(after)
    }
}

/// The secrets `rollcall.toml` holds now.
fn secrets_in_file(data_dir: &Path) -> BTreeSet<&'static str> {
    let file = super::file::read(data_dir).unwrap_or_default();
    SECRETS
        .iter()
        .filter(|s| (s.get)(&file).is_some())
        .map(|s| s.name)
        .collect()
}

struct SaveJob {
    data_dir: PathBuf,
    secret_store: Option<Arc<dyn SecretStore>>,
    old: Settings,
    new: Settings,
    secrets_in_file: BTreeSet<&'static str>,
}

impl SaveJob {
    /// Sends changed secrets to the secret store, writes the file, and returns which secrets
    /// the file now holds.
    fn run(mut self) -> std::io::Result<BTreeSet<&'static str>> {
        // Lines the settings do not cover (the listening addresses) are kept. A file that no
        // longer reads is replaced: it could not have been started with either.
        let mut file = super::file::read(&self.data_dir).unwrap_or_default();
        write_into(&self.new, &mut file);
        if let Some(store) = self.secret_store.as_deref() {
            let (mut old, mut new) = (SettingsFile::default(), SettingsFile::default());
            write_into(&self.old, &mut old);
            write_into(&self.new, &mut new);
            for secret in &SECRETS {
                let value = (secret.get)(&new);
                if value != (secret.get)(&old) {
                    if keep(store, secret.name, value.as_deref()) {
                        self.secrets_in_file.remove(secret.name);
                    } else {
                        self.secrets_in_file.insert(secret.name);
                    }
                }
                if !self.secrets_in_file.contains(secret.name) {
                    (secret.set)(&mut file, None);
                }
            }
        }
        let text = toml::to_string_pretty(&file).map_err(std::io::Error::other)?;
        write_atomically(&self.data_dir, CONFIG_FILE, &text)?;
        Ok(self.secrets_in_file)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex as StdMutex;

    use super::*;
    use crate::settings::{secret_names, Field};

    #[derive(Default)]
    struct Keyring(StdMutex<BTreeMap<String, String>>);

    impl SecretStore for Keyring {
        fn save(&self, name: &str, value: Option<&str>) -> Result<(), String> {
            let mut kept = self.0.lock().unwrap();
            match value {
                Some(v) => kept.insert(name.into(), v.into()),
                None => kept.remove(name),
            };
            Ok(())
        }
    }

    fn file_of(dir: &Path) -> String {
        std::fs::read_to_string(dir.join(CONFIG_FILE)).unwrap_or_default()
    }

    #[tokio::test]
    async fn an_invalid_update_saves_nothing_and_publishes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::new(
            dir.path().into(),
            Settings::default(),
            Overrides::default(),
            None,
        );
        let mut changes = store.subscribe();
        for change in [
            (|s: &mut Settings| {
                s.delivery_retention_days = 50_000;
                Ok(())
            }) as fn(&mut Settings) -> Result<(), String>,
            |s| {
                s.reports.term_days = 0;
                Ok(())
            },
            |s| {
                s.webhook.secret = Some("%%%".into());
                s.webhook.key_encoding = rollcall_core::KeyEncoding::Base64;
                Ok(())
            },
            |_| Err("The form was refused.".into()),
        ] {
            let err = store.update(change).await.unwrap_err();
            assert!(matches!(err, SettingsError::Invalid(_)), "{err:?}");
        }
        assert!(!dir.path().join(CONFIG_FILE).exists(), "nothing was saved");
        assert!(!changes.has_changed().unwrap(), "nothing was published");
        assert_eq!(store.current(), Settings::default());

        store
            .update(|s| {
                s.notify_status_ids = vec![4];
                Ok(())
            })
            .await
            .unwrap();
        assert!(changes.has_changed().unwrap());
        assert_eq!(changes.borrow_and_update().notify_status_ids, vec![4]);
        assert!(file_of(dir.path()).contains("notify_status_ids = [4]"));
    }

    #[tokio::test]
    async fn secrets_go_to_the_secret_store_and_stay_out_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = Arc::new(Keyring::default());
        let store = SettingsStore::new(
            dir.path().into(),
            Settings::default(),
            Overrides::default(),
            Some(keyring.clone()),
        );
        store
            .update(|s| {
                s.webhook.secret = Some("hush".into());
                s.dreamclass.token = "api-token".into();
                s.dreamclass.tenant = "my-school".into();
                Ok(())
            })
            .await
            .unwrap();
        let text = file_of(dir.path());
        assert!(
            !text.contains("hush") && !text.contains("api-token"),
            "{text}"
        );
        assert!(text.contains("my-school"), "{text}");
        let kept = keyring.0.lock().unwrap().clone();
        assert_eq!(kept[secret_names::WEBHOOK_SECRET], "hush");
        assert_eq!(kept[secret_names::DREAMCLASS_TOKEN], "api-token");
        // Removing a secret removes it from the keyring.
        store
            .update(|s| {
                s.webhook.secret = None;
                Ok(())
            })
            .await
            .unwrap();
        assert!(!keyring
            .0
            .lock()
            .unwrap()
            .contains_key(secret_names::WEBHOOK_SECRET));

        // Without a secret store they are in the file, readable by this user only.
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::new(
            dir.path().into(),
            Settings::default(),
            Overrides::default(),
            None,
        );
        store
            .update(|s| {
                s.webhook.secret = Some("hush".into());
                Ok(())
            })
            .await
            .unwrap();
        assert!(file_of(dir.path()).contains("webhook_secret = \"hush\""));
    }

    #[tokio::test]
    async fn every_schools_secrets_go_to_one_keyring_entry_and_come_back_at_start() {
        use crate::settings::{SchoolSettings, WebhookSettings};
        let dir = tempfile::tempdir().unwrap();
        let keyring = Arc::new(Keyring::default());
        let store = SettingsStore::new(
            dir.path().into(),
            Settings::default(),
            Overrides::default(),
            Some(keyring.clone()),
        );
        let school = |id: &str, secret: &str| SchoolSettings {
            id: id.into(),
            name: format!("School {id}"),
            tenant: format!("{id}-tenant"),
            webhook: WebhookSettings::signed(secret),
            api: Default::default(),
            reports: None,
        };
        store
            .update(|s| {
                s.schools = vec![school("north", "north-hush"), school("south", "south-hush")];
                s.schools[1].webhook.basic_auth = Some("office:pw-south".parse().unwrap());
                s.schools[1].api = crate::settings::SchoolApi {
                    token: Some("south-api-hush".into()),
                    base_url: Some("https://south.example/api".into()),
                };
                Ok(())
            })
            .await
            .unwrap();
        let text = file_of(dir.path());
        assert!(text.contains("id = \"south\""), "{text}");
        assert!(
            !text.contains("hush") && !text.contains("pw-south"),
            "{text}"
        );
        assert!(
            text.contains("dreamclass_base_url = \"https://south.example/api\""),
            "an address is no secret: {text}"
        );
        let kept = keyring.0.lock().unwrap().clone();
        let entry = &kept[secret_names::SCHOOL_SECRETS];
        assert!(
            entry.contains("north-hush")
                && entry.contains("pw-south")
                && entry.contains("south-api-hush"),
            "{entry}"
        );

        // At the next start the file and the keyring give the same schools back.
        let mut file = crate::settings::read_file(dir.path()).unwrap();
        for secret in &SECRETS {
            if let Some(value) = kept.get(secret.name) {
                (secret.set)(&mut file, Some(value.clone()));
            }
        }
        let read = crate::settings::settings_from(&file).unwrap();
        assert_eq!(read.schools, store.current().schools);
    }

    /// A keyring that keeps secrets of at most 8 characters, as Windows' Credential Manager
    /// keeps at most 1,280.
    #[derive(Default)]
    struct SmallKeyring(Keyring);

    impl SecretStore for SmallKeyring {
        fn save(&self, name: &str, value: Option<&str>) -> Result<(), String> {
            self.0.save(name, value)
        }
        fn check(&self, _name: &str, value: &str) -> Result<(), String> {
            if value.chars().count() > 8 {
                return Err("That secret is too long for this keyring.".into());
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_secret_the_keyring_cannot_keep_is_refused_and_nothing_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = Arc::new(SmallKeyring::default());
        let store = SettingsStore::new(
            dir.path().into(),
            Settings::default(),
            Overrides::default(),
            Some(keyring.clone()),
        );
        let changes = store.subscribe();
        let err = store
            .update(|s| {
                s.webhook.secret = Some("short".into());
                s.dreamclass.token = "a-token-far-too-long".into();
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(matches!(err, SettingsError::Invalid(_)), "{err:?}");
        assert_eq!(err.to_string(), "That secret is too long for this keyring.");
        assert!(keyring.0 .0.lock().unwrap().is_empty(), "nothing was kept");
        assert!(!dir.path().join(CONFIG_FILE).exists(), "nothing was saved");
        assert!(!changes.has_changed().unwrap(), "nothing was published");

        // A secret that fits goes through.
        store
            .update(|s| {
                s.webhook.secret = Some("short".into());
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(
            keyring.0 .0.lock().unwrap()[secret_names::WEBHOOK_SECRET],
            "short"
        );
    }

    #[tokio::test]
    async fn an_overridden_setting_is_refused_and_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let saved = Settings::default();
        let mut overrides = Overrides::default();
        overrides.add(Field::WebhookSecret, "ROLLCALL_WEBHOOK_SECRET");
        let mut in_force = saved.clone();
        in_force.webhook.secret = Some("from-variable".into());
        overrides.set_values(&in_force);
        let store = SettingsStore::new(dir.path().into(), saved, overrides, None);
        assert_eq!(
            store.current().webhook.secret.as_deref(),
            Some("from-variable")
        );
        let err = store
            .update(|s| {
                s.webhook.secret = Some("typed".into());
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(matches!(err, SettingsError::SetAtStart(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "The webhook Secret was set by ROLLCALL_WEBHOOK_SECRET when Rollcall was started, \
             so it cannot be changed here. Change it there and start Rollcall again."
        );
        // Other settings save; the overridden value stays in force and out of the file.
        store
            .update(|s| {
                s.delivery_retention_days = 10;
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(
            store.current().webhook.secret.as_deref(),
            Some("from-variable")
        );
        let text = file_of(dir.path());
        assert!(!text.contains("from-variable"), "{text}");
        assert!(text.contains("delivery_retention_days = 10"), "{text}");
    }
}
