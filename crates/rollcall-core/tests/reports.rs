//! Reports of a known dataset, stored through the real ingest path, against CSV and counts
//! written out by hand.

#[path = "support/report_dataset.rs"]
mod dataset;

use chrono::NaiveDate;
use rollcall_core::filter::RecordFilter;
use rollcall_core::reports::{
    alerts, count_report_rows, summary, write_report, AlertKind, CsvFormat, ExportOptions,
    ReportKind, ReportSettings,
};
use rollcall_core::rusqlite::Connection;
use rollcall_core::store::{open_reader, DATABASE_FILE};

struct School {
    _dir: tempfile::TempDir,
    conn: Connection,
}

async fn school() -> School {
    let dir = tempfile::tempdir().unwrap();
    dataset::build(dir.path()).await;
    let conn = open_reader(&dir.path().join(DATABASE_FILE)).unwrap();
    School { _dir: dir, conn }
}

impl School {
    fn export_with(
        &self,
        kind: ReportKind,
        filter: &RecordFilter,
        options: &ExportOptions,
    ) -> String {
        let mut out = Vec::new();
        write_report(&self.conn, kind, filter, options, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn export(&self, kind: ReportKind, filter: &RecordFilter) -> String {
        self.export_with(kind, filter, &options())
    }
}

/// The thresholds these tests were written for. The dataset spans three days, so its students
/// are judged from their first day of records; the minimum of days has its own test below.
fn judged_from_the_first_day() -> ReportSettings {
    ReportSettings {
        chronic_min_days: 1,
        ..ReportSettings::default()
    }
}

/// Export options with [`judged_from_the_first_day`].
fn options() -> ExportOptions {
    ExportOptions {
        settings: judged_from_the_first_day(),
        ..Default::default()
    }
}

fn all() -> RecordFilter {
    RecordFilter::default()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[tokio::test]
async fn attendance_with_names_quotes_newlines_and_neutralised_formulas() {
    let school = school().await;
    assert_eq!(
        school.export(ReportKind::Attendance, &all()),
        dataset::ATTENDANCE_CSV
    );
}

#[tokio::test]
async fn per_student_counts_rates_and_chronic_absence() {
    let school = school().await;
    assert_eq!(
        school.export(ReportKind::Students, &all()),
        dataset::STUDENTS_CSV
    );
}

#[tokio::test]
async fn per_class_and_per_course_by_day() {
    let school = school().await;
    assert_eq!(
        school.export(ReportKind::Classes, &all()),
        dataset::CLASSES_CSV
    );
    assert_eq!(
        school.export(ReportKind::Courses, &all()),
        dataset::COURSES_CSV
    );
}

#[tokio::test]
async fn change_log_with_statuses_before_and_after_and_recovered_changes() {
    let school = school().await;
    let student_7 = RecordFilter {
        student_period_id: Some(7),
        ..all()
    };
    assert_eq!(
        school.export(ReportKind::Changes, &student_7),
        dataset::CHANGES_STUDENT_7_CSV
    );
    let student_4_last_day = RecordFilter {
        student_period_id: Some(4),
        from: Some("2026-11-04".into()),
        ..all()
    };
    assert_eq!(
        school.export(ReportKind::Changes, &student_4_last_day),
        "seq,recorded_at,source,event_type,event_time,attendance_id,date,type,class_id,class,course_id,course,student_period_id,student,status_id_before,status_before,status_id_after,status_after,comment_before,comment_after,request_id,school\r\n\
         12,2026-11-04T07:12:01.500Z,webhook,ATTENDANCE_CREATED,2026-11-04T07:12:00.000Z,12,2026-11-04,SESSION,34,5A,40,Mathematics,4,María García,,,1,Present,,,00000000-0000-4000-8000-000000000012,my-school\r\n\
         15,2026-11-04T07:15:01.500Z,webhook,ATTENDANCE_CREATED,2026-11-04T07:15:00.000Z,15,2026-11-04,SESSION,34,5A,41,Ελληνικά,4,María García,,,1,Present,,,00000000-0000-4000-8000-000000000015,my-school\r\n\
         16,2026-11-04T07:30:01.500Z,webhook,ATTENDANCE_UPDATED,2026-11-04T07:30:00.000Z,12,2026-11-04,SESSION,34,5A,40,Mathematics,4,María García,1,Present,4,\"Excused, doctor\",,note from doctor,00000000-0000-4000-8000-000000000016,my-school\r\n"
    );
    // A status filter matches the status after the change: the deletion has none.
    let absent_after = RecordFilter {
        status_id: Some(2),
        student_period_id: Some(7),
        ..all()
    };
    let csv = school.export(ReportKind::Changes, &absent_after);
    let seqs: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(seqs, ["13"]);
}

#[tokio::test]
async fn excel_with_semicolons_has_a_byte_order_mark_and_decimal_commas() {
    let school = school().await;
    let excel = ExportOptions {
        format: CsvFormat::excel(b';'),
        ..options()
    };
    assert_eq!(
        school.export_with(ReportKind::Students, &all(), &excel),
        "\u{feff}student_period_id;student;class_ids;classes;sessions;present;absent;late;excused;other;attendance_rate;absence_rate;chronic_absence;school\r\n\
         7;'-Minus Name;35;\"6\"\"B\"\"\";1;0;1;0;0;0;0,0000;1,0000;yes;my-school\r\n\
         4;María García;34;5A;5;1;3;0;1;0;0,2000;0,8000;yes;my-school\r\n\
         5;O'Brien, Seán;\"34; 35\";\"5A; 6\"\"B\"\"\";4;2;1;1;0;0;0,7500;0,2500;yes;my-school\r\n\
         6;Γιώργος Παπαδόπουλος;35;\"6\"\"B\"\"\";2;0;0;0;1;1;0,0000;0,5000;yes;my-school\r\n\
         8;;36;36;1;0;0;0;0;1;0,0000;0,0000;no;my-school\r\n\
         9;;36;36;1;1;0;0;0;0;1,0000;0,0000;no;my-school\r\n"
    );
    let student_5 = RecordFilter {
        student_period_id: Some(5),
        ..all()
    };
    assert_eq!(
        school.export_with(ReportKind::Attendance, &student_5, &excel),
        "\u{feff}attendance_id;date;type;class_id;class;course_id;course;student_period_id;student;status_id;status;status_category;comment;last_event_at;school\r\n\
         2;2026-11-02;SESSION;34;5A;40;Mathematics;5;O'Brien, Seán;2;Absent;absent;late, bus;2026-11-02T07:02:00.000Z;my-school\r\n\
         4;2026-11-02;SESSION;34;5A;41;Ελληνικά;5;O'Brien, Seán;3;Late;late;\"He said \"\"hi\"\"\";2026-11-02T07:04:00.000Z;my-school\r\n\
         8;2026-11-03;SESSION;34;5A;40;Mathematics;5;O'Brien, Seán;1;Present;present;;2026-11-03T07:08:00.000Z;my-school\r\n\
         14;2026-11-04;SESSION;35;\"6\"\"B\"\"\";41;Ελληνικά;5;O'Brien, Seán;1;Present;present;;2026-11-04T07:14:00.000Z;my-school\r\n"
    );
}

#[tokio::test]
async fn excel_with_commas_only_adds_the_byte_order_mark() {
    let school = school().await;
    let excel = ExportOptions {
        format: CsvFormat::excel(b','),
        ..Default::default()
    };
    let csv = school.export_with(ReportKind::Classes, &all(), &excel);
    assert_eq!(csv, format!("\u{feff}{}", dataset::CLASSES_CSV));
}

#[tokio::test]
async fn filters_by_class_course_status_student_and_dates() {
    let school = school().await;
    let ids = |filter: RecordFilter| -> Vec<String> {
        school
            .export(ReportKind::Attendance, &filter)
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(RecordFilter {
            class_id: Some(35),
            from: Some("2026-11-03".into()),
            ..all()
        }),
        ["10", "14"]
    );
    assert_eq!(
        ids(RecordFilter {
            status_id: Some(2),
            ..all()
        }),
        ["1", "2", "3", "7"]
    );
    assert_eq!(
        ids(RecordFilter {
            course_id: Some(41),
            student_period_id: Some(5),
            ..all()
        }),
        ["4", "14"]
    );
    assert_eq!(
        ids(RecordFilter {
            from: Some("2026-11-03".into()),
            to: Some("2026-11-03".into()),
            ..all()
        }),
        ["7", "8", "10", "9", "11"]
    );
    // Aggregates count only the records the filter keeps.
    let class_34_last_day = RecordFilter {
        class_id: Some(34),
        from: Some("2026-11-04".into()),
        ..all()
    };
    assert_eq!(
        school.export(ReportKind::Students, &class_34_last_day),
        "student_period_id,student,class_ids,classes,sessions,present,absent,late,excused,other,attendance_rate,absence_rate,chronic_absence,school\r\n\
         4,María García,34,5A,2,1,0,0,1,0,0.5000,0.5000,yes,my-school\r\n"
    );
}

#[tokio::test]
async fn deleted_records_on_request() {
    let school = school().await;
    let options = ExportOptions {
        include_deleted: true,
        ..Default::default()
    };
    let csv = school.export_with(ReportKind::Attendance, &all(), &options);
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert!(
        lines[0].ends_with(",last_event_at,school,deleted"),
        "{}",
        lines[0]
    );
    // Record 5's comment holds a bare line break, which does not end a record.
    assert_eq!(lines.len(), 1 + 15);
    assert_eq!(
        lines[14],
        "13,2026-11-04,SESSION,35,\"6\"\"B\"\"\",40,Mathematics,7,'-Minus Name,2,Absent,absent,,2026-11-04T07:31:00.000Z,my-school,yes"
    );
    assert_eq!(lines.iter().filter(|l| l.ends_with(",yes")).count(), 1);
    assert_eq!(lines.iter().filter(|l| l.ends_with(",no")).count(), 14);
}

#[tokio::test]
async fn chronic_threshold_is_inclusive_and_configurable() {
    let school = school().await;
    let options = ExportOptions {
        settings: ReportSettings {
            chronic_threshold: 0.5,
            ..judged_from_the_first_day()
        },
        ..Default::default()
    };
    let csv = school.export_with(ReportKind::Students, &all(), &options);
    let flags: Vec<(&str, &str)> = csv
        .lines()
        .skip(1)
        .map(|l| (l.split(',').next().unwrap(), l.rsplit(',').nth(1).unwrap()))
        .collect();
    // Student 6 is absent in exactly half of their sessions.
    assert_eq!(
        flags,
        [
            ("7", "yes"),
            ("4", "yes"),
            ("5", "no"),
            ("6", "yes"),
            ("8", "no"),
            ("9", "no")
        ]
    );
}

#[tokio::test]
async fn summary_matches_hand_counts() {
    let school = school().await;
    let range = RecordFilter {
        from: Some("2026-11-02".into()),
        to: Some("2026-11-04".into()),
        ..all()
    };
    let s = summary(&school.conn, &range, &judged_from_the_first_day()).unwrap();
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "byClass": [
                // 1A 2A 3A 4L 7A 8P 12E 15P: (2 + 1) / 8
                {"tenant": "my-school", "id": 34, "name": "5A", "sessions": 8, "present": 2, "absent": 4, "late": 1, "excused": 1, "rate": 0.375},
                // 5E 6A 10O 14P
                {"tenant": "my-school", "id": 35, "name": "6\"B\"", "sessions": 4, "present": 1, "absent": 1, "late": 0, "excused": 1, "rate": 0.25},
                // 9O 11P
                {"tenant": "my-school", "id": 36, "name": null, "sessions": 2, "present": 1, "absent": 0, "late": 0, "excused": 0, "rate": 0.5},
            ],
            "byDay": [
                {"date": "2026-11-02", "absent": 5, "sessions": 6},
                {"date": "2026-11-03", "absent": 1, "sessions": 5},
                {"date": "2026-11-04", "absent": 1, "sessions": 3},
            ],
            "chronic": [
                {"tenant": "my-school", "studentPeriodId": 7, "name": "-Minus Name", "sessions": 1, "absent": 1, "rate": 1.0},
                {"tenant": "my-school", "studentPeriodId": 4, "name": "María García", "sessions": 5, "absent": 4, "rate": 0.8},
                {"tenant": "my-school", "studentPeriodId": 6, "name": "Γιώργος Παπαδόπουλος", "sessions": 2, "absent": 1, "rate": 0.5},
                {"tenant": "my-school", "studentPeriodId": 5, "name": "O'Brien, Seán", "sessions": 4, "absent": 1, "rate": 0.25},
            ],
            "threshold": 0.1,
            "tooEarly": 0,
            "minDays": 1,
        })
    );

