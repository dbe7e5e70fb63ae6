//! Recurrent layers, as Keras': [`SimpleRnn`], [`Lstm`] and [`Gru`], unrolled through the tape
//! over the time axis of `[batch, time, features]`, with one product for the inputs of every step
//! and one per step for the state.

use super::{check_min_rank, check_size, layer_at};
use crate::data::Data;
use crate::error::{Error, Result};
use crate::module::{Module, ModuleContext};
use crate::tensor::{Initializer, Tensor};

/// What every recurrent layer shares (Keras' `RNN` arguments).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecurrentOptions {
    /// Output the state after every step (`[batch, time, units]`) rather than after the last
    /// (`[batch, units]`).
    pub return_sequences: bool,
    /// Output the final states too: a tuple `(output, h)`, or `(output, h, c)` for an LSTM.
    pub return_state: bool,
    /// Run over the time axis backwards (the sequence output is then in the order it ran, as
    /// Keras').
    pub go_backwards: bool,
    /// How the input kernel starts (Glorot-uniform).
    pub kernel_init: Initializer,
    /// How the recurrent kernel starts (orthogonal).
    pub recurrent_init: Initializer,
    /// How the bias starts (zeros; an LSTM's forget gate then gets ones, see
    /// [`RecurrentOptions::unit_forget_bias`]).
    pub bias_init: Initializer,
    /// An LSTM's forget-gate bias starts at 1 (Keras' default), so that it remembers at first.
    pub unit_forget_bias: bool,
}

impl Default for RecurrentOptions {
    /// Keras' defaults.
    fn default() -> RecurrentOptions {
        RecurrentOptions {
            return_sequences: false,
            return_state: false,
            go_backwards: false,
            kernel_init: Initializer::GlorotUniform,
            recurrent_init: Initializer::Orthogonal { gain: 1.0 },
            bias_init: Initializer::Zeros,
            unit_forget_bias: true,
        }
    }
}

/// The three cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cell {
    Simple,
    Lstm,
    Gru,
}

impl Cell {
    /// Blocks of `units` in the kernels: one per gate.
    fn gates(self) -> usize {
        match self {
            Cell::Simple => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }

    /// The states it carries: `h`, and `c` for an LSTM.
    fn states(self) -> usize {
        if self == Cell::Lstm { 2 } else { 1 }
    }
}

macro_rules! recurrent_layer {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $cell:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name {
            /// The size of the state (and of the output).
            pub units: usize,
            /// Sequences, states, direction and initializers.
            pub options: RecurrentOptions,
        }

        impl $name {
            /// A layer of `units` with Keras' defaults.
            pub fn new(units: usize) -> $name {
                $name { units, options: RecurrentOptions::default() }
            }

            /// Output the state after every step: `[batch, time, units]`.
            pub fn return_sequences(mut self) -> $name {
                self.options.return_sequences = true;
                self
            }

            /// Output the final states too, as a tuple after the output.
            pub fn return_state(mut self) -> $name {
                self.options.return_state = true;
                self
            }

            /// Run over the time axis backwards.
            pub fn go_backwards(mut self) -> $name {
                self.options.go_backwards = true;
                self
            }

            /// With `options` for everything but the units.
            pub fn options(mut self, options: RecurrentOptions) -> $name {
                self.options = options;
                self
            }
        }

        impl Module for $name {
            fn kind(&self) -> &'static str {
                $kind
            }

            fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
                if self.options.return_state {
                    return Err(Error::invalid(
                        $kind,
                        format!(
                            "{} returns its states too (return_state), a tuple, where one \
                             tensor is wanted; call it on Data (`call_data`) or leave \
                             return_state off inside a Sequential",
                            layer_at(ctx)
                        ),
                    ));
                }
                let out = run($cell, self.units, &self.options, x, None, &[], ctx)?;
                Ok(out.into_iter().next().expect("an output"))
            }

            fn forward_data(&self, x: &Data, ctx: &mut ModuleContext<'_>) -> Result<Data> {
                let (sequence, mask, initial) = recurrent_inputs($kind, x, $cell, ctx)?;
                let out = run($cell, self.units, &self.options, sequence, mask, &initial, ctx)?;
                Ok(if self.options.return_state {
                    Data::Tuple(out.into_iter().map(Data::Tensor).collect())
                } else {
                    Data::Tensor(out.into_iter().next().expect("an output"))
                })
            }
        }
    };
}

