//! Max and average pooling over the rows and columns of NHWC images, in pieces of whole samples
//! on the executor (a sample's windows touch only its own cells, in the same order whoever runs
//! the piece).

use std::ops::Range;

use ndarray::{ArrayD, IxDyn};

use super::conv::{Padding, Window2d, nhwc};
use super::elementwise::MAP_SPLIT_FROM;
use crate::autodiff::{Backward, InputGrads};
use crate::error::{Error, Result};
use crate::exec::{for_each_chunk, for_each_chunk2, items_per_piece};
use crate::tensor::Tensor;

/// Options of [`Tensor::max_pool2d`] and [`Tensor::avg_pool2d`]; `..Default::default()` fills in
/// a 2x2 window, a stride equal to the window and [`Padding::Valid`], as in Keras.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dOptions {
    /// Rows and columns of each window.
    pub window: (usize, usize),
    /// Steps between windows, `(rows, columns)`; `None` steps by the window, so that windows
    /// tile the input without overlapping.
    pub stride: Option<(usize, usize)>,
    /// How the borders are padded. Padded cells never count: not as a maximum, nor in an
    /// average.
    pub padding: Padding,
}

impl Default for Pool2dOptions {
    fn default() -> Pool2dOptions {
        Pool2dOptions {
            window: (2, 2),
            stride: None,
            padding: Padding::Valid,
        }
    }
}

/// The window geometry of a pool over `x`, checked so that every window covers at least one
/// cell of the input.
fn pool_window(op: &'static str, x: &Tensor, options: &Pool2dOptions) -> Result<Window2d> {
    let [_, h, w, _] = nhwc(op, x)?;
    if h == 0 || w == 0 {
        // Every window would hold only padding (or nothing): no maximum or mean to take.
        return Err(Error::shape(
            op,
            format!(
                "input {:?} has no pixels ({h}x{w}); pooling needs an image of at least 1x1",
                x.shape()
            ),
        ));
    }
    let stride = options.stride.unwrap_or(options.window);
    if let Padding::Explicit {
        top,
        bottom,
        left,
        right,
    } = options.padding
    {
        let (wh, ww) = options.window;
        if top.max(bottom) >= wh || left.max(right) >= ww {
            return Err(Error::invalid(
                op,
                format!(
                    "padding {:?} must be smaller than the {wh}x{ww} window on every side, \
                     or some windows would hold only padding",
                    options.padding
                ),
            ));
        }
    }
    Window2d::new(op, (h, w), options.window, stride, (1, 1), options.padding)
}

/// `[n, oh, ow, c]`: the output shape of a pool.
fn output_shape(x: &Tensor, window: &Window2d) -> [usize; 4] {
    let shape = x.shape();
    [shape[0], window.output.0, window.output.1, shape[3]]
}

/// Calls `visit(window_index, cells)` for each window of samples `samples` of an `[n, h, w, c]`
/// input, in the output's row-major order (without channels), with the flat offsets of the
/// window's cells that lie inside the input (each the start of `c` channel values), in
/// row-major order. Window indices and offsets count from the first of `samples`.
fn for_each_window(
    samples: Range<usize>,
    c: usize,
    win: &Window2d,
    mut visit: impl FnMut(usize, &[usize]),
) {
    let ((h, w), (kh, kw), (oh, ow)) = (win.input, win.size, win.output);
    let mut cells = Vec::with_capacity(kh * kw);
    for b in 0..samples.len() {
        for oy in 0..oh {
            for ox in 0..ow {
                cells.clear();
                for ki in 0..kh {
                    let Some(iy) = win.row(oy, ki) else { continue };
                    for kj in 0..kw {
                        let Some(ix) = win.col(ox, kj) else { continue };
                        cells.push(((b * h + iy) * w + ix) * c);
                    }
                }
                visit((b * oh + oy) * ow + ox, &cells);
            }
        }
    }
}

