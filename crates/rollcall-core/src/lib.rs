//! Rollcall's core: what a DreamClass attendance webhook must look like, how its signature is
//! checked, how it is stored durably, and how stored attendance is read and exported.
//!
//! Nothing here opens a socket or a window; `rollcall-server` and the desktop shell build on it.

pub mod accounts;
pub mod config;
pub mod envelope;
pub mod filter;
pub mod model;
pub mod reports;
pub mod scope;
pub mod signature;
pub mod store;
pub mod store_error;

pub use envelope::{AttendanceEventKind, AttendanceRecord, Envelope, EnvelopeError};
pub use model::{AttendanceRow, Change, ChangeSource, DeliveryOutcome, DeliveryRow};
pub use scope::Scope;
pub use signature::{KeyEncoding, SigningKey};

/// Re-exported for tests that look into the database file itself (other crates' tests and
/// the end-to-end tests); production code outside this crate reaches storage through
/// [`store::Store`] only.
pub use rusqlite;
