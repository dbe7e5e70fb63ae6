//! The default body of each step, callable on its own from an override (what
//! `super().train_step(...)` is in Python's Elegy).
//!
//! The chain: `train_step -> grad_step -> test_step -> pred_step`, and
//! `init_step -> train_step(initializing)`. The runner's loss, metrics, optimizer and module are
//! the context's [`Components`](crate::step::Components).
//!
//! A default step that fails before it changes anything hands back the states it was given, in
//! its error ([`Error::with_states`]): an override that calls it with `?` passes them on, and the
//! runner goes on from them. Only an optimizer update that fails midway consumes them.

use std::any::type_name;

use crate::autodiff::grad;
use crate::data::Data;
use crate::error::{Error, Result};
use crate::losses;
use crate::model::Model;
use crate::module::ModuleContext;
use crate::step::{
    GradStep, InitContext, Logs, PredContext, PredStep, States, StepContext, SummaryContext,
    SummaryRow, TestStep, TrainStep,
};
use crate::tensor::{Tensor, TensorMap};

/// Runs `train_step` once with `initializing = true`, which creates parameters, metric state and
/// optimizer state without updating anything.
///
/// The rule without targets: when the states are made to train on (`ctx.training`: `fit` and
/// `train_on_batch` without labels) `train_step` runs all the same, with `y_true = None`, so a
/// model trained without labels gets everything its steps make, and a step, loss or metric that
/// needs targets fails here, before any batch trains. Otherwise (`init(x, None)`, `evaluate`
/// or `test_on_batch` without targets) `pred_step` alone creates the parameters; the optimizer
/// and metric states follow when first needed.
pub fn init_step<M: Model + ?Sized>(model: &M, ctx: InitContext<'_>) -> Result<States> {
    if ctx.y_true.is_none() && !ctx.training {
        let pred = model.pred_step(PredContext {
            x: ctx.x,
            states: ctx.states,
            components: ctx.components,
            initializing: true,
            training: true,
        })?;
        return Ok(pred.states);
    }
    let step = model.train_step(StepContext {
        x: ctx.x,
        y_true: ctx.y_true,
        sample_weight: ctx.sample_weight,
        class_weight: ctx.class_weight,
        states: ctx.states,
        components: ctx.components,
        initializing: true,
        training: true,
    })?;
    Ok(step.states)
}

/// Runs the runner's module on `x`: it creates the parameters and state when initializing and
/// reads them otherwise. Without a module there is nothing to run: the model must override
/// `pred_step`.
pub fn pred_step<M: Model + ?Sized>(_model: &M, ctx: PredContext<'_>) -> Result<PredStep> {
    let states = ctx.states;
    let Some(module) = ctx.components.module.as_deref() else {
        let message = format!(
            "`{}` does not override `pred_step` and its runner has no module, so it cannot make \
             predictions; implement `pred_step` in `impl Model for {0}` (with #[step]; a method \
             of a plain `impl {0}` block is not a step), or give the runner a module with \
             Runner::module",
            short_type_name::<M>()
        );
        return Err(Error::missing_component("pred_step", "module", message).with_states(states));
    };
    let mut mctx = ModuleContext::new(
        &states.net_params,
        &states.net_states,
        ctx.initializing,
        ctx.training,
        states.rng,
    );
    let y_pred = match mctx.call_data(module, ctx.x) {
        Ok(y_pred) => y_pred,
        Err(e) => {
            drop(mctx);
            return Err(e.with_states(states));
        }
    };
    let (params, net_states, _) = mctx.finish();
    Ok(PredStep::new(
        y_pred,
        states
            .clone()
            .with_net_params(params)
            .with_net_states(net_states),
    ))
}

/// The type's name without its module path (`Linear` for `my_crate::models::Linear`).
pub(crate) fn short_type_name<M: ?Sized>() -> &'static str {
    let full = type_name::<M>();
    let base = full.split('<').next().unwrap_or(full);
    let start = base.rfind("::").map_or(0, |i| i + 2);
    &full[start..]
}

