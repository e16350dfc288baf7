//! The demo school: statuses, classes, courses and a roster, generated from a seed so that the
//! simulator, the fake DreamClass API and the tests all describe the same school.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

pub const DEMO_TENANT: &str = "demo-school";

pub use rollcall_core::model::StatusCategory;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub id: i64,
    pub name: String,
    pub category: StatusCategory,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    pub id: i64,
    pub name: String,
    /// The course taught in each lesson of the day, first lesson first.
    pub timetable: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Student {
    pub student_id: i64,
    /// The student's enrolment in the school period: what attendance webhooks carry.
    pub student_period_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub class_id: i64,
}

impl Student {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSchool {
    pub tenant: String,
    pub school_period_id: i64,
    pub statuses: Vec<Status>,
    pub classes: Vec<Class>,
    pub courses: Vec<Course>,
    pub students: Vec<Student>,
}

const FIRST_NAMES: &[&str] = &[
    "Maria", "Giorgos", "Eleni", "Nikos", "Zoë", "José", "Chloé", "Björn", "Łukasz", "Søren",
    "Aisha", "Mateo", "Sofia", "Liam", "Noah", "Emma", "Olivia", "Yusuf", "Hana", "Kenji",
    "Amélie", "Iván", "Ingrid", "Dimitris", "Katerina", "Ana", "Luca", "Mia", "Omar", "Nour",
];
const LAST_NAMES: &[&str] = &[
    "Papadopoulou",
    "Nguyễn",
    "García",
    "Müller",
    "O'Brien",
    "Kowalski",
    "Dubois",
    "Rossi",
    "Jensen",
    "Yılmaz",
    "Silva",
    "Novák",
    "Ivanova",
    "Smith",
    "Tanaka",
    "Haddad",
    "Costa",
    "Andersson",
    "Georgiou",
    "Petrović",
    "Kim",
    "Santos",
    "Fischer",
    "Moreau",
    "Lee",
];
const COURSE_NAMES: &[&str] = &[
    "Mathematics",
    "English",
    "History",
    "Biology",
    "Physics",
    "Geography",
    "Art",
    "Music",
    "Physical Education",
    "Computer Science",
];

impl DemoSchool {
    /// The school for `seed`. The same seed always gives the same school.
    pub fn generate(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let statuses = vec![
            status(1, "Present", StatusCategory::Present),
            status(2, "Absent", StatusCategory::Absent),
            status(3, "Late", StatusCategory::Late),
            status(4, "Excused", StatusCategory::Excused),
            status(5, "Left early", StatusCategory::Other),
        ];
        let courses: Vec<Course> = COURSE_NAMES
            .iter()
            .enumerate()
            .map(|(i, name)| Course {
                id: 40 + i as i64,
                name: (*name).to_string(),
            })
            .collect();
        let mut classes = Vec::new();
        for (i, (year, section)) in [(7, "A"), (7, "B"), (8, "A"), (8, "B"), (9, "A"), (9, "B")]
            .into_iter()
            .enumerate()
        {
            let mut ids: Vec<i64> = courses.iter().map(|c| c.id).collect();
            ids.shuffle(&mut rng);
            classes.push(Class {
                id: 31 + i as i64,
                name: format!("Year {year} {section}"),
                timetable: ids.into_iter().take(6).collect(),
            });
        }
        let mut students = Vec::new();
        let mut next_period_id = 1;
        for class in &classes {
            for _ in 0..22 {
                students.push(Student {
                    student_id: 1000 + next_period_id,
                    student_period_id: next_period_id,
                    first_name: FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())].to_string(),
                    last_name: LAST_NAMES[rng.random_range(0..LAST_NAMES.len())].to_string(),
                    class_id: class.id,
                });
                next_period_id += 1;
            }
        }
        Self {
            tenant: DEMO_TENANT.to_string(),
            school_period_id: 7,
            statuses,
            classes,
            courses,
            students,
        }
    }

    pub fn students_in(&self, class_id: i64) -> impl Iterator<Item = &Student> {
        self.students.iter().filter(move |s| s.class_id == class_id)
    }

    pub fn status_by_category(&self, category: StatusCategory) -> &Status {
        self.statuses
            .iter()
            .find(|s| s.category == category)
            .expect("the demo school has every category")
    }

    /// A stable attendance id for one student in one lesson of one day.
    pub fn attendance_id(&self, day_index: u32, lesson: usize, student_period_id: i64) -> i64 {
        (day_index as i64 + 1) * 1_000_000 + lesson as i64 * 10_000 + student_period_id
    }
}

fn status(id: i64, name: &str, category: StatusCategory) -> Status {
    Status {
        id,
        name: name.to_string(),
        category,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_school_and_ids_are_unique() {
        let a = DemoSchool::generate(7);
        assert_eq!(a, DemoSchool::generate(7));
        assert_eq!(a.students.len(), 6 * 22);
        let mut ids: Vec<i64> = a.students.iter().map(|s| s.student_period_id).collect();
        ids.dedup();
        assert_eq!(ids.len(), a.students.len());
        assert!(a.classes.iter().all(|c| c.timetable.len() == 6));
    }
}
