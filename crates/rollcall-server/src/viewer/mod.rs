//! The desktop (or any Rollcall) as a viewer of a Rollcall server: no webhook listener and
//! no tunnel here; the server's attendance is copied into this computer's own SQLite file,
//! change by change with the server's sequence numbers (`rollcall_core::store::replica`), so
//! the feed, history, board, reports, alerts and exports all read the copy, and still open
//! when the network is down.
//!
//! [`Viewer`] holds the connection: the person's session on the server (kept in the data
//! folder, readable by this user only; the password is never kept), and what the window
//! shows about it ([`ViewerState`]). `sync` keeps the copy up to date.

mod sync;
pub mod trust;
pub mod upstream;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::Url;
use rollcall_core::store::SqliteStore;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};
use ts_rs::TS;

use upstream::{Trouble, Upstream};

/// The file in the data folder that keeps the session on the server.
const SESSION_FILE: &str = "viewer-session.json";
/// The file that keeps when the copy last held everything the server had (ms, as text).
const CONTACT_FILE: &str = "viewer-last-contact";

/// The file that names whose copy this is, and of which schools (kept after a sign-out, for
/// the next sign-in).
const OWNER_FILE: &str = "viewer-copy-owner.json";

/// The schools a person sees, as the server last said (`None`: every school). A struct of
/// its own so that "every school" and "not asked yet" stay apart in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Schools {
    seen: Option<Vec<String>>,
}

/// Whose copy this is: another person, or the same person with other schools, starts it
/// afresh, so that nothing stays on this computer that its person may no longer see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CopyOwner {
    username: String,
    /// The schools the server said this person sees when the copy was last filled
    /// (`None`: every school), once asked since the sign-in.
    schools: Option<Schools>,
}

/// Which server this Rollcall shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewerConfig {
    /// The server's address, as people open it in a browser (`https://rollcall.district:8788/`).
    pub server: Url,
    /// The fingerprint of the server's certificate the person confirmed (a self-signed one);
    /// `None`: only certificates of public authorities are trusted.
    pub certificate: Option<String>,
    /// The data folder whose saved connection chose this server ("Connect to a Rollcall
    /// server" in the window), so that "Stop viewing" can forget it; `None` when chosen by
    /// `--viewer-of` or `ROLLCALL_VIEWER_OF` for this run.
    pub saved_in: Option<PathBuf>,
}

/// The file in a data folder that names the server this computer views.
pub const CONNECTION_FILE: &str = "viewer-of";

/// A server saved by "Connect to a Rollcall server": its address, and the fingerprint of its
/// certificate when the person confirmed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedServer {
    pub server: String,
    pub certificate: Option<String>,
}

/// The server saved in `dir`, if any: the address on the first line, a confirmed
/// certificate's fingerprint on the second.
pub fn saved_server(dir: &std::path::Path) -> Option<SavedServer> {
    let text = std::fs::read_to_string(dir.join(CONNECTION_FILE)).ok()?;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    Some(SavedServer {
        server: lines.next()?.to_string(),
        certificate: lines.next().map(str::to_string),
    })
}

/// Saves (or with `None` forgets) the server this computer views; read at the next start.
pub fn save_server(dir: &std::path::Path, server: Option<&ViewerConfig>) -> std::io::Result<()> {
    match server {
        Some(config) => {
            let mut text = format!("{}\n", config.server);
            if let Some(fingerprint) = &config.certificate {
                text.push_str(&format!("{fingerprint}\n"));
            }
            crate::settings::write_atomically(dir, CONNECTION_FILE, &text)
        }
        None => match std::fs::remove_file(dir.join(CONNECTION_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
    }
}

impl ViewerConfig {
    /// Reads the address a person typed; the error is a sentence saying what to type.
    pub fn parse(server: &str) -> Result<Self, String> {
        let typed = server.trim();
        let with_scheme = if typed.contains("://") {
            typed.to_string()
        } else {
            format!("https://{typed}")
        };
        let mut url = Url::parse(&with_scheme)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                format!(
                    "\"{typed}\" is not the address of a Rollcall server. Type it as the \
                     server's administrator gave it, such as https://rollcall.school.org:8788."
                )
            })?;
        // Paths are joined onto it: it must end with a slash to keep its own.
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        url.set_query(None);
        url.set_fragment(None);
        Ok(Self {
            server: url,
            certificate: None,
            saved_in: None,
        })
    }
}

