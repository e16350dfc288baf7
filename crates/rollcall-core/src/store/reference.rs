//! The names behind the ids (`reference_*` tables, migration 2): what one refresh from the
//! DreamClass API stores, what a reference webhook changes, and the names the UI, the
//! notifications and the name resolver read. Writes run inside the writer's transactions.
//!
//! Invariant: a name once known is never removed (old attendance still refers to it); a
//! refresh only adds or renames, and a user's category correction survives every refresh.
//!
//! Names belong to a school: DreamClass ids are per tenant, so every table is keyed by
//! (tenant, id) (migration 6), every read joins on both, and a reader sees only the names of
//! the schools its [`Scope`] allows.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::filter::RecordFilter;
use crate::model::StatusCategory;
use crate::Scope;

pub use super::known_ids::{
    attendance_has_unknown_ids, KnownIds, KnownSet, SchoolKnownIds, KNOWN_ID_QUERIES,
    UNKNOWN_IDS_SQL,
};

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
    /// These names as refreshes of a copy (a viewer's, from its server), one per school:
    /// each status's category as the server decides it, every student and class in one
    /// school period.
    pub fn into_refresh(self) -> Vec<FetchedReference> {
        let mut by_school: std::collections::BTreeMap<String, FetchedReference> =
            std::collections::BTreeMap::new();
        for s in self.statuses {
            fetched_for(&mut by_school, &s.tenant)
                .statuses
                .get_or_insert_with(Vec::new)
                .push(FetchedStatus {
                    id: s.id,
                    name: s.name,
                    guessed_category: s.category,
                });
        }
        for s in self.students {
            fetched_for(&mut by_school, &s.tenant).students[0]
                .1
                .push(FetchedStudent {
                    student_period_id: s.student_period_id,
                    student_id: None,
                    name: Some(s.name),
                    class_id: None,
                });
        }
        for c in self.classes {
            fetched_for(&mut by_school, &c.tenant).classes[0]
                .1
                .push(FetchedName {
                    id: c.id,
                    name: c.name,
                });
        }
        for c in self.courses {
            fetched_for(&mut by_school, &c.tenant)
                .courses
                .get_or_insert_with(Vec::new)
                .push(FetchedName {
                    id: c.id,
                    name: c.name,
                });
        }
        by_school.into_values().collect()
    }
}

