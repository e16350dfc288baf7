//! Where the database is and how to reach it: the `postgres://` address from `--database`,
//! `ROLLCALL_DATABASE_URL` or `database_url`, shown to people without its password, and
//! connections over TLS (rustls on ring) whenever the address asks for it.
//!
//! `sslmode=disable|prefer|require` are understood as libpq does, except that a TLS
//! connection always checks the server's certificate (against the public roots, or the file
//! named by `sslrootcert=`): a district database reached across a network is worth that.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use postgres::config::SslMode;
use postgres::{Client, Config};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio_postgres_rustls::MakeRustlsConnect;

use rollcall_core::store::StoreError;

/// How long a connection attempt may take before the database counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A parsed database address, ready to connect.
#[derive(Clone)]
pub struct DatabaseUrl {
    config: Config,
    tls: MakeRustlsConnect,
    shown: String,
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Why an address cannot be used; each says what to write instead.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error("The database address must start with postgres:// or postgresql://, as in postgres://rollcall@db.example.org/rollcall.")]
    NotPostgres,
    #[error("The database address {shown} cannot be read: {reason}")]
    Unreadable { shown: String, reason: String },
    #[error("The certificate file {0} named by sslrootcert cannot be read: {1}")]
    RootCert(PathBuf, String),
}

impl DatabaseUrl {
    /// Parses `url`; nothing is connected yet.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let url = url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(UrlError::NotPostgres);
        }
        let shown = redact(url);
        // `sslrootcert` is ours to read (tokio-postgres does not know it).
        let (url, root_cert) = take_query_param(url, "sslrootcert");
        let mut config: Config = url.parse().map_err(|e: postgres::Error| UrlError::Unreadable {
            shown: shown.clone(),
            reason: e.to_string(),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("rollcall");
        }
        // Dead peers (a server that vanished without closing) are noticed within a minute.
        config.keepalives(true).keepalives_idle(Duration::from_secs(30));
        let tls = tls_connector(root_cert.map(PathBuf::from))?;
        Ok(Self { config, tls, shown })
    }

    /// The address without its password, for logs and the status line.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Whether the connection is encrypted (`sslmode=require`) or may be (`prefer`).
    pub fn ssl_mode(&self) -> SslMode {
        self.config.get_ssl_mode()
    }

    /// Opens one blocking connection. Call it off the async threads.
    pub fn connect(&self) -> Result<Client, StoreError> {
        self.connect_raw()
            .map_err(|e| connection_error(&self.shown, &e))
    }

    /// [`connect`](Self::connect) with the client's own error.
    pub fn connect_raw(&self) -> Result<Client, postgres::Error> {
        self.config.connect(self.tls.clone())
    }
}

/// A connection failure as a [`StoreError`]: the database is down or unreachable.
pub fn connection_error(shown: &str, e: &postgres::Error) -> StoreError {
    StoreError::Disconnected(format!("{shown}: {}", describe(e)))
}

/// The error and its cause chain in one line (tokio-postgres puts the useful part in the
/// source).
pub fn describe(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn tls_connector(root_cert: Option<PathBuf>) -> Result<MakeRustlsConnect, UrlError> {
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(&path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| UrlError::RootCert(path.clone(), e.to_string()))?;
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| UrlError::RootCert(path.clone(), e.to_string()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// `url` without the query parameter `name`, and that parameter's value.
fn take_query_param(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some((key, v)) if key == name => {
                value = Some(v.to_string());
                false
            }
            _ => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, value)
}

/// `postgres://user:secret@host/db` → `postgres://user:…@host/db`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:…@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redact("postgres://rollcall:hunter2@db.example.org:5432/rollcall?sslmode=require"),
            "postgres://rollcall:…@db.example.org:5432/rollcall?sslmode=require"
        );
        assert_eq!(redact("postgres://rollcall@db/x"), "postgres://rollcall@db/x");
        let url = DatabaseUrl::parse("postgres://u:pw@localhost/x").unwrap();
        assert_eq!(format!("{url:?}"), "postgres://u:…@localhost/x");
    }

    #[test]
    fn ssl_modes_are_understood() {
        let url = DatabaseUrl::parse("postgresql://u@localhost/x?sslmode=require").unwrap();
        assert_eq!(url.ssl_mode(), SslMode::Require);
        let url = DatabaseUrl::parse("postgres://u@localhost/x").unwrap();
        assert_eq!(url.ssl_mode(), SslMode::Prefer);
    }

    #[test]
    fn addresses_that_cannot_work_are_explained() {
        assert!(matches!(
            DatabaseUrl::parse("mysql://u@h/x"),
            Err(UrlError::NotPostgres)
        ));
        let e = DatabaseUrl::parse("postgres://u@h/x?sslmode=sometimes").unwrap_err();
        assert!(e.to_string().contains("cannot be read"), "{e}");
        let e = DatabaseUrl::parse("postgres://u@h/x?sslrootcert=/nowhere/ca.pem").unwrap_err();
        assert!(e.to_string().contains("/nowhere/ca.pem"), "{e}");
    }

    #[test]
    fn our_own_parameters_are_taken_out() {
        assert_eq!(
            take_query_param("postgres://h/x?sslmode=require&sslrootcert=/ca.pem", "sslrootcert"),
            ("postgres://h/x?sslmode=require".into(), Some("/ca.pem".into()))
        );
        assert_eq!(
            take_query_param("postgres://h/x?sslrootcert=/ca.pem", "sslrootcert"),
            ("postgres://h/x".into(), Some("/ca.pem".into()))
        );
    }
}
