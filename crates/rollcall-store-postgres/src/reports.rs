//! Reports and exports on PostgreSQL. INTERIM: being ported; every function below panics
//! until then.
#![allow(unused_variables, clippy::todo)]

use chrono::NaiveDate;
use postgres::Client;
use rollcall_core::filter::RecordFilter;
use rollcall_core::reports::{Alert, ExportError, ExportRequest, ReportSettings, Summary};
use rollcall_core::store::{ExportProgress, ExportSink};
use rollcall_core::Scope;

pub fn summary(
    c: &mut Client,
    f: &RecordFilter,
    s: &ReportSettings,
) -> Result<Summary, postgres::Error> {
    todo!("port")
}
pub fn alerts(
    c: &mut Client,
    scope: &Scope,
    today: NaiveDate,
    s: &ReportSettings,
) -> Result<Vec<Alert>, postgres::Error> {
    todo!("port")
}
pub fn export(
    c: &mut Client,
    r: &ExportRequest,
    out: ExportSink,
    p: Option<ExportProgress>,
) -> Result<u64, ExportError> {
    todo!("port")
}