/// The refresh of `tenant` in `by_school`, begun empty (every part read) if there is none yet.
fn fetched_for<'a>(
    by_school: &'a mut std::collections::BTreeMap<String, FetchedReference>,
    tenant: &str,
) -> &'a mut FetchedReference {
    by_school
        .entry(tenant.to_string())
        .or_insert_with(|| FetchedReference {
            tenant: tenant.to_string(),
            statuses: Some(Vec::new()),
            students: vec![(0, Vec::new())],
            classes: vec![(0, Vec::new())],
            courses: Some(Vec::new()),
        })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceStatus {
    /// The school (DreamClass tenant) whose status this is.
    pub tenant: String,
    pub id: i64,
    pub name: String,
    /// The user's correction if any, else the guess from the name.
    pub category: StatusCategory,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceStudent {
    pub tenant: String,
    pub student_period_id: i64,
    pub name: String,
}

/// A class or a course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceName {
    pub tenant: String,
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
    /// The school (DreamClass tenant) these names are of.
    pub tenant: String,
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

/// `sql` with its `{within}` replaced by the condition of `scope` on the alias `r`, and the
/// condition's values (`?` placeholders; the PostgreSQL store numbers them). Every read of the
/// names in both stores goes through it, so a reader sees only their schools' names.
pub fn scoped(sql: &str, scope: &Scope) -> (String, Vec<rusqlite::types::Value>) {
    let (within, params) = RecordFilter::default().within(scope).sql("r", "");
    (sql.replace("{within}", &within), params)
}

/// The queries of [`load_reference`] (both stores run them, through [`scoped`]): each gives
/// (tenant, id, name, the status's category or NULL) rows, in the order the UI lists them.
pub const STATUS_NAMES_SQL: &str = "SELECT r.tenant, r.id, r.name,
        COALESCE(r.user_category, r.guessed_category)
    FROM reference_statuses r WHERE {within} ORDER BY r.tenant, r.id";
pub const STUDENT_NAMES_SQL: &str = "SELECT r.tenant, r.student_period_id, r.name, NULL
    FROM reference_students r
    WHERE r.name IS NOT NULL AND {within} ORDER BY r.tenant, r.student_period_id";
pub const CLASS_NAMES_SQL: &str = "SELECT r.tenant, r.id, r.name, NULL FROM reference_classes r
    WHERE r.name IS NOT NULL AND {within} ORDER BY r.tenant, r.id";
pub const COURSE_NAMES_SQL: &str = "SELECT r.tenant, r.id, r.name, NULL FROM reference_courses r
    WHERE {within} ORDER BY r.tenant, r.id";

/// A row of a names query: school, id, name, and a status's category (NULL for the others).
type NameRow = (String, i64, String, Option<String>);

/// Every known name of the schools `scope` allows. Ids whose name is not known yet are left
/// out; the UI shows the id.
pub fn load_reference(conn: &Connection, scope: &Scope) -> rusqlite::Result<Reference> {
    let rows = |sql: &str| -> rusqlite::Result<Vec<NameRow>> {
        let (sql, params) = scoped(sql, scope);
        conn.prepare_cached(&sql)?
            .query_map(rusqlite::params_from_iter(params), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect()
    };
    let statuses = rows(STATUS_NAMES_SQL)?
        .into_iter()
        .map(|(tenant, id, name, category)| ReferenceStatus {
            tenant,
            id,
            name,
            category: shown_category(category.as_deref().unwrap_or_default()),
        })
        .collect();
    let students = rows(STUDENT_NAMES_SQL)?
        .into_iter()
        .map(|(tenant, student_period_id, name, _)| ReferenceStudent {
            tenant,
            student_period_id,
            name,
        })
        .collect();
    let named = |sql: &str| -> rusqlite::Result<Vec<ReferenceName>> {
        Ok(rows(sql)?
            .into_iter()
            .map(|(tenant, id, name, _)| ReferenceName { tenant, id, name })
            .collect())
    };
    Ok(Reference {
        statuses,
        students,
        classes: named(CLASS_NAMES_SQL)?,
        courses: named(COURSE_NAMES_SQL)?,
    })
}

/// The stored, non-blank names of `ids` of school `tenant`; an id without one is left out.
pub fn names_of(
    conn: &Connection,
    tenant: &str,
    ids: &[NamedId],
) -> rusqlite::Result<HashMap<NamedId, String>> {
    let mut names = HashMap::new();
    for &id in ids {
        let (sql, n) = match id {
            NamedId::Status(n) => (
                "SELECT name FROM reference_statuses WHERE tenant = ?1 AND id = ?2",
                n,
            ),
            NamedId::Class(n) => (
                "SELECT name FROM reference_classes WHERE tenant = ?1 AND id = ?2",
                n,
            ),
        };
        let name: Option<String> = conn
            .prepare_cached(sql)?
            .query_row(params![tenant, n], |r| r.get(0))
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
    let tenant = fetched.tenant.as_str();
    if let Some(statuses) = &fetched.statuses {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO reference_statuses (tenant, id, name, guessed_category, fetched_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant, id) DO UPDATE SET name = excluded.name,
                 guessed_category = excluded.guessed_category, fetched_at = excluded.fetched_at
             WHERE name IS NOT excluded.name OR guessed_category IS NOT excluded.guessed_category",
        )?;
        for s in statuses {
            changed += stmt.execute(params![
                tenant,
                s.id,
                s.name,
                s.guessed_category.as_str(),
                now
            ])?;
        }
        tx.execute(
            "UPDATE reference_statuses SET fetched_at = ?1 WHERE tenant = ?2",
            params![now, tenant],
        )?;
    }
    for (period_id, students) in &fetched.students {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO reference_students
                 (tenant, student_period_id, student_id, name, class_id, school_period_id, active,
                  fetched_at)
             VALUES (?7, ?1, ?2, ?3, ?4, ?5, 1, ?6)
             ON CONFLICT (tenant, student_period_id) DO UPDATE SET
                 student_id = COALESCE(excluded.student_id, student_id),
                 name = COALESCE(excluded.name, name),
                 class_id = COALESCE(excluded.class_id, class_id),
                 school_period_id = excluded.school_period_id,
                 active = 1, fetched_at = excluded.fetched_at",
        )?;
        let mut before = tx.prepare_cached(
            "SELECT name FROM reference_students WHERE tenant = ?1 AND student_period_id = ?2",
        )?;
        for s in students {
            let old: Option<Option<String>> = before
                .query_row(params![tenant, s.student_period_id], |r| r.get(0))
                .optional()?;
            changed += usize::from(student_renamed(old.flatten().as_deref(), s.name.as_deref()));
            stmt.execute(params![
                s.student_period_id,
                s.student_id,
                s.name,
                s.class_id,
                period_id,
                now,
                tenant
            ])?;
            if let Some(class_id) = s.class_id {
                tx.prepare_cached(
                    "INSERT INTO reference_student_classes
                         (tenant, student_period_id, class_id, fetched_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO UPDATE SET fetched_at = excluded.fetched_at",
                )?
                .execute(params![tenant, s.student_period_id, class_id, now])?;
            }
        }
    }
    for (period_id, classes) in &fetched.classes {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO reference_classes (tenant, id, name, school_period_id, active, fetched_at)
             VALUES (?5, ?1, ?2, ?3, 1, ?4)
             ON CONFLICT (tenant, id) DO UPDATE SET name = excluded.name,
                 school_period_id = excluded.school_period_id, active = 1,
                 fetched_at = excluded.fetched_at",
        )?;
        for c in classes {
            changed += usize::from(name_differs(
                tx,
                "reference_classes",
                tenant,
                c.id,
                &c.name,
            )?);
            stmt.execute(params![c.id, c.name, period_id, now, tenant])?;
        }
    }
    if let Some(courses) = &fetched.courses {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO reference_courses (tenant, id, name, fetched_at) VALUES (?4, ?1, ?2, ?3)
             ON CONFLICT (tenant, id) DO UPDATE SET name = excluded.name,
                 fetched_at = excluded.fetched_at",
        )?;
        for c in courses {
            changed += usize::from(name_differs(
                tx,
                "reference_courses",
                tenant,
                c.id,
                &c.name,
            )?);
            stmt.execute(params![c.id, c.name, now, tenant])?;
        }
    }
    Ok(changed > 0)
}

