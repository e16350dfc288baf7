//! HTTPS on the interface listener: the certificate Rollcall makes for itself (kept, so its
//! fingerprint stays), the district's own from files, and what a mistake in them says.

use std::path::Path;

use base64::Engine;
use rollcall_server::auth::{PasswordCost, SignInConfig};
use rollcall_server::ui_tls::{UiTls, SELF_SIGNED_CERT, SELF_SIGNED_KEY};
use rollcall_server::ServerConfig;
use sha2::{Digest, Sha256};

use crate::support::{signed_config, TestServer};

fn over_https(dir: &Path, tls: UiTls) -> ServerConfig {
    let mut config = signed_config(dir);
    config.sign_in = SignInConfig {
        required: true,
        password_cost: PasswordCost::Fast,
        ..SignInConfig::default()
    };
    config.ui_tls = tls;
    config
}

/// A client that trusts only `cert_pem`.
fn trusting(cert_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem).unwrap())
        .build()
        .unwrap()
}

/// The SHA-256 of the certificate in `pem`, as `AB:CD:…`.
fn fingerprint_of(pem: &str) -> String {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[tokio::test]
async fn the_interface_speaks_https_with_a_certificate_it_keeps() {
    let s = TestServer::start_with(|dir| over_https(dir, UiTls::SelfSigned)).await;
    let info = s.server.as_ref().unwrap().info().clone();
    let cert_pem = std::fs::read_to_string(s.dir.path().join(SELF_SIGNED_CERT)).unwrap();
    let fingerprint = info.ui_tls_fingerprint.clone().expect("HTTPS is on");
    assert_eq!(fingerprint, fingerprint_of(&cert_pem));
    assert!(info.ui_url().starts_with("https://"), "{}", info.ui_url());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = s.dir.path().join(SELF_SIGNED_KEY);
        let mode = std::fs::metadata(key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the private key is this user's only");
    }

    let port = info.ui_addr.port();
    let answer = trusting(cert_pem.as_bytes())
        .get(format!("https://localhost:{port}/api/session"))
        .send()
        .await
        .expect("HTTPS with the certificate trusted");
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["mode"], "accounts");

    let untrusted = reqwest::Client::new()
        .get(format!("https://localhost:{port}/api/session"))
        .send()
        .await;
    assert!(
        untrusted.is_err(),
        "a browser is told the certificate is unknown"
    );
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/session"))
        .send()
        .await;
    assert!(
        plain.map_or(true, |r| !r.status().is_success()),
        "nothing is served over plain HTTP"
    );
}

#[tokio::test]
async fn the_certificate_is_kept_across_restarts_so_its_fingerprint_holds_and_can_come_from_files()
{
    let first = TestServer::start_with(|dir| over_https(dir, UiTls::SelfSigned)).await;
    let fingerprint = first
        .server
        .as_ref()
        .unwrap()
        .info()
        .ui_tls_fingerprint
        .clone()
        .unwrap();
    let dir = first.stop().await;
    let config = over_https(dir.path(), UiTls::SelfSigned);
    let again = TestServer::start_in(dir, config).await;
    let info = again.server.as_ref().unwrap().info().clone();
    assert_eq!(
        info.ui_tls_fingerprint.as_deref(),
        Some(fingerprint.as_str())
    );

    // The district's files: here, a copy of that certificate and key elsewhere.
    let files = tempfile::tempdir().unwrap();
    let (cert, key) = (files.path().join("c.pem"), files.path().join("k.pem"));
    std::fs::copy(again.dir.path().join(SELF_SIGNED_CERT), &cert).unwrap();
    std::fs::copy(again.dir.path().join(SELF_SIGNED_KEY), &key).unwrap();
    let from_files = TestServer::start_with(|dir| {
        over_https(
            dir,
            UiTls::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
        )
    })
    .await;
    let info = from_files.server.as_ref().unwrap().info().clone();
    assert_eq!(
        info.ui_tls_fingerprint.as_deref(),
        Some(fingerprint.as_str())
    );
    assert!(
        !from_files.dir.path().join(SELF_SIGNED_CERT).exists(),
        "no certificate of its own is made when one is given"
    );
}

#[tokio::test]
async fn a_wrong_certificate_or_key_stops_the_start_with_a_sentence() {
    let files = tempfile::tempdir().unwrap();
    let (cert, key) = (files.path().join("c.pem"), files.path().join("k.pem"));
    std::fs::write(&cert, "not a certificate").unwrap();
    std::fs::write(&key, "not a key").unwrap();
    for (cert, key, expected) in [
        (files.path().join("missing.pem"), key.clone(), "cannot read"),
        (
            cert.clone(),
            key.clone(),
            "holds no certificate in PEM form",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = over_https(dir.path(), UiTls::Files { cert, key });
        let err = rollcall_server::start(config)
            .await
            .err()
            .expect("the start is refused")
            .to_string();
        assert!(err.contains(expected), "{err}");
    }
}
