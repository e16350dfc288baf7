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

    /// `filter` narrowed to this scope (the store calls it before every filtered read).
    pub fn restrict(&self, filter: &crate::filter::RecordFilter) -> crate::filter::RecordFilter {
        let mut narrowed = filter.clone();
        narrowed.scope = match (&filter.scope.tenants, &self.tenants) {
            (None, _) => self.clone(),
            (Some(_), None) => filter.scope.clone(),
            (Some(a), Some(b)) => Self::tenants(a.iter().filter(|t| b.contains(t)).cloned()),
        };
        narrowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::RecordFilter;

    #[test]
    fn a_scope_narrows_and_never_widens() {
        assert!(Scope::all().allows("any-school"));
        let one = Scope::tenants(["north"]);
        assert!(one.allows("north") && !one.allows("south"));
        assert!(!Scope::tenants(Vec::<String>::new()).allows("north"));
        let narrowed = one.restrict(&RecordFilter::default());
        assert_eq!(narrowed.scope, one);
        let both = Scope::tenants(["north", "south"]).restrict(&narrowed);
        assert_eq!(both.scope, one, "a wider scope keeps the narrower one");
        assert_eq!(Scope::all().restrict(&narrowed).scope, one);
    }
}
