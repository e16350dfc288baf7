//! Keeps a viewer's copy up to date: names first, then every change after the copy's newest
//! (page by page from the change log), then the live stream from there. The stream itself
//! starts from the change log, so a change made between the last page and the stream's
//! start is neither skipped nor, thanks to the server's sequence numbers, stored twice.
//! When anything fails the copy stays as it is, the window says how old it is, and the
//! whole sequence starts again after a pause (at once after a sign-in).

use std::sync::Arc;
use std::time::Duration;

use rollcall_core::model::{now_ms, Change};
use rollcall_core::scope::Scope;
use rollcall_core::store::Store;
use tokio::sync::{broadcast, mpsc, watch};

use super::upstream::{StreamEvent, Trouble, PAGE};
use super::{Session, Viewer, ViewerConnection};
use crate::Notice;

/// The first pause after a failure, doubled up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const LONGEST_PAUSE: Duration = Duration::from_secs(15);
/// The most stream changes committed together (they arrive faster than one commit each).
const BATCH: usize = 512;

/// Starts keeping the copy up to date, and tells the window whenever the connection's state
/// changes. Both end when the server stops.
pub fn spawn(
    viewer: Arc<Viewer>,
    notices: broadcast::Sender<Notice>,
    stopping: watch::Receiver<bool>,
) {
    let mut states = viewer.subscribe();
    let status_notices = notices.clone();
    let mut status_stopping = stopping.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = status_stopping.wait_for(|stop| *stop) => return,
                changed = states.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let _ = status_notices.send(Notice::Status);
                }
            }
        }
    });
    tokio::spawn(keep_up_to_date(viewer, notices, stopping));
}

async fn keep_up_to_date(
    viewer: Arc<Viewer>,
    notices: broadcast::Sender<Notice>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut pause = FIRST_PAUSE;
    loop {
        if *stopping.borrow() {
            return;
        }
        let outcome = match viewer.session() {
            None => None,
            Some((session, generation)) => {
                let following = Following {
                    viewer: &viewer,
                    session: &session,
                    generation,
                    notices: &notices,
                };
                tokio::select! {
                    _ = stopping.wait_for(|stop| *stop) => return,
                    // Signed in as someone else, or out: follow the new session at once.
                    _ = viewer.wake.notified() => {
                        pause = FIRST_PAUSE;
                        continue;
                    }
                    ended = following.follow(&mut pause) => Some(ended),
                }
            }
        };
        let wait = match &outcome {
            // Nobody signed in: wait for a sign-in.
            None => Duration::MAX,
            Some(trouble) => {
                tracing::warn!(reason = trouble.sentence(), "the server's copy is not live");
                viewer.troubled(trouble);
                match trouble {
                    Trouble::SignInNeeded(_) => Duration::MAX,
                    _ => pause,
                }
            }
        };
        tokio::select! {
            _ = stopping.wait_for(|stop| *stop) => return,
            _ = viewer.wake.notified() => pause = FIRST_PAUSE,
            _ = tokio::time::sleep(wait.min(Duration::from_secs(86_400))) => {
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
        }
    }
}

/// One session being followed.
struct Following<'a> {
    viewer: &'a Viewer,
    session: &'a Session,
    /// Writes belong to this sign-in: dropped once another came.
    generation: u64,
    notices: &'a broadcast::Sender<Notice>,
}

