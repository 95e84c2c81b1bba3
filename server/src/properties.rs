//! Property tests (proptest) over the whole crate: what must hold for any input, not just the
//! examples the unit tests pick.
//!
//! Layout:
//! - `aggregates`: any sequence of commands keeps each context's invariants (reserved stock
//!   never exceeds stock on hand, a shipped or otherwise final order never changes again, one
//!   email address belongs to at most one user).
//! - `codec`: every event round-trips through its stored proto3 JSON form, and every stored
//!   schema version of every event type upcasts to one today's decoder reads.

mod aggregates;
mod codec;
