//! bore end to end on loopback: a real bore server in-process, the tunnel under test, and
//! stand-in webhook and local API listeners.

use rollcall_tunnel::{
    probe, start_with, BoreConfig, ProbeError, ProbeSigner, ProviderKind, TunnelConfig, TunnelState,
};

use crate::support::*;

fn bore_to_loopback() -> TunnelConfig {
    TunnelConfig::Bore(BoreConfig::new("127.0.0.1"))
}

#[tokio::test]
async fn a_webhook_sent_to_the_public_url_reaches_the_webhook_listener() {
    let _turn = BORE_SERVER_TURN.lock().await;
    let server = BoreServer::start(None).await;
    let webhook = webhook_listener().await;

    let tunnel = start_with(bore_to_loopback(), webhook.addr, fast_options());
    let mut state = tunnel.state();
    let public_url = wait_online(&mut state).await;

    assert!(public_url.starts_with("http://127.0.0.1:"), "{public_url}");
    let remote_port: u16 = public_url.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(
        remote_port,
        webhook.addr.port(),
        "the public port is the bore server's"
    );
    let TunnelState::Online {
        provider,
        webhook_url,
        notice,
        ..
    } = tunnel.current()
    else {
        unreachable!()
    };
    assert_eq!(provider, ProviderKind::Bore);
    assert_eq!(webhook_url, format!("{public_url}/webhooks/dreamclass"));
    assert!(notice.unwrap().contains("not encrypted"), "bore must warn");

    assert_eq!(
        deliver(&public_url, "4b7c0f0e-1111-4c1d-9f00-000000000001")
            .await
            .unwrap(),
        200
    );
    assert_eq!(
        webhook.deliveries(),
        vec![Delivery {
            id: "4b7c0f0e-1111-4c1d-9f00-000000000001".into(),
            kind: "ATTENDANCE_CREATED".into(),
            tenant: "my-school".into(),
            outcome: "attendance",
        }]
    );

    tunnel.stop().await;
    assert_eq!(*state.borrow(), TunnelState::Off);
    server.stop().await;
}

