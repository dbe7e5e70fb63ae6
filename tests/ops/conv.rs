//! Convolution, pooling and dropout: forward values against direct loops written here, gradients
//! against finite differences, and the errors for options that cannot work.

use elegy::{Conv2dOptions, Padding, Pool2dOptions, RngKey, Tensor, TensorMap, grad};

use crate::common::{assert_grads, away_from_zero, randn, uniform};

// ---------------------------------------------------------------------------------------------
// Direct-loop references

/// Padding `(top, bottom, left, right)` spelled out, for the references.
type Pads = (usize, usize, usize, usize);

/// Size of one output axis of a window sliding over `size + pads` cells.
fn out_size(size: usize, pads: usize, taps: usize, stride: usize, dilation: usize) -> usize {
    let span = (taps - 1) * dilation + 1;
    (size + pads - span) / stride + 1
}

/// The value at `[b, y, x, c]` of an NHWC tensor, or `None` outside it (in the padding).
fn at(values: &[f32], shape: &[usize], b: usize, y: isize, x: isize, c: usize) -> Option<f32> {
    let (h, w, ch) = (shape[1] as isize, shape[2] as isize, shape[3]);
    if y < 0 || x < 0 || y >= h || x >= w {
        return None;
    }
    Some(values[((b * h as usize + y as usize) * w as usize + x as usize) * ch + c])
}

/// Convolution by the definition: for each output element, a sum over the kernel's taps.
fn reference_conv(
    input: &Tensor,
    kernel: &Tensor,
    stride: (usize, usize),
    dilation: (usize, usize),
    (top, bottom, left, right): Pads,
) -> Tensor {
    let (xs, ks) = (input.shape(), kernel.shape());
    let (x, k) = (input.to_vec(), kernel.to_vec());
    let (n, c_in) = (xs[0], xs[3]);
    let (kh, kw, c_out) = (ks[0], ks[1], ks[3]);
    let oh = out_size(xs[1], top + bottom, kh, stride.0, dilation.0);
    let ow = out_size(xs[2], left + right, kw, stride.1, dilation.1);
    let mut out = Vec::new();
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for co in 0..c_out {
                    let mut sum = 0.0;
                    for i in 0..kh {
                        for j in 0..kw {
                            let y = (oy * stride.0 + i * dilation.0) as isize - top as isize;
                            let xx = (ox * stride.1 + j * dilation.1) as isize - left as isize;
                            for ci in 0..c_in {
                                let v = at(&x, xs, b, y, xx, ci).unwrap_or(0.0);
                                sum += v * k[((i * kw + j) * c_in + ci) * c_out + co];
                            }
                        }
                    }
                    out.push(sum);
                }
            }
        }
    }
    Tensor::from_vec(out, &[n, oh, ow, c_out]).unwrap()
}

/// Max or average pooling by the definition, over the window cells inside the input.
fn reference_pool(
    input: &Tensor,
    window: (usize, usize),
    stride: (usize, usize),
    (top, bottom, left, right): Pads,
    reduce: fn(&[f32]) -> f32,
) -> Tensor {
    let xs = input.shape();
    let x = input.to_vec();
    let oh = out_size(xs[1], top + bottom, window.0, stride.0, 1);
    let ow = out_size(xs[2], left + right, window.1, stride.1, 1);
    let mut out = Vec::new();
    for b in 0..xs[0] {
        for oy in 0..oh {
            for ox in 0..ow {
                for c in 0..xs[3] {
                    let mut cells = Vec::new();
                    for i in 0..window.0 {
                        for j in 0..window.1 {
                            let y = (oy * stride.0 + i) as isize - top as isize;
                            let xx = (ox * stride.1 + j) as isize - left as isize;
                            cells.extend(at(&x, xs, b, y, xx, c));
                        }
                    }
                    out.push(reduce(&cells));
                }
            }
        }
    }
    Tensor::from_vec(out, &[xs[0], oh, ow, xs[3]]).unwrap()
}

