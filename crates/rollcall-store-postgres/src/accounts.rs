//! Accounts, sessions and the audit log on PostgreSQL: the same SQL text as SQLite's
//! (rollcall-core's `store::accounts`), numbered for PostgreSQL.

use postgres::{Client, Row};
use rollcall_core::accounts::{
    Account, AccountWrite, AuditEntry, EndSessions, SessionRecord, SignInAttempt,
};
use rollcall_core::store::accounts::{self as sql, SessionKey};

use crate::sql::placeholders;
use crate::write_tx::WriteTx;

fn account_row(r: &Row, at: usize) -> Account {
    sql::account_from_columns((
        r.get(at),
        r.get(at + 1),
        r.get(at + 2),
        r.get(at + 3),
        r.get(at + 4),
        r.get(at + 5),
        r.get(at + 6),
        r.get(at + 7),
        r.get(at + 8),
        r.get(at + 9),
    ))
}

pub fn accounts(c: &mut Client) -> Result<Vec<Account>, postgres::Error> {
    Ok(c.query(&sql::accounts_sql(), &[])?
        .iter()
        .map(|r| account_row(r, 0))
        .collect())
}

pub fn save_account(tx: &mut WriteTx<'_>, a: &AccountWrite) -> Result<i64, postgres::Error> {
    let schools = sql::encode_schools(&a.schools);
    let disabled = a.disabled as i64;
    match a.id {
        None => Ok(tx
            .tx
            .query_one(
                &placeholders(sql::INSERT_ACCOUNT_SQL),
                &[
                    &a.username,
                    &a.display_name,
                    &a.role.as_str(),
                    &schools,
                    &a.password_hash,
                    &disabled,
                    &a.created_at,
                ],
            )?
            .get(0)),
        Some(id) => {
            tx.tx.execute(
                &placeholders(sql::UPDATE_ACCOUNT_SQL),
                &[
                    &a.username,
                    &a.display_name,
                    &a.role.as_str(),
                    &schools,
                    &a.password_hash,
                    &disabled,
                    &id,
                ],
            )?;
            Ok(id)
        }
    }
}

pub fn note_sign_in(
    tx: &mut WriteTx<'_>,
    account_id: i64,
    attempt: SignInAttempt,
) -> Result<(), postgres::Error> {
    match attempt {
        SignInAttempt::Succeeded => tx
            .tx
            .execute(&placeholders(sql::SIGN_IN_SUCCEEDED_SQL), &[&account_id])?,
        SignInAttempt::Failed {
            lock_after,
            lock_until,
        } => tx.tx.execute(
            &placeholders(sql::SIGN_IN_FAILED_SQL),
            &[&account_id, &(lock_after as i64), &lock_until],
        )?,
    };
    Ok(())
}

pub fn create_session(tx: &mut WriteTx<'_>, s: &SessionRecord) -> Result<(), postgres::Error> {
    tx.tx.execute(
        &placeholders(sql::INSERT_SESSION_SQL),
        &[
            &s.token_hash,
            &s.account_id,
            &s.csrf_token,
            &s.created_at,
            &s.expires_at,
        ],
    )?;
    Ok(())
}

pub fn session(
    c: &mut Client,
    token_hash: &str,
    now: i64,
) -> Result<Option<(SessionRecord, Account)>, postgres::Error> {
    Ok(
        c.query_opt(&placeholders(&sql::session_sql()), &[&token_hash, &now])?
            .map(|r| {
                (
                    SessionRecord {
                        token_hash: r.get(0),
                        account_id: r.get(1),
                        csrf_token: r.get(2),
                        created_at: r.get(3),
                        expires_at: r.get(4),
                    },
                    account_row(&r, 5),
                )
            }),
    )
}

pub fn end_sessions(tx: &mut WriteTx<'_>, end: &EndSessions) -> Result<usize, postgres::Error> {
    let (text, key) = sql::end_sessions_sql(end);
    let text = placeholders(text);
    let ended = match key {
        SessionKey::Text(t) => tx.tx.execute(&text, &[&t])?,
        SessionKey::Number(n) => tx.tx.execute(&text, &[&n])?,
    };
    Ok(ended as usize)
}

pub fn append_audit(tx: &mut WriteTx<'_>, e: &AuditEntry) -> Result<(), postgres::Error> {
    tx.tx.execute(
        &placeholders(sql::INSERT_AUDIT_SQL),
        &[&e.at, &e.who, &e.action, &e.detail],
    )?;
    Ok(())
}

pub fn audit_log(
    c: &mut Client,
    before_id: Option<i64>,
    limit: usize,
) -> Result<Vec<AuditEntry>, postgres::Error> {
    Ok(c.query(
        &placeholders(sql::AUDIT_PAGE_SQL),
        &[&before_id.unwrap_or(i64::MAX), &(limit as i64)],
    )?
    .iter()
    .map(|r| AuditEntry {
        id: r.get(0),
        at: r.get(1),
        who: r.get(2),
        action: r.get(3),
        detail: r.get(4),
    })
    .collect())
}
