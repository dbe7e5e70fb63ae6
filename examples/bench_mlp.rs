//! The training benchmark: a 784-256-256-10 MLP trained with Adam through the public `fit`,
//! on 60,000 synthetic samples labelled by a fixed random linear teacher, beside the machine's own
//! sgemm rate. The same workload in NumPy: `python3 ../shared/bench/mlp_numpy.py`.
//!
//! `cargo run --release --example bench_mlp [-- --batch 64 256 --epochs 3 --samples 60000]`
//!
//! With the system's OpenBLAS (Debian: `apt-get install libopenblas-dev`):
//! `cargo run --release --features blas --example bench_mlp`. OpenBLAS picks its kernels from
//! the CPU unless `OPENBLAS_CORETYPE` says otherwise; unset it to compare with NumPy fairly.
//!
//! Prints per batch size: median epoch seconds (after one warm-up epoch) and the process's CPU
//! time in that epoch, samples/s, achieved GFLOP/s (72.7 GFLOP an epoch: the exact count of the
//! products, with no gradient for the data), the sgemm rate of the engine's own `matmul` over
//! the eight products of one step at their shapes (and at the first layer's alone), the ratio
//! to the floor (the epoch's FLOPs at that rate; in parentheses the ratio with the rough count
//! of 6 x samples x weights = 96.8 GFLOP at the first layer's rate), `predict` throughput, and
//! peak resident memory.

use std::hint::black_box;
use std::time::Instant;

use elegy::callbacks::{Callback, CallbackContext};
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::module::Sequential;
use elegy::module::layers::Linear;
use elegy::optimizers::Adam;
use elegy::{Activation, FitOptions, PredictOptions, Result, RngKey, Runner, Tensor};

const SIZES: [usize; 4] = [784, 256, 256, 10];

/// Inputs uniform in [0, 1), labels argmax((x - 0.5) . W) of a fixed random teacher W.
fn teacher_data(n: usize, seed: u64) -> (Tensor, Tensor) {
    let x = Tensor::uniform(&[n, SIZES[0]], 0.0, 1.0, RngKey::new(seed));
    let w = Tensor::normal(&[SIZES[0], SIZES[3]], 0.0, 1.0, RngKey::new(7));
    // In slices, so the benchmark's own peak memory is the data and little more.
    let mut labels = Vec::with_capacity(n);
    for start in (0..n).step_by(4096) {
        let rows = x.slice(0, start, (start + 4096).min(n)).expect("in range");
        let scores = rows.sub_scalar(0.5).matmul(&w).expect("shapes agree");
        labels.extend(scores.argmax(-1).expect("2-D").to_vec());
    }
    (x, Tensor::from(labels))
}

/// Records each epoch's wall time and the CPU time the process used in it.
#[derive(Default)]
struct EpochTimer {
    started: Option<(Instant, f64)>,
    seconds: std::rc::Rc<std::cell::RefCell<Vec<(f64, f64)>>>,
}

impl Callback for EpochTimer {
    fn on_epoch_begin(&mut self, _: usize, _: &mut CallbackContext<'_>) -> Result<()> {
        self.started = Some((Instant::now(), cpu_seconds()));
        Ok(())
    }
    fn on_epoch_end(
        &mut self,
        _: usize,
        _: &mut CallbackContext<'_>,
        _: &mut elegy::callbacks::LogValues,
    ) -> Result<()> {
        let (t, cpu) = self.started.take().expect("epoch began");
        let wall = t.elapsed().as_secs_f64();
        self.seconds.borrow_mut().push((wall, cpu_seconds() - cpu));
        Ok(())
    }
}

/// CPU time used so far by all threads of this process, in seconds, from the scheduler's
/// nanosecond counts in /proc (Linux; 0 elsewhere). Beside the wall time it shows how much an
/// epoch was slowed by other processes competing for the cores.
fn cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e9
}

/// The median of five timings of `reps` calls of `f`, in seconds per call.
fn median_seconds(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[2]
}

/// GFLOP/s of a plain `matmul` of untracked `m x k` and `k x n` tensors: the matrix product
/// the engine runs (`gemm` cut over two threads, or BLAS with `--features blas`).
fn sgemm_gflops(m: usize, k: usize, n: usize) -> f64 {
    let (a, b) = (Tensor::full(&[m, k], 0.5), Tensor::full(&[k, n], 0.25));
    let flops = 2.0 * (m * k * n) as f64;
    let reps = (2e9 / flops).clamp(3.0, 200.0) as usize;
    flops
        / median_seconds(reps, || {
            black_box(a.matmul(&b).expect("shapes agree"));
        })
        / 1e9
}

/// Multiply-adds of one sample's step: the forward products, the kernel gradients, and the
/// input gradients of every layer but the first (nothing needs the gradient of the data).
fn step_macs() -> usize {
    let forward: usize = SIZES.windows(2).map(|s| s[0] * s[1]).sum();
    let inputs: usize = SIZES[1..].windows(2).map(|s| s[0] * s[1]).sum();
    2 * forward + inputs
}

