//! How a [`Tensor`] prints: its values in nested brackets, one pair per axis, in columns of one
//! width, summarised with `...` when large, as NumPy prints arrays.
//!
//! The rules are NumPy's where they fit Rust: more than [`SUMMARY_THRESHOLD`] elements are
//! summarised by [`EDGE_ITEMS`] at each end of every longer axis; scientific notation when the
//! values span more than three orders of magnitude, reach 1e8, or come below 1e-4; lines wrap
//! at [`LINE_WIDTH`] columns. Numbers are written as Rust writes them (`1.0`, `NaN`, `inf`),
//! with as many decimals as the most precise value shown needs, at most [`MAX_DECIMALS`] unless
//! the formatter asks for a precision (`{:.6}`).

use std::fmt;

use ndarray::{ArrayViewD, IxDyn};

use super::Tensor;

/// Tensors with more elements than this are summarised (NumPy's `threshold`).
const SUMMARY_THRESHOLD: usize = 1000;
/// How many items a summarised axis shows at each end (NumPy's `edgeitems`).
const EDGE_ITEMS: usize = 3;
/// Where a row of values wraps (NumPy's `linewidth`).
const LINE_WIDTH: usize = 75;
/// The most decimals shown without an explicit precision (PyTorch's default).
const MAX_DECIMALS: usize = 4;

impl fmt::Debug for Tensor {
    /// The values, the shape, and whether the tensor is tracked (and by which op, when it is an
    /// op's result):
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let t = Tensor::from_vec(vec![1.0, 2.5, -3.0, 4.0], &[2, 2])?;
    /// assert_eq!(
    ///     format!("{t:?}"),
    ///     "Tensor([[ 1.0,  2.5],\n        [-3.0,  4.0]], shape=[2, 2])"
    /// );
    /// assert_eq!(format!("{:?}", t.tracked()).lines().last(), Some("        [-3.0,  4.0]], shape=[2, 2], tracked)"));
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    ///
    /// Every tensor holds `f32`, so no dtype is printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const PREFIX: &str = "Tensor(";
        let values = format_values(self.view(), PREFIX.len(), f.precision());
        write!(f, "{PREFIX}{values}, shape={:?}", self.shape())?;
        match self.node() {
            None => {}
            Some(node) if node.inputs.is_empty() => f.write_str(", tracked")?,
            Some(node) => write!(f, ", tracked from {}", node.rule.name())?,
        }
        f.write_str(")")
    }
}

impl fmt::Display for Tensor {
    /// The values alone, as [`Tensor`'s `Debug`](#impl-Debug-for-Tensor) writes them:
    ///
    /// ```
    /// use elegy_core::Tensor;
    /// let t = Tensor::from_vec(vec![0.5, 1.26, 2.0, 3.0], &[2, 2])?;
    /// assert_eq!(t.to_string(), "[[0.50, 1.26],\n [2.00, 3.00]]");
    /// assert_eq!(format!("{t:.1}"), "[[0.5, 1.3],\n [2.0, 3.0]]");
    /// # Ok::<(), elegy_core::Error>(())
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_values(self.view(), 0, f.precision()))
    }
}

/// The values of `view` in nested brackets, for text that starts `indent` columns to the left
/// of the first bracket (continuation lines are indented to line up under it).
fn format_values(view: ArrayViewD<'_, f32>, indent: usize, precision: Option<usize>) -> String {
    if view.is_empty() {
        return "[]".to_string();
    }
    let summarise = view.len() > SUMMARY_THRESHOLD;
    let shown: Vec<Vec<Shown>> = view
        .shape()
        .iter()
        .map(|&len| shown_items(len, summarise))
        .collect();
    let numbers = NumberFormat::new(&shown_values(&view, &shown), precision);
    let mut layout = Layout {
        view: &view,
        shown: &shown,
        numbers: &numbers,
        index: vec![0; view.ndim()],
    };
    let hanging = " ".repeat(indent + 1);
    layout.axis(0, &hanging, LINE_WIDTH.saturating_sub(indent))
}

/// One place along an axis: an item, or the `...` of the items left out.
#[derive(Clone, Copy)]
enum Shown {
    Item(usize),
    Ellipsis,
}

/// The places an axis of `len` items shows: all of them, or both ends when summarised.
fn shown_items(len: usize, summarise: bool) -> Vec<Shown> {
    if summarise && len > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS)
            .map(Shown::Item)
            .chain([Shown::Ellipsis])
            .chain((len - EDGE_ITEMS..len).map(Shown::Item))
            .collect()
    } else {
        (0..len).map(Shown::Item).collect()
    }
}