/// Calls `pred_step`, then the runner's losses (weighted and summed into `loss`) and metrics
/// (streamed through `metrics_states`, with [`update_metrics`]).
///
/// The loss is logged once, as in Keras: a runner with one loss logs it as `loss` alone; with
/// several (two outputs' losses, or a loss and a regularization), `loss` is their weighted sum and
/// each part is logged too, as `<name>_loss` (its weighted value).
pub fn test_step<M: Model + ?Sized>(model: &M, ctx: StepContext<'_>) -> Result<TestStep> {
    let components = ctx.components;
    if components.losses.is_empty() {
        let message = "the runner has no loss; give it one with Runner::loss, or override \
                       `test_step`";
        return Err(Error::missing_component("test_step", "loss", message).with_states(ctx.states));
    }
    // `pred_step` gets a copy sharing every tensor: whatever fails from here on hands back the
    // states this step was given, not what `pred_step` made of them.
    let pred = match model.pred_step(ctx.pred(ctx.states.clone())) {
        Ok(pred) => pred,
        Err(e) => return Err(e.with_states(ctx.states)),
    };
    let mut logs = Logs::new();
    let measured = total_loss(&ctx, &pred.y_pred, &pred.states, &mut logs).and_then(|loss| {
        let states = update_metrics(&ctx, pred.y_pred, pred.states, &mut logs)?;
        Ok((loss, states))
    });
    match measured {
        Ok((loss, states)) => Ok(TestStep { loss, logs, states }),
        Err(e) => Err(e.with_states(ctx.states)),
    }
}

/// The weighted sum of the runner's losses on predictions `y_pred`, logged as `loss` (and each
/// part beside it when there are several).
fn total_loss(
    ctx: &StepContext<'_>,
    y_pred: &Data,
    states: &States,
    logs: &mut Logs,
) -> Result<Tensor> {
    let components = ctx.components;
    let mut total = None;
    // One loss is the total itself: logging it under its own name too would repeat `loss`.
    let log_parts = components.losses.len() > 1;
    for entry in &components.losses {
        let (y_true, y_pred) = select_output(entry.output.as_deref(), ctx.y_true, y_pred)?;
        let inputs = losses::LossInputs {
            x: ctx.x,
            y_true,
            y_pred,
            sample_weight: ctx.sample_weight,
            class_weight: ctx.class_weight,
            params: &states.net_params,
        };
        let value = entry.loss.compute(&inputs)?;
        if value.len() != 1 {
            return Err(Error::invalid(
                "test_step",
                format!(
                    "loss `{}` gave {} values (shape {:?}) where training needs one; a loss \
                     made with `with_reduction(Reduction::None)` keeps one value per sample: give \
                     the runner the loss with Reduction::SumOverBatchSize (the default) or \
                     Reduction::Sum, and keep Reduction::None for looking at the values yourself",
                    entry.loss.name(),
                    value.len(),
                    value.shape()
                ),
            ));
        }
        let value = value.mul_scalar(entry.weight);
        if log_parts {
            logs.batch(entry.log_name.clone(), value.item()?);
        }
        total = Some(match total {
            None => value,
            Some(t) => value.add(&t)?,
        });
    }
    let Some(loss) = total else {
        return Err(Error::missing_component(
            "test_step",
            "loss",
            "the runner has no loss; give it one with Runner::loss, or override `test_step`",
        ));
    };
    logs.batch("loss", loss.item()?);
    Ok(loss)
}

