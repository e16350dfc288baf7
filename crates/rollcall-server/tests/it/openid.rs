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
