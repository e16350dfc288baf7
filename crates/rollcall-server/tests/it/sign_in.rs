//! People signing in to a Rollcall that others reach: the first administrator, roles, the
//! schools a person sees (through every read route, the stream and exports), CSRF, sessions
//! (sign-out, expiry, fixation, forged cookies), lockout, throttling and the audit log. A real
//! server on 127.0.0.1:0 with sign-in required, as behind a district's HTTPS proxy.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use rollcall_server::auth::{PasswordCost, SignInConfig};
use rollcall_server::ServerConfig;
use serde_json::{json, Value};

use crate::support::{key, new_id, now_ms, record, signed_config, TestServer};

pub(crate) const ADMIN_PASSWORD: &str = "the head's long password";
pub(crate) const PASSWORD: &str = "a colleague's password";

fn signing_in(dir: &Path) -> ServerConfig {
    with_sign_in(dir, SignInConfig::default())
}

pub(crate) fn with_sign_in(dir: &Path, sign_in: SignInConfig) -> ServerConfig {
    let mut config = signed_config(dir);
    config.sign_in = SignInConfig {
        required: true,
        secure_cookie: false,
        password_cost: PasswordCost::Fast,
        ..sign_in
    };
    config
}

/// A browser's side of one session: its cookie and CSRF token.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) set_cookie: Option<String>,
    pub(crate) text: String,
}

pub(crate) async fn send(
    s: &TestServer,
    method: Method,
    path: &str,
    session: Option<&Session>,
    body: Option<Value>,
) -> Answer {
    let mut request = s.http.request(method, format!("{}{path}", s.api_base));
    if let Some(session) = session {
        request = request
            .header("cookie", &session.cookie)
            .header("x-rollcall-csrf", &session.csrf);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        set_cookie,
        text,
    }
}

pub(crate) async fn get(s: &TestServer, path: &str, session: &Session) -> Answer {
    send(s, Method::GET, path, Some(session), None).await
}

/// The session a successful sign-in or setup answer opened.
pub(crate) fn opened(answer: &Answer) -> Session {
    assert_eq!(answer.status, 200, "{}", answer.text);
    let set_cookie = answer.set_cookie.clone().expect("a session cookie is set");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(part), "{set_cookie}");
    }
    Session {
        cookie: set_cookie.split(';').next().unwrap().to_string(),
        csrf: answer.body["csrfToken"].as_str().unwrap().to_string(),
    }
}

pub(crate) async fn sign_in(s: &TestServer, username: &str, password: &str) -> Answer {
    send(
        s,
        Method::POST,
        "/api/sign-in",
        None,
        Some(json!({ "username": username, "password": password })),
    )
    .await
}

pub(crate) async fn set_up(s: &TestServer) -> Session {
    let answer = send(
        s,
        Method::POST,
        "/api/setup",
        None,
        Some(json!({
            "setupKey": s.token, "username": "Head", "displayName": "The Head",
            "password": ADMIN_PASSWORD
        })),
    )
    .await;
    opened(&answer)
}

pub(crate) async fn add_person(
    s: &TestServer,
    admin: &Session,
    username: &str,
    role: &str,
    schools: Option<&[&str]>,
) -> i64 {
    let answer = send(
        s,
        Method::POST,
        "/api/people",
        Some(admin),
        Some(json!({
            "username": username, "displayName": username, "role": role,
            "schools": schools, "password": PASSWORD
        })),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["id"].as_i64().unwrap()
}

/// A signed ATTENDANCE_CREATED of `tenant` for record `id`.
fn created_for(tenant: &str, id: i64) -> Value {
    let request_id = new_id();
    json!({
        "id": request_id, "data": record(id, 1, ""), "type": "ATTENDANCE_CREATED",
        "tenant": tenant, "signature": key().sign(&request_id), "timestamp": now_ms() - 1000,
    })
}

async fn deliver(s: &TestServer, tenant: &str, id: i64) {
    let (status, body) = s.post(&created_for(tenant, id)).await;
    assert_eq!(status, 200, "{body}");
}

fn tenants_of(list: &Value) -> Vec<String> {
    let mut tenants: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["tenant"].as_str().unwrap().to_string())
        .collect();
    tenants.dedup();
    tenants
}

