//! A command id that already ran: answering it with the first acknowledgement, unless the
//! request under that id is another one.

use super::{CommandHandler, Job};
use crate::kernel::{
    Ack, Aggregate, CommandContext, CommandError, EventMetadata, Head,
    history::{Earlier, EventRef},
};

impl CommandHandler {
    /// Answers the jobs that ran before (by `earlier`, one per job) and returns the others.
    pub(super) async fn answer_repeats<A: Aggregate>(
        &self,
        stream: &str,
        jobs: Vec<Job<A>>,
        earlier: &[Earlier],
    ) -> Vec<Job<A>> {
        let mut rest = Vec::with_capacity(jobs.len());
        for (job, earlier) in jobs.into_iter().zip(earlier) {
            match earlier {
                Earlier::Ran(last) => {
                    let answer = self.repeat(stream, &job.ctx, *last).await;
                    job.answer(answer);
                }
                Earlier::New | Earlier::Unknown => rest.push(job),
            }
        }
        rest
    }

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
