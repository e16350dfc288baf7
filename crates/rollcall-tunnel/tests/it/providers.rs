//! ngrok, Cloudflare, manual and none, without the internet: configuration and error paths,
//! plus a stand-in `cloudflared` to drive the real process supervision. Online tests run only
//! when asked for with an environment variable, and say so when skipped.

use std::time::Duration;

use rollcall_tunnel::{
    start, start_with, CloudflareConfig, NgrokConfig, ProbeSigner, Prober, ProviderKind,
    TunnelConfig, TunnelOptions, TunnelState, CLOUDFLARED_MISSING_MESSAGE,
};

use crate::support::*;

fn failed_reason(state: &TunnelState) -> &str {
    match state {
        TunnelState::Failed { reason, .. } => reason,
        other => panic!("expected a failure, got {other:?}"),
    }
}

async fn wait_failed(tunnel: &rollcall_tunnel::TunnelHandle) -> TunnelState {
    wait_for(&mut tunnel.state(), "failed", |s| {
        matches!(s, TunnelState::Failed { .. })
    })
    .await
}

#[tokio::test]
async fn no_tunnel_is_off() {
    let tunnel = start(TunnelConfig::None, "127.0.0.1:9".parse().unwrap());
    assert_eq!(tunnel.current(), TunnelState::Off);
    assert!(tunnel
        .current()
        .summary()
        .contains("DreamClass cannot reach this computer"));
    tunnel.stop().await;
}

#[tokio::test]
async fn a_manual_url_is_shown_as_given_and_checked() {
    let tunnel = start(
        TunnelConfig::Manual {
            public_url: "https://rollcall.school.example/webhooks/dreamclass".into(),
        },
        "127.0.0.1:9".parse().unwrap(),
    );
    let state = wait_for(&mut tunnel.state(), "online", TunnelState::is_online).await;
    assert_eq!(
        state,
        TunnelState::Online {
            provider: ProviderKind::Manual,
            public_url: "https://rollcall.school.example".into(),
            webhook_url: "https://rollcall.school.example/webhooks/dreamclass".into(),
            notice: None,
        }
    );
    tunnel.stop().await;

    let plain = start(
        TunnelConfig::Manual {
            public_url: "http://203.0.113.7:8080".into(),
        },
        "127.0.0.1:9".parse().unwrap(),
    );
    let TunnelState::Online { notice, .. } =
        wait_for(&mut plain.state(), "online", TunnelState::is_online).await
    else {
        unreachable!()
    };
    assert!(notice.unwrap().contains("unencrypted"));
    plain.stop().await;

    let local = start(
        TunnelConfig::Manual {
            public_url: "http://localhost:8080".into(),
        },
        "127.0.0.1:9".parse().unwrap(),
    );
    let failed = wait_failed(&local).await;
    assert!(failed_reason(&failed).contains("only this computer can use"));
    local.stop().await;
}

#[tokio::test]
async fn ngrok_without_an_authtoken_says_where_to_get_one() {
    let tunnel = start(
        TunnelConfig::Ngrok(NgrokConfig::new("   ")),
        "127.0.0.1:9".parse().unwrap(),
    );
    let failed = wait_failed(&tunnel).await;
    assert_eq!(
        failed,
        TunnelState::Failed {
            provider: ProviderKind::Ngrok,
            reason: "ngrok needs your account's authtoken. Sign in at dashboard.ngrok.com, copy \
                     the authtoken from \"Your Authtoken\", and paste it in Settings (or set \
                     ROLLCALL_NGROK_AUTHTOKEN)."
                .into(),
        }
    );
    tunnel.stop().await;
}

#[tokio::test]
async fn ngrok_with_a_malformed_domain_is_refused_before_connecting() {
    let tunnel = start(
        TunnelConfig::Ngrok(NgrokConfig {
            authtoken: "token".into(),
            domain: Some("myschool.ngrok.app/webhooks".into()),
        }),
        "127.0.0.1:9".parse().unwrap(),
    );
    let failed = wait_failed(&tunnel).await;
    assert!(failed_reason(&failed).contains("without a path or port"));
    tunnel.stop().await;
}

