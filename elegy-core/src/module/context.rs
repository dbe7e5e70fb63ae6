//! [`ModuleContext`]: where a module's forward pass gets its parameters, state and randomness.

use std::collections::HashMap;

use crate::data::Data;
use crate::error::{Error, Result};
use crate::module::{Module, snake_case};
use crate::step::SummaryRow;
use crate::tensor::{Initializer, RngKey, Tensor, TensorMap};

/// The scope a module runs in: its path, the parameters and state it may read or create, whether
/// it is initializing or training, and a random key per path.
pub struct ModuleContext<'a> {
    params: &'a TensorMap,
    states: &'a TensorMap,
    created_params: TensorMap,
    new_states: TensorMap,
    initializing: bool,
    training: bool,
    rng: RngKey,
    /// The current path, one entry per enclosing module.
    scope: Vec<String>,
    /// Per enclosing path, how many children of each automatic name were called.
    counters: HashMap<String, HashMap<String, usize>>,
    /// Per path, how many keys were drawn there this call.
    draws: HashMap<String, u64>,
    summary: Option<Vec<SummaryRow>>,
}

impl<'a> ModuleContext<'a> {
    /// A context over existing `params` and `states` (empty when initializing).
    pub fn new(
        params: &'a TensorMap,
        states: &'a TensorMap,
        initializing: bool,
        training: bool,
        rng: RngKey,
    ) -> ModuleContext<'a> {
        ModuleContext {
            params,
            states,
            created_params: TensorMap::new(),
            new_states: TensorMap::new(),
            initializing,
            training,
            rng,
            scope: Vec::new(),
            counters: HashMap::new(),
            draws: HashMap::new(),
            summary: None,
        }
    }

    /// Records one summary row per module called from now on, returned by
    /// [`ModuleContext::finish`].
    pub fn record_summary(mut self) -> ModuleContext<'a> {
        self.summary = Some(Vec::new());
        self
    }

    /// Whether parameters are being created.
    pub fn initializing(&self) -> bool {
        self.initializing
    }

    /// Whether this is training (dropout on, batch statistics used and updated).
    pub fn training(&self) -> bool {
        self.training
    }

    /// The current path, `/`-separated.
    pub fn path(&self) -> String {
        self.scope.join("/")
    }

    fn full_name(&self, name: &str) -> String {
        if self.scope.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.path())
        }
    }

    /// The trainable parameter `name` of the current module: created with `init` when
    /// initializing, read from the states otherwise (and checked to have `shape`).
    pub fn param(&mut self, name: &str, shape: &[usize], init: Initializer) -> Result<Tensor> {
        self.param_from(name, shape, |shape, key| init.init(shape, key))
    }

    /// [`ModuleContext::param`] for a start no [`Initializer`] describes (an LSTM's bias, with
    /// ones for its forget gate): `make(shape, key)` creates it when initializing.
    pub fn param_from(
        &mut self,
        name: &str,
        shape: &[usize],
        make: impl FnOnce(&[usize], RngKey) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let full = self.full_name(name);
        if self.initializing {
            if let Some(existing) = self.created_params.get(&full) {
                return Ok(existing.clone());
            }
            let value = make(shape, self.rng.fold_in(path_hash(&full)))?;
            self.created_params.insert(full, value.clone());
            return Ok(value);
        }
        let value = self.params.get(&full).ok_or_else(|| Error::NotFound {
            what: "parameter",
            name: full.clone(),
            hint: "; the states hold no such parameter: was the model initialized with this \
                   module, and has its structure changed since?"
                .into(),
        })?;
        check_shape("parameter", &full, value, shape)?;
        Ok(value.clone())
    }

    /// The non-trainable state `name` of the current module (set by [`ModuleContext::set_state`]
    /// earlier in this call, or from the states, or created with `init` when initializing).
    pub fn state(&mut self, name: &str, shape: &[usize], init: Initializer) -> Result<Tensor> {
        let full = self.full_name(name);
        if let Some(value) = self
            .new_states
            .get(&full)
            .or_else(|| self.states.get(&full))
        {
            check_shape("state", &full, value, shape)?;
            return Ok(value.clone());
        }
        if self.initializing {
            let value = init.init(shape, self.rng.fold_in(path_hash(&full)))?;
            self.new_states.insert(full, value.clone());
            return Ok(value);
        }
        Err(Error::NotFound {
            what: "state",
            name: full,
            hint: "; was the model initialized with this module?".into(),
        })
    }

    /// Replaces the state `name` of the current module; never differentiated through.
    pub fn set_state(&mut self, name: &str, value: &Tensor) {
        let full = self.full_name(name);
        self.new_states.insert(full, value.detach());
    }

    /// A fresh random key for the current module: different for each path and each draw within
    /// this call, the same for the same step.
    pub fn next_key(&mut self) -> RngKey {
        let path = self.path();
        let draw = self.draws.entry(path.clone()).or_insert(0);
        *draw += 1;
        self.rng.fold_in(path_hash(&path)).fold_in(*draw)
    }

    /// Runs `child` on `x` in its own scope (its name, or an automatic one).
    pub fn call(&mut self, child: &dyn Module, x: &Tensor) -> Result<Tensor> {
        self.scoped(child, |child, ctx| child.forward(x, ctx))
    }

    /// Runs `child` on structured input `x` in its own scope.
    pub fn call_data(&mut self, child: &dyn Module, x: &Data) -> Result<Data> {
        self.scoped(child, |child, ctx| child.forward_data(x, ctx))
    }

    /// The name `child` gets in the current scope.
    fn child_name(&mut self, child: &dyn Module) -> String {
        if let Some(name) = child.name() {
            return name.to_string();
        }
        let base = snake_case(child.kind());
        let counts = self.counters.entry(self.path()).or_default();
        let n = counts.entry(base.clone()).or_insert(0);
        let name = if *n == 0 { base } else { format!("{base}_{n}") };
        *n += 1;
        name
    }

    fn scoped<T: Shaped>(
        &mut self,
        child: &dyn Module,
        run: impl FnOnce(&dyn Module, &mut ModuleContext<'a>) -> Result<T>,
    ) -> Result<T> {
        let name = self.child_name(child);
        self.scope.push(name);
        // A parent's row goes before its children's: reserve it, fill it once the counts are in.
        let row = self.summary.as_mut().map(|rows| {
            rows.push(SummaryRow::default());
            rows.len() - 1
        });
        let result = run(child, self);
        if let (Ok(out), Some(index)) = (&result, row) {
            let path = self.path();
            let (trainable, non_trainable) = self.counts_under(&path);
            let rows = self.summary.as_mut().expect("recording");
            rows[index] = SummaryRow {
                path,
                kind: child.kind().to_string(),
                shape: out.sample_shape(),
                trainable,
                non_trainable,
                bytes: (trainable + non_trainable) * std::mem::size_of::<f32>(),
            };
        }
        self.scope.pop();
        result
    }

    /// Numbers of trainable and non-trainable values under `path`.
    fn counts_under(&self, path: &str) -> (usize, usize) {
        let prefix = format!("{path}/");
        let count = |map: &TensorMap| -> usize {
            map.iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(_, t)| t.len())
                .sum()
        };
        let params = if self.initializing {
            &self.created_params
        } else {
            self.params
        };
        let mut states = self.states.clone();
        for (k, v) in self.new_states.iter() {
            states.insert(k, v.clone());
        }
        (count(params), count(&states))
    }

    /// The parameters (created ones when initializing, the given ones otherwise), the states
    /// after this call, and the summary rows if recorded.
    pub fn finish(self) -> (TensorMap, TensorMap, Vec<SummaryRow>) {
        let params = if self.initializing {
            self.created_params
        } else {
            self.params.clone()
        };
        let mut states = self.states.clone();
        for (k, v) in self.new_states {
            states.insert(k, v);
        }
        (params, states, self.summary.unwrap_or_default())
    }
}

/// The per-sample shape of a module's output, for summaries.
trait Shaped {
    fn sample_shape(&self) -> Vec<usize>;
}

impl Shaped for Tensor {
    fn sample_shape(&self) -> Vec<usize> {
        self.shape().iter().skip(1).copied().collect()
    }
}

impl Shaped for Data {
    fn sample_shape(&self) -> Vec<usize> {
        match self {
            Data::Tensor(t) => t.sample_shape(),
            _ => Vec::new(),
        }
    }
}

fn check_shape(what: &str, name: &str, value: &Tensor, shape: &[usize]) -> Result<()> {
    if value.shape() != shape {
        return Err(Error::shape(
            "module",
            format!(
                "{what} `{name}` has shape {:?} in the states but the module asks for {shape:?}; \
                 the input's shape changed since initialization, or the states (a loaded \
                 checkpoint, say) are of another model",
                value.shape()
            ),
        ));
    }
    Ok(())
}

/// FNV-1a of a path: a stable key per parameter, whatever order modules create them in.
fn path_hash(path: &str) -> u64 {
    path.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}
