//! The UI's contract: the TypeScript types of every body the local API and the live stream
//! send, generated from the Rust types (ts-rs) into `ui/src/lib/api/generated/`, one file per
//! type plus an `index.ts` that re-exports them all.
//!
//! Invariant: the checked-in folder holds exactly what [`write`] produces from the types
//! listed in [`visit_roots`] and everything they contain. A test in `cargo test --workspace`
//! regenerates into a temporary folder and fails, naming the file, when the two differ; the
//! one command that brings them back in line is [`REGENERATE`].

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use ts_rs::{Config, TypeVisitor, TS};

/// The command that rewrites the generated folder from the Rust types.
pub const REGENERATE: &str = "cargo run -p rollcall-server --bin gen-ts";

/// The generated folder, relative to the workspace root.
pub const BINDINGS_DIR: &str = "ui/src/lib/api/generated";

/// The re-export of every generated type, so `ui/src/lib/api/types.ts` needs one line.
const INDEX_FILE: &str = "index.ts";

/// The generated folder of this checkout.
pub fn bindings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(BINDINGS_DIR)
}

/// Every type the UI receives, as the routes of docs/local-api.md answer them. The types
/// they contain (`Change` inside `ChangePage`, ...) are found by ts-rs and need no line here.
fn visit_roots(v: &mut impl TypeVisitor) {
    use super::{
        api, care_api, digest_api, dreamclass_api, report_settings_api, reports_api, schools_api,
        stream,
    };
    // Status and settings.
    v.visit::<api::Status>();
    v.visit::<api::Settings>();
    v.visit::<report_settings_api::ThresholdsBody>();
    // Answers of the settings saves.
    v.visit::<super::settings_answer::Saved>();
    v.visit::<report_settings_api::ThresholdsSaved>();
    v.visit::<dreamclass_api::ConnectionSaved>();
    v.visit::<dreamclass_api::DreamClassOverview>();
    v.visit::<super::tunnel_api::TunnelView>();
    v.visit::<crate::error::ErrorBody>();
    // Signing in, people and the audit log.
    v.visit::<crate::auth::sign_in_api::SignInStatus>();
    v.visit::<super::viewer_api::ViewerSwitch>();
    v.visit::<super::viewer_api::ViewerOpenId>();
    v.visit::<super::viewer_api::ViewerOpenIdStart>();
    v.visit::<crate::auth::people_api::PeopleList>();
    v.visit::<crate::auth::people_api::AuditPage>();
    // The feed, records and deliveries.
    v.visit::<api::ChangePage>();
    v.visit::<api::AttendanceList>();
    v.visit::<api::RecordHistory>();
    v.visit::<api::DeliveryList>();
    v.visit::<api::Board>();
    v.visit::<super::test_event::TestEventResult>();
    v.visit::<crate::recheck::RecheckReport>();
    v.visit::<crate::forwarding::ForwardingStatus>();
    // The one filter every list and report takes as its query.
    v.visit::<rollcall_core::filter::RecordFilter>();
    // Names and the DreamClass connection.
    v.visit::<rollcall_dreamclass::Reference>();
    v.visit::<rollcall_dreamclass::ApiState>();
    v.visit::<dreamclass_api::ConnectionTest>();
    // The public address.
    v.visit::<rollcall_tunnel::ProviderKind>();
    // Reports and data care.
    v.visit::<rollcall_core::reports::Summary>();
    v.visit::<reports_api::AlertList>();
    v.visit::<reports_api::NotTakenView>();
    v.visit::<care_api::RetentionSaved>();
    // Several schools.
    v.visit::<schools_api::SchoolList>();
    v.visit::<schools_api::SchoolAdded>();
    v.visit::<schools_api::SchoolRemoved>();
    v.visit::<schools_api::SchoolPurged>();
    // The daily e-mail digest.
    v.visit::<digest_api::DigestSettingsView>();
    v.visit::<digest_api::DigestForm>();
    v.visit::<digest_api::TestAnswer>();
    // The live stream.
    v.visit::<stream::StreamEvent<'static>>();
}

/// i64 and u64 would be `bigint` by default, but serde_json writes them as plain JSON numbers
/// and `JSON.parse` reads those as `number`, which is what the UI holds. Every id, sequence
/// number and millisecond time Rollcall sends is far below 2^53, so no precision is lost.
fn config() -> Config {
    Config::new().with_large_int("number")
}

/// Collects each exportable type once, with the file ts-rs would give it.
struct Collector<'a> {
    cfg: &'a Config,
    seen: HashSet<TypeId>,
    files: BTreeMap<String, String>,
    error: Option<ts_rs::ExportError>,
}

impl TypeVisitor for Collector<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Primitives and wrappers (`Vec`, `Option`) have no file of their own.
        let Some(path) = T::output_path() else {
            return;
        };
        if self.error.is_some() || !self.seen.insert(TypeId::of::<T>()) {
            return;
        }
        match T::export_to_string(self.cfg) {
            Ok(text) => {
                self.files.insert(path.to_string_lossy().into_owned(), text);
            }
            Err(e) => self.error = Some(e),
        }
        T::visit_dependencies(self);
    }
}

/// The generated files: name → contents, `index.ts` included.
pub fn render() -> Result<BTreeMap<String, String>, ts_rs::ExportError> {
    let cfg = config();
    let mut collector = Collector {
        cfg: &cfg,
        seen: HashSet::new(),
        files: BTreeMap::new(),
        error: None,
    };
    visit_roots(&mut collector);
    if let Some(e) = collector.error {
        return Err(e);
    }
    let mut files = collector.files;
    let mut index = format!(
        "// Generated by `{REGENERATE}` from the Rust types. Do not edit this file manually.\n\n"
    );
    for name in files.keys() {
        let stem = name.trim_end_matches(".ts");
        index.push_str(&format!("export type {{ {stem} }} from \"./{stem}\";\n"));
    }
    files.insert(INDEX_FILE.to_string(), index);
    Ok(files)
}

/// Writes the generated files into `dir` and removes `.ts` files there that are no longer
/// generated (a type that was renamed or removed).
pub fn write(dir: &Path) -> std::io::Result<()> {
    let files = render().map_err(std::io::Error::other)?;
    std::fs::create_dir_all(dir)?;
    for name in ts_files(dir)? {
        if !files.contains_key(&name) {
            std::fs::remove_file(dir.join(&name))?;
        }
    }
    for (name, text) in &files {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(path, text)?;
        }
    }
    Ok(())
}

/// The `.ts` files directly in `dir`, by name; none when it does not exist.
pub fn ts_files(dir: &Path) -> std::io::Result<Vec<String>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".ts") {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}
