//! [`ModelCheckpoint`]: saves the model while it trains.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::monitor::{Mode, Monitor};
use crate::callbacks::{Callback, CallbackContext, LogValues};
use crate::checkpoint::{self, Checkpoint, Position};
use crate::error::{Error, Result};
use crate::tensor::TensorMap;

const OP: &str = "ModelCheckpoint";

/// When [`ModelCheckpoint`] saves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SaveFreq {
    /// At the end of every epoch (after validation), with the epoch's logs.
    #[default]
    Epoch,
    /// After every this many training batches, counted across epochs, with the running logs of
    /// the epoch under way.
    Batches(usize),
}

/// Saves the model during `fit`, like Keras' `ModelCheckpoint`: to a directory named by a path
/// template, every epoch or every N batches, optionally only when a monitored log improves, as
/// a full checkpoint (to resume training) or weights only.
///
/// The template may use `{epoch}` (counting from 1, as the progress line does), `{batch}`
/// (counting from 1 within the epoch; only with [`SaveFreq::Batches`]), `{step}` (training steps
/// so far) and any log name (`{val_loss}`), with a simple format spec: `{epoch:02}` pads with
/// zeros to width 2, `{val_loss:.4}` prints 4 decimals (`{val_loss:8.4}` also pads with spaces).
/// Python's type letters are accepted and ignored (`{epoch:02d}`, `{val_loss:.4f}`); `{{` and
/// `}}` are literal braces. A name that is not available is an error that stops `fit`.
///
/// Each save writes a checkpoint directory (see [`crate::checkpoint`]) crash-safely; a template
/// without placeholders keeps replacing the same one. A full checkpoint saved at the end of an
/// epoch resumes exactly: load it with [`Runner::load`](crate::Runner::load) into a runner built
/// the same way and fit from [`Runner::next_epoch`](crate::Runner::next_epoch). One saved between
/// batches resumes at the start of the epoch that was under way.
///
/// ```no_run
/// # use elegy_core::{Defaults, FitOptions, Runner, Tensor};
/// # use elegy_core::losses::SparseCategoricalCrossentropy;
/// # use elegy_core::module::layers::Mlp;
/// # use elegy_core::optimizers::Adam;
/// # fn build_runner() -> elegy_core::Result<Runner<Defaults>> {
/// #     Runner::for_module(Mlp::new(&[8, 3]))
/// #         .loss(SparseCategoricalCrossentropy::from_logits())
/// #         .optimizer(Adam::default())
/// #         .build()
/// # }
/// # let (x, y) = (Tensor::zeros(&[6, 4]), Tensor::zeros(&[6]));
/// # let mut runner = build_runner()?;
/// use elegy_core::callbacks::ModelCheckpoint;
/// let checkpoint = ModelCheckpoint::new("runs/ckpt/epoch{epoch:02}-{val_loss:.4}")
///     .monitor("val_loss")
///     .save_best_only(true);
/// let options = FitOptions {
///     validation_split: 0.5,
///     callbacks: vec![Box::new(checkpoint)],
///     ..Default::default()
/// };
/// runner.fit(x, y, options)?;
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    template: String,
    monitor: Monitor,
    save_best_only: bool,
    weights_only: bool,
    save_freq: SaveFreq,
    threshold: Option<f32>,
    verbose: bool,
    /// The best monitored value saved so far.
    best: Option<f32>,
    batches_since_save: usize,
    /// The metric state each epoch starts from, seen when the epoch's first batch begins (a full
    /// checkpoint needs it to restore a runner that was never initialized).
    initial_metrics: Option<TensorMap>,
    /// The parsed template, set when training begins.
    segments: Vec<Segment>,
}

impl ModelCheckpoint {
    /// Saves a full checkpoint to the directory `path_template` renders to, at the end of every
    /// epoch; the builder methods change what, when and whether.
    pub fn new(path_template: impl Into<String>) -> ModelCheckpoint {
        ModelCheckpoint {
            template: path_template.into(),
            monitor: Monitor::new("val_loss"),
            save_best_only: false,
            weights_only: false,
            save_freq: SaveFreq::Epoch,
            threshold: None,
            verbose: false,
            best: None,
            batches_since_save: 0,
            initial_metrics: None,
            segments: Vec::new(),
        }
    }

