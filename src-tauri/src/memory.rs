//! A choice that keeps the desktop app's memory close to an empty window's, made once at
//! start before any thread exists.

/// On Linux, WebKit draws pages through OpenGL (accelerated compositing). Without a graphics
/// card, as on office PCs running Linux in a virtual machine or over remote desktop, that is
/// Mesa's software renderer, whose LLVM and buffers took about 95 MiB of the page's process
/// (`tests/measure.rs`: 217 MiB with it, 121 MiB without, 1,000,000 stored changes).
/// Rollcall's pages are tables and text, drawn as well without it. A person who wants it back
/// sets `WEBKIT_DISABLE_COMPOSITING_MODE=0` before starting Rollcall; a value already set is
/// kept.
pub fn prefer_software_rendering() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // Sound here: `run` calls this before starting any thread.
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}
