//! CSV exports moved to [`crate::reports`]; these names stay here so existing paths keep
//! working.

pub use crate::reports::{neutralise_formula, ExportError};
