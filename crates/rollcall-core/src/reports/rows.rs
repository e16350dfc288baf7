//! [`ReportRow`]: a result row as the reports read it, whichever database gave it. The SQL
//! text and the CSV writing are shared by every backend; only decoding a row is theirs, so
//! the same data gives the same numbers and the same CSV bytes on SQLite and PostgreSQL.

use super::csv_output::ExportError;

/// One cell as the database gave it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a [u8]),
}

/// A row of a report query; columns are numbered from 0 as in the query's `SELECT`.
pub trait ReportRow {
    type Error;

    /// The cell as it is (NULL, a number or text).
    fn cell(&self, i: usize) -> Result<Cell<'_>, Self::Error>;

    /// An integer column (a count, an id, a time in milliseconds).
    fn int(&self, i: usize) -> Result<i64, Self::Error>;

    /// An integer column that may be NULL (`MAX` over no rows, a LEFT JOIN).
    fn opt_int(&self, i: usize) -> Result<Option<i64>, Self::Error>;

    /// A text column that may be NULL (a name not known yet).
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Error>;

    /// This backend's error as an export's.
    fn export_error(e: Self::Error) -> ExportError;
}

impl ReportRow for rusqlite::Row<'_> {
    type Error = rusqlite::Error;

    fn cell(&self, i: usize) -> rusqlite::Result<Cell<'_>> {
        use rusqlite::types::ValueRef;
        Ok(match self.get_ref(i)? {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(n) => Cell::Int(n),
            ValueRef::Real(f) => Cell::Real(f),
            ValueRef::Text(t) | ValueRef::Blob(t) => Cell::Text(t),
        })
    }

    fn int(&self, i: usize) -> rusqlite::Result<i64> {
        self.get(i)
    }

    fn opt_int(&self, i: usize) -> rusqlite::Result<Option<i64>> {
        self.get(i)
    }

    fn opt_text(&self, i: usize) -> rusqlite::Result<Option<String>> {
        self.get(i)
    }

    fn export_error(e: rusqlite::Error) -> ExportError {
        ExportError::Database(e)
    }
}
