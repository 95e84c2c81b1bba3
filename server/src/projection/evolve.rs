//! The pure step of a read model whose documents each follow one entity's stream (an order, a
//! product, a user): the document after one more event. The projection applies it batch by
//! batch through the read store; the history queries replay a stream up to a past point with
//! the same step, so "the order as of revision 3" is exactly the document the projection held
//! once it had applied revision 3.

use serde::{Serialize, de::DeserializeOwned};

use super::{BatchView, ProjectionError};
use crate::{kernel::DomainEvent, store::RecordedEvent};

/// A read-model document folded from one entity's stream.
pub trait Evolve: Sized {
    /// The domain events of that stream.
    type Event: DomainEvent;

    /// The document once `event` (stored as `recorded`) happened to `current` (`None` before
    /// the stream's first event). `Err` says why the two disagree: an update to an entity that
    /// was never created, or a second creation.
    fn evolve(
        current: Option<Self>,
        event: Self::Event,
        recorded: &RecordedEvent,
    ) -> Result<Self, String>;

    /// The revision of the last event folded in: what makes applying an event twice a no-op.
    fn revision(&self) -> u64;
}

/// Folds `event` into document `id` of `collection` through `view`, unless the document has
/// already seen it (a redelivery after a crash, or a rebuild overlapping the live feed).
pub async fn apply_to<D>(
    view: &mut BatchView<'_>,
    collection: &str,
    id: &str,
    event: D::Event,
    recorded: &RecordedEvent,
) -> Result<(), ProjectionError>
where
    D: Evolve + Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    let current: Option<D> = view.get_as(collection, id).await?;
    if current
        .as_ref()
        .is_some_and(|doc| doc.revision() >= recorded.revision)
    {
        return Ok(());
    }
    let next = D::evolve(current, event, recorded)
        .map_err(|why| ProjectionError::inconsistent(recorded, why))?;
    view.put_as(collection, id, next);
    Ok(())
}
