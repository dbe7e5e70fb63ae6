//! The pieces of transformer and residual networks: RmsNorm, positions, Residual and Branches
//! (values by hand, gradients against finite differences), and a decoder-only block that learns.

use elegy::losses::SparseCategoricalCrossentropy;
use elegy::module::layers::{
    Branches, Embedding, Gelu, Identity, LayerNorm, Linear, Merge, MultiHeadAttention,
    PositionEmbedding, Residual, RmsNorm, SinusoidalPositionEncoding,
};
use elegy::module::{Module, ModuleContext, Sequential};
use elegy::optimizers::Adam;
use elegy::testing::{GradCheck, check_gradients};
use elegy::{FitOptions, RngKey, Runner, Tensor, TensorMap};

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::normal(shape, 0.0, 1.0, RngKey::new(seed))
}

/// The parameters `layer` makes from `x`.
fn init(layer: &dyn Module, x: &Tensor) -> TensorMap {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
    ctx.call(layer, x).expect("the layer initializes");
    ctx.finish().0
}

/// The error `layer` gives initializing from `x`.
fn init_error(layer: &dyn Module, x: &Tensor) -> String {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(&empty, &empty, true, false, RngKey::new(0));
    ctx.call(layer, x).unwrap_err().to_string()
}

fn apply(layer: &dyn Module, x: &Tensor, params: &TensorMap) -> elegy::Result<Tensor> {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(params, &empty, false, false, RngKey::new(0));
    ctx.call(layer, x)
}

/// Gradients of `layer` at `x` with respect to `x` and every parameter, against finite
/// differences.
#[track_caller]
fn assert_layer_grads(layer: &dyn Module, x: Tensor) {
    let params = init(layer, &x);
    let names: Vec<String> = params.names().map(String::from).collect();
    let mut inputs = vec![x];
    inputs.extend(params.iter().map(|(_, t)| t.clone()));
    let f = |t: &[Tensor]| {
        let p: TensorMap = names.iter().cloned().zip(t[1..].iter().cloned()).collect();
        apply(layer, &t[0], &p)
    };
    check_gradients(f, &inputs, &GradCheck::default())
        .unwrap()
        .assert_ok();
}

#[test]
fn rms_norm_divides_by_the_root_mean_square_and_scales() {
    let x = randn(&[2, 3, 4], 1);
    let layer = RmsNorm::default();
    let mut params = init(&layer, &x);
    assert_eq!(
        params.require("rms_norm/scale").unwrap().to_vec(),
        vec![1.0; 4]
    );
    let scale = Tensor::from(vec![1.0f32, 2.0, 0.5, -1.0]);
    params.insert("rms_norm/scale", scale.clone());
    let y = apply(&layer, &x, &params).unwrap().to_vec();
    let (xs, s) = (x.to_vec(), scale.to_vec());
    for (row, out) in xs.chunks(4).zip(y.chunks(4)) {
        let rms = (row.iter().map(|v| v * v).sum::<f32>() / 4.0 + 1e-6).sqrt();
        for i in 0..4 {
            assert!((out[i] - row[i] / rms * s[i]).abs() < 1e-5);
        }
    }
    assert_layer_grads(&layer, randn(&[2, 5], 2));
}

#[test]
fn position_embedding_adds_its_first_rows_and_refuses_longer_sequences() {
    let layer = PositionEmbedding::new(6);
    let x = randn(&[2, 4, 3], 3);
    let params = init(&layer, &x);
    let table = params.require("position_embedding/embeddings").unwrap();
    assert_eq!(table.shape(), [6, 3]);
    let y = apply(&layer, &x, &params).unwrap();
    let expected = x.add(&table.slice(0, 0, 4).unwrap()).unwrap();
    assert_eq!(y.to_vec(), expected.to_vec());
    let err = apply(&layer, &randn(&[1, 7, 3], 4), &params)
        .unwrap_err()
        .to_string();
    assert!(err.contains("7 positions") && err.contains("6"), "{err}");
    assert_layer_grads(&layer, randn(&[2, 3, 2], 5));
}

#[test]
fn sinusoidal_encoding_interleaves_sines_and_cosines_of_falling_frequency() {
    let x = Tensor::zeros(&[1, 3, 4]);
    let y = apply(
        &SinusoidalPositionEncoding::default(),
        &x,
        &TensorMap::new(),
    )
    .unwrap()
    .to_vec();
    // Position 0: sin 0, cos 0, ...
    assert_eq!(&y[..4], &[0.0, 1.0, 0.0, 1.0]);
    // Position 2, features 2 and 3: angle 2 / 10000^(2/4) = 0.02.
    let angle = 2.0f32 / 100.0;
    assert!((y[8] - 2.0f32.sin()).abs() < 1e-6 && (y[9] - 2.0f32.cos()).abs() < 1e-6);
    assert!((y[10] - angle.sin()).abs() < 1e-6 && (y[11] - angle.cos()).abs() < 1e-6);
}

