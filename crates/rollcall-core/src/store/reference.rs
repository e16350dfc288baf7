//! The names behind the ids (`reference_*` tables, migration 2): what one refresh from the
//! DreamClass API stores, what a reference webhook changes, and the names the UI, the
//! notifications and the name resolver read. Writes run inside the writer's transactions.
//!
//! Invariant: a name once known is never removed (old attendance still refers to it); a
//! refresh only adds or renames, and a user's category correction survives every refresh.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::{Change, StatusCategory};

/// The names the UI shows, exactly as `GET /api/reference` answers (docs/local-api.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    pub statuses: Vec<ReferenceStatus>,
    pub students: Vec<ReferenceStudent>,
    pub classes: Vec<ReferenceName>,
    pub courses: Vec<ReferenceName>,
}

impl Reference {
    /// These names as one refresh of a copy (a viewer's, from its server): each status's
    /// category as the server decides it, every student and class in one school period.
    pub fn into_refresh(self) -> FetchedReference {
        let names = |list: Vec<ReferenceName>| {
            list.into_iter()
                .map(|n| FetchedName {
                    id: n.id,
                    name: n.name,
                })
                .collect::<Vec<_>>()
        };
        FetchedReference {
            statuses: Some(
                self.statuses
                    .into_iter()
                    .map(|s| FetchedStatus {
                        id: s.id,
                        name: s.name,
                        guessed_category: s.category,
                    })
                    .collect(),
            ),
            students: vec![(
                0,
                self.students
                    .into_iter()
                    .map(|s| FetchedStudent {
                        student_period_id: s.student_period_id,
                        student_id: None,
                        name: Some(s.name),
                        class_id: None,
                    })
                    .collect(),
            )],
            classes: vec![(0, names(self.classes))],
            courses: Some(names(self.courses)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceStatus {
    pub id: i64,
    pub name: String,
    /// The user's correction if any, else the guess from the name.
    pub category: StatusCategory,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceStudent {
    pub student_period_id: i64,
    pub name: String,
}

/// A class or a course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceName {
    pub id: i64,
    pub name: String,
}

/// A status as one refresh read it, with the category guessed from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedStatus {
    pub id: i64,
    pub name: String,
    pub guessed_category: StatusCategory,
}

/// One student's enrolment in a school period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedStudent {
    pub student_period_id: i64,
    pub student_id: Option<i64>,
    pub name: Option<String>,
    pub class_id: Option<i64>,
}

/// A class or a course: an id and a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedName {
    pub id: i64,
    pub name: String,
}

/// What one refresh read from the API. `None` for a part that could not be read: what is
/// stored for it stays as it was.
#[derive(Debug, Clone, Default)]
pub struct FetchedReference {
    pub statuses: Option<Vec<FetchedStatus>>,
    /// Per school period: its id and its students.
    pub students: Vec<(i64, Vec<FetchedStudent>)>,
    pub classes: Vec<(i64, Vec<FetchedName>)>,
    pub courses: Option<Vec<FetchedName>>,
}

/// What a reference webhook (`STUDENT_PERIOD_*`, `STUDENT_CLASS_*`, `CLASS_*`) says, read
/// from its `data` by the DreamClass side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceUpdate {
    /// A student's enrolment was created, changed or deleted.
    StudentPeriod {
        id: i64,
        student_id: Option<i64>,
        name: Option<String>,
        active: bool,
        deleted: bool,
    },
    /// A student joined (or, deleted, left) a class.
    StudentClass {
        student_period_id: i64,
        class_id: i64,
        deleted: bool,
    },
    /// A class was created, renamed or deleted (a deleted class keeps its name).
    Class {
        id: i64,
        name: Option<String>,
        school_period_id: Option<i64>,
        deleted: bool,
    },
}

/// What a reference webhook did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReferenceWebhookEffect {
    /// A name the user sees changed.
    pub names_changed: bool,
    /// It named an id whose name Rollcall does not know yet: worth asking the API.
    pub unknown_name: bool,
}

impl ReferenceWebhookEffect {
    /// After an enrolment webhook: a name given changes what the user sees; an enrolment
    /// still without a name (and not deleted) is worth asking the API about.
    pub fn of_student_period(named_after: bool, name_given: bool, deleted: bool) -> Self {
        Self {
            names_changed: name_given,
            unknown_name: !named_after && !deleted,
        }
    }