/// Updates the runner's metrics (`Runner::metric`) with a batch's predictions `y_pred` and logs
/// each one's value so far: the metrics of the default `test_step`, for an override that
/// computes its loss its own way (Keras' `compute_metrics`). Returns `states` with the metrics'
/// state updated; `ctx` gives the targets, the sample weights and the metrics.
///
/// The rule: a `test_step` of your own reports the runner's metrics only by calling this (or by
/// logging them itself); the loops warn once, on stderr, when a metric the runner was given is
/// missing from a run's logs. When initializing it creates the metrics' state without counting
/// the batch.
///
/// ```
/// use elegy_core::metrics::MeanAbsoluteError;
/// use elegy_core::model::defaults;
/// use elegy_core::optimizers::Sgd;
/// use elegy_core::step::{StepContext, TestStep};
/// use elegy_core::{Error, FitOptions, Logs, Model, Result, Runner, Tensor, TensorMap};
///
/// /// y = a x, with a loss of its own.
/// struct Scale;
///
/// impl Model for Scale {
///     fn test_step(&self, ctx: StepContext<'_>) -> Result<TestStep> {
///         let x = ctx.x.as_tensor("x")?;
///         let y_true = ctx.y_true.ok_or(Error::Step("`Scale` needs targets".into()))?;
///         let y_true = y_true.as_tensor("y")?;
///         let params = if ctx.initializing {
///             TensorMap::new().with("a", Tensor::zeros(&[1]))
///         } else {
///             ctx.states.net_params.clone()
///         };
///         let y_pred = x.mul(params.require("a")?)?;
///         let loss = y_pred.sub(y_true)?.square().mean_all();
///         let mut logs = Logs::new();
///         logs.batch("loss", loss.item()?);
///         let states = ctx.states.clone().with_net_params(params);
///         // The runner's metrics, from these predictions.
///         let states = defaults::update_metrics(&ctx, &y_pred, states, &mut logs)?;
///         Ok(TestStep { loss, logs, states })
///     }
/// }
///
/// let mut runner = Runner::new(Scale)
///     .metric(MeanAbsoluteError)
///     .optimizer(Sgd::new(0.1))
///     .build()?;
/// let x = Tensor::from(vec![1.0f32, 2.0, 3.0, 4.0]).reshape(&[4, 1])?;
/// let y = x.mul_scalar(2.0);
/// let history = runner.fit(x, y, FitOptions { epochs: 2, verbose: 0, ..Default::default() })?;
/// assert!(history.last("mean_absolute_error").is_some());
/// # Ok::<(), elegy_core::Error>(())
/// ```
pub fn update_metrics(
    ctx: &StepContext<'_>,
    y_pred: impl Into<Data>,
    states: States,
    logs: &mut Logs,
) -> Result<States> {
    let components = ctx.components;
    let y_pred = y_pred.into();
    let mut metrics_states = if ctx.initializing {
        TensorMap::new()
    } else {
        states.metrics_states.clone()
    };
    for entry in &components.metrics {
        let metric = &entry.metric;
        let name = entry.log_name.clone();
        let prefix = entry.state_prefix();
        let existing: TensorMap = metrics_states
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_string(), v.clone())))
            .collect();
        // A metric without state (initializing, or states created by `pred_step` alone) starts
        // from its initial state.
        let mine = if ctx.initializing || existing.is_empty() {
            metric.init()
        } else {
            existing
        };
        let (y_true, y_pred) = select_output(entry.output.as_deref(), ctx.y_true, &y_pred)?;
        let y_true = y_true.ok_or_else(|| Error::MissingInput {
            input: "y_true",
            message: format!(
                "metric `{name}` compares targets with predictions, but this call has no \
                 targets (y); pass y to the loop, or leave the metric out of a runner that \
                 trains without them"
            ),
        })?;
        let fix = "measure one part with `Runner::output_metric(key, metric)`, once per part";
        let y_pred = y_pred
            .as_tensor_or(&format!("metric `{name}`: y_pred"), fix)?
            .detach();
        let y_true = y_true.as_tensor_or(&format!("metric `{name}`: y_true"), fix)?;
        let updated = metric.update(&mine, y_true, &y_pred, ctx.sample_weight)?;
        logs.running(name.clone(), metric.result(&updated)?);
        // Initializing only creates the state: the batch it ran on must not count.
        let kept = if ctx.initializing { mine } else { updated };
        for (k, v) in kept {
            metrics_states.insert(format!("{prefix}{k}"), v);
        }
    }
    Ok(states.with_metrics_states(metrics_states))
}

/// Differentiates the loss of `test_step` with respect to `states.net_params`; `net_states` and
/// the other states flow through, cut from the graph.
pub fn grad_step<M: Model + ?Sized>(model: &M, ctx: StepContext<'_>) -> Result<GradStep> {
    // A copy sharing every tensor, to hand back if anything fails (whether or not the failing
    // step handed back its own): dropped before returning, so that the caller's update still
    // owns the tensors alone.
    let given = ctx.states.clone();
    let params = ctx.states.net_params.tracked();
    let states = ctx.states.clone().with_net_params(params.clone());
    let test = match model.test_step(ctx.with_states(states)) {
        Ok(test) => test,
        Err(e) => return Err(e.with_states(given)),
    };
    let grads = match grad(&test.loss, &params) {
        Ok(grads) => grads,
        Err(e) => {
            drop((test, params));
            return Err(e.with_states(given));
        }
    };
    drop(given);
    let states = detach_states(test.states);
    Ok(GradStep {
        loss: test.loss.detach(),
        logs: test.logs,
        states,
        grads,
    })
}