#[tokio::test]
async fn the_first_administrator_is_made_once_with_the_setup_key() {
    let s = TestServer::start_with(signing_in).await;
    let nobody = send(&s, Method::GET, "/api/changes", None, None).await;
    assert_eq!(nobody.status, 401);
    assert_eq!(nobody.body["error"], "sign_in_required");
    let session = send(&s, Method::GET, "/api/session", None, None).await;
    assert_eq!(session.body["mode"], "accounts");
    assert_eq!(session.body["needsSetup"], true);
    assert_eq!(session.body["signedIn"], false);

    let wrong_key = send(
        &s,
        Method::POST,
        "/api/setup",
        None,
        Some(json!({
            "setupKey": "guessed", "username": "x", "displayName": "X", "password": ADMIN_PASSWORD
        })),
    )
    .await;
    assert_eq!(wrong_key.status, 403);
    assert_eq!(wrong_key.body["error"], "setup_key_invalid");

    let admin = set_up(&s).await;
    let me = get(&s, "/api/session", &admin).await;
    assert_eq!(me.body["signedIn"], true);
    assert_eq!(
        me.body["person"]["username"], "head",
        "usernames are kept in lower case"
    );
    assert_eq!(me.body["person"]["role"], "administrator");
    assert_eq!(me.body["csrfToken"], admin.csrf.as_str());

    let again = send(
        &s,
        Method::POST,
        "/api/setup",
        None,
        Some(json!({
            "setupKey": s.token, "username": "intruder", "displayName": "I",
            "password": "another long password"
        })),
    )
    .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["error"], "already_set_up");
    let people = get(&s, "/api/people", &admin).await;
    assert_eq!(people.body["people"].as_array().unwrap().len(), 1);
    assert!(
        !people.text.contains("argon2"),
        "no password hash ever leaves the server"
    );
}

#[tokio::test]
async fn a_person_sees_only_their_schools_through_every_route_the_stream_and_exports() {
    let s = TestServer::start_with(signing_in).await;
    let admin = set_up(&s).await;
    add_person(&s, &admin, "anna", "staff", Some(&["north"])).await;
    for (tenant, id) in [("north", 1), ("south", 2), ("north", 3)] {
        deliver(&s, tenant, id).await;
    }
    let anna = opened(&sign_in(&s, "anna", PASSWORD).await);

    let latest = get(&s, "/api/changes/latest", &anna).await;
    assert_eq!(tenants_of(&latest.body["changes"]), ["north"]);
    assert_eq!(latest.body["changes"].as_array().unwrap().len(), 2);
    let after = get(&s, "/api/changes?after=0", &anna).await;
    assert_eq!(tenants_of(&after.body["changes"]), ["north"]);
    let records = get(&s, "/api/attendance", &anna).await;
    assert_eq!(tenants_of(&records.body["records"]), ["north"]);
    let theirs = get(&s, "/api/records/south/2/history", &anna).await;
    assert_eq!(
        theirs.status, 404,
        "another school's record is not there for her"
    );
    let ours = get(&s, "/api/records/north/1/history", &anna).await;
    assert_eq!(ours.status, 200);
    // Asking for the other school by name or by id finds nothing either.
    for path in [
        "/api/changes/latest?tenant=south",
        "/api/changes?after=0&attendanceId=2",
        "/api/attendance?tenant=south",
        "/api/attendance?attendanceId=2",
    ] {
        let answer = get(&s, path, &anna).await;
        assert_eq!(answer.status, 200, "{path}");
        let list = answer
            .body
            .get("changes")
            .or(answer.body.get("records"))
            .unwrap();
        assert_eq!(list.as_array().unwrap().len(), 0, "{path}: {}", answer.text);
    }
    let asked = get(&s, "/api/export/changes.csv?tenant=south", &anna).await;
    assert_eq!(
        asked.text.lines().count(),
        1,
        "only the header: {}",
        asked.text
    );
    let board = get(&s, "/api/board?date=2025-06-19", &anna).await;
    assert_eq!(board.status, 200);
    assert_eq!(board.body["byClass"][0]["total"], 2, "{}", board.text);
    let whole = get(&s, "/api/board?date=2025-06-19", &admin).await;
    assert_eq!(whole.body["byClass"][0]["total"], 3, "{}", whole.text);
    let status = get(&s, "/api/status", &anna).await;
    assert_eq!(status.body["deliveryCounts"], json!({}), "{}", status.text);
    let everyone = get(&s, "/api/status", &admin).await;
    assert_eq!(everyone.body["deliveryCounts"]["applied"], 3);

    let export = get(&s, "/api/export/attendance.csv", &anna).await;
    assert_eq!(export.status, 200, "{}", export.text);
    let rows = export.text.lines().count() - 1;
    assert_eq!(rows, 2, "only north's records: {}", export.text);
    let all = get(&s, "/api/export/attendance.csv", &admin).await;
    assert_eq!(all.text.lines().count() - 1, 3);
    let summary = get(
        &s,
        "/api/reports/summary?from=2025-06-01&to=2025-06-30",
        &anna,
    )
    .await;
    assert_eq!(summary.status, 200, "{}", summary.text);

    // Live: a south change is passed over, the north one after it arrives.
    let mut stream = s
        .http
        .get(format!("{}/api/stream", s.api_base))
        .header("cookie", &anna.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    deliver(&s, "south", 4).await;
    deliver(&s, "north", 5).await;
    let mut seen = String::new();
    while !seen.contains("\"attendanceId\":5") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("the north change arrives")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        seen.contains("\"attendanceId\":1"),
        "caught up first: {seen}"
    );
    assert!(!seen.contains("\"south\""), "nothing of south: {seen}");
}