/// How the copy stands, for the window's banner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ViewerConnection {
    /// Reaching the server and catching up.
    Connecting,
    /// Following the server's live stream: the copy is current.
    Live,
    /// The server cannot be reached: the copy is shown as it was at `lastContactAt`.
    Offline,
    /// Nobody is signed in (or the session ended): the copy waits for a sign-in.
    SignInNeeded,
}

/// `viewer` in `GET /api/status`: present only when this Rollcall shows a server's attendance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ViewerState {
    /// The server's address.
    pub server: String,
    pub connection: ViewerConnection,
    /// Who is signed in to the server, if anyone.
    pub signed_in_as: Option<String>,
    /// When the copy was last known to hold everything the server had (ms since the epoch):
    /// how old the copy is while the server cannot be reached.
    pub last_contact_at: Option<i64>,
    /// The newest change in the copy (the server's sequence number).
    pub copied_up_to: i64,
    /// One sentence for the window: what is happening and what to do.
    pub message: String,
}

/// The session on the server, as kept in the data folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    username: String,
    token: String,
}

/// The connection to the server, shared by the sync task and the local API.
pub struct Viewer {
    upstream: Upstream,
    saved_in: Option<PathBuf>,
    copy: SqliteStore,
    data_dir: PathBuf,
    session: Mutex<Option<Session>>,
    /// Who the copy's attendance was copied for: another person's sign-in starts it afresh.
    copy_owner: Mutex<Option<CopyOwner>>,
    state: watch::Sender<ViewerState>,
    /// A sign-in or sign-out: the sync task starts again at once instead of waiting.
    wake: Notify,
    /// When the time of the last contact was last written to the data folder.
    contact_kept_at: std::sync::atomic::AtomicI64,
    /// Counts sign-ins and sign-outs: a write to the copy made for an earlier one is dropped.
    generation: AtomicU64,
    /// Held while the copy is written, so that emptying it for another person cannot
    /// interleave with a write still in flight for the one before.
    writing: tokio::sync::Mutex<()>,
    /// The sign-in with the provider begun in the browser: its `state`, and when.
    openid: Mutex<Option<(String, std::time::Instant)>>,
}

/// Where the browser brings a provider sign-in back to, on this Rollcall's own listener.
pub const OPENID_DONE: &str = "/api/viewer/openid-done";
/// How long a provider sign-in begun in the browser may take.
const OPENID_LASTS: std::time::Duration = std::time::Duration::from_secs(10 * 60);

impl Viewer {
    /// The viewer of `config`'s server, with the session kept by an earlier run.
    pub fn new(config: ViewerConfig, copy: SqliteStore, data_dir: PathBuf) -> Arc<Self> {
        let session = read_session(&data_dir);
        let state = ViewerState {
            server: config.server.to_string(),
            connection: if session.is_some() {
                ViewerConnection::Connecting
            } else {
                ViewerConnection::SignInNeeded
            },
            signed_in_as: session.as_ref().map(|s| s.username.clone()),
            last_contact_at: std::fs::read_to_string(data_dir.join(CONTACT_FILE))
                .ok()
                .and_then(|t| t.trim().parse().ok()),
            copied_up_to: 0,
            message: match &session {
                Some(_) => format!("Connecting to {}…", config.server),
                None => sign_in_sentence(&config.server),
            },
        };
        Arc::new(Self {
            upstream: Upstream::new(config.server, config.certificate),
            saved_in: config.saved_in,
            copy,
            copy_owner: Mutex::new(
                std::fs::read_to_string(data_dir.join(OWNER_FILE))
                    .ok()
                    .and_then(|text| serde_json::from_str(&text).ok()),
            ),
            data_dir,
            session: Mutex::new(session),
            state: watch::channel(state).0,
            wake: Notify::new(),
            generation: AtomicU64::new(0),
            contact_kept_at: std::sync::atomic::AtomicI64::new(0),
            writing: tokio::sync::Mutex::new(()),
            openid: Mutex::new(None),
        })
    }

