//! Trains an MLP on the bundled handwritten digits with early stopping, keeps the best model in a
//! checkpoint, logs every epoch to a CSV file and draws the training curves as SVG and PNG plots; then
//! loads the checkpoint into a fresh runner and evaluates it.
//!
//! ```sh
//! cargo run --release --example training_curves [output folder]   # default: target/training_curves
//! ```

use std::path::PathBuf;

use elegy::callbacks::{Callback, CsvLogger, EarlyStopping, ModelCheckpoint, StopOnInterrupt};
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::module::layers::Mlp;
use elegy::optimizers::Adam;
use elegy::{Defaults, EvaluateOptions, FitOptions, Result, Runner, datasets};

fn runner() -> Result<Runner<Defaults>> {
    Runner::for_module(Mlp::new(&[64, 10]))
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(3e-3))
        .seed(0)
        .build()
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/training_curves"), PathBuf::from);
    let digits = datasets::digits()?;
    let (x_train, y_train, x_test, y_test) =
        datasets::train_test_split(digits.x.div_scalar(16.0), digits.y, 0.2, 0)?;

    let best = out.join("best");
    let callbacks: Vec<Box<dyn Callback>> = vec![
        // Ctrl-C ends the run after the current batch, and the callbacks after it still finish.
        Box::new(StopOnInterrupt::new()),
        Box::new(
            EarlyStopping::new("val_loss")
                .patience(5)
                .min_delta(1e-3)
                .restore_best_weights(true)
                .verbose(true),
        ),
        Box::new(
            ModelCheckpoint::new(best.to_string_lossy())
                .monitor("val_loss")
                .save_best_only(true),
        ),
        Box::new(CsvLogger::new(out.join("training.csv"))),
    ];
    let mut trained = runner()?;
    let history = trained.fit(
        x_train,
        y_train,
        FitOptions {
            epochs: 200,
            batch_size: 32,
            validation_split: 0.2,
            callbacks,
            ..Default::default()
        },
    )?;
    let plot = out.join("training_curves.svg");
    history.plot_svg(&plot)?;
    let png = out.join("training_curves.png");
    history.plot_png(&png)?;

    // The best epoch's checkpoint, in a runner built the same way.
    let mut restored = runner()?;
    restored.load(&best)?;
    let test = restored.evaluate(x_test, y_test, EvaluateOptions::default())?;
    println!(
        "trained {} epochs; best checkpoint: test loss {:.4}, test accuracy {:.4}",
        history.epochs.len(),
        test["loss"],
        test["sparse_categorical_accuracy"]
    );
    println!(
        "wrote {}, {}, {} and {}",
        out.join("training.csv").display(),
        plot.display(),
        png.display(),
        best.display()
    );
    Ok(())
}