recurrent_layer!(
    /// The fully connected recurrent layer, as Keras' `SimpleRNN`: `h = tanh(x W + h U + b)`.
    ///
    /// Inputs: the sequence `[batch, time, features]`; or, on [`Data`], a tuple `(sequence, h0)`
    /// or a map of `sequence`, optionally `mask` (`[batch, time]`, 1 for a real step, 0 for
    /// padding) and `initial_state` (`h0`). A masked step leaves the state as it was, and its
    /// sequence output repeats the last one (Keras' rule). Parameters, named as Keras': `kernel
    /// [features, units]`, `recurrent_kernel [units, units]`, `bias [units]`.
    SimpleRnn,
    "SimpleRnn",
    Cell::Simple
);

recurrent_layer!(
    /// Long short-term memory, as Keras' `LSTM` (Hochreiter & Schmidhuber, 1997): gates `i, f,
    /// o = sigmoid(..)` and candidate `g = tanh(..)` of `x W + h U + b`, then `c = f c + i g` and
    /// `h = o tanh(c)`.
    ///
    /// Inputs as [`SimpleRnn`]'s, with the initial state `(h0, c0)`: a tuple `(sequence, h0,
    /// c0)`, or `initial_state` and `initial_carry` in a map. With `return_state` the output is
    /// `(output, h, c)`. Parameters, named and laid out as Keras' (gates in the order `i, f, g,
    /// o`): `kernel [features, 4 units]`, `recurrent_kernel [units, 4 units]`, `bias [4 units]`,
    /// the forget gate's starting at 1 ([`RecurrentOptions::unit_forget_bias`]).
    ///
    /// ```
    /// use elegy_core::module::layers::Lstm;
    /// use elegy_core::module::ModuleContext;
    /// use elegy_core::{RngKey, Tensor, TensorMap};
    /// let empty = TensorMap::new();
    /// let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
    /// let rows = Tensor::ones(&[4, 8, 8]); // 4 digits read as 8 rows of 8 pixels
    /// assert_eq!(ctx.call(&Lstm::new(32), &rows)?.shape(), &[4, 32]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    Lstm,
    "Lstm",
    Cell::Lstm
);

recurrent_layer!(
    /// Gated recurrent unit, as Keras 3's `GRU` (Cho et al., 2014, with Keras' default
    /// `reset_after`): `z, r = sigmoid(x W + b_x + h U + b_h)`, `g = tanh(x W_g + b_x + r (h U_g
    /// + b_h))`, `h = z h + (1 - z) g`.
    ///
    /// Inputs as [`SimpleRnn`]'s. Parameters, named and laid out as Keras' (gates in the order
    /// `z, r, g`): `kernel [features, 3 units]`, `recurrent_kernel [units, 3 units]`, `bias
    /// [2, 3 units]` (the input bias, then the recurrent one).
    Gru,
    "Gru",
    Cell::Gru
);

/// The sequence, the mask and the initial states in `x`.
fn recurrent_inputs<'x>(
    kind: &'static str,
    x: &'x Data,
    cell: Cell,
    ctx: &ModuleContext<'_>,
) -> Result<(&'x Tensor, Option<&'x Tensor>, Vec<&'x Tensor>)> {
    let bad = || {
        let states = if cell == Cell::Lstm {
            "(sequence, h0, c0)"
        } else {
            "(sequence, h0)"
        };
        Error::invalid(
            kind,
            format!(
                "{} was given {}; it takes a sequence tensor, a tuple {states}, or a map of \
                 `sequence` and optionally `mask`, `initial_state`{}",
                layer_at(ctx),
                x.describe(),
                if cell == Cell::Lstm {
                    " and `initial_carry`"
                } else {
                    ""
                }
            ),
        )
    };
    match x {
        Data::Tensor(t) => Ok((t, None, Vec::new())),
        Data::Tuple(parts) if parts.len() == 1 + cell.states() => {
            let mut tensors = parts
                .iter()
                .map(|p| p.as_tensor("a recurrent layer's input"))
                .collect::<Result<Vec<_>>>()?;
            let sequence = tensors.remove(0);
            Ok((sequence, None, tensors))
        }
        Data::Map(parts) => {
            let allowed = ["sequence", "mask", "initial_state", "initial_carry"];
            if parts.keys().any(|k| !allowed.contains(&k.as_str())) {
                return Err(bad());
            }
            let part = |name: &str| {
                parts
                    .get(name)
                    .map(|p| p.as_tensor(&format!("{kind}'s `{name}`")))
                    .transpose()
            };
            let sequence = part("sequence")?.ok_or_else(bad)?;
            let initial: Vec<&Tensor> = match (part("initial_state")?, part("initial_carry")?) {
                (None, None) => Vec::new(),
                (Some(h), None) if cell != Cell::Lstm => vec![h],
                (Some(h), Some(c)) if cell == Cell::Lstm => vec![h, c],
                _ => return Err(bad()),
            };
            Ok((sequence, part("mask")?, initial))
        }
        _ => Err(bad()),
    }
}

