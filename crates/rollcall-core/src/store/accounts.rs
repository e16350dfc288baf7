//! Accounts, sessions and the audit log in the database: the SQL text both stores share (SQLite
//! runs it as written, PostgreSQL with its placeholders numbered) and SQLite's side of it.
//!
//! A session is found only while it has not expired and its account is not disabled: that
//! rule is in [`SESSION_SQL`] itself, so no caller can forget it.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::accounts::SignInAttempt;
use crate::accounts::{Account, AccountWrite, AuditEntry, EndSessions, Role, SessionRecord};

/// The account columns, in the order [`AccountColumns`] takes them.
const ACCOUNT_COLUMNS: &str = "id, username, display_name, role, schools, password_hash, \
     disabled, failed_sign_ins, locked_until, created_at";

pub fn accounts_sql() -> String {
    format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY username")
}

pub const INSERT_ACCOUNT_SQL: &str = "INSERT INTO accounts (username, display_name, role, \
     schools, password_hash, disabled, failed_sign_ins, created_at) \
     VALUES (?, ?, ?, ?, ?, ?, 0, ?) RETURNING id";

/// Saving over an account also lifts a lock: an administrator who resets a password means
/// the person to sign in now.
pub const UPDATE_ACCOUNT_SQL: &str = "UPDATE accounts SET username = ?, display_name = ?, \
     role = ?, schools = ?, password_hash = ?, disabled = ?, failed_sign_ins = 0, \
     locked_until = NULL WHERE id = ?";

pub const SIGN_IN_SUCCEEDED_SQL: &str =
    "UPDATE accounts SET failed_sign_ins = 0, locked_until = NULL WHERE id = ?";

/// One more wrong password; the lock falls once `?2` (lock after) are counted.
pub const SIGN_IN_FAILED_SQL: &str = "UPDATE accounts SET failed_sign_ins = failed_sign_ins + 1, \
     locked_until = CASE WHEN failed_sign_ins + 1 >= ?2 THEN ?3 ELSE locked_until END \
     WHERE id = ?1";

pub const INSERT_SESSION_SQL: &str = "INSERT INTO sessions (token_hash, account_id, csrf_token, \
     created_at, expires_at) VALUES (?, ?, ?, ?, ?)";

