//! Metrics a runner was given that its model's own steps did not report. A `test_step` or
//! `train_step` of the model's own replaces the default one that measures them, so without a
//! word they would silently be missing from every log: the runner warns once, on stderr.

use super::Runner;
use crate::callbacks::LogValues;
use crate::model::Model;
use crate::model::defaults::short_type_name;
use crate::step::Components;

/// The step whose logs a run's are: an evaluation's come from `test_step`, a fit epoch's from
/// `train_step` and the steps it calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LoggingStep {
    /// `evaluate`, `evaluate_dataset`, `test_on_batch` and `fit`'s validation.
    Test,
    /// A `fit` epoch's training.
    Train,
}

impl<M: Model> Runner<M> {
    /// Warns on stderr, once in the runner's life, when the logs of a finished run (an
    /// evaluation, or a fit epoch's training) lack a metric the runner was given.
    pub(super) fn warn_of_unreported_metrics(&mut self, step: LoggingStep, logs: &LogValues) {
        if self.warned_of_unreported_metrics {
            return;
        }
        if let Some(warning) = unreported_metrics::<M>(&self.components, step, logs) {
            self.warned_of_unreported_metrics = true;
            eprintln!("{warning}");
        }
    }
}

/// The warning for the metrics of `components` missing from `logs`, if any are.
pub(super) fn unreported_metrics<M: ?Sized>(
    components: &Components,
    step: LoggingStep,
    logs: &LogValues,
) -> Option<String> {
    let missing: Vec<String> = components
        .metrics
        .iter()
        .filter(|entry| !logs.contains_key(&entry.log_name))
        .map(|entry| format!("`{}`", entry.log_name))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let (metrics, was, it) = match missing.len() {
        1 => ("metric", "was", "it"),
        _ => ("metrics", "were", "them"),
    };
    let step = match step {
        LoggingStep::Test => "`test_step`",
        LoggingStep::Train => "`train_step` (or the `grad_step` or `test_step` it calls)",
    };
    Some(format!(
        "warning: {metrics} {} {was} given to the runner but {step} of `{}` did not report {it}; \
         call `elegy::model::defaults::update_metrics(&ctx, &y_pred, states, &mut logs)` in the \
         step that makes the predictions",
        missing.join(", "),
        short_type_name::<M>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{MeanAbsoluteError, Metric};
    use crate::step::MetricEntry;
    use std::sync::Arc;

    struct LineFit;

    fn with_metrics(names: &[&str]) -> Components {
        Components {
            metrics: names
                .iter()
                .map(|name| MetricEntry {
                    metric: Arc::new(MeanAbsoluteError.named(*name)),
                    log_name: name.to_string(),
                    output: None,
                })
                .collect(),
            ..Components::default()
        }
    }

    fn logs(names: &[&str]) -> LogValues {
        names.iter().map(|name| (name.to_string(), 0.5)).collect()
    }

    #[test]
    fn a_missing_metric_is_named_with_the_step_and_the_model() {
        let warning = unreported_metrics::<LineFit>(
            &with_metrics(&["mean_absolute_error"]),
            LoggingStep::Test,
            &logs(&["loss"]),
        );
        assert_eq!(
            warning.as_deref(),
            Some(
                "warning: metric `mean_absolute_error` was given to the runner but `test_step` \
                 of `LineFit` did not report it; call \
                 `elegy::model::defaults::update_metrics(&ctx, &y_pred, states, &mut logs)` in \
                 the step that makes the predictions"
            )
        );
    }

    #[test]
    fn several_missing_metrics_are_listed_and_reported_ones_are_not() {
        let warning = unreported_metrics::<LineFit>(
            &with_metrics(&["a", "b", "c"]),
            LoggingStep::Train,
            &logs(&["loss", "b"]),
        )
        .unwrap();
        assert!(
            warning.starts_with(
                "warning: metrics `a`, `c` were given to the runner but `train_step` (or the \
                 `grad_step` or `test_step` it calls) of `LineFit` did not report them;"
            ),
            "{warning}"
        );
    }

    #[test]
    fn logs_with_every_metric_need_no_warning() {
        let components = with_metrics(&["a"]);
        assert_eq!(
            unreported_metrics::<LineFit>(&components, LoggingStep::Test, &logs(&["a"])),
            None
        );
        let none = Components::default();
        assert_eq!(
            unreported_metrics::<LineFit>(&none, LoggingStep::Train, &logs(&[])),
            None
        );
    }
}