    /// After a student joined a class: either without a name is worth asking about.
    pub fn of_student_class(student_named: bool, class_named: bool) -> Self {
        Self {
            names_changed: false,
            unknown_name: !student_named || !class_named,
        }
    }

    /// After a class webhook without a name for a class that has none: ask the API.
    pub fn class_still_unnamed(name_given: bool, deleted: bool, class_named: bool) -> bool {
        !name_given && !deleted && !class_named
    }
}

/// The category a status is shown under, from the stored text (the user's correction or the
/// guess); a category Rollcall does not know is "other".
pub fn shown_category(stored: &str) -> StatusCategory {
    StatusCategory::parse(stored).unwrap_or(StatusCategory::Other)
}

/// A stored name as the user sees it: a blank name is no name.
pub fn shown_name(name: Option<String>) -> Option<String> {
    name.filter(|n| !n.trim().is_empty())
}

/// Whether a refreshed student's name changes what the user sees: a refresh without a name
/// keeps the stored one.
pub fn student_renamed(stored: Option<&str>, fetched: Option<&str>) -> bool {
    fetched.is_some() && stored != fetched
}

/// Whether a class's or course's name differs from the stored one (or there is none yet).
pub fn renamed(stored: Option<&str>, fetched: &str) -> bool {
    stored != Some(fetched)
}

/// An id to put a name to (desktop notifications).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NamedId {
    Status(i64),
    Class(i64),
}

