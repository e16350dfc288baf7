//! DreamClass request signatures: base64(HMAC-SHA256(secret, request id)).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How the configured secret becomes the HMAC key. DreamClass documents "Key Encoding: Base64"
/// ambiguously, so both readings are offered; the secret's own bytes are the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyEncoding {
    #[default]
    Text,
    Base64,
}

impl std::str::FromStr for KeyEncoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "base64" => Ok(Self::Base64),
            other => Err(format!(
                "unknown key encoding `{other}`: use `text` or `base64`"
            )),
        }
    }
}

#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    pub fn new(secret: &str, encoding: KeyEncoding) -> Result<Self, String> {
        if secret.is_empty() {
            return Err("The webhook secret is empty.".into());
        }
        match encoding {
            KeyEncoding::Text => Ok(Self(secret.as_bytes().to_vec())),
            KeyEncoding::Base64 => BASE64.decode(secret.trim()).map(Self).map_err(|_| {
                "The webhook secret is set to be read as base64, but it is not valid base64. \
                 Copy it again from DreamClass, or set the key encoding to text."
                    .to_string()
            }),
        }
    }

    fn mac(&self, request_id: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(request_id.as_bytes());
        mac
    }

    /// The signature DreamClass sends for this request id.
    pub fn sign(&self, request_id: &str) -> String {
        BASE64.encode(self.mac(request_id).finalize().into_bytes())
    }

    /// Whether `signature` is the right one for `request_id`, compared in constant time.
    pub fn verify(&self, request_id: &str, signature: &str) -> bool {
        let Ok(given) = BASE64.decode(signature.trim()) else {
            return false;
        };
        self.mac(request_id).verify_slice(&given).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let key = SigningKey::new("s3cret", KeyEncoding::Text).unwrap();
        let id = "dcba9199-0860-4324-8927-17df766a290e";
        let sig = key.sign(id);
        assert_eq!(
            sig.len(),
            44,
            "32 bytes in base64, like DreamClass's samples"
        );
        assert!(key.verify(id, &sig));
        assert!(!key.verify("dcba9199-0860-4324-8927-17df766a290f", &sig));
        assert!(!key.verify(id, "not base64!"));
        assert!(!key.verify(id, ""));
        let other = SigningKey::new("s3cret2", KeyEncoding::Text).unwrap();
        assert!(!other.verify(id, &sig));
    }

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = SigningKey::new("Jefe", KeyEncoding::Text).unwrap();
        let expected =
            hex_to_base64("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!(key.sign("what do ya want for nothing?"), expected);
    }

    fn hex_to_base64(hex: &str) -> String {
        BASE64.encode(::hex::decode(hex).unwrap())
    }

    #[test]
    fn base64_key_encoding_decodes_the_secret() {
        let text = SigningKey::new("Jefe", KeyEncoding::Text).unwrap();
        let b64 = SigningKey::new(&BASE64.encode("Jefe"), KeyEncoding::Base64).unwrap();
        assert_eq!(text.sign("abc"), b64.sign("abc"));
        assert!(SigningKey::new("%%%", KeyEncoding::Base64).is_err());
        assert!(SigningKey::new("", KeyEncoding::Text).is_err());
    }
}
