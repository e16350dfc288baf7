//! The CSV exports on PostgreSQL: core's query for the report, run in one `REPEATABLE READ
//! READ ONLY` transaction (so the progress total counted first matches the rows written, as
//! SQLite's read transaction does), each row written through core's `ReportWriter` as it
//! arrives.
//!
//! Invariant: memory stays flat whatever the number of rows. The rows are read through a
//! portal in batches of [`BATCH_ROWS`], never collected whole; a slow reader of the file
//! slows the export instead of filling memory.

use std::ops::ControlFlow;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, IsolationLevel, Transaction};
use rollcall_core::reports::{self, ExportError, ExportRequest, ReportWriter};
use rollcall_core::store::{ExportProgress, ExportProgressUpdate, ExportSink};

use super::row::PgRow;
use crate::connect::DatabaseUrl;
use crate::sql::{params, placeholders, refs};

/// Rows fetched per round trip: large enough that round trips cost nothing next to
/// decoding, small enough to keep memory flat (a few megabytes for the widest report).
const BATCH_ROWS: i32 = 4096;

/// Writes `request` into `out`. `url` names the database in errors (a server gone away is
/// told apart from a failed query, as for every other read).
pub fn export(
    c: &mut Client,
    url: &DatabaseUrl,
    request: &ExportRequest,
    out: ExportSink,
    progress: Option<ExportProgress>,
) -> Result<u64, ExportError> {
    let database_error = |e: &postgres::Error| ExportError::Store(crate::pool::store_error(url, e));
    let mut tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(|e| database_error(&e))?;
    let written = match progress {
        None => write(&mut tx, &database_error, request, out, &mut |_| {
            ControlFlow::Continue(())
        })?,
        Some(mut progress) => {
            let total_rows = count(&mut tx, &database_error, request)?;
            let mut tell = |rows_written| {
                progress(ExportProgressUpdate {
                    rows_written,
                    total_rows,
                })
            };
            if tell(0).is_break() {
                return Err(ExportError::Cancelled);
            }
            write(&mut tx, &database_error, request, out, &mut tell)?
        }
    };
    // Read only: committing only ends the snapshot.
    tx.commit().map_err(|e| database_error(&e))?;
    Ok(written)
}

/// How many rows the export writes, in the transaction's snapshot.
fn count(
    tx: &mut Transaction<'_>,
    database_error: &dyn Fn(&postgres::Error) -> ExportError,
    request: &ExportRequest,
) -> Result<u64, ExportError> {
    let (sql, values) = reports::count_query(request.kind, &request.filter, &request.options);
    let params = params(values);
    let rows: i64 = tx
        .query_one(&placeholders(&sql), &refs(&params))
        .map_err(|e| database_error(&e))?
        .get(0);
    Ok(rows as u64)
}

fn write(
    tx: &mut Transaction<'_>,
    database_error: &dyn Fn(&postgres::Error) -> ExportError,
    request: &ExportRequest,
    out: ExportSink,
    progress: reports::Progress<'_>,
) -> Result<u64, ExportError> {
    let db = |e: postgres::Error| database_error(&e);
    let mut writer = ReportWriter::start(request.kind, &request.options, out, progress)?;
    let (sql, values) = reports::report_query(request.kind, &request.filter, &request.options);
    let params = params(values);
    let statement = tx.prepare(&placeholders(&sql)).map_err(db)?;
    let portal = tx.bind(&statement, &refs(&params)).map_err(db)?;
    loop {
        let mut rows = tx.query_portal_raw(&portal, BATCH_ROWS).map_err(db)?;
        let mut in_batch = 0;
        while let Some(row) = rows.next().map_err(db)? {
            writer.row(&PgRow(&row))?;
            in_batch += 1;
        }
        if in_batch < BATCH_ROWS {
            break;
        }
    }
    writer.finish()
}
