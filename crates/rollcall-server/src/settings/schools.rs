//! Several schools on one Rollcall: each school has its own webhook URL
//! (`/webhooks/dreamclass/{id}`), DreamClass tenant and webhook checks.
//!
//! How the single school and a list coexist:
//! - **No `[[schools]]`** (every installation until now): the webhook settings at the top of
//!   `rollcall.toml` are the single school's, received at `/webhooks/dreamclass` exactly as
//!   before; the envelope's tenant is not checked.
//! - **A list**: each school is received at its own URL and only with its own secret; a
//!   delivery naming another tenant is refused. The old URL still works while the list has
//!   exactly one school (that school). The top-level webhook settings must then be empty (a
//!   secret there would belong to no school): a file with both is refused at start with a
//!   sentence, and the first school added from the window takes them over (see
//!   [`take_over_single_school`]).
//!
//! A removed school leaves the list but is remembered (`[[removed_schools]]`, no secrets) so
//! that its data, kept until then, can be purged explicitly by its name.

use rollcall_core::config::{BasicAuth, ReportThresholds, SchoolTable};
use rollcall_core::reports::ReportSettings;
use rollcall_core::Scope;
use rollcall_dreamclass::ApiConfig;

use super::{Settings, WebhookAuth, WebhookSettings};

/// The single school's URL, and the start of every school's own.
pub const WEBHOOK_PATH: &str = "/webhooks/dreamclass";
/// The longest school id (it is part of a URL).
pub const MAX_SCHOOL_ID: usize = 40;

/// One school received by this Rollcall.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchoolSettings {
    /// Its part of the webhook URL: `[a-z0-9-]{1,40}`.
    pub id: String,
    /// As the office calls it (the purge confirmation asks for it).
    pub name: String,
    /// The DreamClass tenant its deliveries name in their envelope.
    pub tenant: String,
    pub webhook: WebhookSettings,
    /// Its own DreamClass API connection, if it has one.
    pub api: SchoolApi,
    /// Its own thresholds of reports and alerts; `None`: the installation's (`[reports]`).
    pub reports: Option<ReportSettings>,
}

/// A school's own DreamClass API connection: its token, and its address when not the
/// `[dreamclass]` one. Every other API setting (headers, paths, limits) is `[dreamclass]`'s.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SchoolApi {
    pub token: Option<String>,
    pub base_url: Option<String>,
}

impl std::fmt::Debug for SchoolApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchoolApi")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// Who a school's deliveries must come from, for [`crate::webhook::check_body`]: a delivery
/// verified with its secret must also name its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolCheck {
    pub id: String,
    pub name: String,
    pub tenant: String,
}

/// A school removed from the list whose data is kept until purged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemovedSchool {
    pub id: String,
    pub name: String,
    pub tenant: String,
}

impl SchoolSettings {
    /// `/webhooks/dreamclass/{id}`.
    pub fn webhook_path(&self) -> String {
        school_path(&self.id)
    }

    /// The checks a delivery at this school's URL must pass.
    pub fn auth(&self) -> Result<WebhookAuth, String> {
        let mut auth = self
            .webhook
            .auth()
            .map_err(|e| format!("{}: {e}", self.name))?;
        auth.school = Some(SchoolCheck {
            id: self.id.clone(),
            name: self.name.clone(),
            tenant: self.tenant.clone(),
        });
        Ok(auth)
    }

    /// Whether this school can be used, or a sentence saying what to change.
    pub fn validate(&self) -> Result<(), String> {
        check_id(&self.id)?;
        if self.name.trim().is_empty() {
            return Err(format!(
                "Give the school `{}` a name, as the office calls it.",
                self.id
            ));
        }
        if self.name.trim() != self.name || self.name.chars().count() > 100 {
            return Err(format!(
                "The name of the school `{}` must not start or end with spaces and may be up \
                 to 100 characters long.",
                self.id
            ));
        }
        let tenant = self.tenant.trim();
        if tenant.is_empty() || tenant != self.tenant {
            return Err(format!(
                "Enter the DreamClass domain (tenant) of {}, as its deliveries name it, for \
                 example `{}` (without spaces).",
                self.name, self.id
            ));
        }
        self.auth().map(|_| ())
    }
}