    let class_34 = RecordFilter {
        class_id: Some(34),
        ..range
    };
    let s = summary(&school.conn, &class_34, &judged_from_the_first_day()).unwrap();
    assert_eq!(s.by_class.len(), 1);
    let days: Vec<(&str, i64, i64)> = s
        .by_day
        .iter()
        .map(|d| (d.date.as_str(), d.absent, d.sessions))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-11-02", 3, 4),
            ("2026-11-03", 1, 2),
            ("2026-11-04", 1, 2)
        ]
    );
    let chronic: Vec<(i64, i64, i64, f64)> = s
        .chronic
        .iter()
        .map(|c| (c.student_period_id, c.absent, c.sessions, c.rate))
        .collect();
    assert_eq!(chronic, [(4, 4, 5, 0.8), (5, 1, 3, 0.3333)]);
}

#[tokio::test]
async fn alerts_for_absences_today_and_chronic_absence() {
    let school = school().await;
    let settings = judged_from_the_first_day();
    let found = alerts(&school.conn, day("2026-11-02"), &settings).unwrap();
    let summary: Vec<(AlertKind, i64, i64, &str)> = found
        .iter()
        .map(|a| (a.kind, a.student_period_id, a.at, a.message.as_str()))
        .collect();
    let at = |minute: i64| 1_793_602_800_000 + minute * 60_000;
    assert_eq!(
        summary,
        [
            (AlertKind::AbsencesToday, 4, at(3), "María García has been absent in 2 lessons today."),
            (AlertKind::Chronic, 7, at(6), "-Minus Name has been absent in 100% of lessons over the last 90 days (1 of 1)."),
            (AlertKind::Chronic, 4, at(3), "María García has been absent in 100% of lessons over the last 90 days (2 of 2)."),
            (AlertKind::Chronic, 6, at(5), "Γιώργος Παπαδόπουλος has been absent in 100% of lessons over the last 90 days (1 of 1)."),
            (AlertKind::Chronic, 5, at(2), "O'Brien, Seán has been absent in 50% of lessons over the last 90 days (1 of 2)."),
        ]
    );

    // On the last day nobody has two absences; over the term, 4 of María's 5 lessons.
    let found = alerts(&school.conn, day("2026-11-04"), &settings).unwrap();
    assert!(found.iter().all(|a| a.kind == AlertKind::Chronic));
    let maria = found.iter().find(|a| a.student_period_id == 4).unwrap();
    assert_eq!(
        maria.message,
        "María García has been absent in 80% of lessons over the last 90 days (4 of 5)."
    );

    // A one-day term and a threshold of three absences a day: nothing for the 3rd.
    let strict = ReportSettings {
        absences_per_day: 3,
        term_days: 1,
        chronic_threshold: 0.6,
        chronic_min_days: 1,
        ..ReportSettings::default()
    };
    let found = alerts(&school.conn, day("2026-11-03"), &strict).unwrap();
    let ids: Vec<i64> = found.iter().map(|a| a.student_period_id).collect();
    assert_eq!(
        ids,
        [4],
        "only student 4 was absent in at least 60% on the 3rd"
    );
}

