//! The database schema as an append-only list of migrations, tracked in `PRAGMA user_version`.
//!
//! Never remove or edit a migration that has shipped, and never make a backwards-incompatible
//! change: databases in the field are at every version. Add a new entry instead.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: delivery log, idempotency keys, current attendance, change log, counters.
    r#"
    CREATE TABLE deliveries (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at INTEGER NOT NULL,
        request_id  TEXT,
        event_type  TEXT,
        tenant      TEXT,
        outcome     TEXT NOT NULL,
        status      INTEGER NOT NULL,
        reason      TEXT,
        body        BLOB,
        body_bytes  INTEGER NOT NULL
    );
    CREATE INDEX deliveries_by_outcome ON deliveries(outcome, seq);
    CREATE INDEX deliveries_by_request ON deliveries(request_id);

    CREATE TABLE requests (
        request_id    TEXT PRIMARY KEY,
        content_sha256 TEXT NOT NULL,
        first_seen    INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE attendance (
        tenant            TEXT NOT NULL,
        attendance_id     INTEGER NOT NULL,
        date              TEXT NOT NULL,
        kind              TEXT NOT NULL,
        class_id          INTEGER NOT NULL,
        course_id         INTEGER NOT NULL,
        status_id         INTEGER NOT NULL,
        student_period_id INTEGER NOT NULL,
        comment           TEXT NOT NULL,
        deleted           INTEGER NOT NULL DEFAULT 0,
        event_ts          INTEGER NOT NULL,
        request_id        TEXT NOT NULL,
        last_seq          INTEGER NOT NULL,
        PRIMARY KEY (tenant, attendance_id)
    ) WITHOUT ROWID;
    CREATE INDEX attendance_by_date ON attendance(date, class_id, course_id);

    CREATE TABLE changes (
        seq               INTEGER PRIMARY KEY AUTOINCREMENT,
        recorded_at       INTEGER NOT NULL,
        source            TEXT NOT NULL,
        request_id        TEXT NOT NULL,
        event_type        TEXT NOT NULL,
        event_ts          INTEGER NOT NULL,
        tenant            TEXT NOT NULL,
        attendance_id     INTEGER NOT NULL,
        date              TEXT NOT NULL,
        kind              TEXT NOT NULL,
        class_id          INTEGER NOT NULL,
        course_id         INTEGER NOT NULL,
        student_period_id INTEGER NOT NULL,
        status_before     INTEGER,
        status_after      INTEGER,
        comment_before    TEXT,
        comment_after     TEXT
    );
    CREATE INDEX changes_by_record ON changes(tenant, attendance_id, seq);
    CREATE INDEX changes_by_date ON changes(date, seq);

    CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 2: DreamClass names for the ids in attendance (crates/rollcall-dreamclass), when the app
    // was listening, and the gaps whose missed changes are still to be asked for.
    r#"
    CREATE TABLE reference_statuses (
        id               INTEGER PRIMARY KEY,
        name             TEXT NOT NULL,
        guessed_category TEXT NOT NULL,
        user_category    TEXT,
        fetched_at       INTEGER NOT NULL
    );

    CREATE TABLE reference_students (
        student_period_id INTEGER PRIMARY KEY,
        student_id        INTEGER,
        name              TEXT,
        class_id          INTEGER,
        school_period_id  INTEGER,
        active            INTEGER NOT NULL DEFAULT 1,
        fetched_at        INTEGER NOT NULL
    );

    CREATE TABLE reference_student_classes (
        student_period_id INTEGER NOT NULL,
        class_id          INTEGER NOT NULL,
        fetched_at        INTEGER NOT NULL,
        PRIMARY KEY (student_period_id, class_id)
    ) WITHOUT ROWID;

    CREATE TABLE reference_classes (
        id               INTEGER PRIMARY KEY,
        name             TEXT,
        school_period_id INTEGER,
        active           INTEGER NOT NULL DEFAULT 1,
        fetched_at       INTEGER NOT NULL
    );

    CREATE TABLE reference_courses (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        fetched_at INTEGER NOT NULL
    );

    CREATE TABLE listening_periods (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at     INTEGER NOT NULL,
        last_heartbeat INTEGER NOT NULL,
        stopped_at     INTEGER
    );

    CREATE TABLE recovery_gaps (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        from_ms      INTEGER NOT NULL,
        to_ms        INTEGER NOT NULL,
        found_at     INTEGER NOT NULL,
        recovered_at INTEGER,
        report       TEXT
    );
    CREATE INDEX recovery_gaps_pending ON recovery_gaps(recovered_at, id);
    "#,
    // 3: a delivery refused for the webhook secret and verified again later remembers when
    // and what that re-check found (store::recheck).
    r#"
    ALTER TABLE deliveries ADD COLUMN rechecked_at INTEGER;
    ALTER TABLE deliveries ADD COLUMN recheck TEXT;
    "#,
    // 4: people who sign in when Rollcall listens beyond this computer: accounts, their
    // sessions (token hashes only) and the audit log (crate::accounts).
    r#"
    CREATE TABLE accounts (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        username        TEXT NOT NULL UNIQUE,
        display_name    TEXT NOT NULL,
        role            TEXT NOT NULL,
        schools         TEXT,
        password_hash   TEXT NOT NULL,
        disabled        INTEGER NOT NULL DEFAULT 0,
        failed_sign_ins INTEGER NOT NULL DEFAULT 0,
        locked_until    INTEGER,
        created_at      INTEGER NOT NULL
    );

    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_account ON sessions(account_id);

    CREATE TABLE audit_log (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        at     INTEGER NOT NULL,
        who    TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    "#,
    // 5: the school whose webhook URL a refused delivery was sent to, so that a re-check
    // verifies it with that school's secret, and purging a removed school finds its refusals.
    r#"
    ALTER TABLE deliveries ADD COLUMN school TEXT;
    "#,
    // 6: names belong to their school. DreamClass ids are per tenant (class 12 of one school
    // is not class 12 of another), so every reference table is keyed by (tenant, id), and
    // reads join on both. Names stored before were one school's: they go to the tenant with
    // the most attendance records (the single school of every installation until now). With
    // no attendance yet nothing refers to them, so they are left to the next refresh.
    r#"
    CREATE TEMP TABLE names_owner AS
        SELECT tenant FROM attendance GROUP BY tenant ORDER BY COUNT(*) DESC, tenant LIMIT 1;

    CREATE TABLE reference_statuses_by_school (
        tenant           TEXT NOT NULL,
        id               INTEGER NOT NULL,
        name             TEXT NOT NULL,
        guessed_category TEXT NOT NULL,
        user_category    TEXT,
        fetched_at       INTEGER NOT NULL,
        PRIMARY KEY (tenant, id)
    ) WITHOUT ROWID;
    INSERT INTO reference_statuses_by_school
        SELECT o.tenant, r.id, r.name, r.guessed_category, r.user_category, r.fetched_at
        FROM reference_statuses r, names_owner o;
    DROP TABLE reference_statuses;
    ALTER TABLE reference_statuses_by_school RENAME TO reference_statuses;

    CREATE TABLE reference_students_by_school (
        tenant            TEXT NOT NULL,
        student_period_id INTEGER NOT NULL,
        student_id        INTEGER,
        name              TEXT,
        class_id          INTEGER,
        school_period_id  INTEGER,
        active            INTEGER NOT NULL DEFAULT 1,
        fetched_at        INTEGER NOT NULL,
        PRIMARY KEY (tenant, student_period_id)
    ) WITHOUT ROWID;
    INSERT INTO reference_students_by_school
        SELECT o.tenant, r.student_period_id, r.student_id, r.name, r.class_id,
               r.school_period_id, r.active, r.fetched_at
        FROM reference_students r, names_owner o;
    DROP TABLE reference_students;
    ALTER TABLE reference_students_by_school RENAME TO reference_students;

    CREATE TABLE reference_student_classes_by_school (
        tenant            TEXT NOT NULL,
        student_period_id INTEGER NOT NULL,
        class_id          INTEGER NOT NULL,
        fetched_at        INTEGER NOT NULL,
        PRIMARY KEY (tenant, student_period_id, class_id)
    ) WITHOUT ROWID;
    INSERT INTO reference_student_classes_by_school
        SELECT o.tenant, r.student_period_id, r.class_id, r.fetched_at
        FROM reference_student_classes r, names_owner o;
    DROP TABLE reference_student_classes;
    ALTER TABLE reference_student_classes_by_school RENAME TO reference_student_classes;

    CREATE TABLE reference_classes_by_school (
        tenant           TEXT NOT NULL,
        id               INTEGER NOT NULL,
        name             TEXT,
        school_period_id INTEGER,
        active           INTEGER NOT NULL DEFAULT 1,
        fetched_at       INTEGER NOT NULL,
        PRIMARY KEY (tenant, id)
    ) WITHOUT ROWID;
    INSERT INTO reference_classes_by_school
        SELECT o.tenant, r.id, r.name, r.school_period_id, r.active, r.fetched_at
        FROM reference_classes r, names_owner o;
    DROP TABLE reference_classes;
    ALTER TABLE reference_classes_by_school RENAME TO reference_classes;

    CREATE TABLE reference_courses_by_school (
        tenant     TEXT NOT NULL,
        id         INTEGER NOT NULL,
        name       TEXT NOT NULL,
        fetched_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, id)
    ) WITHOUT ROWID;
    INSERT INTO reference_courses_by_school
        SELECT o.tenant, r.id, r.name, r.fetched_at FROM reference_courses r, names_owner o;
    DROP TABLE reference_courses;
    ALTER TABLE reference_courses_by_school RENAME TO reference_courses;

    DROP TABLE names_owner;
    "#,
    // 7: no query looks deliveries up by request id (duplicates are found through
    // `requests`), and as request ids are random, keeping this index dirtied one page of its
    // own per delivery in every commit: about a quarter of what a busy minute wrote.
    r#"
    DROP INDEX IF EXISTS deliveries_by_request;
    "#,
];

/// Brings the database to the newest schema. Each migration runs in its own transaction
/// together with the version bump, so a crash leaves the database at one version or the next.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    migrate_up_to(conn, MIGRATIONS.len())
}

/// Brings the database to schema `version` (tests of a migration start just before it).
pub(crate) fn migrate_up_to(conn: &mut Connection, version: usize) -> rusqlite::Result<()> {
    let current: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (index, sql) in MIGRATIONS.iter().enumerate().take(version).skip(current) {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

pub fn latest_version() -> usize {
    MIGRATIONS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrate_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, latest_version());
    }
}
