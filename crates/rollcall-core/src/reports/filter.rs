//! The filters every report takes: a date range, class, course, status and student.

use rusqlite::types::Value as SqlValue;
use serde::Deserialize;

/// Which attendance records a report covers. Dates are the attendance days (`YYYY-MM-DD`,
/// both ends included), not when Rollcall received them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportFilter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub class_id: Option<i64>,
    pub course_id: Option<i64>,
    /// For the change log: the status after the change.
    pub status_id: Option<i64>,
    pub student_period_id: Option<i64>,
}

impl ReportFilter {
    /// Checks the dates; the error is a sentence for the person who gave them.
    pub fn validate(&self) -> Result<(), String> {
        for (what, date) in [("first", &self.from), ("last", &self.to)] {
            if let Some(d) = date {
                if d.len() != 10 || chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                    return Err(format!(
                        "The {what} day `{d}` is not a date written YYYY-MM-DD."
                    ));
                }
            }
        }
        if let (Some(from), Some(to)) = (&self.from, &self.to) {
            if from > to {
                return Err(format!(
                    "The first day ({from}) comes after the last day ({to})."
                ));
            }
        }
        Ok(())
    }

    /// SQL conditions on a table aliased `alias` (attendance or changes), joined with AND,
    /// and their parameters. `status_column` is the column a status filter applies to.
    pub(crate) fn sql(&self, alias: &str, status_column: &str) -> (String, Vec<SqlValue>) {
        let mut conditions: Vec<String> = Vec::new();
        let mut params: Vec<SqlValue> = Vec::new();
        let mut add = |column: &str, op: &str, value: SqlValue| {
            conditions.push(format!("{alias}.{column} {op} ?"));
            params.push(value);
        };
        if let Some(d) = &self.from {
            add("date", ">=", d.clone().into());
        }
        if let Some(d) = &self.to {
            add("date", "<=", d.clone().into());
        }
        if let Some(v) = self.class_id {
            add("class_id", "=", v.into());
        }
        if let Some(v) = self.course_id {
            add("course_id", "=", v.into());
        }
        if let Some(v) = self.status_id {
            add(status_column, "=", v.into());
        }
        if let Some(v) = self.student_period_id {
            add("student_period_id", "=", v.into());
        }
        let sql = if conditions.is_empty() {
            "1".to_string()
        } else {
            conditions.join(" AND ")
        };
        (sql, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked() {
        let ok = ReportFilter {
            from: Some("2026-11-01".into()),
            to: Some("2026-11-28".into()),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let reversed = ReportFilter {
            from: Some("2026-11-28".into()),
            to: Some("2026-11-01".into()),
            ..Default::default()
        };
        assert!(reversed.validate().unwrap_err().contains("comes after"));
        let bad = ReportFilter {
            from: Some("2026-2-1".into()),
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("YYYY-MM-DD"));
    }

    #[test]
    fn conditions_name_the_alias() {
        let filter = ReportFilter {
            from: Some("2026-11-01".into()),
            status_id: Some(3),
            ..Default::default()
        };
        let (sql, params) = filter.sql("ch", "status_after");
        assert_eq!(sql, "ch.date >= ? AND ch.status_after = ?");
        assert_eq!(params.len(), 2);
        assert_eq!(ReportFilter::default().sql("a", "status_id").0, "1");
    }
}
