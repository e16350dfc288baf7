//! The one filter of attendance records and changes: the live feed, the attendance view, the
//! live stream's rows and every report take it, so a class or a date range means the same
//! rows everywhere.

use rusqlite::types::Value as SqlValue;
use serde::Deserialize;
use ts_rs::TS;

use crate::model::Change;
use crate::scope::Scope;

/// Which records or changes to show. Dates are the attendance days (`YYYY-MM-DD`, both ends
/// of a range included), not when Rollcall received them.
///
/// In TypeScript every field is optional: a query leaves out what it does not filter on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, TS)]
#[ts(optional_fields)]
#[serde(rename_all = "camelCase")]
pub struct RecordFilter {
    /// Exactly this day.
    pub date: Option<String>,
    /// The first day included.
    pub from: Option<String>,
    /// The last day included.
    pub to: Option<String>,
    pub class_id: Option<i64>,
    pub course_id: Option<i64>,
    /// For changes: the status after the change.
    pub status_id: Option<i64>,
    pub student_period_id: Option<i64>,
    pub attendance_id: Option<i64>,
    pub tenant: Option<String>,
    /// The tenants the reader may see, set by the store from the reader's [`Scope`], never
    /// from a request.
    #[serde(skip)]
    pub scope: Scope,
}

impl RecordFilter {
    /// This filter narrowed to `scope` (the store calls it before every filtered read).
    pub fn within(&self, scope: &Scope) -> RecordFilter {
        let mut narrowed = self.clone();
        narrowed.scope = self.scope.intersect(scope);
        narrowed
    }

    /// Checks the dates; the error is a sentence for the person who gave them.
    pub fn validate(&self) -> Result<(), String> {
        for (what, date) in [
            ("day", &self.date),
            ("first day", &self.from),
            ("last day", &self.to),
        ] {
            if let Some(d) = date {
                if d.len() != 10 || chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                    return Err(format!(
                        "The {what} `{d}` is not a date written YYYY-MM-DD."
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

    /// SQL conditions on the table aliased `alias` (attendance or changes; `""` for an
    /// unaliased table) and their parameters. `status_column` is the column a status filter
    /// applies to.
    pub fn conditions(
        &self,
        alias: &str,
        status_column: &str,
    ) -> (Vec<String>, Vec<SqlValue>) {
        let prefix = if alias.is_empty() {
            String::new()
        } else {
            format!("{alias}.")
        };
        let mut conditions = Vec::new();
        let mut params = Vec::new();
        let mut add = |column: &str, op: &str, value: SqlValue| {
            conditions.push(format!("{prefix}{column} {op} ?"));
            params.push(value);
        };
        if let Some(d) = &self.date {
            add("date", "=", d.clone().into());
        }
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
        if let Some(v) = self.attendance_id {
            add("attendance_id", "=", v.into());
        }
        if let Some(t) = &self.tenant {
            add("tenant", "=", t.clone().into());
        }
        if let Some(tenants) = self.scope.tenant_list() {
            if tenants.is_empty() {
                conditions.push("1 = 0".to_string());
            } else {
                let marks = vec!["?"; tenants.len()].join(", ");
                conditions.push(format!("{prefix}tenant IN ({marks})"));
                params.extend(tenants.iter().map(|t| SqlValue::from(t.clone())));
            }
        }
        (conditions, params)
    }

    /// [`conditions`](Self::conditions) joined with AND (`1 = 1` when there are none). The
    /// text is the same for SQLite and PostgreSQL but for its `?` placeholders.
    pub fn sql(&self, alias: &str, status_column: &str) -> (String, Vec<SqlValue>) {
        let (conditions, params) = self.conditions(alias, status_column);
        let sql = if conditions.is_empty() {
            "1 = 1".to_string()
        } else {
            conditions.join(" AND ")
        };
        (sql, params)
    }

    /// Whether a change passes this filter (for live rows; the same rules as the SQL).
    pub fn matches_change(&self, c: &Change) -> bool {
        self.date.as_ref().is_none_or(|d| &c.date == d)
            && self
                .from
                .as_ref()
                .is_none_or(|d| c.date.as_str() >= d.as_str())
            && self
                .to
                .as_ref()
                .is_none_or(|d| c.date.as_str() <= d.as_str())
            && self.class_id.is_none_or(|v| c.class_id == v)
            && self.course_id.is_none_or(|v| c.course_id == v)
            && self.status_id.is_none_or(|v| c.status_after == Some(v))
            && self
                .student_period_id
                .is_none_or(|v| c.student_period_id == v)
            && self.attendance_id.is_none_or(|v| c.attendance_id == v)
            && self.tenant.as_ref().is_none_or(|t| &c.tenant == t)
            && self.scope.allows(&c.tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_within_a_scope_never_sees_more_than_either() {
        let north = Scope::tenants(["north"]);
        assert_eq!(RecordFilter::default().within(&north).scope, north);
        let asked = RecordFilter::default().within(&Scope::tenants(["north", "south"]));
        assert_eq!(asked.within(&north).scope, north);
        assert_eq!(asked.within(&Scope::all()).scope, asked.scope);
    }

    #[test]
    fn dates_are_checked() {
        let ok = RecordFilter {
            from: Some("2026-11-01".into()),
            to: Some("2026-11-28".into()),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let reversed = RecordFilter {
            from: Some("2026-11-28".into()),
            to: Some("2026-11-01".into()),
            ..Default::default()
        };
        assert!(reversed.validate().unwrap_err().contains("comes after"));
        let bad = RecordFilter {
            from: Some("2026-2-1".into()),
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("YYYY-MM-DD"));
        let bad_day = RecordFilter {
            date: Some("yesterday".into()),
            ..Default::default()
        };
        assert_eq!(
            bad_day.validate().unwrap_err(),
            "The day `yesterday` is not a date written YYYY-MM-DD."
        );
    }

    #[test]
    fn conditions_name_the_alias_or_none() {
        let filter = RecordFilter {
            from: Some("2026-11-01".into()),
            status_id: Some(3),
            ..Default::default()
        };
        let (sql, params) = filter.sql("ch", "status_after");
        assert_eq!(sql, "ch.date >= ? AND ch.status_after = ?");
        assert_eq!(params.len(), 2);
        assert_eq!(
            filter.conditions("", "status_id").0,
            ["date >= ?", "status_id = ?"]
        );
        assert_eq!(RecordFilter::default().sql("a", "status_id").0, "1 = 1");
    }
}
