//! [`Scope`]: which schools (DreamClass tenants) a reader may see. Every read of the store
//! takes one; [`Scope::all`] (everything) is what a single-office Rollcall uses, and sign-in
//! will fill it per viewer.
//!
//! Invariant: a scope only ever narrows what a request's own filter selects.

/// The tenants a reader may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `None`: every tenant.
    tenants: Option<Vec<String>>,
}

impl Scope {
    /// Every school: the scope of the office computer today.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only these tenants (none at all when the list is empty).
    pub fn tenants<S: Into<String>>(tenants: impl IntoIterator<Item = S>) -> Self {
        Self {
            tenants: Some(tenants.into_iter().map(Into::into).collect()),
        }
    }

    /// The tenants allowed, or `None` for every tenant.
    pub fn tenant_list(&self) -> Option<&[String]> {
        self.tenants.as_deref()
    }

    /// Whether a row of `tenant` may be shown.
    pub fn allows(&self, tenant: &str) -> bool {
        self.tenants
            .as_ref()
            .is_none_or(|list| list.iter().any(|t| t == tenant))
    }

    /// This scope narrowed to the one school a page picked (`tenant`), or as it is when the
    /// page picked none ("all schools"). A school outside the scope leaves nothing.
    pub fn narrowed_to(self, tenant: Option<&str>) -> Scope {
        match tenant.filter(|t| !t.is_empty()) {
            Some(t) => self.intersect(&Scope::tenants([t])),
            None => self,
        }
    }

    /// The tenants both scopes allow: a scope only ever narrows another.
    pub fn intersect(&self, other: &Scope) -> Scope {
        match (&self.tenants, &other.tenants) {
            (None, _) => other.clone(),
            (Some(_), None) => self.clone(),
            (Some(a), Some(b)) => Self::tenants(a.iter().filter(|t| b.contains(t)).cloned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picked_school_narrows_and_never_widens() {
        let north = Scope::tenants(["north"]);
        assert_eq!(
            Scope::all().narrowed_to(Some("south")),
            Scope::tenants(["south"])
        );
        assert_eq!(north.clone().narrowed_to(Some("")), north);
        assert_eq!(north.clone().narrowed_to(None), north);
        assert!(!north.narrowed_to(Some("south")).allows("south"));
    }

    #[test]
    fn a_scope_narrows_and_never_widens() {
        assert!(Scope::all().allows("any-school"));
        let one = Scope::tenants(["north"]);
        assert!(one.allows("north") && !one.allows("south"));
        assert!(!Scope::tenants(Vec::<String>::new()).allows("north"));
        assert_eq!(Scope::all().intersect(&one), one);
        let both = Scope::tenants(["north", "south"]);
        assert_eq!(
            both.intersect(&one),
            one,
            "a wider scope keeps the narrower one"
        );
        assert_eq!(one.intersect(&both), one);
        assert_eq!(one.intersect(&Scope::all()), one);
        assert_eq!(
            one.intersect(&Scope::tenants(["south"])),
            Scope::tenants(Vec::<String>::new())
        );
    }
}
