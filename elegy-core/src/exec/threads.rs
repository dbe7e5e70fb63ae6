//! How many threads the executor uses: a per-thread override, a process-wide setting, the
//! `ELEGY_NUM_THREADS` environment variable, or the cores this process may use divided among
//! the MPI ranks sharing the machine.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The environment variable that sets the number of threads when no call did.
pub(crate) const ENV_VAR: &str = "ELEGY_NUM_THREADS";

/// Environment variables giving the number of ranks of an MPI (or Slurm) job on this machine:
/// Open MPI's, MPICH's and Hydra's, then Slurm's tasks per node. The first one set wins.
const LOCAL_RANKS_VARS: [&str; 3] = [
    "OMPI_COMM_WORLD_LOCAL_SIZE",
    "MPI_LOCALNRANKS",
    "SLURM_NTASKS_PER_NODE",
];

/// The count set by [`set_num_threads`]; 0 when none is.
static PROCESS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The count set by [`with_num_threads`] for calls from this thread; 0 when none is.
    static OVERRIDE: Cell<usize> = const { Cell::new(0) };
}

/// The number of threads elegy's heavy loops (matrix products, element-wise kernels, im2col,
/// pooling, optimizer updates) run on when called from this thread, the calling thread
/// included.
///
/// In order of precedence: the count of an enclosing [`with_num_threads`] on this thread; the
/// count of the last [`set_num_threads`]; the `ELEGY_NUM_THREADS` environment variable (a
/// positive integer, read once); otherwise the cores this process may run on (its affinity
/// mask and CPU quota, as [`std::thread::available_parallelism`] reports them), divided among
/// the ranks of an MPI job on this machine (`OMPI_COMM_WORLD_LOCAL_SIZE`, `MPI_LOCALNRANKS` or
/// `SLURM_NTASKS_PER_NODE`, the first one set), rounded down and at least 1. A launcher that
/// already bound each rank to its own cores leaves fewer cores visible to each rank: those are
/// then all used, not divided again.
///
/// Results do not depend on this count: products are cut along rows or columns (never along
/// the summed axis), and sums are reduced in pieces fixed by the shapes alone, in order.
///
/// ```
/// assert!(elegy_core::num_threads() >= 1);
/// ```
pub fn num_threads() -> usize {
    let local = OVERRIDE.with(Cell::get);
    if local > 0 {
        return local;
    }
    match PROCESS.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

/// Sets the number of threads for the whole process (every thread without its own
/// [`with_num_threads`]); 0 goes back to the default described at [`num_threads`]. Takes
/// effect at the next parallel loop; threads beyond the machine's cores only add overhead.
///
/// ```
/// elegy_core::set_num_threads(1);
/// assert_eq!(elegy_core::num_threads(), 1);
/// elegy_core::set_num_threads(0);
/// ```
pub fn set_num_threads(threads: usize) {
    PROCESS.store(threads, Ordering::Relaxed);
}

/// Runs `f` with `threads` threads for the parallel loops called from this thread (0 keeps
/// the count it had), then restores the previous count, also when `f` panics. Unlike
/// [`set_num_threads`] it touches no other thread, so tests running in parallel can each pick
/// their own count.
///
/// A loop started while another thread's loop has the executor's workers runs on its calling
/// thread alone: the count is an upper bound, not a promise.
///
/// ```
/// let inside = elegy_core::with_num_threads(3, elegy_core::num_threads);
/// assert_eq!(inside, 3);
/// ```
pub fn with_num_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(OVERRIDE.with(Cell::get));
    if threads > 0 {
        OVERRIDE.with(|c| c.set(threads));
    }
    f()
}

/// The count when no call set one: the environment's, read once.
fn default_threads() -> usize {
    static DEFAULT: OnceLock<usize> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        let var = |name: &str| std::env::var(name).ok();
        let usable = std::thread::available_parallelism().map_or(1, |n| n.get());
        from_environment(
            var(ENV_VAR).as_deref(),
            LOCAL_RANKS_VARS
                .iter()
                .find_map(|name| var(name))
                .as_deref(),
            usable,
            machine_cpus(),
        )
    })
}

/// The rule of [`num_threads`] on given values: `requested` (`ELEGY_NUM_THREADS`), the MPI
/// ranks on this machine, the cores this process may use, and the machine's online CPUs
/// (`None` when unknown).
fn from_environment(
    requested: Option<&str>,
    local_ranks: Option<&str>,
    usable: usize,
    machine: Option<usize>,
) -> usize {
    if let Some(n) = requested.and_then(|v| v.trim().parse::<usize>().ok())
        && n > 0
    {
        return n;
    }
    // Slurm writes counts like "4(x2)": the count of this node is the leading number.
    let ranks = local_ranks
        .and_then(|v| {
            let digits: String = v.trim().chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<usize>().ok()
        })
        .filter(|&r| r > 1);
    match ranks {
        // Divide only when this rank sees the whole machine (it was not bound to its share).
        Some(ranks) if machine.is_none_or(|cpus| usable >= cpus) => (usable / ranks).max(1),
        _ => usable.max(1),
    }
}

/// The machine's online CPUs, to tell a rank bound to its share of the cores from one that
/// sees them all.
fn machine_cpus() -> Option<usize> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: sysconf only reads a system value.
        let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        usize::try_from(cpus).ok().filter(|&n| n > 0)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{from_environment, num_threads, with_num_threads};

    #[test]
    fn the_environment_variable_wins_over_cores_and_ranks() {
        assert_eq!(from_environment(Some("5"), Some("4"), 16, Some(16)), 5);
        assert_eq!(from_environment(Some(" 3 "), None, 2, Some(2)), 3);
    }

    #[test]
    fn an_unusable_environment_variable_falls_back_to_the_cores() {
        assert_eq!(from_environment(Some("0"), None, 8, Some(8)), 8);
        assert_eq!(from_environment(Some("many"), None, 8, Some(8)), 8);
    }

    #[test]
    fn mpi_ranks_on_one_machine_share_its_cores() {
        assert_eq!(from_environment(None, Some("4"), 16, Some(16)), 4);
        assert_eq!(from_environment(None, Some("3"), 16, Some(16)), 5);
        assert_eq!(from_environment(None, Some("4(x2)"), 16, Some(16)), 4);
        assert_eq!(from_environment(None, Some("32"), 16, None), 1);
        assert_eq!(from_environment(None, Some("1"), 16, Some(16)), 16);
    }

    #[test]
    fn a_rank_already_bound_to_its_cores_uses_them_all() {
        assert_eq!(from_environment(None, Some("4"), 4, Some(16)), 4);
    }

    #[test]
    fn with_num_threads_restores_the_count_also_after_a_panic() {
        let before = num_threads();
        let nested = with_num_threads(3, || (num_threads(), with_num_threads(0, num_threads)));
        assert_eq!(nested, (3, 3));
        let caught = std::panic::catch_unwind(|| with_num_threads(7, || panic!("inside")));
        assert!(caught.is_err());
        assert_eq!(num_threads(), before);
    }
}
