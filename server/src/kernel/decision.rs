//! A validated command as the kernel runs it: which aggregate it targets and the pure decision
//! it makes there. Each context's `domain.rs` implements it for its commands, so the edge can
//! run any command through one generic path.

use super::{Aggregate, CommandError};

/// A command the kernel can execute: `decide` is pure and sees the target's current state.
/// Owned (`Clone + 'static`) because a command waits in its stream's lane until its turn.
pub trait Decision: Clone + Send + Sync + 'static {
    /// The aggregate whose stream the command writes.
    type Aggregate: Aggregate;
    /// The domain's refusal.
    type Error: Into<CommandError>;

    /// The id of the aggregate (its stream is `<category>-<id>`).
    fn target(&self) -> &str;

    /// The events that record the command's effect on `state` (possibly none), or the rule it
    /// would break.
    fn decide(
        &self,
        state: &Self::Aggregate,
    ) -> Result<Vec<<Self::Aggregate as Aggregate>::Event>, Self::Error>;
}

/// Whether a command on a stream category may run now; see `projection::admission`.
pub trait Admission: Send + Sync + std::fmt::Debug {
    /// `Ok` to run a command on `category`, or why not now.
    fn admit(&self, category: &str) -> Result<(), CommandError>;
}

/// Implements [`Decision`] for commands whose decider is a plain function
/// `fn(&Aggregate, &Command) -> Result<Vec<Event>, Error>`:
/// `decisions!(Order, OrderError; ConfirmOrder => confirm_order, order_id; ...)`.
macro_rules! decisions {
    ($aggregate:ty, $error:ty; $($command:ty => $decide:ident, $target:ident;)+) => {
        $(
            impl $crate::kernel::Decision for $command {
                type Aggregate = $aggregate;
                type Error = $error;

                fn target(&self) -> &str {
                    self.$target.as_str()
                }

                fn decide(
                    &self,
                    state: &$aggregate,
                ) -> Result<Vec<<$aggregate as $crate::kernel::Aggregate>::Event>, $error> {
                    $decide(state, self)
                }
            }
        )+
    };
}
pub(crate) use decisions;