/// Every route a staff member may read, and the exports of every kind: none of them may give
/// a staff member of north anything of another school, whatever is asked for.
const READ_ROUTES: [&str; 22] = [
    "/api/status",
    "/api/session",
    "/api/changes?after=0",
    "/api/changes/latest",
    "/api/changes/latest?tenant=southridge",
    "/api/attendance",
    "/api/attendance?tenant=southridge&attendanceId=2",
    "/api/records/southridge/2/history",
    "/api/board?date=2025-06-19",
    "/api/board?date=2025-06-19&tenant=southridge",
    "/api/reference",
    "/api/dreamclass",
    "/api/settings",
    "/api/schools",
    "/api/reports/summary?from=2025-06-01&to=2025-06-30",
    "/api/reports/summary?from=2025-06-01&to=2025-06-30&tenant=southridge",
    "/api/alerts",
    "/api/reports/not-taken?date=2025-06-26",
    "/api/export/attendance.csv?includeDeleted=true",
    "/api/export/changes.csv?tenant=southridge",
    "/api/export/students.csv?from=2025-06-01&to=2025-06-30",
    "/api/export/classes.csv?from=2025-06-01&to=2025-06-30",
];

#[tokio::test]
async fn nothing_of_another_school_reaches_staff_through_any_route_or_export() {
    let s = TestServer::start_with(signing_in).await;
    let admin = set_up(&s).await;
    add_person(&s, &admin, "anna", "staff", Some(&["north"])).await;
    // The same record id in both schools, and one of south's own.
    for (tenant, id) in [("north", 1), ("southridge", 1), ("southridge", 2)] {
        deliver(&s, tenant, id).await;
    }
    // The same class id named in both schools (names are per school): north's staff must
    // get north's name only.
    for (tenant, name) in [
        ("north", "Year 7 North"),
        ("southridge", "Year 7 Southridge"),
    ] {
        let request_id = new_id();
        let (status, body) = s
            .post(&json!({
                "id": request_id, "data": {"id": 34, "name": name}, "type": "CLASS_UPDATED",
                "tenant": tenant, "signature": key().sign(&request_id), "timestamp": now_ms(),
            }))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !get(&s, "/api/reference", &admin)
        .await
        .text
        .contains("Year 7 Southridge")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the class names arrive"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let anna = opened(&sign_in(&s, "anna", PASSWORD).await);
    let names = get(&s, "/api/reference", &anna).await;
    assert_eq!(
        names.body["classes"],
        json!([{"tenant": "north", "id": 34, "name": "Year 7 North"}]),
        "{}",
        names.text
    );
    let more_exports = [
        "/api/export/courses.csv?from=2025-06-01&to=2025-06-30",
        "/api/export/lessons-not-taken.csv?date=2025-06-26",
    ];
    let mut leaked_to_admin = 0;
    for path in READ_ROUTES.iter().chain(&more_exports) {
        let theirs = get(&s, path, &anna).await;
        assert!(
            matches!(theirs.status, 200 | 404),
            "{path}: {} {}",
            theirs.status,
            theirs.text
        );
        assert!(
            !theirs.text.contains("southridge"),
            "{path} shows another school to north's staff: {}",
            theirs.text
        );
        // The test could tell: an administrator of every school sees south in the data.
        if get(&s, path, &admin).await.text.contains("southridge") {
            leaked_to_admin += 1;
        }
    }
    assert!(
        leaked_to_admin >= 12,
        "south's rows are in most answers for an administrator ({leaked_to_admin})"
    );
    // An administrator who picks one school gets that school only, and the file says which.
    let board = get(&s, "/api/board?date=2025-06-19&tenant=north", &admin).await;
    assert_eq!(board.body["byClass"][0]["total"], 1, "{}", board.text);
    let alerts = get(&s, "/api/alerts?date=2025-06-19&tenant=north", &admin).await;
    assert!(!alerts.text.contains("southridge"), "{}", alerts.text);
    let export = s
        .http
        .get(format!(
            "{}/api/export/attendance.csv?tenant=north",
            s.api_base
        ))
        .header("cookie", &admin.cookie)
        .send()
        .await
        .unwrap();
    let named = export.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(named.contains("rollcall-attendance-north"), "{named}");
    let rows = export.text().await.unwrap();
    assert_eq!(rows.lines().count(), 2, "north's one record: {rows}");
    // The routes of administrators only are refused to her with a sentence, not emptied.
    for path in [
        "/api/deliveries",
        "/api/forwarding",
        "/api/settings/digest",
        "/api/settings/reports",
        "/api/settings/tunnel",
        "/api/backup",
        "/api/people",
        "/api/audit",
    ] {
        let refused = get(&s, path, &anna).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.text);
        assert_eq!(refused.body["error"], "role_required", "{path}");
        assert!(
            refused.body["message"]
                .as_str()
                .is_some_and(|m| m.contains("an administrator")),
            "{path}: {}",
            refused.text
        );
    }
}