/// One optimizer update along the gradients of `grad_step`; when initializing, runs `test_step`
/// and creates the optimizer's state instead.
///
/// If it fails before the update (in `grad_step` or the model's own steps), the error hands back
/// the states it was given ([`Error::with_states`]), and the runner goes on from them: the step
/// did not happen. The update itself changes parameters and moments in place (the states given
/// own them alone), so a failure inside it consumes them.
pub fn train_step<M: Model + ?Sized>(model: &M, ctx: StepContext<'_>) -> Result<TrainStep> {
    let optimizer = ctx.components.optimizer.as_deref();
    if ctx.initializing {
        let test = model.test_step(ctx)?;
        let mut states = detach_states(test.states);
        if let Some(optimizer) = optimizer {
            let opt_states = optimizer.init(&states.net_params)?;
            states = states.with_optimizer_states(opt_states);
        }
        return Ok(TrainStep {
            logs: test.logs,
            states,
        });
    }
    let Some(optimizer) = optimizer else {
        let message = "the runner has no optimizer; give it one with Runner::optimizer, or \
                       override `train_step`";
        return Err(
            Error::missing_component("train_step", "optimizer", message).with_states(ctx.states)
        );
    };
    let components = ctx.components;
    let step = model.grad_step(ctx)?;
    let mut states = step.states;
    // Data-parallel: the whole batch's gradients from this rank's shard's.
    let grads = match components.reduce_gradients(&step.grads) {
        Ok(grads) => grads,
        Err(e) => return Err(e.with_states(states)),
    };
    let params = std::mem::take(&mut states.net_params);
    let mut opt_states = std::mem::take(&mut states.optimizer_states);
    if opt_states.is_empty() {
        // States created by `pred_step` alone (init without targets) have no optimizer state yet.
        opt_states = match optimizer.init(&params) {
            Ok(made) => made,
            Err(e) => return Err(e.with_states(states.with_net_params(params))),
        };
    }
    let (params, opt_states) = optimizer.update(params, &grads, opt_states)?;
    Ok(TrainStep {
        logs: step.logs,
        states: states
            .with_net_params(params)
            .with_optimizer_states(opt_states),
    })
}

/// One row per module the runner's module calls (path, kind, output shape, parameter counts).
/// Without a module, as in Elegy, `pred_step` runs on a copy of the states with
/// `initializing = true, training = true` (the states given stay as they are): one row per
/// parameter and network state it makes, sorted by path, then one per part of its predictions for
/// the sample batch (kind `"output"`, whole shape).
pub fn summary_step<M: Model + ?Sized>(
    model: &M,
    ctx: SummaryContext<'_>,
) -> Result<Vec<SummaryRow>> {
    let states = &ctx.states;
    if let Some(module) = ctx.components.module.as_deref() {
        let mut mctx = ModuleContext::new(
            &states.net_params,
            &states.net_states,
            false,
            false,
            states.rng,
        )
        .record_summary();
        mctx.call_data(module, ctx.x)?;
        return Ok(mctx.finish().2);
    }
    let pred = model
        .pred_step(PredContext {
            x: ctx.x,
            states: states.clone(),
            components: ctx.components,
            initializing: true,
            training: true,
        })
        .map_err(|e| e.into_parts().0)?;
    let row = |path: &str, kind: &str, t: &crate::Tensor| SummaryRow {
        path: path.to_string(),
        kind: kind.to_string(),
        shape: t.shape().to_vec(),
        trainable: if kind == "parameter" { t.len() } else { 0 },
        non_trainable: if kind == "state" { t.len() } else { 0 },
        bytes: if kind == "output" {
            0
        } else {
            t.len() * std::mem::size_of::<f32>()
        },
    };
    let outputs = pred.y_pred.leaves();
    let output_path = |i: usize| match outputs.len() {
        1 => "output".to_string(),
        _ => format!("output/{i}"),
    };
    let made = &pred.states;
    Ok(made
        .net_params
        .iter()
        .map(|(k, t)| row(k, "parameter", t))
        .chain(made.net_states.iter().map(|(k, t)| row(k, "state", t)))
        .chain(
            outputs
                .iter()
                .enumerate()
                .map(|(i, t)| row(&output_path(i), "output", t)),
        )
        .collect())
}

/// The targets and predictions a loss or metric bound to `output` sees: that part of each, or
/// all of them.
fn select_output<'a>(
    output: Option<&str>,
    y_true: Option<&'a Data>,
    y_pred: &'a Data,
) -> Result<(Option<&'a Data>, &'a Data)> {
    let Some(key) = output else {
        return Ok((y_true, y_pred));
    };
    let y_pred = y_pred
        .part(key)
        .map_err(|e| Error::Data(format!("test_step: predictions: {e}")))?;
    let y_true = y_true
        .map(|y| y.part(key))
        .transpose()
        .map_err(|e| Error::Data(format!("test_step: targets: {e}")))?;
    Ok((y_true, y_pred))
}

/// The states with every tensor cut from the autodiff graph, so no graph outlives its step.
fn detach_states(states: States) -> States {
    let net_params = states.net_params.detach();
    let net_states = states.net_states.detach();
    let metrics_states = states.metrics_states.detach();
    states
        .with_net_params(net_params)
        .with_net_states(net_states)
        .with_metrics_states(metrics_states)
}
