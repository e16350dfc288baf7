//! Reports: CSV exports, summaries and threshold alerts (docs/local-api.md).

use axum::Router;

use crate::state::AppState;

/// The report routes, nested under `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
}