#[tokio::test]
async fn each_role_is_refused_what_it_may_not_do_with_a_sentence() {
    let s = TestServer::start_with(signing_in).await;
    let admin = set_up(&s).await;
    add_person(&s, &admin, "victor", "viewer", None).await;
    add_person(&s, &admin, "sam", "staff", None).await;
    let victor = opened(&sign_in(&s, "victor", PASSWORD).await);
    let sam = opened(&sign_in(&s, "sam", PASSWORD).await);

    let export = get(&s, "/api/export/attendance.csv", &victor).await;
    assert_eq!(export.status, 403);
    assert_eq!(export.body["error"], "role_required");
    let message = export.body["message"].as_str().unwrap();
    assert!(
        message.contains("a viewer") && message.contains("a staff member"),
        "{message}"
    );
    assert_eq!(get(&s, "/api/changes/latest", &victor).await.status, 200);
    assert_eq!(
        get(&s, "/api/export/attendance.csv", &sam).await.status,
        200
    );
    for who in [&victor, &sam] {
        for path in [
            "/api/deliveries",
            "/api/people",
            "/api/audit",
            "/api/backup",
        ] {
            assert_eq!(get(&s, path, who).await.status, 403, "{path}");
        }
        let change = send(
            &s,
            Method::PUT,
            "/api/settings/retention",
            Some(who),
            Some(json!({ "days": 30 })),
        )
        .await;
        assert_eq!(change.status, 403, "{}", change.text);
        assert_eq!(change.body["error"], "role_required");
    }
    let people = send(
        &s,
        Method::POST,
        "/api/people",
        Some(&sam),
        Some(json!({
            "username": "eve", "displayName": "Eve", "role": "administrator",
            "password": "a long enough one"
        })),
    )
    .await;
    assert_eq!(people.status, 403, "staff cannot make administrators");
    let list = get(&s, "/api/people", &admin).await;
    assert_eq!(list.body["people"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_change_without_the_sessions_csrf_token_or_from_another_site_is_not_made() {
    let s = TestServer::start_with(signing_in).await;
    let admin = set_up(&s).await;
    let forged = Session {
        csrf: "not the token".into(),
        ..admin.clone()
    };
    let body = json!({
        "username": "mallory", "displayName": "M", "role": "administrator",
        "password": "a long enough one"
    });
    let refused = send(
        &s,
        Method::POST,
        "/api/people",
        Some(&forged),
        Some(body.clone()),
    )
    .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["error"], "csrf_invalid");
    let missing = s
        .http
        .post(format!("{}/api/people", s.api_base))
        .header("cookie", &admin.cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 403);
    let cross_site = s
        .http
        .post(format!("{}/api/people", s.api_base))
        .header("cookie", &admin.cookie)
        .header("x-rollcall-csrf", &admin.csrf)
        .header("origin", "https://attacker.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let list = get(&s, "/api/people", &admin).await;
    assert_eq!(
        list.body["people"].as_array().unwrap().len(),
        1,
        "nobody added"
    );
    let same_site = s
        .http
        .post(format!("{}/api/people", s.api_base))
        .header("cookie", &admin.cookie)
        .header("x-rollcall-csrf", &admin.csrf)
        .header("origin", &s.api_base)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), 201, "the page's own origin is fine");
}

#[tokio::test]
async fn sessions_end_at_sign_out_at_expiry_and_are_never_planted_or_forged() {
    let s = TestServer::start_with(|dir| {
        with_sign_in(
            dir,
            SignInConfig {
                session_length: Duration::from_secs(2),
                ..SignInConfig::default()
            },
        )
    })
    .await;
    let admin = set_up(&s).await;
    add_person(&s, &admin, "anna", "staff", None).await;

    // A token planted in the browser before sign-in is replaced, and opens nothing.
    let planted = "A".repeat(43);
    let answer = send(
        &s,
        Method::POST,
        "/api/sign-in",
        Some(&Session {
            cookie: format!("rollcall_session={planted}"),
            csrf: String::new(),
        }),
        Some(json!({ "username": "anna", "password": PASSWORD })),
    )
    .await;
    let anna = opened(&answer);
    assert!(!anna.cookie.contains(&planted));
    for cookie in [
        format!("rollcall_session={planted}"),
        "rollcall_session=forged' OR 1=1".into(),
        format!("rollcall_session={}", "B".repeat(43)),
        String::new(),
    ] {
        let forged = Session {
            cookie,
            csrf: anna.csrf.clone(),
        };
        let refused = get(&s, "/api/changes/latest", &forged).await;
        assert_eq!(refused.status, 401, "{:?}", forged.cookie);
        assert_eq!(refused.body["error"], "sign_in_required");
    }
    assert_eq!(get(&s, "/api/changes/latest", &anna).await.status, 200);

    let out = send(&s, Method::POST, "/api/sign-out", Some(&anna), None).await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
    assert_eq!(get(&s, "/api/changes/latest", &anna).await.status, 401);

    let again = opened(&sign_in(&s, "anna", PASSWORD).await);
    assert_eq!(get(&s, "/api/changes/latest", &again).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let expired = get(&s, "/api/changes/latest", &again).await;
    assert_eq!(expired.status, 401, "the session has expired");
    let token = again.cookie.trim_start_matches("rollcall_session=");
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE token_hash = '{token}'"
        )),
        0,
        "tokens are stored hashed"
    );
    assert!(s.count("SELECT COUNT(*) FROM sessions WHERE length(token_hash) = 64") >= 1);
}

