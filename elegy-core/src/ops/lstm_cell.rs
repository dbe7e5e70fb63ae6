//! The LSTM cell as one op: the gates from the step's pre-activations, the new cell state and
//! the new output, forward and backward in one pass each, instead of a dozen element-wise ops
//! (and their tape nodes and arrays) per time step.

use ndarray::{ArrayD, IxDyn};

use super::unary::{sigmoid_slope, tanh_slope};
use super::vector_math::{sigmoid, tanh};
use crate::autodiff::{Backward, InputGrads};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// The gate activations of every row (`[batch, 4 units]`: input, forget, candidate, output)
/// and `tanh` of the new cell state (`[batch, units]`), kept by the forward pass for the
/// backward one.
struct LstmCellRule {
    gates: Vec<f32>,
    tanh_c: Vec<f32>,
    units: usize,
}

/// `x + r`, then the gate activations, over one row of `4 units` in place.
fn activate(x: &[f32], r: &[f32], out: &mut [f32], units: usize) {
    for ((o, &a), &b) in out.iter_mut().zip(x).zip(r) {
        *o = a + b;
    }
    // Plain loops over contiguous slices, which the compiler vectorizes.
    let (ifg, o) = out.split_at_mut(3 * units);
    let (if_, g) = ifg.split_at_mut(2 * units);
    for v in if_.iter_mut() {
        *v = sigmoid(*v);
    }
    for v in g.iter_mut() {
        *v = tanh(*v);
    }
    for v in o.iter_mut() {
        *v = sigmoid(*v);
    }
}

impl Backward for LstmCellRule {
    fn name(&self) -> &'static str {
        "lstm_cell"
    }

    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let u = self.units;
        let c = inputs[2].view().as_standard_layout().into_owned();
        let c = c.as_slice().expect("standard layout");
        let grad = grad.as_standard_layout();
        let grad = grad.as_slice().expect("standard layout");
        let batch = c.len() / u.max(1);
        let mut dz = vec![0.0f32; batch * 4 * u];
        let mut dc_prev = vec![0.0f32; batch * u];
        for b in 0..batch {
            let gates = &self.gates[b * 4 * u..(b + 1) * 4 * u];
            let (i, rest) = gates.split_at(u);
            let (f, rest) = rest.split_at(u);
            let (cand, o) = rest.split_at(u);
            let tanh_c = &self.tanh_c[b * u..(b + 1) * u];
            let (dh, dc) = grad[b * 2 * u..(b + 1) * 2 * u].split_at(u);
            let c_prev = &c[b * u..(b + 1) * u];
            let row = &mut dz[b * 4 * u..(b + 1) * 4 * u];
            let (di, rest) = row.split_at_mut(u);
            let (df, rest) = rest.split_at_mut(u);
            let (dg, d_o) = rest.split_at_mut(u);
            let dcp = &mut dc_prev[b * u..(b + 1) * u];
            for j in 0..u {
                let dc_total = dc[j] + dh[j] * o[j] * tanh_slope(tanh_c[j]);
                di[j] = dc_total * cand[j] * sigmoid_slope(i[j]);
                df[j] = dc_total * c_prev[j] * sigmoid_slope(f[j]);
                dg[j] = dc_total * i[j] * tanh_slope(cand[j]);
                d_o[j] = dh[j] * tanh_c[j] * sigmoid_slope(o[j]);
                dcp[j] = dc_total * f[j];
            }
        }
        let dz = ArrayD::from_shape_vec(IxDyn(&[batch, 4 * u]), dz).expect("sized");
        let dc_prev = ArrayD::from_shape_vec(IxDyn(&[batch, u]), dc_prev).expect("sized");
        let tracked = |k: usize| inputs[k].is_tracked();
        Ok(vec![
            tracked(0).then(|| dz.clone()),
            tracked(1).then_some(dz),
            tracked(2).then_some(dc_prev),
        ])
    }
}

impl Tensor {
    /// One step of an LSTM cell (Keras' `LSTMCell`, gates in the order input, forget,
    /// candidate, output): with `z = self + recurrent` (`[batch, 4 units]`, the step's input
    /// and recurrent projections, biases included) and the previous cell state `c`
    /// (`[batch, units]`), `i, f, o = sigmoid(z_i, z_f, z_o)`, `g = tanh(z_g)`,
    /// `c' = f c + i g` and `h' = o tanh(c')`. Returns `[h', c']` side by side,
    /// `[batch, 2 units]`. The same values, bit for bit, as those ops one by one.
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let z = Tensor::zeros(&[1, 4]); // one unit: every gate half open, candidate 0
    /// let c = Tensor::from_vec(vec![2.0], &[1, 1])?;
    /// let out = z.lstm_cell(&Tensor::zeros(&[1, 4]), &c)?.to_vec();
    /// assert_eq!(out[1], 1.0); // c' = 0.5 * 2 + 0.5 * 0
    /// assert!((out[0] - 0.5 * 1f32.tanh()).abs() < 1e-6);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn lstm_cell(&self, recurrent: &Tensor, c: &Tensor) -> Result<Tensor> {
        let (batch, units) = match c.shape() {
            &[b, u] => (b, u),
            other => {
                return Err(Error::shape(
                    "lstm_cell",
                    format!("the cell state has shape {other:?}; it needs [batch, units]"),
                ));
            }
        };
        let gates_shape = [batch, 4 * units];
        if self.shape() != gates_shape || recurrent.shape() != gates_shape {
            return Err(Error::shape(
                "lstm_cell",
                format!(
                    "the projections have shapes {:?} and {:?}; with a cell state of {:?} they \
                     need [{batch}, {}]",
                    self.shape(),
                    recurrent.shape(),
                    c.shape(),
                    4 * units
                ),
            ));
        }
        let (x, r, cs) = (
            self.view().as_standard_layout().into_owned(),
            recurrent.view().as_standard_layout().into_owned(),
            c.view().as_standard_layout().into_owned(),
        );
        let (x, r, cs) = (
            x.as_slice().expect("standard layout"),
            r.as_slice().expect("standard layout"),
            cs.as_slice().expect("standard layout"),
        );
        let u = units;
        let mut gates = vec![0.0f32; batch * 4 * u];
        let mut tanh_c = vec![0.0f32; batch * u];
        let mut out = vec![0.0f32; batch * 2 * u];
        for b in 0..batch {
            let g = &mut gates[b * 4 * u..(b + 1) * 4 * u];
            activate(
                &x[b * 4 * u..(b + 1) * 4 * u],
                &r[b * 4 * u..(b + 1) * 4 * u],
                g,
                u,
            );
            let (i, rest) = g.split_at(u);
            let (f, rest) = rest.split_at(u);
            let (cand, o) = rest.split_at(u);
            let (h_out, c_out) = out[b * 2 * u..(b + 1) * 2 * u].split_at_mut(u);
            let t = &mut tanh_c[b * u..(b + 1) * u];
            let c_prev = &cs[b * u..(b + 1) * u];
            for j in 0..u {
                c_out[j] = f[j] * c_prev[j] + i[j] * cand[j];
            }
            for j in 0..u {
                t[j] = tanh(c_out[j]);
                h_out[j] = o[j] * t[j];
            }
        }
        let value = ArrayD::from_shape_vec(IxDyn(&[batch, 2 * units]), out).expect("sized");
        let rule = LstmCellRule {
            gates,
            tanh_c,
            units,
        };
        Ok(Tensor::from_op(value, &[self, recurrent, c], |_| rule))
    }
}