/// Samples per piece of a pool over `n` samples of `len` values each, and the samples of
/// piece `i`.
fn pieces(n: usize, len: usize) -> (usize, impl Fn(usize) -> Range<usize>) {
    let per = items_per_piece(n, len, MAP_SPLIT_FROM);
    (per, move |i: usize| i * per..((i + 1) * per).min(n))
}

/// Sends each output's gradient to the input element that was its maximum.
struct MaxPoolRule {
    /// For each output element, the flat index of the input element it took.
    argmax: Vec<usize>,
}

impl Backward for MaxPoolRule {
    fn name(&self) -> &'static str {
        "max_pool2d"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let x = &inputs[0];
        let [n, _, _, _] = nhwc("max_pool2d", x)?;
        let grad = grad.as_standard_layout();
        let grad = grad.as_slice().expect("standard layout");
        let mut gx = vec![0.0f32; x.len()];
        let (input_len, output_len) = (x.len() / n.max(1), grad.len() / n.max(1));
        let (per, _) = pieces(n, input_len + output_len);
        for_each_chunk(&mut gx, per * input_len, |i, part| {
            let (base, outputs) = (i * per * input_len, i * per * output_len);
            let outputs = outputs..outputs + part.len() / input_len.max(1) * output_len;
            // Overlapping windows can pick the same element: their gradients add up.
            for (&g, &at) in grad[outputs.clone()].iter().zip(&self.argmax[outputs]) {
                part[at - base] += g;
            }
        });
        let gx = ArrayD::from_shape_vec(IxDyn(x.shape()), gx).expect("sized to the input");
        Ok(vec![Some(gx)])
    }
}

/// Spreads each output's gradient evenly over the input cells of its window.
struct AvgPoolRule {
    window: Window2d,
}

impl Backward for AvgPoolRule {
    fn name(&self) -> &'static str {
        "avg_pool2d"
    }
    fn backward(&self, grad: &ArrayD<f32>, inputs: &[Tensor]) -> Result<InputGrads> {
        let x = &inputs[0];
        let [n, _, _, c] = nhwc("avg_pool2d", x)?;
        let grad = grad.as_standard_layout();
        let g = grad.as_slice().expect("standard layout");
        let mut gx = vec![0.0f32; x.len()];
        let (input_len, output_len) = (x.len() / n.max(1), g.len() / n.max(1));
        let (per, samples) = pieces(n, input_len + output_len);
        for_each_chunk(&mut gx, per * input_len, |i, gx| {
            let g = &g[i * per * output_len..];
            for_each_window(samples(i), c, &self.window, |o, cells| {
                let share = 1.0 / cells.len() as f32;
                let g = &g[o * c..(o + 1) * c];
                for &cell in cells {
                    for (d, &g) in gx[cell..cell + c].iter_mut().zip(g) {
                        *d += g * share;
                    }
                }
            });
        });
        let gx = ArrayD::from_shape_vec(IxDyn(x.shape()), gx).expect("sized to the input");
        Ok(vec![Some(gx)])
    }
}

