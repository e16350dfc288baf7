//! The names behind DreamClass ids on PostgreSQL. INTERIM: being ported; every function
//! below panics until then.
#![allow(unused_variables, clippy::todo)]

use std::collections::HashMap;

use postgres::Client;
use rollcall_core::model::StatusCategory;
use rollcall_core::store::reference::{
    FetchedReference, KnownIds, NamedId, Reference, ReferenceUpdate, ReferenceWebhookEffect,
};

use crate::write_tx::WriteTx;

pub fn load_reference(c: &mut Client) -> Result<Reference, postgres::Error> {
    todo!("port")
}
pub fn names_of(
    c: &mut Client,
    ids: &[NamedId],
) -> Result<HashMap<NamedId, String>, postgres::Error> {
    todo!("port")
}
pub fn known_ids(c: &mut Client) -> Result<KnownIds, postgres::Error> {
    todo!("port")
}
pub fn attendance_has_unknown_ids(c: &mut Client) -> Result<bool, postgres::Error> {
    todo!("port")
}
pub fn store_fetched(
    t: &mut WriteTx<'_>,
    f: &FetchedReference,
    now: i64,
) -> Result<bool, postgres::Error> {
    todo!("port")
}
pub fn set_status_category(
    t: &mut WriteTx<'_>,
    id: i64,
    c: Option<StatusCategory>,
) -> Result<bool, postgres::Error> {
    todo!("port")
}
pub fn apply_reference_update(
    t: &mut WriteTx<'_>,
    u: &ReferenceUpdate,
    now: i64,
) -> Result<ReferenceWebhookEffect, postgres::Error> {
    todo!("port")
}
