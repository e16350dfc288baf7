//! People who sign in to a Rollcall that listens beyond this computer: their accounts (role
//! and schools), their server-side sessions, and the audit log of what they did.
//!
//! The store keeps only hashes: the password's (argon2id, made by the server) and the session
//! token's (SHA-256, so a copy of the database opens no session).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::scope::Scope;

/// What a person may do. Each role may do everything of the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sees the feed, board, history and reports of their schools.
    Viewer,
    /// A viewer who may also export reports.
    Staff,
    /// Changes settings, secrets, schools and people; sees every school.
    Administrator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Staff => "staff",
            Self::Administrator => "administrator",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "viewer" => Some(Self::Viewer),
            "staff" => Some(Self::Staff),
            "administrator" => Some(Self::Administrator),
            _ => None,
        }
    }

    /// The role's name in a sentence: "an administrator".
    pub fn with_article(self) -> &'static str {
        match self {
            Self::Viewer => "a viewer",
            Self::Staff => "a staff member",
            Self::Administrator => "an administrator",
        }
    }
}

/// One person's account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    /// The sign-in name, lower case, unique.
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The DreamClass tenants this person may see; `None`: every school. An administrator
    /// always sees every school.
    pub schools: Option<Vec<String>>,
    /// argon2id in PHC string form.
    pub password_hash: String,
    /// A disabled account cannot sign in and its sessions no longer open anything.
    pub disabled: bool,
    /// Wrong passwords since the last successful sign-in.
    pub failed_sign_ins: u32,
    /// Until when (ms since the epoch) sign-in is refused after too many wrong passwords.
    pub locked_until: Option<i64>,
    pub created_at: i64,
}

impl Account {
    /// What this person may read: the one rule every route's reads go through.
    pub fn scope(&self) -> Scope {
        match (&self.schools, self.role) {
            (_, Role::Administrator) | (None, _) => Scope::all(),
            (Some(tenants), _) => Scope::tenants(tenants.iter().cloned()),
        }
    }

    pub fn is_locked(&self, now: i64) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// An account to add (`id: None`) or to save over the stored one of that id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountWrite {
    pub id: Option<i64>,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub schools: Option<Vec<String>>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
}

impl From<&Account> for AccountWrite {
    fn from(a: &Account) -> Self {
        Self {
            id: Some(a.id),
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            role: a.role,
            schools: a.schools.clone(),
            password_hash: a.password_hash.clone(),
            disabled: a.disabled,
            created_at: a.created_at,
        }
    }
}

/// What a sign-in attempt did to an account's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInAttempt {
    /// The right password: the count of wrong ones starts again.
    Succeeded,
    /// A wrong password: counted, and once `lock_after` are counted in a row the account is
    /// locked until `lock_until`.
    Failed { lock_after: u32, lock_until: i64 },
}

/// A session as stored: the SHA-256 of its token, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Lower-case hex SHA-256 of the cookie's token.
    pub token_hash: String,
    pub account_id: i64,
    /// Sent back by the page on every change (the `X-Rollcall-Csrf` header).
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Which sessions to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndSessions {
    /// The one with this token hash (signing out).
    One(String),
    /// Every session of an account (password reset, account disabled).
    OfAccount(i64),
    /// Every session expired at this time (housekeeping).
    ExpiredBy(i64),
}

/// One line of the audit log: who did what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// 0 until stored.
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// The username, or "this computer" for the office PC's own window.
    pub who: String,
    /// A stable code: `sign_in`, `sign_in_refused`, `sign_out`, `changed`, `exported`, …
    pub action: String,
    /// What exactly, in words (the route and its query for changes and exports).
    pub detail: String,
}
