//! [`Mpi`]: the ranks of an MPI job (`mpirun -np N`, `srun`), through the `mpi` crate.

use std::sync::{Mutex, OnceLock};

use mpi::Threading;
use mpi::collective::{CommunicatorCollectives, SystemOperation};
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, Root};

use super::Collective;
use crate::error::{Error, Result};

/// The ranks of the MPI job this process belongs to (`MPI_COMM_WORLD`).
///
/// MPI is initialized by the first [`Mpi::world`] and finalized when the process exits
/// normally (at `exit`, after `main` returns). Every
/// operation is serialized through a lock (MPI is initialized for `MPI_THREAD_SERIALIZED`), so
/// runners on several threads of one process may share it.
///
/// **Sums are the same on every rank:** MPI's own reductions may add the ranks' values in an
/// order that differs between ranks (the standard leaves it open), which would let the ranks'
/// parameters drift apart by rounding. So with more than two ranks a sum here gathers every
/// rank's values on rank 0, adds them there in rank order, and broadcasts the result; with two,
/// whose sum is one addition and so the same whichever rank does it, it is MPI's own
/// all-reduce. **A failing rank ends the job:**
/// [`Collective::abort`] prints the rank's error and calls `MPI_Abort`, so no rank waits for
/// it.
pub struct Mpi {
    world: Mutex<SimpleCommunicator>,
    rank: usize,
    size: usize,
}

// The communicator is a handle that MPI lets any thread use one at a time
// (MPI_THREAD_SERIALIZED), which the lock ensures.
unsafe impl Send for Mpi {}
unsafe impl Sync for Mpi {}

/// MPI's environment, initialized once and kept for the life of the process.
struct Environment(Universe);
// Only ever touched once, to initialize; MPI is finalized at exit.
unsafe impl Send for Environment {}
unsafe impl Sync for Environment {}

static UNIVERSE: OnceLock<Option<Environment>> = OnceLock::new();

unsafe extern "C" {
    /// The C library's: runs `f` when the process exits normally.
    fn atexit(f: extern "C" fn()) -> std::os::raw::c_int;
}

/// Finalizes MPI at exit: the environment lives in a static, which is never dropped, and a
/// rank that exits without `MPI_Finalize` makes `mpirun` fail the job.
extern "C" fn finalize_at_exit() {
    // SAFETY: called once, at exit, after MPI was initialized by `Mpi::world`; no MPI call
    // follows it.
    unsafe {
        mpi::ffi::MPI_Finalize();
    }
}

impl Mpi {
    /// The job's ranks, initializing MPI on the first call. An error when MPI cannot be
    /// initialized here (a program not started by an MPI launcher still is: as one rank), or
    /// was initialized by someone else.
    pub fn world() -> Result<Mpi> {
        let universe = UNIVERSE.get_or_init(|| {
            let made = mpi::initialize_with_threading(Threading::Serialized);
            if made.is_some() {
                // SAFETY: registering a plain function with the C library.
                unsafe {
                    atexit(finalize_at_exit);
                }
            }
            made.map(|(u, _)| Environment(u))
        });
        let Some(Environment(universe)) = universe else {
            return Err(Error::Distributed {
                rank: 0,
                message: "MPI could not be initialized (it was already, by other code in this \
                          process); create the group with Mpi::world before anything else \
                          initializes MPI"
                    .into(),
            });
        };
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        Ok(Mpi {
            world: Mutex::new(world),
            rank,
            size,
        })
    }

    fn communicator(&self) -> std::sync::MutexGuard<'_, SimpleCommunicator> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every rank's `values` summed in rank order on rank 0, then broadcast.
    fn ordered_sum<T>(&self, values: &mut [T]) -> Result<()>
    where
        T: mpi::datatype::Equivalence + Copy + Default + std::ops::AddAssign,
    {
        if self.size == 1 {
            return Ok(());
        }
        let world = self.communicator();
        if self.size == 2 {
            // Two values have one sum whichever rank adds them (addition is commutative), so
            // MPI's own all-reduce, the fastest, gives both ranks the same bits.
            let send = values.to_vec();
            world.all_reduce_into(&send[..], values, SystemOperation::sum());
            return Ok(());
        }
        let root = world.process_at_rank(0);
        let n = values.len();
        if self.rank == 0 {
            let mut gathered = vec![T::default(); n * self.size];
            root.gather_into_root(&values[..], &mut gathered[..]);
            values.copy_from_slice(&gathered[..n]);
            for part in gathered[n..].chunks(n.max(1)) {
                values.iter_mut().zip(part).for_each(|(v, p)| *v += *p);
            }
        } else {
            root.gather_into(&values[..]);
        }
        root.broadcast_into(values);
        Ok(())
    }
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.size
    }

    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<()> {
        self.ordered_sum(values)
    }

    fn all_reduce_sum_f64(&self, values: &mut [f64]) -> Result<()> {
        self.ordered_sum(values)
    }

    fn broadcast(&self, values: &mut [f32], root: usize) -> Result<()> {
        if root >= self.size {
            return Err(Error::Distributed {
                rank: self.rank,
                message: format!(
                    "broadcast from rank {root}, but the job has {} ranks",
                    self.size
                ),
            });
        }
        if self.size > 1 {
            self.communicator()
                .process_at_rank(root as i32)
                .broadcast_into(values);
        }
        Ok(())
    }

    fn barrier(&self) -> Result<()> {
        if self.size > 1 {
            self.communicator().barrier();
        }
        Ok(())
    }

    fn abort(&self, message: &str) {
        eprintln!(
            "elegy: data-parallel rank {} failed, ending the MPI job: {message}",
            self.rank
        );
        if self.size > 1 {
            self.communicator().abort(1);
        }
    }
}
