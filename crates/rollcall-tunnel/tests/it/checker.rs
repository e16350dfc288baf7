//! The periodic self-check follows the tunnel: reachable when online, waiting while it
//! reconnects, reachable again after the reconnect without being asked.

use std::time::Duration;

use rollcall_tunnel::{
    start_with, BoreConfig, CheckerOptions, ProbeSigner, Prober, Reachability, ReachabilityChecker,
    TunnelConfig,
};
use tokio::sync::watch;

use crate::support::*;

async fn wait_reachability(
    rx: &mut watch::Receiver<Reachability>,
    what: &str,
    matches: impl FnMut(&Reachability) -> bool,
) -> Reachability {
    let seen = match tokio::time::timeout(PATIENCE, rx.wait_for(matches)).await {
        Ok(Ok(r)) => Some(r.clone()),
        _ => None,
    };
    seen.unwrap_or_else(|| panic!("reachability never became {what}; last: {:?}", *rx.borrow()))
}

fn quick_checks() -> CheckerOptions {
    CheckerOptions {
        interval: Duration::from_secs(3600),
        retries: 1,
        retry_delay: Duration::from_millis(200),
    }
}

#[tokio::test]
async fn the_self_check_reruns_after_a_reconnect_and_on_request() {
    let _turn = BORE_SERVER_TURN.lock().await;
    let server = BoreServer::start(None).await;
    let webhook = webhook_listener().await;
    let tunnel = start_with(
        TunnelConfig::Bore(BoreConfig::new("127.0.0.1")),
        webhook.addr,
        fast_options(),
    );
    let checker = ReachabilityChecker::spawn(
        tunnel.state(),
        Prober::new(ProbeSigner::hmac_sha256(SECRET)),
        quick_checks(),
    );
    let mut reachability = checker.subscribe();

    let first = wait_reachability(&mut reachability, "reachable", Reachability::is_reachable).await;
    assert!(first
        .message()
        .starts_with("DreamClass can reach this computer (answered in "));
    let json = serde_json::to_value(&first).unwrap();
    assert_eq!(json["status"], "reachable");
    assert!(
        json["roundTripMs"].is_u64() && json["checkedAtMs"].is_u64(),
        "{json}"
    );
    assert_eq!(webhook.deliveries().len(), 1);

    server.stop().await;
    wait_reachability(&mut reachability, "waiting", |r| {
        *r == Reachability::WaitingForTunnel
    })
    .await;

    let server = BoreServer::start(None).await;
    wait_reachability(
        &mut reachability,
        "reachable again",
        Reachability::is_reachable,
    )
    .await;
    assert_eq!(
        webhook.deliveries().len(),
        2,
        "one probe after the reconnect"
    );
    assert!(webhook.deliveries().iter().all(|d| d.outcome == "ignored"));

    reachability.mark_unchanged();
    checker.check_now();
    wait_reachability(&mut reachability, "checked on request", |r| {
        r.is_reachable()
    })
    .await;
    let started = tokio::time::Instant::now();
    while webhook.deliveries().len() < 3 {
        assert!(started.elapsed() < PATIENCE, "check_now sent no probe");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    checker.stop().await;
    tunnel.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn a_failing_self_check_says_what_failed() {
    let _turn = BORE_SERVER_TURN.lock().await;
    let server = BoreServer::start(None).await;
    let webhook = webhook_listener().await;
    let tunnel = start_with(
        TunnelConfig::Bore(BoreConfig::new("127.0.0.1")),
        webhook.addr,
        fast_options(),
    );
    // Signed with the wrong secret: the listener refuses every probe.
    let checker = ReachabilityChecker::spawn(
        tunnel.state(),
        Prober::new(ProbeSigner::hmac_sha256("stale secret")),
        quick_checks(),
    );
    let mut reachability = checker.subscribe();
    let failed = wait_reachability(&mut reachability, "unreachable", |r| {
        matches!(r, Reachability::Unreachable { .. })
    })
    .await;
    let Reachability::Unreachable { kind, reason, .. } = failed else {
        unreachable!()
    };
    assert_eq!(kind, "refused");
    assert!(
        reason.contains("the webhook secret or the username and password"),
        "{reason}"
    );
    assert!(webhook.deliveries().is_empty());

    checker.stop().await;
    tunnel.stop().await;
    server.stop().await;
}
