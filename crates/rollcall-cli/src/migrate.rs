//! `rollcall migrate-to-postgres`: moves a school's SQLite history into a district server's
//! PostgreSQL database (see rollcall-store-postgres's `import`).

use std::path::PathBuf;

use clap::Args;
use rollcall_core::store::care::DataDirLock;
use rollcall_store_postgres::import::import;
use rollcall_store_postgres::DatabaseUrl;

#[derive(Args)]
pub struct MigrateArgs {
    /// The school's data folder (the one `rollcall serve` or the desktop app used).
    #[arg(long = "from")]
    from: PathBuf,
    /// The district server's database, e.g. postgres://rollcall@db.example.org/rollcall.
    #[arg(long, env = "ROLLCALL_DATABASE_URL", hide_env_values = true)]
    database: String,
    /// Empty a database that already holds other data first (that data is lost).
    #[arg(long)]
    force: bool,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let db = crate::existing_database(&args.from)?;
    // Nothing may write the folder while it is copied.
    let _lock = DataDirLock::acquire(&args.from)?;
    let url = DatabaseUrl::parse(&args.database)?;
    eprintln!("Copying {} into {} …", db.display(), url.shown());
    let reports = import(&db, &url, args.force, |table, rows| {
        eprintln!("  {table}: {rows} rows copied");
    })?;
    for report in &reports {
        let resumed = if report.copied < report.rows {
            format!(
                " ({} copied now, the rest by an earlier run)",
                report.copied
            )
        } else {
            String::new()
        };
        println!(
            "{:<26} {:>9} rows  sha256 {}{resumed}",
            report.table, report.rows, report.sha256
        );
    }
    eprintln!(
        "Done: every table has the same rows and checksum in PostgreSQL. Start the district \
         server with --database {}. Settings stay in rollcall.toml: copy it (and the webhook \
         secret) to the server's data folder.",
        url.shown()
    );
    Ok(())
}
