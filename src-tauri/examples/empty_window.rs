//! An empty Tauri window: the same Tauri build, window size and bundled static page as the
//! app, and nothing else (no listeners, tray or plugins). The baseline the desktop
//! measurements (tests/measure.rs) put Rollcall's numbers next to.

use tauri::{WebviewUrl, WebviewWindowBuilder};

fn main() {
    tauri::Builder::default()
        .setup(|app| {
            WebviewWindowBuilder::new(app, "main", WebviewUrl::App("index.html".into()))
                .title("Empty Tauri window")
                .inner_size(1200.0, 760.0)
                .build()?;
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("the Tauri application runs");
}