impl Tensor {
    /// The largest value of each window of NHWC images `[n, h, w, c]`, channel by channel:
    /// `[n, oh, ow, c]`.
    ///
    /// Padded cells never win, so a window of negative values over the border keeps its
    /// largest negative value. The gradient flows to the position of the maximum only; when a
    /// window holds the maximum more than once, the first in row-major order (top row first,
    /// then left to right) takes it all. A NaN in a window wins over any number.
    ///
    /// ```
    /// use elegy_core::{Pool2dOptions, Tensor};
    /// let x = Tensor::from_vec((0..16).map(|v| v as f32).collect(), &[1, 4, 4, 1])?;
    /// let y = x.max_pool2d(&Pool2dOptions::default())?;
    /// assert_eq!(y.shape(), &[1, 2, 2, 1]);
    /// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn max_pool2d(&self, options: &Pool2dOptions) -> Result<Tensor> {
        let window = pool_window("max_pool2d", self, options)?;
        let shape = output_shape(self, &window);
        let [n, _, _, c] = nhwc("max_pool2d", self)?;
        let x = self.view();
        let x = x.as_standard_layout();
        let x = x.as_slice().expect("standard layout");
        let mut values = vec![0.0f32; shape.iter().product()];
        let mut argmax = vec![0usize; values.len()];
        let (input_len, output_len) = (x.len() / n.max(1), values.len() / n.max(1));
        let (per, samples) = pieces(n, input_len + output_len);
        let chunk = per * output_len;
        for_each_chunk2(
            (&mut values, chunk),
            (&mut argmax, chunk),
            |i, values, argmax| {
                let base = i * per * input_len;
                let x = &x[base..];
                for_each_window(samples(i), c, &window, |o, cells| {
                    let (best, at) = (
                        &mut values[o * c..(o + 1) * c],
                        &mut argmax[o * c..(o + 1) * c],
                    );
                    // Every window has a cell inside the input (checked by `pool_window`).
                    let first = cells[0];
                    best.copy_from_slice(&x[first..first + c]);
                    for (ch, a) in at.iter_mut().enumerate() {
                        *a = base + first + ch;
                    }
                    for &cell in &cells[1..] {
                        for ch in 0..c {
                            let v = x[cell + ch];
                            // Strictly greater keeps the first of ties; a NaN takes over and stays.
                            if v > best[ch] || (v.is_nan() && !best[ch].is_nan()) {
                                best[ch] = v;
                                at[ch] = base + cell + ch;
                            }
                        }
                    }
                });
            },
        );
        let value = ArrayD::from_shape_vec(IxDyn(&shape), values).expect("sized to the output");
        Ok(Tensor::from_op(value, &[self], |_| MaxPoolRule { argmax }))
    }

    /// The mean of each window of NHWC images `[n, h, w, c]`, channel by channel:
    /// `[n, oh, ow, c]`. Only the window's cells inside the input are averaged (padding is not
    /// counted), as in Keras.
    ///
    /// ```
    /// use elegy_core::{Padding, Pool2dOptions, Tensor};
    /// let x = Tensor::ones(&[1, 3, 3, 2]);
    /// let same = Pool2dOptions { padding: Padding::Same, ..Default::default() };
    /// let y = x.avg_pool2d(&same)?;
    /// assert_eq!(y.shape(), &[1, 2, 2, 2]);
    /// assert!(y.to_vec().iter().all(|&v| v == 1.0));
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    pub fn avg_pool2d(&self, options: &Pool2dOptions) -> Result<Tensor> {
        let window = pool_window("avg_pool2d", self, options)?;
        let shape = output_shape(self, &window);
        let [n, _, _, c] = nhwc("avg_pool2d", self)?;
        let x = self.view();
        let x = x.as_standard_layout();
        let x = x.as_slice().expect("standard layout");
        let mut values = vec![0.0f32; shape.iter().product()];
        let (input_len, output_len) = (x.len() / n.max(1), values.len() / n.max(1));
        let (per, samples) = pieces(n, input_len + output_len);
        for_each_chunk(&mut values, per * output_len, |i, values| {
            let x = &x[i * per * input_len..];
            for_each_window(samples(i), c, &window, |o, cells| {
                let mean = &mut values[o * c..(o + 1) * c];
                for &cell in cells {
                    for (m, &v) in mean.iter_mut().zip(&x[cell..cell + c]) {
                        *m += v;
                    }
                }
                let count = cells.len() as f32;
                mean.iter_mut().for_each(|m| *m /= count);
            });
        });
        let value = ArrayD::from_shape_vec(IxDyn(&shape), values).expect("sized to the output");
        Ok(Tensor::from_op(value, &[self], |_| AvgPoolRule { window }))
    }
}
