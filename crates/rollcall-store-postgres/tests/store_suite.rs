//! The store's contract (rollcall-core's tests/support/store_suite.rs, the same tests the
//! SQLite store runs) against the PostgreSQL store on a throwaway cluster.

#[path = "../../rollcall-core/tests/support/store_suite.rs"]
mod suite;

use rollcall_core::store::Store;
use rollcall_store_postgres::cluster::{Durability, TestCluster};
use rollcall_store_postgres::{DatabaseUrl, PostgresStore};

#[test]
fn the_postgres_store_keeps_the_contract() {
    // The cluster's set-up uses blocking clients, so it comes before the runtime.
    let cluster = TestCluster::start(Durability::Fast).unwrap();
    let url = DatabaseUrl::parse(&cluster.create_database().unwrap()).unwrap();
    runtime().block_on(async {
        let store = PostgresStore::open_async(url).await.unwrap();
        suite::run_all(&store).await;
        store.shutdown().await;
    });
}

/// A database of one school from before names were kept per school (schema 4): its names
/// go to the tenant of its attendance, and read back as that school's.
#[test]
fn names_stored_before_schools_had_their_own_go_to_the_school_with_the_attendance() {
    let cluster = TestCluster::start(Durability::Fast).unwrap();
    let url = DatabaseUrl::parse(&cluster.create_database().unwrap()).unwrap();
    let mut c = url.connect_raw().unwrap();
    rollcall_store_postgres::schema::migrate_up_to(&mut c, 4).unwrap();
    c.batch_execute(
        "INSERT INTO reference_statuses (id, name, guessed_category, user_category, fetched_at)
             VALUES (5, 'Sick note', 'other', 'excused', 1);
         INSERT INTO reference_students (student_period_id, name, fetched_at)
             VALUES (4, 'Eleni Georgiou', 1);
         INSERT INTO reference_student_classes (student_period_id, class_id, fetched_at)
             VALUES (4, 34, 1);
         INSERT INTO reference_classes (id, name, fetched_at) VALUES (34, 'Year 8 B', 1);
         INSERT INTO reference_courses (id, name, fetched_at) VALUES (40, 'Mathematics', 1);
         INSERT INTO attendance (tenant, attendance_id, date, kind, class_id, course_id,
             status_id, student_period_id, comment, deleted, event_ts, request_id, last_seq)
         VALUES ('my-school', 1, '2026-11-02', 'SESSION', 34, 40, 5, 4, '', 0, 1, 'r1', 1),
                ('my-school', 2, '2026-11-02', 'SESSION', 34, 40, 5, 5, '', 0, 1, 'r2', 2),
                ('other', 3, '2026-11-02', 'SESSION', 34, 40, 5, 6, '', 0, 1, 'r3', 3);",
    )
    .unwrap();
    drop(c);
    runtime().block_on(async {
        let store = PostgresStore::open_async(url).await.unwrap();
        let names = store.reference(&rollcall_core::Scope::all()).await.unwrap();
        let schools = |tenants: Vec<&str>| tenants.iter().all(|t| *t == "my-school");
        assert!(schools(
            names.statuses.iter().map(|s| s.tenant.as_str()).collect()
        ));
        assert_eq!(names.statuses.len(), 1);
        assert_eq!(
            names.statuses[0].category,
            rollcall_core::model::StatusCategory::Excused,
            "the user's correction stays"
        );
        assert_eq!(names.students.len(), 1);
        assert!(schools(
            names.students.iter().map(|s| s.tenant.as_str()).collect()
        ));
        assert_eq!(names.classes[0].tenant, "my-school");
        assert_eq!(names.classes[0].name, "Year 8 B");
        assert_eq!(names.courses[0].tenant, "my-school");
        store.shutdown().await;
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}
