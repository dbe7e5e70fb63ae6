//! A step of the model's own replaces the default one that measures the runner's metrics: it
//! reports them with `defaults::update_metrics`, and a run whose logs lack one warns, once per
//! runner, on stderr.

use std::process::Command;

use elegy::metrics::MeanAbsoluteError;
use elegy::model::defaults;
use elegy::optimizers::Sgd;
use elegy::prelude::*;
use elegy::step::StepContext;

/// y = a x, with a loss of its own; reports the runner's metrics when `reports_metrics`.
struct LineFit {
    reports_metrics: bool,
}

impl Model for LineFit {
    #[step]
    fn test_step(
        &self,
        x: &Tensor,
        y_true: &Tensor,
        initializing: bool,
        ctx: StepContext<'_>,
    ) -> Result<TestStep> {
        let params = if initializing {
            TensorMap::new().with("a", Tensor::zeros(&[1]))
        } else {
            ctx.states.net_params.clone()
        };
        let y_pred = x.mul(params.require("a")?)?;
        let loss = y_pred.sub(y_true)?.square().mean_all();
        let mut logs = Logs::new();
        logs.batch("loss", loss.item()?);
        let states = ctx.states.clone().with_net_params(params);
        let states = if self.reports_metrics {
            defaults::update_metrics(&ctx, &y_pred, states, &mut logs)?
        } else {
            states
        };
        Ok(TestStep { loss, logs, states })
    }
}

fn runner(reports_metrics: bool) -> Runner<LineFit> {
    Runner::new(LineFit { reports_metrics })
        .metric(MeanAbsoluteError)
        .optimizer(Sgd::new(0.1))
        .build()
        .unwrap()
}

/// x = 1..=8 and y = 2x.
fn line() -> (Tensor, Tensor) {
    let x = Tensor::from((1..=8).map(|i| i as f32).collect::<Vec<_>>())
        .reshape(&[8, 1])
        .unwrap();
    let y = x.mul_scalar(2.0);
    (x, y)
}

fn quiet(epochs: usize) -> FitOptions {
    FitOptions {
        epochs,
        batch_size: 4,
        shuffle: false,
        verbose: 0,
        ..Default::default()
    }
}

#[test]
fn an_own_test_step_reports_the_runners_metrics_with_update_metrics() {
    let (x, y) = line();
    let mut r = runner(true);
    let history = r
        .fit(
            x.clone(),
            y.clone(),
            FitOptions {
                validation_data: Some(Batch::xy(x.clone(), y.clone())),
                ..quiet(2)
            },
        )
        .unwrap();
    assert_eq!(
        history.logs.keys().collect::<Vec<_>>(),
        [
            "learning_rate",
            "loss",
            "mean_absolute_error",
            "val_loss",
            "val_mean_absolute_error"
        ]
    );
    // The metric of the step's own predictions: the mean of |a x - 2 x| over the samples.
    let logs = r
        .evaluate(x.clone(), y.clone(), EvaluateOptions::default())
        .unwrap();
    let a = r.states().net_params.require("a").unwrap().item().unwrap();
    let expected = (1..=8).map(|i| (2.0 - a) * i as f32).sum::<f32>().abs() / 8.0;
    assert!(
        (logs["mean_absolute_error"] - expected).abs() < 1e-4,
        "{logs:?} against {expected}"
    );
}

/// Set in the child processes of the warning's tests: `fit` or `evaluate`.
const CHILD: &str = "ELEGY_TEST_UNREPORTED_CHILD";

#[test]
fn child_runs_a_step_that_leaves_out_a_metric() {
    let Some(run) = std::env::var_os(CHILD) else {
        return;
    };
    let (x, y) = line();
    let mut r = runner(false);
    if run == "fit" {
        let history = r.fit(x.clone(), y.clone(), quiet(3)).unwrap();
        assert!(history.get("mean_absolute_error").is_none());
    } else {
        r.init(x.clone(), Some(y.clone().into()), 8).unwrap();
    }
    let logs = r
        .evaluate(x.clone(), y.clone(), EvaluateOptions::default())
        .unwrap();
    assert_eq!(logs.keys().collect::<Vec<_>>(), ["loss"]);
    r.evaluate(x, y, EvaluateOptions::default()).unwrap();
}

/// The warnings a child process running `run` prints on stderr.
fn warnings_of(run: &str) -> Vec<String> {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_runs_a_step_that_leaves_out_a_metric",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, run)
        .output()
        .unwrap();
    assert!(output.status.success(), "the child failed: {output:?}");
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.starts_with("warning:"))
        .map(str::to_string)
        .collect()
}

const FIX: &str = "call `elegy::model::defaults::update_metrics(&ctx, &y_pred, states, &mut logs)` \
                   in the step that makes the predictions";

#[test]
fn a_metric_an_own_step_leaves_out_in_fit_is_warned_about_once() {
    // Three epochs and two evaluations: one warning, at the end of the first epoch.
    assert_eq!(
        warnings_of("fit"),
        [format!(
            "warning: metric `mean_absolute_error` was given to the runner but `train_step` (or \
             the `grad_step` or `test_step` it calls) of `LineFit` did not report it; {FIX}"
        )]
    );
}

#[test]
fn a_metric_an_own_step_leaves_out_in_evaluate_names_test_step() {
    assert_eq!(
        warnings_of("evaluate"),
        [format!(
            "warning: metric `mean_absolute_error` was given to the runner but `test_step` of \
             `LineFit` did not report it; {FIX}"
        )]
    );
}
