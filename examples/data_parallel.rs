//! The digits MLP trained data-parallel: every rank takes its shard of each batch of 64, and
//! the gradients are summed across ranks before each update. The model code is the same as
//! `mlp_digits`; one line (`data_parallel`) turns it on.
//!
//! On MPI (the `mpi` feature, Open MPI or MPICH installed):
//!
//! ```sh
//! cargo build --release --features mpi --example data_parallel
//! mpirun -np 2 target/release/examples/data_parallel
//! ```
//!
//! Without MPI (or started without `mpirun`), it runs two ranks on threads of one process:
//! `cargo run --release --example data_parallel`.

use elegy::distributed::{Collective, ThreadGroup};
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::module::layers::Mlp;
use elegy::optimizers::Adam;
use elegy::{EvaluateOptions, FitOptions, Result, Runner, datasets};

/// Trains and evaluates on one rank of `group`; rank 0 prints.
fn train(group: impl Collective + 'static) -> Result<()> {
    let (rank, ranks) = (group.rank(), group.world_size());
    let digits = datasets::digits()?;
    let x = digits.x.div_scalar(16.0);
    let (x_train, y_train, x_test, y_test) = datasets::train_test_split(x, digits.y, 0.2, 0)?;
    let mut runner = Runner::for_module(Mlp::new(&[128, 64, 10]))
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-3))
        .seed(0)
        .data_parallel(group)
        .build()?;
    let options = FitOptions {
        epochs: 30,
        batch_size: 64,
        validation_split: 0.1,
        // The progress display shows on rank 0 only.
        verbose: 1,
        ..Default::default()
    };
    runner.fit(x_train, y_train, options)?;
    let logs = runner.evaluate(x_test, y_test, EvaluateOptions::default())?;
    if rank == 0 {
        println!(
            "{ranks} ranks - test loss: {:.4} - test accuracy: {:.4}",
            logs["loss"], logs["sparse_categorical_accuracy"]
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    #[cfg(feature = "mpi")]
    {
        let world = elegy::distributed::Mpi::world()?;
        if world.world_size() > 1 {
            return train(world);
        }
    }
    println!("(not under mpirun: two ranks on threads of this process)");
    ThreadGroup::run(2, train).into_iter().collect()
}
