//! Signing in with the district's own accounts (Google Workspace, Microsoft Entra): OpenID
//! Connect's authorization code flow with PKCE, through the `openidconnect` crate.
//!
//! `GET /api/sign-in/openid` sends the browser to the provider with a fresh `state`, nonce and
//! PKCE challenge, and keeps the three in a short-lived cookie of this browser (not in the
//! server's memory, so the answer may reach any server of a district's cluster). The
//! provider sends the browser back to `GET /api/sign-in/openid/callback`, where Rollcall:
//!
//! 1. refuses an answer whose `state` is not the one this browser was given (login CSRF: a
//!    page of another site cannot sign a secretary in as somebody else);
//! 2. exchanges the code for tokens with the PKCE verifier and the client secret;
//! 3. verifies the ID token: the provider's signature (keys from its discovery document, RS256
//!    as Google and Entra sign), issuer, audience, expiry and the nonce;
//! 4. finds the person: an account whose username is the verified e-mail keeps its own role
//!    and schools; otherwise the e-mail's domain must be in the allowed list, whose rule gives
//!    the new account its role and schools. Anybody else is refused with a sentence.
//!
//! A desktop viewer (`crate::viewer`) signs its person in the same way, in the computer's own
//! browser: it starts the flow with `?return_to=` an address of its own loopback listener
//! (nothing else is accepted, so the flow cannot hand a session to another site). At the end
//! no cookie is set in that browser; the browser is sent back to the viewer with the new
//! session's token, which the viewer at once exchanges for a fresh one
//! (`POST /api/session/renew`), so the token in the browser's history is already ended.
//!
//! For Microsoft Entra, configure the tenant's own issuer
//! (`https://login.microsoftonline.com/{tenant id}/v2.0`): the issuer check then admits that
//! tenant's accounts only.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope as OAuthScope, TokenResponse,
};
use rollcall_core::accounts::{Account, AccountWrite, Role};
use rollcall_core::model::now_ms;
use serde::Deserialize;

use super::guard::record;
use super::{password, session};
use crate::local::guard::{cookie, tokens_equal};
use crate::state::AppState;

/// The cookie that carries one sign-in's `state`, nonce and PKCE verifier while the browser
/// is at the provider. `SameSite=Lax`: the provider's redirect back is a top-level navigation
/// from another site, which a `Strict` cookie would not come with.
const FLOW_COOKIE: &str = "rollcall_openid";
const FLOW_PATH: &str = "/api/sign-in/openid";
/// How long a person has at the provider before the sign-in must be started again.
const FLOW_LASTS: Duration = Duration::from_secs(10 * 60);
/// How long the provider's discovery document (endpoints, signing keys) is kept before it is
/// fetched again, so rotated keys are picked up.
const METADATA_LASTS: Duration = Duration::from_secs(60 * 60);

/// Who may sign in with the provider, as chosen at start.
#[derive(Debug, Clone)]
pub struct OpenIdConfig {
    /// What the sign-in button names: "Google", "Microsoft".
    pub provider_name: String,
    /// The provider's issuer URL (its discovery document is below it).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Where the provider sends people back; by default this Rollcall's own address, as the
    /// browser reached it, with `/api/sign-in/openid/callback`.
    pub redirect_url: Option<String>,
    /// E-mail domains whose people may sign in without an account made beforehand.
    pub domains: Vec<DomainRule>,
}

/// `north.example.org=staff:north,south`: people of that e-mail domain get an account as
/// staff of the schools north and south at their first sign-in. Without `:schools`, every
/// school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRule {
    pub domain: String,
    pub role: Role,
    pub schools: Option<Vec<String>>,
}