/// GFLOP/s of the eight products of one training step at `batch`, at their own shapes and
/// through the engine's `matmul`: the rate the floor is computed from. Transposed operands are
/// made before timing.
fn step_products_gflops(batch: usize) -> f64 {
    let x = Tensor::full(&[batch, SIZES[0]], 0.5);
    let w: Vec<Tensor> = SIZES
        .windows(2)
        .map(|s| Tensor::full(&[s[0], s[1]], 0.01))
        .collect();
    let h: Vec<Tensor> = SIZES[1..3]
        .iter()
        .map(|&u| Tensor::full(&[batch, u], 0.5))
        .collect();
    let g: Vec<Tensor> = SIZES[1..]
        .iter()
        .map(|&u| Tensor::full(&[batch, u], 0.1))
        .collect();
    let t = |m: &Tensor| m.transpose().expect("2-D");
    let (xt, ht, wt) = (t(&x), [t(&h[0]), t(&h[1])], [t(&w[1]), t(&w[2])]);
    let mm = |a: &Tensor, b: &Tensor| {
        black_box(a.matmul(b).expect("shapes agree"));
    };
    let seconds = median_seconds(20, || {
        mm(&x, &w[0]);
        mm(&h[0], &w[1]);
        mm(&h[1], &w[2]);
        mm(&xt, &g[0]);
        mm(&ht[0], &g[1]);
        mm(&ht[1], &g[2]);
        mm(&g[2], &wt[1]);
        mm(&g[1], &wt[0]);
    });
    2.0 * (batch * step_macs()) as f64 / seconds / 1e9
}

/// Peak resident memory of this process, from /proc (Linux), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

const USAGE: &str = "usage: bench_mlp [--batch N..] [--epochs N] [--samples N]";

/// The command line's batch sizes, timed epochs and training samples (None when it asks for
/// help), or a message saying what is wrong with it.
fn args() -> std::result::Result<Option<(Vec<usize>, usize, usize)>, String> {
    let mut batches = vec![64, 256];
    let (mut epochs, mut samples) = (3, 60_000);
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let number = |flag: &str, value: Option<&String>| -> std::result::Result<usize, String> {
        value
            .and_then(|v| v.parse().ok())
            .filter(|&v: &usize| v > 0)
            .ok_or_else(|| format!("{flag} takes a positive number\n{USAGE}"))
    };
    let mut i = 0;
    while i < argv.len() {
        match argv[i].as_str() {
            "--batch" => {
                batches.clear();
                while i + 1 < argv.len() && !argv[i + 1].starts_with('-') {
                    i += 1;
                    batches.push(number("--batch", argv.get(i))?);
                }
                if batches.is_empty() {
                    return Err(format!("--batch takes one or more sizes\n{USAGE}"));
                }
            }
            "--epochs" => {
                i += 1;
                epochs = number("--epochs", argv.get(i))?;
            }
            "--samples" => {
                i += 1;
                samples = number("--samples", argv.get(i))?;
            }
            "--help" | "-h" => return Ok(None),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
        i += 1;
    }
    Ok(Some((batches, epochs, samples)))
}

fn main() -> Result<()> {
    let (batches, epochs, samples) = match args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return Ok(());
        }
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let (x, y) = teacher_data(samples, 1);
    let (x_test, _) = teacher_data(10_000, 2);
    let data_mb = (x.len() + y.len() + x_test.len()) as f64 * 4.0 / 1e6;
    let weights: usize = SIZES.windows(2).map(|s| s[0] * s[1]).sum();
    let flops = 2.0 * samples as f64 * step_macs() as f64;
    println!(
        "data: {samples} x 784 train + 10000 test ({data_mb:.0} MB); {:.1} GFLOP of matrix \
         products per epoch",
        flops / 1e9
    );
    for &batch in &batches {
        // Keras' `Dense(256, activation="relu")`: the activation in the dense layer's own op.
        let model = Sequential::new()
            .layer(Linear::new(SIZES[1]).activation(Activation::Relu))
            .layer(Linear::new(SIZES[2]).activation(Activation::Relu))
            .layer(Linear::new(SIZES[3]));
        let mut runner = Runner::for_module(model)
            .loss(SparseCategoricalCrossentropy::from_logits())
            .optimizer(Adam::new(1e-3))
            .seed(42)
            .build()?;
        let timer = EpochTimer::default();
        let seconds = timer.seconds.clone();
        let history = runner.fit(
            x.clone(),
            y.clone(),
            FitOptions {
                epochs: epochs + 1,
                batch_size: batch,
                verbose: 0,
                callbacks: vec![Box::new(timer)],
                ..Default::default()
            },
        )?;
        let mut timed: Vec<(f64, f64)> = seconds.borrow()[1..].to_vec();
        timed.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (median, median_cpu) = timed[timed.len() / 2];
        let timed: Vec<f64> = timed.iter().map(|t| t.0).collect();

        let t = Instant::now();
        let pred = runner.predict(
            x_test.clone(),
            PredictOptions {
                batch_size: 1000,
                ..Default::default()
            },
        )?;
        let predict_rate = 10_000.0 / t.elapsed().as_secs_f64();
        black_box(pred);

        let first = sgemm_gflops(batch, SIZES[0], SIZES[1]);
        let products = step_products_gflops(batch);
        let floor = flops / (products * 1e9);
        // The rough count (6 x samples x weights) at the first layer's rate, for
        // comparison with the numbers it quotes.
        let rough_floor = 6.0 * samples as f64 * weights as f64 / (first * 1e9);
        println!(
            "elegy batch={batch}: epoch {median:.3} s (min {:.3}, max {:.3}; cpu {median_cpu:.3} s), \
             {:.0} samples/s, {:.1} GFLOP/s, sgemm {products:.1} GFLOP/s over a step's 8 \
             products ({first:.1} at {batch}x784x256), floor {floor:.3} s, ratio to floor {:.2} \
             (rough count: {:.2}), last loss {:.4}, predict {predict_rate:.0} samples/s, \
             peak RSS {:.0} MB",
            timed[0],
            timed[timed.len() - 1],
            samples as f64 / median,
            flops / median / 1e9,
            median / floor,
            median / rough_floor,
            history.last("loss").unwrap_or(f32::NAN),
            peak_rss_mb().unwrap_or(f64::NAN),
        );
    }
    Ok(())
}
