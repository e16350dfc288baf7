//! A Rollcall that shows a server's attendance (`--viewer-of`): a real server with sign-in on
//! 127.0.0.1, a real viewer beside it with its own SQLite copy. The viewer signs in through
//! its own local API, copies what was there, follows new changes live, keeps showing its
//! copy while the server is stopped, and catches up after: the same changes with the same
//! sequence numbers as the server's, none missing, none twice.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use rollcall_core::store::DATABASE_FILE;
use rollcall_server::auth::SignInConfig;
use rollcall_server::viewer::ViewerConfig;
use rollcall_server::ServerConfig;
use serde_json::{json, Value};

use crate::sign_in::{
    add_person, get, opened, send, set_up, sign_in, with_sign_in, Session, ADMIN_PASSWORD, PASSWORD,
};
use crate::support::{key, new_id, now_ms, record, SseReader, TestServer};

fn viewer_of(server: &str) -> impl FnOnce(&Path) -> ServerConfig + '_ {
    move |dir| {
        let mut config = ServerConfig::new(dir.to_path_buf());
        config.ui_addr = "127.0.0.1:0".parse().unwrap();
        config.viewer = Some(ViewerConfig::parse(server).unwrap());
        config
    }
}

fn created_for(tenant: &str, id: i64, status: i64) -> Value {
    let request_id = new_id();
    json!({
        "id": request_id, "data": record(id, status, "late bus"), "type": "ATTENDANCE_CREATED",
        "tenant": tenant, "signature": key().sign(&request_id), "timestamp": now_ms() - 1000,
    })
}

async fn deliver(server: &TestServer, tenant: &str, id: i64) {
    let (status, body) = server.post(&created_for(tenant, id, 1)).await;
    assert_eq!(status, 200, "{body}");
}

async fn viewer_state(viewer: &TestServer) -> Value {
    viewer.api("/api/status").await["viewer"].clone()
}

/// Waits up to 20 s for the viewer's state to satisfy `wanted`.
async fn until_viewer(viewer: &TestServer, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    until_viewer_within(viewer, 20, what, wanted).await
}

