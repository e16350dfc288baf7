//! Settings that cannot work, said so that the person at the office PC can fix them.

/// A tunnel setting that cannot work. Each message says what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("Unknown tunnel `{0}`: choose ngrok, bore, cloudflare, manual or none.")]
    UnknownProvider(String),

    #[error(
        "ngrok needs your account's authtoken. Sign in at dashboard.ngrok.com, copy the \
         authtoken from \"Your Authtoken\", and paste it in Settings (or set \
         ROLLCALL_NGROK_AUTHTOKEN)."
    )]
    MissingNgrokAuthtoken,

    #[error(
        "The ngrok domain `{0}` is not a domain name. Enter only the name reserved in ngrok, \
         like myschool.ngrok.app, without a path or port."
    )]
    NgrokDomainNotAHost(String),

    #[error(
        "bore needs the name of a bore server. Enter the server your IT contact gave you, or \
         bore.pub for the public one."
    )]
    MissingBoreServer,

    #[error(
        "The bore server `{0}` should be only a server name, like bore.pub: enter it without \
         http://, a port or a path."
    )]
    BoreServerNotAHost(String),

    #[error("Enter the public URL that reaches this computer, like https://school.example.org.")]
    MissingPublicUrl,

    #[error(
        "`{0}` is not a web address. Enter the full public URL, starting with https:// (or \
         http://), without ? or #."
    )]
    PublicUrlInvalid(String),

    #[error(
        "`{0}` is an address that only this computer can use, so DreamClass cannot reach it. \
         Enter the public URL of your reverse proxy or router, or choose a tunnel instead."
    )]
    PublicUrlIsLocal(String),
}