    /// The log that [`ModelCheckpoint::save_best_only`] compares (default `val_loss`).
    pub fn monitor(mut self, log_name: impl Into<String>) -> ModelCheckpoint {
        self.monitor.name = log_name.into();
        self
    }

    /// Whether smaller or larger values of the monitored log are better (default [`Mode::Auto`]).
    pub fn mode(mut self, mode: Mode) -> ModelCheckpoint {
        self.monitor.mode = mode;
        self
    }

    /// Save only when the monitored log is strictly better than at every earlier save (and than
    /// the [`ModelCheckpoint::initial_value_threshold`], if set). A NaN is never better.
    ///
    /// As for [`super::EarlyStopping`]: a validation log is skipped at the epochs that do not
    /// validate (`validation_freq > 1`), a log that is not there at all is an error (a misspelt
    /// name fails instead of never saving), and so is a validation log that never appeared.
    pub fn save_best_only(mut self, yes: bool) -> ModelCheckpoint {
        self.save_best_only = yes;
        self
    }

    /// Save only `net_params` and `net_states` (enough to predict), not the full state.
    pub fn weights_only(mut self, yes: bool) -> ModelCheckpoint {
        self.weights_only = yes;
        self
    }

    /// Save every epoch (the default) or every N batches.
    pub fn save_freq(mut self, freq: SaveFreq) -> ModelCheckpoint {
        self.save_freq = freq;
        self
    }

    /// With `save_best_only`, the value the monitored log must beat for the first save.
    pub fn initial_value_threshold(mut self, value: f32) -> ModelCheckpoint {
        self.threshold = Some(value);
        self
    }

    /// Print a line for each save, and for each skipped one with `save_best_only`.
    pub fn verbose(mut self, yes: bool) -> ModelCheckpoint {
        self.verbose = yes;
        self
    }

    /// Saves unless `save_best_only` finds no improvement. `batch` is `None` at an epoch's end.
    fn maybe_save(
        &mut self,
        ctx: &CallbackContext<'_>,
        logs: &LogValues,
        batch: Option<usize>,
    ) -> Result<()> {
        let epoch = ctx.epoch;
        if self.save_best_only {
            // No value at an epoch that did not validate (or between batches): nothing to compare.
            let Some(current) = self.monitor.value(OP, logs)? else {
                return Ok(());
            };
            let reference = self.best.or(self.threshold);
            if !self.monitor.improves(current, reference) {
                if self.verbose {
                    println!(
                        "Epoch {}: {} did not improve from {}",
                        epoch + 1,
                        self.monitor.name,
                        reference.map_or("-".into(), |b| format!("{b:.5}"))
                    );
                }
                return Ok(());
            }
            if self.verbose {
                println!(
                    "Epoch {}: {} improved from {} to {current:.5}",
                    epoch + 1,
                    self.monitor.name,
                    reference.map_or("-".into(), |b| format!("{b:.5}"))
                );
            }
            self.best = Some(current);
        }

        let mut values: BTreeMap<&str, Value> = logs
            .iter()
            .map(|(k, &v)| (k.as_str(), Value::Float(v)))
            .collect();
        values.insert("epoch", Value::Int(epoch as u64 + 1));
        values.insert("step", Value::Int(ctx.step));
        if let Some(batch) = batch {
            values.insert("batch", Value::Int(batch as u64 + 1));
        }
        let path = PathBuf::from(render(&self.template, &self.segments, &values)?);

        let states = &*ctx.states;
        let checkpoint = if self.weights_only {
            Checkpoint::weights(states.net_params.clone(), states.net_states.clone())
        } else {
            let initial_metrics = self.initial_metrics.clone().ok_or_else(|| {
                Error::invalid(
                    "ModelCheckpoint",
                    "saved before the epoch's first batch began",
                )
            })?;
            Checkpoint::full(
                states.clone(),
                initial_metrics,
                ctx.history.clone(),
                Position {
                    seed: ctx.seed,
                    step: ctx.step,
                    // Between batches, the epoch under way starts over on resuming.
                    next_epoch: if batch.is_some() { epoch } else { epoch + 1 },
                    learning_rate: checkpoint::learning_rate_of(ctx.components, states),
                    optimizer: checkpoint::optimizer_of(ctx.components),
                },
            )
        };
        checkpoint.write(&path)?;
        if self.verbose {
            println!("Epoch {}: saved the model to {}", epoch + 1, path.display());
        }
        Ok(())
    }
}

