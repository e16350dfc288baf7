//! Which certificate a viewer trusts: one a public authority issued for the server's name,
//! as a browser would, or exactly the one whose SHA-256 fingerprint the person confirmed
//! (a district server's self-signed certificate, whose fingerprint `rollcall serve` prints
//! for this). The certificate each handshake presented is remembered, so that a refusal can
//! show its fingerprint for the person to compare.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The fingerprint of the certificate the last handshake presented.
pub type Seen = Arc<Mutex<Option<String>>>;

/// The TLS settings of a viewer's connections: public authorities, or `pinned`.
pub fn client_config(pinned: Option<String>, seen: Seen) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let authorities =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .expect("the public authorities make a verifier");
    let verifier = PinnedOrAuthorities {
        authorities,
        pinned: pinned.map(|p| normalize(&p)),
        seen,
        provider: provider.clone(),
    };
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the default protocol versions are supported")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth()
}

/// `ab:cd…`, `ABCD…` or with spaces, as people copy it: `AB:CD:…`.
pub fn normalize(fingerprint: &str) -> String {
    let hex: String = fingerprint
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

#[derive(Debug)]
struct PinnedOrAuthorities {
    authorities: Arc<WebPkiServerVerifier>,
    pinned: Option<String>,
    seen: Seen,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedOrAuthorities {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint = crate::ui_tls::fingerprint(end_entity);
        *self.seen.lock().expect("seen lock") = Some(fingerprint.clone());
        // The confirmed certificate, whatever its issuer or name (as SSH trusts a known host).
        if self.pinned.as_deref() == Some(fingerprint.as_str()) {
            return Ok(ServerCertVerified::assertion());
        }
        self.authorities.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_compared_as_printed_whatever_the_typing() {
        let printed = "AB:0C:".repeat(16).trim_end_matches(':').to_string();
        assert_eq!(normalize(&printed), printed);
        assert_eq!(
            normalize(&printed.to_lowercase().replace(':', " ")),
            printed
        );
        assert_eq!(normalize(&printed.replace(':', "")), printed);
    }
}
