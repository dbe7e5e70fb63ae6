//! Trains a softmax classifier on the bundled handwritten digits with early stopping, logs every
//! epoch to a CSV file and draws the training curves as an SVG plot.
//!
//! ```sh
//! cargo run --release --example training_curves [output folder]   # default: target/training_curves
//! ```

use std::path::PathBuf;

use elegy::callbacks::{Callback, CsvLogger, EarlyStopping, StopOnInterrupt};
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::optimizers::Adam;
use elegy::step::PredContext;
use elegy::{
    EvaluateOptions, FitOptions, Initializer, Model, PredStep, Result, Runner, Tensor, TensorMap,
    datasets,
};

/// Softmax regression over the 8x8 images, their pixels (0 to 16) scaled to [0, 1].
struct Linear {
    classes: usize,
}

impl Model for Linear {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        let x = ctx.x.as_tensor("x")?;
        let x = x.reshape(&[x.shape()[0] as isize, -1])?.div_scalar(16.0);
        let params = if ctx.initializing {
            let (key, _) = ctx.states.rng.split();
            let w = Initializer::GlorotUniform.init(&[x.shape()[1], self.classes], key)?;
            TensorMap::new()
                .with("w", w)
                .with("b", Tensor::zeros(&[self.classes]))
        } else {
            ctx.states.net_params.clone()
        };
        let logits = x.matmul(params.require("w")?)?.add(params.require("b")?)?;
        Ok(PredStep::new(logits, ctx.states.with_net_params(params)))
    }
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/training_curves"), PathBuf::from);
    let digits = datasets::digits()?;
    let (x_train, y_train, x_test, y_test) =
        datasets::train_test_split(digits.x, digits.y, 0.2, 0)?;

    let mut runner = Runner::new(Linear { classes: 10 })
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-2))
        .seed(0);

    let callbacks: Vec<Box<dyn Callback>> = vec![
        // Ctrl-C ends the run after the current batch, and the callbacks after it still finish.
        Box::new(StopOnInterrupt::new()),
        Box::new(
            EarlyStopping::new("val_loss")
                .patience(3)
                .min_delta(1e-3)
                .restore_best_weights(true)
                .verbose(true),
        ),
        Box::new(CsvLogger::new(out.join("training.csv"))),
    ];
    let history = runner.fit(
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

    let test = runner.evaluate(x_test, y_test, EvaluateOptions::default())?;
    println!(
        "trained {} epochs; test loss {:.4}, test accuracy {:.4}",
        history.epochs.len(),
        test["loss"],
        test["sparse_categorical_accuracy"]
    );
    let plot = out.join("training_curves.svg");
    history.plot_svg(&plot)?;
    println!(
        "wrote {} and {}",
        out.join("training.csv").display(),
        plot.display()
    );
    Ok(())
}