/// ngrok's service pointed at loopback ports, so its error paths run without the internet.
#[cfg(feature = "ngrok")]
#[tokio::test]
async fn ngrok_that_cannot_reach_its_service_keeps_retrying_and_says_why() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let options = TunnelOptions {
        ngrok_server_addr: Some(closed.to_string()),
        ..fast_options()
    };
    let tunnel = start_with(
        TunnelConfig::Ngrok(NgrokConfig::new("2fake_token")),
        "127.0.0.1:9".parse().unwrap(),
        options,
    );
    let state = wait_for(
        &mut tunnel.state(),
        "retrying",
        |s| matches!(s, TunnelState::Reconnecting { attempt, .. } if *attempt >= 2),
    )
    .await;
    let TunnelState::Reconnecting { last_error, .. } = state else {
        unreachable!()
    };
    assert!(
        last_error.starts_with("Could not reach ngrok's service: check that this computer is connected to the internet"),
        "{last_error}"
    );
    tunnel.stop().await;

    // Something that accepts and hangs up: the TLS handshake fails.
    let hangs_up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = hangs_up.local_addr().unwrap();
    let accept = tokio::spawn(async move {
        while let Ok((socket, _)) = hangs_up.accept().await {
            drop(socket);
        }
    });
    let tunnel = start_with(
        TunnelConfig::Ngrok(NgrokConfig::new("2fake_token")),
        "127.0.0.1:9".parse().unwrap(),
        TunnelOptions {
            ngrok_server_addr: Some(addr.to_string()),
            ..fast_options()
        },
    );
    let state = wait_for(&mut tunnel.state(), "retrying", |s| {
        matches!(s, TunnelState::Reconnecting { .. })
    })
    .await;
    assert!(
        state
            .summary()
            .contains("The secure connection to ngrok's service failed"),
        "{}",
        state.summary()
    );
    tunnel.stop().await;
    accept.abort();
}

#[tokio::test]
async fn ngrok_online_when_asked_for() {
    let Ok(token) = std::env::var("ROLLCALL_TEST_NGROK_AUTHTOKEN") else {
        println!("skipped: set ROLLCALL_TEST_NGROK_AUTHTOKEN to run the online ngrok test");
        return;
    };
    let webhook = webhook_listener().await;
    let tunnel = start(
        TunnelConfig::Ngrok(NgrokConfig {
            authtoken: token,
            domain: std::env::var("ROLLCALL_TEST_NGROK_DOMAIN").ok(),
        }),
        webhook.addr,
    );
    let public_url = wait_online(&mut tunnel.state()).await;
    assert!(public_url.starts_with("https://"), "{public_url}");
    let report = Prober::new(ProbeSigner::hmac_sha256(SECRET))
        .probe(&public_url)
        .await
        .expect("probe through ngrok");
    assert_eq!(webhook.deliveries()[0].id, report.probe_id);
    tunnel.stop().await;
}

#[tokio::test]
async fn cloudflare_without_cloudflared_says_what_to_install() {
    let tunnel = start(
        TunnelConfig::Cloudflare(CloudflareConfig {
            binary: Some("/nonexistent/bin/cloudflared".into()),
        }),
        "127.0.0.1:9".parse().unwrap(),
    );
    let failed = wait_failed(&tunnel).await;
    let reason = failed_reason(&failed);
    assert!(
        reason.starts_with("cloudflared was not found at /nonexistent/bin/cloudflared."),
        "{reason}"
    );
    assert!(
        reason.contains("winget install --id Cloudflare.cloudflared"),
        "{reason}"
    );
    assert!(reason.contains("brew install cloudflared"), "{reason}");
    tunnel.stop().await;
}

#[tokio::test]
async fn cloudflare_looks_on_path_and_explains_when_absent() {
    let installed = ["/opt/homebrew/bin", "/usr/local/bin", "/usr/bin"]
        .iter()
        .chain(
            std::env::var("PATH")
                .unwrap_or_default()
                .split(':')
                .collect::<Vec<_>>()
                .iter(),
        )
        .any(|dir| std::path::Path::new(dir).join("cloudflared").exists());
    if installed {
        println!("skipped: cloudflared is installed here, so it cannot be found missing");
        return;
    }
    let tunnel = start(
        TunnelConfig::Cloudflare(CloudflareConfig::default()),
        "127.0.0.1:9".parse().unwrap(),
    );
    let failed = wait_failed(&tunnel).await;
    assert_eq!(failed_reason(&failed), CLOUDFLARED_MISSING_MESSAGE);
    tunnel.stop().await;
}

