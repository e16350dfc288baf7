//! The DreamClass API side of Rollcall: the names behind the ids that webhooks carry, and the
//! changes DreamClass sent while Rollcall was not listening.
//!
//! - [`DreamClass`] is what a server runs: it reads statuses, students, classes and courses in
//!   the background (at start, periodically, and when a change names an unknown id), keeps
//!   them in SQLite, records when Rollcall was listening, and after a gap asks DreamClass for
//!   the attendance of the missed days ([`recovery`] explains which timestamp a recovered
//!   version gets). Nothing here is on the webhook path.
//! - The names, listening periods and gaps are kept by the store
//!   (`rollcall_core::store::Store`); [`reference`] reads reference webhooks for it.
//! - [`DreamClassClient`] is the API client; [`ApiConfig`] its settings; [`ApiError`] says
//!   what went wrong in words for the office.
//!
//! The fake DreamClass API and the demo live in `rollcall-simulator`, beside the webhook
//! traffic they keep in step with; this crate only talks to a DreamClass, real or fake.
//!
//! # Usage
//!
//! ```no_run
//! # async fn run(store: rollcall_core::store::SharedStore)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use rollcall_dreamclass::{ApiConfig, DreamClass, DreamClassOptions};
//!
//! let config = ApiConfig { token: "…".into(), tenant: "my-school".into(), ..ApiConfig::default() };
//! let dreamclass = DreamClass::start(config, store.clone(), DreamClassOptions::default()).await?;
//!
//! // SSE: `event: reference` whenever names change; the UI then re-fetches /api/reference.
//! let mut names = dreamclass.subscribe_reference();
//! # let _ = names.recv().await;
//! let reference = dreamclass.reference().await?;          // GET /api/reference
//! let report = dreamclass.check_for_missed_changes(None).await; // "Check for missed changes"
//! println!("{}", report.message);
//! match dreamclass.test_connection().await {               // "Test connection"
//!     Ok(found) => println!("{}", found.message),
//!     Err(e) => println!("{e}"),                            // a sentence for the user
//! }
//! dreamclass.shutdown().await; // before store.shutdown(): records the end of listening
//! # let _ = reference; Ok(()) }
//! ```

pub mod category;
pub mod client;
pub mod config;
pub mod decode;
pub mod error;
pub mod listening;
pub mod rate;
pub mod recovery;
pub mod reference;
pub mod resolver;
pub mod service;
pub mod wake;

pub use category::{guess_category, StatusCategory};
pub use client::{ConnectionSummary, DreamClassClient};
pub use config::{ApiConfig, ApiPaths};
pub use error::ApiError;
pub use recovery::{RecoveryOptions, RecoveryReport};
pub use reference::{
    is_reference_event, reference_update, Reference, ReferenceName, ReferenceStatus,
    ReferenceStudent,
};
pub use service::{ApiState, DreamClass, DreamClassOptions, ReferenceChanged, WallClock, WokeUp};
