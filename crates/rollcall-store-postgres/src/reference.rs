//! The names behind DreamClass ids on PostgreSQL: the same tables, reads and writes as
//! rollcall-core's `store::reference` (SQLite). What counts as a rename, a shown name or a
//! webhook's effect is decided by core's functions, so both backends answer alike.
//!
//! Invariant (as on SQLite): a name once known is never removed; a refresh only adds or
//! renames, and a user's category correction survives every refresh. Names belong to their
//! school: every table is keyed by (tenant, id).

use std::collections::HashMap;

use postgres::Client;
use rollcall_core::model::StatusCategory;
use rollcall_core::store::reference::{
    renamed, scoped, shown_category, shown_name, student_renamed, FetchedReference, KnownIds,
    NamedId, Reference, ReferenceName, ReferenceStatus, ReferenceStudent, ReferenceUpdate,
    ReferenceWebhookEffect, CLASS_NAMES_SQL, COURSE_NAMES_SQL, KNOWN_ID_QUERIES, STATUS_NAMES_SQL,
    STUDENT_NAMES_SQL, UNKNOWN_IDS_SQL,
};
use rollcall_core::Scope;

use crate::sql::{params, placeholders, refs};
use crate::write_tx::WriteTx;

/// The rows of core's `sql`, within `scope` (core's `scoped`).
fn scoped_rows(
    c: &mut Client,
    scope: &Scope,
    sql: &str,
) -> Result<Vec<postgres::Row>, postgres::Error> {
    let (sql, values) = scoped(sql, scope);
    let values = params(values);
    c.query(&placeholders(&sql), &refs(&values))
}

/// Every known name of the schools `scope` allows, as `GET /api/reference` answers.
pub fn load_reference(c: &mut Client, scope: &Scope) -> Result<Reference, postgres::Error> {
    let statuses = scoped_rows(c, scope, STATUS_NAMES_SQL)?
        .iter()
        .map(|r| ReferenceStatus {
            tenant: r.get(0),
            id: r.get(1),
            name: r.get(2),
            category: shown_category(r.get(3)),
        })
        .collect();
    let students = scoped_rows(c, scope, STUDENT_NAMES_SQL)?
        .iter()
        .map(|r| ReferenceStudent {
            tenant: r.get(0),
            student_period_id: r.get(1),
            name: r.get(2),
        })
        .collect();
    let mut named = |sql: &str| -> Result<Vec<ReferenceName>, postgres::Error> {
        Ok(scoped_rows(c, scope, sql)?
            .iter()
            .map(|r| ReferenceName {
                tenant: r.get(0),
                id: r.get(1),
                name: r.get(2),
            })
            .collect())
    };
    let classes = named(CLASS_NAMES_SQL)?;
    let courses = named(COURSE_NAMES_SQL)?;
    Ok(Reference {
        statuses,
        students,
        classes,
        courses,
    })
}

/// The stored, non-blank names of `ids` of school `tenant`; an id without one is left out.
pub fn names_of(
    c: &mut Client,
    tenant: &str,
    ids: &[NamedId],
) -> Result<HashMap<NamedId, String>, postgres::Error> {
    let mut names = HashMap::new();
    for &id in ids {
        let (sql, n) = match id {
            NamedId::Status(n) => (
                "SELECT name FROM reference_statuses WHERE tenant = $1 AND id = $2",
                n,
            ),
            NamedId::Class(n) => (
                "SELECT name FROM reference_classes WHERE tenant = $1 AND id = $2",
                n,
            ),
        };
        let name: Option<String> = c.query_opt(sql, &[&tenant, &n])?.and_then(|r| r.get(0));
        if let Some(name) = shown_name(name) {
            names.insert(id, name);
        }
    }
    Ok(names)
}

/// The ids that have a name, per school (core's [`KnownIds`], read from PostgreSQL).
pub fn known_ids(c: &mut Client, scope: &Scope) -> Result<KnownIds, postgres::Error> {
    let mut known = KnownIds::default();
    for (sql, set) in KNOWN_ID_QUERIES {
        for row in scoped_rows(c, scope, sql)? {
            set(known.school(row.get::<_, &str>(0))).insert(row.get(1));
        }
    }
    Ok(known)
}

/// Whether stored attendance of the schools `scope` allows names any id without a name.
pub fn attendance_has_unknown_ids(c: &mut Client, scope: &Scope) -> Result<bool, postgres::Error> {
    Ok(scoped_rows(c, scope, UNKNOWN_IDS_SQL)?[0].get(0))
}

