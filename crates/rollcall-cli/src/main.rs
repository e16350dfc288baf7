//! `rollcall`: the headless Rollcall (serve, export, simulate). The desktop app embeds the same
//! core and server.

mod care;
mod export;
mod fake_dreamclass;
mod migrate;
mod serve;
mod simulate;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rollcall",
    version,
    about = "Rollcall: live DreamClass attendance for the school office"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Receive DreamClass webhooks and serve the live view.
    Serve(Box<serve::ServeArgs>),
    /// Write stored attendance or the change log as CSV.
    Export(export::ExportArgs),
    /// Send a realistic, signed school day of attendance webhooks to a listener.
    Simulate(simulate::SimulateArgs),
    /// Run a fake DreamClass API serving the demo school (for trying Rollcall and for tests).
    FakeDreamclass(fake_dreamclass::FakeArgs),
    /// Copy the database to a backup file (safe while Rollcall runs).
    Backup(care::BackupArgs),
    /// Put a backup in place of the database (quit Rollcall first).
    Restore(care::RestoreArgs),
    /// Move a school's history from its data folder into a district server's PostgreSQL.
    MigrateToPostgres(migrate::MigrateArgs),
}

fn main() -> std::process::ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => runtime().block_on(serve::run(*args)),
        Command::Export(args) => export::run(args),
        Command::Simulate(args) => runtime().block_on(simulate::run(args)),
        Command::FakeDreamclass(args) => runtime().block_on(fake_dreamclass::run(args)),
        Command::Backup(args) => care::backup(args),
        Command::Restore(args) => care::restore(args),
        Command::MigrateToPostgres(args) => migrate::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => {
            // The reader (`| head`) has what it wanted.
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rollcall: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<rollcall_core::reports::ExportError>()
                .is_some_and(|e| e.is_broken_pipe())
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime starts")
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    // Info for Rollcall itself, warnings from libraries. No secret and no student name is
    // logged at these levels.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| {
            EnvFilter::new("warn,rollcall=info,rollcall_server=info,rollcall_core=info")
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// The database in a data folder, for the commands that read one while Rollcall may run
/// (`export`, `backup`); a sentence saying which folder to give when there is none.
pub(crate) fn existing_database(data_dir: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let db = data_dir.join(rollcall_core::store::DATABASE_FILE);
    if !db.is_file() {
        anyhow::bail!(
            "There is no Rollcall database in {}. Give the folder Rollcall runs with (--data-dir).",
            data_dir.display()
        );
    }
    Ok(db)
}