async fn until_viewer_within(
    viewer: &TestServer,
    seconds: u64,
    what: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..seconds * 10 {
        let state = viewer_state(viewer).await;
        if wanted(&state) {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the viewer never got {what}: {}",
        viewer_state(viewer).await
    );
}

/// The whole change log as the server shows it to `session`, oldest first.
async fn server_changes(server: &TestServer, session: &Session) -> Vec<Value> {
    let answer = get(server, "/api/changes?after=0&limit=5000", session).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["changes"].as_array().unwrap().clone()
}

async fn viewer_changes(viewer: &TestServer) -> Vec<Value> {
    viewer.api("/api/changes?after=0&limit=5000").await["changes"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits up to 20 s until the viewer's copy holds exactly `expected`.
async fn until_copied(viewer: &TestServer, expected: &[Value]) {
    for _ in 0..200 {
        if viewer_changes(viewer).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(viewer_changes(viewer).await, expected, "the copy differs");
}

async fn sign_in_viewer(viewer: &TestServer, username: &str, password: &str) -> (u16, Value) {
    viewer
        .call(
            Method::POST,
            "/api/viewer/sign-in",
            json!({ "username": username, "password": password }),
        )
        .await
}

/// The launch options of a start in `dir`, with the connection Connect saved there.
fn saved_options(dir: &Path) -> rollcall_server::launch::LaunchOptions {
    rollcall_server::launch::LaunchOptions {
        data_dir: Some(dir.to_path_buf()),
        ..Default::default()
    }
    .with_saved_server()
}

/// Rollcall started as the next start in `dir` would be: the viewer its saved connection
/// chose, its interface on a free port.
async fn start_saved_viewer(dir: &Path) -> TestServer {
    let mut config = saved_options(dir).resolve(&Default::default()).unwrap();
    config.ui_addr = "127.0.0.1:0".parse().unwrap();
    TestServer::start_in(tempfile::tempdir().unwrap(), config).await
}

async fn restart_on(dir: tempfile::TempDir, ui_addr: SocketAddr) -> TestServer {
    let mut config = with_sign_in(dir.path(), SignInConfig::default());
    config.ui_addr = ui_addr;
    TestServer::start_in(dir, config).await
}

#[tokio::test]
async fn a_viewer_copies_the_server_follows_it_live_keeps_its_copy_while_it_is_down_and_catches_up()
{
    let server = TestServer::start_with(|dir| with_sign_in(dir, SignInConfig::default())).await;
    let server_addr: SocketAddr = server
        .api_base
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let admin = set_up(&server).await;
    add_person(&server, &admin, "secretary", "staff", None).await;
    for id in 1..=3 {
        deliver(&server, "north", id).await;
    }

    let viewer = TestServer::start_with(viewer_of(&server.api_base)).await;
    let state = viewer_state(&viewer).await;
    assert_eq!(state["connection"], "signInNeeded", "{state}");
    assert!(state["message"]
        .as_str()
        .unwrap()
        .starts_with("Sign in to http://127.0.0.1"));
    assert_eq!(viewer.count("SELECT COUNT(*) FROM changes"), 0);

    let (code, wrong) = sign_in_viewer(&viewer, "secretary", "not the password").await;
    assert_eq!(code, 422, "{wrong}");
    assert_eq!(wrong["error"], "server_refused_sign_in");
    assert!(
        wrong["message"].as_str().unwrap().contains("password"),
        "the server's own sentence: {wrong}"
    );
    let (code, connecting) = sign_in_viewer(&viewer, "Secretary", PASSWORD).await;
    assert_eq!(code, 200, "{connecting}");
    assert_eq!(connecting["signedInAs"], "secretary");
    assert!(
        !std::fs::read_to_string(viewer.dir.path().join("viewer-session.json"))
            .unwrap()
            .contains(PASSWORD),
        "the password is never kept"
    );

    // What was there: the same changes, the same numbers.
    let expected = server_changes(&server, &admin).await;
    assert_eq!(expected.len(), 3);
    until_copied(&viewer, &expected).await;
    let live = until_viewer(&viewer, "live", |s| s["connection"] == "live").await;
    assert!(live["lastContactAt"].as_i64().is_some(), "{live}");

    // New changes reach the viewer's own stream.
    let mut stream = SseReader::open(&viewer, "?after=3", None).await;
    deliver(&server, "north", 4).await;
    let arrived = stream.next_change().await;
    let expected = server_changes(&server, &admin).await;
    assert_eq!(arrived, expected[3]);
    assert_eq!(
        viewer.api("/api/attendance").await["records"],
        get(&server, "/api/attendance", &admin).await.body["records"],
        "the records as the server has them"
    );

    // The server stops: the viewer says so, and its copy still answers.
    let dir = server.stop().await;
    // First "closed the connection", then, the server still gone, "cannot reach".
    let offline = until_viewer(&viewer, "offline", |s| {
        s["connection"] == "offline" && s["message"].as_str().unwrap().contains("cannot reach")
    })
    .await;
    let message = offline["message"].as_str().unwrap();
    assert!(message.contains("cannot reach"), "{message}");
    assert!(message.contains("copy kept on this computer"), "{message}");
    assert!(offline["lastContactAt"].as_i64().unwrap() <= now_ms());
    assert_eq!(viewer_changes(&viewer).await, expected);
    let export = viewer.get("/api/export/attendance.csv").await;
    assert_eq!(export.status(), 200);
    assert_eq!(export.text().await.unwrap().lines().count(), 1 + 4);

    // Back, with changes made meanwhile: caught up, nothing missing, nothing twice.
    let server = restart_on(dir, server_addr).await;
    for id in 5..=7 {
        deliver(&server, "north", id).await;
    }
    let correction = new_id();
    let (status, body) = server
        .post(&json!({
            "id": correction, "data": record(5, 2, "corrected"), "type": "ATTENDANCE_UPDATED",
            "tenant": "north", "signature": key().sign(&correction), "timestamp": now_ms(),
        }))
        .await;
    assert_eq!(status, 200, "{body}");
    let admin = sign_in_again(&server).await;
    let expected = server_changes(&server, &admin).await;
    assert_eq!(expected.len(), 8);
    until_copied(&viewer, &expected).await;
    let corrected = viewer.api("/api/attendance").await["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["attendanceId"] == 5)
        .cloned()
        .unwrap();
    assert_eq!(
        (
            corrected["statusId"].as_i64(),
            corrected["comment"].as_str()
        ),
        (Some(2), Some("corrected"))
    );
    until_viewer(&viewer, "live again", |s| s["connection"] == "live").await;
    let seqs: Vec<i64> = viewer_changes(&viewer)
        .await
        .iter()
        .map(|c| c["seq"].as_i64().unwrap())
        .collect();
    let mut unique = seqs.clone();
    unique.dedup();
    assert_eq!(seqs, unique, "no change twice");

    // The viewer restarts: its session is kept, and it catches up by itself.
    let viewer_addr: SocketAddr = viewer
        .api_base
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let viewer_dir = viewer.stop().await;
    deliver(&server, "north", 8).await;
    let expected = server_changes(&server, &admin).await;
    let mut config = viewer_of(&server.api_base)(viewer_dir.path());
    config.ui_addr = viewer_addr;
    let viewer = TestServer::start_in(viewer_dir, config).await;
    until_copied(&viewer, &expected).await;
    let state = viewer_state(&viewer).await;
    assert_eq!(state["signedInAs"], "secretary", "{state}");

    // Started again while the server is down: the copy, and how old it is, from the start.
    let viewer_dir = viewer.stop().await;
    server.stop().await;
    let mut config = viewer_of(&format!("http://{server_addr}"))(viewer_dir.path());
    config.ui_addr = viewer_addr;
    let viewer = TestServer::start_in(viewer_dir, config).await;
    let state = until_viewer(&viewer, "offline after a restart", |s| {
        s["connection"] == "offline"
    })
    .await;
    let age = state["lastContactAt"]
        .as_i64()
        .expect("the copy's age is kept");
    assert!(age <= now_ms() && age > now_ms() - 120_000, "{state}");
    assert_eq!(viewer_changes(&viewer).await, expected);
    viewer.stop().await;
}

async fn sign_in_again(server: &TestServer) -> Session {
    opened(&sign_in(server, "head", ADMIN_PASSWORD).await)
}

#[tokio::test]
async fn a_viewer_copies_only_the_schools_its_person_sees_and_starts_afresh_for_another_person() {
    let server = TestServer::start_with(|dir| with_sign_in(dir, SignInConfig::default())).await;
    let admin = set_up(&server).await;
    add_person(&server, &admin, "north-office", "viewer", Some(&["north"])).await;
    add_person(&server, &admin, "south-office", "viewer", Some(&["south"])).await;
    for id in 1..=3 {
        deliver(&server, "north", id).await;
        deliver(&server, "south", 100 + id).await;
    }
    let viewer = TestServer::start_with(viewer_of(&server.api_base)).await;
    let tenants = |changes: &[Value]| {
        let mut t: Vec<String> = changes
            .iter()
            .map(|c| c["tenant"].as_str().unwrap().to_string())
            .collect();
        t.dedup();
        t
    };

    let (code, _) = sign_in_viewer(&viewer, "north-office", PASSWORD).await;
    assert_eq!(code, 200);
    until_viewer(&viewer, "live", |s| s["connection"] == "live").await;
    let north = viewer_changes(&viewer).await;
    assert_eq!(north.len(), 3);
    assert_eq!(tenants(&north), ["north"]);

    // Another person on the same computer: nothing of the first one's schools stays.
    let (code, state) = viewer
        .call(Method::POST, "/api/viewer/sign-out", json!({}))
        .await;
    assert_eq!(code, 200);
    assert_eq!(state["connection"], "signInNeeded");
    assert!(
        !viewer.dir.path().join("viewer-session.json").exists(),
        "the session is forgotten"
    );
    // And ended on the server (a change there carries the session's CSRF token).
    let audit = get(&server, "/api/audit", &admin).await;
    let ended = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["who"] == "north-office" && e["action"] == "sign_out");
    assert!(
        ended,
        "the server ended the viewer's session: {}",
        audit.text
    );
    let (code, _) = sign_in_viewer(&viewer, "south-office", PASSWORD).await;
    assert_eq!(code, 200);
    let mut south = Vec::new();
    for _ in 0..200 {
        south = viewer_changes(&viewer).await;
        if south.len() == 3 && tenants(&south) == ["south"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(tenants(&south), ["south"], "{south:?}");
    assert_eq!(south.len(), 3);
    server.stop().await;
    viewer.stop().await;
}

#[tokio::test]
async fn a_viewer_whose_session_ends_on_the_server_asks_for_a_sign_in_and_keeps_its_copy() {
    let server = TestServer::start_with(|dir| {
        with_sign_in(
            dir,
            SignInConfig {
                session_length: Duration::from_secs(2),
                ..SignInConfig::default()
            },
        )
    })
    .await;
    let admin = set_up(&server).await;
    add_person(&server, &admin, "secretary", "staff", None).await;
    deliver(&server, "north", 1).await;
    let viewer = TestServer::start_with(viewer_of(&server.api_base)).await;
    let (code, _) = sign_in_viewer(&viewer, "secretary", PASSWORD).await;
    assert_eq!(code, 200);
    until_viewer(&viewer, "live", |s| s["connection"] == "live").await;
    // The server looks at a live stream's session every 30 s.
    let state = until_viewer_within(&viewer, 45, "a sign-in asked for", |s| {
        s["connection"] == "signInNeeded"
    })
    .await;
    let message = state["message"].as_str().unwrap();
    assert!(message.contains("Sign in again"), "{message}");
    assert_eq!(state["signedInAs"], Value::Null);
    assert_eq!(viewer_changes(&viewer).await.len(), 1, "the copy stays");
    server.stop().await;
    viewer.stop().await;
}

#[tokio::test]
async fn a_viewer_of_an_address_where_no_server_runs_says_so_when_signing_in() {
    let nothing = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", nothing.local_addr().unwrap());
    drop(nothing);
    let viewer = TestServer::start_with(viewer_of(&address)).await;
    let (code, answer) = sign_in_viewer(&viewer, "secretary", PASSWORD).await;
    assert_eq!(code, 502, "{answer}");
    assert_eq!(answer["error"], "server_unreachable");
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("does not answer"), "{message}");
    viewer.stop().await;
}

#[tokio::test]
async fn an_office_computer_connects_to_a_server_from_the_window_and_stops_viewing_again() {
    let district = TestServer::start_with(|dir| with_sign_in(dir, SignInConfig::default())).await;
    let another_office = TestServer::start().await;
    let office = TestServer::start().await;
    let mut restart = office.server.as_ref().unwrap().state().restart_requested();
    assert!(!*restart.borrow());

    let connect = |server: String| {
        let office = &office;
        async move {
            office
                .call(
                    Method::POST,
                    "/api/viewer/connect",
                    json!({ "server": server }),
                )
                .await
        }
    };
    let (code, answer) = connect("not an address at all".into()).await;
    assert_eq!(code, 400, "{answer}");
    let (code, answer) = connect(office.api_base.clone()).await;
    assert_eq!(code, 400, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("own address"));
    let (code, answer) = connect(another_office.api_base.clone()).await;
    assert_eq!(code, 422, "{answer}");
    assert_eq!(answer["error"], "not_a_rollcall_server");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("office computer's own"));
    assert!(
        !office.dir.path().join("viewer-of").exists(),
        "nothing saved"
    );
    assert!(!*restart.borrow(), "no restart for a refusal");

    let (code, answer) = connect(district.api_base.clone()).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["restarting"], true, "{answer}");
    restart.wait_for(|asked| *asked).await.unwrap();
    let saved = std::fs::read_to_string(office.dir.path().join("viewer-of")).unwrap();
    assert_eq!(saved, format!("{}/\n", district.api_base));

    // The next start is a viewer, with its copy in a folder of its own.
    let dir = office.stop().await;
    assert_eq!(
        saved_options(dir.path()).data_dir(),
        dir.path().join("viewer")
    );
    let viewer = start_saved_viewer(dir.path()).await;
    let state = viewer_state(&viewer).await;
    assert_eq!(state["server"], format!("{}/", district.api_base));
    let (code, answer) = viewer
        .call(
            Method::POST,
            "/api/viewer/connect",
            json!({ "server": district.api_base }),
        )
        .await;
    assert_eq!(
        (code, answer["error"].as_str()),
        (409, Some("already_a_viewer"))
    );
    let (code, answer) = viewer
        .call(Method::POST, "/api/viewer/disconnect", json!({}))
        .await;
    assert_eq!(code, 200, "{answer}");
    assert!(
        !dir.path().join("viewer-of").exists(),
        "the connection is forgotten"
    );
    assert!(
        dir.path().join("viewer").join(DATABASE_FILE).is_file(),
        "the copy lives apart from the office's own database"
    );
    viewer.stop().await;
    district.stop().await;
    another_office.stop().await;
}

#[tokio::test]
async fn a_self_signed_server_is_trusted_only_by_the_fingerprint_the_person_confirmed() {
    use rollcall_server::ui_tls::{UiTls, SELF_SIGNED_CERT};
    let mut district = TestServer::start_with(|dir| {
        let mut config = with_sign_in(dir, SignInConfig::default());
        config.ui_tls = UiTls::SelfSigned;
        config
    })
    .await;
    let fingerprint = district
        .server
        .as_ref()
        .unwrap()
        .info()
        .ui_tls_fingerprint
        .clone()
        .unwrap();
    let cert = std::fs::read(district.dir.path().join(SELF_SIGNED_CERT)).unwrap();
    district.http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).unwrap())
        .build()
        .unwrap();
    district.api_base = district.api_base.replacen("http://", "https://", 1);
    let admin = set_up(&district).await;
    add_person(&district, &admin, "secretary", "staff", None).await;
    deliver(&district, "north", 1).await;

    let office = TestServer::start().await;
    let connect = |certificate: Option<String>| {
        let (office, server) = (&office, district.api_base.clone());
        async move {
            office
                .call(
                    Method::POST,
                    "/api/viewer/connect",
                    json!({ "server": server, "certificate": certificate }),
                )
                .await
        }
    };
    // Unknown: its fingerprint to compare, and nothing saved.
    let (code, answer) = connect(None).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["certificateToConfirm"], fingerprint.as_str());
    assert!(answer["message"].as_str().unwrap().contains(&fingerprint));
    assert!(!office.dir.path().join("viewer-of").exists());
    let wrong = "00:".repeat(31) + "00";
    let (_, answer) = connect(Some(wrong.clone())).await;
    assert_eq!(
        answer["certificateToConfirm"],
        fingerprint.as_str(),
        "another certificate is not this one"
    );
    assert!(!office.dir.path().join("viewer-of").exists());

    // Confirmed, as typed from the administrator's note (lower case, no colons).
    let typed = fingerprint.replace(':', "").to_lowercase();
    let (code, answer) = connect(Some(typed)).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["certificateToConfirm"], Value::Null, "{answer}");
    let saved = std::fs::read_to_string(office.dir.path().join("viewer-of")).unwrap();
    assert_eq!(saved, format!("{}/\n{fingerprint}\n", district.api_base));

    let dir = office.stop().await;
    let viewer = start_saved_viewer(dir.path()).await;
    let (code, answer) = sign_in_viewer(&viewer, "secretary", PASSWORD).await;
    assert_eq!(code, 200, "{answer}");
    until_copied(&viewer, &server_changes(&district, &admin).await).await;

    // Someone else's certificate in front of the server (or a changed one): refused, named.
    let pinned_wrong = TestServer::start_with(|dir| {
        let mut config = viewer_of(&district.api_base)(dir);
        config.viewer.as_mut().unwrap().certificate = Some(wrong);
        config
    })
    .await;
    let (code, answer) = sign_in_viewer(&pinned_wrong, "secretary", PASSWORD).await;
    assert_eq!(code, 502, "{answer}");
    assert_eq!(answer["error"], "certificate_not_trusted");
    assert!(
        answer["message"].as_str().unwrap().contains(&fingerprint),
        "{answer}"
    );
    for s in [viewer, pinned_wrong, district] {
        s.stop().await;
    }
}

