//! Signing in with the district's accounts (OpenID Connect) against a real provider run in
//! the tests (rollcall-simulator's fake_openid): the whole browser round trip over HTTP, who gets in with which
//! role and schools, and every forged, replayed or foreign answer refused with a sentence and
//! no session.

use std::path::Path;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use rollcall_server::auth::openid::{DomainRule, OpenIdConfig};
use rollcall_server::auth::SignInConfig;
use rollcall_server::ServerConfig;

use crate::sign_in::{add_person, get, set_up, with_sign_in, Session};
use crate::support::TestServer;
use rollcall_simulator::fake_openid::{Account, FakeProvider, Tamper, CLIENT_ID, CLIENT_SECRET};

fn config(issuer: &str) -> impl FnOnce(&Path) -> ServerConfig + '_ {
    move |dir| {
        with_sign_in(
            dir,
            SignInConfig {
                openid: Some(OpenIdConfig {
                    provider_name: "Google".into(),
                    issuer: issuer.into(),
                    client_id: CLIENT_ID.into(),
                    client_secret: Some(CLIENT_SECRET.into()),
                    redirect_url: None,
                    domains: vec![DomainRule::parse("north.example.org=staff:north").unwrap()],
                }),
                ..SignInConfig::default()
            },
        )
    }
}

/// A browser that does not follow redirects, so each step can be looked at.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The first `name=value` of a response's `Set-Cookie` headers for `name`, with its
/// attributes.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// Pressing "Sign in with Google": Rollcall's redirect to the provider and the cookie of this
/// sign-in.
async fn press_sign_in(s: &TestServer, fake: &FakeProvider) -> (String, String) {
    let start = browser()
        .get(format!("{}/api/sign-in/openid", s.api_base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303, "{}", start.text().await.unwrap());
    let to = start.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(
        to.starts_with(&format!("{}/authorize?", fake.issuer)),
        "{to}"
    );
    for asked in [
        "code_challenge_method=S256",
        "nonce=",
        "state=",
        "scope=openid",
    ] {
        assert!(to.contains(asked), "{asked} in {to}");
    }
    let flow = set_cookie(&start, "rollcall_openid").expect("the sign-in's cookie");
    for part in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/api/sign-in/openid",
        "Max-Age=600",
    ] {
        assert!(flow.contains(part), "{flow}");
    }
    (to, pair(&flow))
}

/// The provider signs the person in and sends the browser back: the address it sends it to.
async fn at_provider(authorize: &str) -> String {
    let back = browser().get(authorize).send().await.unwrap();
    assert_eq!(back.status(), 303);
    back.headers()[LOCATION].to_str().unwrap().to_string()
}

struct Landing {
    status: u16,
    session: Option<String>,
    flow_cleared: bool,
    page: String,
}

async fn land(callback: &str, flow_cookie: Option<&str>) -> Landing {
    let mut request = browser().get(callback);
    if let Some(cookie) = flow_cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    let session = set_cookie(&response, "rollcall_session");
    let flow_cleared =
        set_cookie(&response, "rollcall_openid").is_some_and(|c| c.contains("Max-Age=0"));
    Landing {
        status: response.status().as_u16(),
        session,
        flow_cleared,
        page: response.text().await.unwrap(),
    }
}

/// The whole round trip in one browser.
async fn sign_in_with_provider(s: &TestServer, fake: &FakeProvider) -> Landing {
    let (authorize, flow) = press_sign_in(s, fake).await;
    let callback = at_provider(&authorize).await;
    assert!(
        callback.starts_with(&format!("{}/api/sign-in/openid/callback?", s.api_base)),
        "{callback}"
    );
    land(&callback, Some(&flow)).await
}