/// The live session of a token hash (`?1`) at time `?2`, with its account.
pub fn session_sql() -> String {
    let columns = ACCOUNT_COLUMNS
        .split(", ")
        .map(|c| format!("a.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT s.token_hash, s.account_id, s.csrf_token, s.created_at, s.expires_at, {columns} \
         FROM sessions s JOIN accounts a ON a.id = s.account_id \
         WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND a.disabled = 0"
    )
}

/// The SQL that ends sessions, with its one parameter.
pub fn end_sessions_sql(end: &EndSessions) -> (&'static str, SessionKey) {
    match end {
        EndSessions::One(hash) => (
            "DELETE FROM sessions WHERE token_hash = ?",
            SessionKey::Text(hash.clone()),
        ),
        EndSessions::OfAccount(id) => (
            "DELETE FROM sessions WHERE account_id = ?",
            SessionKey::Number(*id),
        ),
        EndSessions::ExpiredBy(now) => (
            "DELETE FROM sessions WHERE expires_at <= ?",
            SessionKey::Number(*now),
        ),
    }
}

/// The one parameter of [`end_sessions_sql`].
pub enum SessionKey {
    Text(String),
    Number(i64),
}

pub const INSERT_AUDIT_SQL: &str =
    "INSERT INTO audit_log (at, who, action, detail) VALUES (?, ?, ?, ?)";

/// The newest entries below id `?1`, at most `?2`.
pub const AUDIT_PAGE_SQL: &str = "SELECT id, at, who, action, detail FROM audit_log \
     WHERE id < ?1 ORDER BY id DESC LIMIT ?2";

/// An account's columns as read from either database, in [`ACCOUNT_COLUMNS`] order.
pub type AccountColumns = (
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    Option<i64>,
    i64,
);

/// An account from its columns. A role unknown to this version reads as a viewer, the least
/// it could be.
pub fn account_from_columns(c: AccountColumns) -> Account {
    Account {
        id: c.0,
        username: c.1,
        display_name: c.2,
        role: Role::parse(&c.3).unwrap_or(Role::Viewer),
        schools: c.4.map(|json| decode_schools(&json)),
        password_hash: c.5,
        disabled: c.6 != 0,
        failed_sign_ins: c.7.clamp(0, u32::MAX as i64) as u32,
        locked_until: c.8,
        created_at: c.9,
    }
}

/// The schools list as stored: a JSON array of tenants, `NULL` for every school.
pub fn encode_schools(schools: &Option<Vec<String>>) -> Option<String> {
    schools
        .as_ref()
        .map(|list| serde_json::to_string(list).expect("a list of strings serialises"))
}

/// A list that cannot be read gives no school at all, never every school.
fn decode_schools(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn account_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Account> {
    Ok(account_from_columns((
        r.get(at)?,
        r.get(at + 1)?,
        r.get(at + 2)?,
        r.get(at + 3)?,
        r.get(at + 4)?,
        r.get(at + 5)?,
        r.get(at + 6)?,
        r.get(at + 7)?,
        r.get(at + 8)?,
        r.get(at + 9)?,
    )))
}

pub fn accounts(c: &Connection) -> rusqlite::Result<Vec<Account>> {
    let mut stmt = c.prepare_cached(&accounts_sql())?;
    let rows = stmt.query_map([], |r| account_row(r, 0))?;
    rows.collect()
}

pub fn save_account(t: &Transaction<'_>, a: &AccountWrite) -> rusqlite::Result<i64> {
    let schools = encode_schools(&a.schools);
    match a.id {
        None => t.query_row(
            INSERT_ACCOUNT_SQL,
            params![
                a.username,
                a.display_name,
                a.role.as_str(),
                schools,
                a.password_hash,
                a.disabled as i64,
                a.created_at
            ],
            |r| r.get(0),
        ),
        Some(id) => {
            t.execute(
                UPDATE_ACCOUNT_SQL,
                params![
                    a.username,
                    a.display_name,
                    a.role.as_str(),
                    schools,
                    a.password_hash,
                    a.disabled as i64,
                    id
                ],
            )?;
            Ok(id)
        }
    }
}

pub fn note_sign_in(
    t: &Transaction<'_>,
    account_id: i64,
    attempt: SignInAttempt,
) -> rusqlite::Result<()> {
    match attempt {
        SignInAttempt::Succeeded => t.execute(SIGN_IN_SUCCEEDED_SQL, params![account_id])?,
        SignInAttempt::Failed {
            lock_after,
            lock_until,
        } => t.execute(
            SIGN_IN_FAILED_SQL,
            params![account_id, lock_after as i64, lock_until],
        )?,
    };
    Ok(())
}

pub fn create_session(t: &Transaction<'_>, s: &SessionRecord) -> rusqlite::Result<()> {
    t.execute(
        INSERT_SESSION_SQL,
        params![
            s.token_hash,
            s.account_id,
            s.csrf_token,
            s.created_at,
            s.expires_at
        ],
    )?;
    Ok(())
}

pub fn session(
    c: &Connection,
    token_hash: &str,
    now: i64,
) -> rusqlite::Result<Option<(SessionRecord, Account)>> {
    c.prepare_cached(&session_sql())?
        .query_row(params![token_hash, now], |r| {
            Ok((
                SessionRecord {
                    token_hash: r.get(0)?,
                    account_id: r.get(1)?,
                    csrf_token: r.get(2)?,
                    created_at: r.get(3)?,
                    expires_at: r.get(4)?,
                },
                account_row(r, 5)?,
            ))
        })
        .optional()
}

pub fn end_sessions(t: &Transaction<'_>, end: &EndSessions) -> rusqlite::Result<usize> {
    let (sql, key) = end_sessions_sql(end);
    match key {
        SessionKey::Text(text) => t.execute(sql, params![text]),
        SessionKey::Number(n) => t.execute(sql, params![n]),
    }
}

pub fn append_audit(t: &Transaction<'_>, e: &AuditEntry) -> rusqlite::Result<()> {
    t.execute(INSERT_AUDIT_SQL, params![e.at, e.who, e.action, e.detail])?;
    Ok(())
}

pub fn audit_log(
    c: &Connection,
    before_id: Option<i64>,
    limit: usize,
) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt = c.prepare_cached(AUDIT_PAGE_SQL)?;
    let rows = stmt.query_map(params![before_id.unwrap_or(i64::MAX), limit as i64], |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            at: r.get(1)?,
            who: r.get(2)?,
            action: r.get(3)?,
            detail: r.get(4)?,
        })
    })?;
    rows.collect()
}