impl Following<'_> {
    /// Catches up and follows the stream until something fails; returns what failed.
    async fn follow(&self, pause: &mut Duration) -> Trouble {
        let viewer = self.viewer;
        match self.catch_up().await {
            Err(trouble) => trouble,
            Ok(mut events) => {
                // Reached and caught up: the next failure starts with a short pause again.
                *pause = FIRST_PAUSE;
                loop {
                    let Some(first) = events.recv().await else {
                        return Trouble::Unreachable(format!(
                            "The live connection to {} ended.",
                            viewer.upstream.base()
                        ));
                    };
                    let mut batch = Vec::new();
                    let mut next = Some(first);
                    // Whatever else has already arrived goes into the same commit.
                    while let Some(event) = next {
                        match event {
                            Err(trouble) => {
                                if let Err(stored) = self.store(batch).await {
                                    return stored;
                                }
                                return trouble;
                            }
                            Ok(StreamEvent::Change(change)) => batch.push(*change),
                            Ok(StreamEvent::Reference) => {
                                if let Err(trouble) = self.copy_names().await {
                                    return trouble;
                                }
                            }
                            Ok(StreamEvent::Alive) => {}
                        }
                        next = if batch.len() < BATCH {
                            events.try_recv().ok()
                        } else {
                            None
                        };
                    }
                    if let Err(trouble) = self.store(batch).await {
                        return trouble;
                    }
                    // Still live: catch_up said so, and only a failure (which returns) or a
                    // sign-in (which interrupts) changes it.
                    mark_current(viewer);
                }
            }
        }
    }

    /// Names, then the change log after the copy's newest change, then the stream from there.
    async fn catch_up(&self) -> Result<mpsc::Receiver<Result<StreamEvent, Trouble>>, Trouble> {
        let (viewer, session) = (self.viewer, self.session);
        let schools = viewer.upstream.schools(&session.token).await?;
        viewer.check_schools(self.generation, schools).await?;
        self.copy_names().await?;
        let mut after = newest_in_copy(viewer).await?;
        loop {
            let page = viewer.upstream.changes_after(&session.token, after).await?;
            let full = page.changes.len() >= PAGE;
            if let Some(last) = page.changes.last() {
                after = after.max(last.seq);
            }
            self.store(page.changes).await?;
            if !full {
                break;
            }
        }
        let events = viewer.upstream.stream(&session.token, after).await?;
        viewer.update(|s| {
            s.connection = ViewerConnection::Live;
            s.message = format!(
                "Showing {}'s attendance live, as {}.",
                s.server,
                s.signed_in_as.as_deref().unwrap_or("you")
            );
        });
        mark_current(viewer);
        Ok(events)
    }

    async fn copy_names(&self) -> Result<(), Trouble> {
        let names = self.viewer.upstream.reference(&self.session.token).await?;
        let changed = self
            .viewer
            .write_names(self.generation, names)
            .await
            .map_err(copy_failed)?;
        if changed {
            let _ = self.notices.send(Notice::Reference);
        }
        Ok(())
    }

    async fn store(&self, changes: Vec<Change>) -> Result<(), Trouble> {
        if changes.is_empty() {
            return Ok(());
        }
        let newest = changes.iter().map(|c| c.seq).max().unwrap_or_default();
        self.viewer
            .write(self.generation, changes)
            .await
            .map_err(copy_failed)?;
        self.viewer
            .quietly(|s| s.copied_up_to = s.copied_up_to.max(newest));
        Ok(())
    }
}

async fn newest_in_copy(viewer: &Viewer) -> Result<i64, Trouble> {
    let newest = viewer
        .copy
        .last_change_seq(&Scope::all())
        .await
        .map_err(copy_failed)?;
    viewer.quietly(|s| s.copied_up_to = newest);
    Ok(newest)
}

/// The copy holds everything the server had a moment ago. Not a state change worth a
/// notice on its own (pings come every 15 s): the window reads it with the next status.
fn mark_current(viewer: &Viewer) {
    let now = now_ms();
    viewer.quietly(|s| s.last_contact_at = Some(now));
    // Kept in the data folder about once a minute, so that a restart while the server
    // cannot be reached still says how old the copy is.
    if viewer.last_contact_kept_before(now - KEEP_CONTACT_EVERY_MS) {
        viewer.keep_last_contact(now);
    }
}

/// How often, at most, the time of the last contact is written to the data folder.
const KEEP_CONTACT_EVERY_MS: i64 = 60_000;

fn copy_failed(e: rollcall_core::store::StoreError) -> Trouble {
    Trouble::Refused(format!(
        "Rollcall could not write this computer's copy ({e}). Check that the disk is not full."
    ))
}
