//! Ids derived from a command id. A retried command must produce byte-identical events and name
//! the same new entities, so nothing the server invents may be random.

use uuid::Uuid;

/// Namespace of every Causeway-derived UUIDv5.
const CAUSEWAY_NAMESPACE: Uuid = Uuid::from_u128(0x6361_7573_6577_6179_8000_0000_0000_0001);

/// The namespace of one command: the command id itself when it is a UUID (as the SDK sends),
/// otherwise a UUIDv5 of the string (e.g. an HTTP `Idempotency-Key`).
fn command_namespace(command_id: &str) -> Uuid {
    Uuid::parse_str(command_id)
        .unwrap_or_else(|_| Uuid::new_v5(&CAUSEWAY_NAMESPACE, command_id.as_bytes()))
}

/// Id of the `index`-th event a command appends to `stream`: UUIDv5 of the command id over the
/// stream and the index. Including the stream keeps ids unique across the streams one command
/// writes (registration writes a reservation stream and a user stream).
pub fn event_id(command_id: &str, stream: &str, index: usize) -> Uuid {
    Uuid::new_v5(
        &command_namespace(command_id),
        format!("{stream}#{index}").as_bytes(),
    )
}

/// An entity id the server chooses for a command (e.g. a new order id): stable across retries.
pub fn derived_id(command_id: &str, kind: &str) -> String {
    Uuid::new_v5(&command_namespace(command_id), kind.as_bytes()).to_string()
}

/// A digest of a request's bytes, stable across processes and releases: what tells a retry of
/// a command from another request sent under the same command id.
pub fn fingerprint(request: &[u8]) -> String {
    let namespace = Uuid::new_v5(&CAUSEWAY_NAMESPACE, b"request-fingerprint");
    Uuid::new_v5(&namespace, request).simple().to_string()
}

/// A stable key for a natural identifier such as an email, usable in a stream name.
pub fn natural_key(kind: &str, value: &str) -> String {
    Uuid::new_v5(&CAUSEWAY_NAMESPACE, format!("{kind}:{value}").as_bytes())
        .simple()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_command_same_ids_other_command_other_ids() {
        let a = Uuid::now_v7().to_string();
        let b = Uuid::now_v7().to_string();
        assert_eq!(event_id(&a, "order-1", 0), event_id(&a, "order-1", 0));
        assert_ne!(event_id(&a, "order-1", 0), event_id(&a, "order-1", 1));
        assert_ne!(event_id(&a, "order-1", 0), event_id(&a, "user-1", 0));
        assert_ne!(event_id(&a, "order-1", 0), event_id(&b, "order-1", 0));
        assert_eq!(derived_id(&a, "order"), derived_id(&a, "order"));
        assert_ne!(derived_id(&a, "order"), derived_id(&b, "order"));
        assert_eq!(event_id("key-1", "s-1", 0), event_id("key-1", "s-1", 0));
        assert_eq!(natural_key("email", "a@b.c"), natural_key("email", "a@b.c"));
        assert_ne!(natural_key("email", "a@b.c"), natural_key("email", "a@b.d"));
    }
}