#[tokio::test]
async fn a_reader_that_goes_away_stops_the_export() {
    let school = school().await;
    struct GoneAfter(usize);
    impl std::io::Write for GoneAfter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            self.0 -= 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let error = write_report(
        &school.conn,
        ReportKind::Attendance,
        &all(),
        &ExportOptions::default(),
        GoneAfter(0),
    )
    .unwrap_err();
    assert!(error.is_broken_pipe(), "{error}");
}

#[tokio::test]
async fn row_counts_for_progress_equal_the_rows_written() {
    let school = school().await;
    let filters = [
        all(),
        RecordFilter {
            class_id: Some(35),
            from: Some("2026-11-03".into()),
            ..all()
        },
        RecordFilter {
            status_id: Some(2),
            ..all()
        },
        RecordFilter {
            from: Some("2026-11-03".into()),
            to: Some("2026-11-03".into()),
            ..all()
        },
        RecordFilter {
            from: Some("2027-01-01".into()),
            ..all()
        },
    ];
    for kind in ReportKind::ALL {
        for include_deleted in [false, true] {
            let options = ExportOptions {
                include_deleted,
                ..Default::default()
            };
            for filter in &filters {
                let written =
                    write_report(&school.conn, kind, filter, &options, std::io::sink()).unwrap();
                let counted = count_report_rows(&school.conn, kind, filter, &options).unwrap();
                assert_eq!(
                    counted, written,
                    "{kind:?} {filter:?} deleted={include_deleted}"
                );
            }
        }
    }
    // Not vacuous: the whole dataset has rows of every kind but lessons not taken (three days
    // in a row have no earlier weekday; the store suite exports those, counted the same way).
    for kind in ReportKind::ALL
        .into_iter()
        .filter(|k| *k != ReportKind::LessonsNotTaken)
    {
        let rows = count_report_rows(&school.conn, kind, &all(), &ExportOptions::default());
        assert!(rows.unwrap() > 0, "{kind:?}");
    }
}

