//! `rollcall migrate-to-postgres`: a school's SQLite history (attendance, the change log,
//! deliveries, request ids, names and status categories, listening periods and gaps,
//! counters) copied into a district server's PostgreSQL database.
//!
//! - **Resumable.** Each table is copied in key order in chunks, each chunk one transaction,
//!   so the target's largest key is where an interrupted run stopped; running it again goes
//!   on from there. The target remembers which source it is being filled from.
//! - **Verified.** Afterwards every table's row count and a SHA-256 over its rows in key order
//!   (the same canonical text on both sides) must match, or the command says which table
//!   differs.
//! - **Careful.** A target that holds other data is refused unless `force` (which empties it
//!   first). Sequence numbers are kept, so viewers' `Last-Event-ID`s stay valid, and each
//!   table's sequence continues after them.

use std::path::Path;

use postgres::types::ToSql;
use rollcall_core::rusqlite::{self, types::Value, OpenFlags};
use sha2::{Digest, Sha256};

use crate::connect::DatabaseUrl;
use crate::sql::{params, refs};

/// Rows per transaction.
const CHUNK: i64 = 5_000;

/// One table to copy: its key columns (the copy order) and its other columns.
struct Table {
    name: &'static str,
    key: &'static [&'static str],
    /// Key columns that are text (ordered bytewise, `COLLATE "C"`, on PostgreSQL, as SQLite
    /// orders them).
    text_keys: &'static [&'static str],
    columns: &'static [&'static str],
    /// The sequence behind an integer key, continued after the copied rows.
    sequence: Option<&'static str>,
}

const TABLES: &[Table] = &[
    Table {
        name: "requests",
        key: &["request_id"],
        text_keys: &["request_id"],
        columns: &["content_sha256", "first_seen"],
        sequence: None,
    },
    Table {
        name: "changes",
        key: &["seq"],
        text_keys: &[],
        columns: &[
            "recorded_at",
            "source",
            "request_id",
            "event_type",
            "event_ts",
            "tenant",
            "attendance_id",
            "date",
            "kind",
            "class_id",
            "course_id",
            "student_period_id",
            "status_before",
            "status_after",
            "comment_before",
            "comment_after",
        ],
        sequence: Some("changes_seq_seq"),
    },
    Table {
        name: "attendance",
        key: &["tenant", "attendance_id"],
        text_keys: &["tenant"],
        columns: &[
            "date",
            "kind",
            "class_id",
            "course_id",
            "status_id",
            "student_period_id",
            "comment",
            "deleted",
            "event_ts",
            "request_id",
            "last_seq",
        ],
        sequence: None,
    },
    Table {
        name: "deliveries",
        key: &["seq"],
        text_keys: &[],
        columns: &[
            "received_at",
            "request_id",
            "event_type",
            "tenant",
            "outcome",
            "status",
            "reason",
            "body",
            "body_bytes",
            "school",
        ],
        sequence: Some("deliveries_seq_seq"),
    },
    Table {
        name: "counters",
        key: &["name"],
        text_keys: &["name"],
        columns: &["value"],
        sequence: None,
    },
    Table {
        name: "reference_statuses",
        key: &["tenant", "id"],
        text_keys: &["tenant"],
        columns: &["name", "guessed_category", "user_category", "fetched_at"],
        sequence: None,
    },
    Table {
        name: "reference_students",
        key: &["tenant", "student_period_id"],
        text_keys: &["tenant"],
        columns: &[
            "student_id",
            "name",
            "class_id",
            "school_period_id",
            "active",
            "fetched_at",
        ],
        sequence: None,
    },
    Table {
        name: "reference_student_classes",
        key: &["tenant", "student_period_id", "class_id"],
        text_keys: &["tenant"],
        columns: &["fetched_at"],
        sequence: None,
    },
    Table {
        name: "reference_classes",
        key: &["tenant", "id"],
        text_keys: &["tenant"],
        columns: &["name", "school_period_id", "active", "fetched_at"],
        sequence: None,
    },
    Table {
        name: "reference_courses",
        key: &["tenant", "id"],
        text_keys: &["tenant"],
        columns: &["name", "fetched_at"],
        sequence: None,
    },
    Table {
        name: "listening_periods",
        key: &["id"],
        text_keys: &[],
        columns: &["started_at", "last_heartbeat", "stopped_at"],
        sequence: Some("listening_periods_id_seq"),
    },
    Table {
        name: "recovery_gaps",
        key: &["id"],
        text_keys: &[],
        columns: &["from_ms", "to_ms", "found_at", "recovered_at", "report"],
        sequence: Some("recovery_gaps_id_seq"),
    },
    // People and what they did come along; their sessions do not (everyone signs in again
    // on the district server).
    Table {
        name: "accounts",
        key: &["id"],
        text_keys: &[],
        columns: &[
            "username",
            "display_name",
            "role",
            "schools",
            "password_hash",
            "disabled",
            "failed_sign_ins",
            "locked_until",
            "created_at",
        ],
        sequence: Some("accounts_id_seq"),
    },
    Table {
        name: "audit_log",
        key: &["id"],
        text_keys: &[],
        columns: &["at", "who", "action", "detail"],
        sequence: Some("audit_log_id_seq"),
    },
];