#[tokio::test]
async fn wrong_passwords_lock_an_account_until_an_administrator_sets_a_new_one() {
    let s = TestServer::start_with(|dir| {
        with_sign_in(
            dir,
            SignInConfig {
                lock_after: 3,
                ..SignInConfig::default()
            },
        )
    })
    .await;
    let admin = set_up(&s).await;
    let anna_id = add_person(&s, &admin, "anna", "staff", None).await;
    let before = opened(&sign_in(&s, "anna", PASSWORD).await);

    let unknown = sign_in(&s, "nobody", PASSWORD).await;
    assert_eq!(unknown.status, 401);
    let first = sign_in(&s, "anna", "wrong password one").await;
    assert_eq!(first.status, 401);
    assert_eq!(first.body["error"], "sign_in_failed");
    assert_eq!(
        unknown.body["message"], first.body["message"],
        "the answer does not tell which usernames exist"
    );
    assert_eq!(sign_in(&s, "anna", "wrong password two").await.status, 401);
    let third = sign_in(&s, "anna", "wrong password three").await;
    assert_eq!(third.status, 429);
    assert_eq!(third.body["error"], "account_locked");
    assert!(
        third.body["message"]
            .as_str()
            .unwrap()
            .contains("15 more minutes"),
        "{}",
        third.text
    );
    let right_but_locked = sign_in(&s, "anna", PASSWORD).await;
    assert_eq!(
        right_but_locked.status, 429,
        "locked, even with the password"
    );

    let reset = send(
        &s,
        Method::POST,
        &format!("/api/people/{anna_id}/password"),
        Some(&admin),
        Some(json!({ "password": "a brand new password" })),
    )
    .await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(
        get(&s, "/api/changes/latest", &before).await.status,
        401,
        "a new password ends the sessions the old one opened"
    );
    opened(&sign_in(&s, "anna", "a brand new password").await);

    let audit = get(&s, "/api/audit", &admin).await;
    let lines: Vec<String> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {} {}", e["who"], e["action"], e["detail"]))
        .collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        has("\"anna\" \"sign_in_refused\" \"wrong password\""),
        "{lines:#?}"
    );
    assert!(has("\"nobody\" \"sign_in_refused\""), "{lines:#?}");
    assert!(has(
        "\"head\" \"changed\" \"POST /api/people: added anna as a staff member"
    ));
    assert!(has("new password for anna"), "{lines:#?}");
    assert!(has("\"anna\" \"sign_in\""), "{lines:#?}");
}

