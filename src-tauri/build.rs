fn main() {
    // The app's own commands (src/exports.rs, src/server_sign_in.rs). Listing them makes
    // Tauri generate an `allow-<command>` permission for each and check it on every call; the
    // window's page is granted them at run time, for its exact origin.
    let commands = &[
        "save_report",
        "cancel_export",
        "show_report_in_folder",
        "open_server_sign_in",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("the Tauri build step succeeds");
}
