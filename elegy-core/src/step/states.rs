//! [`States`]: everything a model's steps read and return: parameters, their statistics, metric
//! and optimizer state, and the random key.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{Error, Result};
use crate::tensor::{RngKey, TensorMap};

/// A model's state, passed into each step and returned, new, out of it. Never changed in place:
/// `with_*` methods return a new value that shares the unchanged parts.
///
/// Plain data: build it, compare it (`==` compares every value) and save it. The runner's loss,
/// metrics, optimizer and module are not part of it; steps receive them in their context
/// ([`crate::step::Components`]).
///
/// An empty map means "not set yet": [`States::maybe_update`] fills only those.
#[derive(Clone, Default, PartialEq)]
pub struct States {
    /// Trainable parameters: what `grad_step` differentiates with respect to.
    pub net_params: TensorMap,
    /// Non-trainable state of the network (batch-norm statistics), flowing through steps.
    pub net_states: TensorMap,
    /// Streaming state of metrics and loss logs, reset each epoch.
    pub metrics_states: TensorMap,
    /// Optimizer state (moments, step count).
    pub optimizer_states: TensorMap,
    /// The random key of this step. The runner sets a fresh key for every step (derived from its
    /// seed and the step number), so splitting it is all a step needs.
    pub rng: RngKey,
    /// User-defined named fields (a GAN's generator and discriminator parameters, say), in
    /// the order of their names: iteration, equality and checkpoints then do not depend on the
    /// order a model happened to add them in (a resumed run that adds them in another order
    /// still matches its checkpoint).
    pub fields: BTreeMap<String, TensorMap>,
}

impl States {
    /// Empty states with the key of `seed`.
    pub fn new(seed: u64) -> States {
        States {
            rng: RngKey::new(seed),
            ..States::default()
        }
    }

    /// These states with new trainable parameters.
    pub fn with_net_params(mut self, net_params: TensorMap) -> States {
        self.net_params = net_params;
        self
    }

    /// These states with new network state.
    pub fn with_net_states(mut self, net_states: TensorMap) -> States {
        self.net_states = net_states;
        self
    }

    /// These states with new metric state.
    pub fn with_metrics_states(mut self, metrics_states: TensorMap) -> States {
        self.metrics_states = metrics_states;
        self
    }

    /// These states with new optimizer state.
    pub fn with_optimizer_states(mut self, optimizer_states: TensorMap) -> States {
        self.optimizer_states = optimizer_states;
        self
    }

    /// These states with a new random key.
    pub fn with_rng(mut self, rng: RngKey) -> States {
        self.rng = rng;
        self
    }

    /// These states with the user field `name` set.
    pub fn with_field(mut self, name: impl Into<String>, value: TensorMap) -> States {
        self.fields.insert(name.into(), value);
        self
    }

    /// The user field `name`, or an error listing the fields there are.
    pub fn field(&self, name: &str) -> Result<&TensorMap> {
        self.fields.get(name).ok_or_else(|| Error::NotFound {
            what: "states field",
            name: name.to_string(),
            hint: format!(
                "; the states hold {:?}; set it with States::with_field",
                self.fields.keys().collect::<Vec<_>>()
            ),
        })
    }

    /// These states with every non-empty field of `other` taken over (Elegy's `update`); the key
    /// is `other`'s.
    pub fn update(self, other: States) -> States {
        let pick =
            |mine: TensorMap, theirs: TensorMap| if theirs.is_empty() { mine } else { theirs };
        let mut fields = self.fields;
        for (name, theirs) in other.fields {
            if !theirs.is_empty() {
                fields.insert(name, theirs);
            }
        }
        States {
            net_params: pick(self.net_params, other.net_params),
            net_states: pick(self.net_states, other.net_states),
            metrics_states: pick(self.metrics_states, other.metrics_states),
            optimizer_states: pick(self.optimizer_states, other.optimizer_states),
            rng: other.rng,
            fields,
        }
    }

    /// These states with only their missing fields filled from `other` (Elegy's
    /// `maybe_update`): a map that is empty, and a user field that is absent or empty, takes
    /// `other`'s. The key stays.
    pub fn maybe_update(self, other: States) -> States {
        let pick = |mine: TensorMap, theirs: TensorMap| if mine.is_empty() { theirs } else { mine };
        let mut fields = self.fields;
        for (name, theirs) in other.fields {
            let missing = fields.get(&name).is_none_or(TensorMap::is_empty);
            if missing {
                fields.insert(name, theirs);
            }
        }
        States {
            net_params: pick(self.net_params, other.net_params),
            net_states: pick(self.net_states, other.net_states),
            metrics_states: pick(self.metrics_states, other.metrics_states),
            optimizer_states: pick(self.optimizer_states, other.optimizer_states),
            rng: self.rng,
            fields,
        }
    }

    /// These states with only the fields they already hold replaced by `other`'s (Elegy's
    /// `update_known`): a map that is not empty here takes `other`'s when `other`'s is not
    /// empty either, and a user field takes `other`'s only if it is here. Nothing is added; the
    /// key is `other`'s.
    pub fn update_known(self, other: States) -> States {
        let known = |mine: TensorMap, theirs: TensorMap| {
            if mine.is_empty() || theirs.is_empty() {
                mine
            } else {
                theirs
            }
        };
        let mut fields = self.fields;
        for (name, theirs) in other.fields {
            if let Some(mine) = fields.get_mut(&name)
                && !theirs.is_empty()
            {
                *mine = theirs;
            }
        }
        States {
            net_params: known(self.net_params, other.net_params),
            net_states: known(self.net_states, other.net_states),
            metrics_states: known(self.metrics_states, other.metrics_states),
            optimizer_states: known(self.optimizer_states, other.optimizer_states),
            rng: other.rng,
            fields,
        }
    }
}

impl fmt::Debug for States {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |m: &TensorMap| m.names().map(str::to_string).collect::<Vec<_>>();
        f.debug_struct("States")
            .field("net_params", &names(&self.net_params))
            .field("net_states", &names(&self.net_states))
            .field("metrics_states", &names(&self.metrics_states))
            .field("optimizer_states", &names(&self.optimizer_states))
            .field("rng", &self.rng)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}
