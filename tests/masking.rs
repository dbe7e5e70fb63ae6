//! Padding masks from `Embedding::with_mask_zero` and `Masking` into the recurrent layers
//! (Keras' `mask_zero` and `Masking`): a right-padded sequence ends with the state of its
//! unpadded prefix, in both directions of a `Bidirectional`, and the gradients are checked.

use elegy::module::layers::{Bidirectional, Embedding, Gru, Lstm, Masking, SimpleRnn};
use elegy::module::{Module, ModuleContext, Sequential};
use elegy::testing::{GradCheck, check_gradients};
use elegy::{Data, RngKey, Tensor, TensorMap};

fn init(model: &dyn Module, x: &Tensor) -> TensorMap {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(4));
    ctx.call_data(model, &Data::from(x.clone())).unwrap();
    ctx.finish().0
}

fn apply(model: &dyn Module, x: &Tensor, params: &TensorMap) -> Tensor {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(params, &empty, false, false, RngKey::new(4));
    ctx.call_data(model, &Data::from(x.clone()))
        .unwrap()
        .into_tensor()
        .unwrap()
}

fn assert_close(a: &Tensor, b: &Tensor) {
    assert_eq!(a.shape(), b.shape());
    for (x, y) in a.to_vec().iter().zip(b.to_vec()) {
        assert!((x - y).abs() < 1e-6, "{a:?} against {b:?}");
    }
}

#[test]
fn mask_zero_keeps_padding_out_of_the_state() {
    for model in [
        Sequential::new()
            .layer(Embedding::new(9, 4).with_mask_zero())
            .layer(Lstm::new(5)),
        Sequential::new()
            .layer(Embedding::new(9, 4).with_mask_zero())
            .layer(Gru::new(5)),
        Sequential::new()
            .layer(Embedding::new(9, 4).with_mask_zero())
            .layer(Bidirectional::new(SimpleRnn::new(3))),
    ] {
        let padded =
            Tensor::from_vec(vec![3., 1., 4., 0., 0., 2., 7., 1., 8., 2.], &[2, 5]).unwrap();
        let params = init(&model, &padded);
        let both = apply(&model, &padded, &params);
        let first = apply(
            &model,
            &Tensor::from_vec(vec![3., 1., 4.], &[1, 3]).unwrap(),
            &params,
        );
        let second = apply(&model, &padded.slice(0, 1, 2).unwrap(), &params);
        assert_close(&both.slice(0, 0, 1).unwrap(), &first);
        assert_close(&both.slice(0, 1, 2).unwrap(), &second);
    }
}

#[test]
fn without_mask_zero_index_0_is_an_ordinary_row() {
    let model = Sequential::new()
        .layer(Embedding::new(9, 4))
        .layer(Lstm::new(5));
    let padded = Tensor::from_vec(vec![3., 1., 4., 0., 0.], &[1, 5]).unwrap();
    let params = init(&model, &padded);
    let unpadded = Tensor::from_vec(vec![3., 1., 4.], &[1, 3]).unwrap();
    let (a, b) = (
        apply(&model, &padded, &params),
        apply(&model, &unpadded, &params),
    );
    assert!(
        a.to_vec()
            .iter()
            .zip(b.to_vec())
            .any(|(x, y)| (x - y).abs() > 1e-4)
    );
}

#[test]
fn masking_marks_steps_of_the_mask_value_and_zeroes_them() {
    let model = Sequential::new()
        .layer(Masking::new(-1.0))
        .layer(Gru::new(4));
    // Two features a step; the last two steps of the first sequence are padding.
    let x = Tensor::from_vec(
        vec![
            0.5, -0.2, 0.1, 0.3, -1., -1., -1., -1., 0.2, 0.2, -1., 0.4, 0.0, 0.9, 0.7, 0.1,
        ],
        &[2, 4, 2],
    )
    .unwrap();
    let params = init(&model, &x);
    let out = apply(&model, &x, &params);
    let prefix = x.slice(0, 0, 1).unwrap().slice(1, 0, 2).unwrap();
    assert_close(
        &out.slice(0, 0, 1).unwrap(),
        &apply(&model, &prefix, &params),
    );
    // A step with only some features at the mask value is real.
    let second = x.slice(0, 1, 2).unwrap();
    assert_close(
        &out.slice(0, 1, 2).unwrap(),
        &apply(&model, &second, &params),
    );
    // Alone, Masking zeroes the padding steps.
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
    let zeroed = ctx.call(&Masking::new(-1.0), &x).unwrap().to_vec();
    assert_eq!(&zeroed[4..8], &[0.0; 4]);
    assert_eq!(zeroed[10], -1.0);
}

#[test]
fn gradients_through_a_masked_lstm() {
    let model = Sequential::new()
        .layer(Masking::default())
        .layer(Lstm::new(3));
    let x = Tensor::from_vec(
        vec![0.3, -0.5, 0.8, 0.1, 0.0, 0.0, -0.4, 0.6, 0.2, 0.9, 0.0, 0.0],
        &[2, 3, 2],
    )
    .unwrap();
    let params = init(&model, &x);
    let names: Vec<String> = params.names().map(String::from).collect();
    // The parameters only: an input at the mask value sits on the mask's discontinuity.
    let inputs: Vec<Tensor> = params.iter().map(|(_, t)| t.clone()).collect();
    let f = |t: &[Tensor]| {
        let p: TensorMap = names.iter().cloned().zip(t.iter().cloned()).collect();
        let empty = TensorMap::new();
        let mut ctx = ModuleContext::new(&p, &empty, false, false, RngKey::new(4));
        ctx.call_data(&model, &Data::from(x.clone()))?.into_tensor()
    };
    check_gradients(f, &inputs, &GradCheck::default())
        .unwrap()
        .assert_ok();
}

#[test]
fn masking_needs_a_sequence() {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
    let err = ctx
        .call(&Masking::default(), &Tensor::ones(&[2, 3]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("[batch, time, features]"), "{err}");
}