/// `/webhooks/dreamclass/{id}`.
pub fn school_path(id: &str) -> String {
    format!("{WEBHOOK_PATH}/{id}")
}

/// Whether `id` can be a school's part of its URL, or a sentence saying why not.
pub fn check_id(id: &str) -> Result<(), String> {
    let fits = !id.is_empty()
        && id.len() <= MAX_SCHOOL_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if fits {
        Ok(())
    } else {
        Err(format!(
            "The school id `{id}` cannot be part of a web address. Use 1 to {MAX_SCHOOL_ID} \
             lower-case letters, digits and dashes, such as `north-primary`."
        ))
    }
}

/// The rules of the list as a whole, and of the list with the single school's settings.
pub(super) fn validate(settings: &Settings) -> Result<(), String> {
    let schools = &settings.schools;
    for (i, school) in schools.iter().enumerate() {
        school.validate()?;
        let earlier = &schools[..i];
        if earlier.iter().any(|s| s.id == school.id) {
            return Err(format!(
                "Two schools have the id `{}`. Each school needs its own web address; choose \
                 another id for one of them.",
                school.id
            ));
        }
        if let Some(other) = earlier.iter().find(|s| s.name == school.name) {
            return Err(format!(
                "The schools `{}` and `{}` are both called {}. Give each its own name.",
                other.id, school.id, school.name
            ));
        }
        if let Some(other) = earlier.iter().find(|s| s.tenant == school.tenant) {
            return Err(format!(
                "{} and {} both have the DreamClass tenant `{}`. Each school has its own \
                 tenant in DreamClass; check which one is meant.",
                other.name, school.name, school.tenant
            ));
        }
    }
    for removed in &settings.removed_schools {
        if let Some(listed) = schools
            .iter()
            .find(|s| s.id == removed.id || s.tenant == removed.tenant)
        {
            return Err(format!(
                "{} (id `{}`, tenant `{}`) is listed, and the removed school {} (id `{}`, \
                 tenant `{}`), whose data is kept, has the same id or tenant. Purge the removed \
                 school first, or add it back with its own id and tenant.",
                listed.name, listed.id, listed.tenant, removed.name, removed.id, removed.tenant
            ));
        }
    }
    let single = &settings.webhook;
    if !schools.is_empty()
        && (single.secret.is_some() || single.basic_auth.is_some() || single.allow_unsigned)
    {
        return Err(format!(
            "Rollcall has a list of schools and also a webhook Secret, username or \"accept \
             unsigned\" for a single school (at the top of rollcall.toml, or given when \
             Rollcall was started). With a list, each school has its own: move them into the \
             school's [[schools]] table in rollcall.toml (or enter them in Settings > \
             Schools) and remove them from the top. Deliveries go to {WEBHOOK_PATH}/<school>."
        ));
    }
    Ok(())
}

impl Settings {
    /// The DreamClass API connections, one per school that has one, each naming its school's
    /// tenant. A single school (no list) has `[dreamclass]`. With a list, each school with its
    /// own token has its own connection (`[dreamclass]`'s settings with the school's token,
    /// address and tenant), and `[dreamclass]` serves the school whose tenant it names (as
    /// it did before schools had their own). Never empty: `[dreamclass]` when nothing else.
    pub fn api_connections(&self) -> Vec<ApiConfig> {
        let shared = &self.dreamclass;
        let mut connections: Vec<ApiConfig> = self
            .schools
            .iter()
            .filter_map(|school| {
                let token = school.api.token.as_ref()?;
                Some(ApiConfig {
                    token: token.clone(),
                    base_url: school
                        .api
                        .base_url
                        .clone()
                        .unwrap_or_else(|| shared.base_url.clone()),
                    tenant: school.tenant.clone(),
                    ..shared.clone()
                })
            })
            .collect();
        let shared_tenant = shared.tenant.trim();
        if !connections.iter().any(|c| c.tenant == shared_tenant) {
            connections.insert(0, shared.clone());
        }
        connections
    }

