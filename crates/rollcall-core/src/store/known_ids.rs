//! Which ids already have a name, per school: what the name resolver
//! (`rollcall-dreamclass`) checks each change against, to ask the DreamClass API only for ids
//! it cannot name yet. Read from the `reference_*` tables of [`super::reference`].

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;

use super::reference::scoped;
use crate::model::Change;
use crate::Scope;

/// The ids that have a name, per school, to notice quickly when a change names one that has
/// not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownIds {
    pub schools: HashMap<String, SchoolKnownIds>,
}

/// Which of a school's sets of named ids a [`KNOWN_ID_QUERIES`] row goes to.
pub type KnownSet = fn(&mut SchoolKnownIds) -> &mut HashSet<i64>;

/// The queries of [`KnownIds`] (both stores run them, through [`scoped`]): each gives
/// (tenant, id) rows.
pub const KNOWN_ID_QUERIES: [(&str, KnownSet); 4] = [
    (
        "SELECT r.tenant, r.id FROM reference_statuses r WHERE {within}",
        |k| &mut k.statuses,
    ),
    (
        "SELECT r.tenant, r.student_period_id FROM reference_students r
         WHERE r.name IS NOT NULL AND {within}",
        |k| &mut k.students,
    ),
    (
        "SELECT r.tenant, r.id FROM reference_classes r WHERE r.name IS NOT NULL AND {within}",
        |k| &mut k.classes,
    ),
    (
        "SELECT r.tenant, r.id FROM reference_courses r WHERE {within}",
        |k| &mut k.courses,
    ),
];

/// The ids of one school that have a name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchoolKnownIds {
    pub statuses: HashSet<i64>,
    pub students: HashSet<i64>,
    pub classes: HashSet<i64>,
    pub courses: HashSet<i64>,
}

impl KnownIds {
    /// The named ids of the schools `scope` allows.
    pub fn load(conn: &Connection, scope: &Scope) -> rusqlite::Result<Self> {
        let mut known = Self::default();
        for (sql, set) in KNOWN_ID_QUERIES {
            let (sql, params) = scoped(sql, scope);
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
            while let Some(row) = rows.next()? {
                let tenant: String = row.get(0)?;
                set(known.schools.entry(tenant).or_default()).insert(row.get(1)?);
            }
        }
        Ok(known)
    }

    /// The named ids of school `tenant`, to add to.
    pub fn school(&mut self, tenant: &str) -> &mut SchoolKnownIds {
        self.schools.entry(tenant.to_string()).or_default()
    }

    /// The ids a change names that have no name in its school, as (table, id). Course 0
    /// (daily attendance) and class 0 stand for "none".
    pub fn missing(&self, change: &Change) -> Vec<(&'static str, i64)> {
        let none = SchoolKnownIds::default();
        let known = self.schools.get(&change.tenant).unwrap_or(&none);
        let mut missing = Vec::new();
        if let Some(s) = change.status_after.filter(|s| !known.statuses.contains(s)) {
            missing.push(("status", s));
        }
        if !known.students.contains(&change.student_period_id) {
            missing.push(("student", change.student_period_id));
        }
        if change.class_id != 0 && !known.classes.contains(&change.class_id) {
            missing.push(("class", change.class_id));
        }
        if change.course_id != 0 && !known.courses.contains(&change.course_id) {
            missing.push(("course", change.course_id));
        }
        missing
    }
}

/// Whether stored attendance (`r`) names an id without a name in its school; both stores run
/// it, through [`scoped`].
pub const UNKNOWN_IDS_SQL: &str = "SELECT EXISTS (SELECT 1 FROM attendance r WHERE ({within}) AND (
       NOT EXISTS (SELECT 1 FROM reference_statuses s
                   WHERE s.tenant = r.tenant AND s.id = r.status_id)
    OR NOT EXISTS (SELECT 1 FROM reference_students s
                   WHERE s.tenant = r.tenant AND s.student_period_id = r.student_period_id
                     AND s.name IS NOT NULL)
    OR (r.class_id != 0 AND NOT EXISTS (SELECT 1 FROM reference_classes c
                   WHERE c.tenant = r.tenant AND c.id = r.class_id AND c.name IS NOT NULL))
    OR (r.course_id != 0 AND NOT EXISTS (SELECT 1 FROM reference_courses c
                   WHERE c.tenant = r.tenant AND c.id = r.course_id))))";

/// Whether stored attendance of the schools `scope` allows names any id without a name
/// (checked at start and after the live feed fell behind).
pub fn attendance_has_unknown_ids(conn: &Connection, scope: &Scope) -> rusqlite::Result<bool> {
    let (sql, params) = scoped(UNKNOWN_IDS_SQL, scope);
    conn.query_row(&sql, rusqlite::params_from_iter(params), |r| r.get(0))
}
