//! One lane per stream: within a process, commands for the same stream wait their turn instead
//! of racing each other to the store.
//!
//! Without lanes, N concurrent commands on one hot stream all decide on the same revision, one
//! append wins and the others lose the race, catch up and try again, N-1 times over; with
//! enough of them the bounded retries run out and callers hear `ABORTED` while the stream was
//! perfectly usable. With lanes, a command that finds its stream busy queues behind it, and the
//! lane's worker takes every command waiting when it comes round and decides them one after
//! the other on the evolving state, appending all their events in one append (one
//! expected-revision check, one durable write for the group). A lone command is a group of one.
//! The optimistic retry stays, for writers in other processes.
//!
//! Each busy lane has one worker task, spawned by the command that found the lane idle, so a
//! caller that gives up (a deadline, a dropped connection) never strands the commands queued
//! behind it. The lane is removed, under the same lock that queues, when its worker finds it
//! empty; a worker that panics removes it on the way out, and the commands still queued then
//! hear that they were not run.

use std::{
    any::{Any, TypeId},
    collections::{HashMap, VecDeque},
    future::Future,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

/// Most commands one group takes: bounds the events of one append and how long the lane's
/// state is held by one decision round.
pub(super) const MAX_GROUP: usize = 64;

/// The lanes of one command handler, by aggregate type and stream.
#[derive(Clone, Default)]
pub(super) struct Lanes {
    busy: Arc<Mutex<HashMap<LaneKey, Box<dyn Any + Send>>>>,
}

/// A stream as a lane knows it: two aggregate types never share a lane even if a stream name
/// were to collide.
type LaneKey = (TypeId, String);

impl std::fmt::Debug for Lanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lanes")
            .field("busy", &self.lock().len())
            .finish()
    }
}

/// Something a group is made of: a queued command, as far as the lane needs to know it.
pub(super) trait Queued: Send + 'static {
    /// Two entries with the same key never go into one group (a retried command id queued
    /// behind its first attempt is answered after that attempt is stored).
    fn key(&self) -> &str;
}