    /// The thresholds of the school with `tenant`: its own, else the installation's.
    pub fn report_settings_for(&self, tenant: &str) -> ReportSettings {
        self.schools
            .iter()
            .find(|s| s.tenant == tenant)
            .and_then(|s| s.reports)
            .unwrap_or(self.reports)
    }

    /// The thresholds a read of one school uses: the school a page picked (`picked`), or the
    /// only one `scope` allows; with several schools, the installation's.
    pub fn report_settings_in(&self, scope: &Scope, picked: Option<&str>) -> ReportSettings {
        let only = picked
            .filter(|t| !t.is_empty())
            .or(match scope.tenant_list() {
                Some([one]) => Some(one.as_str()),
                _ => None,
            });
        only.map_or(self.reports, |t| self.report_settings_for(t))
    }

    /// `scope` split by thresholds: each school in it with its own, and the rest (the other
    /// listed schools and the removed ones, whose data is kept) with the installation's. One
    /// part, `scope` itself, while no school has its own.
    pub fn report_groups(&self, scope: &Scope) -> Vec<(Scope, ReportSettings)> {
        if self.schools.iter().all(|s| s.reports.is_none()) {
            return vec![(scope.clone(), self.reports)];
        }
        let mut groups: Vec<(Scope, ReportSettings)> = self
            .schools
            .iter()
            .filter(|s| scope.allows(&s.tenant))
            .filter_map(|s| Some((Scope::tenants([s.tenant.clone()]), s.reports?)))
            .collect();
        let rest: Vec<String> = self
            .schools
            .iter()
            .filter(|s| s.reports.is_none())
            .map(|s| s.tenant.clone())
            .chain(self.removed_schools.iter().map(|s| s.tenant.clone()))
            .filter(|t| scope.allows(t))
            .collect();
        if !rest.is_empty() {
            groups.push((Scope::tenants(rest), self.reports));
        }
        groups
    }

    /// The school with this id, if it is in the list.
    pub fn school(&self, id: &str) -> Option<&SchoolSettings> {
        self.schools.iter().find(|s| s.id == id)
    }

    /// The checks for a delivery at `/webhooks/dreamclass` (`school` `None`) or at
    /// `/webhooks/dreamclass/{school}`; `Err` says why nothing is received there.
    pub fn receiver(&self, school: Option<&str>) -> Result<WebhookAuth, NoReceiver> {
        match (school, self.schools.as_slice()) {
            (None, []) => self.webhook.auth().map_err(|_| NoReceiver::Unusable),
            (None, [only]) => only.auth().map_err(|_| NoReceiver::Unusable),
            (None, _) => Err(NoReceiver::SeveralSchools),
            (Some(_), []) => Err(NoReceiver::SingleSchoolOnly),
            (Some(id), schools) => schools
                .iter()
                .find(|s| s.id == id)
                .ok_or(NoReceiver::UnknownSchool)?
                .auth()
                .map_err(|_| NoReceiver::Unusable),
        }
    }

    /// Whether some webhook URL can verify a delivery (a secret, or unsigned allowed).
    pub fn some_receiver_checks(&self) -> bool {
        let usable = |w: &WebhookSettings| w.secret.is_some() || w.allow_unsigned;
        if self.schools.is_empty() {
            usable(&self.webhook)
        } else {
            self.schools.iter().any(|s| usable(&s.webhook))
        }
    }
}

/// Why nothing is received at a webhook URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoReceiver {
    /// `/webhooks/dreamclass` while several schools are listed.
    SeveralSchools,
    /// `/webhooks/dreamclass/{school}` while no list exists.
    SingleSchoolOnly,
    /// No school with that id is listed.
    UnknownSchool,
    /// Published settings are validated; kept so no `unwrap` is needed.
    Unusable,
}

