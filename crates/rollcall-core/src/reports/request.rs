//! [`ExportRequest`]: one export as a typed value (which report, which records, how it is
//! written). The download route, the desktop's "save to a file" and `rollcall export` all
//! build it here, so the same choices give the same bytes everywhere.

use serde::Deserialize;

use super::{parse_separator, CsvFormat, ExportOptions, ReportKind, ReportSettings};
use crate::filter::RecordFilter;

/// How an export is to be written, as a request gives it; absent values take the defaults
/// (plain CSV with `,`, no deleted records, the saved thresholds).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportParams {
    pub excel: Option<bool>,
    /// The column separator the UI derived from the browser's locale; `,` when absent.
    pub separator: Option<String>,
    pub include_deleted: Option<bool>,
    pub chronic_threshold: Option<f64>,
}

/// Why an export cannot be made as asked, in words for the person who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportRequestError {
    #[error(
        "There is no such report. Use attendance.csv, changes.csv, students.csv, classes.csv, \
         courses.csv or lessons-not-taken.csv."
    )]
    UnknownReport,
    /// A wrong filter, separator or threshold: the sentence says which and how to fix it.
    #[error("{0}")]
    BadValue(String),
}

/// One export: which report, which records, and how to write it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRequest {
    pub kind: ReportKind,
    pub filter: RecordFilter,
    pub options: ExportOptions,
}

impl ExportRequest {
    /// Checks and completes a request for the report named `report` (`attendance`), with
    /// `saved` the thresholds in force unless `params` chooses its own.
    pub fn new(
        report: &str,
        filter: RecordFilter,
        params: &ExportParams,
        saved: ReportSettings,
    ) -> Result<Self, ExportRequestError> {
        let kind = ReportKind::parse(report).ok_or(ExportRequestError::UnknownReport)?;
        filter.validate().map_err(ExportRequestError::BadValue)?;
        if kind == ReportKind::LessonsNotTaken {
            super::export_days(&filter).map_err(ExportRequestError::BadValue)?;
        }
        let separator = params
            .separator
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(parse_separator)
            .transpose()
            .map_err(|e| ExportRequestError::BadValue(format!("{e}.")))?;
        let mut settings = saved;
        if let Some(t) = params.chronic_threshold {
            settings.chronic_threshold =
                ReportSettings::check_threshold(t).map_err(ExportRequestError::BadValue)?;
        }
        let options = ExportOptions {
            format: CsvFormat::from_options(params.excel.unwrap_or(false), separator),
            include_deleted: params.include_deleted.unwrap_or(false),
            settings,
        };
        Ok(Self {
            kind,
            filter,
            options,
        })
    }

    /// The file name the report is offered under, such as `rollcall-attendance-2026-11-02.csv`.
    /// The file's name; `school`: the id of the one school it is narrowed to, if any.
    pub fn file_name(&self, school: Option<&str>) -> String {
        self.kind.file_name(&self.filter, school)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_checked_and_completed() {
        let params = ExportParams {
            excel: Some(true),
            separator: Some(";".into()),
            include_deleted: Some(true),
            chronic_threshold: Some(0.2),
        };
        let request = ExportRequest::new(
            "attendance",
            RecordFilter::default(),
            &params,
            ReportSettings::default(),
        )
        .unwrap();
        assert_eq!(request.kind, ReportKind::Attendance);
        assert!(request.options.include_deleted);
        assert_eq!(request.options.settings.chronic_threshold, 0.2);
        assert_eq!(request.file_name(None), "rollcall-attendance.csv");
        let saved = ReportSettings::default();
        let unknown = ExportRequest::new("grades", RecordFilter::default(), &params, saved);
        assert_eq!(unknown.unwrap_err(), ExportRequestError::UnknownReport);
        let wrong = ExportParams {
            chronic_threshold: Some(3.0),
            ..Default::default()
        };
        let refused = ExportRequest::new("students", RecordFilter::default(), &wrong, saved);
        assert!(matches!(refused, Err(ExportRequestError::BadValue(_))));
    }
}
