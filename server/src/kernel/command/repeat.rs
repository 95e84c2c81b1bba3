//! A command id that already ran: finding its earlier run in a stream's history, and answering
//! it with the first acknowledgement, unless the request under that id is another one.

use super::CommandHandler;
use crate::kernel::{
    Ack, CommandContext, CommandError, EventMetadata, Head, cache::EventRef, ids::event_id,
};

/// The last event a command with `command_id` wrote to this stream, if it was handled before.
/// Event ids are derived from the command id, so no metadata needs parsing: the command's events
/// are the contiguous run starting with its event 0.
pub(super) fn previous_run(
    stream: &str,
    command_id: &str,
    history: &[EventRef],
) -> Option<EventRef> {
    let first_id = event_id(command_id, stream, 0);
    let start = history.iter().position(|r| r.id == first_id)?;
    let count = history[start..]
        .iter()
        .enumerate()
        .take_while(|(index, r)| r.id == event_id(command_id, stream, *index))
        .count();
    history.get(start + count - 1).copied()
}

impl CommandHandler {
    /// The answer to a command id that already ran on `stream`: its first acknowledgement, or
    /// a refusal when this request is not the one that ran under that id.
    pub(super) async fn repeat(
        &self,
        stream: &str,
        ctx: &CommandContext,
        last: EventRef,
    ) -> Result<Ack, CommandError> {
        if let Some(fingerprint) = &ctx.fingerprint {
            let records = self.store.read_stream(stream, last.revision).await?;
            let recorded = records
                .first()
                .and_then(|r| EventMetadata::fingerprint_of(&r.metadata));
            // Events written before fingerprints existed cannot be compared: answered as repeats.
            if recorded.is_some_and(|recorded| &recorded != fingerprint) {
                return Err(CommandError::Reused {
                    command_id: ctx.command_id.clone(),
                });
            }
        }
        let head = Head {
            revision: last.revision,
            position: last.position,
        };
        Ok(head.ack(stream, true))
    }
}