impl Callback for ModelCheckpoint {
    fn chief_only(&self) -> bool {
        true
    }

    fn on_train_begin(&mut self, _ctx: &mut CallbackContext<'_>) -> Result<()> {
        self.segments = parse(&self.template)?;
        if self.save_freq == SaveFreq::Batches(0) {
            return Err(Error::invalid(
                OP,
                "save_freq Batches(0): save every 1 batch or more",
            ));
        }
        if self.save_best_only {
            if matches!(self.save_freq, SaveFreq::Batches(_))
                && self.monitor.name.starts_with("val_")
            {
                return Err(Error::invalid(
                    OP,
                    format!(
                        "save_best_only with save_freq Batches compares the logs of batches, \
                         which have no validation logs such as `{}`; monitor a training log \
                         such as `loss`, or save at epoch ends",
                        self.monitor.name
                    ),
                ));
            }
            self.monitor.begin(OP)?;
        }
        self.batches_since_save = 0;
        Ok(())
    }

    fn on_train_batch_begin(&mut self, batch: usize, ctx: &mut CallbackContext<'_>) -> Result<()> {
        // `fit` resets the metric state just before an epoch's first batch.
        if batch == 0 {
            self.initial_metrics = Some(ctx.states.metrics_states.clone());
        }
        Ok(())
    }

    fn on_train_batch_end(
        &mut self,
        batch: usize,
        ctx: &mut CallbackContext<'_>,
        logs: &LogValues,
    ) -> Result<()> {
        if let SaveFreq::Batches(n) = self.save_freq {
            self.batches_since_save += 1;
            if self.batches_since_save >= n {
                self.batches_since_save = 0;
                self.maybe_save(ctx, logs, Some(batch))?;
            }
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        ctx: &mut CallbackContext<'_>,
        logs: &mut LogValues,
    ) -> Result<()> {
        if self.save_freq == SaveFreq::Epoch {
            self.maybe_save(ctx, logs, None)?;
        }
        Ok(())
    }

    fn on_train_end(&mut self, _ctx: &mut CallbackContext<'_>, _logs: &LogValues) -> Result<()> {
        if self.save_best_only {
            self.monitor.end(OP)?;
        }
        Ok(())
    }
}

/// A value a template placeholder can show.
#[derive(Clone, Copy, Debug)]
enum Value {
    Int(u64),
    Float(f32),
}

/// A piece of a parsed path template.
#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Text(String),
    Field {
        name: String,
        zero: bool,
        width: usize,
        precision: Option<usize>,
    },
}

fn template_error(template: &str, message: impl std::fmt::Display) -> Error {
    Error::invalid(OP, format!("path template {template:?}: {message}"))
}

/// Splits a template into text and `{name:spec}` fields.
fn parse(template: &str) -> Result<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '}' => return Err(template_error(template, "a `}` has no `{` (write `}}`)")),
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => field.push(c),
                        None => {
                            return Err(template_error(
                                template,
                                format!("`{{{field}` is not closed"),
                            ));
                        }
                    }
                }
                if !text.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut text)));
                }
                segments.push(parse_field(template, &field)?);
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        segments.push(Segment::Text(text));
    }
    Ok(segments)
}