/// A stand-in for cloudflared: records its arguments and pid, prints what the real one
/// prints, and on its first run exits with an error, so the restart path runs too.
#[cfg(target_os = "linux")]
fn fake_cloudflared(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("cloudflared");
    let body = format!(
        r#"#!/bin/sh
dir='{dir}'
echo "$@" > "$dir/args"
echo $$ > "$dir/pid"
run=$(cat "$dir/runs" 2>/dev/null || echo 0)
run=$((run + 1))
echo $run > "$dir/runs"
echo "2025-01-01T00:00:00Z INF Requesting new quick Tunnel on trycloudflare.com..." >&2
echo "2025-01-01T00:00:00Z INF |  https://fake-words-run$run.trycloudflare.com  |" >&2
echo "2025-01-01T00:00:00Z INF Registered tunnel connection connIndex=0 location=test" >&2
if [ "$run" = 1 ]; then
  sleep 1
  echo "2025-01-01T00:00:01Z ERR Connection terminated error=\"lost the edge\"" >&2
  exit 1
fi
exec sleep 300
"#,
        dir = dir.display()
    );
    std::fs::write(&script, body).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

// Linux only: whether the process still runs is read from /proc.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn cloudflare_reads_the_address_and_restarts_cloudflared_when_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    let binary = fake_cloudflared(dir.path());
    let tunnel = start_with(
        TunnelConfig::Cloudflare(CloudflareConfig {
            binary: Some(binary),
        }),
        "127.0.0.1:4242".parse().unwrap(),
        fast_options(),
    );
    let mut state = tunnel.state();
    let first = wait_online(&mut state).await;
    assert_eq!(first, "https://fake-words-run1.trycloudflare.com");
    let TunnelState::Online { notice, .. } = tunnel.current() else {
        unreachable!()
    };
    assert!(notice.unwrap().starts_with("Experimental"));
    let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
    assert_eq!(
        args.trim(),
        "tunnel --no-autoupdate --url http://127.0.0.1:4242"
    );

    let reconnecting = wait_for(&mut state, "reconnecting", |s| {
        matches!(s, TunnelState::Reconnecting { .. })
    })
    .await;
    assert_eq!(
        reconnecting,
        TunnelState::Reconnecting {
            provider: ProviderKind::Cloudflare,
            attempt: 1,
            last_error:
                "cloudflared stopped (exit code 1): Connection terminated error=\"lost the edge\""
                    .into(),
        }
    );
    let second = wait_online(&mut state).await;
    assert_eq!(second, "https://fake-words-run2.trycloudflare.com");

    let pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
    let pid = pid.trim();
    assert!(process_alive(pid), "cloudflared should be running");
    tunnel.stop().await;
    assert_eq!(*state.borrow(), TunnelState::Off);
    assert!(
        !process_alive(pid),
        "stopping the tunnel must end cloudflared"
    );
}

#[cfg(target_os = "linux")]
fn process_alive(pid: &str) -> bool {
    // A zombie (ended, not yet reaped) counts as ended.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.split_whitespace().nth(2).is_none_or(|s| s != "Z"),
        Err(_) => false,
    }
}

#[cfg(unix)]
#[tokio::test]
async fn cloudflared_that_prints_no_address_is_restarted_with_a_reason() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("cloudflared");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'INF Starting' >&2\nexec sleep 300\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tunnel = start_with(
        TunnelConfig::Cloudflare(CloudflareConfig {
            binary: Some(script),
        }),
        "127.0.0.1:9".parse().unwrap(),
        TunnelOptions {
            cloudflared_url_timeout: Duration::from_secs(2),
            ..fast_options()
        },
    );
    let state = wait_for(&mut tunnel.state(), "reconnecting", |s| {
        matches!(s, TunnelState::Reconnecting { .. })
    })
    .await;
    assert!(
        state
            .summary()
            .contains("cloudflared did not give a public address within 2 seconds"),
        "{}",
        state.summary()
    );
    tunnel.stop().await;
}

#[tokio::test]
async fn cloudflare_online_when_asked_for() {
    if std::env::var("ROLLCALL_TEST_CLOUDFLARED").as_deref() != Ok("1") {
        println!("skipped: set ROLLCALL_TEST_CLOUDFLARED=1 (with cloudflared installed) to run the online Cloudflare test");
        return;
    }
    let webhook = webhook_listener().await;
    let tunnel = start(
        TunnelConfig::Cloudflare(CloudflareConfig::default()),
        webhook.addr,
    );
    let public_url = wait_online(&mut tunnel.state()).await;
    assert!(public_url.ends_with(".trycloudflare.com"), "{public_url}");
    // A new quick tunnel name can take a while to resolve.
    let prober = Prober::new(ProbeSigner::hmac_sha256(SECRET));
    let mut result = prober.probe(&public_url).await;
    for _ in 0..10 {
        if result.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        result = prober.probe(&public_url).await;
    }
    result.expect("probe through the Cloudflare quick tunnel");
    tunnel.stop().await;
}
