//! The fused LSTM cell: the same values as its ops one by one, gradients against finite
//! differences, and bad shapes.

use elegy::Tensor;

use crate::common::{assert_grads, randn};

/// The cell as separate ops, as Keras' `LSTMCell` writes it.
fn by_ops(x: &Tensor, r: &Tensor, c: &Tensor) -> Tensor {
    let units = c.shape()[1];
    let z = x.add(r).unwrap();
    let block = |k: usize| z.slice(1, k * units, (k + 1) * units).unwrap();
    let (i, f, g, o) = (
        block(0).sigmoid(),
        block(1).sigmoid(),
        block(2).tanh(),
        block(3).sigmoid(),
    );
    let c_new = f.mul(c).unwrap().add(&i.mul(&g).unwrap()).unwrap();
    let h = o.mul(&c_new.tanh()).unwrap();
    Tensor::concat(&[h, c_new], -1).unwrap()
}

#[test]
fn the_fused_cell_gives_the_bits_of_its_ops() {
    let (x, r, c) = (randn(&[3, 8], 1), randn(&[3, 8], 2), randn(&[3, 2], 3));
    let fused = x.lstm_cell(&r, &c).unwrap();
    let bits = |t: &Tensor| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&fused), bits(&by_ops(&x, &r, &c)));
}

#[test]
fn lstm_cell_matches_finite_differences() {
    assert_grads(
        |t| t[0].lstm_cell(&t[1], &t[2]),
        &[randn(&[2, 12], 4), randn(&[2, 12], 5), randn(&[2, 3], 6)],
    );
}

#[test]
fn lstm_cell_of_misfit_shapes_is_an_error_naming_them() {
    let err = Tensor::zeros(&[2, 8])
        .lstm_cell(&Tensor::zeros(&[2, 8]), &Tensor::zeros(&[2, 3]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("[2, 12]") && err.contains("[2, 8]"), "{err}");
}
