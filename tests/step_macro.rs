//! `#[step]` methods called through `Model` with hand-made contexts: each parameter receives the
//! input it names, converted to its type, whatever the order and the subset.

use elegy::prelude::*;
use elegy::step::{Components, InitContext, PredContext, StepContext, SummaryContext};
use elegy::{Data, GradStep, Logs, Model, PredStep, States, SummaryRow, TestStep, TrainStep};

/// Reports the inputs it received, so a test can see what arrived where.
struct Echo;

/// `[initializing, training]` as a tensor.
fn flags(initializing: bool, training: bool) -> Tensor {
    Tensor::from(vec![
        f32::from(u8::from(initializing)),
        f32::from(u8::from(training)),
    ])
}

fn logs(entries: &[(&str, f32)]) -> Logs {
    let mut logs = Logs::new();
    for (name, value) in entries {
        logs.batch(*name, *value);
    }
    logs
}

fn sum(t: &Tensor) -> f32 {
    t.to_vec().iter().sum()
}

impl Model for Echo {
    /// `x` comes back as `y_pred`, the flags in the states, in an unusual parameter order.
    #[step]
    fn pred_step(
        &self,
        training: bool,
        mut states: States,
        x: &Tensor,
        initializing: bool,
    ) -> Result<PredStep> {
        states = states.with_field(
            "flags",
            TensorMap::new().with("f", flags(initializing, training)),
        );
        Ok(PredStep::new(x.clone(), states))
    }

    /// Only some inputs, one with a leading underscore.
    #[step]
    fn test_step(
        &self,
        y_true: Option<&Tensor>,
        _x: Data,
        sample_weight: Option<Tensor>,
        states: States,
    ) -> Result<TestStep> {
        let entries = [
            ("y_true", y_true.map_or(-1.0, sum)),
            ("sample_weight", sample_weight.as_ref().map_or(-1.0, sum)),
            ("x_parts", _x.leaves().len() as f32),
        ];
        Ok(TestStep {
            loss: Tensor::scalar(0.0),
            logs: logs(&entries),
            states,
        })
    }

    /// A required target: calling without one is an error from the step.
    #[step]
    fn grad_step(
        &self,
        y_true: &Tensor,
        class_weight: Option<&Tensor>,
        states: States,
    ) -> Result<GradStep> {
        let entries = [
            ("y_true", sum(y_true)),
            ("class_weight", class_weight.map_or(-1.0, sum)),
        ];
        Ok(GradStep {
            loss: Tensor::scalar(0.0),
            logs: logs(&entries),
            states,
            grads: TensorMap::new(),
        })
    }

    /// Every input of the batch steps.
    #[step]
    #[allow(clippy::too_many_arguments)]
    fn train_step(
        &self,
        x: Tensor,
        y_true: Option<Data>,
        sample_weight: &Tensor,
        class_weight: Tensor,
        states: States,
        initializing: bool,
        training: bool,
    ) -> Result<TrainStep> {
        let entries = [
            ("x", sum(&x)),
            ("y_true", y_true.map_or(-1.0, |y| y.leaves().len() as f32)),
            ("sample_weight", sum(sample_weight)),
            ("class_weight", sum(&class_weight)),
            ("initializing", f32::from(u8::from(initializing))),
            ("training", f32::from(u8::from(training))),
        ];
        Ok(TrainStep {
            logs: logs(&entries),
            states,
        })
    }

    /// Parameters from the shapes of the first batch.
    #[step]
    fn init_step(&self, x: &Data, states: States, y_true: Option<&Data>) -> Result<States> {
        let features = x.as_tensor("x")?.shape()[1];
        let outputs = y_true.map_or(1, |y| y.leaves()[0].shape()[1]);
        Ok(states.with_net_params(TensorMap::new().with("w", Tensor::zeros(&[features, outputs]))))
    }

    /// No inputs at all.
    #[step]
    fn summary_step(&self) -> Result<Vec<SummaryRow>> {
        Ok(Vec::new())
    }
}

fn batch() -> Data {
    Data::from(Tensor::from(vec![1.0, 2.0, 3.0]))
}

