//! Every command RPC's request as the server gets it: protobuf bytes decoded into the request
//! message, then through the one edge every handler shares (command options, fingerprint,
//! `TryFrom` into the domain command with every violation collected). Nothing may panic, and a
//! request the edge accepts must carry a command id within its documented bounds.
//!
//! Input: one byte picks the RPC, the rest is the request message in the protobuf wire format.
#![no_main]

use causeway_proto::{identity, inventory, orders};
use causeway_server::{
    grpc::{CommandRequest, Invalid, command::MAX_COMMAND_ID_CHARS, parse},
    identity::{
        domain::{DisableUser, GrantRole, RevokeRole},
        registration::NewUser,
    },
    inventory::domain::{ReceiveStock, RegisterProduct, ReleaseStock, ReserveStock},
    orders::domain::{CancelOrder, ConfirmOrder, NewOrder, RejectOrder, ShipOrder},
};
use libfuzzer_sys::fuzz_target;

/// Decodes `bytes` as `R` and runs it through the edge as command `C`.
fn edge<R, C>(bytes: &[u8])
where
    R: CommandRequest + Default,
    C: TryFrom<R, Error = Invalid>,
{
    let Ok(request) = R::decode(bytes) else {
        return;
    };
    if let Ok(parsed) = parse::<R, C>(tonic::Request::new(request)) {
        let id = &parsed.context.command_id;
        assert!(!id.is_empty() && id.chars().count() <= MAX_COMMAND_ID_CHARS);
    }
}

fuzz_target!(|input: &[u8]| {
    let [rpc, bytes @ ..] = input else {
        return;
    };
    match rpc % 13 {
        0 => edge::<orders::PlaceOrderRequest, NewOrder>(bytes),
        1 => edge::<orders::ConfirmOrderRequest, ConfirmOrder>(bytes),
        2 => edge::<orders::RejectOrderRequest, RejectOrder>(bytes),
        3 => edge::<orders::CancelOrderRequest, CancelOrder>(bytes),
        4 => edge::<orders::ShipOrderRequest, ShipOrder>(bytes),
        5 => edge::<inventory::RegisterProductRequest, RegisterProduct>(bytes),
        6 => edge::<inventory::ReceiveStockRequest, ReceiveStock>(bytes),
        7 => edge::<inventory::ReserveStockRequest, ReserveStock>(bytes),
        8 => edge::<inventory::ReleaseStockRequest, ReleaseStock>(bytes),
        9 => edge::<identity::RegisterUserRequest, NewUser>(bytes),
        10 => edge::<identity::GrantRoleRequest, GrantRole>(bytes),
        11 => edge::<identity::RevokeRoleRequest, RevokeRole>(bytes),
        _ => edge::<identity::DisableUserRequest, DisableUser>(bytes),
    }
});