impl Lanes {
    fn lock(&self) -> MutexGuard<'_, HashMap<LaneKey, Box<dyn Any + Send>>> {
        // Every change under the lock is one push, pop or remove: never half done.
        self.busy.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job` on the lane of `stream` (aggregate type `T`). When the lane was idle, a
    /// worker is spawned that runs `work` on each group taken from the lane until it is empty.
    pub(super) fn submit<T, J, W, F>(&self, stream: &str, job: J, work: W)
    where
        T: 'static,
        J: Queued,
        W: Fn(Vec<J>) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let key: LaneKey = (TypeId::of::<T>(), stream.to_owned());
        {
            let mut busy = self.lock();
            if let Some(queue) = busy
                .get_mut(&key)
                .and_then(|q| q.downcast_mut::<VecDeque<J>>())
            {
                queue.push_back(job);
                return;
            }
            busy.insert(key.clone(), Box::new(VecDeque::from([job])));
        }
        let lanes = self.clone();
        tokio::spawn(async move {
            let _cleared = Clearing {
                lanes: lanes.clone(),
                key: key.clone(),
            };
            while let Some(group) = lanes.next_group::<J>(&key) {
                work(group).await;
            }
        });
    }

    /// The next group of lane `key`, or `None` (and the lane removed) when it is empty.
    fn next_group<J: Queued>(&self, key: &LaneKey) -> Option<Vec<J>> {
        let mut busy = self.lock();
        let queue = busy
            .get_mut(key)
            .and_then(|q| q.downcast_mut::<VecDeque<J>>())?;
        let mut group: Vec<J> = Vec::new();
        while group.len() < MAX_GROUP {
            let Some(next) = queue.front() else { break };
            if group.iter().any(|taken| taken.key() == next.key()) {
                break;
            }
            group.extend(queue.pop_front());
        }
        if group.is_empty() {
            busy.remove(key);
            return None;
        }
        Some(group)
    }

    /// Streams with commands queued or running now.
    #[cfg(test)]
    pub(super) fn busy(&self) -> usize {
        self.lock().len()
    }
}

/// Removes its lane when the worker ends, whichever way: normally the lane is already gone (the
/// worker found it empty), after a panic the commands still queued are dropped with it, which
/// tells their callers they were not run.
struct Clearing {
    lanes: Lanes,
    key: LaneKey,
}

impl Drop for Clearing {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.lanes.lock().remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::{Notify, oneshot};

    use super::*;

    struct Job {
        key: String,
        done: oneshot::Sender<usize>,
    }

    impl Queued for Job {
        fn key(&self) -> &str {
            &self.key
        }
    }

    #[tokio::test]
    async fn commands_queued_behind_a_busy_lane_run_as_one_group_and_the_lane_goes_away() {
        let lanes = Lanes::default();
        let (gate, started) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let groups = Arc::new(Mutex::new(Vec::new()));
        let work = {
            let (gate, started, groups) = (gate.clone(), started.clone(), groups.clone());
            move |group: Vec<Job>| {
                let (gate, started, groups) = (gate.clone(), started.clone(), groups.clone());
                async move {
                    // The first group waits until the others are queued.
                    if groups.lock().unwrap().is_empty() {
                        started.notify_one();
                        gate.notified().await;
                    }
                    let size = group.len();
                    groups.lock().unwrap().push(size);
                    for job in group {
                        let _ = job.done.send(size);
                    }
                }
            }
        };
        let mut answers = Vec::new();
        for n in 0..5 {
            let (done, answer) = oneshot::channel();
            // Two jobs share a key: they must land in different groups.
            let key = if n == 4 {
                "k1".to_owned()
            } else {
                format!("k{n}")
            };
            lanes.submit::<(), _, _, _>("s", Job { key, done }, work.clone());
            answers.push(answer);
            if n == 0 {
                // The lane's worker has taken the first command before the others come.
                started.notified().await;
            }
        }
        assert_eq!(lanes.busy(), 1);
        gate.notify_one();
        let mut sizes = Vec::new();
        for answer in answers {
            sizes.push(answer.await.unwrap());
        }
        assert_eq!(
            sizes,
            vec![1, 3, 3, 3, 1],
            "one, then three together, then the repeat"
        );
        assert_eq!(*groups.lock().unwrap(), vec![1, 3, 1]);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while lanes.busy() > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the lane never went away"
            );
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_worker_that_panics_drops_its_lane_and_the_queued_commands_hear_it() {
        let lanes = Lanes::default();
        let gate = Arc::new(Notify::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let work = {
            let (gate, runs) = (gate.clone(), runs.clone());
            move |_group: Vec<Job>| {
                let (gate, runs) = (gate.clone(), runs.clone());
                async move {
                    gate.notified().await;
                    runs.fetch_add(1, Ordering::SeqCst);
                    panic!("a decision that panics");
                }
            }
        };
        let (first, first_answer) = oneshot::channel();
        lanes.submit::<(), _, _, _>(
            "s",
            Job {
                key: "a".into(),
                done: first,
            },
            work.clone(),
        );
        let (second, second_answer) = oneshot::channel();
        lanes.submit::<(), _, _, _>(
            "s",
            Job {
                key: "b".into(),
                done: second,
            },
            work.clone(),
        );
        gate.notify_one();
        assert!(first_answer.await.is_err(), "the running command hears it");
        assert!(second_answer.await.is_err(), "the queued command hears it");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(lanes.busy(), 0);
        // The stream is usable again at once.
        let (done, answer) = oneshot::channel();
        let fine = |group: Vec<Job>| async move {
            for job in group {
                let _ = job.done.send(7);
            }
        };
        lanes.submit::<(), _, _, _>(
            "s",
            Job {
                key: "c".into(),
                done,
            },
            fine,
        );
        assert_eq!(answer.await.unwrap(), 7);
    }
}
