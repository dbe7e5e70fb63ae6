//! Movement ops: reshape, permute, transpose, broadcast_to, slice, concat, stack, unsqueeze,
//! squeeze, flatten. Forward values, views, gradients, properties and errors.

use elegy::{Result, Tensor, TensorMap};
use proptest::prelude::*;

use crate::common::{assert_grads, randn};

/// `0, 1, 2, ...` in `shape`.
fn counting(shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::arange(n)
        .reshape(&shape.iter().map(|&d| d as isize).collect::<Vec<_>>())
        .expect("same element count")
}

fn t(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).expect("values fill the shape")
}

/// The error message of a call that must fail.
fn message(result: Result<Tensor>) -> String {
    result
        .expect_err("the op must reject its input")
        .to_string()
}

/// A row-major copy with the same values, to compare a view against.
fn copy(x: &Tensor) -> Tensor {
    t(&x.to_vec(), x.shape())
}

/// Whether `a` and `b` start at the same element of the same storage (no copy was made).
fn same_storage(a: &Tensor, b: &Tensor) -> bool {
    std::ptr::eq(a.array().as_ptr(), b.array().as_ptr())
}

// ---- forward values ----

#[test]
fn permute_moves_axis_i_of_the_result_from_axes_i_of_the_input() {
    // out[k, i, j] = x[i, j, k] = 4i + 2j + k
    let out = counting(&[2, 2, 2]).permute(&[2, 0, 1]).unwrap();
    assert_eq!(out.to_vec(), vec![0., 2., 4., 6., 1., 3., 5., 7.]);
}

#[test]
fn permute_changes_the_shape_accordingly() {
    let out = Tensor::zeros(&[2, 3, 4, 5]).permute(&[0, 3, 1, 2]).unwrap();
    assert_eq!(out.shape(), &[2, 5, 3, 4]);
}

#[test]
fn transpose_swaps_the_last_two_axes_of_each_batch_entry() {
    let out = counting(&[2, 2, 3]).transpose().unwrap();
    assert_eq!(out.shape(), &[2, 3, 2]);
    assert_eq!(
        out.to_vec(),
        vec![0., 3., 1., 4., 2., 5., 6., 9., 7., 10., 8., 11.]
    );
}

#[test]
fn broadcast_to_repeats_a_row_down_new_leading_axes() {
    let out = t(&[1., 2., 3.], &[3]).broadcast_to(&[2, 3]).unwrap();
    assert_eq!(out.to_vec(), vec![1., 2., 3., 1., 2., 3.]);
}

#[test]
fn broadcast_to_stretches_axes_of_size_one() {
    let out = t(&[1., 2.], &[2, 1]).broadcast_to(&[2, 3]).unwrap();
    assert_eq!(out.to_vec(), vec![1., 1., 1., 2., 2., 2.]);
}

#[test]
fn broadcast_to_fills_a_shape_from_a_scalar() {
    let out = Tensor::scalar(7.0).broadcast_to(&[2, 2]).unwrap();
    assert_eq!(out.to_vec(), vec![7.0; 4]);
}

#[test]
fn slice_takes_a_half_open_range_along_the_first_axis() {
    let out = counting(&[4, 2]).slice(0, 1, 3).unwrap();
    assert_eq!(out.shape(), &[2, 2]);
    assert_eq!(out.to_vec(), vec![2., 3., 4., 5.]);
}

#[test]
fn slice_takes_a_range_along_an_inner_axis_counted_from_the_end() {
    let out = counting(&[2, 4]).slice(-1, 2, 4).unwrap();
    assert_eq!(out.to_vec(), vec![2., 3., 6., 7.]);
}

#[test]
fn slice_with_equal_bounds_is_empty() {
    assert_eq!(counting(&[3, 2]).slice(0, 2, 2).unwrap().shape(), &[0, 2]);
}

#[test]
fn concat_joins_along_the_first_axis() {
    let out = Tensor::concat(&[counting(&[1, 2]), t(&[9., 9., 8., 8.], &[2, 2])], 0).unwrap();
    assert_eq!(out.shape(), &[3, 2]);
    assert_eq!(out.to_vec(), vec![0., 1., 9., 9., 8., 8.]);
}

#[test]
fn concat_joins_along_the_last_axis() {
    let out = Tensor::concat(&[counting(&[2, 2]), t(&[9., 8.], &[2, 1])], -1).unwrap();
    assert_eq!(out.to_vec(), vec![0., 1., 9., 2., 3., 8.]);
}

