//! Reading the school's names from the API and storing them: one refresh. The background
//! loop that decides when to refresh is in [`crate::service`].

use rollcall_core::store::reference::FetchedStatus;
use rollcall_core::store::Store;

use crate::category::guess_category;
use crate::client::DreamClassClient;
use crate::decode::ApiStatus;
use crate::error::ApiError;
use crate::reference::FetchedReference;

/// The most school periods whose students and classes one refresh reads.
const MAX_PERIODS: usize = 4;

/// Reads statuses, courses, and the students and classes of the current school period(s).
/// Parts that fail are left out (`None` or missing); the first error is returned with them.
pub async fn fetch_reference(client: &DreamClassClient) -> (FetchedReference, Option<ApiError>) {
    let mut fetched = FetchedReference {
        tenant: client.config().tenant.trim().to_string(),
        ..FetchedReference::default()
    };
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
    fetched.statuses = attempt!(client.statuses()).map(|s| s.iter().map(guessed).collect());
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

/// A status with the category its name suggests (the user may correct it later).
fn guessed(status: &ApiStatus) -> FetchedStatus {
    FetchedStatus {
        id: status.id,
        name: status.name.clone(),
        guessed_category: guess_category(&status.name, status.category_hint.as_deref()),
    }
}

/// What one refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshOutcome {
    /// A name the user sees changed (or arrived).
    pub changed: bool,
    /// The first thing that failed; what was read before and after it is stored.
    pub error: Option<ApiError>,
}

/// Reads the names from the API and stores them, as the names of the school the connection
/// is for (its tenant). Without a tenant nothing is asked: the names would belong to no school.
pub async fn refresh(
    client: &DreamClassClient,
    store: &dyn Store,
) -> Result<RefreshOutcome, rollcall_core::store::StoreError> {
    if client.config().tenant.trim().is_empty() {
        return Ok(RefreshOutcome {
            changed: false,
            error: Some(ApiError::TenantNotSet),
        });
    }
    let (fetched, error) = fetch_reference(client).await;
    let now = rollcall_core::model::now_ms();
    let changed = store.store_reference(fetched, now).await?;
    Ok(RefreshOutcome { changed, error })
}