/// The first school added while the single school's webhook settings are set takes them over
/// (for each it does not set itself), and they are cleared at the top: the installation's one
/// school becomes the first in the list, and DreamClass's deliveries to the old URL keep
/// verifying (one listed school answers there). Returns whether it took any over.
pub fn take_over_single_school(settings: &mut Settings, new: &mut SchoolSettings) -> bool {
    if !settings.schools.is_empty() {
        return false;
    }
    let single = std::mem::take(&mut settings.webhook);
    let had_any = single.secret.is_some() || single.basic_auth.is_some() || single.allow_unsigned;
    if new.webhook.secret.is_none() && single.secret.is_some() {
        new.webhook.secret = single.secret;
        new.webhook.key_encoding = single.key_encoding;
    }
    if new.webhook.basic_auth.is_none() {
        new.webhook.basic_auth = single.basic_auth;
    }
    new.webhook.allow_unsigned |= single.allow_unsigned;
    had_any
}

/// A `[[schools]]` table read into settings; the error names the school.
pub(super) fn from_table(table: &SchoolTable) -> Result<SchoolSettings, String> {
    let basic_auth = table
        .basic_auth
        .as_deref()
        .map(str::parse::<BasicAuth>)
        .transpose()
        .map_err(|e| format!("In the [[schools]] table of `{}`: {e}", table.id))?;
    Ok(SchoolSettings {
        id: table.id.clone(),
        name: table.name.clone(),
        tenant: table.tenant.clone(),
        webhook: WebhookSettings {
            secret: table.webhook_secret.clone(),
            key_encoding: table.key_encoding.unwrap_or_default(),
            basic_auth,
            allow_unsigned: table.allow_unsigned.unwrap_or(false),
        },
        api: SchoolApi {
            token: table
                .dreamclass_token
                .clone()
                .filter(|t| !t.trim().is_empty()),
            base_url: table
                .dreamclass_base_url
                .clone()
                .filter(|u| !u.trim().is_empty()),
        },
        reports: table
            .reports
            .as_ref()
            .map(ReportThresholds::settings)
            .transpose()
            .map_err(|e| format!("In the [[schools]] table of `{}`: {e}", table.id))?,
    })
}

/// A school as its `[[schools]]` table; a setting left at its default is left out.
pub(super) fn to_table(school: &SchoolSettings) -> SchoolTable {
    let webhook = &school.webhook;
    SchoolTable {
        id: school.id.clone(),
        name: school.name.clone(),
        tenant: school.tenant.clone(),
        webhook_secret: webhook.secret.clone(),
        key_encoding: (webhook.key_encoding != Default::default()).then_some(webhook.key_encoding),
        basic_auth: webhook
            .basic_auth
            .as_ref()
            .map(|b| format!("{}:{}", b.username, b.password)),
        allow_unsigned: webhook.allow_unsigned.then_some(true),
        dreamclass_token: school.api.token.clone(),
        dreamclass_base_url: school.api.base_url.clone(),
        reports: school.reports.as_ref().map(ReportThresholds::from_settings),
    }
}

pub(super) fn removed_from_table(table: &SchoolTable) -> RemovedSchool {
    RemovedSchool {
        id: table.id.clone(),
        name: table.name.clone(),
        tenant: table.tenant.clone(),
    }
}

pub(super) fn removed_to_table(school: &RemovedSchool) -> SchoolTable {
    SchoolTable {
        id: school.id.clone(),
        name: school.name.clone(),
        tenant: school.tenant.clone(),
        ..SchoolTable::default()
    }
}

/// The schools' secrets as one value for the secret store (the OS keyring): a JSON object
/// from school id to `{"secret": …, "basicAuth": "user:password"}`. One entry for all
/// schools, because the keyring is read by fixed names when Rollcall starts, before the list
/// of schools is known. `None` when no school has a secret.
pub(super) fn secrets_of(schools: &[SchoolTable]) -> Option<String> {
    let map: serde_json::Map<String, serde_json::Value> = schools
        .iter()
        .filter(|s| {
            s.webhook_secret.is_some() || s.basic_auth.is_some() || s.dreamclass_token.is_some()
        })
        .map(|s| {
            let mut entry = serde_json::Map::new();
            if let Some(secret) = &s.webhook_secret {
                entry.insert("secret".into(), secret.clone().into());
            }
            if let Some(basic) = &s.basic_auth {
                entry.insert("basicAuth".into(), basic.clone().into());
            }
            if let Some(token) = &s.dreamclass_token {
                entry.insert("apiToken".into(), token.clone().into());
            }
            (s.id.clone(), entry.into())
        })
        .collect();
    (!map.is_empty()).then(|| serde_json::Value::Object(map).to_string())
}

