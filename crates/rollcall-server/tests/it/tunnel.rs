//! The tunnel as the office sees it: a real bore server on loopback gives the webhook listener
//! a public URL; the status shows it, the self-check proves it, and the URL notice asks once to
//! enter it in DreamClass.

use std::net::Ipv4Addr;
use std::time::Duration;

use rollcall_tunnel::{BoreConfig, TunnelConfig};
use serde_json::{json, Value};

use crate::support::*;

/// A bore server on 127.0.0.1 (control port 7835), on its own thread.
struct BoreServer {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BoreServer {
    async fn start() -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut server = bore_cli::server::Server::new(1024..=65535, None);
                server.set_bind_addr(Ipv4Addr::LOCALHOST.into());
                server.set_bind_tunnels(Ipv4Addr::LOCALHOST.into());
                tokio::select! {
                    result = server.listen() => panic!("bore server ended: {result:?}"),
                    _ = stopped => {}
                }
            });
        });
        for _ in 0..500 {
            if tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, 7835))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for BoreServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn wait_for_status(s: &TestServer, ok: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..600 {
        let status = s.api("/api/status").await;
        if ok(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the status never became as expected: {}",
        s.api("/api/status").await
    );
}

#[tokio::test]
async fn through_a_real_bore_tunnel_webhooks_arrive_and_only_webhooks() {
    let _bore = BoreServer::start().await;
    let s = TestServer::start_with(|dir| {
        let mut c = signed_config(dir);
        c.settings.tunnel = TunnelConfig::Bore(BoreConfig::new("127.0.0.1"));
        c
    })
    .await;
    let status = wait_for_status(&s, |st| {
        st["tunnel"]["state"] == "online" && st["reachability"]["status"] == "reachable"
    })
    .await;
    let webhook_url = status["tunnel"]["webhookUrl"].as_str().unwrap().to_string();
    assert!(
        webhook_url.starts_with("http://127.0.0.1:")
            && webhook_url.ends_with("/webhooks/dreamclass")
    );
    assert!(status["tunnel"]["notice"]
        .as_str()
        .unwrap()
        .contains("not encrypted"));
    // First time online: the office is asked to enter the URL in DreamClass.
    assert_eq!(status["urlNotice"]["kind"], "first");
    assert!(status["urlNotice"]["message"]
        .as_str()
        .unwrap()
        .contains(&webhook_url));
    let tunnel = s.server.as_ref().unwrap().state().tunnel();
    assert!(
        tunnel.attention().is_some_and(|a| a.contains(&webhook_url)),
        "the tray asks to enter the URL: {:?}",
        tunnel.attention()
    );

    // A signed delivery through the public URL is stored; the self-check probe never is.
    let response = s
        .http
        .post(&webhook_url)
        .json(&created(1, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(s.attendance_count(), 1);
    let ignored = s.api("/api/deliveries?outcome=ignored").await;
    assert!(ignored["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["eventType"] == "ROLLCALL_PROBE"));

    // Nothing but the webhook listener is reachable through the tunnel.
    let public_base = webhook_url.trim_end_matches("/webhooks/dreamclass");
    for path in ["/api/status", "/api/stream", "/"] {
        let r = s
            .http
            .get(format!("{public_base}{path}"))
            .bearer_auth(&s.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path} through the tunnel");
    }

    // "I have updated it" clears the notice and is remembered.
    let r = s
        .http
        .post(format!("{}/api/tunnel/acknowledge-url", s.api_base))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.api("/api/status").await["urlNotice"]["kind"], "unchanged");
    assert_eq!(tunnel.attention(), None, "nothing left to tell");
    let saved = std::fs::read_to_string(s.dir.path().join("rollcall.toml")).unwrap();
    assert!(saved.contains(public_base), "{saved}");

    // "Check now" answers with the result.
    let r: Value = s
        .http
        .post(format!("{}/api/tunnel/check", s.api_base))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "reachable", "{r}");

    // Switching the tunnel off from the settings stops it.
    let r = s
        .http
        .put(format!("{}/api/settings/tunnel", s.api_base))
        .bearer_auth(&s.token)
        .json(&json!({"provider": "none"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_for_status(&s, |st| st["tunnel"]["state"] == "off").await;
    assert!(
        s.http
            .post(&webhook_url)
            .json(&created(2, 1))
            .send()
            .await
            .is_err()
            || s.attendance_count() == 1
    );
    assert_eq!(
        s.api("/api/settings/tunnel").await,
        json!({"provider": "none"})
    );
}

#[tokio::test]
async fn tunnel_settings_are_checked_and_secrets_never_sent_back() {
    let s = TestServer::start().await;
    let put = |body: Value| {
        s.http
            .put(format!("{}/api/settings/tunnel", s.api_base))
            .bearer_auth(&s.token)
            .json(&body)
            .send()
    };
    let r = put(json!({"provider": "ngrok"})).await.unwrap();
    assert_eq!(r.status(), 400);
    let message = r.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.to_lowercase().contains("authtoken"), "{message}");
    let r = put(json!({"provider": "teleport"})).await.unwrap();
    assert_eq!(r.status(), 400);
    let r = put(json!({"provider": "manual", "publicUrl": "not a url"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // ngrok cannot be reached from here, but the settings are kept and the token hidden.
    let r = put(
        json!({"provider": "ngrok", "authtoken": "2abcSECRET", "domain": "myschool.ngrok.app"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let settings = s.api("/api/settings/tunnel").await;
    assert_eq!(settings["authtokenConfigured"], true);
    assert!(!settings.to_string().contains("2abcSECRET"));
    // Saving again without the token keeps it.
    let r = put(json!({"provider": "ngrok", "domain": "myschool.ngrok.app"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        s.api("/api/settings/tunnel").await["authtokenConfigured"],
        true
    );
    let status = s.api("/api/status").await;
    assert_ne!(status["tunnel"]["state"], "off", "{status}");
}
