//! End to end with the real server: a signed DreamClass webhook goes through a bore tunnel
//! on loopback into `rollcall-server`'s webhook listener and is stored; the self-check probe
//! is answered 200 and logged as ignored, never as attendance; the local API stays local.

use rollcall_server::{ServerConfig, WebhookSettings};
use rollcall_tunnel::{start_with, BoreConfig, ProbeSigner, Prober, TunnelConfig};
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn a_signed_webhook_through_bore_is_stored_by_the_real_server() {
    let _turn = BORE_SERVER_TURN.lock().await;
    let bore = BoreServer::start(None).await;

    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().to_path_buf());
    config.webhook_addr = "127.0.0.1:0".parse().unwrap();
    config.ui_addr = "127.0.0.1:0".parse().unwrap();
    config.settings.webhook = WebhookSettings::signed(SECRET);
    let server = rollcall_server::start(config).await.expect("server starts");
    let info = server.info().clone();
    let api = |path: &str| {
        client()
            .get(format!("http://{}{path}", info.ui_addr))
            .bearer_auth(&info.token)
            .send()
    };

    // The tunnel is given the webhook socket, as `rollcall serve` does.
    let tunnel = start_with(
        TunnelConfig::Bore(BoreConfig::new("127.0.0.1")),
        info.webhook_addr,
        fast_options(),
    );
    let public_url = wait_online(&mut tunnel.state()).await;

    assert_eq!(
        deliver(&public_url, "5f0e8d4a-2b1c-4c7d-9e3f-0a1b2c3d4e5f")
            .await
            .unwrap(),
        200
    );
    let records: Value = api("/api/attendance").await.unwrap().json().await.unwrap();
    let records = records["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["attendanceId"], 52);
    assert_eq!(
        records[0]["requestId"],
        "5f0e8d4a-2b1c-4c7d-9e3f-0a1b2c3d4e5f"
    );

    let report = Prober::new(ProbeSigner::hmac_sha256(SECRET))
        .probe(&public_url)
        .await
        .expect("the real listener answers the self-check");
    let ignored: Value = api("/api/deliveries?outcome=ignored")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ignored = ignored["deliveries"].as_array().unwrap();
    assert!(
        ignored
            .iter()
            .any(|d| d["requestId"] == report.probe_id.as_str()
                && d["eventType"] == "ROLLCALL_PROBE"),
        "the probe is logged as ignored: {ignored:?}"
    );
    let records: Value = api("/api/attendance").await.unwrap().json().await.unwrap();
    assert_eq!(
        records["records"].as_array().unwrap().len(),
        1,
        "a probe is not attendance"
    );

    // The local API answers on its own socket, never through the public URL, token or not.
    assert_eq!(api("/api/status").await.unwrap().status(), 200);
    let through = client()
        .get(format!("{public_url}/api/status"))
        .bearer_auth(&info.token)
        .send()
        .await
        .unwrap();
    assert_eq!(through.status(), 404);

    tunnel.stop().await;
    server.shutdown().await;
    bore.stop().await;
}