/// Puts the schools' secrets (as [`secrets_of`] makes them) into their tables: each school
/// the value names gets its secrets from it, the others keep theirs (they may sit in the
/// file). `None` takes every school's secrets out. A school the value names that the file
/// does not list is ignored (it was removed).
pub(super) fn put_secrets(schools: &mut [SchoolTable], value: Option<String>) {
    let Some(value) = value else {
        for school in schools {
            school.webhook_secret = None;
            school.basic_auth = None;
            school.dreamclass_token = None;
        }
        return;
    };
    let parsed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&value).unwrap_or_default();
    for school in schools {
        let Some(entry) = parsed.get(&school.id) else {
            continue;
        };
        let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).map(str::to_string);
        school.webhook_secret = field("secret");
        school.basic_auth = field("basicAuth");
        school.dreamclass_token = field("apiToken");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school(id: &str, tenant: &str, secret: &str) -> SchoolSettings {
        SchoolSettings {
            id: id.into(),
            name: format!("School {id}"),
            tenant: tenant.into(),
            webhook: WebhookSettings::signed(secret),
            api: SchoolApi::default(),
            reports: None,
        }
    }

    #[test]
    fn each_school_with_its_own_thresholds_is_read_with_them() {
        let mut settings = Settings {
            schools: vec![school("a", "ta", "s1"), school("b", "tb", "s2")],
            removed_schools: vec![RemovedSchool {
                id: "gone".into(),
                name: "Gone".into(),
                tenant: "tgone".into(),
            }],
            ..Settings::default()
        };
        let all = Scope::all();
        assert_eq!(
            settings.report_groups(&all),
            [(all.clone(), settings.reports)]
        );
        let own = ReportSettings {
            absences_per_day: 5,
            ..ReportSettings::default()
        };
        settings.schools[1].reports = Some(own);
        assert_eq!(settings.report_settings_for("tb"), own);
        assert_eq!(settings.report_settings_for("ta"), settings.reports);
        assert_eq!(
            settings.report_groups(&all),
            [
                (Scope::tenants(["tb"]), own),
                (Scope::tenants(["ta", "tgone"]), settings.reports)
            ]
        );
        assert_eq!(
            settings.report_groups(&Scope::tenants(["ta"])),
            [(Scope::tenants(["ta"]), settings.reports)],
            "a reader of one school gets that school only"
        );
        assert_eq!(settings.report_settings_in(&all, Some("tb")), own);
        assert_eq!(
            settings.report_settings_in(&Scope::tenants(["tb"]), None),
            own
        );
        assert_eq!(settings.report_settings_in(&all, None), settings.reports);
    }

    #[test]
    fn each_school_with_its_own_token_has_its_own_api_connection() {
        let mut settings = Settings {
            schools: vec![school("a", "ta", "s1"), school("b", "tb", "s2")],
            ..Settings::default()
        };
        settings.dreamclass.token = "shared".into();
        settings.dreamclass.tenant = "ta".into();
        settings.dreamclass.timeout_ms = 1234;
        let one = settings.api_connections();
        assert_eq!(one.len(), 1, "only [dreamclass], for school a: {one:?}");
        assert_eq!(one[0].tenant, "ta");
        settings.schools[1].api = SchoolApi {
            token: Some("b-token".into()),
            base_url: Some("https://b.example/api".into()),
        };
        let two = settings.api_connections();
        let shown: Vec<_> = two
            .iter()
            .map(|c| (c.tenant.as_str(), c.token.as_str(), c.base_url.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "ta",
                    "shared",
                    rollcall_dreamclass::config::DEFAULT_BASE_URL
                ),
                ("tb", "b-token", "https://b.example/api")
            ]
        );
        assert_eq!(
            two[1].timeout_ms, 1234,
            "the other settings are [dreamclass]'s"
        );
        // A school with its own token replaces [dreamclass] for its tenant.
        settings.schools[0].api.token = Some("a-token".into());
        let own: Vec<_> = settings
            .api_connections()
            .iter()
            .map(|c| (c.tenant.clone(), c.token.clone()))
            .collect();
        assert_eq!(
            own,
            [
                ("ta".to_string(), "a-token".to_string()),
                ("tb".into(), "b-token".into())
            ]
        );
    }

    #[test]
    fn ids_are_url_slugs() {
        for good in ["a", "north-primary", "x1", &"a".repeat(40)] {
            assert!(check_id(good).is_ok(), "{good}");
        }
        for bad in ["", "North", "a b", "a/b", "é", "a_b", &"a".repeat(41)] {
            let err = check_id(bad).unwrap_err();
            assert!(err.contains("lower-case letters"), "{err}");
        }
    }

    #[test]
    fn the_list_refuses_doubles_and_a_single_schools_secret_beside_it() {
        let mut settings = Settings {
            schools: vec![school("a", "ta", "s1"), school("b", "tb", "s2")],
            ..Settings::default()
        };
        assert_eq!(settings.validate(), Ok(()));
        settings.schools[1].tenant = "ta".into();
        assert!(settings
            .validate()
            .unwrap_err()
            .contains("both have the DreamClass tenant"));
        settings.schools[1].tenant = "tb".into();
        settings.schools[1].id = "a".into();
        assert!(settings
            .validate()
            .unwrap_err()
            .contains("Two schools have the id"));
        settings.schools[1].id = "b".into();
        settings.webhook.secret = Some("top".into());
        let err = settings.validate().unwrap_err();
        assert!(
            err.contains("move them into the school's [[schools]] table"),
            "{err}"
        );
    }

    /// The settings a `rollcall.toml` with this text gives, validated.
    fn from_file(text: &str) -> Result<Settings, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(rollcall_core::config::CONFIG_FILE), text).unwrap();
        let settings = super::super::settings_from(&super::super::read_file(dir.path())?)?;
        settings.validate()?;
        Ok(settings)
    }

    #[test]
    fn a_schools_own_thresholds_are_read_from_its_table_and_a_wrong_one_is_named() {
        let text = |absences: &str| {
            format!(
                "[[schools]]\nid = \"north\"\nname = \"North Primary\"\ntenant = \"n\"\n\
                 webhook_secret = \"s\"\n\n[schools.reports]\nabsences_per_day = {absences}\n"
            )
        };
        let read = from_file(&text("1")).unwrap();
        let own = read.schools[0].reports.expect("north's own thresholds");
        assert_eq!(own.absences_per_day, 1);
        assert_eq!(
            own.term_days,
            ReportSettings::default().term_days,
            "the rest: defaults"
        );
        let err = from_file(&text("0")).unwrap_err();
        assert!(
            err.contains("`north`") && err.contains("absences_per_day"),
            "{err}"
        );
        // Written back the same way.
        assert_eq!(
            to_table(&read.schools[0]).reports.unwrap().absences_per_day,
            Some(1)
        );
    }

    #[test]
    fn a_file_with_schools_is_read_and_each_mistake_is_a_sentence() {
        let two = r#"
            [[schools]]
            id = "north"
            name = "North Primary"
            tenant = "north-tenant"
            webhook_secret = "n"

            [[schools]]
            id = "south"
            name = "South High"
            tenant = "south-tenant"
            webhook_secret = "s"
            basic_auth = "office:pw"
        "#;
        let settings = from_file(two).unwrap();
        assert_eq!(settings.schools.len(), 2);
        assert_eq!(settings.school("south").unwrap().name, "South High");
        let south = settings.receiver(Some("south")).unwrap();
        assert_eq!(south.basic_auth.unwrap().username, "office");

        let bad_id = two.replace("id = \"south\"", "id = \"South High\"");
        let err = from_file(&bad_id).unwrap_err();
        assert!(
            err.contains("`South High` cannot be part of a web address"),
            "{err}"
        );
        let same_id = two.replace("id = \"south\"", "id = \"north\"");
        let err = from_file(&same_id).unwrap_err();
        assert!(err.contains("Two schools have the id `north`"), "{err}");
        let same_tenant = two.replace("\"south-tenant\"", "\"north-tenant\"");
        let err = from_file(&same_tenant).unwrap_err();
        assert!(
            err.contains("North Primary and South High both have the DreamClass tenant"),
            "{err}"
        );
        let top_secret = format!("webhook_secret = \"top\"\n{two}");
        let err = from_file(&top_secret).unwrap_err();
        assert!(
            err.contains("a list of schools and also a webhook Secret"),
            "{err}"
        );
        let no_tenant = two.replace("tenant = \"south-tenant\"", "");
        let err = from_file(&no_tenant).unwrap_err();
        assert!(
            err.contains("DreamClass domain (tenant) of South High"),
            "{err}"
        );
        let bad_basic = two.replace("office:pw", "office");
        let err = from_file(&bad_basic).unwrap_err();
        assert!(err.contains("[[schools]] table of `south`"), "{err}");
    }

    #[test]
    fn a_removed_school_shares_neither_id_nor_tenant_with_a_listed_one() {
        let mut settings = Settings {
            schools: vec![school("a", "ta", "s1")],
            removed_schools: vec![RemovedSchool {
                id: "b".into(),
                name: "School b".into(),
                tenant: "tb".into(),
            }],
            ..Settings::default()
        };
        assert_eq!(settings.validate(), Ok(()));
        settings.removed_schools[0].tenant = "ta".into();
        let err = settings.validate().unwrap_err();
        assert!(err.contains("Purge the removed school first"), "{err}");
        settings.removed_schools[0].tenant = "tb".into();
        settings.removed_schools[0].id = "a".into();
        assert!(settings.validate().is_err());
    }

    #[test]
    fn the_old_url_is_the_single_school_or_the_only_listed_one() {
        let mut settings = Settings {
            webhook: WebhookSettings::signed("single"),
            ..Settings::default()
        };
        assert!(settings.receiver(None).unwrap().school.is_none());
        assert_eq!(
            settings.receiver(Some("a")).unwrap_err(),
            NoReceiver::SingleSchoolOnly
        );
        let mut first = school("a", "ta", "s1");
        first.webhook.secret = None;
        assert!(take_over_single_school(&mut settings, &mut first));
        assert_eq!(first.webhook.secret.as_deref(), Some("single"));
        assert_eq!(settings.webhook, WebhookSettings::default());
        settings.schools.push(first);
        assert_eq!(settings.validate(), Ok(()));
        let only = settings.receiver(None).unwrap();
        assert_eq!(only.school.unwrap().tenant, "ta");
        settings.schools.push(school("b", "tb", "s2"));
        assert_eq!(
            settings.receiver(None).unwrap_err(),
            NoReceiver::SeveralSchools
        );
        assert_eq!(
            settings.receiver(Some("c")).unwrap_err(),
            NoReceiver::UnknownSchool
        );
        assert_eq!(
            settings.receiver(Some("b")).unwrap().school.unwrap().id,
            "b"
        );
    }

    #[test]
    fn secrets_round_trip_through_one_keyring_value() {
        let mut tables = vec![
            to_table(&school("a", "ta", "s1")),
            to_table(&school("b", "tb", "s2")),
        ];
        tables[1].basic_auth = Some("u:p".into());
        let value = secrets_of(&tables).unwrap();
        let mut read = tables.clone();
        put_secrets(&mut read, None);
        assert!(read
            .iter()
            .all(|t| t.webhook_secret.is_none() && t.basic_auth.is_none()));
        assert_eq!(secrets_of(&read), None);
        put_secrets(&mut read, Some(value));
        assert_eq!(read, tables);
    }
}
