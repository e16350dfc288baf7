//! Any request body through everything the webhook listener does with it before storage:
//! parsing, the signature check, the content hash and field validation. None may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rollcall_core::envelope::parse_body;
use rollcall_core::{KeyEncoding, SigningKey};

fuzz_target!(|body: &[u8]| {
    let key = SigningKey::new("fuzz-secret", KeyEncoding::Text).expect("a non-empty secret");
    let Ok(parsed) = parse_body(body) else {
        return;
    };
    assert_eq!(
        parsed.request_id().len(),
        36,
        "a checked request id is a UUID"
    );
    let signature = parsed.signature().map(str::to_owned);
    let hash = parsed.content_sha256();
    assert_eq!(hash.len(), 64);
    if let Some(signature) = signature {
        let _ = key.verify(parsed.request_id(), &signature);
    }
    // The id's own signature always verifies, whatever else the body holds.
    assert!(key.verify(parsed.request_id(), &key.sign(parsed.request_id())));
    if let Ok(envelope) = parsed.into_envelope() {
        assert!(envelope.timestamp > 0);
        assert!(!envelope.tenant.is_empty());
    }
});
