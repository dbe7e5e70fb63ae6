//! `e^x`, `tanh` and the logistic function in branch-free code that the compiler vectorizes.
//! The standard library's `exp` and `tanh` are a call per value that it cannot: softmax
//! cross-entropy spent most of its time in `exp`, and a dense layer's `tanh` took longer than its
//! product.

use super::cpu_features::in_wide_vectors;

/// Replaces each value by `e^value`, within 1 unit in the last place of the true result
/// (checked once over every `f32` input; the tests sample the range), subnormal results
/// included; below half the smallest subnormal it gives 0, above `f32::MAX` infinity, and NaN
/// stays NaN.
pub(crate) fn exp_in_place(values: &mut [f32]) {
    in_wide_vectors(|| values.iter_mut().for_each(|v| *v = exp(*v)));
}

/// `e^x` as `2^n e^r` with `n = round(x / ln 2)` and `|r| <= ln(2) / 2`, `e^r` by Cephes'
/// polynomial for `expf`; accurate as [`exp_in_place`] says. Branch-free, so that a loop over it
/// vectorizes.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 in two parts: n * LN2_HI is exact for the n that occur.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer without SSE4.1's round.
    const ROUND: f32 = 12_582_912.0;
    // Past these e^x rounds to infinity, or to zero (below half the smallest subnormal).
    const HIGH: f32 = 88.722_84;
    const LOW: f32 = -103.972_08;
    let clamped = x.clamp(LOW, HIGH);
    let rounded = clamped * LOG2_E + ROUND;
    let n = rounded - ROUND;
    let r = (clamped - n * LN2_HI) - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let er = p * r * r + r + 1.0;
    // 2^n for n in [-150, 128] as two factors, each a normal f32. n is read from the low bits
    // of `rounded` (1.5 * 2^23 + n), as `n as i32` saturates lane by lane instead of in vector
    // code.
    let n = (rounded.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let half = n >> 1;
    let scale = |k: i32| f32::from_bits((k.wrapping_add(127) as u32) << 23);
    let value = er * scale(half) * scale(n - half);
    if x > HIGH {
        f32::INFINITY
    } else if x < LOW {
        0.0
    } else {
        value
    }
}

/// The hyperbolic tangent, within 2 units in the last place: Cephes' odd polynomial for `tanhf`
/// below 0.625 in size, `1 - 2 / (e^2|x| + 1)` with the sign of `x` above. Branch-free.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    let size = x.abs();
    // e^2|x| overflows to infinity past 44, and the quotient then gives exactly 1.
    let large = 1.0 - 2.0 / (exp(size + size) + 1.0);
    let s = x * x;
    let small =
        ((((-5.704_988_7e-3 * s + 2.063_909e-2) * s - 5.373_971_6e-2) * s + 1.333_144_2e-1) * s
            - 3.333_328e-1)
            * s
            * x
            + x;
    // Both have the sign of x already, but for `small` at -0.
    if size >= 0.625 { large } else { small }.copysign(x)
}

/// The logistic function `1 / (1 + e^-x)`, from `e^-|x|` so that nothing overflows: that over
/// `1 + e^-|x|` for negative `x`; within 2 units in the last place. Branch-free (both quotients
/// are taken: multiplying by the reciprocal instead loses a third unit for some negative `x`).
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    let d = 1.0 + e;
    if x >= 0.0 { 1.0 / d } else { e / d }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn matches_the_standard_exp_within_one_ulp_over_the_normal_range() {
        let mut x: Vec<f32> = (0..=200_000)
            .map(|i| -87.3 + 176.0 * i as f32 / 200_000.0)
            .collect();
        x.extend([0.0, -0.0, 1.0, -1.0, 1e-8, -1e-8, 88.7, -87.33]);
        let mut y = x.clone();
        exp_in_place(&mut y);
        for (&x, &y) in x.iter().zip(&y) {
            let exact = (x as f64).exp() as f32;
            assert!(ulps(y, exact) <= 1, "exp({x}) = {y}, exact {exact}");
        }
    }

    #[test]
    fn tanh_and_sigmoid_match_the_f64_functions_within_a_few_ulps() {
        let mut worst = (0, 0);
        for i in 0..=400_000 {
            let x = -20.0 + 40.0 * i as f32 / 400_000.0;
            let exact_tanh = (x as f64).tanh() as f32;
            let exact_sigmoid = (1.0 / (1.0 + (-(x as f64)).exp())) as f32;
            worst.0 = worst.0.max(ulps(tanh(x), exact_tanh));
            worst.1 = worst.1.max(ulps(sigmoid(x), exact_sigmoid));
        }
        for x in [1e-30f32, -1e-30, 1e-8, 0.624_999_9, 0.625, -0.625, 3e-3] {
            worst.0 = worst.0.max(ulps(tanh(x), (x as f64).tanh() as f32));
        }
        // 3 ulps off when the negative branch multiplied by the reciprocal.
        let x = f32::from_bits(0xbf8c_a5af);
        let exact_sigmoid = (1.0 / (1.0 + (-(x as f64)).exp())) as f32;
        worst.1 = worst.1.max(ulps(sigmoid(x), exact_sigmoid));
        assert!(
            worst.0 <= 2 && worst.1 <= 2,
            "worst ulps: tanh {}, sigmoid {}",
            worst.0,
            worst.1
        );
    }

    #[test]
    fn tanh_and_sigmoid_saturate_and_keep_zero_and_nan() {
        assert_eq!((tanh(100.0), tanh(-100.0)), (1.0, -1.0));
        assert_eq!((tanh(f32::INFINITY), tanh(f32::NEG_INFINITY)), (1.0, -1.0));
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!((sigmoid(200.0), sigmoid(-200.0)), (1.0, 0.0));
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(-90.0) > 0.0, "e^-90 is a normal f32");
        assert!(tanh(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan());
    }

    #[test]
    fn saturates_to_zero_and_infinity_and_keeps_nan() {
        let mut y = [
            -1000.0,
            -104.0,
            89.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        exp_in_place(&mut y);
        assert_eq!(&y[..5], &[0.0, 0.0, f32::INFINITY, f32::INFINITY, 0.0]);
        assert!(y[5].is_nan());
    }

    #[test]
    fn subnormal_results_are_close_to_the_true_value() {
        for x in [-88.0f32, -95.0, -100.0, -103.0] {
            let mut y = [x];
            exp_in_place(&mut y);
            let exact = (x as f64).exp();
            assert!(
                ((y[0] as f64) - exact).abs() <= 2.0 * f64::from(f32::from_bits(1)),
                "exp({x}) = {}, exact {exact}",
                y[0]
            );
        }
    }

    #[test]
    fn the_portable_path_agrees_with_the_vector_path() {
        let x: Vec<f32> = (0..1000).map(|i| -50.0 + 0.1 * i as f32).collect();
        let mut vector = x.clone();
        exp_in_place(&mut vector);
        let portable: Vec<f32> = x.iter().map(|&v| exp(v)).collect();
        for ((a, b), x) in vector.iter().zip(&portable).zip(&x) {
            assert!(ulps(*a, *b) <= 1, "exp({x}): {a} vs {b}");
        }
    }
}
