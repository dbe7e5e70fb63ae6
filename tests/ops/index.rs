//! Indexing ops: index_select, take, gather, where_cond, one_hot and the comparison masks.
//! Forward values, gradients (repeated indices accumulate), properties and errors.

use elegy::{Result, Tensor, TensorMap};
use proptest::prelude::*;

use crate::common::{assert_grads, away_from_zero, randn, uniform};

fn t(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).expect("values fill the shape")
}

/// `0, 1, 2, ...` in `shape`.
fn counting(shape: &[usize]) -> Tensor {
    t(
        &(0..shape.iter().product::<usize>())
            .map(|i| i as f32)
            .collect::<Vec<_>>(),
        shape,
    )
}

/// The error message of a call that must fail.
fn message(result: Result<Tensor>) -> String {
    result
        .expect_err("the op must reject its input")
        .to_string()
}

/// The gradient of `sum(f(x))` with respect to `x`.
fn grad_of_sum(x: &Tensor, f: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let params = TensorMap::new().with("x", x.clone());
    let (_, grads) = elegy::value_and_grad(&params, |p| Ok(f(p.require("x")?)?.sum_all()))?;
    Ok(grads.require("x")?.clone())
}

// ---- index_select ----

#[test]
fn index_select_picks_rows_in_the_given_order_with_repeats() {
    let out = counting(&[3, 2]).index_select(0, &[2, 0, 2]).unwrap();
    assert_eq!(out.shape(), &[3, 2]);
    assert_eq!(out.to_vec(), vec![4., 5., 0., 1., 4., 5.]);
}

#[test]
fn index_select_picks_columns_along_a_negative_axis() {
    let out = counting(&[2, 3]).index_select(-1, &[1, 1, 0]).unwrap();
    assert_eq!(out.to_vec(), vec![1., 1., 0., 4., 4., 3.]);
}

#[test]
fn index_select_with_no_indices_empties_the_axis() {
    assert_eq!(
        counting(&[2, 3]).index_select(1, &[]).unwrap().shape(),
        &[2, 0]
    );
}

#[test]
fn index_select_gradient_matches_finite_differences() {
    assert_grads(|x| x[0].index_select(0, &[2, 0, 2]), &[randn(&[3, 2], 1)]);
    assert_grads(
        |x| x[0].index_select(-1, &[1, 3, 1, 1]),
        &[randn(&[2, 2, 4], 2)],
    );
}

#[test]
fn index_select_accumulates_the_gradient_of_repeated_indices() {
    let g = grad_of_sum(&counting(&[3, 2]), |x| x.index_select(0, &[1, 1, 1, 2])).unwrap();
    assert_eq!(g.to_vec(), vec![0., 0., 3., 3., 1., 1.]);
}

// ---- take ----

#[test]
fn take_looks_up_one_row_per_index() {
    let table = counting(&[4, 2]);
    let out = table.take(&Tensor::from(vec![3u32, 0, 3])).unwrap();
    assert_eq!(out.shape(), &[3, 2]);
    assert_eq!(out.to_vec(), vec![6., 7., 0., 1., 6., 7.]);
}

#[test]
fn take_output_shape_is_the_indices_shape_then_the_row_shape() {
    let table = counting(&[5, 2, 3]);
    let tokens = t(&[0., 4., 1., 1., 2., 3.], &[2, 3]);
    assert_eq!(table.take(&tokens).unwrap().shape(), &[2, 3, 2, 3]);
}

#[test]
fn take_with_a_scalar_index_returns_one_row() {
    let out = counting(&[3, 2]).take(&Tensor::scalar(1.0)).unwrap();
    assert_eq!(out.shape(), &[2]);
    assert_eq!(out.to_vec(), vec![2., 3.]);
}

#[test]
fn take_from_a_vector_returns_entries() {
    let out = t(&[10., 20., 30.], &[3])
        .take(&t(&[2., 0., 2., 1.], &[2, 2]))
        .unwrap();
    assert_eq!(out.shape(), &[2, 2]);
    assert_eq!(out.to_vec(), vec![30., 10., 30., 20.]);
}

