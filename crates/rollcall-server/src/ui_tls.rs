//! HTTPS for the interface when people on other computers open it. The certificate is the
//! district's (`--tls-cert` and `--tls-key`, PEM files), or one Rollcall makes for itself at
//! its first start and keeps in the data folder, so that its SHA-256 fingerprint, printed by
//! `rollcall serve`, stays the same for people to check when their browser asks about it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;

/// Where the certificate Rollcall makes for itself is kept, in the data folder.
pub const SELF_SIGNED_CERT: &str = "tls/interface-cert.pem";
pub const SELF_SIGNED_KEY: &str = "tls/interface-key.pem";

/// How the interface listener speaks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum UiTls {
    /// Plain HTTP: on this computer, or behind the district's HTTPS server, or when asked.
    #[default]
    Off,
    /// A certificate Rollcall makes at first start and keeps in the data folder.
    SelfSigned,
    /// The district's certificate chain and private key, PEM.
    Files { cert: PathBuf, key: PathBuf },
}

/// The certificate in use, ready to accept connections.
#[derive(Clone)]
pub struct LoadedTls {
    pub acceptor: TlsAcceptor,
    /// SHA-256 of the certificate, `AB:CD:…`, as browsers show it.
    pub fingerprint: String,
    /// Where it was read from.
    pub cert_path: PathBuf,
}

/// The certificate `tls` asks for (made first if it is Rollcall's own and not there yet), or
/// a sentence saying what is wrong with it.
pub fn load(tls: &UiTls, data_dir: &Path) -> Result<Option<LoadedTls>, String> {
    match tls {
        UiTls::Off => Ok(None),
        UiTls::SelfSigned => {
            let (cert, key) = (
                data_dir.join(SELF_SIGNED_CERT),
                data_dir.join(SELF_SIGNED_KEY),
            );
            if !cert.exists() || !key.exists() {
                make_self_signed(&cert, &key)?;
            }
            from_files(&cert, &key).map(Some)
        }
        UiTls::Files { cert, key } => from_files(cert, key).map(Some),
    }
}

/// A certificate for this computer's names, valid for about ten years (browsers are told to
/// trust it once, by its fingerprint).
fn make_self_signed(cert: &Path, key: &Path) -> Result<(), String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if let Some(host) = this_host_name() {
        names.push(host);
    }
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("Rollcall could not make a certificate for HTTPS: {e}."))?;
    let folder = cert.parent().expect("the certificate is in a folder");
    std::fs::create_dir_all(folder).map_err(|e| cannot_write(folder, &e))?;
    std::fs::write(cert, made.cert.pem()).map_err(|e| cannot_write(cert, &e))?;
    write_private(key, made.key_pair.serialize_pem().as_bytes()).map_err(|e| cannot_write(key, &e))
}

/// Written readable by this user only: whoever has the key can pose as this server.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, bytes)
}

/// This computer's name, as other computers of the network may reach it.
pub fn this_host_name() -> Option<String> {
    std::env::var("COMPUTERNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_lowercase())
        .filter(|name| !name.is_empty())
}

fn from_files(cert: &Path, key: &Path) -> Result<LoadedTls, String> {
    let cert_pem = std::fs::read(cert).map_err(|e| cannot_read(cert, &e))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|_| not_pem(cert, "certificate"))?;
    let Some(first) = chain.first() else {
        return Err(not_pem(cert, "certificate"));
    };
    let fingerprint = fingerprint(first);
    let key_pem = std::fs::read(key).map_err(|e| cannot_read(key, &e))?;
    let private =
        PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| not_pem(key, "private key"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("HTTPS cannot be set up: {e}."))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            format!(
                "The certificate {} and the key {} do not go together ({e}). Give the key that \
                 was made with this certificate.",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(LoadedTls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        fingerprint,
        cert_path: cert.to_path_buf(),
    })
}

/// `AB:CD:…`, the SHA-256 of the certificate as browsers show it.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn cannot_read(path: &Path, e: &std::io::Error) -> String {
    format!(
        "Rollcall cannot read {} ({e}). Check the file's name and that this user may read it.",
        path.display()
    )
}

fn cannot_write(path: &Path, e: &std::io::Error) -> String {
    format!(
        "Rollcall cannot write {} ({e}). Check that the data folder can be written.",
        path.display()
    )
}

fn not_pem(path: &Path, what: &str) -> String {
    format!(
        "{} holds no {what} in PEM form (the text that starts with -----BEGIN). Export it as \
         PEM and try again.",
        path.display()
    )
}
