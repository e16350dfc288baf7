//! Rewrites the UI's TypeScript types (`ui/src/lib/api/generated/`) from the Rust types the
//! local API sends. Run after changing any of them: `cargo run -p rollcall-server --bin gen-ts`.

use std::process::ExitCode;

use rollcall_server::local::contract;

fn main() -> ExitCode {
    let dir = contract::bindings_dir();
    let dir = dir.canonicalize().unwrap_or(dir);
    match contract::write(&dir) {
        Ok(()) => {
            println!("TypeScript types written to {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "The TypeScript types could not be written to {}: {e}",
                dir.display()
            );
            ExitCode::FAILURE
        }
    }
}
