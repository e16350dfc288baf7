//! Reading the school's names from the API and storing them: one refresh. The background
//! loop that decides when to refresh is in [`crate::service`].

use rollcall_core::store::IngestWriter;

use crate::client::DreamClassClient;
use crate::error::ApiError;
use crate::reference::{store_fetched, FetchedReference};

/// The most school periods whose students and classes one refresh reads.
const MAX_PERIODS: usize = 4;

/// Reads statuses, courses, and the students and classes of the current school period(s).
/// Parts that fail are left out (`None` or missing); the first error is returned with them.
pub async fn fetch_reference(client: &DreamClassClient) -> (FetchedReference, Option<ApiError>) {
    let mut fetched = FetchedReference::default();
    let mut first_error: Option<ApiError> = None;
    // A refused token or a wrong address fails every call the same way: stop at the first.
    let stops = |e: &ApiError| !e.is_transient();
    macro_rules! attempt {
        ($call:expr) => {
            match $call.await {
                Ok(v) => Some(v),
                Err(e) => {
                    let stop = stops(&e);
                    first_error.get_or_insert(e);
                    if stop {
                        return (fetched, first_error);
                    }
                    None
                }
            }
        };
    }
    fetched.statuses = attempt!(client.statuses());
    let today = chrono::Local::now().date_naive();
    let mut periods = attempt!(client.periods_for(today, today)).unwrap_or_default();
    periods.sort_by_key(|p| std::cmp::Reverse((p.current == Some(true), p.start, p.id)));
    periods.truncate(MAX_PERIODS);
    for period in &periods {
        if let Some(students) = attempt!(client.students(period.id)) {
            fetched.students.push((period.id, students));
        }
        if let Some(classes) = attempt!(client.classes(period.id)) {
            fetched.classes.push((period.id, classes));
        }
    }
    fetched.courses = attempt!(client.courses());
    (fetched, first_error)
}

/// What one refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshOutcome {
    /// A name the user sees changed (or arrived).
    pub changed: bool,
    /// The first thing that failed; what was read before and after it is stored.
    pub error: Option<ApiError>,
}

/// Reads the names from the API and stores them through the writer.
pub async fn refresh(
    client: &DreamClassClient,
    writer: &IngestWriter,
) -> Result<RefreshOutcome, rollcall_core::store::StoreError> {
    let (fetched, error) = fetch_reference(client).await;
    let now = rollcall_core::model::now_ms();
    let (tx, rx) = std::sync::mpsc::channel();
    writer
        .transact(move |t, _| {
            let _ = tx.send(store_fetched(t, &fetched, now)?);
            Ok(())
        })
        .await?;
    Ok(RefreshOutcome {
        changed: rx.try_recv().unwrap_or(false),
        error,
    })
}
