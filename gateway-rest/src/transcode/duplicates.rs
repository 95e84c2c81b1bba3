//! Duplicate keys in a JSON body. serde (and so the proto3 JSON reader) keeps the last of two
//! equal keys, so `{"quantity":1,"quantity":1000}` would mean what a proxy, a log or a WAF in
//! front of us did not see. RFC 8259 leaves duplicates undefined; we refuse them.

use std::{cell::RefCell, collections::HashSet, fmt};

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

/// The path (in the body's own key names, `lines[0].sku`) of the first key given twice in one
/// object of `json`. Malformed JSON has no duplicate here: the reader reports it afterwards.
pub(super) fn first_duplicate(json: &[u8]) -> Option<String> {
    let found = RefCell::new(None);
    let mut reader = serde_json::Deserializer::from_slice(json);
    let _ = Node {
        path: String::new(),
        found: &found,
    }
    .deserialize(&mut reader);
    found.into_inner()
}

/// One value of the document at `path`; stops the walk at the first duplicate.
struct Node<'a> {
    path: String,
    found: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let item = Node {
                path: format!("{}[{index}]", self.path),
                found: self.found,
            };
            if seq.next_element_seed(item)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if !seen.insert(key) {
                *self.found.borrow_mut() = Some(path);
                return Err(A::Error::custom("duplicate key"));
            }
            map.next_value_seed(Node {
                path,
                found: self.found,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_key_given_twice_at_any_depth() {
        assert_eq!(first_duplicate(br#"{"a":1,"b":{"a":2}}"#), None);
        assert_eq!(
            first_duplicate(br#"{"quantity":"1","quantity":"1000"}"#).as_deref(),
            Some("quantity")
        );
        assert_eq!(
            first_duplicate(br#"{"lines":[{"sku":"a"},{"sku":"b","sku":"c"}]}"#).as_deref(),
            Some("lines[1].sku")
        );
        assert_eq!(
            first_duplicate(br#"{"a\u0062":1,"ab":2}"#).as_deref(),
            Some("ab"),
            "escapes are compared decoded"
        );
        assert_eq!(first_duplicate(b"{not json"), None);
        assert_eq!(first_duplicate(b"[1,2,[3]]"), None);
    }
}