#[test]
fn take_gradient_matches_finite_differences() {
    let tokens = t(&[0., 3., 1., 3., 3., 2.], &[2, 3]);
    assert_grads(|x| x[0].take(&tokens), &[randn(&[4, 2], 3)]);
    assert_grads(|x| x[0].take(&tokens), &[randn(&[4], 4)]);
}

#[test]
fn take_accumulates_the_gradient_of_repeated_indices() {
    let tokens = t(&[2., 2., 0., 2.], &[2, 2]);
    let g = grad_of_sum(&counting(&[3, 2]), |x| x.take(&tokens)).unwrap();
    assert_eq!(g.to_vec(), vec![1., 1., 0., 0., 3., 3.]);
}

#[test]
fn take_passes_no_gradient_to_tracked_indices() {
    let indices = t(&[1., 0.], &[2]).tracked();
    let out = counting(&[2, 2]).take(&indices).unwrap();
    assert!(!out.is_tracked());
}

// ---- gather ----

#[test]
fn gather_picks_each_rows_entry_at_its_label() {
    let logp = counting(&[3, 4]);
    let labels = Tensor::from(vec![3u8, 0, 2]);
    let out = logp.gather(1, &labels.reshape(&[-1, 1]).unwrap()).unwrap();
    assert_eq!(out.shape(), &[3, 1]);
    assert_eq!(out.to_vec(), vec![3., 4., 10.]);
}

#[test]
fn gather_along_axis_zero_picks_a_row_per_column() {
    // out[i][j] = x[index[i][j]][j]
    let out = counting(&[3, 2])
        .gather(0, &t(&[2., 0., 1., 1., 0., 2.], &[3, 2]))
        .unwrap();
    assert_eq!(out.to_vec(), vec![4., 1., 2., 3., 0., 5.]);
}

#[test]
fn gather_output_takes_the_index_shape_along_the_gathered_axis() {
    let out = counting(&[2, 3, 2])
        .gather(
            1,
            &t(
                &[0., 2., 2., 1., 1., 1., 0., 0., 2., 1., 0., 2.],
                &[2, 3, 2],
            )
            .slice(1, 0, 2)
            .unwrap(),
        )
        .unwrap();
    // out[a][b][c] = x[a][index[a][b][c]][c] = 6a + 2 index + c
    assert_eq!(out.shape(), &[2, 2, 2]);
    assert_eq!(out.to_vec(), vec![0., 5., 4., 3., 6., 7., 10., 9.]);
}

#[test]
fn gather_gradient_matches_finite_differences() {
    let index = t(&[2., 0., 2., 1., 1., 1.], &[3, 2]);
    assert_grads(|x| x[0].gather(0, &index), &[randn(&[3, 2], 5)]);
    assert_grads(
        |x| x[0].gather(1, &index.transpose()?),
        &[randn(&[2, 4], 6)],
    );
}

#[test]
fn gather_accumulates_the_gradient_of_repeated_indices() {
    let g = grad_of_sum(&counting(&[2, 3]), |x| {
        x.gather(1, &t(&[1., 1., 1., 0., 2., 0.], &[2, 3]))
    })
    .unwrap();
    assert_eq!(g.to_vec(), vec![0., 3., 0., 2., 0., 1.]);
}

// ---- where_cond ----

#[test]
fn where_cond_takes_on_true_where_the_mask_is_nonzero() {
    let mask = t(&[1., 0., -2., 0.], &[4]);
    let out = Tensor::where_cond(&mask, &t(&[1., 2., 3., 4.], &[4]), &Tensor::zeros(&[4])).unwrap();
    assert_eq!(out.to_vec(), vec![1., 0., 3., 0.]);
}

