//! The one table of what each API route needs: read by the guard for every request, so a
//! route added later is covered by its method and place without code of its own.
//!
//! - Reading the feed, board, history, reports and alerts: any signed-in person.
//! - Exports (CSV) and "check for missed changes": staff.
//! - Everything that changes settings, secrets, schools or people, the raw deliveries, the
//!   backup and the audit log: administrators.

use axum::http::Method;
use rollcall_core::accounts::Role;

/// What is done at a route, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Reads,
    Exports,
    Changes,
}

/// The role a request needs and what kind of request it is. `path` is below `/api`.
pub fn required(method: &Method, path: &str) -> (Role, Kind) {
    let reading = matches!(*method, Method::GET | Method::HEAD);
    let under = |prefix: &str| {
        path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    if reading {
        if under("/export") {
            (Role::Staff, Kind::Exports)
        } else if under("/backup") {
            (Role::Administrator, Kind::Exports)
        } else if under("/people")
            || under("/audit")
            || under("/deliveries")
            || under("/forwarding")
            || path.starts_with("/settings/")
        {
            (Role::Administrator, Kind::Reads)
        } else {
            (Role::Viewer, Kind::Reads)
        }
    } else if path == "/sign-out" || path == "/session/renew" {
        // Anyone may end or renew their own session; the routes write their own lines.
        (Role::Viewer, Kind::Reads)
    } else if path == "/dreamclass/check" {
        (Role::Staff, Kind::Changes)
    } else {
        (Role::Administrator, Kind::Changes)
    }
}

/// The refusal's sentence: what the person is and who can do it.
pub fn refusal(role: Role, needed: Role, kind: Kind) -> String {
    let what = match kind {
        Kind::Reads => "see this",
        Kind::Exports => "export reports",
        Kind::Changes => "change this",
    };
    format!(
        "You are signed in as {}, and only {} or above can {what}. Ask an administrator if \
         you need it.",
        role.with_article(),
        needed.with_article()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_route_needs_its_role() {
        let get = Method::GET;
        assert_eq!(required(&get, "/changes").0, Role::Viewer);
        assert_eq!(required(&get, "/board").0, Role::Viewer);
        assert_eq!(required(&get, "/settings").0, Role::Viewer);
        assert_eq!(
            required(&get, "/export/attendance.csv"),
            (Role::Staff, Kind::Exports)
        );
        assert_eq!(
            required(&get, "/exporter").0,
            Role::Viewer,
            "a prefix is a whole segment"
        );
        assert_eq!(required(&get, "/backup").0, Role::Administrator);
        assert_eq!(required(&get, "/deliveries").0, Role::Administrator);
        assert_eq!(required(&get, "/settings/digest").0, Role::Administrator);
        assert_eq!(required(&get, "/people").0, Role::Administrator);
        assert_eq!(required(&get, "/audit").0, Role::Administrator);
        assert_eq!(
            required(&Method::PUT, "/settings/webhook").0,
            Role::Administrator
        );
        assert_eq!(required(&Method::POST, "/schools").0, Role::Administrator);
        assert_eq!(
            required(&Method::DELETE, "/schools/north").0,
            Role::Administrator
        );
        assert_eq!(required(&Method::POST, "/dreamclass/check").0, Role::Staff);
        assert_eq!(required(&Method::POST, "/sign-out").0, Role::Viewer);
        assert_eq!(required(&Method::POST, "/session/renew").0, Role::Viewer);
    }
}
