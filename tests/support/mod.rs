//! What the end-to-end tests share: a headless display and session bus of their own, the
//! WebDriver server, the built binaries, the accessibility checker (axe-core), and the
//! artifacts they leave under `target/`.

pub mod axe;
pub mod browser;
pub mod desktop;
pub mod headless;
pub mod measure;
pub mod processes;
pub mod serve;
pub mod webhook;

use std::path::{Path, PathBuf};

/// The cargo target directory holding the test executable (`<target>/<profile>/deps/…`).
///
/// Found from the test executable rather than `CARGO_MANIFEST_DIR`, so a test run with
/// another `CARGO_TARGET_DIR` launches the binaries built there, never stale ones.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let deps = exe.parent().expect("the test executable is in a folder");
    deps.parent()
        .expect("test executables are in <target>/<profile>/deps")
        .to_path_buf()
}

/// Where screenshots and logs go: `<target>/e2e-artifacts/`.
pub fn artifacts_dir() -> PathBuf {
    let dir = profile_dir()
        .parent()
        .expect("the profile folder is inside the target folder")
        .join("e2e-artifacts");
    std::fs::create_dir_all(&dir).expect("the artifacts folder can be created");
    dir
}

/// The checkout these tests belong to (for `ui/dist`, which is source-side, not built by cargo).
pub fn checkout_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the checkout")
}

/// A free port on loopback (bound, read, released: another program could take it in between,
/// which on a test machine does not happen in practice).
pub fn free_loopback_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a loopback port is free")
}
