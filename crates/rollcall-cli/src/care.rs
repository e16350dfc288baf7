//! `rollcall backup` and `rollcall restore`.

use std::path::PathBuf;

use clap::Args;
use rollcall_core::config;
use rollcall_core::store::care;

#[derive(Args)]
pub struct BackupArgs {
    #[arg(long, env = "ROLLCALL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// A district server's database: refused with how to back it up instead.
    #[arg(
        long = "database",
        env = "ROLLCALL_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// The backup file to write (it must not exist yet).
    #[arg(short = 'o', long)]
    output: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A backup made by `rollcall backup` or downloaded from Settings.
    file: PathBuf,
    #[arg(long, env = "ROLLCALL_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

/// A consistent copy of the database; safe while Rollcall runs.
pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    if let Some(url) = &args.database_url {
        anyhow::bail!(
            "This Rollcall keeps its data in PostgreSQL ({}), which its own tools back up: \
             run `pg_dump --format=custom --file=rollcall.dump <database>` (restore with \
             `pg_restore`), or use the district's usual PostgreSQL backups. `rollcall backup` \
             copies the SQLite database of a single office.",
            rollcall_store_postgres::connect::redact(url)
        );
    }
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    let db = crate::existing_database(&data_dir)?;
    care::backup(&db, &args.output)?;
    eprintln!("Backup written to {}.", args.output.display());
    Ok(())
}

/// Puts a backup in place of the database; Rollcall must not be running on the folder.
pub fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    let kept = care::restore(&args.file, &data_dir)?;
    eprintln!(
        "Restored {}. The database it replaced is kept as {}.",
        args.file.display(),
        kept.display()
    );
    Ok(())
}
