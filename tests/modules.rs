//! The module system: lazy parameters named by path, network state, summaries, and the default
//! `pred_step` running a runner's module.

use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::module::{Module, ModuleContext, Sequential};
use elegy::optimizers::Adam;
use elegy::{
    Defaults, EvaluateOptions, FitOptions, Initializer, PredictOptions, Result, Runner, Tensor,
    datasets,
};

/// A dense layer written the way library layers are: shapes come from the first batch.
struct Dense(usize);

impl Module for Dense {
    fn kind(&self) -> &'static str {
        "Dense"
    }
    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        let w = ctx.param(
            "kernel",
            &[x.shape()[1], self.0],
            Initializer::GlorotUniform,
        )?;
        let b = ctx.param("bias", &[self.0], Initializer::Zeros)?;
        x.matmul(&w)?.add(&b)
    }
}

struct Relu;

impl Module for Relu {
    fn kind(&self) -> &'static str {
        "Relu"
    }
    fn forward(&self, x: &Tensor, _: &mut ModuleContext<'_>) -> Result<Tensor> {
        Ok(x.relu())
    }
}

/// Counts the samples it has seen in training, in network state.
struct SampleCounter;

impl Module for SampleCounter {
    fn kind(&self) -> &'static str {
        "SampleCounter"
    }
    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        let seen = ctx.state("seen", &[], Initializer::Zeros)?;
        if ctx.training() && !ctx.initializing() {
            ctx.set_state("seen", &seen.add_scalar(x.shape()[0] as f32));
        }
        Ok(x.clone())
    }
}

fn mlp() -> Sequential {
    Sequential::new()
        .layer(Dense(32))
        .layer(Relu)
        .layer(SampleCounter)
        .layer(Dense(10))
}

fn runner() -> Runner<Defaults> {
    Runner::for_module(mlp())
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-2))
        .seed(0)
        .build()
        .unwrap()
}

fn scaled_digits() -> datasets::LabelledData {
    let mut d = datasets::digits().unwrap();
    d.x = d.x.div_scalar(16.0);
    d
}

#[test]
fn parameters_are_created_from_the_first_batch_and_named_by_path() {
    let d = scaled_digits();
    let mut r = runner();
    r.init(d.x, Some(d.y.into()), 8).unwrap();
    let names: Vec<&str> = r.states().net_params.names().collect();
    assert_eq!(
        names,
        vec![
            "sequential/dense/bias",
            "sequential/dense/kernel",
            "sequential/dense_1/bias",
            "sequential/dense_1/kernel"
        ]
    );
    assert_eq!(
        r.states()
            .net_params
            .require("sequential/dense/kernel")
            .unwrap()
            .shape(),
        &[64, 32]
    );
    assert_eq!(
        r.states().net_states.names().collect::<Vec<_>>(),
        vec!["sequential/sample_counter/seen"]
    );
}

#[test]
fn a_runner_with_a_module_trains_without_any_step_written() {
    let d = scaled_digits();
    let (xtr, ytr, xte, yte) = datasets::train_test_split(d.x, d.y, 0.2, 0).unwrap();
    let n = xtr.num_samples().unwrap();
    let mut r = runner();
    r.fit(
        xtr,
        ytr,
        FitOptions {
            epochs: 5,
            verbose: 0,
            ..Default::default()
        },
    )
    .unwrap();
    let logs = r
        .evaluate(xte.clone(), yte, EvaluateOptions::default())
        .unwrap();
    assert!(logs["sparse_categorical_accuracy"] > 0.93, "{logs:?}");
    // Network state flowed through training (5 epochs of n samples) and not through evaluation.
    let seen = r
        .states()
        .net_states
        .require("sequential/sample_counter/seen")
        .unwrap()
        .item()
        .unwrap();
    assert_eq!(seen, (5 * n) as f32);
    let pred = r.predict(xte, PredictOptions::default()).unwrap();
    assert_eq!(pred.as_tensor("y_pred").unwrap().shape()[1], 10);
}

#[test]
fn summary_rows_give_paths_kinds_shapes_and_counts() {
    let d = scaled_digits();
    let mut r = runner();
    let rows = r.summary_rows(d.x).unwrap();
    let brief: Vec<(&str, &str, Vec<usize>, usize, usize)> = rows
        .iter()
        .map(|r| {
            (
                r.path.as_str(),
                r.kind.as_str(),
                r.shape.clone(),
                r.trainable,
                r.non_trainable,
            )
        })
        .collect();
    assert_eq!(
        brief,
        vec![
            (
                "sequential",
                "Sequential",
                vec![10],
                64 * 32 + 32 + 32 * 10 + 10,
                1
            ),
            ("sequential/dense", "Dense", vec![32], 64 * 32 + 32, 0),
            ("sequential/relu", "Relu", vec![32], 0, 0),
            ("sequential/sample_counter", "SampleCounter", vec![32], 0, 1),
            ("sequential/dense_1", "Dense", vec![10], 32 * 10 + 10, 0),
        ]
    );
    let table = elegy::runner::format_summary(&rows);
    assert!(table.contains("Total parameters: 2411"), "{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with("sequential/dense_1 "))
        .unwrap();
    assert!(
        row.contains("Dense") && row.contains("[None, 10]") && row.contains("330"),
        "{table}"
    );
}

#[test]
fn an_input_of_another_shape_after_init_is_an_error_naming_the_parameter() {
    let d = scaled_digits();
    let mut r = runner();
    r.init(d.x, None, 8).unwrap();
    let err = r
        .predict(Tensor::zeros(&[2, 50]), PredictOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`sequential/dense/kernel` has shape [64, 32]"),
        "{err}"
    );
}

#[test]
fn without_a_module_or_a_pred_step_prediction_is_an_error_saying_what_to_do() {
    let mut r = Runner::new(Defaults)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .build()
        .unwrap();
    let err = r
        .init(Tensor::zeros(&[2, 3]), None, 2)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("does not override `pred_step` and its runner has no module"),
        "{err}"
    );
    assert!(err.contains("Runner::module"), "{err}");
}

#[test]
fn a_model_initialized_for_prediction_can_then_be_fitted_and_evaluated() {
    // summary() initializes from inputs alone: no metric or optimizer state exists yet.
    let d = scaled_digits();
    let mut r = runner();
    r.summary_rows(d.x.clone()).unwrap();
    let params_before = r.states().net_params.clone();
    let logs = r
        .evaluate(d.x.clone(), d.y.clone(), EvaluateOptions::default())
        .unwrap();
    assert!(logs.contains_key("sparse_categorical_accuracy"));
    r.fit(
        d.x,
        d.y,
        FitOptions {
            epochs: 1,
            verbose: 0,
            ..Default::default()
        },
    )
    .unwrap();
    assert_ne!(r.states().net_params, params_before);
    assert!(r.states().optimizer_states.contains("step"));
}