impl Table {
    fn all_columns(&self) -> Vec<&'static str> {
        self.key.iter().chain(self.columns).copied().collect()
    }

    fn order(&self, postgres: bool) -> String {
        self.key
            .iter()
            .map(|k| {
                if postgres && self.text_keys.contains(k) {
                    format!("{k} COLLATE \"C\"")
                } else {
                    k.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How a table's copy went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    pub table: &'static str,
    pub rows: u64,
    /// Rows this run copied (fewer than `rows` when an earlier run had begun).
    pub copied: u64,
    pub sha256: String,
}

/// Why the import stopped; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("The SQLite database {0} cannot be read: {1}")]
    Source(String, String),
    #[error("The PostgreSQL database cannot be used: {0}")]
    Target(String),
    #[error(
        "The PostgreSQL database already holds attendance ({0} rows in {1}) that did not come \
         from this data folder. Choose an empty database, or run again with --force to empty it \
         first (its data is then lost)."
    )]
    NotEmpty(u64, &'static str),
    #[error(
        "After copying, {table} differs: {source_rows} rows here, {target_rows} in PostgreSQL \
         (or the same count with different content): the data folder changed since the copy \
         began. Make sure Rollcall is not running on it, then run the command again with --force \
         to copy everything anew."
    )]
    Mismatch {
        table: &'static str,
        source_rows: u64,
        target_rows: u64,
    },
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Source(String::new(), e.to_string())
    }
}

impl From<postgres::Error> for ImportError {
    fn from(e: postgres::Error) -> Self {
        Self::Target(crate::connect::describe(&e))
    }
}

/// Copies `sqlite` (a Rollcall database file) into `url`, then verifies every table.
/// Blocking. `progress` is told each table's rows as they are copied.
pub fn import(
    sqlite: &Path,
    url: &DatabaseUrl,
    force: bool,
    mut progress: impl FnMut(&str, u64),
) -> Result<Vec<TableReport>, ImportError> {
    let shown = sqlite.display().to_string();
    let source = rusqlite::Connection::open_with_flags(sqlite, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| ImportError::Source(shown.clone(), e.to_string()))?;
    let source_id = source_identity(sqlite);
    let mut target = url.connect_raw().map_err(|e| {
        ImportError::Target(format!("{}: {}", url.shown(), crate::connect::describe(&e)))
    })?;
    crate::schema::migrate(&mut target)?;
    target.batch_execute(
        "CREATE TABLE IF NOT EXISTS imported_from (source TEXT NOT NULL, started_at BIGINT NOT NULL)",
    )?;
    let from: Option<String> = target
        .query_opt("SELECT source FROM imported_from", &[])?
        .map(|r| r.get(0));
    let resuming = from.as_deref() == Some(source_id.as_str());
    if !resuming {
        if let Some((rows, table)) = first_non_empty(&mut target)? {
            if !force {
                return Err(ImportError::NotEmpty(rows, table));
            }
        }
        let mut tx = target.transaction()?;
        // Sessions are not copied but refer to the accounts that are: they go too.
        let names: Vec<&str> = TABLES.iter().map(|t| t.name).chain(["sessions"]).collect();
        tx.batch_execute(&format!("TRUNCATE {} RESTART IDENTITY", names.join(", ")))?;
        tx.execute("DELETE FROM imported_from", &[])?;
        tx.execute(
            "INSERT INTO imported_from (source, started_at) VALUES ($1, $2)",
            &[&source_id, &rollcall_core::model::now_ms()],
        )?;
        tx.commit()?;
    }
    let mut reports = Vec::new();
    for table in TABLES {
        let copied = copy_table(&source, &mut target, table, &mut progress)?;
        if let Some(sequence) = table.sequence {
            let key = table.key[0];
            target.execute(
                &format!(
                    "SELECT setval('{sequence}', GREATEST((SELECT COALESCE(MAX({key}), 0) FROM {}), 1), \
                     (SELECT COUNT(*) > 0 FROM {}))",
                    table.name, table.name
                ),
                &[],
            )?;
        }
        let (source_rows, source_sum) = checksum_sqlite(&source, table)?;
        let (target_rows, target_sum) = checksum_postgres(&mut target, table)?;
        if source_rows != target_rows || source_sum != target_sum {
            return Err(ImportError::Mismatch {
                table: table.name,
                source_rows,
                target_rows,
            });
        }
        reports.push(TableReport {
            table: table.name,
            rows: source_rows,
            copied,
            sha256: source_sum,
        });
    }
    Ok(reports)
}

/// The source as the target remembers it: the database file's full path.
fn source_identity(sqlite: &Path) -> String {
    let path = sqlite
        .canonicalize()
        .unwrap_or_else(|_| sqlite.to_path_buf());
    path.display().to_string()
}

