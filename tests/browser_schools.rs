//! The school picker in a browser: one `rollcall serve` receiving two schools, each at its
//! own webhook address (`/webhooks/dreamclass/{school}`) with its own Secret, and headless
//! Chromium over WebDriver.
//!
//! - With one school the page has no picker (the office PC as it always was).
//! - With two: "All schools" shows both schools' rows, each saying its school; one school
//!   chosen shows its rows only, live rows included; back to "All schools" shows both again.
//! - The choice is shared by the Feed, Today and Reports views and kept over a reload; their
//!   reads carry `tenant`, and so do the export links, whose file is named with the school.
//! - The views with the picker pass axe-core in the light and the dark theme, and the picker
//!   is a labelled select that the keyboard can change.
//! - Each school's own DreamClass account (two run here on loopback, each with its own token
//!   and student names) is entered in Settings > Schools; the same student number delivered
//!   to both schools then reads as each school's own student in the feed.
//!
//! Needs what `browser.rs` needs (`cargo build -p rollcall-cli`, `ui/dist`, chromium and
//! chromium-driver). Screenshots and logs: `target/e2e-artifacts/schools-*`.

use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use rollcall_e2e::axe::serious_violations;
use rollcall_e2e::browser::{with_browsers, BrowserOptions};
use rollcall_e2e::desktop::{run_js, screenshot, wait_for, wait_for_text, FEED_IS_SHOWN};
use rollcall_e2e::serve::Serve;
use rollcall_e2e::webhook::{post_attendance_created_for, Attendance};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);

const NORTH: School = School {
    id: "north",
    name: "North Primary",
    tenant: "north-primary",
    secret: "north-e2e-secret",
};
const SOUTH: School = School {
    id: "south",
    name: "South High",
    tenant: "south-high",
    secret: "south-e2e-secret",
};

#[derive(Clone, Copy)]
struct School {
    id: &'static str,
    name: &'static str,
    tenant: &'static str,
    secret: &'static str,
}

/// The feed's rows as shown: (tenant, the school said on the row or "", student).
const FEED_ROWS: &str = r#"
    const feed = document.querySelector('[aria-label="Attendance changes, newest first"]');
    if (!feed) return [];
    return Array.from(feed.querySelectorAll('.spacer a[data-seq]')).map((row) => [
        row.dataset.tenant,
        row.querySelector('.school') ? row.querySelector('.school').innerText.trim() : '',
        row.querySelector('.student').innerText.trim(),
    ]);"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_school_picker_narrows_the_feed_the_board_reports_and_exports() {
    let logs = rollcall_e2e::artifacts_dir().join("schools-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let data = tempfile::tempdir().unwrap();
    // North is listed in `rollcall.toml`; South is added in Settings while the page is open.
    std::fs::write(
        data.path().join("rollcall.toml"),
        format!(
            "[[schools]]\nid = {:?}\nname = {:?}\ntenant = {:?}\nwebhook_secret = {:?}\n",
            NORTH.id, NORTH.name, NORTH.tenant, NORTH.secret
        ),
    )
    .unwrap();
    let mut serve = Serve::start(data.path(), None, &[], &logs.join("serve.log"));
    let site = Site {
        link: serve.link.clone(),
        origin: serve.origin.clone(),
        token: serve.token.clone(),
    };
    let light = site.clone();
    with_browsers(&logs, "schools", 1, &BrowserOptions::default(), |b| {
        picker_checks(b[0].clone(), light)
    })
    .await;
    // The dark theme: the same views with the picker, through axe-core.
    let dark = BrowserOptions {
        dark: true,
        ..BrowserOptions::default()
    };
    with_browsers(&logs, "schools-dark", 1, &dark, |b| {
        accessibility_checks(b[0].clone(), site, "dark")
    })
    .await;
    serve.stop();
}

/// A school's own DreamClass account, run here on loopback (the real one cannot be reached):
/// its tenant, its own token, and students named after `seed`. Returns it and its address.
async fn dreamclass_account(
    school: School,
    seed: u64,
) -> (rollcall_simulator::FakeDreamClass, String) {
    let mut demo = rollcall_simulator::DemoSchool::generate(seed);
    demo.tenant = school.tenant.into();
    let fake = rollcall_simulator::FakeDreamClass::new(demo, format!("{}-api-token", school.id));
    let base_url = rollcall_simulator::fake_dreamclass::serve_on_loopback(&fake)
        .await
        .base_url;
    (fake, base_url)
}