    /// Where "Stop viewing" forgets the connection, when it was saved from the window.
    pub fn saved_in(&self) -> Option<&std::path::Path> {
        self.saved_in.as_deref()
    }

    pub fn state(&self) -> ViewerState {
        self.state.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<ViewerState> {
        self.state.subscribe()
    }

    /// Signs in to the server with the person's username and password. The error is the
    /// server's sentence (wrong password, locked out) or why it could not be reached.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<(), Trouble> {
        let token = self.upstream.sign_in(username, password).await?;
        self.adopt(username, token).await
    }

    /// The provider the server also signs people in with ("Google"), if any.
    pub async fn openid_provider(&self) -> Result<Option<String>, Trouble> {
        self.upstream.openid_provider().await
    }

    /// Begins a sign-in with the provider in this computer's browser: the address to open
    /// there. The server sends the session back to `return_base` (this Rollcall's own
    /// loopback address) + [`OPENID_DONE`], with a one-time `state` only this viewer knows;
    /// a begun sign-in lasts ten minutes.
    pub fn begin_openid(&self, return_base: &str) -> Url {
        let state = crate::auth::session::new_token();
        let return_to = format!("{return_base}{OPENID_DONE}?state={state}");
        *self.openid.lock().expect("openid lock") = Some((state, std::time::Instant::now()));
        self.upstream.openid_start(&return_to)
    }

    /// The browser came back with `token` for the sign-in begun with `state`: the token is
    /// exchanged for a fresh one at once (the browser's history shows the first) and kept
    /// as a password sign-in's is. A `state` that is not the one begun is refused.
    pub async fn finish_openid(&self, state: &str, token: &str) -> Result<String, Trouble> {
        let begun = self.openid.lock().expect("openid lock").take();
        let expected = begun
            .filter(|(_, at)| at.elapsed() < OPENID_LASTS)
            .map(|(state, _)| state);
        let matches = expected
            .as_deref()
            .is_some_and(|e| crate::local::guard::tokens_equal(e.as_bytes(), state.as_bytes()));
        if !matches {
            return Err(Trouble::SignInNeeded(
                "This sign-in was not started from this Rollcall, or took longer than ten \
                 minutes. Press \"Sign in\" in Rollcall again."
                    .into(),
            ));
        }
        let token = self.upstream.renew(token).await?;
        let username = self.upstream.username(&token).await?;
        self.adopt(&username, token).await?;
        Ok(username)
    }

    /// Keeps a new session of `username` and follows the server with it.
    async fn adopt(&self, username: &str, token: String) -> Result<(), Trouble> {
        let session = Session {
            username: username.trim().to_lowercase(),
            token,
        };
        self.keep_session(Some(&session))
            .map_err(Trouble::Refused)?;
        // From here, writes for the earlier session are dropped; the lock waits for one in
        // flight.
        self.generation.fetch_add(1, Ordering::SeqCst);
        let _writing = self.writing.lock().await;
        let previous = self.copy_owner.lock().expect("owner lock").clone();
        let same_person = previous
            .as_ref()
            .is_some_and(|p| p.username == session.username);
        if previous.is_some() && !same_person {
            // What the last person could see is not this person's to see.
            self.clear_copy().await?;
        }
        self.keep_owner(CopyOwner {
            username: session.username.clone(),
            schools: previous.filter(|_| same_person).and_then(|p| p.schools),
        })?;
        let replaced = self
            .session
            .lock()
            .expect("session lock")
            .replace(session.clone());
        if let Some(old) = replaced.filter(|old| old.token != session.token) {
            // Signing in again: the session it replaces is ended on the server too.
            self.upstream.sign_out(&old.token).await;
        }
        self.update(|s| {
            s.connection = ViewerConnection::Connecting;
            s.signed_in_as = Some(session.username.clone());
            s.message = format!("Connecting to {}…", s.server);
        });
        self.wake.notify_one();
        Ok(())
    }

