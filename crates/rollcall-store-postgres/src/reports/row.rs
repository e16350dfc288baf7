//! [`PgRow`]: a PostgreSQL result row as core's reports read it ([`ReportRow`]). Columns
//! are decoded by their type: the schema's integers are `BIGINT`, but expressions such as
//! the category `CASE` are `INTEGER`, so both widths read as `i64`.

use postgres::types::Type;
use postgres::Row;
use rollcall_core::reports::{Cell, ExportError, ReportRow};
use rollcall_core::store::StoreError;

pub struct PgRow<'a>(pub &'a Row);

impl PgRow<'_> {
    fn ty(&self, i: usize) -> &Type {
        self.0.columns()[i].type_()
    }
}

impl ReportRow for PgRow<'_> {
    type Error = postgres::Error;

    fn cell(&self, i: usize) -> Result<Cell<'_>, postgres::Error> {
        let ty = self.ty(i);
        let cell = if *ty == Type::INT8 {
            self.0.try_get::<_, Option<i64>>(i)?.map(Cell::Int)
        } else if *ty == Type::INT4 {
            self.0
                .try_get::<_, Option<i32>>(i)?
                .map(|n| Cell::Int(n.into()))
        } else if *ty == Type::FLOAT8 {
            self.0.try_get::<_, Option<f64>>(i)?.map(Cell::Real)
        } else {
            self.0
                .try_get::<_, Option<&str>>(i)?
                .map(|t| Cell::Text(t.as_bytes()))
        };
        Ok(cell.unwrap_or(Cell::Null))
    }

    fn int(&self, i: usize) -> Result<i64, postgres::Error> {
        if *self.ty(i) == Type::INT4 {
            Ok(self.0.try_get::<_, i32>(i)?.into())
        } else {
            self.0.try_get(i)
        }
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>, postgres::Error> {
        if *self.ty(i) == Type::INT4 {
            Ok(self.0.try_get::<_, Option<i32>>(i)?.map(i64::from))
        } else {
            self.0.try_get(i)
        }
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>, postgres::Error> {
        self.0.try_get(i)
    }

    /// A row that cannot be decoded (the query and the decoder disagree on a type).
    fn export_error(e: postgres::Error) -> ExportError {
        ExportError::Store(StoreError::Unavailable(crate::connect::describe(&e)))
    }
}