/// Each school's DreamClass connection is entered in Settings > Schools; the same student
/// number in both schools then reads as each school's own student in the feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_school_names_its_own_students_with_its_own_dreamclass_account() {
    let logs = rollcall_e2e::artifacts_dir().join("schools-names-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let (north_api, north_base) = dreamclass_account(NORTH, 1).await;
    let (south_api, south_base) = dreamclass_account(SOUTH, 2).await;
    let student = north_api.school().students[0].student_period_id;
    let name_in = |fake: &rollcall_simulator::FakeDreamClass| {
        fake.school()
            .students
            .iter()
            .find(|s| s.student_period_id == student)
            .map(|s| s.full_name())
            .expect("the student number is in both schools")
    };
    let (north_name, south_name) = (name_in(&north_api), name_in(&south_api));
    assert_ne!(
        north_name, south_name,
        "the check needs two different names"
    );
    let data = tempfile::tempdir().unwrap();
    let mut toml = String::new();
    for school in [NORTH, SOUTH] {
        toml.push_str(&format!(
            "[[schools]]\nid = {:?}\nname = {:?}\ntenant = {:?}\nwebhook_secret = {:?}\n\n",
            school.id, school.name, school.tenant, school.secret
        ));
    }
    std::fs::write(data.path().join("rollcall.toml"), toml).unwrap();
    let mut serve = Serve::start(data.path(), None, &[], &logs.join("serve.log"));
    let site = Site {
        link: serve.link.clone(),
        origin: serve.origin.clone(),
        token: serve.token.clone(),
    };
    let accounts = [(NORTH, north_base), (SOUTH, south_base)];
    with_browsers(
        &logs,
        "schools-names",
        1,
        &BrowserOptions::default(),
        move |b| {
            names_checks(
                b[0].clone(),
                site,
                accounts,
                student,
                [north_name, south_name],
            )
        },
    )
    .await;
    assert!(north_api.request_count() > 0 && south_api.request_count() > 0);
    serve.stop();
}

