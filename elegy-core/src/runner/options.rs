//! Options of `fit`, `evaluate` and `predict`, in Keras' terms.

use crate::callbacks::Callback;
use crate::data::Batch;
use crate::tensor::Tensor;

/// Options of [`crate::Runner::fit`]; start from `FitOptions { epochs: 10, ..Default::default() }`.
pub struct FitOptions {
    /// The epoch to stop before (with `initial_epoch`, the number of epochs run is the difference).
    pub epochs: usize,
    /// Samples per batch; the last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// Reshuffle the training samples every epoch (seeded by the runner's seed and the epoch).
    pub shuffle: bool,
    /// The fraction of samples, taken from the end before shuffling, held out for validation
    /// (as Keras). The validation part has `ceil(n * validation_split)` samples, computed
    /// exactly with the decimal the fraction is written as: 0.2 of 100 samples holds out 20,
    /// 0.25 of 10 holds out 3 (leaving Keras' `floor(n * (1 - validation_split))` to train
    /// on). It keeps its samples' `sample_weight`. Ignored when `validation_data` is given.
    pub validation_split: f32,
    /// Data to validate on after epochs, taking precedence over `validation_split`: inputs,
    /// targets and sample weights as Keras' `(x_val, y_val, val_sample_weight)`, written
    /// `Some((x_val, y_val).into())`, `Some(Batch::xy(x_val, y_val).with_sample_weight(w))`,
    /// or `Some(Batch::new(x_val))` for a model trained without targets.
    pub validation_data: Option<Batch>,
    /// Validate every this many epochs.
    pub validation_freq: usize,
    /// The epoch to start at (to resume a run).
    pub initial_epoch: usize,
    /// Batches per epoch; by default one pass over the data.
    ///
    /// Over arrays (`fit`), the epochs take their batches in turn from one stream of reshuffled
    /// passes: an epoch shorter than a pass goes on where the last one stopped, so every sample
    /// is seen (as in Keras), and a longer one goes on into the next pass. A dataset
    /// (`fit_dataset`) starts a pass every epoch (`Dataset::batches(epoch)`), of which the epoch
    /// takes the first `steps_per_epoch` batches (let it shuffle, as `Loader` can); a pass that
    /// ends before them is an error.
    pub steps_per_epoch: Option<usize>,
    /// A weight per training sample (shape `[n]`).
    ///
    /// A batch's loss is `sum(weight * loss) / batch_size` (Keras' `sum_over_batch_size`), so
    /// weights are not renormalized: a batch whose weights are all zero has a loss of exactly
    /// 0.0 and no gradient, silently, as in Keras. Give every batch some nonzero weight (or
    /// shuffle) if that is not what you want.
    pub sample_weight: Option<Tensor>,
    /// A weight per class (shape `[num_classes]`), multiplying the loss of each sample of that class.
    pub class_weight: Option<Tensor>,
    /// 0: silent; 1: a live progress bar on a terminal, a line per epoch otherwise; 2: a line
    /// per epoch (see [`crate::callbacks::Progress`]).
    pub verbose: u8,
    /// Hooks called during training.
    pub callbacks: Vec<Box<dyn Callback>>,
}

impl Default for FitOptions {
    fn default() -> FitOptions {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            validation_split: 0.0,
            validation_data: None,
            validation_freq: 1,
            initial_epoch: 0,
            steps_per_epoch: None,
            sample_weight: None,
            class_weight: None,
            verbose: 1,
            callbacks: Vec::new(),
        }
    }
}

/// Options of [`crate::Runner::evaluate`].
pub struct EvaluateOptions {
    /// Samples per batch.
    pub batch_size: usize,
    /// A weight per sample (shape `[n]`).
    pub sample_weight: Option<Tensor>,
    /// 0: silent; 1: print the logs.
    pub verbose: u8,
    /// Hooks called around the evaluation and each batch (`on_test_*`).
    pub callbacks: Vec<Box<dyn Callback>>,
}

impl Default for EvaluateOptions {
    fn default() -> EvaluateOptions {
        EvaluateOptions {
            batch_size: 32,
            sample_weight: None,
            verbose: 0,
            callbacks: Vec::new(),
        }
    }
}

/// Options of [`crate::Runner::predict`].
pub struct PredictOptions {
    /// Samples per batch.
    pub batch_size: usize,
    /// Hooks called around the prediction and each batch (`on_predict_*`).
    pub callbacks: Vec<Box<dyn Callback>>,
}

impl Default for PredictOptions {
    fn default() -> PredictOptions {
        PredictOptions {
            batch_size: 32,
            callbacks: Vec::new(),
        }
    }
}