#[test]
fn stack_adds_a_leading_axis() {
    let out = Tensor::stack(&[t(&[1., 2.], &[2]), t(&[3., 4.], &[2])], 0).unwrap();
    assert_eq!(out.shape(), &[2, 2]);
    assert_eq!(out.to_vec(), vec![1., 2., 3., 4.]);
}

#[test]
fn stack_on_axis_minus_one_adds_a_trailing_axis() {
    let out = Tensor::stack(&[t(&[1., 2.], &[2]), t(&[3., 4.], &[2])], -1).unwrap();
    assert_eq!(out.shape(), &[2, 2]);
    assert_eq!(out.to_vec(), vec![1., 3., 2., 4.]);
}

#[test]
fn unsqueeze_inserts_an_axis_of_size_one() {
    let x = counting(&[2, 3]);
    assert_eq!(x.unsqueeze(0).unwrap().shape(), &[1, 2, 3]);
    assert_eq!(x.unsqueeze(1).unwrap().shape(), &[2, 1, 3]);
    assert_eq!(x.unsqueeze(-1).unwrap().shape(), &[2, 3, 1]);
    assert_eq!(x.unsqueeze(1).unwrap().to_vec(), x.to_vec());
}

#[test]
fn squeeze_removes_an_axis_of_size_one() {
    let out = counting(&[2, 1, 3]).squeeze(1).unwrap();
    assert_eq!(out.shape(), &[2, 3]);
    assert_eq!(out.to_vec(), counting(&[2, 3]).to_vec());
}

#[test]
fn flatten_keeps_the_batch_axis_and_merges_the_rest() {
    let out = counting(&[2, 3, 2]).flatten().unwrap();
    assert_eq!(out.shape(), &[2, 6]);
    assert_eq!(out.to_vec(), counting(&[2, 6]).to_vec());
}

#[test]
fn flatten_makes_a_vector_a_column() {
    assert_eq!(counting(&[3]).flatten().unwrap().shape(), &[3, 1]);
}

#[test]
fn flatten_keeps_an_empty_batch() {
    assert_eq!(
        Tensor::zeros(&[0, 3, 4]).flatten().unwrap().shape(),
        &[0, 12]
    );
}

#[test]
fn flatten_of_a_permuted_view_follows_the_logical_order() {
    // [2, 2, 2] permuted to out[k, i, j] = 4i + 2j + k, then rows k.
    let out = counting(&[2, 2, 2]).permute(&[2, 0, 1]).unwrap();
    assert_eq!(
        out.flatten().unwrap().to_vec(),
        vec![0., 2., 4., 6., 1., 3., 5., 7.]
    );
}

// ---- storage and layout ----

#[test]
fn row_major_windows_of_the_input_share_its_storage() {
    let x = counting(&[2, 1, 3]);
    assert!(same_storage(&x, &x.slice(0, 0, 1).unwrap()));
    assert!(same_storage(&x, &x.unsqueeze(0).unwrap()));
    assert!(same_storage(&x, &x.squeeze(1).unwrap()));
    assert!(same_storage(&x, &x.reshape(&[3, 2]).unwrap()));
    assert!(same_storage(&x, &x.flatten().unwrap()));
}

#[test]
fn results_are_row_major_even_when_their_strides_would_not_be() {
    let x = counting(&[2, 3, 4]);
    let results = [
        x.permute(&[2, 0, 1]).unwrap(),
        x.transpose().unwrap(),
        x.slice(-1, 1, 3).unwrap(),
        x.transpose().unwrap().unsqueeze(0).unwrap(),
        Tensor::concat(&[x.clone(), x.clone()], 2).unwrap(),
        Tensor::stack(&[x.clone(), x.clone()], -1).unwrap(),
        x.slice(0, 0, 1)
            .unwrap()
            .broadcast_to(&[3, 2, 3, 4])
            .unwrap(),
    ];
    for result in &results {
        assert!(result.array().is_standard_layout(), "{:?}", result.shape());
    }
}