async fn session_of(s: &TestServer, cookie: &str) -> serde_json::Value {
    browser()
        .get(format!("{}/api/session", s.api_base))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn refused(landing: &Landing, status: u16, words: &str) {
    assert_eq!(landing.status, status, "{}", landing.page);
    assert!(
        landing.page.contains(words),
        "{words:?} in {}",
        landing.page
    );
    assert!(
        landing.page.contains("Back to the sign-in page"),
        "{}",
        landing.page
    );
    assert!(landing.session.is_none(), "no session after a refusal");
}

#[tokio::test]
async fn a_person_of_an_allowed_domain_signs_in_as_the_domains_rule_says() {
    let fake = FakeProvider::start().await;
    let s = TestServer::start_with(config(&fake.issuer)).await;
    let admin = set_up(&s).await;
    let offered = get(&s, "/api/session", &admin).await;
    assert_eq!(
        offered.body["openid"], "Google",
        "the page offers the button"
    );

    fake.signs_in(Account::of("Anna@North.example.org", "Anna Smith"));
    let landing = sign_in_with_provider(&s, &fake).await;
    assert_eq!(landing.status, 200, "{}", landing.page);
    assert!(
        landing.page.contains("url=/"),
        "the page opens Rollcall: {}",
        landing.page
    );
    assert!(landing.flow_cleared, "the sign-in's cookie is removed");
    let cookie = landing.session.expect("a session");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let me = session_of(&s, &pair(&cookie)).await;
    assert_eq!(me["signedIn"], true, "{me}");
    assert_eq!(me["person"]["username"], "anna@north.example.org");
    assert_eq!(me["person"]["displayName"], "Anna Smith");
    assert_eq!(me["person"]["role"], "staff");
    assert_eq!(me["person"]["schools"], serde_json::json!(["north"]));

    // The second time, the same account.
    let again = sign_in_with_provider(&s, &fake).await;
    assert_eq!(again.status, 200, "{}", again.page);
    let people = get(&s, "/api/people", &admin).await;
    let annas = people.body["people"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["username"] == "anna@north.example.org")
        .count();
    assert_eq!(annas, 1, "{}", people.text);
    let audit = get(&s, "/api/audit", &admin).await.text;
    assert!(
        audit.contains("person_added") && audit.contains("by the rule for north.example.org"),
        "{audit}"
    );
    assert!(audit.matches("\"sign_in\"").count() >= 3, "{audit}");
}

#[tokio::test]
async fn an_account_made_by_an_administrator_keeps_its_own_role_and_can_be_switched_off() {
    let fake = FakeProvider::start().await;
    let s = TestServer::start_with(config(&fake.issuer)).await;
    let admin = set_up(&s).await;
    let id = add_person(&s, &admin, "deputy@elsewhere.org", "administrator", None).await;

    fake.signs_in(Account::of("deputy@elsewhere.org", "The Deputy"));
    let landing = sign_in_with_provider(&s, &fake).await;
    assert_eq!(landing.status, 200, "{}", landing.page);
    let me = session_of(&s, &pair(&landing.session.unwrap())).await;
    assert_eq!(me["person"]["role"], "administrator", "{me}");

    let off = s
        .http
        .put(format!("{}/api/people/{id}", s.api_base))
        .header(COOKIE, &admin.cookie)
        .header("x-rollcall-csrf", &admin.csrf)
        .json(&serde_json::json!({
            "displayName": "The Deputy", "role": "administrator", "schools": null,
            "disabled": true
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 200, "{}", off.text().await.unwrap());
    refused(&sign_in_with_provider(&s, &fake).await, 403, "switched off");
}

#[tokio::test]
async fn strangers_forgeries_and_replays_are_refused_with_a_sentence_and_no_session() {
    let fake = FakeProvider::start().await;
    let s = TestServer::start_with(config(&fake.issuer)).await;
    let admin: Session = set_up(&s).await;

    fake.signs_in(Account::of("someone@gmail.com", "Someone"));
    refused(
        &sign_in_with_provider(&s, &fake).await,
        403,
        "someone@gmail.com may not sign in to this Rollcall",
    );

    fake.signs_in(Account {
        email_verified: Some(false),
        ..Account::of("new@north.example.org", "New")
    });
    refused(
        &sign_in_with_provider(&s, &fake).await,
        403,
        "is not confirmed",
    );
    fake.signs_in(Account {
        email: None,
        ..Account::of("x@north.example.org", "No Mail")
    });
    refused(
        &sign_in_with_provider(&s, &fake).await,
        403,
        "did not tell Rollcall your e-mail",
    );

    fake.signs_in(Account::of("anna@north.example.org", "Anna"));
    for tamper in [
        Tamper::ForgedSignature,
        Tamper::WrongAudience,
        Tamper::WrongNonce,
        Tamper::Expired,
        Tamper::WrongIssuer,
    ] {
        fake.tamper(tamper);
        let landing = sign_in_with_provider(&s, &fake).await;
        assert_eq!(landing.status, 401, "{tamper:?}: {}", landing.page);
        refused(&landing, 401, "could not be verified");
    }
    fake.tamper(Tamper::None);

    // Login CSRF: an answer meant for another browser's sign-in, or for none.
    let (authorize, _mine) = press_sign_in(&s, &fake).await;
    let callback = at_provider(&authorize).await;
    let (_, theirs) = press_sign_in(&s, &fake).await;
    refused(
        &land(&callback, Some(&theirs)).await,
        400,
        "not started in this browser",
    );
    refused(
        &land(&callback, None).await,
        400,
        "not started in this browser",
    );
    // A code is good once: the answer replayed in its own browser is refused too.
    let (authorize, flow) = press_sign_in(&s, &fake).await;
    let callback = at_provider(&authorize).await;
    assert_eq!(land(&callback, Some(&flow)).await.status, 200);
    refused(
        &land(&callback, Some(&flow)).await,
        502,
        "could not confirm your sign-in",
    );
    assert!(
        fake.refused()
            .iter()
            .any(|why| why == "unknown or used code"),
        "{:?}",
        fake.refused()
    );
    // The person said no at the provider.
    let (_, flow) = press_sign_in(&s, &fake).await;
    let said_no = format!(
        "{}/api/sign-in/openid/callback?error=access_denied&state=x",
        s.api_base
    );
    refused(
        &land(&said_no, Some(&flow)).await,
        401,
        "Google did not sign you in",
    );

    // Nobody was let in: the only account made is the one of the successful sign-in.
    let people = get(&s, "/api/people", &admin).await;
    let usernames: Vec<_> = people.body["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["username"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(usernames.len(), 2, "{usernames:?}");
    assert!(usernames.contains(&"anna@north.example.org".to_string()));
    let audit = get(&s, "/api/audit", &admin).await.text;
    assert!(audit.matches("sign_in_refused").count() >= 10, "{audit}");
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_is_said_in_a_sentence() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let s = TestServer::start_with(config(&closed)).await;
    let start = browser()
        .get(format!("{}/api/sign-in/openid", s.api_base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 502);
    let page = start.text().await.unwrap();
    assert!(page.contains("could not reach Google"), "{page}");
}

#[tokio::test]
async fn without_a_provider_the_routes_say_so() {
    let s = TestServer::start_with(|dir| with_sign_in(dir, SignInConfig::default())).await;
    let start = browser()
        .get(format!("{}/api/sign-in/openid", s.api_base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 404);
    assert!(start
        .text()
        .await
        .unwrap()
        .contains("username and password"));
}

/// A desktop viewer of a server whose people sign in with Google: the sign-in happens in this
/// computer's browser (here a client that follows each step), the server hands the session to
/// the viewer's own loopback listener only, and the viewer renews it at once.
#[tokio::test]
async fn a_desktop_viewer_signs_its_person_in_through_the_browser_and_renews_the_session() {
    use rollcall_server::viewer::ViewerConfig;
    let fake = FakeProvider::start().await;
    let s = TestServer::start_with(config(&fake.issuer)).await;
    let _admin = set_up(&s).await;
    // A change of north, the school Eleni's domain sees.
    let request_id = crate::support::new_id();
    let (status, body) = s
        .post(&serde_json::json!({
            "id": request_id, "data": crate::support::record(1, 1, ""),
            "type": "ATTENDANCE_CREATED", "tenant": "north",
            "signature": crate::support::key().sign(&request_id),
            "timestamp": crate::support::now_ms() - 1000,
        }))
        .await;
    assert_eq!(status, 200, "{body}");
    let server = s.api_base.clone();
    let viewer = TestServer::start_with(move |dir| {
        let mut config = ServerConfig::new(dir.to_path_buf());
        config.ui_addr = "127.0.0.1:0".parse().unwrap();
        config.viewer = Some(ViewerConfig::parse(&server).unwrap());
        config
    })
    .await;
    let offered = viewer.api("/api/viewer/sign-in/openid").await;
    assert_eq!(offered["provider"], "Google", "{offered}");
    let begun: serde_json::Value = viewer
        .http
        .post(format!("{}/api/viewer/sign-in/openid", viewer.api_base))
        .bearer_auth(&viewer.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = begun["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with(&format!("{}/api/sign-in/openid?return_to=", s.api_base)),
        "{url}"
    );

    // In the browser: the server, the provider, back to the server's callback.
    fake.signs_in(Account::of("eleni@north.example.org", "Eleni"));
    let start = browser().get(&url).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let flow = pair(&set_cookie(&start, "rollcall_openid").expect("the flow's cookie"));
    let authorize = start.headers()[LOCATION].to_str().unwrap().to_string();
    let callback = at_provider(&authorize).await;
    let handed = browser()
        .get(&callback)
        .header(COOKIE, &flow)
        .send()
        .await
        .unwrap();
    assert_eq!(handed.status(), 303, "{}", handed.text().await.unwrap());
    assert!(
        set_cookie(&handed, "rollcall_session").is_none(),
        "the browser itself gets no session"
    );
    let back = handed.headers()[LOCATION].to_str().unwrap().to_string();
    assert!(
        back.starts_with(&format!(
            "{}/api/viewer/openid-done?state=",
            viewer.api_base
        )),
        "to the viewer's own listener: {back}"
    );
    let handed_token = reqwest::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.to_string())
        .expect("the token for the viewer");

    // The viewer takes it (no token of this computer needed: the state is its proof).
    let page = browser().get(&back).send().await.unwrap();
    let status = page.status();
    let text = page.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("as eleni@north.example.org"), "{text}");
    let state = viewer.api("/api/status").await["viewer"].clone();
    assert_eq!(state["signedInAs"], "eleni@north.example.org", "{state}");
    // The token in the browser's history was renewed away.
    let old = session_of(&s, &format!("rollcall_session={handed_token}")).await;
    assert_eq!(old["signedIn"], false, "{old}");
    // The copy follows the server with the renewed session.
    let mut copied = 0;
    for _ in 0..200 {
        copied = viewer.api("/api/changes?after=0").await["changes"]
            .as_array()
            .map_or(0, Vec::len);
        if copied == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(copied, 1, "north's change reaches the copy");

    // The same way back again is refused: the state was used.
    let again = browser().get(&back).send().await.unwrap();
    assert_eq!(again.status(), 400);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("not started from this Rollcall"));
    // A sign-in asked for by another site is not started.
    let elsewhere = browser()
        .get(format!(
            "{}/api/sign-in/openid?return_to=https%3A%2F%2Fevil.example%2Fsteal",
            s.api_base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 400);
    assert!(elsewhere
        .text()
        .await
        .unwrap()
        .contains("not Rollcall on this computer"));
}