fn step_context<'a>(
    x: &'a Data,
    y_true: Option<&'a Data>,
    sample_weight: Option<&'a Tensor>,
    class_weight: Option<&'a Tensor>,
) -> StepContext<'a> {
    StepContext {
        x,
        y_true,
        sample_weight,
        class_weight,
        states: States::new(0),
        components: Components::none(),
        initializing: false,
        training: true,
    }
}

#[test]
fn pred_step_receives_x_and_both_flags_whatever_the_parameter_order() -> Result<()> {
    let x = batch();
    let model: &dyn Model = &Echo;
    let out = model.pred_step(PredContext {
        x: &x,
        states: States::new(0),
        components: Components::none(),
        initializing: true,
        training: false,
    })?;
    assert_eq!(out.y_pred, x);
    assert_eq!(
        out.states.field("flags")?.require("f")?.to_vec(),
        [1.0, 0.0]
    );
    Ok(())
}

#[test]
fn optional_inputs_arrive_as_some_when_given() -> Result<()> {
    let (x, y) = (batch(), Data::from(Tensor::from(vec![4.0, 5.0])));
    let weight = Tensor::from(vec![0.5, 0.5]);
    let out = Echo.test_step(step_context(&x, Some(&y), Some(&weight), None))?;
    assert_eq!(out.logs.get("y_true"), Some(9.0));
    assert_eq!(out.logs.get("sample_weight"), Some(1.0));
    Ok(())
}

#[test]
fn optional_inputs_arrive_as_none_when_not_given() -> Result<()> {
    let x = batch();
    let out = Echo.test_step(step_context(&x, None, None, None))?;
    assert_eq!(out.logs.get("y_true"), Some(-1.0));
    assert_eq!(out.logs.get("sample_weight"), Some(-1.0));
    Ok(())
}

#[test]
fn an_underscored_parameter_receives_the_input_without_the_underscore() -> Result<()> {
    let x = batch();
    let out = Echo.test_step(step_context(&x, None, None, None))?;
    assert_eq!(out.logs.get("x_parts"), Some(1.0));
    Ok(())
}

#[test]
fn x_as_data_receives_a_tuple_whole() -> Result<()> {
    let x = Data::from((Tensor::zeros(&[2, 1]), Tensor::zeros(&[2, 3])));
    let out = Echo.test_step(step_context(&x, None, None, None))?;
    assert_eq!(out.logs.get("x_parts"), Some(2.0));
    Ok(())
}

#[test]
fn a_required_input_that_was_not_given_is_an_error_naming_it() {
    let x = batch();
    let err = Echo
        .grad_step(step_context(&x, None, None, None))
        .expect_err("y_true is required");
    let message = err.to_string();
    assert!(
        message.contains("grad_step") && message.contains("`y_true`"),
        "{message}"
    );
}

#[test]
fn x_as_a_tensor_when_it_is_a_tuple_is_an_error_naming_the_step() {
    let x = Data::from((Tensor::zeros(&[2, 1]), Tensor::zeros(&[2, 3])));
    let err = Echo
        .pred_step(PredContext {
            x: &x,
            states: States::new(0),
            components: Components::none(),
            initializing: false,
            training: false,
        })
        .expect_err("x is a tuple");
    assert!(err.to_string().contains("pred_step"), "{err}");
}

#[test]
fn grad_step_receives_targets_and_class_weight() -> Result<()> {
    let (x, y) = (batch(), Data::from(Tensor::from(vec![1.0, 1.0])));
    let class_weight = Tensor::from(vec![2.0, 3.0]);
    let out = Echo.grad_step(step_context(&x, Some(&y), None, Some(&class_weight)))?;
    assert_eq!(out.logs.get("y_true"), Some(2.0));
    assert_eq!(out.logs.get("class_weight"), Some(5.0));
    Ok(())
}