#[tokio::test]
async fn a_viewer_whose_person_now_sees_other_schools_keeps_nothing_of_the_old_ones() {
    let server = TestServer::start_with(|dir| with_sign_in(dir, SignInConfig::default())).await;
    let server_addr: SocketAddr = server
        .api_base
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let admin = set_up(&server).await;
    let id = add_person(&server, &admin, "office", "viewer", Some(&["north"])).await;
    for n in 1..=2 {
        deliver(&server, "north", n).await;
        deliver(&server, "south", 100 + n).await;
    }
    let viewer = TestServer::start_with(viewer_of(&server.api_base)).await;
    let (code, _) = sign_in_viewer(&viewer, "office", PASSWORD).await;
    assert_eq!(code, 200);
    until_viewer(&viewer, "live", |s| s["connection"] == "live").await;
    let copied = viewer_changes(&viewer).await;
    assert_eq!(copied.len(), 2);
    assert!(copied.iter().all(|c| c["tenant"] == "north"));

    // The office moves to South; the viewer learns it at its next connection.
    let moved = send(
        &server,
        Method::PUT,
        &format!("/api/people/{id}"),
        Some(&admin),
        Some(json!({ "displayName": "office", "role": "viewer", "schools": ["south"], "disabled": false })),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let dir = server.stop().await;
    let server = restart_on(dir, server_addr).await;
    for _ in 0..200 {
        let now = viewer_changes(&viewer).await;
        if now.len() == 2 && now.iter().all(|c| c["tenant"] == "south") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let now = viewer_changes(&viewer).await;
    let tenants: Vec<&str> = now.iter().map(|c| c["tenant"].as_str().unwrap()).collect();
    assert_eq!(
        tenants,
        ["south", "south"],
        "nothing of North stays on this computer (owner: {:?})",
        std::fs::read_to_string(viewer.dir.path().join("viewer-copy-owner.json"))
    );
    server.stop().await;
    viewer.stop().await;
}
