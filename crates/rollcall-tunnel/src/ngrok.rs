//! ngrok: an HTTPS URL from the official ngrok SDK, forwarding to the webhook listener with
//! `listen_and_forward` (the SDK's axum integration pins an older axum, so it is not used).
//!
//! Reconnecting: the SDK re-establishes a lost session by itself and keeps the same URL, but
//! its retry delays grow without a cap (50 ms, 2.5 s, 125 s, then over an hour). So the
//! connector given to the SDK retries the network connection itself, on this crate's capped
//! backoff, and reports each attempt; if the whole session or forwarder ends anyway, the
//! supervisor below starts a new one.

use std::net::SocketAddr;

use crate::config::NgrokConfig;
use crate::provider::{StopSignal, TunnelOptions};
use crate::state::StatePublisher;

/// Shown while online without a reserved domain.
pub const CHANGING_URL_NOTICE: &str = "This ngrok address changes each time Rollcall starts, \
    and DreamClass must then be given the new one. Reserve a free static domain in your ngrok \
    account (Domains) and enter it in Settings so the address stays the same.";

#[cfg(not(feature = "ngrok"))]
pub(crate) async fn run(
    _config: NgrokConfig,
    _target: SocketAddr,
    _options: TunnelOptions,
    publisher: StatePublisher,
    _stop: StopSignal,
) {
    publisher.failed(
        "This build of Rollcall does not include ngrok. Choose bore or a public URL you \
         already have in Settings, or install a build that includes ngrok.",
    );
}

#[cfg(feature = "ngrok")]
pub(crate) use with_sdk::run;

#[cfg(feature = "ngrok")]
mod with_sdk {
    use std::sync::{Arc, Mutex};

    use ngrok::config::ForwarderBuilder;
    use ngrok::prelude::{EndpointInfo, TunnelCloser};
    use ngrok::session::{default_connect, ConnectError, IoStream, RpcError};
    use ngrok::tunnel::AcceptError;
    use ngrok::Error as _;
    use ngrok::Session;

    use super::*;
    use crate::backoff::ReconnectPolicy;

    enum Failure {
        Retry(String),
        Fatal(String),
    }

    pub(crate) async fn run(
        config: NgrokConfig,
        target: SocketAddr,
        options: TunnelOptions,
        publisher: StatePublisher,
        mut stop: StopSignal,
    ) {
        let forward_to: reqwest::Url = format!("http://{target}")
            .parse()
            .expect("a socket address makes a valid URL");
        let notice = config.domain().is_none().then_some(CHANGING_URL_NOTICE);
        let online_url = Arc::new(Mutex::new(None::<String>));
        let mut attempt: u32 = 0;
        loop {
            let last_error =
                match open_session(&config, &options, &publisher, &stop, &online_url).await {
                    Err(Failure::Fatal(reason)) => {
                        publisher.failed(reason);
                        return;
                    }
                    Err(Failure::Retry(reason)) => reason,
                    Ok(mut session) => {
                        let listening = tokio::select! {
                            listening = listen(&session, &config, &forward_to) => listening,
                            _ = stop.stopped() => {
                                let _ = session.close().await;
                                return;
                            }
                        };
                        match listening {
                            Err(Failure::Fatal(reason)) => {
                                let _ = session.close().await;
                                publisher.failed(reason);
                                return;
                            }
                            Err(Failure::Retry(reason)) => {
                                let _ = session.close().await;
                                reason
                            }
                            Ok(mut forwarder) => {
                                let url = forwarder.url().to_string();
                                *online_url.lock().expect("not poisoned") = Some(url.clone());
                                attempt = 0;
                                publisher.online(url, notice);
                                let ended = tokio::select! {
                                    ended = forwarder.join() => ended,
                                    _ = stop.stopped() => {
                                        let _ = forwarder.close().await;
                                        forwarder.join().abort();
                                        let _ = session.close().await;
                                        return;
                                    }
                                };
                                let _ = session.close().await;
                                match ended {
                                    Ok(Err(err)) => format!("The ngrok tunnel stopped: {err}."),
                                    _ => "The ngrok tunnel stopped.".to_string(),
                                }
                            }
                        }
                    }
                };
            if stop.is_stopped() {
                return;
            }
            attempt += 1;
            publisher.reconnecting(attempt, last_error);
            if stop.sleep(options.reconnect.delay(attempt)).await {
                return;
            }
        }
    }

