//! Saving and loading a runner's state: [`Runner::save`], [`Runner::load`] and their
//! weights-only forms, on top of [`crate::checkpoint`].

use std::path::Path;

use super::Runner;
use crate::checkpoint::{self, Checkpoint, Kind, Position};
use crate::error::{Error, Result};
use crate::model::Model;

impl<M: Model> Runner<M> {
    /// Saves everything needed to predict and to continue training (all tensors of the states,
    /// the random key, the step count, the seed and the history) to the directory `dir`,
    /// replacing the checkpoint there crash-safely (see [`crate::checkpoint`]).
    ///
    /// To resume, build the runner the same way (same model, loss, metrics and optimizer), call
    /// [`Runner::load`], and fit from [`Runner::next_epoch`] with the same data: the result is
    /// bit-identical to an uninterrupted run.
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
    /// runner.fit(x.clone(), y.clone(), FitOptions { epochs: 2, ..Default::default() })?;
    /// runner.save("run/ckpt")?;
    /// // ... later, in another process:
    /// let mut runner = build_runner()?; // as before
    /// runner.load("run/ckpt")?;
    /// let initial_epoch = runner.next_epoch();
    /// runner.fit(x, y, FitOptions { epochs: 4, initial_epoch, ..Default::default() })?;
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    ///
    /// In data-parallel training, rank 0 writes and every rank waits until it has: call it on
    /// every rank (the ranks hold the same model), and load on every rank.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let checkpoint = self.checkpoint("save")?;
        let Some(dp) = self.parallel() else {
            return checkpoint.write(dir);
        };
        let written = if dp.rank() == 0 {
            checkpoint.write(dir)
        } else {
            Ok(())
        };
        if let Err(e) = &written {
            dp.abort_on(e);
        }
        written?;
        dp.group().barrier()
    }

    /// Saves only the network's weights (`net_params` and `net_states`) to the directory `dir`:
    /// enough to predict, not to resume training exactly.
    pub fn save_weights(&self, dir: impl AsRef<Path>) -> Result<()> {
        self.require_initialized("save_weights")?;
        Checkpoint::weights(
            self.states.net_params.clone(),
            self.states.net_states.clone(),
        )
        .write(dir)
    }

    /// Loads a full checkpoint written by [`Runner::save`] (or by
    /// [`ModelCheckpoint`](crate::callbacks::ModelCheckpoint)): the states, the random key, the
    /// step count, the seed and the history. The runner must have been built the same way.
    ///
    /// When the runner is already initialized, every tensor's name and shape must match its
    /// states, or nothing is changed and the error names the file and the tensors. An
    /// uninitialized runner takes the checkpoint's tensors as they are and becomes initialized;
    /// call [`Runner::init`] first to have them checked against the model. Either way, the
    /// optimizer state must be what the runner's optimizer keeps for those parameters (the
    /// same kind of optimizer; its hyperparameters, such as the learning rate, may differ).
    pub fn load(&mut self, dir: impl AsRef<Path>) -> Result<()> {
        let checkpoint = Checkpoint::read(dir)?;
        self.restore(checkpoint)
    }

    /// Loads only the weights (`net_params` and `net_states`) of a checkpoint of either kind
    /// into an initialized runner, checking their names and shapes; the other states, the step
    /// count and the history stay as they are.
    pub fn load_weights(&mut self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        self.check_for("load_weights")?;
        if !self.initialized {
            return Err(Error::NotInitialized {
                op: format!("load_weights({})", dir.display()),
                hint: "there is nothing to check the weights against and no optimizer or metric \
                       state; call `init` first, or `load` a full checkpoint"
                    .into(),
            });
        }
        let mut checkpoint = Checkpoint::read(dir)?;
        checkpoint.kind = Kind::Weights;
        checkpoint.check_matches(
            &self.states,
            &self.initial_metrics_states,
            self.metrics_made,
        )?;
        self.states.net_params = checkpoint.states.net_params;
        self.states.net_states = checkpoint.states.net_states;
        Ok(())
    }

    /// Writes the weights to the `.npz` file `path`: what inference needs, the trainable
    /// parameters and the network's state (batch-norm statistics), one `float32` array per
    /// tensor under its name (`numpy.load(path)["linear/w"]`).
    pub fn export_npz(&self, path: impl AsRef<Path>) -> Result<()> {
        self.require_initialized("export_npz")?;
        let mut weights = self.states.net_params.clone();
        for (name, tensor) in self.states.net_states.iter() {
            if weights.contains(name) {
                return Err(Error::invalid(
                    "export_npz",
                    format!(
                        "`{name}` names both a parameter and a network state; one file cannot \
                         hold both under that name (use `save_weights`)"
                    ),
                ));
            }
            weights.insert(name, tensor.clone());
        }
        checkpoint::export_npz(path, &weights)
    }

    /// The epoch to resume training at: the one after the last epoch in the history (0 before
    /// any). After loading a checkpoint saved between batches, it is the epoch that was under
    /// way, which then starts over. Pass it as `FitOptions::initial_epoch`.
    pub fn next_epoch(&self) -> usize {
        self.history.epochs.last().map_or(0, |e| e + 1)
    }

    /// The runner's full state as a [`Checkpoint`], to write or inspect.
    pub fn to_checkpoint(&self) -> Result<Checkpoint> {
        self.checkpoint("to_checkpoint")
    }

    /// Replaces the runner's state with a full checkpoint's, checked as [`Runner::load`] does;
    /// on error nothing is changed.
    pub fn restore(&mut self, mut checkpoint: Checkpoint) -> Result<()> {
        if checkpoint.kind != Kind::Full {
            return Err(Error::Format {
                path: checkpoint.origin().unwrap_or(Path::new("")).to_path_buf(),
                message: "a weights-only checkpoint cannot restore the training state; load it \
                          with `load_weights` into an initialized runner"
                    .into(),
            });
        }
        crate::optimizers::upgrade_scalar_step(&mut checkpoint.states.optimizer_states);
        // The optimizer first: its message names both optimizers.
        if let Some(optimizer) = &self.components.optimizer {
            checkpoint.check_optimizer_states(optimizer.as_ref())?;
        }
        if self.initialized {
            let made = self.metrics_made;
            checkpoint.check_matches(&self.states, &self.initial_metrics_states, made)?;
        }
        if !(self.initialized && self.metrics_made) {
            checkpoint.check_metric_states(&self.components.initial_metric_states())?;
        }
        // Everything is checked: from here on nothing can fail, so the runner is never
        // half-loaded.
        self.seed = checkpoint.seed;
        self.step = checkpoint.step;
        self.history = checkpoint.history;
        self.metrics_made = !(checkpoint.initial_metrics_states.is_empty()
            && checkpoint.states.metrics_states.is_empty());
        self.initial_metrics_states = checkpoint.initial_metrics_states;
        self.states = checkpoint.states;
        self.initialized = true;
        self.lost_at = None;
        Ok(())
    }

    fn checkpoint(&self, op: &str) -> Result<Checkpoint> {
        self.require_initialized(op)?;
        Ok(Checkpoint::full(
            self.states.clone(),
            self.initial_metrics_states.clone(),
            self.history.clone(),
            Position {
                seed: self.seed,
                step: self.step,
                next_epoch: self.next_epoch(),
                learning_rate: checkpoint::learning_rate_of(&self.components, &self.states),
                optimizer: checkpoint::optimizer_of(&self.components),
            },
        ))
    }
}
