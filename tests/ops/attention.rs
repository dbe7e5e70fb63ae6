//! Scaled dot-product attention: gradients against finite differences, values against a direct
//! loop over queries and keys, and masks.

use elegy::Tensor;

use crate::common::{assert_grads, randn};

/// Attention of one batch-free head by loops: `q [tq, d]`, `k [tk, d]`, `v [tk, dv]`, `keep(i, j)`.
fn by_hand(q: &Tensor, k: &Tensor, v: &Tensor, keep: impl Fn(usize, usize) -> bool) -> Vec<f32> {
    let (tq, d) = (q.shape()[0], q.shape()[1]);
    let (tk, dv) = (k.shape()[0], v.shape()[1]);
    let (q, k, v) = (q.to_vec(), k.to_vec(), v.to_vec());
    let mut out = vec![0.0f32; tq * dv];
    for i in 0..tq {
        let scores: Vec<f64> = (0..tk)
            .map(|j| {
                (0..d)
                    .map(|c| (q[i * d + c] * k[j * d + c]) as f64)
                    .sum::<f64>()
                    / (d as f64).sqrt()
            })
            .collect();
        let kept: Vec<usize> = (0..tk).filter(|&j| keep(i, j)).collect();
        let max = kept
            .iter()
            .map(|&j| scores[j])
            .fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = kept.iter().map(|&j| (scores[j] - max).exp()).sum();
        for &j in &kept {
            let w = (scores[j] - max).exp() / total;
            for c in 0..dv {
                out[i * dv + c] += (w * v[j * dv + c] as f64) as f32;
            }
        }
    }
    out
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
}

#[test]
fn attention_matches_a_loop_over_queries_and_keys() {
    let (q, k, v) = (randn(&[3, 4], 1), randn(&[5, 4], 2), randn(&[5, 2], 3));
    let out = Tensor::scaled_dot_product_attention(&q, &k, &v, None, false).unwrap();
    assert_eq!(out.shape(), [3, 2]);
    assert!(close(&out.to_vec(), &by_hand(&q, &k, &v, |_, _| true)));
    let causal = Tensor::scaled_dot_product_attention(&q, &k, &v, None, true).unwrap();
    assert!(close(&causal.to_vec(), &by_hand(&q, &k, &v, |i, j| j <= i)));
    let mask = Tensor::from_vec(
        (0..15)
            .map(|i| if i % 4 == 1 { 0.0 } else { 1.0 })
            .collect(),
        &[3, 5],
    )
    .unwrap();
    let masked = Tensor::scaled_dot_product_attention(&q, &k, &v, Some(&mask), true).unwrap();
    let keep = |i: usize, j: usize| j <= i && (i * 5 + j) % 4 != 1;
    assert!(close(&masked.to_vec(), &by_hand(&q, &k, &v, keep)));
}

#[test]
fn attention_matches_finite_differences_in_query_key_and_value() {
    let mask = Tensor::from_vec(vec![1.0, 1.0, 0.0, 1.0, 0.0, 1.0], &[1, 2, 3]).unwrap();
    assert_grads(
        |t| Tensor::scaled_dot_product_attention(&t[0], &t[1], &t[2], Some(&mask), false),
        &[
            randn(&[2, 2, 4], 4),
            randn(&[2, 3, 4], 5),
            randn(&[2, 3, 2], 6),
        ],
    );
    assert_grads(
        |t| Tensor::scaled_dot_product_attention(&t[0], &t[1], &t[2], None, true),
        &[
            randn(&[2, 3, 3], 7),
            randn(&[2, 3, 3], 8),
            randn(&[2, 3, 2], 9),
        ],
    );
}

#[test]
fn a_query_with_every_key_masked_attends_to_nothing_and_stays_finite() {
    let (q, k, v) = (randn(&[2, 2], 10), randn(&[3, 2], 11), randn(&[3, 2], 12));
    let mask = Tensor::from_vec(vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[2, 3]).unwrap();
    let out = Tensor::scaled_dot_product_attention(&q, &k, &v, Some(&mask), false)
        .unwrap()
        .to_vec();
    assert_eq!(&out[..2], &[0.0, 0.0]);
    assert!(out.iter().all(|x| x.is_finite()));
}

#[test]
fn attention_of_misfit_shapes_is_an_error_naming_them() {
    let err = Tensor::scaled_dot_product_attention(
        &randn(&[2, 4], 1),
        &randn(&[3, 5], 2),
        &randn(&[3, 2], 3),
        None,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("[2, 4]") && err.contains("[3, 5]"), "{err}");
}