    async fn open_session(
        config: &NgrokConfig,
        options: &TunnelOptions,
        publisher: &StatePublisher,
        stop: &StopSignal,
        online_url: &Arc<Mutex<Option<String>>>,
    ) -> Result<Session, Failure> {
        let mut builder = Session::builder();
        builder
            .authtoken(config.authtoken.trim())
            .client_info("rollcall", env!("CARGO_PKG_VERSION"), None::<String>)
            .connector(reconnecting_connector(
                publisher.clone(),
                options.reconnect,
                stop.clone(),
                Arc::clone(online_url),
                config.domain().is_none().then_some(CHANGING_URL_NOTICE),
            ));
        if let Some(addr) = &options.ngrok_server_addr {
            builder.server_addr(addr.as_str()).map_err(|_| {
                Failure::Fatal(format!("`{addr}` is not a valid ngrok server address."))
            })?;
        }
        let mut stop = stop.clone();
        tokio::select! {
            session = builder.connect() => session.map_err(|err| describe_connect_error(&err)),
            _ = stop.stopped() => Err(Failure::Retry("Stopped.".into())),
        }
    }

    async fn listen(
        session: &Session,
        config: &NgrokConfig,
        forward_to: &reqwest::Url,
    ) -> Result<ngrok::forwarder::Forwarder<ngrok::tunnel::HttpTunnel>, Failure> {
        let mut endpoint = session.http_endpoint();
        if let Some(domain) = config.domain() {
            endpoint.domain(domain);
        }
        endpoint
            .listen_and_forward(forward_to.clone())
            .await
            .map_err(|err| describe_listen_error(&err, config.domain()))
    }

    /// First connections fail fast so the supervisor can classify the error; reconnects of a
    /// live session retry here, on our capped backoff, reporting each attempt.
    fn reconnecting_connector(
        publisher: StatePublisher,
        policy: ReconnectPolicy,
        stop: StopSignal,
        online_url: Arc<Mutex<Option<String>>>,
        notice: Option<&'static str>,
    ) -> impl ngrok::session::Connector {
        move |host: String, port: u16, tls: Arc<rustls::ClientConfig>, lost: Option<AcceptError>| {
            let publisher = publisher.clone();
            let mut stop = stop.clone();
            let online_url = Arc::clone(&online_url);
            async move {
                let Some(lost) = lost else {
                    return default_connect(host, port, tls, None).await;
                };
                let mut last_error = format!("The connection to ngrok was lost ({lost}).");
                for attempt in 1u32.. {
                    publisher.reconnecting(attempt, last_error.clone());
                    if attempt > 1 && stop.sleep(policy.delay(attempt - 1)).await {
                        return Err(ConnectError::Canceled);
                    }
                    if stop.is_stopped() {
                        return Err(ConnectError::Canceled);
                    }
                    match default_connect(host.clone(), port, Arc::clone(&tls), None).await {
                        Ok(stream) => {
                            let url = online_url.lock().expect("not poisoned").clone();
                            if let Some(url) = url {
                                publisher.online(url, notice);
                            }
                            return Ok::<Box<dyn IoStream>, ConnectError>(stream);
                        }
                        Err(err) => last_error = connect_error_sentence(&err),
                    }
                }
                unreachable!("the reconnect loop only ends by returning")
            }
        }
    }

    fn connect_error_sentence(err: &ConnectError) -> String {
        match err {
            ConnectError::Tcp(io) => format!(
                "Could not reach ngrok's service: check that this computer is connected to \
                 the internet ({io})."
            ),
            ConnectError::Tls(_) => "The secure connection to ngrok's service failed: a \
                firewall or proxy on this network may be blocking it."
                .to_string(),
            ConnectError::ProxyConnect(_) => {
                "Could not reach ngrok's service through this network's proxy.".to_string()
            }
            other => format!("ngrok's service did not start the session ({other})."),
        }
    }

    fn describe_connect_error(err: &ConnectError) -> Failure {
        match err {
            ConnectError::Auth(rpc) if is_refusal(rpc) => Failure::Fatal(format!(
                "ngrok did not accept the authtoken: {}. Copy the authtoken again from \
                 dashboard.ngrok.com (\"Your Authtoken\") into Settings.",
                first_line(&rpc.msg())
            )),
            other => Failure::Retry(connect_error_sentence(other)),
        }
    }

    fn describe_listen_error(err: &RpcError, domain: Option<&str>) -> Failure {
        if !is_refusal(err) {
            return Failure::Retry(format!("ngrok did not open the tunnel ({err})."));
        }
        let what = match domain {
            Some(domain) => format!("ngrok refused to open {domain}"),
            None => "ngrok refused to open a tunnel".to_string(),
        };
        let hint = if domain.is_some() {
            " Check that this domain is reserved in the same ngrok account as the authtoken, \
             and that no other program is using it."
        } else {
            ""
        };
        Failure::Fatal(format!("{what}: {}.{hint}", first_line(&err.msg())))
    }

    /// An answer from ngrok itself (with an `ERR_NGROK_...` code), as opposed to a transport
    /// failure: it will say the same thing again until the settings change.
    fn is_refusal(err: &RpcError) -> bool {
        matches!(err, RpcError::Response(_)) && err.error_code().is_some()
    }

    fn first_line(text: &str) -> &str {
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no reason given")
            .trim_end_matches('.')
    }
}
