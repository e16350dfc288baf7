//! `rollcall export`: CSV reports from the database, safe to run while `rollcall serve` runs.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use rollcall_core::config;
use rollcall_core::filter::RecordFilter;
use rollcall_core::reports::{
    excel_separator_for_locale, numeric_locale_from_env, parse_separator, write_report,
    ExportParams, ExportRequest, ReportKind, ReportSettings,
};
use rollcall_core::store::open_reader;

#[derive(Clone, Copy, ValueEnum)]
enum Report {
    /// Current attendance records, with names.
    Attendance,
    /// Every change, before and after (the audit trail).
    Changes,
    /// Per student over the range: sessions, counts by category, rates, chronic absence.
    Students,
    /// Per class per day: sessions, counts by category, rates.
    Classes,
    /// Per course per day: sessions, counts by category, rates.
    Courses,
    /// Per day (--from and --to, the same day for one): the lessons expected with no attendance,
    /// inferred from the four earlier same weekdays (DreamClass sends no timetable).
    LessonsNotTaken,
}

impl Report {
    fn kind(self) -> ReportKind {
        match self {
            Self::Attendance => ReportKind::Attendance,
            Self::Changes => ReportKind::Changes,
            Self::Students => ReportKind::Students,
            Self::Classes => ReportKind::Classes,
            Self::Courses => ReportKind::Courses,
            Self::LessonsNotTaken => ReportKind::LessonsNotTaken,
        }
    }
}

#[derive(Args)]
#[command(after_help = "\
Statuses count by their category (present, absent, late, excused, other); a status whose \
category is not known counts as other. Attendance rate = (present + late) / sessions; absence \
rate = (absent + excused) / sessions, written with 4 decimal places.")]
pub struct ExportArgs {
    #[arg(value_enum)]
    report: Report,
    #[arg(long, env = "ROLLCALL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// A district server's PostgreSQL database to export from (the data folder then only
    /// gives the saved report thresholds).
    #[arg(
        long = "database",
        env = "ROLLCALL_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
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
    /// A status id (for `changes`: the status after the change).
    #[arg(long = "status")]
    status_id: Option<i64>,
    /// A student, by DreamClass studentPeriodId.
    #[arg(long = "student")]
    student_period_id: Option<i64>,
    /// For Excel: a byte-order mark, and the separator of your locale (`;` where decimals are
    /// written with a comma, such as de_DE or el_GR, and then decimals with a comma too).
    #[arg(long)]
    excel: bool,
    /// The column separator (one character, or `tab`); with --excel it overrides the locale.
    #[arg(long, value_parser = parse_separator)]
    separator: Option<u8>,
    /// Students only: the absence rate from which a student is chronically absent (a share,
    /// 0.1 for 10%). Default: the one saved in Settings (`[reports]` in rollcall.toml), else 0.1.
    #[arg(long, value_parser = ReportSettings::parse_threshold)]
    chronic_threshold: Option<f64>,
    /// Attendance only: include deleted records (adds a `deleted` column).
    #[arg(long)]
    include_deleted: bool,
    /// Write to this file instead of the terminal.
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
}

fn parse_date(s: &str) -> Result<String, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10)
        .map(|_| s.to_string())
        .ok_or_else(|| format!("`{s}` is not a date written YYYY-MM-DD"))
}

/// The format the flags ask for, as every export request gives it. `--excel` without
/// `--separator` follows the locale.
fn export_params(args: &ExportArgs) -> ExportParams {
    let separator = match (args.excel, args.separator) {
        (true, None) => Some(excel_separator_for_locale(
            &numeric_locale_from_env().unwrap_or_default(),
        )),
        (_, sep) => sep,
    };
    ExportParams {
        excel: Some(args.excel),
        separator: separator.map(separator_name),
        include_deleted: Some(args.include_deleted),
        chronic_threshold: args.chronic_threshold,
    }
}

/// A separator byte as [`parse_separator`] reads it back.
fn separator_name(separator: u8) -> String {
    match separator {
        b'\t' => "tab".to_string(),
        other => char::from(other).to_string(),
    }
}

/// The thresholds saved in the data folder's `rollcall.toml`, so a report written here marks
/// the same students as the window does. A settings file with a mistake stops the export with
/// its sentence rather than silently using other thresholds.
fn saved_report_settings(data_dir: &Path) -> anyhow::Result<ReportSettings> {
    let file = config::FileConfig::load(data_dir)?;
    Ok(file.report_settings()?)
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let params = export_params(&args);
    let filter = RecordFilter {
        from: args.from,
        to: args.to,
        class_id: args.class_id,
        course_id: args.course_id,
        status_id: args.status_id,
        student_period_id: args.student_period_id,
        ..Default::default()
    };
    filter.validate().map_err(anyhow::Error::msg)?;
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    if let Some(url) = &args.database_url {
        let saved = match data_dir.join(config::CONFIG_FILE).exists() {
            true => saved_report_settings(&data_dir)?,
            false => ReportSettings::default(),
        };
        let request = ExportRequest::new(args.report.kind().as_str(), filter, &params, saved)
            .map_err(anyhow::Error::msg)?;
        return export_from_postgres(url, &request, args.output.as_deref());
    }
    let db = crate::existing_database(&data_dir)?;
    let saved = saved_report_settings(&data_dir)?;
    let request = ExportRequest::new(args.report.kind().as_str(), filter, &params, saved)
        .map_err(anyhow::Error::msg)?;
    let conn = open_reader(&db).with_context(|| format!("could not open {}", db.display()))?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("could not create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    // The CSV writer buffers (64 KiB), so the output needs no buffer of its own.
    let rows = write_report(&conn, request.kind, &request.filter, &request.options, out)?;
    if let Some(path) = &args.output {
        eprintln!("Wrote {rows} rows to {}.", path.display());
    }
    Ok(())
}

/// The same export from a district server's database, through the store.
fn export_from_postgres(
    url: &str,
    request: &ExportRequest,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    use rollcall_core::store::Store;
    let url = rollcall_store_postgres::DatabaseUrl::parse(url)?;
    let store = rollcall_store_postgres::PostgresStore::open(&url)
        .map_err(|e| anyhow::anyhow!("{} ({e})", e.user_message()))?;
    let out: rollcall_core::store::ExportSink = match output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("could not create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let rows = runtime.block_on(async {
        let rows = store
            .export(&rollcall_core::Scope::all(), request, out, None)
            .await;
        store.shutdown().await;
        rows
    })?;
    if let Some(path) = output {
        eprintln!("Wrote {rows} rows to {}.", path.display());
    }
    Ok(())
}
