//! The names behind DreamClass ids on PostgreSQL: the same tables, reads and writes as
//! rollcall-core's `store::reference` (SQLite). What counts as a rename, a shown name or a
//! webhook's effect is decided by core's functions, so both backends answer alike.
//!
//! Invariant (as on SQLite): a name once known is never removed; a refresh only adds or
//! renames, and a user's category correction survives every refresh.

use std::collections::{HashMap, HashSet};

use postgres::Client;
use rollcall_core::model::StatusCategory;
use rollcall_core::store::reference::{
    renamed, shown_category, shown_name, student_renamed, FetchedReference, KnownIds, NamedId,
    Reference, ReferenceName, ReferenceStatus, ReferenceStudent, ReferenceUpdate,
    ReferenceWebhookEffect,
};

use crate::write_tx::WriteTx;

/// Every known name, as `GET /api/reference` answers.
pub fn load_reference(c: &mut Client) -> Result<Reference, postgres::Error> {
    let statuses = c
        .query(
            "SELECT id, name, COALESCE(user_category, guessed_category)
             FROM reference_statuses ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| ReferenceStatus {
            id: r.get(0),
            name: r.get(1),
            category: shown_category(r.get(2)),
        })
        .collect();
    let students = c
        .query(
            "SELECT student_period_id, name FROM reference_students
             WHERE name IS NOT NULL ORDER BY student_period_id",
            &[],
        )?
        .iter()
        .map(|r| ReferenceStudent {
            student_period_id: r.get(0),
            name: r.get(1),
        })
        .collect();
    let mut named = |sql: &str| -> Result<Vec<ReferenceName>, postgres::Error> {
        Ok(c.query(sql, &[])?
            .iter()
            .map(|r| ReferenceName {
                id: r.get(0),
                name: r.get(1),
            })
            .collect())
    };
    let classes =
        named("SELECT id, name FROM reference_classes WHERE name IS NOT NULL ORDER BY id")?;
    let courses = named("SELECT id, name FROM reference_courses ORDER BY id")?;
    Ok(Reference {
        statuses,
        students,
        classes,
        courses,
    })
}

/// The stored, non-blank names of `ids`; an id without one is left out.
pub fn names_of(
    c: &mut Client,
    ids: &[NamedId],
) -> Result<HashMap<NamedId, String>, postgres::Error> {
    let mut names = HashMap::new();
    for &id in ids {
        let (sql, n) = match id {
            NamedId::Status(n) => ("SELECT name FROM reference_statuses WHERE id = $1", n),
            NamedId::Class(n) => ("SELECT name FROM reference_classes WHERE id = $1", n),
        };
        let name: Option<String> = c.query_opt(sql, &[&n])?.and_then(|r| r.get(0));
        if let Some(name) = shown_name(name) {
            names.insert(id, name);
        }
    }
    Ok(names)
}

/// The ids that have a name (core's [`KnownIds`], read from PostgreSQL).
pub fn known_ids(c: &mut Client) -> Result<KnownIds, postgres::Error> {
    let mut ids = |sql: &str| -> Result<HashSet<i64>, postgres::Error> {
        Ok(c.query(sql, &[])?.iter().map(|r| r.get(0)).collect())
    };
    Ok(KnownIds {
        statuses: ids("SELECT id FROM reference_statuses")?,
        students: ids("SELECT student_period_id FROM reference_students WHERE name IS NOT NULL")?,
        classes: ids("SELECT id FROM reference_classes WHERE name IS NOT NULL")?,
        courses: ids("SELECT id FROM reference_courses")?,
    })
}

/// Whether stored attendance names any id without a name.
pub fn attendance_has_unknown_ids(c: &mut Client) -> Result<bool, postgres::Error> {
    Ok(c.query_one(
        "SELECT EXISTS (SELECT 1 FROM attendance a WHERE
             NOT EXISTS (SELECT 1 FROM reference_statuses s WHERE s.id = a.status_id)
          OR NOT EXISTS (SELECT 1 FROM reference_students s
                         WHERE s.student_period_id = a.student_period_id AND s.name IS NOT NULL)
          OR (a.class_id != 0 AND NOT EXISTS (SELECT 1 FROM reference_classes c
                         WHERE c.id = a.class_id AND c.name IS NOT NULL))
          OR (a.course_id != 0 AND NOT EXISTS (SELECT 1 FROM reference_courses c
                         WHERE c.id = a.course_id)))",
        &[],
    )?
    .get(0))
}

const STUDENT_NAME: &str = "SELECT name FROM reference_students WHERE student_period_id = $1";
const CLASS_NAME: &str = "SELECT name FROM reference_classes WHERE id = $1";
const COURSE_NAME: &str = "SELECT name FROM reference_courses WHERE id = $1";

/// The stored name of a row (`None` when the row or its name is missing).
fn stored_name(
    t: &mut WriteTx<'_>,
    sql: &'static str,
    id: i64,
) -> Result<Option<String>, postgres::Error> {
    Ok(t.query_opt(sql, &[&id])?.and_then(|r| r.get(0)))
}

