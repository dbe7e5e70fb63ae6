//! `e^x` over a slice in vector code. The standard library's `exp` is a call per value that the
//! compiler cannot vectorize; softmax cross-entropy spent most of its time in it.

/// Replaces each value by `e^value`, within 1 unit in the last place of the true result
/// (checked once over every `f32` input; the tests sample the range), subnormal results
/// included; below half the smallest subnormal it gives 0, above `f32::MAX` infinity, and NaN
/// stays NaN.
pub(crate) fn exp_in_place(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F, as just checked.
        return unsafe { exp_avx512(values) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA, as just checked.
        return unsafe { exp_avx2(values) };
    }
    values.iter_mut().for_each(|v| *v = exp(*v));
}

/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn exp_avx512(values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = exp(*v));
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp_avx2(values: &mut [f32]) {
    values.iter_mut().for_each(|v| *v = exp(*v));
}

/// `e^x` as `2^n e^r` with `n = round(x / ln 2)` and `|r| <= ln(2) / 2`, `e^r` by Cephes'
/// polynomial for `expf`. Branch-free, so that a loop over it vectorizes.
#[inline(always)]
fn exp(x: f32) -> f32 {
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
