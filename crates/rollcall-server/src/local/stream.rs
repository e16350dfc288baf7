//! The live stream (Server-Sent Events): every committed change, in order, exactly once.
//!
//! A client names the last sequence it has (`Last-Event-ID` or `?after=`); the stream first
//! replays the change log after it, then forwards live changes. It subscribes before reading
//! the log so nothing committed in between is missed, skips what it already sent, and reloads
//! from the log whenever it falls behind the broadcast.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use rollcall_core::filter::RecordFilter;
use rollcall_core::model::now_ms;
use rollcall_core::Change;
use rollcall_core::Scope;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use ts_rs::TS;

use super::query::ApiQuery;
use crate::auth::Person;
use crate::state::{AppState, Notice};

const CATCH_UP_PAGE: usize = 1000;

/// Every event the stream sends: `event` is the SSE event name, `data` its JSON.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(tag = "event", content = "data", rename_all = "camelCase")]
pub enum StreamEvent<'a> {
    /// A committed change; its `seq` is also the SSE id, so a reconnect resumes after it.
    /// Borrowed: every subscriber writes the same broadcast change without copying it.
    Change(&'a Change),
    /// Names changed: fetch `/api/reference` again.
    Reference(NoData),
    /// Settings, storage or the tunnel changed: fetch `/api/status` again.
    Status(NoData),
    /// The lesson cutoff passed with lessons still without attendance: tell the office.
    LessonsNotTaken(&'a crate::lesson_cutoff::LessonsNotTakenNotice),
    /// Sent after 15 s without any other event, so a quiet day is told from a dead connection.
    Ping(NoData),
}

/// The data of events that only say "something changed": `{}`.
#[derive(Debug, Clone, Copy, Default, Serialize, TS)]
pub struct NoData {}

impl StreamEvent<'_> {
    fn name(&self) -> &'static str {
        match self {
            Self::Change(_) => "change",
            Self::Reference(_) => "reference",
            Self::Status(_) => "status",
            Self::LessonsNotTaken(_) => "lessonsNotTaken",
            Self::Ping(_) => "ping",
        }
    }

    /// The event as the stream writes it.
    fn to_sse(&self) -> Event {
        let event = Event::default().event(self.name());
        let event = match self {
            Self::Change(change) => event.id(change.seq.to_string()).json_data(change),
            Self::LessonsNotTaken(notice) => event.json_data(notice),
            Self::Reference(data) | Self::Status(data) | Self::Ping(data) => event.json_data(data),
        };
        event.expect("stream events serialise")
    }
}

#[derive(serde::Deserialize)]
pub struct StreamQuery {
    after: Option<i64>,
}

pub async fn stream(
    State(state): State<AppState>,
    person: Person,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(query.after)
        .unwrap_or(0);
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(feed(state, person, after, tx));
    // A named event rather than a comment, so the page itself can tell a silent, dead
    // connection from a quiet school day.
    Sse::new(ReceiverStream::new(rx)).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .event(StreamEvent::Ping(NoData {}).to_sse()),
    )
}

type Sink = mpsc::Sender<Result<Event, Infallible>>;

/// Why feeding a subscriber stopped.
enum Stop {
    ClientGone,
    ReadFailed,
}

/// How often a signed-in person's stream checks that their session still stands (it ends
/// when the session expires, is signed out, the account is disabled, or its schools change;
/// a change made on this server is looked at at once, one made on another server of the
/// same database at this check).
const SESSION_CHECK_EVERY: Duration = Duration::from_secs(30);

async fn feed(state: AppState, person: Person, mut last: i64, tx: Sink) {
    let scope = &person.scope;
    let mut changes = state.store.subscribe();
    let mut notices = state.notices.subscribe();
    let mut stopping = state.stopping.clone();
    let mut session_check = tokio::time::interval(SESSION_CHECK_EVERY);
    session_check.tick().await; // the first tick is now: the guard has just checked
    if catch_up(&state, scope, &mut last, i64::MAX, &tx)
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            _ = stopping.changed() => return,
            _ = session_check.tick(), if person.session_hash.is_some() => {
                if !session_stands(&state, &person).await {
                    return;
                }
            }
            received = changes.recv() => {
                let result = match received {
                    Ok(change) if change.seq <= last => Ok(()),
                    Ok(change) => {
                        // A hole before this change would mean a missed broadcast: fill it
                        // from the log so the client never skips a sequence number.
                        let filled = if change.seq > last + 1 {
                            catch_up(&state, scope, &mut last, change.seq - 1, &tx).await
                        } else {
                            Ok(())
                        };
                        match filled {
                            Ok(()) if scope.allows(&change.tenant) => {
                                send_change(&tx, &change, &mut last).await
                            }
                            // Another school's: passed over, never sent.
                            Ok(()) => {
                                last = change.seq;
                                Ok(())
                            }
                            Err(stop) => Err(stop),
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        catch_up(&state, scope, &mut last, i64::MAX, &tx).await
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if result.is_err() {
                    return;
                }
            }
            notice = notices.recv() => {
                let sse = match &notice {
                    Ok(Notice::Reference) => StreamEvent::Reference(NoData {}).to_sse(),
                    Ok(Notice::Status) => StreamEvent::Status(NoData {}).to_sse(),
                    Ok(Notice::People) => {
                        if !session_stands(&state, &person).await {
                            return;
                        }
                        continue;
                    }
                    Ok(Notice::LessonsNotTaken(n)) => {
                        match crate::lesson_cutoff::notice_within(&state, scope, n).await {
                            Some(theirs) => StreamEvent::LessonsNotTaken(&theirs).to_sse(),
                            None => continue,
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => StreamEvent::Reference(NoData {}).to_sse(),
                    Err(broadcast::error::RecvError::Closed) => continue,
                };
                if tx.send(Ok(sse)).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn send_change(tx: &Sink, change: &Change, last: &mut i64) -> Result<(), Stop> {
    let event = StreamEvent::Change(change).to_sse();
    tx.send(Ok(event)).await.map_err(|_| Stop::ClientGone)?;
    *last = change.seq;
    Ok(())
}

/// Whether the stream may go on: the session still stands, and the person still sees the
/// schools the stream was opened for (an administrator who changes them ends the stream; the
/// client reconnects and gets what it may see now, a viewer's copy starts afresh).
async fn session_stands(state: &AppState, person: &Person) -> bool {
    let Some(hash) = &person.session_hash else {
        return true;
    };
    match state.store.session(hash, now_ms()).await {
        Ok(None) => false,
        Ok(Some((_, account))) => account.scope() == person.scope,
        // A database that cannot be read just now ends nothing: the next check tries again.
        Err(_) => true,
    }
}

/// Sends every logged change of `scope` with `last < seq <= up_to`.
async fn catch_up(
    state: &AppState,
    scope: &Scope,
    last: &mut i64,
    up_to: i64,
    tx: &Sink,
) -> Result<(), Stop> {
    loop {
        let after = *last;
        let page = state
            .store
            .changes_after(scope, after, CATCH_UP_PAGE, &RecordFilter::default())
            .await
            .map_err(|_| Stop::ReadFailed)?;
        let full = page.len() == CATCH_UP_PAGE;
        for change in page.iter().filter(|c| c.seq <= up_to) {
            send_change(tx, change, last).await?;
        }
        if !full || *last >= up_to {
            // Changes of other schools up to `up_to` are passed over, not waited for.
            if up_to != i64::MAX {
                *last = (*last).max(up_to);
            }
            return Ok(());
        }
    }
}
