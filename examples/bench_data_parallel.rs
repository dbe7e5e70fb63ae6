//! The data-parallel benchmark: `bench_mlp`'s 784-256-256-10 MLP (Adam, synthetic teacher
//! data) at global batch 256, as one process on every core against several ranks, each on its
//! share of the cores. Run both in one session on one machine:
//!
//! ```sh
//! cargo build --release --features mpi --example bench_data_parallel
//! target/release/examples/bench_data_parallel                       # 1 process x 2 threads
//! mpirun -np 2 target/release/examples/bench_data_parallel          # 2 processes x 1 thread
//! ```
//!
//! Without MPI, `-- --thread-ranks 2` runs two ranks on threads of one process instead;
//! `--samples N` and `--batch N` change the data (30,000 samples) and the global batch (256).
//! Prints (rank 0): the CPU, the median epoch seconds after a warm-up epoch, samples/s, and the
//! seconds a step spends in collective operations (the all-reduce of the gradients and the
//! small reductions of logs and stop flags, waiting for the slower rank included) as a
//! fraction of the step. The scaling efficiency is the single process's epoch seconds over
//! the ranks' (the same cores either way: 1 is perfect).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use elegy::callbacks::{Callback, CallbackContext, LogValues};
use elegy::distributed::{Collective, SingleProcess, ThreadGroup};
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::module::Sequential;
use elegy::module::layers::Linear;
use elegy::optimizers::Adam;
use elegy::{Activation, FitOptions, Result, RngKey, Runner, Tensor};

const EPOCHS: usize = 4;

/// The samples and the global batch: 30,000 and 256, or `--samples N` and `--batch N`.
fn sizes() -> (usize, usize) {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(default)
    };
    (flag("--samples", 30_000), flag("--batch", 256))
}

/// A group that counts the seconds spent in its operations.
struct Timed<C> {
    inner: C,
    seconds: Arc<Mutex<f64>>,
}

impl<C: Collective> Timed<C> {
    fn time<T>(&self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        *self.seconds.lock().unwrap() += start.elapsed().as_secs_f64();
        out
    }
}

impl<C: Collective> Collective for Timed<C> {
    fn rank(&self) -> usize {
        self.inner.rank()
    }
    fn world_size(&self) -> usize {
        self.inner.world_size()
    }
    fn all_reduce_sum(&self, values: &mut [f32]) -> Result<()> {
        self.time(|| self.inner.all_reduce_sum(values))
    }
    fn all_reduce_sum_f64(&self, values: &mut [f64]) -> Result<()> {
        self.time(|| self.inner.all_reduce_sum_f64(values))
    }
    fn broadcast(&self, values: &mut [f32], root: usize) -> Result<()> {
        self.time(|| self.inner.broadcast(values, root))
    }
    fn barrier(&self) -> Result<()> {
        self.time(|| self.inner.barrier())
    }
    fn abort(&self, message: &str) {
        self.inner.abort(message)
    }
}

/// Each epoch's wall seconds and the collective seconds in it.
struct EpochTimer {
    collective: Arc<Mutex<f64>>,
    started: Option<(Instant, f64)>,
    epochs: Arc<Mutex<Vec<(f64, f64)>>>,
}

impl Callback for EpochTimer {
    fn on_epoch_begin(&mut self, _: usize, _: &mut CallbackContext<'_>) -> Result<()> {
        self.started = Some((Instant::now(), *self.collective.lock().unwrap()));
        Ok(())
    }
    fn on_epoch_end(
        &mut self,
        _: usize,
        _: &mut CallbackContext<'_>,
        _: &mut LogValues,
    ) -> Result<()> {
        if let Some((start, collective)) = self.started.take() {
            let spent = *self.collective.lock().unwrap() - collective;
            self.epochs
                .lock()
                .unwrap()
                .push((start.elapsed().as_secs_f64(), spent));
        }
        Ok(())
    }
}

fn data() -> (Tensor, Tensor) {
    let x = Tensor::uniform(&[sizes().0, 784], 0.0, 1.0, RngKey::new(1));
    let w = Tensor::normal(&[784, 10], 0.0, 1.0, RngKey::new(7));
    let labels = x
        .sub_scalar(0.5)
        .matmul(&w)
        .and_then(|s| s.argmax(-1))
        .expect("shapes");
    (x, labels)
}

/// Trains on one rank of `group`; returns the median epoch's (seconds, collective seconds).
fn run(group: impl Collective + 'static) -> Result<(f64, f64)> {
    let seconds = Arc::new(Mutex::new(0.0));
    let group = Timed {
        inner: group,
        seconds: seconds.clone(),
    };
    let (x, y) = data();
    let model = Sequential::new()
        .layer(Linear::new(256).activation(Activation::Relu))
        .layer(Linear::new(256).activation(Activation::Relu))
        .layer(Linear::new(10));
    let mut runner = Runner::for_module(model)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Adam::new(1e-3))
        .seed(0)
        .data_parallel(group)
        .build()?;
    let epochs = Arc::new(Mutex::new(Vec::new()));
    let timer = EpochTimer {
        collective: seconds,
        started: None,
        epochs: epochs.clone(),
    };
    let options = FitOptions {
        epochs: EPOCHS,
        batch_size: sizes().1,
        verbose: 0,
        callbacks: vec![Box::new(timer)],
        ..Default::default()
    };
    runner.fit(x, y, options)?;
    let mut timed: Vec<(f64, f64)> = epochs.lock().unwrap()[1..].to_vec();
    timed.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(timed[timed.len() / 2])
}

fn cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn report(label: &str, ranks: usize, (epoch, collective): (f64, f64)) {
    let (samples, batch) = sizes();
    let steps = samples.div_ceil(batch) as f64;
    println!(
        "{label}: {ranks} rank(s) x {} thread(s) on {}: epoch {epoch:.3} s, {:.0} samples/s, \
         collectives {:.2} ms a step ({:.1}% of the step)",
        elegy::num_threads(),
        cpu(),
        samples as f64 / epoch,
        collective / steps * 1e3,
        100.0 * collective / epoch
    );
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--thread-ranks") {
        let ranks: usize = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(2);
        let results = ThreadGroup::run(ranks, run);
        let first = results.into_iter().next().expect("one rank at least")?;
        report("threads", ranks, first);
        return Ok(());
    }
    #[cfg(feature = "mpi")]
    {
        let world = elegy::distributed::Mpi::world()?;
        if world.world_size() > 1 {
            let (rank, ranks) = (world.rank(), world.world_size());
            let median = run(world)?;
            if rank == 0 {
                report("mpi", ranks, median);
            }
            return Ok(());
        }
    }
    report("one process", 1, run(SingleProcess)?);
    Ok(())
}