#[test]
fn movement_results_work_in_other_ops_like_fresh_tensors() {
    let x = randn(&[2, 3, 4], 1);
    let moved = [
        x.permute(&[2, 0, 1]).unwrap(),
        x.transpose().unwrap(),
        x.slice(-1, 1, 3).unwrap(),
        x.permute(&[1, 0, 2]).unwrap().slice(0, 1, 3).unwrap(),
    ];
    type Op = fn(&Tensor) -> Result<Tensor>;
    let ops: [(&str, Op); 8] = [
        ("reshape", |v| v.reshape(&[-1])),
        ("flatten", |v| v.flatten()),
        ("sum", |v| v.sum(&[1], false)),
        ("max", |v| v.max(&[0, 2], false)),
        ("softmax", |v| v.softmax(1)),
        ("logsumexp", |v| v.logsumexp(&[-1], false)),
        ("add", |v| v.add(&v.exp())),
        ("batched matmul", |v| v.matmul(&v.transpose()?)),
    ];
    for m in &moved {
        for (name, op) in &ops {
            assert_eq!(
                op(m).unwrap(),
                op(&copy(m)).unwrap(),
                "{name} of a result of shape {:?}",
                m.shape()
            );
        }
    }
}

// ---- gradients ----

#[test]
fn permute_gradient_matches_finite_differences() {
    assert_grads(|x| x[0].permute(&[2, 0, 1]), &[randn(&[2, 3, 4], 1)]);
    assert_grads(|x| x[0].permute(&[1, 0]), &[randn(&[3, 2], 2)]);
}

#[test]
fn transpose_gradient_matches_finite_differences() {
    assert_grads(|x| x[0].transpose(), &[randn(&[2, 3], 3)]);
    assert_grads(|x| x[0].transpose(), &[randn(&[2, 3, 4], 4)]);
}

#[test]
fn broadcast_to_gradient_sums_over_the_repeated_axes() {
    assert_grads(|x| x[0].broadcast_to(&[2, 3]), &[randn(&[3], 5)]);
    assert_grads(
        |x| x[0].broadcast_to(&[4, 2, 5, 3]),
        &[randn(&[2, 1, 3], 6)],
    );
    assert_grads(|x| x[0].broadcast_to(&[2, 3]), &[randn(&[], 7)]);
}

#[test]
fn slice_gradient_matches_finite_differences() {
    assert_grads(|x| x[0].slice(0, 1, 3), &[randn(&[4, 2], 8)]);
    assert_grads(|x| x[0].slice(-1, 0, 2), &[randn(&[2, 3, 3], 9)]);
}

#[test]
fn concat_gradient_splits_back_to_each_input() {
    let inputs = [randn(&[2, 1], 10), randn(&[2, 3], 11), randn(&[2, 2], 12)];
    assert_grads(|x| Tensor::concat(x, 1), &inputs);
    assert_grads(
        |x| Tensor::concat(x, 0),
        &[randn(&[1, 3], 13), randn(&[2, 3], 14)],
    );
}

#[test]
fn concat_passes_gradient_only_to_tracked_inputs() {
    let params = TensorMap::new().with("w", t(&[1., 2.], &[2]));
    let (_, grads) = elegy::value_and_grad(&params, |p| {
        let joined = Tensor::concat(&[Tensor::ones(&[3]), p.require("w")?.clone()], 0)?;
        Ok(joined.mul(&t(&[1., 2., 3., 4., 5.], &[5]))?.sum_all())
    })
    .unwrap();
    assert_eq!(grads.require("w").unwrap().to_vec(), vec![4., 5.]);
}

#[test]
fn stack_gradient_splits_back_to_each_input() {
    let inputs = [randn(&[2, 3], 15), randn(&[2, 3], 16)];
    assert_grads(|x| Tensor::stack(x, 0), &inputs);
    assert_grads(|x| Tensor::stack(x, -1), &inputs);
}

#[test]
fn unsqueeze_squeeze_and_flatten_gradients_match_finite_differences() {
    assert_grads(|x| x[0].unsqueeze(1), &[randn(&[2, 3], 17)]);
    assert_grads(|x| x[0].squeeze(-1), &[randn(&[3, 1], 18)]);
    assert_grads(|x| x[0].flatten(), &[randn(&[2, 2, 3], 19)]);
}

#[test]
fn gradients_flow_through_chains_of_views() {
    assert_grads(
        |x| {
            x[0].permute(&[2, 0, 1])?
                .slice(1, 0, 1)?
                .flatten()?
                .tanh()
                .matmul(&x[1])
        },
        &[randn(&[2, 3, 4], 20), randn(&[3, 2], 21)],
    );
}

// ---- properties ----

/// A small shape: 1 to 4 axes of sizes 1 to 3.
fn small_shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=3, 1..=4)
}

/// A small shape and a permutation of its axes.
fn shape_and_permutation() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    small_shape().prop_flat_map(|shape| {
        let axes: Vec<usize> = (0..shape.len()).collect();
        (Just(shape), Just(axes).prop_shuffle())
    })
}