/// The values that will be printed (the number format is chosen from these alone).
fn shown_values(view: &ArrayViewD<'_, f32>, shown: &[Vec<Shown>]) -> Vec<f32> {
    let items: Vec<Vec<usize>> = shown
        .iter()
        .map(|axis| {
            axis.iter()
                .filter_map(|s| match s {
                    Shown::Item(i) => Some(*i),
                    Shown::Ellipsis => None,
                })
                .collect()
        })
        .collect();
    let mut values = Vec::new();
    let mut index = vec![0; items.len()];
    collect_values(view, &items, 0, &mut index, &mut values);
    values
}

fn collect_values(
    view: &ArrayViewD<'_, f32>,
    items: &[Vec<usize>],
    axis: usize,
    index: &mut Vec<usize>,
    out: &mut Vec<f32>,
) {
    if axis == items.len() {
        out.push(view[IxDyn(index)]);
        return;
    }
    for &i in &items[axis] {
        index[axis] = i;
        collect_values(view, items, axis + 1, index, out);
    }
}

/// How every number of one tensor is written, so that columns line up.
struct NumberFormat {
    scientific: bool,
    decimals: usize,
    width: usize,
}

impl NumberFormat {
    fn new(values: &[f32], precision: Option<usize>) -> NumberFormat {
        let finite: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let largest = finite.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let smallest = finite
            .iter()
            .map(|v| v.abs())
            .filter(|&v| v > 0.0)
            .fold(f32::INFINITY, f32::min);
        let integers = finite.iter().all(|v| v.fract() == 0.0);
        let scientific = largest >= 1e8
            || (!integers && smallest.is_finite() && (smallest < 1e-4 || largest / smallest > 1e3));
        // The decimals the most precise value needs to be written exactly (Rust's shortest
        // round-trip form), within the cap.
        let needed = |text: String| {
            let mantissa = text.split('e').next().unwrap_or("");
            mantissa.split_once('.').map_or(0, |(_, d)| d.len())
        };
        let decimals = precision.unwrap_or_else(|| {
            finite
                .iter()
                .map(|v| match scientific {
                    true => needed(format!("{v:e}")),
                    false => needed(format!("{v}")),
                })
                .max()
                .unwrap_or(0)
                .clamp(1, MAX_DECIMALS)
        });
        let mut format = NumberFormat {
            scientific,
            decimals,
            width: 0,
        };
        format.width = values
            .iter()
            .map(|&v| format.plain(v).len())
            .max()
            .unwrap_or(0);
        format
    }

    /// `value` without padding.
    fn plain(&self, value: f32) -> String {
        let decimals = self.decimals;
        match (value.is_finite(), self.scientific) {
            (false, _) => format!("{value}"),
            (true, true) => format!("{value:.decimals$e}"),
            (true, false) => format!("{value:.decimals$}"),
        }
    }

    /// `value` right-aligned in the common width.
    fn padded(&self, value: f32) -> String {
        format!("{:>width$}", self.plain(value), width = self.width)
    }
}

/// NumPy's recursive layout: rows of the last axis wrap at the line width, outer axes put each
/// block on lines of its own, with a blank line between blocks per axis beyond the second last.
struct Layout<'a> {
    view: &'a ArrayViewD<'a, f32>,
    shown: &'a [Vec<Shown>],
    numbers: &'a NumberFormat,
    index: Vec<usize>,
}

impl Layout<'_> {
    /// The block of `axis` at the current index; `hanging` is the indent of its continuation
    /// lines, `width` the columns left for it.
    fn axis(&mut self, axis: usize, hanging: &str, width: usize) -> String {
        let ndim = self.shown.len();
        if axis == ndim {
            return self.numbers.padded(self.view[IxDyn(&self.index)]);
        }
        let shown = &self.shown[axis];
        let inner_hanging = format!("{hanging} ");
        let inner_width = width.saturating_sub(1);
        let mut text = String::new();
        if axis + 1 == ndim {
            // The separator's comma must fit too.
            let line_width = width.saturating_sub(1);
            let mut line = hanging.to_string();
            for (k, &place) in shown.iter().enumerate() {
                let word = match place {
                    Shown::Item(i) => {
                        self.index[axis] = i;
                        self.axis(axis + 1, &inner_hanging, inner_width)
                    }
                    Shown::Ellipsis => "...".to_string(),
                };
                if line.len() + word.len() > line_width && line.len() > hanging.len() {
                    text.push_str(line.trim_end());
                    text.push('\n');
                    line = hanging.to_string();
                }
                line.push_str(&word);
                if k + 1 < shown.len() {
                    line.push_str(", ");
                }
            }
            text.push_str(&line);
        } else {
            let separator = format!(",{}", "\n".repeat(ndim - axis - 1));
            for (k, &place) in shown.iter().enumerate() {
                text.push_str(hanging);
                match place {
                    Shown::Item(i) => {
                        self.index[axis] = i;
                        let block = self.axis(axis + 1, &inner_hanging, inner_width);
                        text.push_str(&block);
                    }
                    Shown::Ellipsis => text.push_str("..."),
                }
                if k + 1 < shown.len() {
                    text.push_str(&separator);
                }
            }
        }
        format!("[{}]", &text[hanging.len()..])
    }
}