/// Stores a refresh. Names the API no longer lists are kept. Returns whether anything the
/// user sees changed.
pub fn store_fetched(
    t: &mut WriteTx<'_>,
    fetched: &FetchedReference,
    now: i64,
) -> Result<bool, postgres::Error> {
    let mut changed = 0u64;
    if let Some(statuses) = &fetched.statuses {
        for s in statuses {
            // Counts only rows inserted or really updated, as SQLite's `WHERE` on the upsert.
            changed += t.execute(
                "INSERT INTO reference_statuses (id, name, guessed_category, fetched_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                     guessed_category = excluded.guessed_category,
                     fetched_at = excluded.fetched_at
                 WHERE reference_statuses.name IS DISTINCT FROM excluded.name
                    OR reference_statuses.guessed_category
                       IS DISTINCT FROM excluded.guessed_category",
                &[&s.id, &s.name, &s.guessed_category.as_str(), &now],
            )?;
        }
        t.execute("UPDATE reference_statuses SET fetched_at = $1", &[&now])?;
    }
    for (period_id, students) in &fetched.students {
        for s in students {
            let old = stored_name(t, STUDENT_NAME, s.student_period_id)?;
            changed += u64::from(student_renamed(old.as_deref(), s.name.as_deref()));
            t.execute(
                "INSERT INTO reference_students
                     (student_period_id, student_id, name, class_id, school_period_id, active,
                      fetched_at)
                 VALUES ($1, $2, $3, $4, $5, 1, $6)
                 ON CONFLICT (student_period_id) DO UPDATE SET
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
                ],
            )?;
            if let Some(class_id) = s.class_id {
                join_class(t, s.student_period_id, class_id, now)?;
            }
        }
    }
    for (period_id, classes) in &fetched.classes {
        for c in classes {
            let old = stored_name(t, CLASS_NAME, c.id)?;
            changed += u64::from(renamed(old.as_deref(), &c.name));
            t.execute(
                "INSERT INTO reference_classes (id, name, school_period_id, active, fetched_at)
                 VALUES ($1, $2, $3, 1, $4)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                     school_period_id = excluded.school_period_id, active = 1,
                     fetched_at = excluded.fetched_at",
                &[&c.id, &c.name, period_id, &now],
            )?;
        }
    }
    if let Some(courses) = &fetched.courses {
        for c in courses {
            let old = stored_name(t, COURSE_NAME, c.id)?;
            changed += u64::from(renamed(old.as_deref(), &c.name));
            t.execute(
                "INSERT INTO reference_courses (id, name, fetched_at) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                     fetched_at = excluded.fetched_at",
                &[&c.id, &c.name, &now],
            )?;
        }
    }
    Ok(changed > 0)
}

fn join_class(
    t: &mut WriteTx<'_>,
    student_period_id: i64,
    class_id: i64,
    now: i64,
) -> Result<(), postgres::Error> {
    t.execute(
        "INSERT INTO reference_student_classes (student_period_id, class_id, fetched_at)
         VALUES ($1, $2, $3)
         ON CONFLICT (student_period_id, class_id) DO UPDATE SET fetched_at = excluded.fetched_at",
        &[&student_period_id, &class_id, &now],
    )?;
    Ok(())
}

/// Sets the user's category for a status (`None` goes back to the guess). Returns whether
/// the status exists.
pub fn set_status_category(
    t: &mut WriteTx<'_>,
    status_id: i64,
    category: Option<StatusCategory>,
) -> Result<bool, postgres::Error> {
    let category = category.map(StatusCategory::as_str);
    let n = t.execute(
        "UPDATE reference_statuses SET user_category = $2 WHERE id = $1",
        &[&status_id, &category],
    )?;
    Ok(n > 0)
}

/// Whether the row with `id` exists and has a name.
fn named(t: &mut WriteTx<'_>, sql: &'static str, id: i64) -> Result<bool, postgres::Error> {
    Ok(stored_name(t, sql, id)?.is_some())
}

/// Applies what a reference webhook said to the reference tables.
pub fn apply_reference_update(
    t: &mut WriteTx<'_>,
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
                     (student_period_id, student_id, name, active, fetched_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (student_period_id) DO UPDATE SET
                     student_id = COALESCE(excluded.student_id, reference_students.student_id),
                     name = COALESCE(excluded.name, reference_students.name),
                     active = excluded.active",
                &[&id, &student_id, name, &i64::from(active), &now],
            )?;
            let named_after = named(t, STUDENT_NAME, id)?;
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
                     WHERE student_period_id = $1 AND class_id = $2",
                    &[&spid, &class_id],
                )?;
            } else {
                join_class(t, spid, class_id, now)?;
                t.execute(
                    "UPDATE reference_students SET class_id = $2 WHERE student_period_id = $1",
                    &[&spid, &class_id],
                )?;
                effect = ReferenceWebhookEffect::of_student_class(
                    named(t, STUDENT_NAME, spid)?,
                    named(t, CLASS_NAME, class_id)?,
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
                let old = stored_name(t, CLASS_NAME, id)?;
                effect.names_changed = renamed(old.as_deref(), name);
            }
            // A deleted class keeps its name: old attendance still refers to it.
            t.execute(
                "INSERT INTO reference_classes (id, name, school_period_id, active, fetched_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET
                     name = COALESCE(excluded.name, reference_classes.name),
                     school_period_id = COALESCE(excluded.school_period_id,
                                                 reference_classes.school_period_id),
                     active = excluded.active",
                &[&id, name, &school_period_id, &i64::from(!deleted), &now],
            )?;
            effect.unknown_name = ReferenceWebhookEffect::class_still_unnamed(
                name.is_some(),
                deleted,
                named(t, CLASS_NAME, id)?,
            );
        }
    }
    Ok(effect)
}
