//! What can go wrong talking to DreamClass, in words for the person at the office computer.

/// A failed API call. `Display` is a sentence for the user with what to do next; [`code`]
/// is a stable name for programs.
///
/// [`code`]: ApiError::code
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error(
        "The DreamClass API is not set up yet: enter its address and an API token in Settings."
    )]
    NotConfigured,
    #[error(
        "The school's DreamClass domain (such as my-school) is not set: enter it in Settings, \
         next to the API token."
    )]
    TenantNotSet,
    #[error(
        "The DreamClass API address \"{0}\" is not a web address: check it in Settings \
         (it looks like https://api.dreamclass.io/dreamclassapi/v1)."
    )]
    BadAddress(String),
    #[error(
        "The API token was refused (401): create a new one in DreamClass and enter it in Settings."
    )]
    TokenRefused,
    #[error(
        "DreamClass refused access to the school \"{tenant}\" (403): check that the school name \
         in Settings is your DreamClass domain (such as my-school) and that the API token may \
         read students and attendance."
    )]
    Forbidden { tenant: String },
    #[error(
        "DreamClass has nothing at {url} (404): the API address or a path in Settings is wrong. \
         The address usually ends in /dreamclassapi/v1."
    )]
    NotFound { url: String },
    #[error(
        "Rollcall could not reach DreamClass at {host}: check this computer's internet \
         connection and the API address in Settings. Rollcall keeps trying by itself."
    )]
    Unreachable { host: String },
    #[error(
        "DreamClass did not answer in time: it may be busy or the connection slow. Rollcall \
         tries again by itself."
    )]
    TimedOut,
    #[error(
        "DreamClass is not available right now (error {status}). Rollcall tries again by \
         itself; nothing needs doing."
    )]
    Unavailable { status: u16 },
    #[error("DreamClass asked Rollcall to slow down (429). Rollcall tries again by itself.")]
    RateLimited,
    #[error(
        "DreamClass answered {url} with error {status}. Check the API settings; if they are \
         right, tell your Rollcall support."
    )]
    UnexpectedStatus { url: String, status: u16 },
    #[error(
        "DreamClass answered {url} with something Rollcall does not understand ({detail}). \
         Check the API address and paths in Settings; if they are right, tell your Rollcall \
         support."
    )]
    BadResponse { url: String, detail: String },
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    /// A stable machine-readable name, for JSON answers.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured => "not_configured",
            Self::TenantNotSet => "tenant_not_set",
            Self::BadAddress(_) => "bad_address",
            Self::TokenRefused => "token_refused",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::Unreachable { .. } => "unreachable",
            Self::TimedOut => "timed_out",
            Self::Unavailable { .. } => "unavailable",
            Self::RateLimited => "rate_limited",
            Self::UnexpectedStatus { .. } => "unexpected_status",
            Self::BadResponse { .. } => "bad_response",
        }
    }

    /// Whether trying the same request again soon may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::TimedOut
                | Self::Unavailable { .. }
                | Self::RateLimited
        )
    }

    /// The message for the user (the same as `to_string()`).
    pub fn user_message(&self) -> String {
        self.to_string()
    }
}
