//! Sending one digest over SMTP (lettre, rustls on ring), and every way that fails told as a
//! sentence a school secretary can act on: wrong password, server unreachable, certificate
//! not trusted, address refused.

use std::error::Error as _;
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::content::DigestContent;
use crate::settings::{DigestSettings, TlsMode};

/// How long one conversation with the mail server may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a digest was not sent: a sentence for the office saying what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub sentence: String,
}

impl SendFailure {
    fn settings(sentence: impl Into<String>) -> Self {
        Self {
            sentence: sentence.into(),
        }
    }
}

/// Sends `content` to the recipients of `settings` through its mail server.
pub async fn send(settings: &DigestSettings, content: &DigestContent) -> Result<(), SendFailure> {
    settings.check_complete().map_err(SendFailure::settings)?;
    let message = message(settings, content)?;
    let transport = transport(settings)?;
    transport
        .send(message)
        .await
        .map(drop)
        .map_err(|e| explain(settings, &e))
}

fn message(settings: &DigestSettings, content: &DigestContent) -> Result<Message, SendFailure> {
    let from: Mailbox = format!("Rollcall <{}>", settings.smtp.from.trim())
        .parse()
        .map_err(|_| {
            SendFailure::settings(format!(
                "The sender `{}` is not an e-mail address; correct it in Settings.",
                settings.smtp.from
            ))
        })?;
    let mut builder = Message::builder().from(from).subject(content.subject());
    for recipient in &settings.recipients {
        let to: Mailbox = recipient.trim().parse().map_err(|_| {
            SendFailure::settings(format!(
                "`{recipient}` is not an e-mail address; correct it in Settings."
            ))
        })?;
        builder = builder.to(to);
    }
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(content.text()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(content.html()),
                ),
        )
        .map_err(|e| SendFailure::settings(format!("The digest could not be written ({e}).")))
}

fn transport(settings: &DigestSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendFailure> {
    let smtp = &settings.smtp;
    let host = smtp.host_name();
    let tls = match smtp.tls {
        TlsMode::Implicit => Tls::Wrapper(tls_parameters(settings)?),
        TlsMode::Starttls => Tls::Required(tls_parameters(settings)?),
        TlsMode::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(smtp.port())
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT));
    if !smtp.username.trim().is_empty() {
        builder = builder.credentials(Credentials::new(
            smtp.username.trim().to_string(),
            smtp.password.clone().unwrap_or_default(),
        ));
    }
    Ok(builder.build())
}

/// The usual public certificate authorities, plus the configured file's.
fn tls_parameters(settings: &DigestSettings) -> Result<TlsParameters, SendFailure> {
    let smtp = &settings.smtp;
    let host = smtp.host_name();
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = smtp.ca_file.as_ref().filter(|p| !p.as_os_str().is_empty()) {
        let pem = std::fs::read(path).map_err(|e| {
            SendFailure::settings(format!(
                "The certificate file {} could not be read ({e}). Check the path in Settings.",
                path.display()
            ))
        })?;
        let certificate = Certificate::from_pem(&pem).map_err(|_| {
            SendFailure::settings(format!(
                "The certificate file {} holds no certificate in PEM form (a text file starting \
                 with -----BEGIN CERTIFICATE-----).",
                path.display()
            ))
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build_rustls().map_err(|e| {
        SendFailure::settings(format!(
            "The secure connection could not be prepared ({e})."
        ))
    })
}

/// Every message in an error's chain, joined: lettre wraps the I/O and TLS errors that say
/// what happened.
fn chain(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn explain(settings: &DigestSettings, e: &lettre::transport::smtp::Error) -> SendFailure {
    let smtp = &settings.smtp;
    let (host, port) = (smtp.host.trim(), smtp.port());
    let detail = chain(e);
    let lower = detail.to_lowercase();
    let code = e.status().map(|c| c.to_string());
    let failure = |sentence: String| SendFailure { sentence };
    if e.is_permanent() && matches!(code.as_deref(), Some("535" | "534" | "530" | "538")) {
        return failure(format!(
            "The mail server {host} refused the username or password. Check them in Settings \
             (some providers, such as Gmail or Microsoft 365, need an app password for this)."
        ));
    }
    if lower.contains("no compatible authentication mechanism") {
        return failure(format!(
            "The mail server {host} does not offer a way to sign in that Rollcall knows (it \
             may offer it only over an encrypted connection). Choose STARTTLS or TLS, or leave \
             the username empty if the server takes mail without signing in."
        ));
    }
    if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        return failure(format!(
            "The mail server's certificate is not made out to {host}. Enter the server's name \
             exactly as its certificate gives it (ask whoever runs the mail server)."
        ));
    }
    if lower.contains("certificate") || lower.contains("unknownissuer") {
        return failure(format!(
            "The mail server's certificate is not trusted ({}). If your school's mail server \
             uses its own certificate authority, give that authority's PEM file under \
             \"Certificate file\"; otherwise check the server's name.",
            short(&detail)
        ));
    }
    if lower.contains("starttls is not supported") || lower.contains("starttls") && e.is_client() {
        return failure(format!(
            "The mail server {host} does not offer STARTTLS on port {port}. If it expects \
             encryption from the start, choose TLS (usually port 465)."
        ));
    }
    if e.is_tls() || lower.contains("corrupt message") || lower.contains("invalidcontenttype") {
        return failure(format!(
            "The secure connection to {host} on port {port} failed ({}). Check that the \
             encryption matches the port: TLS for 465, STARTTLS for 587.",
            short(&detail)
        ));
    }
    if e.is_timeout() {
        return failure(format!(
            "The mail server {host} did not answer on port {port} in time. Check the server \
             name and port, and that a firewall lets this computer connect to it."
        ));
    }
    if e.is_permanent() {
        return failure(format!(
            "The mail server {host} refused the digest ({}). Check the sender and recipient \
             addresses in Settings.",
            short(&detail)
        ));
    }
    if e.is_transient() {
        return failure(format!(
            "The mail server {host} cannot take the digest just now ({}); Rollcall will try \
             again.",
            short(&detail)
        ));
    }
    failure(format!(
        "Rollcall could not reach the mail server {host} on port {port} ({}). Check the \
         server name and port, that this computer is online, and that a firewall lets it \
         connect to the mail server.",
        short(&detail)
    ))
}

/// The last, most specific part of an error chain, for a sentence in brackets.
fn short(detail: &str) -> String {
    let last = detail.rsplit(": ").next().unwrap_or(detail).trim();
    let mut text: String = last.chars().take(160).collect();
    if text.is_empty() {
        text = detail.chars().take(160).collect();
    }
    text
}