const STUDENT_NAME: &str =
    "SELECT name FROM reference_students WHERE tenant = $1 AND student_period_id = $2";
const CLASS_NAME: &str = "SELECT name FROM reference_classes WHERE tenant = $1 AND id = $2";
const COURSE_NAME: &str = "SELECT name FROM reference_courses WHERE tenant = $1 AND id = $2";

/// The stored name of a row of school `tenant` (`None` when the row or its name is missing).
fn stored_name(
    t: &mut WriteTx<'_>,
    sql: &'static str,
    tenant: &str,
    id: i64,
) -> Result<Option<String>, postgres::Error> {
    Ok(t.query_opt(sql, &[&tenant, &id])?.and_then(|r| r.get(0)))
}

/// Stores a refresh. Names the API no longer lists are kept. Returns whether anything the
/// user sees changed.
pub fn store_fetched(
    t: &mut WriteTx<'_>,
    fetched: &FetchedReference,
    now: i64,
) -> Result<bool, postgres::Error> {
    let mut changed = 0u64;
    let tenant = fetched.tenant.as_str();
    if let Some(statuses) = &fetched.statuses {
        for s in statuses {
            // Counts only rows inserted or really updated, as SQLite's `WHERE` on the upsert.
            changed += t.execute(
                "INSERT INTO reference_statuses (tenant, id, name, guessed_category, fetched_at)
                 VALUES ($5, $1, $2, $3, $4)
                 ON CONFLICT (tenant, id) DO UPDATE SET name = excluded.name,
                     guessed_category = excluded.guessed_category,
                     fetched_at = excluded.fetched_at
                 WHERE reference_statuses.name IS DISTINCT FROM excluded.name
                    OR reference_statuses.guessed_category
                       IS DISTINCT FROM excluded.guessed_category",
                &[&s.id, &s.name, &s.guessed_category.as_str(), &now, &tenant],
            )?;
        }
        t.execute(
            "UPDATE reference_statuses SET fetched_at = $1 WHERE tenant = $2",
            &[&now, &tenant],
        )?;
    }
    for (period_id, students) in &fetched.students {
        for s in students {
            let old = stored_name(t, STUDENT_NAME, tenant, s.student_period_id)?;
            changed += u64::from(student_renamed(old.as_deref(), s.name.as_deref()));
            t.execute(
                "INSERT INTO reference_students
                     (tenant, student_period_id, student_id, name, class_id, school_period_id,
                      active, fetched_at)
                 VALUES ($7, $1, $2, $3, $4, $5, 1, $6)
                 ON CONFLICT (tenant, student_period_id) DO UPDATE SET
                     student_id = COALESCE(excluded.student_id, reference_students.student_id),
                     name = COALESCE(excluded.name, reference_students.name),
                     class_id = COALESCE(excluded.class_id, reference_students.class_id),
                     school_period_id = excluded.school_period_id,
                     active = 1, fetched_at = excluded.fetched_at",
                &[
                    &s.student_period_id,
                    &s.student_id,
                    &s.name,
                    &s.class_id,
                    period_id,
                    &now,
                    &tenant,
                ],
            )?;
            if let Some(class_id) = s.class_id {
                join_class(t, tenant, s.student_period_id, class_id, now)?;
            }
        }
    }
    for (period_id, classes) in &fetched.classes {
        for c in classes {
            let old = stored_name(t, CLASS_NAME, tenant, c.id)?;
            changed += u64::from(renamed(old.as_deref(), &c.name));
            t.execute(
                "INSERT INTO reference_classes
                     (tenant, id, name, school_period_id, active, fetched_at)
                 VALUES ($5, $1, $2, $3, 1, $4)
                 ON CONFLICT (tenant, id) DO UPDATE SET name = excluded.name,
                     school_period_id = excluded.school_period_id, active = 1,
                     fetched_at = excluded.fetched_at",
                &[&c.id, &c.name, period_id, &now, &tenant],
            )?;
        }
    }
    if let Some(courses) = &fetched.courses {
        for c in courses {
            let old = stored_name(t, COURSE_NAME, tenant, c.id)?;
            changed += u64::from(renamed(old.as_deref(), &c.name));
            t.execute(
                "INSERT INTO reference_courses (tenant, id, name, fetched_at)
                 VALUES ($4, $1, $2, $3)
                 ON CONFLICT (tenant, id) DO UPDATE SET name = excluded.name,
                     fetched_at = excluded.fetched_at",
                &[&c.id, &c.name, &now, &tenant],
            )?;
        }
    }
    Ok(changed > 0)
}

