//! bore: a plain TCP tunnel through a bore server (self-hosted or the public `bore.pub`).
//!
//! The control loop is written here on top of the `bore-cli` crate's protocol types
//! (`Delimited`, `ClientMessage`, `ServerMessage`, `Authenticator`) rather than its
//! `client::Client`, for three things the office needs and `Client` cannot give:
//! - a dead connection is noticed even when no error arrives (laptop sleep, Wi-Fi change):
//!   the server sends a heartbeat twice a second, so silence means the connection is gone;
//! - after a reconnect the same public port is asked for again, so the URL DreamClass has
//!   keeps working when the server allows it;
//! - errors are told apart (wrong secret, port not allowed, server down) so that the state
//!   says what to do, and only the retryable ones are retried.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bore_cli::auth::Authenticator;
use bore_cli::shared::{ClientMessage, Delimited, ServerMessage, CONTROL_PORT, NETWORK_TIMEOUT};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::timeout;
use uuid::Uuid;

use crate::config::BoreConfig;
use crate::provider::{StopSignal, TunnelOptions};
use crate::state::StatePublisher;

/// Shown with the bore URL for as long as it is online.
pub const PLAIN_HTTP_NOTICE: &str = "bore is not encrypted: attendance data travels as plain \
    HTTP between DreamClass and the bore server. Prefer ngrok (https) unless the bore server \
    is your school's own.";

/// After this many "port still in use" answers the previous public port is given up and the
/// server may choose another (the URL then changes and the app asks to update DreamClass).
const PORT_TAKEN_TRIES: u32 = 3;

enum ConnectFailure {
    /// Worth retrying; the sentence is shown as `last_error`.
    Retry(String),
    /// The server has the port we asked for in use.
    PortTaken(u16),
    /// Retrying cannot help; the sentence says what to change.
    Fatal(String),
}

/// An established control connection.
struct Control {
    conn: Delimited<TcpStream>,
    server_addr: SocketAddr,
    remote_port: u16,
}

/// What each forwarded connection needs.
struct Forwarding {
    server_addr: SocketAddr,
    target: SocketAddr,
    auth: Option<Authenticator>,
}

pub(crate) async fn run(
    config: BoreConfig,
    target: SocketAddr,
    options: TunnelOptions,
    publisher: StatePublisher,
    mut stop: StopSignal,
) {
    let host = config.host().to_string();
    let mut wanted_port = config.requested_port();
    let mut attempt: u32 = 0;
    let mut port_taken: u32 = 0;
    loop {
        let connected = tokio::select! {
            connected = connect(&config, wanted_port) => connected,
            _ = stop.stopped() => return,
        };
        let last_error = match connected {
            Ok(control) => {
                if config.port.is_none() {
                    wanted_port = control.remote_port;
                }
                attempt = 0;
                port_taken = 0;
                publisher.online(
                    public_url(&host, control.remote_port),
                    Some(PLAIN_HTTP_NOTICE),
                );
                let forwarding = Forwarding {
                    server_addr: control.server_addr,
                    target,
                    auth: config.secret().map(Authenticator::new),
                };
                tokio::select! {
                    ended = serve(control.conn, forwarding, &host, options.bore_heartbeat_timeout) => ended,
                    _ = stop.stopped() => return,
                }
            }
            Err(ConnectFailure::Fatal(reason)) => {
                publisher.failed(reason);
                return;
            }
            Err(ConnectFailure::PortTaken(port)) => {
                port_taken += 1;
                if config.port.is_none() && port_taken >= PORT_TAKEN_TRIES {
                    wanted_port = 0;
                }
                format!("The public port {port} is still in use on the bore server {host}.")
            }
            Err(ConnectFailure::Retry(reason)) => reason,
        };
        attempt += 1;
        publisher.reconnecting(attempt, last_error);
        if stop.sleep(options.reconnect.delay(attempt)).await {
            return;
        }
    }
}

fn public_url(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("http://[{host}]:{port}")
    } else {
        format!("http://{host}:{port}")
    }
}

