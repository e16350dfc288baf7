//! [`StoreError`]: why storage could not do what was asked, whichever backend holds the data.
//! Its own module so that the reports (which stream from storage) and the store (which
//! serves the reports) both name it without importing each other.

/// A storage failure. Its message is for the log; callers answer users without internals.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("the disk is full")]
    DiskFull,
    #[error("the database is locked by another program")]
    Busy,
    #[error("storage is shutting down")]
    Closed,
    #[error("storage failed: {0}")]
    Unavailable(String),
    /// The database server (PostgreSQL) cannot be reached; the store reconnects by itself.
    #[error("the database server cannot be reached: {0}")]
    Disconnected(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Self::DiskFull,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Self::Busy,
            _ => Self::Unavailable(e.to_string()),
        }
    }
}

impl StoreError {
    /// A sentence for the person at the computer, with what to do next.
    pub fn user_message(&self) -> &'static str {
        match self {
            Self::DiskFull => {
                "The computer's disk is full, so new attendance cannot be saved. Free some \
                 space; Rollcall resumes by itself and DreamClass will send again."
            }
            Self::Busy => {
                "Another program is holding Rollcall's database. Close other copies of Rollcall \
                 or backup tools; Rollcall resumes by itself."
            }
            Self::Closed => "Rollcall is shutting down. DreamClass will send again later.",
            Self::Unavailable(_) => {
                "Rollcall could not save to its database. Check the disk, then restart Rollcall."
            }
            Self::Disconnected(_) => {
                "Rollcall cannot reach its database server, so new attendance cannot be saved \
                 and DreamClass is told to send again later. Ask your IT team to check the \
                 database server; Rollcall reconnects by itself."
            }
        }
    }
}