/// A target shape and a shape that broadcasts to it (leading axes dropped, some set to 1).
fn broadcastable() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    small_shape().prop_flat_map(|target| {
        let n = target.len();
        (Just(target), 0..=n, prop::collection::vec(any::<bool>(), n)).prop_map(
            |(target, dropped, ones)| {
                let source = (dropped..target.len())
                    .map(|a| if ones[a] { 1 } else { target[a] })
                    .collect();
                (target, source)
            },
        )
    })
}

fn inverse(axes: &[usize]) -> Vec<usize> {
    let mut inverse = vec![0; axes.len()];
    for (i, &a) in axes.iter().enumerate() {
        inverse[a] = i;
    }
    inverse
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn permute_then_inverse_permute_is_the_identity((shape, axes) in shape_and_permutation()) {
        let x = counting(&shape);
        let back = x.permute(&axes).unwrap().permute(&inverse(&axes)).unwrap();
        prop_assert_eq!(back, x);
    }

    #[test]
    fn concat_then_slice_recovers_the_parts(
        shape in small_shape(),
        axis_pick in 0usize..4,
        sizes in prop::collection::vec(0usize..=3, 1..=3),
    ) {
        let axis = axis_pick % shape.len();
        let parts: Vec<Tensor> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let mut part_shape = shape.clone();
                part_shape[axis] = size;
                counting(&part_shape) * (i as f32 + 1.0)
            })
            .collect();
        let joined = Tensor::concat(&parts, axis as isize).unwrap();
        let mut start = 0;
        for part in &parts {
            let end = start + part.shape()[axis];
            prop_assert_eq!(&joined.slice(axis as isize, start, end).unwrap(), part);
            start = end;
        }
        prop_assert_eq!(start, joined.shape()[axis]);
    }

    #[test]
    fn reshape_round_trip_restores_the_tensor((shape, axes) in shape_and_permutation()) {
        // Through a permuted view too, so that both the shared and the copying paths run.
        let x = counting(&shape).permute(&axes).unwrap();
        let back: Vec<isize> = x.shape().iter().map(|&d| d as isize).collect();
        prop_assert_eq!(x.reshape(&[-1]).unwrap().reshape(&back).unwrap(), x.clone());
        prop_assert_eq!(x.flatten().unwrap().reshape(&back).unwrap(), x);
    }

    #[test]
    fn stack_then_index_recovers_the_parts(shape in small_shape(), axis_pick in 0usize..5) {
        let axis = axis_pick % (shape.len() + 1);
        let parts = [counting(&shape), counting(&shape) * -1.0];
        let stacked = Tensor::stack(&parts, axis as isize).unwrap();
        for (i, part) in parts.iter().enumerate() {
            let picked = stacked.slice(axis as isize, i, i + 1).unwrap().squeeze(axis as isize);
            prop_assert_eq!(&picked.unwrap(), part);
        }
    }

    #[test]
    fn permute_gradient_holds_on_small_shapes((shape, axes) in shape_and_permutation()) {
        assert_grads(|x| x[0].permute(&axes), &[randn(&shape, 22)]);
    }

    #[test]
    fn broadcast_to_gradient_holds_on_small_shapes((target, source) in broadcastable()) {
        assert_grads(|x| x[0].broadcast_to(&target), &[randn(&source, 23)]);
    }
}

// ---- errors ----

#[test]
fn reshape_rejects_a_different_element_count() {
    let err = message(Tensor::zeros(&[2, 3]).reshape(&[4, 2]));
    assert!(err.starts_with("reshape: cannot reshape [2, 3]"), "{err}");
}

#[test]
fn permute_rejects_axes_that_are_not_a_permutation() {
    let x = Tensor::zeros(&[2, 3, 4]);
    for axes in [&[0, 1][..], &[0, 1, 1], &[0, 1, 3]] {
        let err = message(x.permute(axes));
        assert!(err.starts_with("permute: axes"), "{err}");
        assert!(err.contains("not a permutation of 0..3"), "{err}");
    }
}

#[test]
fn transpose_rejects_a_vector() {
    let err = message(Tensor::zeros(&[3]).transpose());
    assert!(
        err.starts_with("transpose: needs at least 2 axes, got shape [3]"),
        "{err}"
    );
}