#[test]
fn train_step_receives_every_input_of_the_batch() -> Result<()> {
    let (x, y) = (batch(), Data::from(Tensor::from(vec![1.0])));
    let (sample_weight, class_weight) = (Tensor::from(vec![0.25]), Tensor::from(vec![7.0]));
    let ctx = step_context(&x, Some(&y), Some(&sample_weight), Some(&class_weight));
    let out = Echo.train_step(ctx)?;
    let expected = [
        ("class_weight", 7.0),
        ("initializing", 0.0),
        ("sample_weight", 0.25),
        ("training", 1.0),
        ("x", 6.0),
        ("y_true", 1.0),
    ];
    let expected = expected.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(out.logs.values(), expected);
    Ok(())
}

#[test]
fn init_step_receives_the_first_batch_and_the_states() -> Result<()> {
    let (x, y) = (
        Data::from(Tensor::zeros(&[4, 3])),
        Data::from(Tensor::zeros(&[4, 2])),
    );
    let states = Echo.init_step(InitContext {
        x: &x,
        y_true: Some(&y),
        sample_weight: None,
        class_weight: None,
        states: States::new(0),
        components: Components::none(),
        training: true,
    })?;
    assert_eq!(states.net_params.require("w")?.shape(), [3, 2]);
    Ok(())
}

#[test]
fn a_step_may_ask_for_no_inputs() -> Result<()> {
    let x = batch();
    let rows = Echo.summary_step(SummaryContext {
        x: &x,
        states: States::new(0),
        components: Components::none(),
    })?;
    assert!(rows.is_empty());
    Ok(())
}

/// y = x w over two features; its `train_step` hands its whole context to the default body.
struct PassesItsContextOn;

impl Model for PassesItsContextOn {
    #[step]
    fn pred_step(&self, x: &Tensor, states: States, initializing: bool) -> Result<PredStep> {
        let params = if initializing {
            TensorMap::new().with("w", Tensor::ones(&[2, 1]))
        } else {
            states.net_params.clone()
        };
        let y = x.matmul(params.require("w")?)?;
        Ok(PredStep::new(y, states.with_net_params(params)))
    }

    #[step]
    fn train_step(&self, ctx: StepContext<'_>, training: bool) -> Result<TrainStep> {
        // Fields beside the whole context are copies of its own.
        assert_eq!(training, ctx.training);
        elegy::model::defaults::train_step(self, ctx)
    }
}

#[test]
fn sample_weights_given_to_fit_reach_the_loss_through_an_override_that_passes_ctx_on() {
    use elegy::losses::MeanSquaredError;
    use elegy::optimizers::Sgd;
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).unwrap();
    let y = Tensor::from_vec(vec![1.0, 0.0, 2.0], &[3, 1]).unwrap();
    let fit = |weights: Option<Tensor>| {
        let mut runner = elegy::Runner::new(PassesItsContextOn)
            .loss(MeanSquaredError)
            .optimizer(Sgd::new(0.01))
            .build()
            .unwrap();
        let options = elegy::FitOptions {
            epochs: 2,
            verbose: 0,
            sample_weight: weights,
            ..Default::default()
        };
        runner.fit(x.clone(), y.clone(), options).unwrap();
        runner.states().net_params.require("w").unwrap().to_vec()
    };
    let weighted = fit(Some(Tensor::from(vec![1.0, 0.0, 3.0])));
    let unweighted = fit(None);
    assert_ne!(weighted, unweighted);
    // The same as the default step given the weights directly: one update of the weighted loss
    // per epoch (one batch), from w = 1.
    let mut w = vec![1.0f32, 1.0];
    for _ in 0..2 {
        let (rows, targets, weights) = (
            [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
            [1.0, 0.0, 2.0],
            [1.0, 0.0, 3.0],
        );
        let mut grad = [0.0f32; 2];
        for ((row, t), sw) in rows.iter().zip(targets).zip(weights) {
            let residual = row[0] * w[0] + row[1] * w[1] - t;
            for k in 0..2 {
                // Keras' weighted mean over the batch: sum of weighted losses over the samples.
                grad[k] += 2.0 * residual * row[k] * sw / 3.0;
            }
        }
        for k in 0..2 {
            w[k] -= 0.01 * grad[k];
        }
    }
    for (got, want) in weighted.iter().zip(&w) {
        assert!((got - want).abs() < 1e-4, "{weighted:?} vs {w:?}");
    }
}
