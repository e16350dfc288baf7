//! The local API listener: the web UI, its JSON API and the live stream. Bound to loopback,
//! never exposed through a tunnel.

mod api;
mod assets;
mod care_api;
pub mod contract;
mod deliveries_api;
mod digest_api;
mod dreamclass_api;
pub mod guard;
mod query;
mod report_settings_api;
mod reports_api;
mod schools_api;
mod settings_answer;
pub use reports_api::{export_file_name, export_request, parse_export_request};
pub use rollcall_core::reports::ExportRequest;
mod stream;
mod test_event;
mod tunnel_api;
pub(crate) mod viewer_api;

use std::path::PathBuf;

use axum::extract::{Query, State};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};
use axum::Router;

use crate::auth;
use crate::error::{method_not_allowed, not_found};
use crate::state::AppState;

pub fn router(state: AppState, ui_dir: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route("/status", get(api::status))
        .route("/changes", get(api::changes_after))
        .route("/changes/latest", get(api::changes_latest))
        .route("/attendance", get(api::attendance))
        .route(
            "/records/{tenant}/{attendance_id}/history",
            get(api::record_history),
        )
        .route("/deliveries", get(api::deliveries))
        .route("/deliveries/recheck", post(deliveries_api::recheck))
        .route("/forwarding", get(deliveries_api::forwarding))
        .route("/settings/forwarding", put(deliveries_api::set_forwarding))
        .route("/board", get(api::board))
        .route("/reference", get(dreamclass_api::reference))
        .route("/dreamclass", get(dreamclass_api::overview))
        .route("/dreamclass/test", post(dreamclass_api::test_connection))
        .route(
            "/dreamclass/check",
            post(dreamclass_api::check_missed_changes),
        )
        .route("/settings/dreamclass", put(dreamclass_api::save_settings))
        .route(
            "/statuses/{status_id}/category",
            put(dreamclass_api::set_status_category),
        )
        .route("/test-event", post(test_event::test_event))
        .route("/settings", get(api::settings))
        .route("/settings/webhook", put(api::set_webhook_settings))
        .route(
            "/settings/notifications",
            put(api::set_notification_settings),
        )
        .route("/settings/retention", put(care_api::set_retention))
        .route(
            "/settings/digest",
            get(digest_api::get).put(digest_api::save),
        )
        .route("/digest/test", post(digest_api::send_test))
        .route(
            "/settings/reports",
            get(report_settings_api::get)
                .put(report_settings_api::save)
                .delete(report_settings_api::use_default),
        )
        .route("/backup", get(care_api::download_backup))
        .route(
            "/settings/tunnel",
            get(tunnel_api::settings).put(tunnel_api::save_settings),
        )
        .route("/tunnel/check", post(tunnel_api::check_now))
        .route("/tunnel/acknowledge-url", post(tunnel_api::acknowledge_url))
        .route("/stream", get(stream::stream))
        .merge(reports_api::routes())
        .merge(auth::people_api::routes())
        .route("/sign-out", post(auth::sign_in_api::sign_out))
        .route("/session/renew", post(auth::sign_in_api::renew))
        .merge(schools_api::routes())
        .merge(viewer_api::routes())
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(from_fn_with_state(
            state.clone(),
            auth::guard::require_person,
        ))
        // Before anyone is known: the session, signing in, the first administrator.
        .merge(auth::sign_in_api::open_routes())
        .merge(viewer_api::open_routes());
    let index_dir = ui_dir.clone();
    Router::new()
        .nest("/api", api)
        .route(
            "/",
            get(
                move |state: State<AppState>, query: Query<assets::TokenQuery>| {
                    assets::sign_in_by_link(state, query, index_dir.clone())
                },
            ),
        )
        .merge(assets::static_files(ui_dir))
        .layer(from_fn_with_state(
            state.clone(),
            guard::check_host_and_origin,
        ))
        .with_state(state)
}
