//! The daily e-mail digest's settings: `[digest]` and `[digest.smtp]` in `rollcall.toml`
//! (the SMTP password is a secret, kept with the others), and the checks that make every
//! mistake a sentence before anything is saved or sent.

use std::net::IpAddr;
use std::path::PathBuf;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

/// The send time when the office chooses none: the end of a school day.
pub const DEFAULT_SEND_AT: &str = "16:00";

/// The most addresses one digest goes to (a distribution list counts as one).
pub const MAX_RECIPIENTS: usize = 50;

/// The daily digest: who gets it, when, and through which mail server.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigestSettings {
    pub enabled: bool,
    /// The addresses the digest goes to.
    pub recipients: Vec<String>,
    /// The local time of day it is sent, `HH:MM` (24-hour).
    pub send_at: String,
    /// The school's name as the subject line shows it; empty: "your school".
    pub school_name: String,
    pub smtp: SmtpSettings,
    /// The last local day (`YYYY-MM-DD`) a scheduled digest was sent: at most one a day, also
    /// across restarts. Written by the schedule, never by the form.
    pub last_sent_day: Option<String>,
}

impl Default for DigestSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            recipients: Vec::new(),
            send_at: DEFAULT_SEND_AT.into(),
            school_name: String::new(),
            smtp: SmtpSettings::default(),
            last_sent_day: None,
        }
    }
}

impl std::fmt::Debug for DigestSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestSettings")
            .field("enabled", &self.enabled)
            .field("recipients", &self.recipients)
            .field("send_at", &self.send_at)
            .field("school_name", &self.school_name)
            .field("smtp", &self.smtp)
            .field("last_sent_day", &self.last_sent_day)
            .finish()
    }
}

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
#[ts(rename = "DigestTlsMode")]
pub enum TlsMode {
    /// TLS from the first byte (SMTPS), usually port 465.
    Implicit,
    /// A plain connection upgraded with STARTTLS before anything is sent, usually port 587.
    #[default]
    Starttls,
    /// No encryption: only to a mail server on this computer (a local relay).
    None,
}

impl TlsMode {
    /// The port a mail server usually listens on for this mode.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Implicit => 465,
            Self::Starttls => 587,
            Self::None => 25,
        }
    }
}

