//! Keras' reshaping layers: values by hand, errors, and gradients through each.

use elegy::module::layers::{
    Cropping2D, Permute, RepeatVector, Reshape, UpSampling2D, ZeroPadding2D,
};
use elegy::module::{Module, ModuleContext};
use elegy::testing::{GradCheck, check_gradients};
use elegy::{RngKey, Tensor, TensorMap};

fn apply(layer: &dyn Module, x: &Tensor) -> elegy::Result<Tensor> {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
    ctx.call(layer, x)
}

/// 0, 1, 2, ... in `shape`.
fn counting(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|i| i as f32).collect(), shape).unwrap()
}

#[track_caller]
fn assert_grads(layer: &dyn Module, shape: &[usize]) {
    let x = Tensor::normal(shape, 0.0, 1.0, RngKey::new(1));
    check_gradients(|t| apply(layer, &t[0]), &[x], &GradCheck::default())
        .unwrap()
        .assert_ok();
}

#[test]
fn reshape_and_permute_keep_the_batch_axis() {
    let x = counting(&[2, 6]);
    let y = apply(&Reshape::new(&[3, -1]), &x).unwrap();
    assert_eq!((y.shape(), y.to_vec()), (&[2usize, 3, 2][..], x.to_vec()));
    let err = apply(&Reshape::new(&[4, -1]), &x).unwrap_err().to_string();
    assert!(err.contains("reshape") && err.contains("[6]"), "{err}");
    let p = apply(&Permute::new(&[2, 1]), &y).unwrap();
    assert_eq!(p.shape(), [2, 2, 3]);
    assert_eq!(&p.to_vec()[..6], &[0.0, 2.0, 4.0, 1.0, 3.0, 5.0]);
    assert_grads(&Permute::new(&[2, 1]), &[2, 3, 2]);
    assert_grads(&Reshape::new(&[-1]), &[2, 3, 2]);
}

#[test]
fn repeat_vector_repeats_each_sample_along_a_new_axis() {
    let y = apply(&RepeatVector::new(3), &counting(&[2, 2])).unwrap();
    assert_eq!(y.shape(), [2, 3, 2]);
    assert_eq!(
        y.to_vec(),
        [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 2.0, 3.0, 2.0, 3.0, 2.0, 3.0]
    );
    assert_grads(&RepeatVector::new(3), &[2, 2]);
}

#[test]
fn zero_padding_then_cropping_gives_the_image_back() {
    let x = counting(&[1, 2, 3, 1]);
    let padded = apply(&ZeroPadding2D::new((1, 0), (2, 1)), &x).unwrap();
    assert_eq!(padded.shape(), [1, 3, 6, 1]);
    assert_eq!(&padded.to_vec()[..6], &[0.0; 6]);
    assert_eq!(&padded.to_vec()[6..12], &[0.0, 0.0, 0.0, 1.0, 2.0, 0.0]);
    let back = apply(&Cropping2D::new((1, 0), (2, 1)), &padded).unwrap();
    assert_eq!(back.to_vec(), x.to_vec());
    let err = apply(&Cropping2D::new((1, 1), (0, 0)), &x)
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 x 3"), "{err}");
    assert_grads(&ZeroPadding2D::new((1, 2), (0, 1)), &[2, 2, 2, 3]);
    assert_grads(&Cropping2D::new((1, 0), (1, 1)), &[2, 3, 4, 2]);
}

#[test]
fn up_sampling_repeats_rows_and_columns() {
    let y = apply(&UpSampling2D::new((2, 3)), &counting(&[1, 2, 2, 1])).unwrap();
    assert_eq!(y.shape(), [1, 4, 6, 1]);
    let row = |r: usize| y.to_vec()[r * 6..(r + 1) * 6].to_vec();
    assert_eq!(row(0), [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    assert_eq!(row(1), row(0));
    assert_eq!(row(2), [2.0, 2.0, 2.0, 3.0, 3.0, 3.0]);
    assert_grads(&UpSampling2D::new((2, 2)), &[2, 2, 3, 2]);
}