#[cfg(test)]
mod tests {
    use crate::tensor::Tensor;

    fn tensor(values: Vec<f32>, shape: &[usize]) -> Tensor {
        Tensor::from_vec(values, shape).unwrap()
    }

    fn range(n: usize) -> Vec<f32> {
        (0..n).map(|v| v as f32).collect()
    }

    #[test]
    fn a_scalar_prints_its_value_and_an_empty_shape() {
        let t = Tensor::scalar(3.5);
        assert_eq!(format!("{t:?}"), "Tensor(3.5, shape=[])");
        assert_eq!(t.to_string(), "3.5");
    }

    #[test]
    fn a_vector_prints_on_one_line_with_its_decimals_aligned() {
        let t = tensor(vec![1.0, -2.25, 30.5], &[3]);
        assert_eq!(format!("{t:?}"), "Tensor([ 1.00, -2.25, 30.50], shape=[3])");
        assert_eq!(t.to_string(), "[ 1.00, -2.25, 30.50]");
    }

    #[test]
    fn whole_numbers_print_with_one_decimal() {
        let t = tensor(vec![0.0, 1.0, 100000.0], &[3]);
        assert_eq!(t.to_string(), "[     0.0,      1.0, 100000.0]");
    }

    #[test]
    fn a_matrix_prints_one_row_a_line_under_the_first() {
        let t = tensor(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6], &[2, 3]);
        assert_eq!(
            format!("{t:?}"),
            "Tensor([[0.1, 0.2, 0.3],\n\
             \x20       [0.4, 0.5, 0.6]], shape=[2, 3])"
        );
        assert_eq!(t.to_string(), "[[0.1, 0.2, 0.3],\n [0.4, 0.5, 0.6]]");
    }

    #[test]
    fn a_three_dimensional_tensor_separates_its_matrices_by_a_blank_line() {
        let t = tensor(range(8), &[2, 2, 2]);
        assert_eq!(
            t.to_string(),
            "[[[0.0, 1.0],\n  [2.0, 3.0]],\n\n [[4.0, 5.0],\n  [6.0, 7.0]]]"
        );
    }

    #[test]
    fn a_large_tensor_shows_three_items_at_each_end_of_each_axis() {
        let t = tensor(range(2000), &[40, 50]);
        assert_eq!(
            format!("{t:?}"),
            "Tensor([[   0.0,    1.0,    2.0, ...,   47.0,   48.0,   49.0],\n\
             \x20       [  50.0,   51.0,   52.0, ...,   97.0,   98.0,   99.0],\n\
             \x20       [ 100.0,  101.0,  102.0, ...,  147.0,  148.0,  149.0],\n\
             \x20       ...,\n\
             \x20       [1850.0, 1851.0, 1852.0, ..., 1897.0, 1898.0, 1899.0],\n\
             \x20       [1900.0, 1901.0, 1902.0, ..., 1947.0, 1948.0, 1949.0],\n\
             \x20       [1950.0, 1951.0, 1952.0, ..., 1997.0, 1998.0, 1999.0]], shape=[40, 50])"
        );
    }

    #[test]
    fn a_long_row_wraps_under_its_first_value() {
        let t = tensor(range(20), &[20]);
        assert_eq!(
            t.to_string(),
            "[ 0.0,  1.0,  2.0,  3.0,  4.0,  5.0,  6.0,  7.0,  8.0,  9.0, 10.0, 11.0,\n \
             12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0]"
        );
    }

    #[test]
    fn values_spanning_orders_of_magnitude_print_in_scientific_notation() {
        let t = tensor(vec![1.5e-5, 2.0, f32::NAN, f32::NEG_INFINITY], &[4]);
        assert_eq!(t.to_string(), "[1.5e-5,  2.0e0,    NaN,   -inf]");
    }

    #[test]
    fn an_empty_tensor_prints_empty_brackets_and_its_shape() {
        let t = Tensor::zeros(&[0, 3]);
        assert_eq!(format!("{t:?}"), "Tensor([], shape=[0, 3])");
    }

    #[test]
    fn a_tracked_tensor_says_so_and_names_the_op_that_made_it() {
        let leaf = tensor(vec![1.0, 2.0], &[2]).tracked();
        assert_eq!(
            format!("{leaf:?}"),
            "Tensor([1.0, 2.0], shape=[2], tracked)"
        );
        let result = leaf.square();
        assert_eq!(
            format!("{result:?}"),
            "Tensor([1.0, 4.0], shape=[2], tracked from square)"
        );
    }
}
