//! Adding, removing and purging schools over the local API, with no restart: the webhook
//! listener follows from the next delivery on.

use reqwest::Method;
use serde_json::{json, Value};

use crate::schools::*;
use crate::support::*;

fn south_form() -> Value {
    json!({
        "id": "south",
        "name": "South High",
        "tenant": "south-tenant",
        "secret": SOUTH_SECRET,
    })
}

fn config_file(s: &TestServer) -> String {
    std::fs::read_to_string(s.dir.path().join("rollcall.toml")).unwrap_or_default()
}

#[tokio::test]
async fn a_school_added_is_received_at_once_and_listed_without_its_secret() {
    let s = TestServer::start_with(|dir| schools_config(dir, vec![north()])).await;
    let south_url = url_of(&s, "south");
    let before = post_to(&s, &south_url, &delivery("south-tenant", SOUTH_SECRET, 1)).await;
    assert_eq!(before.0, 404, "not a school yet: {}", before.1);

    let (status, answer) = s.call(Method::POST, "/api/schools", south_form()).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["school"]["webhookUrl"], south_url);
    assert!(
        answer["message"].as_str().unwrap().contains(&south_url),
        "{answer}"
    );
    // Saved before it was answered.
    let file = config_file(&s);
    assert!(file.contains("id = \"south\""), "{file}");

    let (status, answer) =
        post_to(&s, &south_url, &delivery("south-tenant", SOUTH_SECRET, 1)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(attendance_of(&s, "south-tenant"), 1);

    let listed = s.get("/api/schools").await;
    assert_eq!(listed.status(), 200);
    let text = listed.text().await.unwrap();
    assert!(
        !text.contains(SOUTH_SECRET) && !text.contains(NORTH_SECRET),
        "{text}"
    );
    let listed: Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<&str> = listed["schools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["north", "south"]);
    assert_eq!(listed["schools"][1]["webhookUrl"], south_url);
    assert_eq!(listed["schools"][1]["secretConfigured"], true);
    assert_eq!(listed["backupUrl"], "/api/backup");
}

#[tokio::test]
async fn an_addition_that_cannot_work_is_refused_with_a_sentence_and_saves_nothing() {
    let s = TestServer::start_with(|dir| schools_config(dir, vec![north()])).await;
    let cases = [
        (
            json!({"id": "north", "name": "N2", "tenant": "t2", "secret": "x"}),
            409,
            "school_exists",
        ),
        (
            json!({"id": "n2", "name": "N2", "tenant": "north-tenant", "secret": "x"}),
            409,
            "tenant_taken",
        ),
        (
            json!({"id": "South High", "name": "South High", "tenant": "t", "secret": "x"}),
            400,
            "bad_request",
        ),
        (
            json!({"id": "south", "name": "South High", "tenant": "south-tenant"}),
            400,
            "bad_request",
        ),
        (
            json!({"id": "south", "name": "South High"}),
            400,
            "bad_request",
        ),
    ];
    for (form, status, code) in cases {
        let (got, answer) = s.call(Method::POST, "/api/schools", &form).await;
        assert_eq!(got, status, "{form}: {answer}");
        assert_eq!(answer["error"], code, "{form}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.ends_with('.'), "a sentence: {answer}");
    }
    let listed = s.api("/api/schools").await;
    assert_eq!(listed["schools"].as_array().unwrap().len(), 1, "{listed}");
    assert!(
        !s.dir.path().join("rollcall.toml").exists(),
        "nothing was saved"
    );
}

#[tokio::test]
async fn the_first_school_added_takes_over_the_single_schools_secret_and_old_url() {
    let s = TestServer::start().await;
    let form = json!({"id": "mine", "name": "My School", "tenant": TENANT});
    let (status, answer) = s.call(Method::POST, "/api/schools", form).await;
    assert_eq!(status, 201, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("took over"),
        "{answer}"
    );
    // DreamClass still sends to the old address, signed with the same secret.
    assert_eq!(s.post(&created(1, 5)).await.0, 200);
    let at_own = post_to(&s, &url_of(&s, "mine"), &created(2, 5)).await;
    assert_eq!(at_own.0, 200, "{}", at_own.1);
    assert_eq!(s.attendance_count(), 2);

    // With a Secret of its own, the old one no longer verifies, and the answer says nothing
    // of taking it over.
    let s = TestServer::start().await;
    let form = json!({"id": "mine", "name": "My School", "tenant": TENANT, "secret": "new"});
    let (status, answer) = s.call(Method::POST, "/api/schools", form).await;
    assert_eq!(status, 201, "{answer}");
    assert!(
        !answer["message"].as_str().unwrap().contains("took over"),
        "{answer}"
    );
    assert_eq!(s.post(&created(1, 5)).await.0, 401);
}

#[tokio::test]
async fn a_removed_school_is_refused_and_its_rows_are_kept() {
    let s = TestServer::start_with(|dir| schools_config(dir, vec![north(), south()])).await;
    let south_url = url_of(&s, "south");
    assert_eq!(
        post_to(&s, &south_url, &delivery("south-tenant", SOUTH_SECRET, 1))
            .await
            .0,
        200
    );

    let (status, answer) = s.call(Method::DELETE, "/api/schools/south", ()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["removed"]["name"], "South High");
    assert!(
        answer["message"].as_str().unwrap().contains("kept"),
        "{answer}"
    );

    let (status, answer) =
        post_to(&s, &south_url, &delivery("south-tenant", SOUTH_SECRET, 2)).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"], "unknown_school");
    assert_eq!(attendance_of(&s, "south-tenant"), 1, "its rows are kept");
    assert_eq!(s.change_count(), 1);
    // The refusal is remembered with the removed school, so a purge finds it.
    let logged = refusals(&s, 1).await;
    assert_eq!(logged[0].2.as_deref(), Some("south"), "{logged:?}");

    let listed = s.api("/api/schools").await;
    assert_eq!(listed["schools"].as_array().unwrap().len(), 1);
    assert_eq!(listed["removedSchools"][0]["id"], "south");
    let file = config_file(&s);
    assert!(file.contains("[[removed_schools]]"), "{file}");
    assert!(
        !file.contains(SOUTH_SECRET),
        "a removed school keeps no secret: {file}"
    );

    let (status, answer) = s.call(Method::DELETE, "/api/schools/south", ()).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"], "school_removed");
    let (status, answer) = s.call(Method::DELETE, "/api/schools/west", ()).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"], "unknown_school");
}

#[tokio::test]
async fn a_purge_needs_the_schools_name_and_removes_only_its_rows() {
    let s = TestServer::start_with(|dir| schools_config(dir, vec![north(), south()])).await;
    for id in 1..=3 {
        let north_url = url_of(&s, "north");
        assert_eq!(
            post_to(&s, &north_url, &delivery("north-tenant", NORTH_SECRET, id))
                .await
                .0,
            200
        );
    }
    let south_url = url_of(&s, "south");
    for id in 10..=11 {
        assert_eq!(
            post_to(&s, &south_url, &delivery("south-tenant", SOUTH_SECRET, id))
                .await
                .0,
            200
        );
    }
    // A refusal at South's URL, kept with its school.
    let forged = post_to(&s, &south_url, &delivery("south-tenant", NORTH_SECRET, 12)).await;
    assert_eq!(forged.0, 401);
    refusals(&s, 1).await;

    let (status, answer) = s
        .call(
            Method::POST,
            "/api/schools/south/purge",
            json!({"confirm": "South High"}),
        )
        .await;
    assert_eq!(status, 409, "still listed: {answer}");
    assert_eq!(answer["error"], "school_still_listed");
    assert_eq!(
        s.call(Method::DELETE, "/api/schools/south", ()).await.0,
        200
    );

    for wrong in [
        json!({"confirm": "south"}),
        json!({"confirm": "North Primary"}),
        json!({}),
    ] {
        let (status, answer) = s
            .call(Method::POST, "/api/schools/south/purge", &wrong)
            .await;
        assert_eq!(status, 422, "{wrong}: {answer}");
        assert_eq!(answer["error"], "confirmation_required");
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.contains("South High") && message.contains("Nothing was deleted"),
            "{message}"
        );
        assert!(
            message.contains("/api/backup"),
            "offers the backup: {message}"
        );
    }
    assert_eq!(attendance_of(&s, "south-tenant"), 2, "nothing deleted");

    let south_deliveries =
        "SELECT COUNT(*) FROM deliveries WHERE tenant = 'south-tenant' OR school = 'south'";
    assert_eq!(s.count(south_deliveries), 3);
    let north_deliveries = s.count("SELECT COUNT(*) FROM deliveries WHERE tenant = 'north-tenant'");
    let (status, answer) = s
        .call(
            Method::POST,
            "/api/schools/south/purge",
            json!({"confirm": "South High"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["attendance"], 2);
    assert_eq!(answer["changes"], 2);
    assert_eq!(answer["deliveries"], 3);
    assert_eq!(attendance_of(&s, "south-tenant"), 0);
    assert_eq!(s.count(south_deliveries), 0);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM changes WHERE tenant = 'south-tenant'"),
        0
    );
    // North is untouched.
    assert_eq!(attendance_of(&s, "north-tenant"), 3);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM changes WHERE tenant = 'north-tenant'"),
        3
    );
    assert_eq!(
        s.count("SELECT COUNT(*) FROM deliveries WHERE tenant = 'north-tenant'"),
        north_deliveries
    );
    // The school is forgotten: nothing is left to purge, and its id and tenant are free.
    let listed = s.api("/api/schools").await;
    assert_eq!(listed["removedSchools"], json!([]));
    let (status, _) = s
        .call(
            Method::POST,
            "/api/schools/south/purge",
            json!({"confirm": "South High"}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_removed_school_added_back_is_received_again_with_its_rows() {
    let s = TestServer::start_with(|dir| schools_config(dir, vec![north(), south()])).await;
    let south_url = url_of(&s, "south");
    assert_eq!(
        post_to(&s, &south_url, &delivery("south-tenant", SOUTH_SECRET, 1))
            .await
            .0,
        200
    );
    assert_eq!(
        s.call(Method::DELETE, "/api/schools/south", ()).await.0,
        200
    );
    // Another id for its tenant would leave the kept rows to a purge of the other school.
    let other_id =
        json!({"id": "south-2", "name": "South", "tenant": "south-tenant", "secret": "x"});
    let (status, answer) = s.call(Method::POST, "/api/schools", other_id).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"], "removed_school_kept");

    let (status, answer) = s.call(Method::POST, "/api/schools", south_form()).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        post_to(&s, &south_url, &delivery("south-tenant", SOUTH_SECRET, 2))
            .await
            .0,
        200
    );
    assert_eq!(attendance_of(&s, "south-tenant"), 2);
    assert_eq!(s.api("/api/schools").await["removedSchools"], json!([]));
}

#[tokio::test]
async fn a_recheck_verifies_each_refusal_with_the_secret_of_the_school_it_was_sent_to() {
    // South was set up with a wrong Secret; North with its own.
    let mut wrong = south();
    wrong.webhook.secret = Some("typed-wrong".into());
    let s = TestServer::start_with(|dir| schools_config(dir, vec![north(), wrong])).await;
    let at_south = delivery("south-tenant", SOUTH_SECRET, 1);
    assert_eq!(post_to(&s, &url_of(&s, "south"), &at_south).await.0, 401);
    // Signed with South's real Secret, but sent to North: it must never verify there.
    let at_north = delivery("south-tenant", SOUTH_SECRET, 2);
    assert_eq!(post_to(&s, &url_of(&s, "north"), &at_north).await.0, 401);
    refusals(&s, 2).await;

    // The Secret is corrected by removing South and adding it back with the right one.
    assert_eq!(
        s.call(Method::DELETE, "/api/schools/south", ()).await.0,
        200
    );
    assert_eq!(
        s.call(Method::POST, "/api/schools", south_form()).await.0,
        201
    );
    let (status, report) = s
        .call(Method::POST, "/api/deliveries/recheck", json!({}))
        .await;
    assert_eq!(status, 200, "{report}");
    let results: Vec<(String, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["requestId"].as_str().unwrap().to_string(),
                r["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            (at_south["id"].as_str().unwrap().into(), "applied".into()),
            (
                at_north["id"].as_str().unwrap().into(),
                "still_unverified".into()
            ),
        ],
        "{report}"
    );
    assert_eq!(attendance_of(&s, "south-tenant"), 1);
}
