//! Events are facts and are never rewritten; when an event type's schema changes, readers turn
//! old payloads into the current shape on the way in. Each upcaster lifts one type by one version.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use serde_json::Value;

use super::{DecodeError, DomainEvent, EventMetadata};
use crate::store::RecordedEvent;

type Upcast = Arc<dyn Fn(Value) -> Result<Value, String> + Send + Sync>;

/// Upcasters by (event type, version they read); applied in a chain up to the newest.
#[derive(Clone, Default)]
pub struct Upcasters {
    steps: HashMap<(String, u32), Upcast>,
    types: HashSet<String>,
}

impl std::fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upcasters")
            .field("steps", &self.steps.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Upcasters {
    /// Registers the step that turns version `from` of `event_type` into version `from + 1`.
    pub fn register(
        mut self,
        event_type: &str,
        from: u32,
        step: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        self.steps
            .insert((event_type.to_owned(), from), Arc::new(step));
        self.types.insert(event_type.to_owned());
        self
    }

    /// The domain event stored in `record`, upcast to its current schema first when needed.
    /// Metadata is only parsed for event types that have upcasters.
    pub fn decode<E: DomainEvent>(&self, record: &RecordedEvent) -> Result<E, DecodeError> {
        if !self.types.contains(&record.event_type) {
            return E::decode(&record.event_type, &record.data);
        }
        let version = EventMetadata::schema_version_of(&record.metadata);
        let data = self.upcast(&record.event_type, version, &record.data)?;
        E::decode(&record.event_type, &data)
    }

    /// The payload of `event_type` stored at `version`, in the newest shape this registry knows.
    /// Borrows the payload unchanged when no step applies (the common case).
    pub fn upcast<'a>(
        &self,
        event_type: &str,
        mut version: u32,
        data: &'a [u8],
    ) -> Result<std::borrow::Cow<'a, [u8]>, DecodeError> {
        if !self.steps.contains_key(&(event_type.to_owned(), version)) {
            return Ok(std::borrow::Cow::Borrowed(data));
        }
        let malformed = |reason: String| DecodeError::Malformed {
            event_type: event_type.to_owned(),
            reason,
        };
        let mut value: Value =
            serde_json::from_slice(data).map_err(|e| malformed(e.to_string()))?;
        while let Some(step) = self.steps.get(&(event_type.to_owned(), version)) {
            value = step(value).map_err(|e| malformed(format!("upcast from v{version}: {e}")))?;
            version += 1;
        }
        Ok(std::borrow::Cow::Owned(
            serde_json::to_vec(&value).expect("a JSON value serialises"),
        ))
    }
}

/// An upcast step that renames a top-level field.
pub fn rename_field(
    from: &'static str,
    to: &'static str,
) -> impl Fn(Value) -> Result<Value, String> {
    move |mut value| {
        let object = value
            .as_object_mut()
            .ok_or_else(|| "payload is not a JSON object".to_owned())?;
        if let Some(v) = object.remove(from) {
            object.insert(to.to_owned(), v);
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_steps_up_to_the_newest_version() {
        let upcasters = Upcasters::default()
            .register("t.Thing", 1, rename_field("title", "label"))
            .register("t.Thing", 2, rename_field("label", "name"));
        let out = upcasters.upcast("t.Thing", 1, br#"{"title":"x"}"#).unwrap();
        assert_eq!(&*out, br#"{"name":"x"}"#);
        let out = upcasters.upcast("t.Thing", 2, br#"{"label":"x"}"#).unwrap();
        assert_eq!(&*out, br#"{"name":"x"}"#);
        let current = upcasters.upcast("t.Thing", 3, br#"{"name":"x"}"#).unwrap();
        assert!(matches!(current, std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn a_payload_the_step_cannot_read_is_a_decode_error() {
        let upcasters = Upcasters::default().register("t.Thing", 1, rename_field("a", "b"));
        assert!(upcasters.upcast("t.Thing", 1, b"[1]").is_err());
        assert!(upcasters.upcast("t.Thing", 1, b"not json").is_err());
    }
}