fn join_class(
    t: &mut WriteTx<'_>,
    tenant: &str,
    student_period_id: i64,
    class_id: i64,
    now: i64,
) -> Result<(), postgres::Error> {
    t.execute(
        "INSERT INTO reference_student_classes (tenant, student_period_id, class_id, fetched_at)
         VALUES ($4, $1, $2, $3)
         ON CONFLICT (tenant, student_period_id, class_id)
         DO UPDATE SET fetched_at = excluded.fetched_at",
        &[&student_period_id, &class_id, &now, &tenant],
    )?;
    Ok(())
}

/// Sets the user's category for a status of school `tenant` (`None` goes back to the guess).
/// Returns whether the status exists.
pub fn set_status_category(
    t: &mut WriteTx<'_>,
    tenant: &str,
    status_id: i64,
    category: Option<StatusCategory>,
) -> Result<bool, postgres::Error> {
    let category = category.map(StatusCategory::as_str);
    let n = t.execute(
        "UPDATE reference_statuses SET user_category = $2 WHERE id = $1 AND tenant = $3",
        &[&status_id, &category, &tenant],
    )?;
    Ok(n > 0)
}

/// Whether the row of school `tenant` with `id` exists and has a name.
fn named(
    t: &mut WriteTx<'_>,
    sql: &'static str,
    tenant: &str,
    id: i64,
) -> Result<bool, postgres::Error> {
    Ok(stored_name(t, sql, tenant, id)?.is_some())
}

/// Applies what a reference webhook of school `tenant` said to the reference tables.
pub fn apply_reference_update(
    t: &mut WriteTx<'_>,
    tenant: &str,
    update: &ReferenceUpdate,
    now: i64,
) -> Result<ReferenceWebhookEffect, postgres::Error> {
    let mut effect = ReferenceWebhookEffect::default();
    match *update {
        ReferenceUpdate::StudentPeriod {
            id,
            student_id,
            ref name,
            active,
            deleted,
        } => {
            t.execute(
                "INSERT INTO reference_students
                     (tenant, student_period_id, student_id, name, active, fetched_at)
                 VALUES ($6, $1, $2, $3, $4, $5)
                 ON CONFLICT (tenant, student_period_id) DO UPDATE SET
                     student_id = COALESCE(excluded.student_id, reference_students.student_id),
                     name = COALESCE(excluded.name, reference_students.name),
                     active = excluded.active",
                &[&id, &student_id, name, &i64::from(active), &now, &tenant],
            )?;
            let named_after = named(t, STUDENT_NAME, tenant, id)?;
            effect =
                ReferenceWebhookEffect::of_student_period(named_after, name.is_some(), deleted);
        }
        ReferenceUpdate::StudentClass {
            student_period_id: spid,
            class_id,
            deleted,
        } => {
            if deleted {
                t.execute(
                    "DELETE FROM reference_student_classes
                     WHERE tenant = $3 AND student_period_id = $1 AND class_id = $2",
                    &[&spid, &class_id, &tenant],
                )?;
            } else {
                join_class(t, tenant, spid, class_id, now)?;
                t.execute(
                    "UPDATE reference_students SET class_id = $2
                     WHERE tenant = $3 AND student_period_id = $1",
                    &[&spid, &class_id, &tenant],
                )?;
                effect = ReferenceWebhookEffect::of_student_class(
                    named(t, STUDENT_NAME, tenant, spid)?,
                    named(t, CLASS_NAME, tenant, class_id)?,
                );
            }
        }
        ReferenceUpdate::Class {
            id,
            ref name,
            school_period_id,
            deleted,
        } => {
            if let Some(name) = name {
                let old = stored_name(t, CLASS_NAME, tenant, id)?;
                effect.names_changed = renamed(old.as_deref(), name);
            }
            // A deleted class keeps its name: old attendance still refers to it.
            t.execute(
                "INSERT INTO reference_classes
                     (tenant, id, name, school_period_id, active, fetched_at)
                 VALUES ($6, $1, $2, $3, $4, $5)
                 ON CONFLICT (tenant, id) DO UPDATE SET
                     name = COALESCE(excluded.name, reference_classes.name),
                     school_period_id = COALESCE(excluded.school_period_id,
                                                 reference_classes.school_period_id),
                     active = excluded.active",
                &[
                    &id,
                    name,
                    &school_period_id,
                    &i64::from(!deleted),
                    &now,
                    &tenant,
                ],
            )?;
            effect.unknown_name = ReferenceWebhookEffect::class_still_unnamed(
                name.is_some(),
                deleted,
                named(t, CLASS_NAME, tenant, id)?,
            );
        }
    }
    Ok(effect)
}
