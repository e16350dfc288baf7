//! The PostgreSQL schema as an append-only list of migrations, tracked in `schema_version`.
//!
//! The tables mirror the SQLite schema (crates/rollcall-core/src/store/schema.rs) column for
//! column, so that both backends answer the same queries with the same values. Integers are
//! `BIGINT` (Rust's `i64`), and flags are `BIGINT` 0/1 as in SQLite, so the query text that
//! compares them (`deleted = 0`) is shared. Text that is compared or sorted is `COLLATE "C"`
//! (bytewise, as SQLite's BINARY), so names, tenants and dates sort the same on a district
//! database whatever its locale, and both backends' reports list rows in the same order.
//!
//! Every server that starts runs [`migrate`]: the whole upgrade is one transaction under an
//! advisory lock, so two servers starting together never race (the second waits, then finds
//! nothing to do). Never remove or edit a migration that has shipped; add a new entry.

use postgres::Client;

/// The advisory lock (`pg_advisory_xact_lock`) held while migrating.
const MIGRATION_LOCK: i64 = 0x526f_6c6c_0001;

const MIGRATIONS: &[&str] = &[
    // 1: everything the SQLite schema has at its version 2, plus the leases that let several
    // servers run a background job once.
    r#"
    CREATE TABLE deliveries (
        seq         BIGSERIAL PRIMARY KEY,
        received_at BIGINT NOT NULL,
        request_id  TEXT COLLATE "C",
        event_type  TEXT COLLATE "C",
        tenant      TEXT COLLATE "C",
        outcome     TEXT COLLATE "C" NOT NULL,
        status      BIGINT NOT NULL,
        reason      TEXT COLLATE "C",
        body        BYTEA,
        body_bytes  BIGINT NOT NULL
    );
    CREATE INDEX deliveries_by_outcome ON deliveries(outcome, seq);
    CREATE INDEX deliveries_by_request ON deliveries(request_id);
    CREATE INDEX deliveries_by_received ON deliveries(received_at);

    CREATE TABLE requests (
        request_id     TEXT COLLATE "C" PRIMARY KEY,
        content_sha256 TEXT COLLATE "C" NOT NULL,
        first_seen     BIGINT NOT NULL
    );

    CREATE TABLE attendance (
        tenant            TEXT COLLATE "C" NOT NULL,
        attendance_id     BIGINT NOT NULL,
        date              TEXT COLLATE "C" NOT NULL,
        kind              TEXT COLLATE "C" NOT NULL,
        class_id          BIGINT NOT NULL,
        course_id         BIGINT NOT NULL,
        status_id         BIGINT NOT NULL,
        student_period_id BIGINT NOT NULL,
        comment           TEXT COLLATE "C" NOT NULL,
        deleted           BIGINT NOT NULL DEFAULT 0,
        event_ts          BIGINT NOT NULL,
        request_id        TEXT COLLATE "C" NOT NULL,
        last_seq          BIGINT NOT NULL,
        PRIMARY KEY (tenant, attendance_id)
    );
    CREATE INDEX attendance_by_date ON attendance(date, class_id, course_id);

    -- `seq` comes from the sequence while the writer lock (crate::writer::WRITE_LOCK) is
    -- held, so sequence order is commit order across every server.
    CREATE TABLE changes (
        seq               BIGSERIAL PRIMARY KEY,
        recorded_at       BIGINT NOT NULL,
        source            TEXT COLLATE "C" NOT NULL,
        request_id        TEXT COLLATE "C" NOT NULL,
        event_type        TEXT COLLATE "C" NOT NULL,
        event_ts          BIGINT NOT NULL,
        tenant            TEXT COLLATE "C" NOT NULL,
        attendance_id     BIGINT NOT NULL,
        date              TEXT COLLATE "C" NOT NULL,
        kind              TEXT COLLATE "C" NOT NULL,
        class_id          BIGINT NOT NULL,
        course_id         BIGINT NOT NULL,
        student_period_id BIGINT NOT NULL,
        status_before     BIGINT,
        status_after      BIGINT,
        comment_before    TEXT,
        comment_after     TEXT
    );
    CREATE INDEX changes_by_record ON changes(tenant, attendance_id, seq);
    CREATE INDEX changes_by_date ON changes(date, seq);

    CREATE TABLE counters (
        name  TEXT COLLATE "C" PRIMARY KEY,
        value BIGINT NOT NULL
    );

    CREATE TABLE reference_statuses (
        id               BIGINT PRIMARY KEY,
        name             TEXT COLLATE "C" NOT NULL,
        guessed_category TEXT COLLATE "C" NOT NULL,
        user_category    TEXT COLLATE "C",
        fetched_at       BIGINT NOT NULL
    );

    CREATE TABLE reference_students (
        student_period_id BIGINT PRIMARY KEY,
        student_id        BIGINT,
        name              TEXT COLLATE "C",
        class_id          BIGINT,
        school_period_id  BIGINT,
        active            BIGINT NOT NULL DEFAULT 1,
        fetched_at        BIGINT NOT NULL
    );

    CREATE TABLE reference_student_classes (
        student_period_id BIGINT NOT NULL,
        class_id          BIGINT NOT NULL,
        fetched_at        BIGINT NOT NULL,
        PRIMARY KEY (student_period_id, class_id)
    );

    CREATE TABLE reference_classes (
        id               BIGINT PRIMARY KEY,
        name             TEXT COLLATE "C",
        school_period_id BIGINT,
        active           BIGINT NOT NULL DEFAULT 1,
        fetched_at       BIGINT NOT NULL
    );

    CREATE TABLE reference_courses (
        id         BIGINT PRIMARY KEY,
        name       TEXT COLLATE "C" NOT NULL,
        fetched_at BIGINT NOT NULL
    );

    CREATE TABLE listening_periods (
        id             BIGSERIAL PRIMARY KEY,
        started_at     BIGINT NOT NULL,
        last_heartbeat BIGINT NOT NULL,
        stopped_at     BIGINT
    );

    CREATE TABLE recovery_gaps (
        id           BIGSERIAL PRIMARY KEY,
        from_ms      BIGINT NOT NULL,
        to_ms        BIGINT NOT NULL,
        found_at     BIGINT NOT NULL,
        recovered_at BIGINT,
        report       TEXT
    );
    CREATE INDEX recovery_gaps_pending ON recovery_gaps(recovered_at, id);

    CREATE TABLE leases (
        job        TEXT COLLATE "C" PRIMARY KEY,
        holder     TEXT COLLATE "C" NOT NULL,
        expires_at BIGINT NOT NULL
    );
    "#,
    // 2: as SQLite's 3: when a delivery refused for the webhook secret was verified again,
    // and what that re-check found (rollcall-core's store::recheck).
    r#"
    ALTER TABLE deliveries ADD COLUMN rechecked_at BIGINT;
    ALTER TABLE deliveries ADD COLUMN recheck TEXT COLLATE "C";
    "#,
    // 3: as SQLite's 4: accounts, their sessions (token hashes only) and the audit log
    // (rollcall-core's accounts).
    r#"
    CREATE TABLE accounts (
        id              BIGSERIAL PRIMARY KEY,
        username        TEXT COLLATE "C" NOT NULL UNIQUE,
        display_name    TEXT NOT NULL,
        role            TEXT COLLATE "C" NOT NULL,
        schools         TEXT,
        password_hash   TEXT NOT NULL,
        disabled        BIGINT NOT NULL DEFAULT 0,
        failed_sign_ins BIGINT NOT NULL DEFAULT 0,
        locked_until    BIGINT,
        created_at      BIGINT NOT NULL
    );

    CREATE TABLE sessions (
        token_hash TEXT COLLATE "C" PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX sessions_by_account ON sessions(account_id);

    CREATE TABLE audit_log (
        id     BIGSERIAL PRIMARY KEY,
        at     BIGINT NOT NULL,
        who    TEXT NOT NULL,
        action TEXT COLLATE "C" NOT NULL,
        detail TEXT NOT NULL
    );
    "#,
    // 4: as SQLite's 5: the school whose webhook URL a refused delivery was sent to.
    r#"
    ALTER TABLE deliveries ADD COLUMN school TEXT COLLATE "C";
    "#,
    // 5: as SQLite's 6: names belong to their school, keyed by (tenant, id). Names stored
    // before go to the tenant with the most attendance records; with none, nothing refers to
    // them and they are left to the next refresh.
    r#"
    CREATE TEMP TABLE names_owner AS
        SELECT tenant FROM attendance GROUP BY tenant ORDER BY COUNT(*) DESC, tenant LIMIT 1;

    ALTER TABLE reference_statuses ADD COLUMN tenant TEXT COLLATE "C" NOT NULL DEFAULT '';
    DELETE FROM reference_statuses WHERE NOT EXISTS (SELECT 1 FROM names_owner);
    UPDATE reference_statuses SET tenant = o.tenant FROM names_owner o;
    ALTER TABLE reference_statuses ALTER COLUMN tenant DROP DEFAULT,
        DROP CONSTRAINT reference_statuses_pkey, ADD PRIMARY KEY (tenant, id);

    ALTER TABLE reference_students ADD COLUMN tenant TEXT COLLATE "C" NOT NULL DEFAULT '';
    DELETE FROM reference_students WHERE NOT EXISTS (SELECT 1 FROM names_owner);
    UPDATE reference_students SET tenant = o.tenant FROM names_owner o;
    ALTER TABLE reference_students ALTER COLUMN tenant DROP DEFAULT,
        DROP CONSTRAINT reference_students_pkey, ADD PRIMARY KEY (tenant, student_period_id);

    ALTER TABLE reference_student_classes ADD COLUMN tenant TEXT COLLATE "C" NOT NULL DEFAULT '';
    DELETE FROM reference_student_classes WHERE NOT EXISTS (SELECT 1 FROM names_owner);
    UPDATE reference_student_classes SET tenant = o.tenant FROM names_owner o;
    ALTER TABLE reference_student_classes ALTER COLUMN tenant DROP DEFAULT,
        DROP CONSTRAINT reference_student_classes_pkey, ADD PRIMARY KEY (tenant, student_period_id, class_id);

    ALTER TABLE reference_classes ADD COLUMN tenant TEXT COLLATE "C" NOT NULL DEFAULT '';
    DELETE FROM reference_classes WHERE NOT EXISTS (SELECT 1 FROM names_owner);
    UPDATE reference_classes SET tenant = o.tenant FROM names_owner o;
    ALTER TABLE reference_classes ALTER COLUMN tenant DROP DEFAULT,
        DROP CONSTRAINT reference_classes_pkey, ADD PRIMARY KEY (tenant, id);

    ALTER TABLE reference_courses ADD COLUMN tenant TEXT COLLATE "C" NOT NULL DEFAULT '';
    DELETE FROM reference_courses WHERE NOT EXISTS (SELECT 1 FROM names_owner);
    UPDATE reference_courses SET tenant = o.tenant FROM names_owner o;
    ALTER TABLE reference_courses ALTER COLUMN tenant DROP DEFAULT,
        DROP CONSTRAINT reference_courses_pkey, ADD PRIMARY KEY (tenant, id);

    DROP TABLE names_owner;
    "#,
    // 6: as SQLite's 7: no query looks deliveries up by request id, and the index cost a
    // random page per delivery.
    r#"
    DROP INDEX IF EXISTS deliveries_by_request;
    "#,
];

/// Brings the database to the newest schema, in one transaction under [`MIGRATION_LOCK`].
/// Returns the version it found (0 for an empty database).
pub fn migrate(client: &mut Client) -> Result<usize, postgres::Error> {
    migrate_up_to(client, MIGRATIONS.len())
}

/// Brings the database to schema `version` (a test of a migration starts just before it).
/// Returns the version it found.
pub fn migrate_up_to(client: &mut Client, version: usize) -> Result<usize, postgres::Error> {
    let version = version.min(MIGRATIONS.len());
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
    let found = match tx.query_opt("SELECT version FROM schema_version", &[])? {
        Some(row) => row.get::<_, i64>(0) as usize,
        None => {
            tx.execute("INSERT INTO schema_version (version) VALUES (0)", &[])?;
            0
        }
    };
    for sql in MIGRATIONS.iter().take(version).skip(found) {
        tx.batch_execute(sql)?;
    }
    if found < version {
        tx.execute(
            "UPDATE schema_version SET version = $1",
            &[&(version as i64)],
        )?;
    }
    tx.commit()?;
    Ok(found)
}

/// The version [`migrate`] brings a database to.
pub fn latest_version() -> usize {
    MIGRATIONS.len()
}
