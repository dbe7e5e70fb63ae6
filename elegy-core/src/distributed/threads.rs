//! [`ThreadGroup`]: ranks on threads of one process, so that the whole data-parallel logic runs
//! (and is tested) on any machine, without a launcher.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::Collective;
use crate::error::{Error, Result};

/// What a rank brings to a collective operation.
#[derive(Clone)]
enum Payload {
    Sum32(Vec<f32>),
    Sum64(Vec<f64>),
    Broadcast { values: Vec<f32>, root: usize },
    Barrier,
}

impl Payload {
    fn describe(&self) -> String {
        match self {
            Payload::Sum32(v) => format!("all_reduce_sum of {} values", v.len()),
            Payload::Sum64(v) => format!("all_reduce_sum_f64 of {} values", v.len()),
            Payload::Broadcast { values, root } => {
                format!("broadcast of {} values from rank {root}", values.len())
            }
            Payload::Barrier => "barrier".into(),
        }
    }

    /// Whether two ranks' calls are the same operation (same kind, length and root).
    fn matches(&self, other: &Payload) -> bool {
        match (self, other) {
            (Payload::Sum32(a), Payload::Sum32(b)) => a.len() == b.len(),
            (Payload::Sum64(a), Payload::Sum64(b)) => a.len() == b.len(),
            (
                Payload::Broadcast { values: a, root: r },
                Payload::Broadcast { values: b, root: s },
            ) => a.len() == b.len() && r == s,
            (Payload::Barrier, Payload::Barrier) => true,
            _ => false,
        }
    }
}

/// One round of a collective: filled by every rank, then read by every rank.
#[derive(Default)]
struct Round {
    /// Counts rounds, so that a rank waiting for one is not woken by the next.
    generation: u64,
    slots: Vec<Option<Payload>>,
    arrived: usize,
    /// The outcome, once every rank has arrived; read by each rank once.
    outcome: Option<std::result::Result<Payload, String>>,
    unread: usize,
    /// The first rank that aborted, and why.
    aborted: Option<(usize, String)>,
}

struct Shared {
    size: usize,
    round: Mutex<Round>,
    changed: Condvar,
}

/// A group of ranks on threads of this process. [`ThreadGroup::run`] runs a function on one
/// thread per rank; [`ThreadGroup::ranks`] hands out the ranks for threads of your own.
///
/// Sums add the ranks' values in rank order, so every rank gets the same bits; a rank that
/// returns an error from `fit` or panics aborts the group, and every other rank's operations
/// then fail with [`Error::Distributed`] instead of waiting.
///
/// ```
/// use elegy_core::distributed::{Collective, ThreadGroup};
/// let sums = ThreadGroup::run(3, |rank| {
///     let mut v = [rank.rank() as f32, 1.0];
///     rank.all_reduce_sum(&mut v).map(|()| v)
/// });
/// for sum in sums {
///     assert_eq!(sum?, [3.0, 3.0]); // 0 + 1 + 2, and three ones
/// }
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub struct ThreadGroup;

impl ThreadGroup {
    /// The `size` ranks of a new group (at least one), in rank order: give each to its own
    /// thread.
    pub fn ranks(size: usize) -> Vec<ThreadRank> {
        let size = size.max(1);
        let shared = Arc::new(Shared {
            size,
            round: Mutex::new(Round {
                slots: vec![None; size],
                ..Round::default()
            }),
            changed: Condvar::new(),
        });
        (0..size)
            .map(|rank| ThreadRank {
                rank,
                shared: shared.clone(),
            })
            .collect()
    }