/// Every known name. Ids whose name is not known yet are left out; the UI shows the id.
pub fn load_reference(conn: &Connection) -> rusqlite::Result<Reference> {
    let statuses = conn
        .prepare_cached(
            "SELECT id, name, COALESCE(user_category, guessed_category)
             FROM reference_statuses ORDER BY id",
        )?
        .query_map([], |r| {
            let category: String = r.get(2)?;
            Ok(ReferenceStatus {
                id: r.get(0)?,
                name: r.get(1)?,
                category: shown_category(&category),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let students = conn
        .prepare_cached(
            "SELECT student_period_id, name FROM reference_students
             WHERE name IS NOT NULL ORDER BY student_period_id",
        )?
        .query_map([], |r| {
            Ok(ReferenceStudent {
                student_period_id: r.get(0)?,
                name: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let named = |sql: &str| -> rusqlite::Result<Vec<ReferenceName>> {
        conn.prepare_cached(sql)?
            .query_map([], |r| {
                Ok(ReferenceName {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })?
            .collect()
    };
    Ok(Reference {
        statuses,
        students,
        classes: named(
            "SELECT id, name FROM reference_classes WHERE name IS NOT NULL ORDER BY id",
        )?,
        courses: named("SELECT id, name FROM reference_courses ORDER BY id")?,
    })
}

/// The stored, non-blank names of `ids`; an id without one is left out.
pub fn names_of(conn: &Connection, ids: &[NamedId]) -> rusqlite::Result<HashMap<NamedId, String>> {
    let mut names = HashMap::new();
    for &id in ids {
        let (sql, n) = match id {
            NamedId::Status(n) => ("SELECT name FROM reference_statuses WHERE id = ?1", n),
            NamedId::Class(n) => ("SELECT name FROM reference_classes WHERE id = ?1", n),
        };
        let name: Option<String> = conn
            .prepare_cached(sql)?
            .query_row([n], |r| r.get(0))
            .optional()?
            .flatten();
        if let Some(name) = shown_name(name) {
            names.insert(id, name);
        }
    }
    Ok(names)
}

/// Stores a refresh. Names the API no longer lists are kept: old attendance still refers to
/// them. Returns whether anything the user sees changed.
pub fn store_fetched(
    tx: &Transaction<'_>,
    fetched: &FetchedReference,
    now: i64,
) -> rusqlite::Result<bool> {
    let mut changed = 0;
    if let Some(statuses) = &fetched.statuses {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO reference_statuses (id, name, guessed_category, fetched_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                 guessed_category = excluded.guessed_category, fetched_at = excluded.fetched_at
             WHERE name IS NOT excluded.name OR guessed_category IS NOT excluded.guessed_category",
        )?;
        for s in statuses {
            changed += stmt.execute(params![s.id, s.name, s.guessed_category.as_str(), now])?;
        }
        tx.execute("UPDATE reference_statuses SET fetched_at = ?1", [now])?;
    }
    for (period_id, students) in &fetched.students {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO reference_students
                 (student_period_id, student_id, name, class_id, school_period_id, active, fetched_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)
             ON CONFLICT (student_period_id) DO UPDATE SET
                 student_id = COALESCE(excluded.student_id, student_id),
                 name = COALESCE(excluded.name, name),
                 class_id = COALESCE(excluded.class_id, class_id),
                 school_period_id = excluded.school_period_id,
                 active = 1, fetched_at = excluded.fetched_at",
        )?;
        let mut before =
            tx.prepare_cached("SELECT name FROM reference_students WHERE student_period_id = ?1")?;
        for s in students {
            let old: Option<Option<String>> = before
                .query_row([s.student_period_id], |r| r.get(0))
                .optional()?;
            changed += usize::from(student_renamed(old.flatten().as_deref(), s.name.as_deref()));
            stmt.execute(params![
                s.student_period_id,
                s.student_id,
                s.name,
                s.class_id,
                period_id,
                now
            ])?;
            if let Some(class_id) = s.class_id {
                tx.prepare_cached(
                    "INSERT INTO reference_student_classes (student_period_id, class_id, fetched_at)
                     VALUES (?1, ?2, ?3)
                     ON CONFLICT DO UPDATE SET fetched_at = excluded.fetched_at",
                )?
                .execute(params![s.student_period_id, class_id, now])?;
            }
        }
    }
    for (period_id, classes) in &fetched.classes {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO reference_classes (id, name, school_period_id, active, fetched_at)
             VALUES (?1, ?2, ?3, 1, ?4)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                 school_period_id = excluded.school_period_id, active = 1,
                 fetched_at = excluded.fetched_at",
        )?;
        for c in classes {
            changed += usize::from(name_differs(tx, "reference_classes", c.id, &c.name)?);
            stmt.execute(params![c.id, c.name, period_id, now])?;
        }
    }
    if let Some(courses) = &fetched.courses {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO reference_courses (id, name, fetched_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, fetched_at = excluded.fetched_at",
        )?;
        for c in courses {
            changed += usize::from(name_differs(tx, "reference_courses", c.id, &c.name)?);
            stmt.execute(params![c.id, c.name, now])?;
        }
    }
    Ok(changed > 0)
}

fn name_differs(tx: &Transaction<'_>, table: &str, id: i64, name: &str) -> rusqlite::Result<bool> {
    let old: Option<Option<String>> = tx
        .prepare_cached(&format!("SELECT name FROM {table} WHERE id = ?1"))?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(renamed(old.flatten().as_deref(), name))
}

/// Sets the user's category for a status (`None` goes back to the guess). Returns whether
/// the status exists.
pub fn set_status_category(
    tx: &Transaction<'_>,
    status_id: i64,
    category: Option<StatusCategory>,
) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "UPDATE reference_statuses SET user_category = ?2 WHERE id = ?1",
        params![status_id, category.map(StatusCategory::as_str)],
    )?;
    Ok(n > 0)
}

/// Applies what a reference webhook said to the reference tables.
pub fn apply_reference_update(
    tx: &Transaction<'_>,
    update: &ReferenceUpdate,
    now: i64,
) -> rusqlite::Result<ReferenceWebhookEffect> {
    let mut effect = ReferenceWebhookEffect::default();
    match *update {
        ReferenceUpdate::StudentPeriod {
            id,
            student_id,
            ref name,
            active,
            deleted,
        } => {
            tx.prepare_cached(
                "INSERT INTO reference_students (student_period_id, student_id, name, active, fetched_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (student_period_id) DO UPDATE SET
                     student_id = COALESCE(excluded.student_id, student_id),
                     name = COALESCE(excluded.name, name), active = excluded.active",
            )?
            .execute(params![id, student_id, name, active, now])?;
            let known: Option<String> = tx
                .query_row(
                    "SELECT name FROM reference_students WHERE student_period_id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            effect =
                ReferenceWebhookEffect::of_student_period(known.is_some(), name.is_some(), deleted);
        }
        ReferenceUpdate::StudentClass {
            student_period_id: spid,
            class_id,
            deleted,
        } => {
            if deleted {
                tx.execute(
                    "DELETE FROM reference_student_classes WHERE student_period_id = ?1 AND class_id = ?2",
                    params![spid, class_id],
                )?;
            } else {
                tx.execute(
                    "INSERT INTO reference_student_classes (student_period_id, class_id, fetched_at)
                     VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET fetched_at = excluded.fetched_at",
                    params![spid, class_id, now],
                )?;
                tx.execute(
                    "UPDATE reference_students SET class_id = ?2 WHERE student_period_id = ?1",
                    params![spid, class_id],
                )?;
                effect = ReferenceWebhookEffect::of_student_class(
                    known_id(tx, "reference_students", "student_period_id", spid)?,
                    known_id(tx, "reference_classes", "id", class_id)?,
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
                effect.names_changed = name_differs(tx, "reference_classes", id, name)?;
            }
            // A deleted class keeps its name: old attendance still refers to it.
            tx.prepare_cached(
                "INSERT INTO reference_classes (id, name, school_period_id, active, fetched_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET name = COALESCE(excluded.name, name),
                     school_period_id = COALESCE(excluded.school_period_id, school_period_id),
                     active = excluded.active",
            )?
            .execute(params![id, name, school_period_id, !deleted, now])?;
            effect.unknown_name = ReferenceWebhookEffect::class_still_unnamed(
                name.is_some(),
                deleted,
                known_id(tx, "reference_classes", "id", id)?,
            );
        }
    }
    Ok(effect)
}

fn known_id(tx: &Transaction<'_>, table: &str, column: &str, id: i64) -> rusqlite::Result<bool> {
    tx.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} = ?1 AND name IS NOT NULL)"),
        [id],
        |r| r.get(0),
    )
}

/// The ids that have a name, to notice quickly when a change names one that has not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownIds {
    pub statuses: HashSet<i64>,
    pub students: HashSet<i64>,
    pub classes: HashSet<i64>,
    pub courses: HashSet<i64>,
}

impl KnownIds {
    pub fn load(conn: &Connection) -> rusqlite::Result<Self> {
        let ids = |sql: &str| -> rusqlite::Result<HashSet<i64>> {
            conn.prepare(sql)?.query_map([], |r| r.get(0))?.collect()
        };
        Ok(Self {
            statuses: ids("SELECT id FROM reference_statuses")?,
            students: ids(
                "SELECT student_period_id FROM reference_students WHERE name IS NOT NULL",
            )?,
            classes: ids("SELECT id FROM reference_classes WHERE name IS NOT NULL")?,
            courses: ids("SELECT id FROM reference_courses")?,
        })
    }

    /// The ids a change names that have no name, as (table, id). Course 0 (daily
    /// attendance) and class 0 stand for "none".
    pub fn missing(&self, change: &Change) -> Vec<(&'static str, i64)> {
        let mut missing = Vec::new();
        if let Some(s) = change.status_after.filter(|s| !self.statuses.contains(s)) {
            missing.push(("status", s));
        }
        if !self.students.contains(&change.student_period_id) {
            missing.push(("student", change.student_period_id));
        }
        if change.class_id != 0 && !self.classes.contains(&change.class_id) {
            missing.push(("class", change.class_id));
        }
        if change.course_id != 0 && !self.courses.contains(&change.course_id) {
            missing.push(("course", change.course_id));
        }
        missing
    }
}

/// Whether stored attendance names any id without a name (checked at start and after the
/// live feed fell behind).
pub fn attendance_has_unknown_ids(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM attendance a WHERE
             NOT EXISTS (SELECT 1 FROM reference_statuses s WHERE s.id = a.status_id)
          OR NOT EXISTS (SELECT 1 FROM reference_students s
                         WHERE s.student_period_id = a.student_period_id AND s.name IS NOT NULL)
          OR (a.class_id != 0 AND NOT EXISTS (SELECT 1 FROM reference_classes c
                         WHERE c.id = a.class_id AND c.name IS NOT NULL))
          OR (a.course_id != 0 AND NOT EXISTS (SELECT 1 FROM reference_courses c
                         WHERE c.id = a.course_id)))",
        [],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn
    }

    fn status(id: i64, name: &str, guessed_category: StatusCategory) -> FetchedStatus {
        FetchedStatus {
            id,
            name: name.into(),
            guessed_category,
        }
    }

    #[test]
    fn fetched_names_load_as_the_local_api_shows_them() {
        let mut conn = db();
        let tx = conn.transaction().unwrap();
        let fetched = FetchedReference {
            statuses: Some(vec![
                status(1, "Παρών", StatusCategory::Present),
                status(2, "Late", StatusCategory::Late),
            ]),
            students: vec![(
                7,
                vec![FetchedStudent {
                    student_period_id: 4,
                    student_id: Some(1004),
                    name: Some("Eleni Georgiou".into()),
                    class_id: Some(31),
                }],
            )],
            classes: vec![(
                7,
                vec![FetchedName {
                    id: 31,
                    name: "Year 7 A".into(),
                }],
            )],
            courses: Some(vec![FetchedName {
                id: 40,
                name: "Mathematics".into(),
            }]),
        };
        assert!(store_fetched(&tx, &fetched, 100).unwrap());
        assert!(
            !store_fetched(&tx, &fetched, 200).unwrap(),
            "same names: no change"
        );
        assert!(set_status_category(&tx, 2, Some(StatusCategory::Excused)).unwrap());
        assert!(!set_status_category(&tx, 99, Some(StatusCategory::Late)).unwrap());
        // A refresh keeps the user's correction.
        assert!(!store_fetched(&tx, &fetched, 300).unwrap());
        tx.commit().unwrap();
        let json = serde_json::to_value(load_reference(&conn).unwrap()).unwrap();
        assert_eq!(
            json,
            json!({
                "statuses": [{"id": 1, "name": "Παρών", "category": "present"},
                             {"id": 2, "name": "Late", "category": "excused"}],
                "students": [{"studentPeriodId": 4, "name": "Eleni Georgiou"}],
                "classes": [{"id": 31, "name": "Year 7 A"}],
                "courses": [{"id": 40, "name": "Mathematics"}]
            })
        );
        let names = names_of(
            &conn,
            &[NamedId::Status(2), NamedId::Class(31), NamedId::Class(99)],
        )
        .unwrap();
        assert_eq!(names.len(), 2, "an unknown class has no name: {names:?}");
        assert_eq!(names[&NamedId::Status(2)], "Late");
        assert_eq!(names[&NamedId::Class(31)], "Year 7 A");
    }

    #[test]
    fn reference_updates_change_the_same_tables() {
        let mut conn = db();
        let tx = conn.transaction().unwrap();
        let e = apply_reference_update(
            &tx,
            &ReferenceUpdate::StudentPeriod {
                id: 12,
                student_id: Some(9),
                name: None,
                active: true,
                deleted: false,
            },
            1,
        )
        .unwrap();
        assert!(e.unknown_name, "a new enrolment has no name yet");
        let class = |name: Option<&str>, deleted| ReferenceUpdate::Class {
            id: 3,
            name: name.map(String::from),
            school_period_id: None,
            deleted,
        };
        let e = apply_reference_update(&tx, &class(Some("Year 9 C"), false), 2).unwrap();
        assert!(e.names_changed && !e.unknown_name);
        let e = apply_reference_update(
            &tx,
            &ReferenceUpdate::StudentClass {
                student_period_id: 12,
                class_id: 3,
                deleted: false,
            },
            3,
        )
        .unwrap();
        assert!(e.unknown_name);
        let class_id: i64 = tx
            .query_row(
                "SELECT class_id FROM reference_students WHERE student_period_id = 12",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(class_id, 3);
        apply_reference_update(&tx, &class(None, true), 4).unwrap();
        tx.commit().unwrap();
        let r = load_reference(&conn).unwrap();
        assert_eq!(
            r.classes,
            vec![ReferenceName {
                id: 3,
                name: "Year 9 C".into()
            }]
        );
        assert!(r.students.is_empty());
    }
}