#[tokio::test]
async fn only_the_webhook_listener_is_reachable_through_the_tunnel() {
    let _turn = BORE_SERVER_TURN.lock().await;
    let server = BoreServer::start(None).await;
    let webhook = webhook_listener().await;
    let api = local_api().await;

    // The local API is up and would answer on its own socket...
    let direct = client()
        .get(format!("http://{}/api/attendance", api.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 200);
    assert_eq!(api.hits(), 1);

    let tunnel = start_with(bore_to_loopback(), webhook.addr, fast_options());
    let public_url = wait_online(&mut tunnel.state()).await;

    // ...but through the public URL only the webhook listener's routes exist.
    let health = client()
        .get(format!("{public_url}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    for path in ["/api/attendance", "/", "/api/token", "/events"] {
        let response = client()
            .get(format!("{public_url}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path} answered through the tunnel");
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("local-api"),
            "{path} reached the local API: {body}"
        );
    }
    assert_eq!(
        api.hits(),
        1,
        "no request through the tunnel reached the local API"
    );

    tunnel.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn the_tunnel_reconnects_by_itself_after_the_bore_server_restarts() {
    let _turn = BORE_SERVER_TURN.lock().await;
    let server = BoreServer::start(None).await;
    let webhook = webhook_listener().await;

    let tunnel = start_with(bore_to_loopback(), webhook.addr, fast_options());
    let mut state = tunnel.state();
    let public_url = wait_online(&mut state).await;
    assert_eq!(
        deliver(&public_url, "00000000-0000-4000-8000-0000000000a1")
            .await
            .unwrap(),
        200
    );

    server.stop().await;
    let reconnecting = wait_for(&mut state, "reconnecting", |s| {
        matches!(s, TunnelState::Reconnecting { .. })
    })
    .await;
    let TunnelState::Reconnecting {
        attempt,
        last_error,
        ..
    } = reconnecting
    else {
        unreachable!()
    };
    assert!(attempt >= 1);
    assert!(last_error.contains("bore server 127.0.0.1"), "{last_error}");
    // While the server is down, retries go on and are counted.
    wait_for(
        &mut state,
        "reconnecting again",
        |s| matches!(s, TunnelState::Reconnecting { attempt, .. } if *attempt >= 2),
    )
    .await;

    let server = BoreServer::start(None).await;
    let again = wait_online(&mut state).await;
    assert_eq!(again, public_url, "the same public port is asked for again");
    assert_eq!(
        deliver(&again, "00000000-0000-4000-8000-0000000000a2")
            .await
            .unwrap(),
        200
    );
    let ids: Vec<String> = webhook.deliveries().into_iter().map(|d| d.id).collect();
    assert_eq!(
        ids,
        [
            "00000000-0000-4000-8000-0000000000a1",
            "00000000-0000-4000-8000-0000000000a2"
        ]
    );

    tunnel.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn the_probe_succeeds_when_up_and_explains_when_the_server_is_down() {
    let _turn = BORE_SERVER_TURN.lock().await;
    let server = BoreServer::start(None).await;
    let webhook = webhook_listener().await;
    let tunnel = start_with(bore_to_loopback(), webhook.addr, fast_options());
    let public_url = wait_online(&mut tunnel.state()).await;

    let signer = ProbeSigner::hmac_sha256(SECRET);
    let report = probe(&public_url, &signer)
        .await
        .expect("probe through bore");
    assert_eq!(report.status, 200);
    assert_eq!(
        report.webhook_url,
        format!("{public_url}/webhooks/dreamclass")
    );
    let recorded = webhook.deliveries();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].id, report.probe_id);
    assert_eq!(recorded[0].kind, "ROLLCALL_PROBE");
    assert_eq!(recorded[0].tenant, "rollcall-self-check");
    assert_eq!(
        recorded[0].outcome, "ignored",
        "a probe never counts as attendance"
    );

    // A probe signed with another secret is refused by the listener, and said so.
    let wrong = probe(&public_url, &ProbeSigner::hmac_sha256("not the secret")).await;
    assert_eq!(wrong.unwrap_err(), ProbeError::Refused { status: 401 });

    server.stop().await;
    let err = probe(&public_url, &signer).await.unwrap_err();
    assert_eq!(err, ProbeError::TunnelServerUnreachable);
    assert_eq!(
        err.to_string(),
        "DreamClass cannot reach this computer: the tunnel server did not answer."
    );
    tunnel.stop().await;
}

#[tokio::test]
async fn the_probe_says_when_the_tunnel_is_up_but_the_listener_is_not() {
    let _turn = BORE_SERVER_TURN.lock().await;
    let server = BoreServer::start(None).await;
    // A port with nothing listening on it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let tunnel = start_with(bore_to_loopback(), closed, fast_options());
    let public_url = wait_online(&mut tunnel.state()).await;

    let err = probe(&public_url, &ProbeSigner::hmac_sha256(SECRET))
        .await
        .unwrap_err();
    assert_eq!(err, ProbeError::ListenerUnreachable, "{err}");
    assert!(err
        .to_string()
        .contains("cannot reach Rollcall's webhook listener"));

    tunnel.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn a_bore_server_with_a_secret_is_joined_only_with_that_secret() {
    let _turn = BORE_SERVER_TURN.lock().await;
    let server = BoreServer::start(Some("bore-secret")).await;
    let webhook = webhook_listener().await;

    let without = start_with(bore_to_loopback(), webhook.addr, fast_options());
    let failed = wait_for(&mut without.state(), "failed", |s| {
        matches!(s, TunnelState::Failed { .. })
    })
    .await;
    assert_eq!(
        failed,
        TunnelState::Failed {
            provider: ProviderKind::Bore,
            reason: "The bore server 127.0.0.1 needs a secret. Enter the bore secret in Settings \
                     (or set ROLLCALL_BORE_SECRET), as given by whoever runs that server."
                .into()
        }
    );

    let wrong = start_with(
        TunnelConfig::Bore(BoreConfig {
            server: "127.0.0.1".into(),
            port: None,
            secret: Some("guess".into()),
        }),
        webhook.addr,
        fast_options(),
    );
    let failed = wait_for(&mut wrong.state(), "failed", |s| {
        matches!(s, TunnelState::Failed { .. })
    })
    .await;
    assert!(
        failed.summary().contains("did not accept the secret"),
        "{}",
        failed.summary()
    );

    let right = start_with(
        TunnelConfig::Bore(BoreConfig {
            server: "127.0.0.1".into(),
            port: None,
            secret: Some("bore-secret".into()),
        }),
        webhook.addr,
        fast_options(),
    );
    let public_url = wait_online(&mut right.state()).await;
    // Each forwarded connection authenticates too.
    assert_eq!(
        deliver(&public_url, "00000000-0000-4000-8000-0000000000b1")
            .await
            .unwrap(),
        200
    );
    assert_eq!(webhook.deliveries().len(), 1);

    without.stop().await;
    wrong.stop().await;
    right.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn a_public_port_the_server_does_not_allow_is_a_clear_failure() {
    let _turn = BORE_SERVER_TURN.lock().await;
    let server = BoreServer::start(None).await;
    let tunnel = start_with(
        TunnelConfig::Bore(BoreConfig {
            server: "127.0.0.1".into(),
            port: Some(80),
            secret: None,
        }),
        "127.0.0.1:9".parse().unwrap(),
        fast_options(),
    );
    let failed = wait_for(&mut tunnel.state(), "failed", |s| {
        matches!(s, TunnelState::Failed { .. })
    })
    .await;
    assert!(
        failed
            .summary()
            .contains("does not allow the public port 80"),
        "{}",
        failed.summary()
    );
    tunnel.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn with_no_bore_server_the_tunnel_keeps_retrying_and_says_why() {
    let _turn = BORE_SERVER_TURN.lock().await;
    let tunnel = start_with(
        bore_to_loopback(),
        "127.0.0.1:9".parse().unwrap(),
        fast_options(),
    );
    let mut state = tunnel.state();
    let retrying = wait_for(
        &mut state,
        "retrying",
        |s| matches!(s, TunnelState::Reconnecting { attempt, .. } if *attempt >= 3),
    )
    .await;
    let TunnelState::Reconnecting { last_error, .. } = retrying else {
        unreachable!()
    };
    assert_eq!(
        last_error,
        "The bore server 127.0.0.1 refused the connection: it may be down or restarting."
    );
    tunnel.stop().await;
    assert_eq!(*state.borrow(), TunnelState::Off);
}