#[tokio::test]
async fn sign_in_attempts_from_one_address_are_limited() {
    let s = TestServer::start_with(|dir| {
        with_sign_in(
            dir,
            SignInConfig {
                attempts_per_minute: 3,
                ..SignInConfig::default()
            },
        )
    })
    .await;
    for _ in 0..3 {
        assert_eq!(sign_in(&s, "anyone", "some password").await.status, 401);
    }
    let limited = sign_in(&s, "anyone", "some password").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["error"], "too_many_attempts");
    assert!(limited.body["message"]
        .as_str()
        .unwrap()
        .contains("seconds"));
}

#[tokio::test]
async fn disabling_a_person_ends_their_sessions_and_the_last_administrator_stays() {
    let s = TestServer::start_with(signing_in).await;
    let admin = set_up(&s).await;
    let anna_id = add_person(&s, &admin, "anna", "staff", Some(&["north"])).await;
    let anna = opened(&sign_in(&s, "anna", PASSWORD).await);
    let people = get(&s, "/api/people", &admin).await;
    let head_id = people.body["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["username"] == "head")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let demote_self = send(
        &s,
        Method::PUT,
        &format!("/api/people/{head_id}"),
        Some(&admin),
        Some(json!({ "displayName": "The Head", "role": "viewer", "disabled": false })),
    )
    .await;
    assert_eq!(demote_self.status, 409);
    assert_eq!(demote_self.body["error"], "last_administrator");

    let disable = send(
        &s,
        Method::PUT,
        &format!("/api/people/{anna_id}"),
        Some(&admin),
        Some(json!({
            "displayName": "Anna", "role": "staff", "schools": ["north"], "disabled": true
        })),
    )
    .await;
    assert_eq!(disable.status, 200, "{}", disable.text);
    assert_eq!(disable.body["disabled"], true);
    assert_eq!(get(&s, "/api/changes/latest", &anna).await.status, 401);
    assert_eq!(sign_in(&s, "anna", PASSWORD).await.status, 401);
}

#[tokio::test]
async fn the_office_pc_keeps_its_link_and_has_no_sign_in() {
    let s = TestServer::start().await;
    let session = s.api("/api/session").await;
    assert_eq!(session["mode"], "token");
    let (status, body) = s
        .call(
            Method::POST,
            "/api/sign-in",
            json!({ "username": "a", "password": "b" }),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "sign_in_not_used");
    assert_eq!(s.get("/api/changes/latest").await.status(), 200);
}

#[tokio::test]
async fn with_sign_in_this_computers_token_still_opens_the_api_from_loopback() {
    let s = TestServer::start_with(signing_in).await;
    // The desktop window on the server itself holds this run's token.
    assert_eq!(s.get("/api/changes/latest").await.status(), 200);
}

#[tokio::test]
async fn a_live_stream_ends_when_an_administrator_changes_the_persons_schools() {
    let s = TestServer::start_with(signing_in).await;
    let admin = set_up(&s).await;
    let id = add_person(&s, &admin, "anna", "staff", Some(&["north"])).await;
    let anna = opened(&sign_in(&s, "anna", PASSWORD).await);
    let mut stream = s
        .http
        .get(format!("{}/api/stream", s.api_base))
        .header("cookie", &anna.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let moved = send(
        &s,
        Method::PUT,
        &format!("/api/people/{id}"),
        Some(&admin),
        Some(json!({ "displayName": "anna", "role": "staff", "schools": ["south"], "disabled": false })),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    // North's changes must stop reaching her: the stream ends at once (well before its
    // periodic look at the session, every 30 s), and a new one sees South.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream went on with the old schools");
    let now = get(&s, "/api/session", &anna).await;
    assert_eq!(now.body["person"]["schools"], json!(["south"]));
}
