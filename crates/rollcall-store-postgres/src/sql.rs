//! The bridge to the query text both backends share (`RecordFilter::conditions` and the
//! column lists in rollcall-core): SQLite's `?`/`?N` placeholders become PostgreSQL's `$N`,
//! and the filter's values become parameters.

use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use rollcall_core::rusqlite::types::Value;

/// A query's parameters, owned (filters build them at run time).
pub type Params = Vec<Box<dyn ToSql + Sync + Send>>;

/// Rewrites `?` (numbered in order) and `?N` placeholders as `$N`, leaving string literals
/// alone.
pub fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut next = 0usize;
    let mut chars = sql.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_string = !in_string;
                out.push(c);
            }
            '?' if !in_string => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    next += 1;
                    out.push_str(&format!("${next}"));
                } else {
                    out.push('$');
                    out.push_str(&digits);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The filter's values as PostgreSQL parameters (integers are `BIGINT`, text is `TEXT`).
pub fn params(values: Vec<Value>) -> Params {
    values
        .into_iter()
        .map(|v| -> Box<dyn ToSql + Sync + Send> {
            match v {
                Value::Null => Box::new(Null),
                Value::Integer(i) => Box::new(i),
                Value::Real(f) => Box::new(f),
                Value::Text(s) => Box::new(s),
                Value::Blob(b) => Box::new(b),
            }
        })
        .collect()
}

/// SQL NULL of whatever type the statement expects (a filter's NULL carries no type).
#[derive(Debug)]
pub struct Null;

impl ToSql for Null {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// `params` as the slice the client takes.
pub fn refs(params: &Params) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// ` WHERE a AND b` for the conditions given (empty when none).
pub fn where_clause(conditions: &[String], extra: &[&str]) -> String {
    let all: Vec<&str> = conditions
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .collect();
    if all.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", all.join(" AND "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order_outside_strings() {
        assert_eq!(
            placeholders("a = ? AND b IN (?, ?) AND c = '?'"),
            "a = $1 AND b IN ($2, $3) AND c = '?'"
        );
        assert_eq!(placeholders("x = ?2 OR y = ?1"), "x = $2 OR y = $1");
    }
}
