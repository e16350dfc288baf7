//! `rollcall export`: CSV from the database, safe to run while `rollcall serve` runs.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use rollcall_core::config;
use rollcall_core::export::{export_attendance, export_changes};
use rollcall_core::store::queries::RecordFilter;
use rollcall_core::store::{open_reader, DATABASE_FILE};

#[derive(Clone, Copy, ValueEnum)]
enum Report {
    /// Current attendance records.
    Attendance,
    /// Every change, before and after (the audit trail).
    Changes,
}

#[derive(Args)]
pub struct ExportArgs {
    #[arg(value_enum)]
    report: Report,
    #[arg(long, env = "ROLLCALL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// First day included, YYYY-MM-DD.
    #[arg(long, value_parser = parse_date)]
    from: Option<String>,
    /// Last day included, YYYY-MM-DD.
    #[arg(long, value_parser = parse_date)]
    to: Option<String>,
    #[arg(long = "class")]
    class_id: Option<i64>,
    #[arg(long = "course")]
    course_id: Option<i64>,
    #[arg(long = "status")]
    status_id: Option<i64>,
    /// Attendance only: include deleted records (adds a `deleted` column).
    #[arg(long)]
    include_deleted: bool,
    /// Write to this file instead of the terminal.
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
}

fn parse_date(s: &str) -> Result<String, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|_| s.to_string())
        .map_err(|_| format!("`{s}` is not a date written YYYY-MM-DD"))
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    let db = data_dir.join(DATABASE_FILE);
    if !db.is_file() {
        anyhow::bail!(
            "There is no Rollcall database in {}. Give the folder Rollcall runs with (--data-dir).",
            data_dir.display()
        );
    }
    let conn = open_reader(&db).with_context(|| format!("could not open {}", db.display()))?;
    let filter = RecordFilter {
        from: args.from,
        to: args.to,
        class_id: args.class_id,
        course_id: args.course_id,
        status_id: args.status_id,
        ..Default::default()
    };
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("could not create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let rows = match args.report {
        Report::Attendance => export_attendance(&conn, &filter, args.include_deleted, out)?,
        Report::Changes => export_changes(&conn, &filter, out)?,
    };
    if let Some(path) = &args.output {
        eprintln!("Wrote {rows} rows to {}.", path.display());
    }
    Ok(())
}