fn name_differs(
    tx: &Transaction<'_>,
    table: &str,
    tenant: &str,
    id: i64,
    name: &str,
) -> rusqlite::Result<bool> {
    let old: Option<Option<String>> = tx
        .prepare_cached(&format!(
            "SELECT name FROM {table} WHERE tenant = ?1 AND id = ?2"
        ))?
        .query_row(params![tenant, id], |r| r.get(0))
        .optional()?;
    Ok(renamed(old.flatten().as_deref(), name))
}

/// Sets the user's category for a status of school `tenant` (`None` goes back to the
/// guess). Returns whether the status exists.
pub fn set_status_category(
    tx: &Transaction<'_>,
    tenant: &str,
    status_id: i64,
    category: Option<StatusCategory>,
) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "UPDATE reference_statuses SET user_category = ?2 WHERE id = ?1 AND tenant = ?3",
        params![status_id, category.map(StatusCategory::as_str), tenant],
    )?;
    Ok(n > 0)
}

/// Applies what a reference webhook of school `tenant` said to the reference tables.
pub fn apply_reference_update(
    tx: &Transaction<'_>,
    tenant: &str,
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
                "INSERT INTO reference_students
                     (tenant, student_period_id, student_id, name, active, fetched_at)
                 VALUES (?6, ?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant, student_period_id) DO UPDATE SET
                     student_id = COALESCE(excluded.student_id, student_id),
                     name = COALESCE(excluded.name, name), active = excluded.active",
            )?
            .execute(params![id, student_id, name, active, now, tenant])?;
            let known: Option<String> = tx
                .query_row(
                    "SELECT name FROM reference_students WHERE tenant = ?1 AND student_period_id = ?2",
                    params![tenant, id],
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
                    "DELETE FROM reference_student_classes
                     WHERE tenant = ?3 AND student_period_id = ?1 AND class_id = ?2",
                    params![spid, class_id, tenant],
                )?;
            } else {
                tx.execute(
                    "INSERT INTO reference_student_classes
                         (tenant, student_period_id, class_id, fetched_at)
                     VALUES (?4, ?1, ?2, ?3) ON CONFLICT DO UPDATE SET fetched_at = excluded.fetched_at",
                    params![spid, class_id, now, tenant],
                )?;
                tx.execute(
                    "UPDATE reference_students SET class_id = ?2
                     WHERE tenant = ?3 AND student_period_id = ?1",
                    params![spid, class_id, tenant],
                )?;
                effect = ReferenceWebhookEffect::of_student_class(
                    known_id(tx, "reference_students", "student_period_id", tenant, spid)?,
                    known_id(tx, "reference_classes", "id", tenant, class_id)?,
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
                effect.names_changed = name_differs(tx, "reference_classes", tenant, id, name)?;
            }
            // A deleted class keeps its name: old attendance still refers to it.
            tx.prepare_cached(
                "INSERT INTO reference_classes (tenant, id, name, school_period_id, active, fetched_at)
                 VALUES (?6, ?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (tenant, id) DO UPDATE SET name = COALESCE(excluded.name, name),
                     school_period_id = COALESCE(excluded.school_period_id, school_period_id),
                     active = excluded.active",
            )?
            .execute(params![id, name, school_period_id, !deleted, now, tenant])?;
            effect.unknown_name = ReferenceWebhookEffect::class_still_unnamed(
                name.is_some(),
                deleted,
                known_id(tx, "reference_classes", "id", tenant, id)?,
            );
        }
    }
    Ok(effect)
}

