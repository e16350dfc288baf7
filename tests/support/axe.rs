//! axe-core, the accessibility rules engine, run inside the page under test: the same checks
//! a person would run with the axe browser extension. The script comes from the UI's own
//! devDependency (`ui/node_modules/axe-core/axe.min.js`), so no network is needed.
//!
//! Only serious and critical violations fail a test: those stop someone from using a view
//! (no name on a control, text too faint to read, a form field without a label).

use std::sync::OnceLock;

use fantoccini::Client;
use serde_json::Value;

/// The axe-core script, read once; panics saying how to install it when missing.
pub fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = super::checkout_dir().join("ui/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{} cannot be read ({e}): the accessibility checks use the UI's axe-core. \
                 Install the UI's packages first: npm --prefix ui ci",
                path.display()
            )
        })
    })
}

/// The serious and critical violations on the page as it is now, one line each: the rule,
/// what it asks for, and the first elements that break it. Text whose contrast axe measured
/// below the required ratio counts too, even where axe only calls it "incomplete".
pub async fn serious_violations(client: &Client) -> Vec<String> {
    // A new document (not a hash change) has lost the script: load it again.
    let loaded = client
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .unwrap_or(Value::Bool(false));
    if loaded != Value::Bool(true) {
        client
            .execute(&format!("{}\nreturn true;", axe_source()), vec![])
            .await
            .unwrap_or_else(|e| panic!("axe-core could not be loaded into the page: {e}"));
    }
    let answer = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               const where = (n) => `${n.target.join(" ")} (${(n.failureSummary || "").replace(/\s+/g, " ").trim()})`;
               // axe files the contrast of very short text (a count badge: "3") under
               // "incomplete", though it measured both colours: a measured ratio below the
               // one required is as much a failure as any other.
               const measuredTooLow = (n) => n.any.some((c) => c.data && c.data.contrastRatio
                 && c.data.contrastRatio < parseFloat(c.data.expectedContrastRatio));
               axe.run(document, { resultTypes: ["violations", "incomplete"] }).then(
                 (r) => done(r.violations
                   .filter((v) => v.impact === "serious" || v.impact === "critical")
                   .map((v) => `${v.impact} ${v.id}: ${v.help} — ` + v.nodes.slice(0, 4).map(where).join("; "))
                   .concat(r.incomplete
                     .filter((v) => v.id === "color-contrast")
                     .flatMap((v) => v.nodes.filter(measuredTooLow).map((n) => {
                       const d = n.any.find((c) => c.data && c.data.contrastRatio).data;
                       return `serious color-contrast: ${v.help} — ${n.target.join(" ")} (${d.fgColor} on ${d.bgColor} is ${d.contrastRatio}:1, ${d.expectedContrastRatio} needed)`;
                     })))),
                 (e) => done([`axe could not run: ${e}`]));"#,
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("axe-core did not answer: {e}"));
    serde_json::from_value(answer).expect("axe's answer is a list of sentences")
}