#[test]
fn where_cond_broadcasts_all_three_together() {
    let mask = t(&[1., 0.], &[2, 1]);
    let on_true = t(&[1., 2., 3.], &[3]);
    let out = Tensor::where_cond(&mask, &on_true, &Tensor::scalar(-1.0)).unwrap();
    assert_eq!(out.shape(), &[2, 3]);
    assert_eq!(out.to_vec(), vec![1., 2., 3., -1., -1., -1.]);
}

#[test]
fn where_cond_gradient_matches_finite_differences_on_equal_shapes() {
    let mask = t(&[1., 0., 0., 1., 1., 0.], &[2, 3]);
    assert_grads(
        |x| Tensor::where_cond(&mask, &x[0], &x[1]),
        &[randn(&[2, 3], 7), randn(&[2, 3], 8)],
    );
}

#[test]
fn where_cond_gradient_sums_back_to_broadcast_shapes() {
    let mask = Tensor::bernoulli(&[2, 1, 3], 0.5, elegy::RngKey::new(9));
    assert_grads(
        |x| Tensor::where_cond(&mask, &x[0], &x[1]),
        &[randn(&[3], 10), randn(&[4, 1], 11)],
    );
}

#[test]
fn where_cond_of_a_comparison_differentiates_a_piecewise_function() {
    // A leaky relu written with a mask: inputs away from the kink at 0.
    assert_grads(
        |x| Tensor::where_cond(&x[0].gt(&Tensor::scalar(0.0))?, &x[0], &(&x[0] * 0.1)),
        &[away_from_zero(&[3, 4], 0.1, 12)],
    );
}

#[test]
fn where_cond_sends_each_gradient_only_where_its_branch_was_taken() {
    let mask = t(&[1., 0., 1.], &[3]);
    let on_false = Tensor::zeros(&[3]);
    let g = grad_of_sum(&Tensor::scalar(5.0), |x| {
        Tensor::where_cond(&mask, x, &on_false)
    })
    .unwrap();
    assert_eq!(g.to_vec(), vec![2.0]);
}

#[test]
fn where_cond_passes_no_gradient_to_the_mask() {
    let g = grad_of_sum(&t(&[1., 0.], &[2]), |mask| {
        Tensor::where_cond(mask, &Tensor::ones(&[2]), &Tensor::zeros(&[2]))
    })
    .unwrap();
    assert_eq!(g.to_vec(), vec![0., 0.]);
}

// ---- one_hot ----

#[test]
fn one_hot_puts_a_one_at_each_labels_class() {
    let out = Tensor::one_hot(&Tensor::from(vec![2u8, 0, 1]), 3).unwrap();
    assert_eq!(out.shape(), &[3, 3]);
    assert_eq!(out.to_vec(), vec![0., 0., 1., 1., 0., 0., 0., 1., 0.]);
}

#[test]
fn one_hot_appends_the_class_axis_to_the_labels_shape() {
    let out = Tensor::one_hot(&t(&[0., 3., 1., 1.], &[2, 2]), 4).unwrap();
    assert_eq!(out.shape(), &[2, 2, 4]);
    assert_eq!(out.sum(&[-1], false).unwrap().to_vec(), vec![1.0; 4]);
}

#[test]
fn one_hot_of_tracked_labels_refuses_a_gradient() {
    let err = grad_of_sum(&t(&[1., 0.], &[2]), |labels| Tensor::one_hot(labels, 2))
        .expect_err("labels have no gradient")
        .to_string();
    assert!(err.contains("`one_hot` has no gradient"), "{err}");
}

// ---- comparisons ----

#[test]
fn comparisons_give_one_where_true_and_zero_elsewhere() {
    let a = t(&[1., 2., 3.], &[3]);
    let b = t(&[2., 2., 2.], &[3]);
    assert_eq!(a.gt(&b).unwrap().to_vec(), vec![0., 0., 1.]);
    assert_eq!(a.ge(&b).unwrap().to_vec(), vec![0., 1., 1.]);
    assert_eq!(a.lt(&b).unwrap().to_vec(), vec![1., 0., 0.]);
    assert_eq!(a.le(&b).unwrap().to_vec(), vec![1., 1., 0.]);
    assert_eq!(a.eq(&b).unwrap().to_vec(), vec![0., 1., 0.]);
}

