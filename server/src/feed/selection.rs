//! A `SubscribeRequest` checked once at the edge: where the subscription starts, which
//! categories it names and which event types it keeps. Every bad field is reported at once,
//! under its proto3 JSON name.

use std::collections::HashSet;

use causeway_proto::{STORED_EVENT_TYPES, events::SubscribeRequest};

use crate::{
    grpc::{Invalid, Violations},
    values::{InvalidValue, identifier, invalid},
};

/// Most categories one subscription may name.
pub const MAX_CATEGORIES: usize = 32;
/// Most event types one subscription may name.
pub const MAX_EVENT_TYPES: usize = 64;
/// Longest category name.
pub const MAX_CATEGORY_CHARS: usize = 64;

/// Where a subscription starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// After this position (`None`: from the start of the log).
    After(Option<u64>),
    /// After the head as it is when the subscription starts.
    Head,
}

/// A validated subscription request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Where to start.
    pub start: Start,
    /// Categories named (empty: every category the caller may read).
    pub categories: Vec<String>,
    /// Event types kept (empty: every type).
    pub event_types: HashSet<String>,
}

impl Selection {
    /// Whether an event of `event_type` is kept.
    pub fn keeps(&self, event_type: &str) -> bool {
        self.event_types.is_empty() || self.event_types.contains(event_type)
    }
}

impl TryFrom<&SubscribeRequest> for Selection {
    type Error = Invalid;

    fn try_from(req: &SubscribeRequest) -> Result<Self, Invalid> {
        let mut v = Violations::default();
        let start = match (req.from_head, req.after) {
            (true, 0) => Start::Head,
            (true, _) => {
                v.add("after", "must be 0 (left out) when fromHead is set");
                Start::Head
            }
            (false, 0) => Start::After(None),
            (false, after) => Start::After(Some(after)),
        };
        if req.category.len() > MAX_CATEGORIES {
            v.add("category", format!("at most {MAX_CATEGORIES} categories"));
        }
        let categories: Vec<String> = req
            .category
            .iter()
            .enumerate()
            .filter_map(|(i, raw)| v.check(format!("category[{i}]"), category(raw)))
            .collect();
        if req.event_type.len() > MAX_EVENT_TYPES {
            v.add(
                "eventType",
                format!("at most {MAX_EVENT_TYPES} event types"),
            );
        }
        let event_types: HashSet<String> = req
            .event_type
            .iter()
            .enumerate()
            .filter_map(|(i, raw)| v.check(format!("eventType[{i}]"), event_type(raw)))
            .collect();
        v.finish(|| {
            Some(Self {
                start,
                categories,
                event_types,
            })
        })
    }
}

/// A stream category as a filter names it: an id of at most 64 characters without `-` (the
/// separator of stream names).
pub fn category(raw: &str) -> Result<String, InvalidValue> {
    let category = identifier(raw)?;
    if category.chars().count() > MAX_CATEGORY_CHARS {
        invalid(format!("at most {MAX_CATEGORY_CHARS} characters"))
    } else if category.contains('-') {
        invalid("a category is the part of a stream name before the first '-', so has none")
    } else {
        Ok(category)
    }
}

/// A stored event type of the contracts, by full protobuf name.
fn event_type(raw: &str) -> Result<String, InvalidValue> {
    if STORED_EVENT_TYPES.contains(&raw) {
        Ok(raw.to_owned())
    } else {
        invalid(
            "not a stored event type of the contracts (a full protobuf name such as \
             causeway.orders.v1.OrderPlaced)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_request_reads_everything_from_the_start() {
        let selection = Selection::try_from(&SubscribeRequest::default()).unwrap();
        assert_eq!(selection.start, Start::After(None));
        assert!(selection.categories.is_empty() && selection.keeps("anything"));
        let head = SubscribeRequest {
            from_head: true,
            category: vec!["order".into()],
            event_type: vec!["causeway.orders.v1.OrderPlaced".into()],
            ..Default::default()
        };
        let selection = Selection::try_from(&head).unwrap();
        assert_eq!(selection.start, Start::Head);
        assert!(selection.keeps("causeway.orders.v1.OrderPlaced"));
        assert!(!selection.keeps("causeway.orders.v1.OrderShipped"));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let bad = SubscribeRequest {
            after: 7,
            from_head: true,
            category: vec![
                "order".into(),
                "order-1".into(),
                "".into(),
                "a\u{200B}".into(),
            ],
            event_type: vec!["OrderPlaced".into()],
        };
        let fields: Vec<String> = Selection::try_from(&bad)
            .unwrap_err()
            .0
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "after",
                "category[1]",
                "category[2]",
                "category[3]",
                "eventType[0]"
            ]
        );
        let many = SubscribeRequest {
            category: vec!["c".into(); MAX_CATEGORIES + 1],
            ..Default::default()
        };
        assert_eq!(
            Selection::try_from(&many).unwrap_err().0[0].field,
            "category"
        );
    }
}
