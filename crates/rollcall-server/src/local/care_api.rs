//! Data care from the window: download a backup, choose how long raw deliveries are kept.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rollcall_core::store::care;
use rollcall_core::store::DATABASE_FILE;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A consistent copy of the database, made while Rollcall keeps receiving, as a download.
pub async fn download_backup(State(state): State<AppState>) -> ApiResult<Response> {
    let data_dir = state.info.data_dir.clone();
    let stamp = chrono::Local::now().format("%Y-%m-%d-%H%M%S").to_string();
    let temp = data_dir.join(format!("backup-{stamp}-{}.tmp", uuid::Uuid::new_v4()));
    let path = temp.clone();
    tokio::task::spawn_blocking(move || care::backup(&data_dir.join(DATABASE_FILE), &path))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "backup_failed",
                format!("The backup could not be made ({e}). Check that the disk has room, then try again."),
            )
        })?;
    let file = tokio::fs::File::open(&temp)
        .await
        .map_err(ApiError::internal)?;
    let length = file.metadata().await.map_err(ApiError::internal)?.len();
    // The open file stays readable after its name is removed, so nothing is left behind.
    let _ = tokio::fs::remove_file(&temp).await;
    let stream = futures::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut chunk = vec![0u8; 64 * 1024];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok::<_, std::io::Error>(chunk), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.sqlite3".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"rollcall-backup-{stamp}.db\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct RetentionForm {
    /// 0 keeps raw deliveries forever.
    days: u32,
}

/// `PUT /api/settings/retention`: saved, and what was deleted at once.
#[derive(Serialize, TS)]
pub struct RetentionSaved {
    ok: bool,
    /// Deliveries deleted at once because they are older than the new period.
    purged: usize,
}

/// How long raw deliveries are kept; purges at once what is now too old.
pub async fn set_retention(
    State(state): State<AppState>,
    Json(form): Json<RetentionForm>,
) -> ApiResult<Json<RetentionSaved>> {
    state
        .settings
        .update(move |s| {
            s.delivery_retention_days = form.days;
            Ok(())
        })
        .await?;
    let purged = crate::retention::purge_now(&state).await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            e.user_message(),
        )
    })?;
    Ok(Json(RetentionSaved { ok: true, purged }))
}