impl DomainRule {
    pub fn parse(text: &str) -> Result<Self, String> {
        let usage = "write it as domain=role or domain=role:school,school (for example \
                     north.example.org=staff:north)";
        let (domain, grant) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` has no `=`: {usage}."))?;
        let domain = domain.trim().trim_start_matches('@').to_lowercase();
        if domain.is_empty() || !domain.contains('.') || domain.contains(char::is_whitespace) {
            return Err(format!(
                "`{text}` does not start with an e-mail domain: {usage}."
            ));
        }
        let (role, schools) = match grant.split_once(':') {
            Some((role, schools)) => (role, Some(schools)),
            None => (grant, None),
        };
        let role = Role::parse(role.trim()).ok_or_else(|| {
            format!("`{role}` is not a role (viewer, staff or administrator): {usage}.")
        })?;
        let schools = schools.map(|list| {
            list.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        });
        if schools.as_ref().is_some_and(Vec::is_empty) {
            return Err(format!("`{text}` names no school after `:`: {usage}."));
        }
        Ok(Self {
            domain,
            role,
            schools,
        })
    }
}

/// The provider side of the running server: its configuration, an HTTP client that never
/// follows redirects (as OpenID Connect asks), and the discovery document once fetched.
pub struct OpenId {
    pub config: OpenIdConfig,
    http: openidconnect::reqwest::Client,
    metadata: tokio::sync::Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl OpenId {
    pub fn new(config: OpenIdConfig) -> Self {
        let http = openidconnect::reqwest::Client::builder()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()
            .expect("an HTTP client with the default TLS roots");
        Self {
            config,
            http,
            metadata: tokio::sync::Mutex::new(None),
        }
    }

    /// The discovery document, fetched at the first sign-in and again after an hour.
    async fn metadata(&self) -> Result<CoreProviderMetadata, String> {
        let mut kept = self.metadata.lock().await;
        if let Some((at, metadata)) = kept.as_ref() {
            if at.elapsed() < METADATA_LASTS {
                return Ok(metadata.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|e| e.to_string())?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| error_chain(&e))?;
        *kept = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// Forgets the discovery document, so the next sign-in fetches the signing keys again
    /// (after a token signed with a key not in it).
    async fn forget_metadata(&self) {
        *self.metadata.lock().await = None;
    }

    async fn client(
        &self,
        redirect: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        String,
    > {
        let metadata = self.metadata().await?;
        let redirect = RedirectUrl::new(redirect.to_string()).map_err(|e| e.to_string())?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The provider, when people sign in and one is configured.
fn configured(state: &AppState) -> Option<&OpenId> {
    state
        .sign_in
        .openid
        .as_ref()
        .filter(|_| state.sign_in.config.required)
}

fn not_configured() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "This Rollcall does not sign in with another account",
        "Sign in with your Rollcall username and password, or ask an administrator.",
    )
}

/// Where the provider sends the browser back: the configured address, or this Rollcall's as
/// the browser reached it. The provider only accepts addresses registered with it, so a
/// forged `Host` only breaks the forger's own sign-in.
fn redirect_url(state: &AppState, openid: &OpenId, headers: &HeaderMap) -> String {
    if let Some(url) = &openid.config.redirect_url {
        return url.clone();
    }
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| state.info.ui_addr.to_string());
    // Plain HTTP only where it was allowed; behind a district's proxy the page is HTTPS.
    let scheme = if state.info.ui_tls_fingerprint.is_some() || state.sign_in.config.secure_cookie {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}{FLOW_PATH}/callback")
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StartQuery {
    /// A desktop viewer's own address (`http://127.0.0.1:PORT/…`) to send the session to.
    return_to: Option<String>,
}

/// Whether `url` is an address of this computer's own listener (`http://127.0.0.1`,
/// `http://[::1]`, `http://localhost`, any port): the only place a session is handed to.
fn is_loopback_return(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let loopback = match url.host_str() {
        Some(name) if name.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    };
    url.scheme() == "http" && loopback && url.username().is_empty() && url.password().is_none()
}

/// `GET /api/sign-in/openid[?return_to=]`: off to the provider.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StartQuery>,
) -> Response {
    let Some(openid) = configured(&state) else {
        return not_configured();
    };
    let return_to = query.return_to.filter(|r| !r.is_empty());
    if let Some(url) = &return_to {
        if !is_loopback_return(url) {
            return page(
                StatusCode::BAD_REQUEST,
                "You are not signed in",
                "This sign-in was asked for by a page that is not Rollcall on this computer, so \
                 it was not started. Press \"Sign in\" in the Rollcall app again.",
            );
        }
    }
    let client = match openid.client(&redirect_url(&state, openid, &headers)).await {
        Ok(client) => client,
        Err(reason) => return unreachable_provider(openid, &reason),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(OAuthScope::new("email".into()))
        .add_scope(OAuthScope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    // The viewer's address rides along (base64url: no dots) and is checked again at the end.
    let return_to = return_to
        .map(|r| URL_SAFE_NO_PAD.encode(r))
        .unwrap_or_default();
    let flow = format!(
        "{}.{}.{}.{return_to}",
        csrf.secret(),
        nonce.secret(),
        verifier.secret()
    );
    let mut response =
        (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        flow_cookie(
            &flow,
            FLOW_LASTS.as_secs(),
            state.sign_in.config.secure_cookie,
        ),
    );
    response
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /api/sign-in/openid/callback`: the provider's answer.
pub async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(answer): Query<Callback>,
) -> Response {
    let Some(openid) = configured(&state) else {
        return not_configured();
    };
    let mut response = match finish(&state, openid, peer, &headers, answer).await {
        Ok(response) => response,
        Err(refusal) => {
            tracing::warn!(reason = %refusal.log, "an OpenID Connect sign-in was refused");
            record(
                &state,
                refusal.who.as_deref().unwrap_or("someone"),
                "sign_in_refused",
                format!("{}: {}", openid.config.provider_name, refusal.log),
            )
            .await;
            page(refusal.status, "You are not signed in", &refusal.sentence)
        }
    };
    // One flow, one answer: the cookie goes whatever happened.
    response.headers_mut().append(
        header::SET_COOKIE,
        flow_cookie("", 0, state.sign_in.config.secure_cookie),
    );
    response
}

/// Why a sign-in was refused: the sentence for the person and what the log keeps.
struct Refusal {
    status: StatusCode,
    sentence: String,
    log: String,
    who: Option<String>,
}

impl Refusal {
    fn new(status: StatusCode, sentence: impl Into<String>, log: impl Into<String>) -> Self {
        Self {
            status,
            sentence: sentence.into(),
            log: log.into(),
            who: None,
        }
    }

    fn of(mut self, who: &str) -> Self {
        self.who = Some(who.to_string());
        self
    }
}

async fn finish(
    state: &AppState,
    openid: &OpenId,
    peer: SocketAddr,
    headers: &HeaderMap,
    answer: Callback,
) -> Result<Response, Refusal> {
    let provider = &openid.config.provider_name;
    let again = format!("Go back to Rollcall and press \"Sign in with {provider}\" again.");
    super::sign_in_api::throttle(state, super::sign_in_api::client_address(peer, headers))
        .map_err(|e| Refusal::new(StatusCode::TOO_MANY_REQUESTS, e.message, "throttled"))?;
    if let Some(error) = answer.error {
        let detail = answer.error_description.unwrap_or_default();
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            format!("{provider} did not sign you in. {again}"),
            format!("the provider answered {error} {detail}"),
        ));
    }
    // The browser must be the one this sign-in was started in, and it must be recent.
    let flow = cookie(headers, FLOW_COOKIE).unwrap_or_default();
    let mut parts = flow.splitn(4, '.');
    let (Some(expected_state), Some(nonce), Some(verifier)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("This sign-in was not started in this browser, or took longer than ten minutes. {again}"),
            "no sign-in under way in this browser",
        ));
    };
    let return_to = parts
        .next()
        .filter(|r| !r.is_empty())
        .and_then(|r| URL_SAFE_NO_PAD.decode(r).ok())
        .and_then(|r| String::from_utf8(r).ok())
        .filter(|r| is_loopback_return(r));
    let (Some(code), Some(given_state)) = (answer.code, answer.state) else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("The answer from {provider} is incomplete. {again}"),
            "no code or state",
        ));
    };
    if !tokens_equal(given_state.as_bytes(), expected_state.as_bytes()) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("This sign-in was not started in this browser. {again}"),
            "the state is not this browser's",
        ));
    }
    let unreachable = |reason: String| {
        Refusal::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "Rollcall could not confirm your sign-in with {provider}. Try again in a minute; \
                 if it keeps happening, tell your administrator."
            ),
            reason,
        )
    };
    let client = openid
        .client(&redirect_url(state, openid, headers))
        .await
        .map_err(unreachable)?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| unreachable(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
        .request_async(&openid.http)
        .await
        .map_err(|e| unreachable(error_chain(&e)))?;
    let not_verified = |reason: String| {
        Refusal::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "The answer from {provider} could not be verified, so Rollcall did not sign you \
                 in. {again}"
            ),
            reason,
        )
    };
    let id_token = tokens
        .id_token()
        .ok_or_else(|| not_verified("no ID token in the answer".into()))?;
    let claims = match id_token.claims(&client.id_token_verifier(), &Nonce::new(nonce.into())) {
        Ok(claims) => claims,
        Err(e) => {
            // Keys rotate: the next sign-in reads them again.
            openid.forget_metadata().await;
            return Err(not_verified(error_chain(&e)));
        }
    };
    let Some(email) = claims.email().map(|e| e.as_str().trim().to_lowercase()) else {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!(
                "{provider} did not tell Rollcall your e-mail address, so Rollcall cannot tell \
                 who you are. Ask your administrator."
            ),
            "no e-mail in the ID token",
        ));
    };
    if claims.email_verified() == Some(false) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!(
                "{provider} says the e-mail address {email} is not confirmed. Confirm it with \
                 {provider}, or ask your administrator."
            ),
            "the e-mail is not verified",
        )
        .of(&email));
    }
    let display_name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.clone());
    let account = account_for(state, openid, &email, &display_name).await?;
    let (cookie, _view) = super::sign_in_api::new_session(state, headers, &account)
        .await
        .map_err(|e| unreachable(e.message))?;
    if let Some(viewer) = return_to {
        // To the desktop viewer that asked: this browser gets no session of its own.
        let token = session::token_of(&cookie)
            .ok_or_else(|| unreachable("the new session's cookie has no token".to_string()))?;
        let mut to = reqwest::Url::parse(&viewer).map_err(|e| unreachable(e.to_string()))?;
        to.query_pairs_mut().append_pair("token", &token);
        return Ok((
            StatusCode::SEE_OTHER,
            no_store(),
            [(header::LOCATION, to.to_string())],
        )
            .into_response());
    }
    let mut response = signed_in_page();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// The account of `email`: their own, or a new one by their domain's rule.
async fn account_for(
    state: &AppState,
    openid: &OpenId,
    email: &str,
    display_name: &str,
) -> Result<Account, Refusal> {
    let internal = |e: crate::error::ApiError| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Rollcall could not read its list of people. Try again in a minute.",
            e.message,
        )
    };
    let accounts = state
        .store
        .accounts()
        .await
        .map_err(|e| internal(crate::error::ApiError::from(e)))?;
    if let Some(account) = accounts.into_iter().find(|a| a.username == email) {
        if account.disabled {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                format!(
                    "Your Rollcall account ({email}) is switched off. Ask an administrator if you \
                     need it again."
                ),
                "the account is disabled",
            )
            .of(email));
        }
        return Ok(account);
    }
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    let Some(rule) = openid.config.domains.iter().find(|r| r.domain == domain) else {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            format!(
                "{email} may not sign in to this Rollcall. Ask an administrator to add you as \
                 {email}."
            ),
            "no account and the domain is not allowed",
        )
        .of(email));
    };
    // A password nobody knows: this person signs in with the provider (an administrator may
    // still set one for them).
    let password_hash = password::hash(session::new_token(), state.sign_in.config.password_cost)
        .await
        .map_err(internal)?;
    let id = state
        .store
        .save_account(AccountWrite {
            id: None,
            username: email.to_string(),
            display_name: display_name.to_string(),
            role: rule.role,
            schools: rule.schools.clone(),
            password_hash,
            disabled: false,
            created_at: now_ms(),
        })
        .await
        .map_err(|e| internal(crate::error::ApiError::from(e)))?;
    record(
        state,
        email,
        "person_added",
        format!(
            "at their first sign-in with {}, as {} by the rule for {domain}",
            openid.config.provider_name,
            rule.role.with_article()
        ),
    )
    .await;
    state
        .store
        .accounts()
        .await
        .map_err(|e| internal(crate::error::ApiError::from(e)))?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Rollcall could not make your account. Try again in a minute.",
                "the account just saved is not in the store",
            )
        })
}

fn flow_cookie(value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{FLOW_COOKIE}={value}; Path={FLOW_PATH}; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    )
    .parse()
    .expect("a valid cookie header")
}

fn unreachable_provider(openid: &OpenId, reason: &str) -> Response {
    tracing::warn!(%reason, "the OpenID Connect provider could not be reached");
    page(
        StatusCode::BAD_GATEWAY,
        "You are not signed in",
        &format!(
            "Rollcall could not reach {} to sign you in. Try again in a minute; if it keeps \
             happening, tell your administrator.",
            openid.config.provider_name
        ),
    )
}

/// Signed in: the page goes on to Rollcall by a navigation of its own. The session cookie is
/// `SameSite=Strict`, and a redirect at the end of a chain that started at the provider
/// (another site) would arrive without it.
fn signed_in_page() -> Response {
    let body = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
                <meta http-equiv=\"refresh\" content=\"0; url=/\"><title>Signed in - Rollcall</title>\
                <p>You are signed in. <a href=\"/\">Open Rollcall</a></p></html>";
    (StatusCode::OK, no_store(), Html(body)).into_response()
}

/// A small page with one sentence and the way back to the sign-in page.
fn page(status: StatusCode, title: &str, sentence: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>{title} - Rollcall</title>\
         <h1>{title}</h1><p>{}</p><p><a href=\"/\">Back to the sign-in page</a></p></html>",
        escape(sentence),
        title = escape(title)
    );
    (status, no_store(), Html(body)).into_response()
}

fn no_store() -> [(header::HeaderName, &'static str); 1] {
    [(header::CACHE_CONTROL, "no-store")]
}

/// Text for HTML: e-mail addresses and names come from the provider.
/// `text` safe inside HTML.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_rules_read_as_written_and_refuse_with_the_form() {
        assert_eq!(
            DomainRule::parse("North.Example.org=staff:north, south").unwrap(),
            DomainRule {
                domain: "north.example.org".into(),
                role: Role::Staff,
                schools: Some(vec!["north".into(), "south".into()]),
            }
        );
        assert_eq!(
            DomainRule::parse("@district.org=viewer").unwrap().schools,
            None
        );
        for wrong in [
            "district.org",
            "=staff",
            "district.org=boss",
            "district.org=staff:",
        ] {
            let error = DomainRule::parse(wrong).unwrap_err();
            assert!(error.contains("domain=role"), "{wrong}: {error}");
        }
    }

    #[test]
    fn text_from_the_provider_cannot_become_markup() {
        assert_eq!(
            escape("<script>\"a\" & b</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; b&lt;/script&gt;"
        );
    }
}
