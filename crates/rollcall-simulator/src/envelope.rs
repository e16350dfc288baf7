//! Building webhook bodies exactly as DreamClass sends them.

use rollcall_core::SigningKey;
use serde_json::{json, Value};

use crate::traffic::PlannedDelivery;

/// The JSON body DreamClass would send for `delivery`, signed with `key` (or with an empty
/// signature when there is none, for a listener run with `--allow-unsigned`).
pub fn webhook_body(delivery: &PlannedDelivery, tenant: &str, key: Option<&SigningKey>) -> Vec<u8> {
    let data = serde_json::to_value(&delivery.record).expect("a record serialises");
    envelope_body(
        &delivery.request_id,
        delivery.kind.event_type(),
        tenant,
        delivery.timestamp,
        data,
        key,
    )
}

/// Any envelope, signed: `base64(HMAC-SHA256(secret, id))`.
pub fn envelope_body(
    request_id: &str,
    event_type: &str,
    tenant: &str,
    timestamp: i64,
    data: Value,
    key: Option<&SigningKey>,
) -> Vec<u8> {
    let signature = key.map(|k| k.sign(request_id)).unwrap_or_default();
    serde_json::to_vec(&json!({
        "id": request_id,
        "data": data,
        "type": event_type,
        "tenant": tenant,
        "signature": signature,
        "timestamp": timestamp,
    }))
    .expect("JSON serialises")
}
