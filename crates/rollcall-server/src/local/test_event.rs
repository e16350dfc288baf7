//! "Send a test event": a signed delivery through this computer's own webhook listener, to
//! the single school's address or to each school's own, proving that the listener, the
//! Secret and storage work together.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use rollcall_core::model::now_ms;
use serde::Serialize;
use serde_json::json;
use ts_rs::TS;

use crate::error::ErrorBody;
use crate::settings::WebhookAuth;
use crate::state::AppState;

/// `POST /api/test-event`: whether a signed test delivery went through this computer's own
/// webhook listener.
#[derive(Serialize, TS)]
pub struct TestEventResult {
    pub ok: bool,
    /// The listener's HTTP status; 0 when it did not answer or nothing was sent.
    pub status: u16,
    pub message: String,
}

/// Sends a signed test delivery through this computer's own webhook listener, proving that
/// the listener, the secret and storage work together: to the single school's address, or
/// with several schools to each one's own, with its Secret and tenant.
pub async fn test_event(State(state): State<AppState>) -> Json<TestEventResult> {
    let schools: Vec<(String, String)> = state.settings.with(|s| {
        s.schools
            .iter()
            .map(|school| (school.id.clone(), school.name.clone()))
            .collect()
    });
    if schools.len() <= 1 {
        let auth = state.webhook_auth();
        let (ok, status, message) =
            send_test_event(&state, crate::webhook::WEBHOOK_PATH.to_string(), &auth).await;
        return Json(TestEventResult {
            ok,
            status,
            message,
        });
    }
    let mut result = TestEventResult {
        ok: true,
        status: 200,
        message: String::new(),
    };
    for (id, name) in schools {
        let Ok(auth) = state.settings.with(|s| s.receiver(Some(&id))) else {
            continue; // removed meanwhile
        };
        let path = crate::settings::schools::school_path(&id);
        let (ok, status, message) = send_test_event(&state, path, &auth).await;
        if !ok && result.ok {
            (result.ok, result.status) = (false, status);
        }
        if !result.message.is_empty() {
            result.message.push(' ');
        }
        result.message.push_str(&format!("{name}: {message}"));
    }
    Json(result)
}

/// One test delivery to `path` on the webhook listener, signed and addressed as `auth`
/// checks (a school's tenant when it is a school's address).
async fn send_test_event(
    state: &AppState,
    path: String,
    auth: &WebhookAuth,
) -> (bool, u16, String) {
    if auth.key.is_none() && !auth.allow_unsigned {
        return (
            false,
            0,
            "Enter the Secret from DreamClass first; the test delivery is signed with it."
                .to_string(),
        );
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let signature = auth
        .key
        .as_ref()
        .map(|k| k.sign(&request_id))
        .unwrap_or_default();
    let tenant = auth
        .school
        .as_ref()
        .map_or("rollcall-test", |school| school.tenant.as_str());
    let body = json!({
        "id": request_id, "type": crate::forwarding::TEST_EVENT_TYPE, "tenant": tenant,
        "timestamp": now_ms(), "signature": signature, "data": {}
    });
    let mut addr = state.info.webhook_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let mut request = state.http.post(format!("http://{addr}{path}")).json(&body);
    if let Some(basic) = &auth.basic_auth {
        request = request.header("authorization", basic.header_value());
    }
    match request.send().await {
        Ok(response) if response.status() == StatusCode::OK => (
            true,
            200,
            "The test delivery arrived, its signature was checked and it was saved. Rollcall \
             is receiving webhooks on this computer."
                .to_string(),
        ),
        Ok(response) => {
            let status = response.status().as_u16();
            let reason = match response.json::<ErrorBody>().await {
                Ok(body) => body.message,
                Err(_) => "no reason given".to_string(),
            };
            (
                false,
                status,
                format!("The test delivery was refused: {reason}"),
            )
        }
        Err(e) => (
            false,
            0,
            format!("The webhook listener did not answer ({e}). Restart Rollcall."),
        ),
    }
}
