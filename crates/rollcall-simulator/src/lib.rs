//! The demo school and simulated DreamClass traffic: what `rollcall simulate` sends, what
//! `rollcall serve --demo` shows a new user, and what the tests and benchmarks push through
//! the real listener.

pub mod envelope;
pub mod school;
pub mod send;
pub mod traffic;

pub use envelope::{envelope_body, webhook_body};
pub use school::{DemoSchool, StatusCategory, DEMO_TENANT};
pub use send::{send_all, SendOptions, SendReport};
pub use traffic::{plan, DeliveryNote, PlanOptions, PlannedDelivery, TrafficPlan};
