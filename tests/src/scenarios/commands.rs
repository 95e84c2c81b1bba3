//! The command services end to end: a real server on a free loopback port, driven through the
//! generated clients over real gRPC.
//!
//! Layout: `fixtures` (requests, clients, a stocked product); `business` (the path without
//! errors); `refusals` (invalid, unknown, against a business rule); `repeats` (expected
//! revisions and repeated command ids).

mod business;
mod fixtures;
mod refusals;
mod repeats;

pub use self::{
    business::a_day_of_business_over_grpc,
    refusals::{
        bad_requests_name_the_offending_field, broken_rules_are_failed_precondition,
        unknown_ids_are_not_found,
    },
    repeats::{
        a_repeated_command_id_appends_once_and_replays_the_ack,
        a_stale_expected_revision_is_aborted,
    },
};