fn max_of(cells: &[f32]) -> f32 {
    cells.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

fn mean_of(cells: &[f32]) -> f32 {
    cells.iter().sum::<f32>() / cells.len() as f32
}

#[track_caller]
fn assert_close(actual: &Tensor, expected: &Tensor) {
    assert_eq!(actual.shape(), expected.shape());
    for (i, (a, e)) in actual.to_vec().iter().zip(expected.to_vec()).enumerate() {
        assert!(
            (a - e).abs() <= 1e-4 * (1.0 + e.abs()),
            "element {i}: {a} != {e}"
        );
    }
}

/// `n` distinct values, shuffled and spaced 0.1 apart, so that no window of a max pool holds a
/// tie, nor two values within a finite-difference step of each other.
fn distinct(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    // 37 is coprime with every size used here, so `i * 37 % n` is a permutation of 0..n.
    let values = (0..n).map(|i| (i * 37 % n) as f32 * 0.1 - n as f32 * 0.05);
    Tensor::from_vec(values.collect(), shape).unwrap()
}

fn err_text(result: elegy::Result<Tensor>) -> String {
    result.expect_err("should be rejected").to_string()
}

// ---------------------------------------------------------------------------------------------
// conv2d: forward

#[test]
fn conv2d_valid_matches_the_direct_loops() {
    let (x, k) = (randn(&[2, 6, 7, 3], 0), randn(&[3, 2, 3, 4], 1));
    let y = x.conv2d(&k, &Conv2dOptions::default()).unwrap();
    assert_close(&y, &reference_conv(&x, &k, (1, 1), (1, 1), (0, 0, 0, 0)));
}

#[test]
fn conv2d_same_with_stride_2_matches_the_direct_loops_with_tensorflow_padding() {
    let (x, k) = (randn(&[2, 7, 6, 2], 2), randn(&[3, 3, 2, 3], 3));
    let options = Conv2dOptions {
        stride: (2, 2),
        padding: Padding::Same,
        ..Default::default()
    };
    let y = x.conv2d(&k, &options).unwrap();
    // Rows: ceil(7 / 2) = 4 outputs need 3 * 2 + 3 - 7 = 2 padding, 1 above and 1 below.
    // Columns: ceil(6 / 2) = 3 outputs need 2 * 2 + 3 - 6 = 1 padding, all of it on the right.
    assert_eq!(y.shape(), &[2, 4, 3, 3]);
    assert_close(&y, &reference_conv(&x, &k, (2, 2), (1, 1), (1, 1, 0, 1)));
}

#[test]
fn conv2d_with_dilation_2_matches_the_direct_loops() {
    let (x, k) = (randn(&[2, 7, 8, 2], 4), randn(&[3, 2, 2, 3], 5));
    let options = Conv2dOptions {
        dilation: (2, 2),
        ..Default::default()
    };
    let y = x.conv2d(&k, &options).unwrap();
    assert_close(&y, &reference_conv(&x, &k, (1, 1), (2, 2), (0, 0, 0, 0)));
}

#[test]
fn conv2d_same_with_dilation_matches_the_direct_loops() {
    let (x, k) = (randn(&[1, 6, 5, 2], 6), randn(&[3, 3, 2, 2], 7));
    let options = Conv2dOptions {
        padding: Padding::Same,
        dilation: (2, 1),
        ..Default::default()
    };
    let y = x.conv2d(&k, &options).unwrap();
    // The 3 taps dilated by 2 span 5 rows: 4 padding rows, 2 above and 2 below.
    assert_close(&y, &reference_conv(&x, &k, (1, 1), (2, 1), (2, 2, 1, 1)));
}

#[test]
fn conv2d_explicit_padding_and_unequal_strides_match_the_direct_loops() {
    let (x, k) = (randn(&[2, 5, 6, 3], 8), randn(&[2, 3, 3, 2], 9));
    let options = Conv2dOptions {
        stride: (1, 2),
        padding: Padding::Explicit {
            top: 2,
            bottom: 0,
            left: 1,
            right: 3,
        },
        ..Default::default()
    };
    let y = x.conv2d(&k, &options).unwrap();
    assert_close(&y, &reference_conv(&x, &k, (1, 2), (1, 1), (2, 0, 1, 3)));
}

#[test]
fn conv2d_same_puts_the_odd_padding_row_and_column_at_the_bottom_right() {
    let x = Tensor::from_vec((0..16).map(|v| v as f32).collect(), &[1, 4, 4, 1]).unwrap();
    let ones = Tensor::ones(&[2, 2, 1, 1]);
    let options = Conv2dOptions {
        padding: Padding::Same,
        ..Default::default()
    };
    let y = x.conv2d(&ones, &options).unwrap().to_vec();
    // The top-left window lies wholly inside: 0 + 1 + 4 + 5.
    assert_eq!(y[0], 10.0);
    // The bottom-right window holds the last value and three padding zeros.
    assert_eq!(y[15], 15.0);
}

#[test]
fn conv2d_same_gives_ceil_of_input_over_stride() {
    let x = Tensor::zeros(&[1, 9, 10, 1]);
    let k = Tensor::zeros(&[4, 3, 1, 2]);
    let options = Conv2dOptions {
        stride: (2, 3),
        padding: Padding::Same,
        ..Default::default()
    };
    assert_eq!(x.conv2d(&k, &options).unwrap().shape(), &[1, 5, 4, 2]);
}

// ---------------------------------------------------------------------------------------------
// conv2d: gradients

#[test]
fn conv2d_gradients_match_finite_differences() {
    assert_grads(
        |t| t[0].conv2d(&t[1], &Conv2dOptions::default()),
        &[randn(&[2, 4, 5, 2], 10), randn(&[2, 3, 2, 3], 11)],
    );
}

#[test]
fn conv2d_gradients_with_same_padding_and_stride_2_match_finite_differences() {
    let options = Conv2dOptions {
        stride: (2, 2),
        padding: Padding::Same,
        ..Default::default()
    };
    assert_grads(
        |t| t[0].conv2d(&t[1], &options),
        &[randn(&[2, 5, 4, 2], 12), randn(&[3, 3, 2, 2], 13)],
    );
}

#[test]
fn conv2d_gradients_with_dilation_and_explicit_padding_match_finite_differences() {
    let options = Conv2dOptions {
        padding: Padding::Explicit {
            top: 1,
            bottom: 0,
            left: 0,
            right: 2,
        },
        dilation: (2, 2),
        ..Default::default()
    };
    assert_grads(
        |t| t[0].conv2d(&t[1], &options),
        &[randn(&[1, 5, 5, 2], 14), randn(&[2, 2, 2, 3], 15)],
    );
}

#[test]
fn conv2d_with_a_constant_kernel_differentiates_the_input_alone() {
    let kernel = randn(&[2, 2, 2, 2], 16);
    assert_grads(
        |t| t[0].conv2d(&kernel, &Conv2dOptions::default()),
        &[randn(&[1, 3, 4, 2], 17)],
    );
}

#[test]
fn conv2d_of_constant_images_differentiates_the_kernel_alone() {
    let images = randn(&[2, 4, 3, 1], 18);
    assert_grads(
        |t| images.conv2d(&t[0], &Conv2dOptions::default()),
        &[randn(&[2, 2, 1, 3], 19)],
    );
}

// ---------------------------------------------------------------------------------------------
// conv2d: errors

#[test]
fn pooling_an_image_with_no_pixels_is_an_error() {
    let empty = Tensor::zeros(&[1, 0, 0, 1]);
    let options = Pool2dOptions {
        padding: Padding::Explicit {
            top: 1,
            bottom: 1,
            left: 1,
            right: 1,
        },
        ..Default::default()
    };
    for result in [empty.max_pool2d(&options), empty.avg_pool2d(&options)] {
        let err = result.unwrap_err().to_string();
        assert!(err.contains("no pixels"), "{err}");
    }
}

#[test]
fn conv2d_rejects_a_channel_mismatch() {
    let err = err_text(
        Tensor::zeros(&[2, 8, 8, 3])
            .conv2d(&Tensor::zeros(&[3, 3, 4, 16]), &Conv2dOptions::default()),
    );
    assert_eq!(
        err,
        "conv2d: input [2, 8, 8, 3] has 3 channels but kernel [3, 3, 4, 16] expects 4"
    );
}

#[test]
fn conv2d_rejects_an_input_without_a_batch_axis() {
    let err = err_text(
        Tensor::zeros(&[8, 8, 3]).conv2d(&Tensor::zeros(&[3, 3, 3, 4]), &Default::default()),
    );
    assert!(
        err.starts_with("conv2d: input of shape [8, 8, 3] has 3 axes"),
        "{err}"
    );
}

#[test]
fn conv2d_rejects_a_kernel_that_is_not_hwio() {
    let err = err_text(
        Tensor::zeros(&[1, 8, 8, 3]).conv2d(&Tensor::zeros(&[3, 3, 3]), &Default::default()),
    );
    assert!(
        err.starts_with("conv2d: kernel of shape [3, 3, 3] has 3 axes"),
        "{err}"
    );
}

#[test]
fn conv2d_rejects_a_zero_stride() {
    let options = Conv2dOptions {
        stride: (1, 0),
        ..Default::default()
    };
    let err =
        err_text(Tensor::zeros(&[1, 4, 4, 1]).conv2d(&Tensor::zeros(&[2, 2, 1, 1]), &options));
    assert!(err.starts_with("conv2d: stride (1, 0) has a zero"), "{err}");
}

#[test]
fn conv2d_rejects_a_zero_dilation() {
    let options = Conv2dOptions {
        dilation: (0, 1),
        ..Default::default()
    };
    let err =
        err_text(Tensor::zeros(&[1, 4, 4, 1]).conv2d(&Tensor::zeros(&[2, 2, 1, 1]), &options));
    assert!(
        err.starts_with("conv2d: dilation (0, 1) has a zero"),
        "{err}"
    );
}

#[test]
fn conv2d_rejects_a_kernel_larger_than_the_padded_input() {
    let err = err_text(
        Tensor::zeros(&[1, 2, 5, 1]).conv2d(&Tensor::zeros(&[3, 3, 1, 1]), &Default::default()),
    );
    assert!(
        err.starts_with("conv2d: the 3x3 window is larger than the 2x5 input padded to 2x5"),
        "{err}"
    );
}

#[test]
fn conv2d_rejects_a_dilated_kernel_larger_than_the_padded_input() {
    let options = Conv2dOptions {
        dilation: (3, 3),
        ..Default::default()
    };
    let err =
        err_text(Tensor::zeros(&[1, 6, 6, 1]).conv2d(&Tensor::zeros(&[3, 3, 1, 1]), &options));
    assert!(err.contains("spanning 7x7 with dilation (3, 3)"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Pooling: forward

#[test]
fn max_pool2d_with_overlapping_same_windows_matches_the_direct_loops() {
    let x = randn(&[2, 5, 6, 3], 20);
    let options = Pool2dOptions {
        window: (3, 3),
        stride: Some((2, 2)),
        padding: Padding::Same,
    };
    // Rows: 3 outputs need 2 * 2 + 3 - 5 = 2 padding (1, 1); columns: 3 need 1 (0, 1).
    let expected = reference_pool(&x, (3, 3), (2, 2), (1, 1, 0, 1), max_of);
    assert_close(&x.max_pool2d(&options).unwrap(), &expected);
}

#[test]
fn max_pool2d_defaults_to_non_overlapping_2x2_windows() {
    let x = randn(&[1, 5, 4, 2], 21);
    let expected = reference_pool(&x, (2, 2), (2, 2), (0, 0, 0, 0), max_of);
    assert_close(&x.max_pool2d(&Pool2dOptions::default()).unwrap(), &expected);
}

#[test]
fn max_pool2d_never_picks_a_padded_cell() {
    let x = Tensor::full(&[1, 3, 3, 1], -5.0);
    let options = Pool2dOptions {
        padding: Padding::Same,
        ..Default::default()
    };
    let y = x.max_pool2d(&options).unwrap();
    assert_eq!(y.to_vec(), vec![-5.0; 4]);
}

#[test]
fn avg_pool2d_with_same_padding_matches_the_direct_loops() {
    let x = randn(&[2, 5, 4, 2], 22);
    let options = Pool2dOptions {
        window: (3, 2),
        stride: Some((2, 1)),
        padding: Padding::Same,
    };
    // Rows: 3 outputs need 2 * 2 + 3 - 5 = 2 padding (1, 1); columns: 4 need 1 (0, 1).
    let expected = reference_pool(&x, (3, 2), (2, 1), (1, 1, 0, 1), mean_of);
    assert_close(&x.avg_pool2d(&options).unwrap(), &expected);
}

#[test]
fn avg_pool2d_leaves_padding_out_of_the_count() {
    let x = Tensor::full(&[1, 3, 3, 2], 2.0);
    let options = Pool2dOptions {
        window: (2, 2),
        stride: Some((1, 1)),
        padding: Padding::Same,
    };
    let y = x.avg_pool2d(&options).unwrap();
    assert_eq!(y.to_vec(), vec![2.0; 18]);
}

// ---------------------------------------------------------------------------------------------
// Pooling: gradients

#[test]
fn max_pool2d_gradients_match_finite_differences() {
    let options = Pool2dOptions {
        window: (3, 3),
        stride: Some((2, 2)),
        padding: Padding::Same,
    };
    assert_grads(|t| t[0].max_pool2d(&options), &[distinct(&[2, 5, 5, 2])]);
}

#[test]
fn max_pool2d_gradient_goes_to_the_first_of_tied_maxima() {
    let x = Tensor::ones(&[1, 2, 2, 1]).tracked();
    let params = TensorMap::new().with("x", x.clone());
    let loss = x.max_pool2d(&Pool2dOptions::default()).unwrap().sum_all();
    let grads = grad(&loss, &params).unwrap();
    assert_eq!(
        grads.require("x").unwrap().to_vec(),
        vec![1.0, 0.0, 0.0, 0.0]
    );
}

#[test]
fn avg_pool2d_gradients_match_finite_differences() {
    let options = Pool2dOptions {
        window: (3, 2),
        stride: Some((2, 1)),
        padding: Padding::Same,
    };
    assert_grads(|t| t[0].avg_pool2d(&options), &[randn(&[2, 5, 4, 2], 23)]);
}

// ---------------------------------------------------------------------------------------------
// Pooling: errors

#[test]
fn pools_reject_a_zero_window() {
    let options = Pool2dOptions {
        window: (0, 2),
        ..Default::default()
    };
    let err = err_text(Tensor::zeros(&[1, 4, 4, 1]).max_pool2d(&options));
    assert!(
        err.starts_with("max_pool2d: window (0, 2) has a zero"),
        "{err}"
    );
}

#[test]
fn pools_reject_a_zero_stride() {
    let options = Pool2dOptions {
        stride: Some((0, 0)),
        ..Default::default()
    };
    let err = err_text(Tensor::zeros(&[1, 4, 4, 1]).avg_pool2d(&options));
    assert!(
        err.starts_with("avg_pool2d: stride (0, 0) has a zero"),
        "{err}"
    );
}

#[test]
fn pools_reject_a_window_larger_than_the_input() {
    let options = Pool2dOptions {
        window: (3, 3),
        ..Default::default()
    };
    let err = err_text(Tensor::zeros(&[1, 2, 2, 1]).max_pool2d(&options));
    assert!(
        err.starts_with("max_pool2d: the 3x3 window is larger"),
        "{err}"
    );
}

#[test]
fn pools_reject_padding_as_wide_as_the_window() {
    let options = Pool2dOptions {
        padding: Padding::Explicit {
            top: 0,
            bottom: 0,
            left: 2,
            right: 0,
        },
        ..Default::default()
    };
    let err = err_text(Tensor::zeros(&[1, 4, 4, 1]).avg_pool2d(&options));
    assert!(err.contains("must be smaller than the 2x2 window"), "{err}");
}

#[test]
fn pools_reject_an_input_that_is_not_nhwc() {
    let err = err_text(Tensor::zeros(&[4, 4]).max_pool2d(&Pool2dOptions::default()));
    assert!(
        err.starts_with("max_pool2d: input of shape [4, 4] has 2 axes"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Dropout

#[test]
fn dropout_at_rate_0_is_the_identity() {
    let x = randn(&[3, 4], 30);
    assert_eq!(x.dropout(0.0, RngKey::new(0)).unwrap(), x);
}

#[test]
fn dropout_keeps_about_one_minus_rate_scaled_up_by_its_inverse() {
    let y = Tensor::ones(&[20_000])
        .dropout(0.3, RngKey::new(1))
        .unwrap();
    let kept: Vec<f32> = y.to_vec().into_iter().filter(|&v| v != 0.0).collect();
    let fraction = kept.len() as f32 / 20_000.0;
    assert!((fraction - 0.7).abs() < 0.02, "kept {fraction}");
    assert!(kept.iter().all(|&v| (v - 1.0 / 0.7).abs() < 1e-6));
}

#[test]
fn dropout_with_the_same_key_drops_the_same_elements() {
    let x = randn(&[50], 31);
    let (a, b) = RngKey::new(2).split();
    let first = x.dropout(0.5, a).unwrap();
    assert_eq!(first, x.dropout(0.5, a).unwrap());
    assert_ne!(first, x.dropout(0.5, b).unwrap());
}

#[test]
fn dropout_with_mask_scales_the_kept_elements() {
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let mask = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[2, 2]).unwrap();
    let y = x.dropout_with_mask(&mask, 0.75).unwrap();
    assert_eq!(y.to_vec(), vec![0.0, 8.0, 12.0, 0.0]);
}

#[test]
fn dropout_with_mask_gradients_match_finite_differences() {
    let mask = Tensor::bernoulli(&[3, 5], 0.6, RngKey::new(3));
    assert_grads(
        |t| t[0].dropout_with_mask(&mask, 0.4),
        &[randn(&[3, 5], 32)],
    );
}

#[test]
fn dropout_rejects_rates_outside_0_to_1() {
    let x = Tensor::ones(&[4]);
    for rate in [1.0, -0.1, f32::NAN] {
        let err = err_text(x.dropout(rate, RngKey::new(0)));
        assert!(
            err.starts_with(&format!("dropout: rate {rate} is outside [0, 1)")),
            "{err}"
        );
    }
}

#[test]
fn dropout_with_mask_rejects_a_mask_of_another_shape() {
    let err = err_text(Tensor::ones(&[2, 3]).dropout_with_mask(&Tensor::ones(&[3, 2]), 0.5));
    assert!(
        err.starts_with(
            "dropout_with_mask: mask of shape [3, 2] does not match input of shape [2, 3]"
        ),
        "{err}"
    );
}

#[test]
fn dropout_with_mask_rejects_values_other_than_0_and_1() {
    let err = err_text(Tensor::ones(&[2]).dropout_with_mask(&Tensor::full(&[2], 0.5), 0.5));
    assert!(
        err.starts_with("dropout_with_mask: mask holds 0.5"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// A small convolutional network, differentiated whole

/// conv -> bias -> relu -> max pool -> flatten -> dense -> log-softmax, and the mean negative
/// log-likelihood of `one_hot`'s classes (so the loss is `-mean(picked log-probabilities)`).
fn conv_net(images: &Tensor, one_hot: &Tensor, params: &[Tensor]) -> elegy::Result<Tensor> {
    let (kernel, bias, dense) = (&params[0], &params[1], &params[2]);
    let same = Conv2dOptions {
        padding: Padding::Same,
        ..Default::default()
    };
    let pool = Pool2dOptions {
        padding: Padding::Same,
        ..Default::default()
    };
    let n = images.shape()[0] as isize;
    let hidden = images.conv2d(kernel, &same)?.add(bias)?.relu();
    let features = hidden.max_pool2d(&pool)?.reshape(&[n, -1])?;
    let log_probs = features.matmul(dense)?.log_softmax(-1)?;
    Ok(log_probs.mul(one_hot)?.sum(&[-1], false)?.mean_all().neg())
}

#[test]
fn a_small_conv_net_has_gradients_that_match_finite_differences() {
    let images = uniform(&[2, 5, 5, 2], -1.0, 1.0, 40);
    let one_hot = Tensor::from_vec(vec![0.0, 1.0, 0.0, 0.0, 0.0, 1.0], &[2, 3]).unwrap();
    let kernel = uniform(&[3, 3, 2, 3], -0.6, 0.6, 41);
    let bias = away_from_zero(&[3], 0.1, 42).mul_scalar(0.2);
    // 5x5 pooled with Same 2x2 windows gives 3x3, times 3 channels.
    let dense = randn(&[27, 3], 43).mul_scalar(0.3);

    // The finite differences only hold away from relu's kink at 0. A step of 3e-3 in one
    // parameter (all below 1 in size) moves a pre-activation by at most 3e-3 (inputs below 1).
    let same = Conv2dOptions {
        padding: Padding::Same,
        ..Default::default()
    };
    let pre = images.conv2d(&kernel, &same).unwrap().add(&bias).unwrap();
    let closest = pre
        .to_vec()
        .iter()
        .map(|v| v.abs())
        .fold(f32::INFINITY, f32::min);
    assert!(
        closest > 3e-3,
        "a pre-activation lies {closest} from relu's kink"
    );

    assert_grads(
        |t| conv_net(&images, &one_hot, t),
        &[kernel.clone(), bias.clone(), dense.clone()],
    );
}