/// `name`, `name:02`, `name:.4`, `name:8.4f`, ...
fn parse_field(template: &str, field: &str) -> Result<Segment> {
    let (name, spec) = field.split_once(':').unwrap_or((field, ""));
    if name.is_empty() {
        return Err(template_error(template, "a `{}` has no name"));
    }
    let bad_spec = || {
        template_error(
            template,
            format!(
                "`{{{field}}}`: the format spec {spec:?} is not of the form [0][width][.precision] \
                 (e.g. `{{epoch:02}}`, `{{val_loss:.4}}`)"
            ),
        )
    };
    let spec = spec.strip_suffix(['d', 'f']).unwrap_or(spec);
    let (width_part, precision) = match spec.split_once('.') {
        Some((w, p)) => (w, Some(p.parse::<usize>().map_err(|_| bad_spec())?)),
        None => (spec, None),
    };
    let zero = width_part.starts_with('0');
    let width = if width_part.is_empty() {
        0
    } else {
        width_part.parse::<usize>().map_err(|_| bad_spec())?
    };
    // A file name has no use for more; Rust's formatter takes no more than u16::MAX.
    if width > 255 || precision.is_some_and(|p| p > 255) {
        return Err(template_error(
            template,
            format!("`{{{field}}}`: width and precision can be at most 255"),
        ));
    }
    Ok(Segment::Field {
        name: name.to_string(),
        zero,
        width,
        precision,
    })
}

/// The template with every field replaced by its value.
fn render(template: &str, segments: &[Segment], values: &BTreeMap<&str, Value>) -> Result<String> {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Text(text) => out.push_str(text),
            Segment::Field {
                name,
                zero,
                width,
                precision,
            } => {
                let value = values.get(name.as_str()).ok_or_else(|| {
                    template_error(
                        template,
                        format!(
                            "`{{{name}}}` is not available here; the names are {:?}",
                            values.keys().collect::<Vec<_>>()
                        ),
                    )
                })?;
                let w = *width;
                // `write!` to a String cannot fail.
                let _ = match (*value, zero, precision) {
                    (Value::Int(v), true, _) => write!(out, "{v:0w$}"),
                    (Value::Int(v), false, _) => write!(out, "{v:w$}"),
                    (Value::Float(v), true, Some(p)) => write!(out, "{v:0w$.p$}"),
                    (Value::Float(v), false, Some(p)) => write!(out, "{v:w$.p$}"),
                    (Value::Float(v), true, None) => write!(out, "{v:0w$}"),
                    (Value::Float(v), false, None) => write!(out, "{v:w$}"),
                };
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(template: &str, values: &[(&'static str, Value)]) -> Result<String> {
        let values: BTreeMap<&str, Value> = values.iter().copied().collect();
        render(template, &parse(template)?, &values)
    }

    #[test]
    fn templates_format_epochs_and_logs_like_keras() {
        let values = [
            ("epoch", Value::Int(3)),
            ("val_loss", Value::Float(0.123456)),
        ];
        assert_eq!(
            rendered("ckpt/epoch{epoch:02}-{val_loss:.4}", &values).unwrap(),
            "ckpt/epoch03-0.1235"
        );
        assert_eq!(
            rendered("e{epoch:03d}-{val_loss:.2f}", &values).unwrap(),
            "e003-0.12"
        );
        assert_eq!(rendered("{epoch}", &values).unwrap(), "3");
        assert_eq!(rendered("{{x}}-{epoch:4}", &values).unwrap(), "{x}-   3");
    }

    #[test]
    fn an_unknown_name_lists_the_available_ones() {
        let err = rendered("{val_acc}", &[("epoch", Value::Int(1))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`{val_acc}` is not available"), "{err}");
        assert!(err.contains("\"epoch\""), "{err}");
    }

    #[test]
    fn malformed_templates_are_errors() {
        for bad in [
            "{epoch",
            "epoch}",
            "{}",
            "{epoch:x2}",
            "{loss:.x}",
            "{epoch:65536}",
            "{loss:.70000}",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