fn first_non_empty(
    target: &mut postgres::Client,
) -> Result<Option<(u64, &'static str)>, ImportError> {
    for table in TABLES {
        let n: i64 = target
            .query_one(&format!("SELECT COUNT(*) FROM {}", table.name), &[])?
            .get(0);
        if n > 0 {
            return Ok(Some((n as u64, table.name)));
        }
    }
    Ok(None)
}

/// Copies the rows after the target's largest key, in chunks; returns how many it copied.
fn copy_table(
    source: &rusqlite::Connection,
    target: &mut postgres::Client,
    table: &Table,
    progress: &mut impl FnMut(&str, u64),
) -> Result<u64, ImportError> {
    let columns = table.all_columns();
    let list = columns.join(", ");
    let key_list = table.key.join(", ");
    let mut after: Option<Vec<Value>> = target
        .query_opt(
            &format!(
                "SELECT {key_list} FROM {} ORDER BY {} DESC LIMIT 1",
                table.name,
                table
                    .order(true)
                    .split(", ")
                    .collect::<Vec<_>>()
                    .join(" DESC, ")
            ),
            &[],
        )?
        .map(|row| (0..table.key.len()).map(|i| pg_value(&row, i)).collect());
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let insert = format!(
        "INSERT INTO {} ({list}) VALUES ({})",
        table.name,
        marks.join(", ")
    );
    let key_marks = vec!["?"; table.key.len()].join(", ");
    let mut copied = 0u64;
    loop {
        let (condition, mut values) = match &after {
            Some(key) => (format!("WHERE ({key_list}) > ({key_marks})"), key.clone()),
            None => (String::new(), Vec::new()),
        };
        values.push(Value::Integer(CHUNK));
        let sql = format!(
            "SELECT {list} FROM {} {condition} ORDER BY {} LIMIT ?",
            table.name,
            table.order(false)
        );
        let mut stmt = source.prepare(&sql)?;
        let rows: Vec<Vec<Value>> = stmt
            .query_map(rusqlite::params_from_iter(values), |r| {
                (0..columns.len()).map(|i| r.get::<_, Value>(i)).collect()
            })?
            .collect::<Result<_, _>>()?;
        if rows.is_empty() {
            return Ok(copied);
        }
        let mut tx = target.transaction()?;
        let statement = tx.prepare(&insert)?;
        for row in &rows {
            let params = params(row.clone());
            let refs: Vec<&(dyn ToSql + Sync)> = refs(&params);
            tx.execute(&statement, &refs)?;
        }
        tx.commit()?;
        copied += rows.len() as u64;
        progress(table.name, copied);
        after = rows.last().map(|r| r[..table.key.len()].to_vec());
        if (rows.len() as i64) < CHUNK {
            return Ok(copied);
        }
    }
}

/// A value read back from PostgreSQL, in the SQLite value it was copied from.
fn pg_value(row: &postgres::Row, i: usize) -> Value {
    use postgres::types::Type;
    let ty = row.columns()[i].type_();
    if *ty == Type::INT8 {
        row.get::<_, Option<i64>>(i)
            .map_or(Value::Null, Value::Integer)
    } else if *ty == Type::BYTEA {
        row.get::<_, Option<Vec<u8>>>(i)
            .map_or(Value::Null, Value::Blob)
    } else {
        row.get::<_, Option<String>>(i)
            .map_or(Value::Null, Value::Text)
    }
}

/// One value in the checksum's canonical text.
fn canonical(value: &Value, out: &mut Sha256) {
    match value {
        Value::Null => out.update(b"N"),
        Value::Integer(i) => out.update(format!("I{i}")),
        Value::Real(f) => out.update(format!("R{f}")),
        Value::Text(t) => {
            out.update(format!("T{}:", t.len()));
            out.update(t.as_bytes());
        }
        Value::Blob(b) => {
            out.update(format!("B{}:", b.len()));
            out.update(b);
        }
    }
    out.update([0x1f]);
}

fn checksum_sqlite(
    source: &rusqlite::Connection,
    table: &Table,
) -> Result<(u64, String), ImportError> {
    let columns = table.all_columns();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        table.name,
        table.order(false)
    );
    let mut stmt = source.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let (mut n, mut hash) = (0u64, Sha256::new());
    while let Some(row) = rows.next()? {
        for i in 0..columns.len() {
            canonical(&row.get::<_, Value>(i)?, &mut hash);
        }
        hash.update([0x1e]);
        n += 1;
    }
    Ok((n, hex::encode(hash.finalize())))
}

fn checksum_postgres(
    target: &mut postgres::Client,
    table: &Table,
) -> Result<(u64, String), ImportError> {
    use postgres::fallible_iterator::FallibleIterator;
    let columns = table.all_columns();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        table.name,
        table.order(true)
    );
    let mut rows = target.query_raw(&sql, std::iter::empty::<i64>())?;
    let (mut n, mut hash) = (0u64, Sha256::new());
    while let Some(row) = rows.next()? {
        for i in 0..columns.len() {
            canonical(&pg_value(&row, i), &mut hash);
        }
        hash.update([0x1e]);
        n += 1;
    }
    Ok((n, hex::encode(hash.finalize())))
}
