//! Data-parallel training over MPI: this test binary launches itself under `mpirun` with 2
//! ranks (shared memory), 4 ranks (oversubscribed) and 2 ranks over TCP on loopback, and each
//! job's ranks check that they end with the parameters of one process trained on the global
//! batch (within 1e-5, tensor-relative) and identical to each other's, bit for bit. A failing
//! rank must end the job rather than hang it.
//!
//! Needs the cargo feature `mpi` and an MPI launcher (`mpirun`) on the PATH: without either, the
//! tests print why they are skipped and pass, so that the README's `cargo test --workspace`
//! passes on any machine. CI runs them with `cargo test --features mpi --test mpi`.

use std::process::Command;
use std::time::{Duration, Instant};

/// Set in the environment of the ranks this file launches.
const WORKER: &str = "ELEGY_MPI_WORKER";

/// Why the MPI tests cannot run here, if they cannot.
fn skip_reason() -> Option<String> {
    if !cfg!(feature = "mpi") {
        return Some("built without the `mpi` feature (cargo test --features mpi)".into());
    }
    match Command::new("mpirun").arg("--version").output() {
        Ok(out) if out.status.success() => None,
        _ => Some("no `mpirun` on the PATH (install Open MPI: openmpi-bin)".into()),
    }
}

/// Says why a test is skipped where `cargo test` shows it even when the test passes: written to
/// the process's stderr directly, which the harness does not capture (it captures `println!`).
fn skipped(reason: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "tests/mpi.rs: skipped: {reason}");
}

/// Runs the worker test `worker` of this binary under `mpirun` with `args`, for at most
/// `limit`; returns whether the job succeeded and what it printed.
fn launch(worker: &str, args: &[&str], limit: Duration) -> (bool, String) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe"])
        .args(args)
        .arg(&exe)
        .args([worker, "--exact", "--nocapture", "--test-threads=1"])
        .env(WORKER, worker)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("mpirun starts");
    let start = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return (out.status.success(), text);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("mpirun {args:?} for {worker} did not end within {limit:?}: a rank hangs");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn mpirun_ranks_train_as_one_process() {
    if let Some(reason) = skip_reason() {
        skipped(reason);
        return;
    }
    let shared_memory = ["--mca", "btl", "self,vader"];
    let tcp_on_loopback = [
        "--mca",
        "btl",
        "self,tcp",
        "--mca",
        "btl_tcp_if_include",
        "lo",
        "--mca",
        "oob_tcp_if_include",
        "lo",
    ];
    let jobs: [(&str, Vec<&str>); 3] = [
        ("2", shared_memory.to_vec()),
        ("4", shared_memory.to_vec()),
        ("2", tcp_on_loopback.to_vec()),
    ];
    for (ranks, transport) in jobs {
        let mut args = vec!["-np", ranks];
        args.extend(transport);
        let (ok, out) = launch("worker::worker_trains", &args, Duration::from_secs(600));
        assert!(ok, "mpirun {args:?} failed:\n{out}");
        assert!(out.contains("matches one process"), "{out}");
    }
}

#[test]
fn a_failing_mpi_rank_ends_the_job() {
    if let Some(reason) = skip_reason() {
        skipped(reason);
        return;
    }
    let args = ["-np", "2", "--mca", "btl", "self,vader"];
    let (ok, out) = launch("worker::worker_fails", &args, Duration::from_secs(300));
    assert!(!ok, "the job should have failed:\n{out}");
    assert!(out.contains("rank 1 failed"), "{out}");
}

#[cfg(feature = "mpi")]
mod worker {
    use super::WORKER;
    use elegy::distributed::{Collective, Mpi};
    use elegy::losses::SparseCategoricalCrossentropy;
    use elegy::metrics::SparseCategoricalAccuracy;
    use elegy::module::layers::Mlp;
    use elegy::optimizers::Adam;
    use elegy::{FitOptions, Runner, Tensor, TensorMap, datasets};

    fn is_worker(name: &str) -> bool {
        std::env::var(WORKER).as_deref() == Ok(name)
    }

    fn digits() -> (Tensor, Tensor) {
        let digits = datasets::digits().unwrap();
        let idx: Vec<usize> = (0..600).collect();
        (
            digits.x.index_select(0, &idx).unwrap().div_scalar(16.0),
            digits.y.index_select(0, &idx).unwrap(),
        )
    }

    fn fit(group: Option<Mpi>, x: &Tensor, y: &Tensor) -> elegy::Result<TensorMap> {
        let mut builder = Runner::for_module(Mlp::new(&[32, 10]))
            .loss(SparseCategoricalCrossentropy::from_logits())
            .metric(SparseCategoricalAccuracy)
            .optimizer(Adam::new(1e-3))
            .seed(5);
        if let Some(group) = group {
            builder = builder.data_parallel(group);
        }
        let mut runner = builder.build()?;
        // 600 samples at batch 60: 10 steps an epoch, 50 steps in all.
        let options = FitOptions {
            epochs: 5,
            batch_size: 60,
            verbose: 0,
            ..Default::default()
        };
        runner.fit(x.clone(), y.clone(), options)?;
        Ok(runner.states().net_params.clone())
    }

    fn flat(map: &TensorMap) -> Vec<f32> {
        map.iter().flat_map(|(_, t)| t.to_vec()).collect()
    }

    /// Under `mpirun`: trains data-parallel, then checks against one process and the ranks
    /// against each other.
    #[test]
    fn worker_trains() {
        if !is_worker("worker::worker_trains") {
            return;
        }
        let (x, y) = digits();
        let group = Mpi::world().unwrap();
        let (rank, size) = (group.rank(), group.world_size());
        let check = Mpi::world().unwrap();
        let params = fit(Some(group), &x, &y).unwrap();
        // Identical on every rank: rank 0's values broadcast, compared bit for bit.
        let mine = flat(&params);
        let mut root = mine.clone();
        check.broadcast(&mut root, 0).unwrap();
        assert!(
            mine.iter()
                .zip(&root)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "rank {rank} differs from rank 0"
        );
        let single = fit(None, &x, &y).unwrap();
        for ((name, a), (_, b)) in single.iter().zip(params.iter()) {
            let (a, b) = (a.to_vec(), b.to_vec());
            let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let worst = a
                .iter()
                .zip(&b)
                .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(worst / scale < 1e-5, "{name}: {} relative", worst / scale);
        }
        println!("rank {rank} of {size}: matches one process");
    }

    /// Under `mpirun`: rank 1's data holds a NaN, so its `fit` fails at once; the job must end.
    #[test]
    fn worker_fails() {
        if !is_worker("worker::worker_fails") {
            return;
        }
        let (x, y) = digits();
        let group = Mpi::world().unwrap();
        let x = if group.rank() == 1 {
            let mut values = x.to_vec();
            values[3] = f32::NAN;
            Tensor::from_vec(values, x.shape()).unwrap()
        } else {
            x
        };
        let _ = fit(Some(group), &x, &y);
        // Rank 0 would wait here forever if rank 1's failure did not end the job.
        let barrier = Mpi::world().unwrap();
        barrier.barrier().unwrap();
    }
}