/// Runs `cell` over `x`; returns the output, then the final states.
fn run(
    cell: Cell,
    units: usize,
    options: &RecurrentOptions,
    x: &Tensor,
    mask: Option<&Tensor>,
    initial: &[&Tensor],
    ctx: &mut ModuleContext<'_>,
) -> Result<Vec<Tensor>> {
    let kind = match cell {
        Cell::Simple => "SimpleRnn",
        Cell::Lstm => "Lstm",
        Cell::Gru => "Gru",
    };
    check_min_rank(kind, ctx, x, 3, "[batch, time, features]")?;
    check_size(kind, ctx, "units", units)?;
    if x.ndim() != 3 {
        return Err(Error::shape(
            kind,
            format!(
                "{} takes [batch, time, features], got {:?}",
                layer_at(ctx),
                x.shape()
            ),
        ));
    }
    let (batch, time, features) = (x.shape()[0], x.shape()[1], x.shape()[2]);
    if let Some(m) = mask
        && m.shape() != [batch, time]
    {
        return Err(Error::shape(
            kind,
            format!(
                "{}: the mask has shape {:?}; it needs one value per step, [{batch}, {time}]",
                layer_at(ctx),
                m.shape()
            ),
        ));
    }
    for s in initial {
        if s.shape() != [batch, units] {
            return Err(Error::shape(
                kind,
                format!(
                    "{}: an initial state has shape {:?}; it needs [{batch}, {units}]",
                    layer_at(ctx),
                    s.shape()
                ),
            ));
        }
    }
    let gates = cell.gates() * units;
    let kernel = ctx.param("kernel", &[features, gates], options.kernel_init)?;
    let recurrent = ctx.param("recurrent_kernel", &[units, gates], options.recurrent_init)?;
    let (input_bias, recurrent_bias) = match cell {
        Cell::Gru => {
            let bias = ctx.param("bias", &[2, gates], options.bias_init)?;
            let row = |i| bias.slice(0, i, i + 1)?.reshape(&[gates as isize]);
            (row(0)?, Some(row(1)?))
        }
        Cell::Lstm if options.unit_forget_bias && options.bias_init == Initializer::Zeros => {
            let start: Vec<f32> = (0..gates)
                .map(|i| {
                    if (units..2 * units).contains(&i) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            let bias =
                ctx.param_from("bias", &[gates], |shape, _| Tensor::from_vec(start, shape))?;
            (bias, None)
        }
        _ => (ctx.param("bias", &[gates], options.bias_init)?, None),
    };
    let mut h = initial
        .first()
        .map_or_else(|| Tensor::zeros(&[batch, units]), |h| (*h).clone());
    let mut c = initial
        .get(1)
        .map_or_else(|| Tensor::zeros(&[batch, units]), |c| (*c).clone());
    let mut outputs = Vec::with_capacity(time);
    let block = |z: &Tensor, i: usize| z.slice(1, i * units, (i + 1) * units);
    for step in 0..time {
        let t = if options.go_backwards {
            time - 1 - step
        } else {
            step
        };
        // Each step's input projected on its own: one product of the whole sequence would be
        // sliced per step, and the backward of each slice is an array of the whole sequence's
        // size (most of an epoch went into zeroing them).
        let x_t = x
            .slice(1, t, t + 1)?
            .reshape(&[batch as isize, features as isize])?;
        let xz = x_t.linear_activated(&kernel, Some(&input_bias), crate::Activation::Identity)?;
        let hu = h.matmul(&recurrent)?;
        let (h_new, c_new) = match cell {
            Cell::Simple => (xz.add(&hu)?.tanh(), None),
            Cell::Lstm => {
                // One op for the gates and both states (`Tensor::lstm_cell`).
                let hc = xz.lstm_cell(&hu, &c)?;
                (hc.slice(1, 0, units)?, Some(hc.slice(1, units, 2 * units)?))
            }
            Cell::Gru => {
                let inner = match &recurrent_bias {
                    Some(b) => hu.add(b)?,
                    None => hu,
                };
                let z = block(&xz, 0)?.add(&block(&inner, 0)?)?.sigmoid();
                let r = block(&xz, 1)?.add(&block(&inner, 1)?)?.sigmoid();
                let g = block(&xz, 2)?.add(&r.mul(&block(&inner, 2)?)?)?.tanh();
                let h_new = z.mul(&h)?.add(&z.rsub_scalar(1.0).mul(&g)?)?;
                (h_new, None)
            }
        };
        match mask {
            // A padded step keeps the states: m new + (1 - m) old, per sample.
            Some(m) => {
                let keep = m.slice(1, t, t + 1)?.detach();
                let skip = keep.rsub_scalar(1.0);
                h = h_new.mul(&keep)?.add(&h.mul(&skip)?)?;
                if let Some(c_new) = c_new {
                    c = c_new.mul(&keep)?.add(&c.mul(&skip)?)?;
                }
            }
            None => {
                h = h_new;
                if let Some(c_new) = c_new {
                    c = c_new;
                }
            }
        }
        if options.return_sequences {
            outputs.push(h.clone());
        }
    }
    let output = if options.return_sequences {
        Tensor::stack(&outputs, 1)?
    } else {
        h.clone()
    };
    let mut out = vec![output];
    if options.return_state {
        out.push(h);
        if cell == Cell::Lstm {
            out.push(c);
        }
    }
    Ok(out)
}

/// A recurrent layer that can make its mirror image (the same layer running the other way), for
/// [`Bidirectional`].
pub trait Reversible: Module + Sized {
    /// This layer with `go_backwards` flipped.
    fn reversed(&self) -> Self;

    /// Whether it outputs a sequence (then the backward layer's is put back in time order).
    fn returns_sequences(&self) -> bool;
}

macro_rules! reversible {
    ($($layer:ident),*) => {
        $(
            impl Reversible for $layer {
                fn reversed(&self) -> $layer {
                    let mut layer = *self;
                    layer.options.go_backwards = !layer.options.go_backwards;
                    layer
                }

                fn returns_sequences(&self) -> bool {
                    self.options.return_sequences
                }
            }
        )*
    };
}

reversible!(SimpleRnn, Lstm, Gru);

/// A recurrent layer run both ways over the sequence, its two outputs concatenated on the last
/// axis, as Keras' `Bidirectional` with its default `merge_mode="concat"`: the backward layer is
/// a copy with `go_backwards` flipped, under the name `backward` (the given one under `forward`),
/// and its sequence output is put back in time order first, so position `t` holds both
/// directions' state at `t`. `return_state` is not supported inside (an error).
///
/// ```
/// use elegy_core::module::layers::{Bidirectional, Gru};
/// use elegy_core::module::ModuleContext;
/// use elegy_core::{RngKey, Tensor, TensorMap};
/// let empty = TensorMap::new();
/// let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
/// let both = Bidirectional::new(Gru::new(16).return_sequences());
/// assert_eq!(ctx.call(&both, &Tensor::ones(&[2, 5, 3]))?.shape(), &[2, 5, 32]);
/// # Ok::<(), elegy_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bidirectional<L> {
    forward: L,
    backward: L,
}

impl<L: Reversible> Bidirectional<L> {
    /// `layer` and its mirror image.
    pub fn new(layer: L) -> Bidirectional<L> {
        Bidirectional {
            backward: layer.reversed(),
            forward: layer,
        }
    }
}

impl<L: Reversible + 'static> Module for Bidirectional<L> {
    fn kind(&self) -> &'static str {
        "Bidirectional"
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        self.forward_data(&Data::Tensor(x.clone()), ctx)?
            .into_tensor()
    }

    /// Both directions take the same input: a sequence, or a map with its `mask` (which the
    /// backward copy reads in its own direction, so right-padding stays out of both states).
    fn forward_data(&self, x: &Data, ctx: &mut ModuleContext<'_>) -> Result<Data> {
        let forward = ctx
            .call_data(&super::Named::new("forward", Passthrough(&self.forward)), x)?
            .into_tensor()?;
        let mut backward = ctx
            .call_data(
                &super::Named::new("backward", Passthrough(&self.backward)),
                x,
            )?
            .into_tensor()?;
        if self.backward.returns_sequences() {
            let time = backward.shape()[1];
            let steps = (0..time)
                .rev()
                .map(|t| backward.slice(1, t, t + 1))
                .collect::<Result<Vec<_>>>()?;
            backward = Tensor::concat(&steps, 1)?;
        }
        Tensor::concat(&[forward, backward], -1).map(Data::Tensor)
    }
}

/// A borrowed module, so that [`Bidirectional`] can name its two directions.
struct Passthrough<'m, M>(&'m M);

impl<M: Module> Module for Passthrough<'_, M> {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }

    fn forward(&self, x: &Tensor, ctx: &mut ModuleContext<'_>) -> Result<Tensor> {
        self.0.forward(x, ctx)
    }

    fn forward_data(&self, x: &Data, ctx: &mut ModuleContext<'_>) -> Result<Data> {
        self.0.forward_data(x, ctx)
    }
}