#[tokio::test]
async fn chronic_absence_waits_for_enough_days_with_records() {
    let school = school().await;
    let flags = |settings: ReportSettings| {
        let options = ExportOptions {
            settings,
            ..Default::default()
        };
        school
            .export_with(ReportKind::Students, &all(), &options)
            .lines()
            .skip(1)
            .map(|l| {
                let id = l.split(',').next().unwrap().to_string();
                (id, l.rsplit(',').nth(1).unwrap().to_string())
            })
            .collect::<Vec<_>>()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    // By default 10 days are needed: three days of data are too early for everyone.
    let defaults = ReportSettings::default();
    let early = "too early to tell";
    assert_eq!(
        flags(defaults),
        pairs(&[
            ("7", early),
            ("4", early),
            ("5", early),
            ("6", early),
            ("8", early),
            ("9", early)
        ])
    );
    let s = summary(&school.conn, &all(), &defaults).unwrap();
    assert!(s.chronic.is_empty(), "{s:?}");
    assert_eq!((s.too_early, s.min_days), (6, 10));
    let found = alerts(&school.conn, day("2026-11-04"), &defaults).unwrap();
    assert!(
        found.iter().all(|a| a.kind != AlertKind::Chronic),
        "{found:?}"
    );

    // Two days: students 4 and 5 (three days) and 6 (two days) are judged. Student 7 has a
    // record on one day and a deleted one on another: one day, too early.
    let two_days = ReportSettings {
        chronic_min_days: 2,
        ..defaults
    };
    assert_eq!(
        flags(two_days),
        pairs(&[
            ("7", early),
            ("4", "yes"),
            ("5", "yes"),
            ("6", "yes"),
            ("8", early),
            ("9", early)
        ])
    );
    let s = summary(&school.conn, &all(), &two_days).unwrap();
    let judged: Vec<i64> = s.chronic.iter().map(|c| c.student_period_id).collect();
    assert_eq!(judged, [4, 6, 5]);
    assert_eq!(s.too_early, 3);
    // Several records on one day count as one day: student 4 has five records on three days.
    let three_days = ReportSettings {
        chronic_min_days: 3,
        ..defaults
    };
    let s = summary(&school.conn, &all(), &three_days).unwrap();
    let judged: Vec<i64> = s.chronic.iter().map(|c| c.student_period_id).collect();
    assert_eq!((judged, s.too_early), (vec![4, 5], 4));
    let four_days = ReportSettings {
        chronic_min_days: 4,
        ..defaults
    };
    assert_eq!(
        summary(&school.conn, &all(), &four_days).unwrap().too_early,
        6
    );
}