/// The mail server the digest is sent through.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// `None`: the usual port of [`Self::tls`].
    pub port: Option<u16>,
    pub tls: TlsMode,
    /// Empty: the server takes mail without signing in.
    pub username: String,
    /// A secret: kept in the keyring when there is one.
    pub password: Option<String>,
    /// The sender address, such as `rollcall@school.example.org`.
    pub from: String,
    /// A PEM file of certificate authorities to trust besides the usual public ones (a school
    /// mail server with its own certificate).
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl SmtpSettings {
    /// The server's name as TLS and the connection want it: an IPv6 address without its
    /// brackets.
    pub fn host_name(&self) -> &str {
        self.host
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
    }

    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.tls.default_port())
    }

    /// Whether the host is this computer, the only place an unencrypted connection may go.
    pub fn host_is_loopback(&self) -> bool {
        let host = self
            .host
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

impl DigestSettings {
    /// The send time as a time of day (checked by [`Self::check`]).
    pub fn send_time(&self) -> Option<NaiveTime> {
        NaiveTime::parse_from_str(self.send_at.trim(), "%H:%M").ok()
    }

    /// The subject line's name of the school.
    pub fn school(&self) -> &str {
        match self.school_name.trim() {
            "" => "your school",
            name => name,
        }
    }

    /// Whether these settings can be saved: what is filled in must be right, and an enabled
    /// digest must have everything it needs to be sent.
    pub fn check(&self) -> Result<(), String> {
        self.check_parts()?;
        if self.enabled {
            self.check_complete()?;
        }
        Ok(())
    }

    /// Whether a digest can be sent with these settings now (the test button asks this even
    /// while the daily digest is off).
    pub fn check_complete(&self) -> Result<(), String> {
        self.check_parts()?;
        if self.recipients.is_empty() {
            return Err("Add at least one address to send the digest to.".into());
        }
        if self.smtp.host.trim().is_empty() {
            return Err(
                "Enter the mail server (SMTP) your school sends e-mail through, \
                 such as smtp.school.example.org."
                    .into(),
            );
        }
        if self.smtp.from.trim().is_empty() {
            return Err("Enter the address the digest is sent from, such as \
                 rollcall@school.example.org."
                .into());
        }
        Ok(())
    }

    fn check_parts(&self) -> Result<(), String> {
        if self.send_time().is_none() {
            return Err(format!(
                "Write the send time as hours and minutes on the 24-hour clock, such as \
                 {DEFAULT_SEND_AT}."
            ));
        }
        if self.recipients.len() > MAX_RECIPIENTS {
            return Err(format!(
                "The digest can go to at most {MAX_RECIPIENTS} addresses; use a mailing list \
                 for more."
            ));
        }
        for address in &self.recipients {
            check_address(address).map_err(|()| {
                format!(
                    "`{address}` is not an e-mail address. Write one address per line, such \
                     as office@school.example.org."
                )
            })?;
        }
        let from = self.smtp.from.trim();
        if !from.is_empty() && check_address(from).is_err() {
            return Err(format!(
                "The sender `{from}` is not an e-mail address; write one such as \
                 rollcall@school.example.org."
            ));
        }
        let host = self.smtp.host.trim();
        let port_in_name =
            host.contains(':') && !host.starts_with('[') && host.parse::<IpAddr>().is_err();
        if host.contains(char::is_whitespace) || host.contains('/') || port_in_name {
            return Err(format!(
                "The mail server `{host}` is not a host name: write only the name, such as \
                 smtp.school.example.org, and the port in its own field."
            ));
        }
        if self.smtp.port == Some(0) {
            return Err(
                "Choose a port between 1 and 65535, or leave it empty for the usual \
                 one."
                    .into(),
            );
        }
        if self.smtp.tls == TlsMode::None && !host.is_empty() && !self.smtp.host_is_loopback() {
            return Err(format!(
                "Rollcall sends the digest unencrypted only to a mail server on this computer. \
                 {host} is another computer: choose TLS (port 465) or STARTTLS (port 587)."
            ));
        }
        if let Some(ca_file) = &self.smtp.ca_file {
            if !ca_file.as_os_str().is_empty() && !ca_file.is_file() {
                return Err(format!(
                    "The certificate file {} was not found. Give the full path of the PEM \
                     file of your mail server's certificate authority, or leave it empty.",
                    ca_file.display()
                ));
            }
        }
        Ok(())
    }
}

/// A plain address (`name@domain`), as lettre will accept it.
fn check_address(address: &str) -> Result<(), ()> {
    address
        .trim()
        .parse::<lettre::Address>()
        .map(drop)
        .map_err(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> DigestSettings {
        DigestSettings {
            enabled: true,
            recipients: vec!["office@school.example.org".into()],
            smtp: SmtpSettings {
                host: "smtp.school.example.org".into(),
                from: "rollcall@school.example.org".into(),
                ..SmtpSettings::default()
            },
            ..DigestSettings::default()
        }
    }

    #[test]
    fn mistakes_are_sentences() {
        assert_eq!(ready().check(), Ok(()));
        assert_eq!(DigestSettings::default().check(), Ok(()), "off and empty");
        type Case = (fn(&mut DigestSettings), &'static str);
        let cases: [Case; 7] = [
            (|d| d.send_at = "4pm".into(), "24-hour clock"),
            (
                |d| d.recipients = vec!["office".into()],
                "`office` is not an e-mail",
            ),
            (|d| d.recipients.clear(), "at least one address"),
            (|d| d.smtp.host.clear(), "Enter the mail server"),
            (|d| d.smtp.from = "me@".into(), "sender `me@`"),
            (|d| d.smtp.host = "smtp.x.org:587".into(), "not a host name"),
            (
                |d| d.smtp.tls = TlsMode::None,
                "unencrypted only to a mail server on this computer",
            ),
        ];
        for (change, says) in cases {
            let mut d = ready();
            change(&mut d);
            let err = d.check().unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn no_encryption_is_allowed_only_on_this_computer() {
        for host in ["localhost", "127.0.0.1", "::1", "[::1]"] {
            let mut d = ready();
            d.smtp.tls = TlsMode::None;
            d.smtp.host = host.into();
            assert_eq!(d.check(), Ok(()), "{host}");
        }
        let mut d = ready();
        d.smtp.tls = TlsMode::None;
        d.smtp.host = "10.0.0.2".into();
        assert!(d.check().is_err());
    }
}