    /// Ends the session here and on the server; the copy stays until someone else signs in.
    pub async fn sign_out(&self) -> Result<(), String> {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let session = self.session.lock().expect("session lock").take();
        self.keep_session(None)?;
        if let Some(session) = session {
            self.upstream.sign_out(&session.token).await;
        }
        let server = self.upstream.base().clone();
        self.update(|s| {
            s.connection = ViewerConnection::SignInNeeded;
            s.signed_in_as = None;
            s.message = sign_in_sentence(&server);
        });
        self.wake.notify_one();
        Ok(())
    }

    /// The session to follow, and the generation writes for it belong to.
    fn session(&self) -> Option<(Session, u64)> {
        let session = self.session.lock().expect("session lock").clone()?;
        Some((session, self.generation.load(Ordering::SeqCst)))
    }

    async fn clear_copy(&self) -> Result<(), Trouble> {
        self.copy.clear_copy().await.map_err(|e| {
            Trouble::Refused(format!(
                "Rollcall could not empty this computer's copy ({e})."
            ))
        })
    }

    fn keep_owner(&self, owner: CopyOwner) -> Result<(), Trouble> {
        let text = serde_json::to_string(&owner).expect("an owner serialises");
        crate::settings::write_atomically(&self.data_dir, OWNER_FILE, &text).map_err(|e| {
            Trouble::Refused(format!(
                "Rollcall could not write to its data folder ({e})."
            ))
        })?;
        *self.copy_owner.lock().expect("owner lock") = Some(owner);
        Ok(())
    }

    /// The server says the person now sees `schools`: if the copy was filled for other
    /// schools, it starts afresh (a school taken away leaves nothing here; one added is
    /// copied from its first change). Nothing happens for a sign-in since `generation`.
    async fn check_schools(
        &self,
        generation: u64,
        schools: Option<Vec<String>>,
    ) -> Result<(), Trouble> {
        let _writing = self.writing.lock().await;
        if self.generation.load(Ordering::SeqCst) != generation {
            return Ok(());
        }
        let Some(owner) = self.copy_owner.lock().expect("owner lock").clone() else {
            return Ok(());
        };
        let schools = Schools { seen: schools };
        if owner.schools.as_ref() == Some(&schools) {
            return Ok(());
        }
        if owner.schools.is_some() {
            tracing::info!(
                schools = ?schools.seen,
                "the person's schools changed: the copy starts afresh"
            );
            self.clear_copy().await?;
        }
        self.keep_owner(CopyOwner {
            schools: Some(schools),
            ..owner
        })
    }

    /// Writes `changes` to the copy unless a sign-in or sign-out came since `generation`.
    async fn write(
        &self,
        generation: u64,
        changes: Vec<rollcall_core::model::Change>,
    ) -> Result<(), rollcall_core::store::StoreError> {
        let _writing = self.writing.lock().await;
        if self.generation.load(Ordering::SeqCst) != generation {
            return Ok(());
        }
        self.copy.replicate(changes).await.map(|_| ())
    }

    /// Writes the server's names to the copy, as [`write`](Self::write) does changes;
    /// returns whether a name shown changed.
    async fn write_names(
        &self,
        generation: u64,
        names: rollcall_core::store::reference::Reference,
    ) -> Result<bool, rollcall_core::store::StoreError> {
        use rollcall_core::store::Store;
        let _writing = self.writing.lock().await;
        if self.generation.load(Ordering::SeqCst) != generation {
            return Ok(false);
        }
        let now = rollcall_core::model::now_ms();
        let mut changed = false;
        for school in names.into_refresh() {
            changed |= self.copy.store_reference(school, now).await?;
        }
        Ok(changed)
    }

