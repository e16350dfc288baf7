//! A desktop viewer whose district signs in with Google or Microsoft: the sign-in page opens
//! in the computer's own browser (the app's window never leaves Rollcall's own pages, see
//! `desktop::is_app_page`), and the server sends the session back to this app's loopback
//! listener (`rollcall_server::viewer::OPENID_DONE`).

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_opener::OpenerExt as _;

use crate::exports::Exports;

/// Opens `url` in the browser, if it is the sign-in page of the server this app views.
#[tauri::command]
pub async fn open_server_sign_in<R: Runtime>(app: AppHandle<R>, url: String) -> Result<(), String> {
    let state = app
        .state::<Exports>()
        .server()
        .ok_or("Rollcall is still starting. Try again in a moment.")?;
    let viewer = state
        .viewer()
        .ok_or("This Rollcall does not show a Rollcall server.")?;
    if !is_sign_in_page(&url, &viewer.server) {
        tracing::warn!(%url, "the window asked to open a page that is not the server's sign-in");
        return Err("Only the server's own sign-in page can be opened from here.".into());
    }
    app.opener()
        .open_url(url, None::<&str>)
        .map_err(|e| format!("Rollcall could not open the browser ({e}). Open it yourself and sign in at the server's address."))
}

/// Whether `url` is `server`'s page that starts a sign-in with the provider.
fn is_sign_in_page(url: &str, server: &str) -> bool {
    let (Ok(url), Ok(server)) = (tauri::Url::parse(url), tauri::Url::parse(server)) else {
        return false;
    };
    url.origin() == server.origin() && url.path() == "/api/sign-in/openid"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_viewed_servers_sign_in_page_is_opened() {
        let server = "https://rollcall.district.example/";
        assert!(is_sign_in_page(
            "https://rollcall.district.example/api/sign-in/openid?return_to=http%3A%2F%2F127.0.0.1%3A1",
            server
        ));
        for other in [
            "https://evil.example/api/sign-in/openid",
            "https://rollcall.district.example/api/export/attendance.csv",
            "http://rollcall.district.example/api/sign-in/openid",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(!is_sign_in_page(other, server), "{other}");
        }
    }
}
