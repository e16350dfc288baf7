//! How the probe reads answers that are not a plain 200, against small loopback servers.

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use rollcall_tunnel::{ProbeError, ProbeSigner, Prober};

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn prober() -> Prober {
    Prober::new(ProbeSigner::hmac_sha256("secret"))
}

#[tokio::test]
async fn an_address_that_is_not_rollcall_is_said_so() {
    let base = serve(Router::new()).await;
    let err = prober().probe(&base).await.unwrap_err();
    assert_eq!(err, ProbeError::NotRollcall { status: 404 });
    assert!(err
        .to_string()
        .contains("not with Rollcall's webhook listener (HTTP 404)"));
}

#[tokio::test]
async fn a_redirect_names_the_address_to_use_instead() {
    let base = serve(Router::new().route(
        "/webhooks/dreamclass",
        post(|| async {
            (
                StatusCode::PERMANENT_REDIRECT,
                [("location", "https://school.example/webhooks/dreamclass")],
            )
        }),
    ))
    .await;
    let err = prober().probe(&base).await.unwrap_err();
    assert_eq!(
        err,
        ProbeError::Redirected {
            location: "https://school.example/webhooks/dreamclass".into()
        }
    );
}

#[tokio::test]
async fn a_listener_error_is_not_reported_as_success() {
    let base = serve(Router::new().route(
        "/webhooks/dreamclass",
        post(|| async { StatusCode::SERVICE_UNAVAILABLE }),
    ))
    .await;
    let err = prober().probe(&base).await.unwrap_err();
    assert_eq!(err, ProbeError::ListenerError { status: 503 });
    assert!(err
        .to_string()
        .contains("DreamClass would mark deliveries as failed"));
}

#[tokio::test]
async fn basic_auth_is_sent_when_the_listener_requires_it() {
    let base = serve(Router::new().route(
        "/webhooks/dreamclass",
        post(|headers: HeaderMap| async move {
            // "office:pa55" in base64.
            if headers.get("authorization").and_then(|v| v.to_str().ok())
                == Some("Basic b2ZmaWNlOnBhNTU=")
            {
                StatusCode::OK.into_response()
            } else {
                StatusCode::UNAUTHORIZED.into_response()
            }
        }),
    ))
    .await;
    assert_eq!(
        prober().probe(&base).await.unwrap_err(),
        ProbeError::Refused { status: 401 }
    );
    let report = prober()
        .with_basic_auth("office".into(), "pa55".into())
        .probe(&base)
        .await
        .unwrap();
    assert_eq!(report.status, 200);
}

#[tokio::test]
async fn the_probe_envelope_is_a_signed_dreamclass_delivery() {
    let (tx, rx) = tokio::sync::oneshot::channel::<serde_json::Value>();
    let tx = std::sync::Mutex::new(Some(tx));
    let tx = std::sync::Arc::new(tx);
    let base = serve(Router::new().route(
        "/webhooks/dreamclass",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let tx = tx.clone();
            async move {
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(body);
                }
                StatusCode::OK
            }
        }),
    ))
    .await;
    let report = prober().probe(&format!("{base}/")).await.unwrap();
    let body = rx.await.unwrap();
    assert_eq!(body["id"], report.probe_id.as_str());
    assert!(uuid::Uuid::parse_str(&report.probe_id).is_ok_and(|u| u.get_version_num() == 4));
    assert_eq!(body["type"], "ROLLCALL_PROBE");
    assert_eq!(body["tenant"], "rollcall-self-check");
    assert!(body["timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    assert_eq!(body["data"], serde_json::json!({}));
    assert_eq!(
        body["signature"],
        crate::support::sign("secret", &report.probe_id).as_str()
    );
}