    /// Runs `f` on `size` threads, each with its rank of a new group, and returns what they
    /// returned, in rank order. Each rank's compute threads are the process's divided among
    /// the ranks (at least one), as several MPI ranks on one machine divide its cores. A panic
    /// on a rank aborts the group (so the others fail rather than wait) and is resumed here,
    /// after every rank has finished, with its own payload.
    pub fn run<T: Send>(size: usize, f: impl Fn(ThreadRank) -> T + Sync) -> Vec<T> {
        let ranks = ThreadGroup::ranks(size);
        let threads = (crate::exec::num_threads() / ranks.len()).max(1);
        let f = &f;
        let outcomes: Vec<std::thread::Result<T>> = std::thread::scope(|scope| {
            let handles: Vec<_> = ranks
                .into_iter()
                .map(|rank| {
                    scope.spawn(move || {
                        let guard = rank.clone();
                        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            crate::exec::with_num_threads(threads, || f(rank))
                        }));
                        if out.is_err() {
                            guard.abort("it panicked");
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(Err))
                .collect()
        });
        outcomes
            .into_iter()
            .map(|out| out.unwrap_or_else(|payload| std::panic::resume_unwind(payload)))
            .collect()
    }
}

/// One rank of a [`ThreadGroup`].
#[derive(Clone)]
pub struct ThreadRank {
    rank: usize,
    shared: Arc<Shared>,
}

impl ThreadRank {
    fn aborted(&self, round: &Round) -> Option<Error> {
        round
            .aborted
            .as_ref()
            .map(|(rank, message)| Error::Distributed {
                rank: *rank,
                message: format!(
                    "failed ({message}), so rank {} stops too; that rank's own error says why",
                    self.rank
                ),
            })
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, Round>) -> MutexGuard<'a, Round> {
        // A rank that panicked while holding the lock cannot corrupt a round's data beyond
        // what `aborted` already reports.
        self.shared
            .changed
            .wait(guard)
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Brings `payload` to the current round and returns the round's outcome once every rank
    /// has brought theirs.
    fn exchange(&self, payload: Payload) -> Result<Payload> {
        let shared = &*self.shared;
        let mut round = shared.round.lock().unwrap_or_else(|e| e.into_inner());
        // The previous round is still being read: wait for it to clear.
        while round.outcome.is_some() {
            if let Some(e) = self.aborted(&round) {
                return Err(e);
            }
            round = self.wait(round);
        }
        if let Some(e) = self.aborted(&round) {
            return Err(e);
        }
        let generation = round.generation;
        round.slots[self.rank] = Some(payload);
        round.arrived += 1;
        if round.arrived == shared.size {
            let outcome = combine(&round.slots);
            round.outcome = Some(outcome);
            round.unread = shared.size;
            shared.changed.notify_all();
        }
        while round.generation == generation && round.outcome.is_none() {
            if let Some(e) = self.aborted(&round) {
                return Err(e);
            }
            round = self.wait(round);
        }
        let outcome = round.outcome.clone().expect("the round's outcome is set");
        round.unread -= 1;
        if round.unread == 0 {
            round.outcome = None;
            round.arrived = 0;
            round.slots.iter_mut().for_each(|s| *s = None);
            round.generation += 1;
            shared.changed.notify_all();
        }
        outcome.map_err(|message| Error::Distributed {
            rank: self.rank,
            message,
        })
    }
}

/// The outcome of a round in which every rank brought its payload: sums in rank order, or the
/// root's values; an error when the ranks called different operations.
fn combine(slots: &[Option<Payload>]) -> std::result::Result<Payload, String> {
    let payloads: Vec<&Payload> = slots.iter().map(|s| s.as_ref().expect("arrived")).collect();
    let first = payloads[0];
    if let Some((rank, other)) = payloads.iter().enumerate().find(|(_, p)| !p.matches(first)) {
        return Err(format!(
            "the ranks called different collective operations: rank 0 a {}, rank {rank} a {}; \
             every rank must run the same steps on batches of the same structure",
            first.describe(),
            other.describe()
        ));
    }
    Ok(match first {
        Payload::Sum32(v) => {
            let mut sum = v.clone();
            for p in &payloads[1..] {
                if let Payload::Sum32(v) = p {
                    sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
                }
            }
            Payload::Sum32(sum)
        }
        Payload::Sum64(v) => {
            let mut sum = v.clone();
            for p in &payloads[1..] {
                if let Payload::Sum64(v) = p {
                    sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
                }
            }
            Payload::Sum64(sum)
        }
        Payload::Broadcast { root, .. } => match payloads.get(*root) {
            Some(p) => (*p).clone(),
            None => {
                return Err(format!(
                    "broadcast from rank {root}, but the group has {} ranks",
                    payloads.len()
                ));
            }
        },
        Payload::Barrier => Payload::Barrier,
    })
}

impl Collective for ThreadRank {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.shared.size
    }

    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<()> {
        if let Payload::Sum32(sum) = self.exchange(Payload::Sum32(values.to_vec()))? {
            values.copy_from_slice(&sum);
        }
        Ok(())
    }

    fn all_reduce_sum_f64(&self, values: &mut [f64]) -> Result<()> {
        if let Payload::Sum64(sum) = self.exchange(Payload::Sum64(values.to_vec()))? {
            values.copy_from_slice(&sum);
        }
        Ok(())
    }

    fn broadcast(&self, values: &mut [f32], root: usize) -> Result<()> {
        let payload = Payload::Broadcast {
            values: values.to_vec(),
            root,
        };
        if let Payload::Broadcast {
            values: root_values,
            ..
        } = self.exchange(payload)?
        {
            values.copy_from_slice(&root_values);
        }
        Ok(())
    }

    fn barrier(&self) -> Result<()> {
        self.exchange(Payload::Barrier).map(|_| ())
    }

    fn abort(&self, message: &str) {
        let mut round = self.shared.round.lock().unwrap_or_else(|e| e.into_inner());
        if round.aborted.is_none() {
            round.aborted = Some((self.rank, message.to_string()));
        }
        self.shared.changed.notify_all();
    }
}