#[test]
fn broadcast_to_rejects_a_mismatched_axis() {
    let err = message(Tensor::zeros(&[2, 3]).broadcast_to(&[4, 3]));
    assert!(
        err.starts_with("broadcast_to: cannot broadcast shape [2, 3] to [4, 3]: axis 0 has size 2"),
        "{err}"
    );
}

#[test]
fn broadcast_to_rejects_a_target_with_fewer_axes() {
    let err = message(Tensor::zeros(&[1, 3]).broadcast_to(&[3]));
    assert!(
        err.starts_with("broadcast_to: cannot broadcast shape [1, 3] to [3]"),
        "{err}"
    );
    assert!(err.contains("fewer"), "{err}");
}

#[test]
fn slice_rejects_a_range_past_the_end() {
    let err = message(Tensor::zeros(&[2, 3]).slice(1, 1, 4));
    assert!(
        err.starts_with("slice: range 1..4 does not fit axis 1 of size 3"),
        "{err}"
    );
}

#[test]
fn slice_rejects_a_reversed_range() {
    let err = message(Tensor::zeros(&[5]).slice(0, 3, 1));
    assert!(err.starts_with("slice: range 3..1"), "{err}");
}

#[test]
fn slice_rejects_an_axis_out_of_range() {
    let err = message(Tensor::zeros(&[2, 3]).slice(2, 0, 1));
    assert!(err.starts_with("slice: axis 2 is out of range"), "{err}");
}

#[test]
fn concat_rejects_an_empty_list() {
    let err = message(Tensor::concat(&[], 0));
    assert!(err.starts_with("concat: got no tensors"), "{err}");
}

#[test]
fn concat_names_the_tensor_whose_shape_differs() {
    let parts = [
        Tensor::zeros(&[2, 3]),
        Tensor::zeros(&[2, 1]),
        Tensor::zeros(&[3, 3]),
    ];
    let err = message(Tensor::concat(&parts, 1));
    assert!(
        err.starts_with("concat: tensor 2 has shape [3, 3] but tensor 0 has shape [2, 3]"),
        "{err}"
    );
}

#[test]
fn concat_rejects_tensors_with_different_axis_counts() {
    let err = message(Tensor::concat(
        &[Tensor::zeros(&[2, 3]), Tensor::zeros(&[2, 3, 1])],
        0,
    ));
    assert!(
        err.starts_with("concat: tensor 1 has shape [2, 3, 1]"),
        "{err}"
    );
}

#[test]
fn concat_rejects_an_axis_out_of_range() {
    let err = message(Tensor::concat(&[Tensor::zeros(&[2])], 1));
    assert!(err.starts_with("concat: axis 1 is out of range"), "{err}");
}

#[test]
fn stack_rejects_an_empty_list() {
    let err = message(Tensor::stack(&[], 0));
    assert!(err.starts_with("stack: got no tensors"), "{err}");
}

#[test]
fn stack_names_the_tensor_whose_shape_differs() {
    let err = message(Tensor::stack(
        &[Tensor::zeros(&[2]), Tensor::zeros(&[3])],
        0,
    ));
    assert!(
        err.starts_with("stack: tensor 1 has shape [3] but tensor 0 has shape [2]"),
        "{err}"
    );
}

#[test]
fn unsqueeze_rejects_an_axis_out_of_range() {
    let err = message(Tensor::zeros(&[2, 3]).unsqueeze(4));
    assert!(
        err.starts_with("unsqueeze: axis 4 is out of range"),
        "{err}"
    );
}

#[test]
fn squeeze_rejects_an_axis_larger_than_one() {
    let err = message(Tensor::zeros(&[2, 3]).squeeze(1));
    assert!(
        err.starts_with("squeeze: axis 1 of shape [2, 3] has size 3, not 1"),
        "{err}"
    );
}

#[test]
fn flatten_rejects_a_scalar() {
    let err = message(Tensor::scalar(1.0).flatten());
    assert!(err.starts_with("flatten: needs at least 1 axis"), "{err}");
}

#[test]
fn shapes_too_large_for_memory_are_errors_not_panics() {
    let x = Tensor::zeros(&[2, 3]);
    let huge = [usize::MAX / 2, 4];
    assert!(x.reshape(&[isize::MAX, 2, 0]).is_err());
    assert!(x.reshape(&[isize::MAX, 4]).is_err());
    assert!(Tensor::scalar(1.0).broadcast_to(&huge).is_err());
    assert!(Tensor::from_vec(vec![], &huge).is_err());
    assert!(Tensor::from_vec(vec![1.0], &[usize::MAX, 2, 0]).is_err());
}
