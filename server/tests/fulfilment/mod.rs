//! Fulfilment under crashes, restarts and deadlines, in process (a store that crashes on cue)
//! and as a real process killed with SIGKILL.

mod crash;
mod deadlines;
mod faulty;
mod sigkill;
mod world;