async fn connect(config: &BoreConfig, port: u16) -> Result<Control, ConnectFailure> {
    use ConnectFailure::{Fatal, Retry};
    let host = config.host();
    let (stream, server_addr) = connect_tcp(host).await.map_err(Retry)?;
    let mut conn = Delimited::new(stream);

    if let Some(secret) = config.secret() {
        Authenticator::new(secret)
            .client_handshake(&mut conn)
            .await
            .map_err(|err| {
                if err.to_string().contains("timed out") {
                    Retry(format!(
                        "The bore server {host} did not ask for the secret. If it runs without \
                         a secret, remove the secret from Settings."
                    ))
                } else {
                    Retry(format!(
                        "The bore server {host} closed the connection while checking the secret."
                    ))
                }
            })?;
    }

    let hello = async {
        conn.send(ClientMessage::Hello(port)).await?;
        conn.recv_timeout::<ServerMessage>().await
    };
    match hello.await {
        Ok(Some(ServerMessage::Hello(remote_port))) => Ok(Control {
            conn,
            server_addr,
            remote_port,
        }),
        Ok(Some(ServerMessage::Challenge(_))) => Err(Fatal(needs_secret(host))),
        Ok(Some(ServerMessage::Error(message))) => Err(server_refusal(host, port, &message)),
        Ok(Some(_)) => Err(Retry(format!(
            "The bore server {host} answered in a way this app does not understand."
        ))),
        Ok(None) => Err(Retry(format!(
            "The bore server {host} closed the connection before opening the tunnel."
        ))),
        Err(err) if err.to_string().contains("timed out") => Err(Retry(format!(
            "The bore server {host} did not answer within {} seconds.",
            NETWORK_TIMEOUT.as_secs()
        ))),
        Err(err) => Err(Retry(format!(
            "The connection to the bore server {host} broke: {err}."
        ))),
    }
}

fn needs_secret(host: &str) -> String {
    format!(
        "The bore server {host} needs a secret. Enter the bore secret in Settings (or set \
         ROLLCALL_BORE_SECRET), as given by whoever runs that server."
    )
}

/// The bore server's error messages are fixed strings (bore-cli 0.6 `server.rs`, `auth.rs`).
fn server_refusal(host: &str, port: u16, message: &str) -> ConnectFailure {
    match message {
        "invalid secret" => ConnectFailure::Fatal(format!(
            "The bore server {host} did not accept the secret. Check the bore secret in \
             Settings (or ROLLCALL_BORE_SECRET)."
        )),
        m if m.contains("requires secret") => ConnectFailure::Fatal(needs_secret(host)),
        "port already in use" => ConnectFailure::PortTaken(port),
        "client port number not in allowed range" => ConnectFailure::Fatal(format!(
            "The bore server {host} does not allow the public port {port}. Clear the port in \
             Settings to let the server choose one."
        )),
        "failed to find an available port" => ConnectFailure::Retry(format!(
            "The bore server {host} has no free public port right now."
        )),
        other => ConnectFailure::Retry(format!(
            "The bore server {host} refused to open the tunnel: {other}."
        )),
    }
}

async fn connect_tcp(host: &str) -> Result<(TcpStream, SocketAddr), String> {
    let addrs: Vec<SocketAddr> = match timeout(
        NETWORK_TIMEOUT,
        tokio::net::lookup_host((host, CONTROL_PORT)),
    )
    .await
    {
        Ok(Ok(addrs)) => addrs.collect(),
        _ => Vec::new(),
    };
    if addrs.is_empty() {
        return Err(format!(
            "Could not find the bore server {host}: check its name in Settings and that this \
             computer is connected to the internet."
        ));
    }
    let mut last = String::new();
    for addr in addrs {
        match timeout(NETWORK_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                // Webhooks are small request/response exchanges: do not let Nagle hold them.
                let _ = stream.set_nodelay(true);
                return Ok((stream, addr));
            }
            Ok(Err(err)) if err.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = format!(
                    "The bore server {host} refused the connection: it may be down or restarting."
                );
            }
            Ok(Err(err)) => {
                last = format!("Could not connect to the bore server {host}: {err}.");
            }
            Err(_) => {
                last = format!(
                    "The bore server {host} did not answer within {} seconds.",
                    NETWORK_TIMEOUT.as_secs()
                );
            }
        }
    }
    Err(last)
}