#[test]
fn comparisons_broadcast() {
    let column = t(&[1., 3.], &[2, 1]);
    let row = t(&[0., 2., 4.], &[3]);
    let out = column.lt(&row).unwrap();
    assert_eq!(out.shape(), &[2, 3]);
    assert_eq!(out.to_vec(), vec![0., 1., 1., 0., 0., 1.]);
}

#[test]
fn comparisons_of_tracked_tensors_are_untracked_masks() {
    let x = randn(&[3], 13).tracked();
    assert!(!x.gt(&Tensor::scalar(0.0)).unwrap().is_tracked());
    assert!(!x.eq(&x).unwrap().is_tracked());
}

// ---- properties ----

/// A table shape (1 to 3 axes of sizes 1 to 3) and indices into its first axis (0 to 5 of them).
fn table_and_indices() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec(1usize..=3, 1..=3).prop_flat_map(|shape| {
        let rows = shape[0];
        (Just(shape), prop::collection::vec(0..rows, 0..=5))
    })
}

/// Shapes of mask, on_true and on_false that broadcast together: each is a common target shape
/// with some leading axes dropped and some axes set to 1.
fn three_broadcastable() -> impl Strategy<Value = [Vec<usize>; 3]> {
    prop::collection::vec(1usize..=3, 1..=3).prop_flat_map(|target| {
        let n = target.len();
        let source = (0..=n, prop::collection::vec(any::<bool>(), n));
        (Just(target), source.clone(), source.clone(), source).prop_map(
            |(target, mask, on_true, on_false)| {
                let shrink = |(dropped, ones): (usize, Vec<bool>)| -> Vec<usize> {
                    (dropped..target.len())
                        .map(|a| if ones[a] { 1 } else { target[a] })
                        .collect()
                };
                [shrink(mask), shrink(on_true), shrink(on_false)]
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn take_is_index_select_along_axis_zero((shape, indices) in table_and_indices()) {
        let table = counting(&shape);
        let as_tensor = Tensor::from(indices.clone());
        prop_assert_eq!(
            table.take(&as_tensor).unwrap(),
            table.index_select(0, &indices).unwrap()
        );
    }

    #[test]
    fn take_gradient_holds_on_small_shapes((shape, indices) in table_and_indices()) {
        let indices = Tensor::from(indices);
        assert_grads(|x| x[0].take(&indices), &[randn(&shape, 14)]);
    }

    #[test]
    fn one_hot_then_argmax_recovers_the_labels(
        labels in prop::collection::vec(0usize..4, 1..=6),
    ) {
        let labels = Tensor::from(labels);
        let decoded = Tensor::one_hot(&labels, 4).unwrap().argmax(-1).unwrap();
        prop_assert_eq!(decoded, labels);
    }

    #[test]
    fn where_cond_gradient_holds_on_broadcast_shapes(
        [mask, on_true, on_false] in three_broadcastable(),
    ) {
        let mask = Tensor::bernoulli(&mask, 0.5, elegy::RngKey::new(15));
        assert_grads(
            |x| Tensor::where_cond(&mask, &x[0], &x[1]),
            &[uniform(&on_true, -1.0, 1.0, 18), uniform(&on_false, -1.0, 1.0, 19)],
        );
    }
}

// ---- errors ----

#[test]
fn index_select_names_the_index_out_of_range() {
    let err = message(Tensor::zeros(&[2, 3]).index_select(1, &[0, 3]));
    assert!(
        err.starts_with("index_select: index 3 at position 1 is out of range for axis 1 of size 3"),
        "{err}"
    );
}

#[test]
fn index_select_rejects_an_axis_out_of_range() {
    let err = message(Tensor::zeros(&[2, 3]).index_select(2, &[0]));
    assert!(
        err.starts_with("index_select: axis 2 is out of range"),
        "{err}"
    );
}

#[test]
fn take_names_the_index_out_of_range_and_its_position() {
    let err = message(Tensor::zeros(&[4, 2]).take(&t(&[0., 1., 7., 2.], &[2, 2])));
    assert!(
        err.starts_with(
            "take: index 7 at position [1, 0] of the indices is out of range for a table of 4 rows"
        ),
        "{err}"
    );
}

#[test]
fn take_rejects_indices_that_are_not_non_negative_integers() {
    for bad in [1.5, -1.0] {
        let err = message(Tensor::zeros(&[4, 2]).take(&t(&[0., bad], &[2])));
        assert!(
            err.starts_with(&format!("take: index {bad} at flat position 1")),
            "{err}"
        );
    }
}

#[test]
fn take_rejects_a_scalar_table() {
    let err = message(Tensor::scalar(1.0).take(&Tensor::scalar(0.0)));
    assert!(err.starts_with("take: the table is a scalar"), "{err}");
}

#[test]
fn gather_rejects_an_index_with_fewer_axes() {
    let err = message(Tensor::zeros(&[3, 4]).gather(1, &Tensor::from(vec![0u8, 1, 2])));
    assert!(
        err.starts_with(
            "gather: index of shape [3] has 1 axes but the tensor of shape [3, 4] has 2"
        ),
        "{err}"
    );
    assert!(err.contains("reshape(&[-1, 1])"), "{err}");
}

#[test]
fn gather_rejects_an_index_that_differs_off_the_gathered_axis() {
    let err = message(Tensor::zeros(&[3, 4]).gather(1, &Tensor::zeros(&[2, 1])));
    assert!(
        err.starts_with(
            "gather: index of shape [2, 1] and tensor of shape [3, 4] differ on axis 0"
        ),
        "{err}"
    );
}

#[test]
fn gather_names_the_index_out_of_range_and_its_position() {
    let err = message(Tensor::zeros(&[2, 3]).gather(1, &t(&[0., 3.], &[2, 1])));
    assert!(
        err.starts_with("gather: index 3 at position [1, 0] is out of range for axis 1 of size 3"),
        "{err}"
    );
}

#[test]
fn where_cond_names_the_three_shapes_that_do_not_broadcast() {
    let err = message(Tensor::where_cond(
        &Tensor::zeros(&[2, 3]),
        &Tensor::zeros(&[3]),
        &Tensor::zeros(&[4]),
    ));
    assert!(
        err.starts_with("where_cond: mask [2, 3], on_true [3] and on_false [4] do not broadcast"),
        "{err}"
    );
}

#[test]
fn one_hot_names_the_label_too_large_and_its_position() {
    let err = message(Tensor::one_hot(&t(&[0., 1., 5., 2.], &[2, 2]), 3));
    assert!(
        err.starts_with("one_hot: label 5 at position [1, 0] is not below num_classes 3"),
        "{err}"
    );
    assert!(err.contains("needs num_classes 6"), "{err}");
}

#[test]
fn one_hot_rejects_labels_that_are_not_integers() {
    let err = message(Tensor::one_hot(&t(&[0.0, 1.0], &[2]), usize::MAX));
    assert!(err.contains("more elements than memory can hold"), "{err}");
    let err = message(Tensor::one_hot(&t(&[0.5], &[1]), 3));
    assert!(
        err.starts_with("one_hot: index 0.5 at flat position 0"),
        "{err}"
    );
}

#[test]
fn comparisons_reject_shapes_that_do_not_broadcast() {
    let (a, b) = (Tensor::zeros(&[2, 3]), Tensor::zeros(&[4]));
    for (op, result) in [
        ("gt", a.gt(&b)),
        ("ge", a.ge(&b)),
        ("lt", a.lt(&b)),
        ("le", a.le(&b)),
        ("eq", a.eq(&b)),
    ] {
        let err = message(result);
        assert!(
            err.starts_with(&format!("{op}: shapes [2, 3] and [4] do not broadcast")),
            "{err}"
        );
    }
}