#[test]
fn residual_adds_its_input_and_insists_on_the_shape() {
    let layer = Residual::new(Linear::new(3));
    let x = randn(&[2, 3], 6);
    let params = init(&layer, &x);
    let inner = apply(&Linear::new(3), &x, &{
        let mut p = TensorMap::new();
        for (k, v) in params.iter() {
            p.insert(k.replace("residual/", ""), v.clone());
        }
        p
    })
    .unwrap();
    let y = apply(&layer, &x, &params).unwrap();
    assert_eq!(y.to_vec(), x.add(&inner).unwrap().to_vec());
    assert_layer_grads(&layer, randn(&[2, 3], 7));
    let err = init_error(&Residual::new(Linear::new(2)), &x);
    assert!(err.contains("[2, 3]") && err.contains("[2, 2]"), "{err}");
}

#[test]
fn branches_merge_as_keras_add_multiply_average_and_concatenate() {
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let double = || Sequential::new().layer(Residual::new(Identity));
    let merged = |merge| {
        let layer = Branches::new(merge).branch(Identity).branch(double());
        apply(&layer, &x, &TensorMap::new()).unwrap().to_vec()
    };
    assert_eq!(merged(Merge::Add), vec![3.0, 6.0, 9.0, 12.0]);
    assert_eq!(merged(Merge::Multiply), vec![2.0, 8.0, 18.0, 32.0]);
    assert_eq!(merged(Merge::Average), vec![1.5, 3.0, 4.5, 6.0]);
    assert_eq!(
        merged(Merge::Concatenate(-1)),
        vec![1.0, 2.0, 2.0, 4.0, 3.0, 4.0, 6.0, 8.0]
    );
    let gated = Branches::new(Merge::Multiply)
        .branch(Linear::new(3))
        .branch(Sequential::new().layer(Linear::new(3)).layer(Gelu));
    assert_layer_grads(&gated, randn(&[2, 4], 8));
    let err = init_error(
        &Branches::new(Merge::Add)
            .branch(Identity)
            .branch(Linear::new(3)),
        &x,
    );
    assert!(err.contains("[2, 2]") && err.contains("[2, 3]"), "{err}");
    let err = apply(&Branches::new(Merge::Add), &x, &TensorMap::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no branches"), "{err}");
}

/// A pre-norm decoder block of `width` features.
fn decoder_block(width: usize) -> Sequential {
    Sequential::new()
        .layer(Residual::new(
            Sequential::new()
                .layer(LayerNorm::default())
                .layer(MultiHeadAttention::new(2, width / 2).causal()),
        ))
        .layer(Residual::new(
            Sequential::new()
                .layer(LayerNorm::default())
                .layer(Linear::new(2 * width))
                .layer(Gelu)
                .layer(Linear::new(width)),
        ))
}

#[test]
fn a_decoder_only_block_learns_to_predict_the_previous_token() {
    // Sequences of 8 tokens out of 6; the target at each position is the token before it (the
    // first position's is 0), which only attention to the past can tell.
    let (n, length, vocab) = (64usize, 8usize, 6usize);
    let tokens: Vec<f32> = Tensor::uniform(&[n * length], 0.0, vocab as f32, RngKey::new(9))
        .to_vec()
        .iter()
        .map(|v| v.floor())
        .collect();
    let targets: Vec<f32> = tokens
        .chunks(length)
        .flat_map(|s| std::iter::once(0.0).chain(s[..length - 1].iter().copied()))
        .collect();
    let x = Tensor::from_vec(tokens, &[n, length]).unwrap();
    let y = Tensor::from_vec(targets, &[n, length]).unwrap();
    let width = 16;
    let model = Sequential::new()
        .layer(Embedding::new(vocab, width))
        .layer(PositionEmbedding::new(length))
        .layer(decoder_block(width))
        .layer(LayerNorm::default())
        .layer(Linear::new(vocab));
    let mut runner = Runner::for_module(model)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Adam::new(1e-2))
        .seed(3)
        .build()
        .unwrap();
    let history = runner
        .fit(
            x,
            y,
            FitOptions {
                epochs: 40,
                batch_size: 16,
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap();
    let loss = history.get("loss").unwrap();
    // ln 6 = 1.79 for a guess; copying the previous token is learnable exactly.
    assert!(loss[39] < 0.5, "{loss:?}");
}

#[test]
fn group_norm_normalizes_each_group_of_channels_over_the_sample() {
    use elegy::module::layers::GroupNorm;
    let x = randn(&[2, 3, 4], 30); // [batch, positions, channels], 2 groups of 2 channels
    let layer = GroupNorm::new(2).epsilon(0.0);
    let params = init(&layer, &x);
    let y = apply(&layer, &x, &params).unwrap().to_vec();
    let xs = x.to_vec();
    for b in 0..2 {
        for group in 0..2 {
            let at = |p: usize, c: usize| b * 12 + p * 4 + group * 2 + c;
            let values: Vec<f32> = (0..3)
                .flat_map(|p| (0..2).map(move |c| (p, c)))
                .map(|(p, c)| xs[at(p, c)])
                .collect();
            let mean = values.iter().sum::<f32>() / 6.0;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 6.0;
            for p in 0..3 {
                for c in 0..2 {
                    let want = (xs[at(p, c)] - mean) / var.sqrt();
                    assert!((y[at(p, c)] - want).abs() < 1e-5);
                }
            }
        }
    }
    assert_layer_grads(&GroupNorm::new(2), randn(&[2, 2, 4], 31));
    let err = init_error(&GroupNorm::new(3), &x);
    assert!(err.contains("4 channels into 3 groups"), "{err}");
}
