//! Storage. [`api::Store`] is the contract (read it first); [`SqliteStore`] implements it
//! with one writer thread (group commit) and read-only connections for queries. Each other
//! module holds the SQL of one table or concern.

pub mod accounts;
pub mod api;
pub mod care;
pub mod connection;
pub mod counters;
pub mod ingest;
pub mod known_ids;
pub mod listening;
pub mod purge;
pub mod queries;
pub mod read_pool;
pub mod recheck;
pub mod recovery;
pub mod reference;
pub mod replica;
pub mod schema;
pub mod sqlite;
pub mod writer;

pub use api::{ExportProgress, ExportProgressUpdate, ExportSink, SharedStore, Store, StoreHealth};
pub use connection::{open_reader, open_writer, DATABASE_FILE};
pub use ingest::{IngestOutcome, RejectedDelivery, VerifiedDelivery};
pub use listening::Gap;
pub use purge::PurgedSchool;
pub use queries::{BoardGroup, BoardGrouping};
pub use read_pool::ReadPool;
pub use recheck::{KeptRefusal, RecheckRange, RecheckResult, RefusedForSecret};
pub use replica::Replicated;
pub use sqlite::SqliteStore;
pub use writer::IngestWriter;

pub use crate::store_error::StoreError;
