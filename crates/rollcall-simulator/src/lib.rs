//! DreamClass, simulated: a demo school, the signed webhook traffic DreamClass would send for
//! it, and a fake DreamClass API that serves the same school. This is what `rollcall simulate`
//! sends, what `rollcall serve --demo` shows a new user, and what the tests and benchmarks push
//! through the real listener. Nothing here is used when a real DreamClass account is set up.
//! [`fake_openid`] stands in, in the tests, for the district's Google or Microsoft sign-in.

pub mod demo;
pub mod envelope;
pub mod fake_dreamclass;
pub mod fake_openid;
pub mod school;
pub mod send;
pub mod traffic;

pub use envelope::{envelope_body, webhook_body};
pub use fake_dreamclass::FakeDreamClass;
pub use school::{DemoSchool, StatusCategory, DEMO_TENANT};
pub use send::{send_all, SendOptions, SendReport};
pub use traffic::{plan, DeliveryNote, PlanOptions, PlannedDelivery, TrafficPlan};