/// Runs an established tunnel until the control connection ends; returns why, as a sentence.
/// Forwarded connections still open then are dropped with it.
async fn serve(
    mut conn: Delimited<TcpStream>,
    forwarding: Forwarding,
    host: &str,
    heartbeat_timeout: Duration,
) -> String {
    let forwarding = Arc::new(forwarding);
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let message = match timeout(heartbeat_timeout, conn.recv::<ServerMessage>()).await {
            Err(_) => return format!("The bore server {host} stopped answering."),
            Ok(Err(err)) => {
                return format!("The connection to the bore server {host} broke: {err}.")
            }
            Ok(Ok(None)) => {
                return format!(
                    "The bore server {host} closed the connection (it may have restarted)."
                )
            }
            Ok(Ok(Some(message))) => message,
        };
        match message {
            ServerMessage::Heartbeat => {}
            ServerMessage::Connection(id) => {
                let forwarding = Arc::clone(&forwarding);
                connections.spawn(async move {
                    if let Err(err) = forward(id, &forwarding).await {
                        tracing::debug!(%id, %err, "forwarded connection ended with an error");
                    }
                });
            }
            ServerMessage::Error(err) => tracing::warn!(%err, "bore server reported an error"),
            ServerMessage::Hello(_) | ServerMessage::Challenge(_) => {
                tracing::debug!("unexpected message from the bore server")
            }
        }
    }
}

/// Joins one public connection, parked on the server under `id`, to the webhook listener.
async fn forward(id: Uuid, forwarding: &Forwarding) -> Result<(), String> {
    let remote = timeout(NETWORK_TIMEOUT, TcpStream::connect(forwarding.server_addr))
        .await
        .map_err(|_| "timed out connecting to the bore server".to_string())?
        .map_err(|err| err.to_string())?;
    let _ = remote.set_nodelay(true);
    let mut remote = Delimited::new(remote);
    if let Some(auth) = &forwarding.auth {
        auth.client_handshake(&mut remote)
            .await
            .map_err(|err| err.to_string())?;
    }
    remote
        .send(ClientMessage::Accept(id))
        .await
        .map_err(|err| err.to_string())?;

    let mut local = timeout(NETWORK_TIMEOUT, TcpStream::connect(forwarding.target))
        .await
        .map_err(|_| "timed out connecting to the webhook listener".to_string())?
        .map_err(|err| format!("webhook listener: {err}"))?;
    let _ = local.set_nodelay(true);
    let mut parts = remote.into_parts();
    // Bytes the framing read past the Accept message already belong to the HTTP request.
    local
        .write_all(&parts.read_buf)
        .await
        .map_err(|err| err.to_string())?;
    tokio::io::copy_bidirectional(&mut local, &mut parts.io)
        .await
        .map_err(|err| err.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_brackets_ipv6_hosts() {
        assert_eq!(public_url("bore.pub", 4100), "http://bore.pub:4100");
        assert_eq!(public_url("2001:db8::1", 4100), "http://[2001:db8::1]:4100");
    }

    #[test]
    fn server_refusals_say_what_to_change() {
        let ConnectFailure::Fatal(reason) = server_refusal("b.example", 80, "invalid secret")
        else {
            panic!("a wrong secret is not retryable");
        };
        assert!(reason.contains("did not accept the secret"), "{reason}");
        let ConnectFailure::Fatal(reason) =
            server_refusal("b.example", 80, "client port number not in allowed range")
        else {
            panic!("a port outside the range is not retryable");
        };
        assert!(reason.contains("Clear the port"), "{reason}");
        assert!(matches!(
            server_refusal("b.example", 4100, "port already in use"),
            ConnectFailure::PortTaken(4100)
        ));
        assert!(matches!(
            server_refusal("b.example", 0, "failed to find an available port"),
            ConnectFailure::Retry(_)
        ));
    }
}