    /// The session ended on the server: forget it, and ask for a sign-in.
    fn session_ended(&self, sentence: &str) {
        *self.session.lock().expect("session lock") = None;
        if let Err(e) = self.keep_session(None) {
            tracing::warn!(error = %e, "the ended session could not be removed");
        }
        self.update(|s| {
            s.connection = ViewerConnection::SignInNeeded;
            s.signed_in_as = None;
            s.message = sentence.to_string();
        });
    }

    fn keep_session(&self, session: Option<&Session>) -> Result<(), String> {
        let cannot = |e: std::io::Error| {
            format!(
                "Rollcall could not keep the sign-in in {} ({e}). Check that the data folder \
                 can be written.",
                self.data_dir.display()
            )
        };
        match session {
            Some(session) => crate::settings::write_atomically(
                &self.data_dir,
                SESSION_FILE,
                &serde_json::to_string(session).expect("a session serialises"),
            )
            .map_err(cannot),
            None => match std::fs::remove_file(self.data_dir.join(SESSION_FILE)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(cannot(e)),
                _ => Ok(()),
            },
        }
    }

    /// Changes the state, telling subscribers only if it changed.
    fn update(&self, change: impl FnOnce(&mut ViewerState)) {
        self.state.send_if_modified(|state| {
            let before = state.clone();
            change(state);
            *state != before
        });
    }

    /// Whether the last contact was written to the data folder before `at` (or never).
    fn last_contact_kept_before(&self, at: i64) -> bool {
        self.contact_kept_at.load(Ordering::Relaxed) < at
    }

    /// Writes the time of the last contact (best effort: only the banner's age depends on it).
    fn keep_last_contact(&self, at: i64) {
        self.contact_kept_at.store(at, Ordering::Relaxed);
        let (dir, text) = (self.data_dir.clone(), at.to_string());
        tokio::task::spawn_blocking(move || {
            if let Err(e) = crate::settings::write_atomically(&dir, CONTACT_FILE, &text) {
                tracing::warn!(error = %e, "the time of the last contact could not be kept");
            }
        });
    }

    /// Changes what the next status read shows without telling the window now (progress of
    /// the copy, the time of the last contact: they change with every change and ping).
    fn quietly(&self, change: impl FnOnce(&mut ViewerState)) {
        self.state.send_if_modified(|state| {
            change(state);
            false
        });
    }

    /// The connection failed for `trouble`: what the window says.
    fn troubled(&self, trouble: &Trouble) {
        match trouble {
            Trouble::SignInNeeded(sentence) => self.session_ended(sentence),
            Trouble::Unreachable(why)
            | Trouble::Refused(why)
            | Trouble::Untrusted { sentence: why, .. } => self.update(|s| {
                s.connection = ViewerConnection::Offline;
                s.message = format!(
                    "{why} This window shows the copy kept on this computer; Rollcall keeps \
                     trying and catches up by itself."
                );
            }),
        }
    }
}

fn sign_in_sentence(server: &Url) -> String {
    format!("Sign in to {server} with your Rollcall username and password to see its attendance.")
}

fn read_session(data_dir: &std::path::Path) -> Option<Session> {
    let text = std::fs::read_to_string(data_dir.join(SESSION_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

pub use sync::spawn;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_address_becomes_the_servers_base() {
        let cases = [
            (
                "rollcall.school.org:8788",
                "https://rollcall.school.org:8788/",
            ),
            ("http://10.0.0.5:8788", "http://10.0.0.5:8788/"),
            (
                "https://district.org/rollcall?x=1#top",
                "https://district.org/rollcall/",
            ),
        ];
        for (typed, base) in cases {
            assert_eq!(ViewerConfig::parse(typed).unwrap().server.as_str(), base);
        }
        for wrong in ["", "ftp://x", "http://"] {
            let e = ViewerConfig::parse(wrong).unwrap_err();
            assert!(e.contains("not the address of a Rollcall server"), "{e}");
        }
    }
}