fn known_id(
    tx: &Transaction<'_>,
    table: &str,
    column: &str,
    tenant: &str,
    id: i64,
) -> rusqlite::Result<bool> {
    tx.query_row(
        &format!(
            "SELECT EXISTS (SELECT 1 FROM {table}
                 WHERE tenant = ?1 AND {column} = ?2 AND name IS NOT NULL)"
        ),
        params![tenant, id],
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
            tenant: "north".into(),
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
        assert!(set_status_category(&tx, "north", 2, Some(StatusCategory::Excused)).unwrap());
        assert!(!set_status_category(&tx, "north", 99, Some(StatusCategory::Late)).unwrap());
        assert!(
            !set_status_category(&tx, "south", 2, Some(StatusCategory::Late)).unwrap(),
            "status 2 of another school is not north's"
        );
        // A refresh keeps the user's correction.
        assert!(!store_fetched(&tx, &fetched, 300).unwrap());
        tx.commit().unwrap();
        let json = serde_json::to_value(load_reference(&conn, &Scope::all()).unwrap()).unwrap();
        assert_eq!(
            json,
            json!({
                "statuses": [{"tenant": "north", "id": 1, "name": "Παρών", "category": "present"},
                             {"tenant": "north", "id": 2, "name": "Late", "category": "excused"}],
                "students": [{"tenant": "north", "studentPeriodId": 4, "name": "Eleni Georgiou"}],
                "classes": [{"tenant": "north", "id": 31, "name": "Year 7 A"}],
                "courses": [{"tenant": "north", "id": 40, "name": "Mathematics"}]
            })
        );
        let names = names_of(
            &conn,
            "north",
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
            "north",
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
        let e = apply_reference_update(&tx, "north", &class(Some("Year 9 C"), false), 2).unwrap();
        assert!(e.names_changed && !e.unknown_name);
        let e = apply_reference_update(
            &tx,
            "north",
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
        apply_reference_update(&tx, "north", &class(None, true), 4).unwrap();
        tx.commit().unwrap();
        let r = load_reference(&conn, &Scope::all()).unwrap();
        assert_eq!(
            r.classes,
            vec![ReferenceName {
                tenant: "north".into(),
                id: 3,
                name: "Year 9 C".into()
            }]
        );
        assert!(r.students.is_empty());
    }

    fn one_class(tenant: &str, id: i64, name: &str) -> FetchedReference {
        FetchedReference {
            tenant: tenant.into(),
            classes: vec![(
                1,
                vec![FetchedName {
                    id,
                    name: name.into(),
                }],
            )],
            ..Default::default()
        }
    }

    #[test]
    fn the_same_id_in_two_schools_has_two_names_and_each_reader_sees_its_own() {
        let mut conn = db();
        let tx = conn.transaction().unwrap();
        store_fetched(&tx, &one_class("north", 12, "Year 7 North"), 1).unwrap();
        assert!(
            store_fetched(&tx, &one_class("south", 12, "Year 7 South"), 2).unwrap(),
            "south's class 12 is new, not a rename of north's"
        );
        tx.commit().unwrap();
        let north = load_reference(&conn, &Scope::tenants(["north"])).unwrap();
        assert_eq!(north.classes.len(), 1);
        assert_eq!(north.classes[0].name, "Year 7 North");
        let all = load_reference(&conn, &Scope::all()).unwrap();
        assert_eq!(all.classes.len(), 2);
        assert!(load_reference(&conn, &Scope::tenants(Vec::<String>::new()))
            .unwrap()
            .classes
            .is_empty());
        let south = names_of(&conn, "south", &[NamedId::Class(12)]).unwrap();
        assert_eq!(south[&NamedId::Class(12)], "Year 7 South");
        let known = KnownIds::load(&conn, &Scope::tenants(["south"])).unwrap();
        assert!(known.schools["south"].classes.contains(&12));
        assert!(!known.schools.contains_key("north"));
    }

    #[test]
    fn names_stored_before_schools_had_their_own_go_to_the_school_with_the_attendance() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate_up_to(&mut conn, 5).unwrap();
        conn.execute_batch(ONE_SCHOOL_AT_VERSION_5).unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let r = load_reference(&conn, &Scope::all()).unwrap();
        assert_eq!(
            r.classes,
            vec![ReferenceName {
                tenant: "my-school".into(),
                id: 34,
                name: "Year 8 B".into()
            }]
        );
        assert_eq!(r.statuses[0].tenant, "my-school");
        assert_eq!(
            r.statuses[0].category,
            StatusCategory::Excused,
            "the user's correction stays"
        );
        assert_eq!(r.students[0].tenant, "my-school");
        assert_eq!(r.courses[0].tenant, "my-school");
    }

    /// One school's names and attendance in a database at version 5, as every installation
    /// had before names were kept per school (and a few records of a second tenant).
    const ONE_SCHOOL_AT_VERSION_5: &str = "
        INSERT INTO reference_statuses (id, name, guessed_category, user_category, fetched_at)
            VALUES (5, 'Sick note', 'other', 'excused', 1);
        INSERT INTO reference_students (student_period_id, name, fetched_at)
            VALUES (4, 'Eleni Georgiou', 1);
        INSERT INTO reference_student_classes (student_period_id, class_id, fetched_at)
            VALUES (4, 34, 1);
        INSERT INTO reference_classes (id, name, fetched_at) VALUES (34, 'Year 8 B', 1);
        INSERT INTO reference_courses (id, name, fetched_at) VALUES (40, 'Mathematics', 1);
        INSERT INTO attendance VALUES
            ('my-school', 1, '2026-11-02', 'SESSION', 34, 40, 5, 4, '', 0, 1, 'r1', 1),
            ('my-school', 2, '2026-11-02', 'SESSION', 34, 40, 5, 5, '', 0, 1, 'r2', 2),
            ('other', 3, '2026-11-02', 'SESSION', 34, 40, 5, 6, '', 0, 1, 'r3', 3);
    ";
}