async fn names_checks(
    browser: Client,
    site: Site,
    accounts: [(School, String); 2],
    student: i64,
    names: [String; 2],
) {
    browser.goto(&site.link).await.unwrap();
    wait_feed(&browser).await;
    browser
        .goto(&format!("{}/#/settings", site.origin))
        .await
        .unwrap();
    let mut problems = Vec::new();
    for (school, base_url) in &accounts {
        let edit = format!("[data-edit-api={:?}]", school.id);
        wait_for(
            &browser,
            "the school's DreamClass connection button",
            WAIT,
            &format!("return !!document.querySelector({});", json!(edit)),
        )
        .await;
        browser
            .find(Locator::Css(&edit))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let form = format!("[data-school-api-form={:?}]", school.id);
        let field = |name: &str| format!("{form} input[name={name:?}]");
        let token = browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(&field("schoolApiToken")))
            .await
            .expect("the token field");
        token
            .send_keys(&format!("{}-api-token", school.id))
            .await
            .unwrap();
        // The open form is checked like every view.
        problems.extend(serious_violations(&browser).await);
        let address = browser
            .find(Locator::Css(&field("schoolApiBaseUrl")))
            .await
            .unwrap();
        address.clear().await.unwrap();
        address.send_keys(base_url).await.unwrap();
        browser
            .find(Locator::Css(&format!("{form} button[type=submit]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for_text(
            &browser,
            &format!(
                "{}'s names and missed changes are now read with its own DreamClass connection.",
                school.name
            ),
            WAIT,
        )
        .await;
        wait_for(
            &browser,
            "the school says it has its own connection",
            WAIT,
            &format!(
                "const s = document.querySelector('[data-school-api={}]');
                 return !!s && s.innerText.includes('Own DreamClass connection');",
                school.id
            ),
        )
        .await;
    }
    screenshot(&browser, "schools-names-1-settings").await;

    // South gets thresholds of its own in Settings > Thresholds; North keeps every school's.
    let picker = browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("select[name=thresholdsSchool]"))
        .await
        .expect("the school choice of the thresholds");
    picker.select_by_value(SOUTH.id).await.unwrap();
    wait_for_text(
        &browser,
        "South High uses the thresholds of every school.",
        WAIT,
    )
    .await;
    let field = browser
        .find(Locator::Css("input[name=absencesPerDay]"))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys("1").await.unwrap();
    problems.extend(serious_violations(&browser).await);
    browser
        .find(Locator::Css("form.thresholds button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&browser, "For South High only:", WAIT).await;
    let thresholds = |school: &'static str| {
        let site = site.clone();
        async move {
            reqwest::Client::new()
                .get(format!(
                    "{}/api/settings/reports?school={school}",
                    site.origin
                ))
                .bearer_auth(&site.token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(thresholds(SOUTH.id).await["absencesPerDay"], 1);
    assert_ne!(thresholds(NORTH.id).await["absencesPerDay"], 1);
    screenshot(&browser, "schools-names-1b-thresholds").await;

    // The same student number delivered to both schools.
    for (school, _) in &accounts {
        let url = site.school_url(*school).await;
        site.deliver(&url, *school, student).await;
    }
    browser
        .goto(&format!("{}/#/feed", site.origin))
        .await
        .unwrap();
    wait_feed(&browser).await;
    let expected = json!([
        [SOUTH.tenant, SOUTH.name, names[1]],
        [NORTH.tenant, NORTH.name, names[0]],
    ]);
    wait_for(
        &browser,
        "each school's row with its own student's name",
        WAIT,
        &format!(
            "const rows = (() => {{ {FEED_ROWS} }})();
             return JSON.stringify(rows) === {};",
            json!(expected.to_string())
        ),
    )
    .await;
    screenshot(&browser, "schools-names-2-feed").await;
    assert!(
        problems.is_empty(),
        "serious accessibility problems in Settings > Schools:\n{}",
        problems.join("\n")
    );
}

/// What the checks need of the running `rollcall serve` (it stays owned by the test).
#[derive(Clone)]
struct Site {
    link: String,
    origin: String,
    token: String,
}

impl Site {
    /// Adds a school as Settings > Schools does; its webhook address on this computer.
    async fn add_school(&self, school: School) -> String {
        let answer = reqwest::Client::new()
            .post(format!("{}/api/schools", self.origin))
            .bearer_auth(&self.token)
            .json(&json!({
                "id": school.id, "name": school.name, "tenant": school.tenant,
                "secret": school.secret,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap());
        let added: Value = answer.json().await.unwrap();
        added["school"]["webhookUrl"]
            .as_str()
            .expect("the added school has its webhook address")
            .to_string()
    }

    /// The webhook address of a school already listed.
    async fn school_url(&self, school: School) -> String {
        let list: Value = reqwest::Client::new()
            .get(format!("{}/api/schools", self.origin))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["schools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == school.id)
            .and_then(|s| s["webhookUrl"].as_str())
            .unwrap_or_else(|| panic!("{} is listed: {list}", school.id))
            .to_string()
    }

    /// A signed delivery of one record to the school's own address.
    async fn deliver(&self, url: &str, school: School, student: i64) {
        let record = Attendance {
            attendance_id: student,
            student_period_id: student,
            class_id: 731,
            course_id: 42,
            status_id: 2,
            date: chrono::Local::now().date_naive().to_string(),
            comment: String::new(),
        };
        let status = post_attendance_created_for(url, school.secret, school.tenant, &record).await;
        assert_eq!(status, 200, "a signed delivery to {url} was refused");
    }
}

async fn picker_checks(browser: Client, site: Site) {
    // One school: the page as it always was, no picker.
    browser.goto(&site.link).await.unwrap();
    wait_feed(&browser).await;
    assert!(!has_picker(&browser).await, "a picker with one school");

    let north_url = site.school_url(NORTH).await;
    let south_url = site.add_school(SOUTH).await;
    assert_ne!(north_url, south_url);
    site.deliver(&north_url, NORTH, 770_001).await;
    site.deliver(&south_url, SOUTH, 660_001).await;

    // Two schools: "All schools" first, both schools' rows, each saying its school.
    browser
        .goto(&format!("{}/#/feed", site.origin))
        .await
        .unwrap();
    browser.refresh().await.unwrap();
    wait_feed(&browser).await;
    wait_for(
        &browser,
        "the school picker",
        WAIT,
        "return !!document.querySelector('[data-school-picker]');",
    )
    .await;
    assert_eq!(picker_value(&browser).await, "");
    let labelled = run_js(
        &browser,
        "const s = document.querySelector('[data-school-picker]');
         return [s.labels.length > 0 ? s.labels[0].querySelector('span').innerText.trim() : '',
                 Array.from(s.options).map((o) => o.text)];",
    )
    .await;
    assert_eq!(
        labelled,
        json!(["School", ["All schools", "North Primary", "South High"]]),
        "a labelled select: All schools, then each school by name"
    );
    wait_rows(
        &browser,
        "both schools' rows, each with its school",
        &[
            ("south-high", "South High", 660_001),
            ("north-primary", "North Primary", 770_001),
        ],
    )
    .await;
    screenshot(&browser, "schools-1-all").await;
    let mut problems = serious_violations(&browser).await;

    // North chosen: its rows only, and no school column (every row is North's).
    pick(&browser, NORTH.tenant).await;
    wait_rows(
        &browser,
        "North's rows only",
        &[("north-primary", "", 770_001)],
    )
    .await;
    assert!(
        requested(&browser, "/api/changes/latest?", "tenant=north-primary").await,
        "the feed asked for North's changes"
    );
    // Live: South's new change is dropped, North's arrives.
    site.deliver(&south_url, SOUTH, 660_002).await;
    site.deliver(&north_url, NORTH, 770_002).await;
    wait_for_text(&browser, "Student #770002", WAIT).await;
    // South's change (sent first) had its chance to (wrongly) show up by now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    wait_rows(
        &browser,
        "North's rows only, live ones included",
        &[
            ("north-primary", "", 770_002),
            ("north-primary", "", 770_001),
        ],
    )
    .await;
    screenshot(&browser, "schools-2-north").await;

    // The choice is kept over a reload and shared by Today and Reports.
    browser.refresh().await.unwrap();
    wait_feed(&browser).await;
    wait_rows(
        &browser,
        "North's rows after a reload",
        &[
            ("north-primary", "", 770_002),
            ("north-primary", "", 770_001),
        ],
    )
    .await;
    browser
        .goto(&format!("{}/#/board", site.origin))
        .await
        .unwrap();
    wait_for(
        &browser,
        "the board with North chosen",
        WAIT,
        "const s = document.querySelector('[data-school-picker]');
         return !!s && s.value === 'north-primary' && !!document.querySelector('table');",
    )
    .await;
    assert!(
        requested(&browser, "/api/board?", "tenant=north-primary").await,
        "the board asked for North's records"
    );
    problems.extend(serious_violations(&browser).await);
    browser
        .goto(&format!("{}/#/reports", site.origin))
        .await
        .unwrap();
    wait_for(
        &browser,
        "the exports of North",
        WAIT,
        "const a = document.querySelector('a[download^=\"rollcall-attendance\"]');
         return !!a && !!a.getAttribute('href');",
    )
    .await;
    assert_eq!(picker_value(&browser).await, NORTH.tenant);
    assert!(
        requested(&browser, "/api/reports/summary?", "tenant=north-primary").await,
        "the summary asked for North's records"
    );
    let link = run_js(
        &browser,
        "const a = document.querySelector('a[download^=\"rollcall-attendance\"]');
         return [a.getAttribute('href'), a.getAttribute('download')];",
    )
    .await;
    let href = link[0].as_str().unwrap().to_string();
    let download = link[1].as_str().unwrap();
    assert!(href.contains("tenant=north-primary"), "{href}");
    assert!(
        download.starts_with("rollcall-attendance-north-"),
        "{download}"
    );
    // The server names the file the same way, and writes North's rows only.
    let answer = reqwest::Client::new()
        .get(format!("{}{href}", site.origin))
        .bearer_auth(&site.token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let disposition = answer.headers()[reqwest::header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains(&format!("filename=\"{download}\"")),
        "{disposition} / {download}"
    );
    let csv = answer.text().await.unwrap();
    assert!(
        csv.contains("770001") && csv.contains("770002") && !csv.contains("660001"),
        "{csv}"
    );
    problems.extend(serious_violations(&browser).await);
    screenshot(&browser, "schools-3-reports-north").await;

    // Back to "All schools", on the feed: both schools, each row saying its school. The
    // picker is changed from the keyboard (Home: its first entry, "All schools").
    browser
        .goto(&format!("{}/#/feed", site.origin))
        .await
        .unwrap();
    wait_feed(&browser).await;
    let picker = browser
        .find(Locator::Css("[data-school-picker]"))
        .await
        .expect("the picker on the feed");
    picker
        .send_keys(&char::from(Key::Home).to_string())
        .await
        .expect("the picker takes keys");
    wait_rows(
        &browser,
        "both schools again, each with its school",
        &[
            ("north-primary", "North Primary", 770_002),
            ("south-high", "South High", 660_002),
            ("south-high", "South High", 660_001),
            ("north-primary", "North Primary", 770_001),
        ],
    )
    .await;
    assert_eq!(picker_value(&browser).await, "");
    let all_exports = run_js(
        &browser,
        "return performance.getEntriesByType('resource').map((e) => e.name)
           .filter((n) => n.includes('/api/changes/latest?')).pop() || '';",
    )
    .await;
    assert!(
        !all_exports.as_str().unwrap().contains("tenant="),
        "with All schools the feed asks for every school: {all_exports}"
    );
    screenshot(&browser, "schools-4-all-again").await;
    assert!(
        problems.is_empty(),
        "serious accessibility problems (light):\n{}",
        problems.join("\n")
    );
}

async fn accessibility_checks(browser: Client, site: Site, theme: &str) {
    browser.goto(&site.link).await.unwrap();
    wait_feed(&browser).await;
    wait_for(
        &browser,
        "the school picker",
        WAIT,
        "return !!document.querySelector('[data-school-picker]') && !!document.querySelector('.spacer .school');",
    )
    .await;
    let mut problems = serious_violations(&browser).await;
    screenshot(&browser, &format!("schools-{theme}-feed")).await;
    for (view, ready) in [("board", "table"), ("reports", "a[download]")] {
        browser
            .goto(&format!("{}/#/{view}", site.origin))
            .await
            .unwrap();
        wait_for(
            &browser,
            &format!("the {view} view"),
            WAIT,
            &format!(
                "return !!document.querySelector('[data-school-picker]') && !!document.querySelector({});",
                json!(ready)
            ),
        )
        .await;
        problems.extend(serious_violations(&browser).await);
    }
    assert!(
        problems.is_empty(),
        "serious accessibility problems ({theme}):\n{}",
        problems.join("\n")
    );
}

async fn wait_feed(browser: &Client) {
    wait_for(
        browser,
        "the live feed",
        WAIT,
        &format!("return {FEED_IS_SHOWN};"),
    )
    .await;
}

async fn has_picker(browser: &Client) -> bool {
    run_js(
        browser,
        "return !!document.querySelector('[data-school-picker]');",
    )
    .await
        == Value::Bool(true)
}

async fn picker_value(browser: &Client) -> String {
    run_js(
        browser,
        "return document.querySelector('[data-school-picker]').value;",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

async fn pick(browser: &Client, tenant: &str) {
    browser
        .find(Locator::Css("[data-school-picker]"))
        .await
        .expect("the school picker")
        .select_by_value(tenant)
        .await
        .unwrap_or_else(|e| panic!("{tenant} is offered in the picker: {e}"));
}

/// Waits until the feed shows exactly `rows` (tenant, school said, student number), in order.
async fn wait_rows(browser: &Client, name: &str, rows: &[(&str, &str, i64)]) {
    let expected: Vec<Value> = rows
        .iter()
        .map(|(tenant, school, student)| json!([tenant, school, format!("Student #{student}")]))
        .collect();
    wait_for(
        browser,
        name,
        WAIT,
        &format!(
            "const rows = (() => {{ {FEED_ROWS} }})();
             return JSON.stringify(rows) === {};",
            json!(serde_json::to_string(&expected).unwrap())
        ),
    )
    .await;
}

/// Whether the page has read `path…` with `param` in its query.
async fn requested(browser: &Client, path: &str, param: &str) -> bool {
    let script = format!(
        "return performance.getEntriesByType('resource').some((e) => e.name.includes({}) && e.name.includes({}));",
        json!(path),
        json!(param)
    );
    run_js(browser, &script).await == Value::Bool(true)
}
