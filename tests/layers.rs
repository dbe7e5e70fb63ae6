//! The layer library: parameters created from the first batch, gradients through every layer,
//! the training-time behaviour of batch norm and dropout, and training end to end.

use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::module::layers::{
    AvgPool2D, BatchNorm, Conv2D, Dropout, Elu, Embedding, Flatten, Gelu, GlobalAveragePooling,
    LayerNorm, LeakyRelu, Linear, MaxPool2D, Mlp, Relu, Sigmoid, Softmax, Tanh,
};
use elegy::module::{Module, ModuleContext, Sequential};
use elegy::optimizers::Adam;
use elegy::testing::{GradCheck, check_gradients};
use elegy::{
    Activation, Data, EvaluateOptions, FitOptions, Initializer, Padding, Result, RngKey, Runner,
    Tensor, TensorMap, datasets,
};

// ---------------------------------------------------------------------------------------------
// Fixtures

/// Runs `layer` on `x` as initialization does (creating parameters and state, training mode);
/// returns the parameters and state it created.
fn init(layer: &dyn Module, x: &Tensor) -> (TensorMap, TensorMap) {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
    ctx.call(layer, x).expect("the layer initializes");
    let (params, states, _) = ctx.finish();
    (params, states)
}

/// Runs `layer` on `x` over existing parameters and state; returns the output and the state
/// after the call.
fn apply(
    layer: &dyn Module,
    x: &Tensor,
    params: &TensorMap,
    states: &TensorMap,
    training: bool,
    key: u64,
) -> Result<(Tensor, TensorMap)> {
    let mut ctx = ModuleContext::new(params, states, false, training, RngKey::new(key));
    let y = ctx.call(layer, x)?;
    let (_, states, _) = ctx.finish();
    Ok((y, states))
}

fn names(map: &TensorMap) -> Vec<&str> {
    map.names().collect()
}

fn shape_of<'a>(map: &'a TensorMap, name: &str) -> &'a [usize] {
    map.require(name).unwrap().shape()
}

/// Asserts that the gradients of `layer` at `x` (initialized from `x`) with respect to its
/// parameters, and to `x` when `through_input`, match finite differences.
#[track_caller]
fn assert_layer_grads_with(layer: &dyn Module, x: Tensor, training: bool, through_input: bool) {
    let (params, states) = init(layer, &x);
    let param_names: Vec<String> = params.names().map(String::from).collect();
    let first_param = usize::from(through_input);
    let mut inputs: Vec<Tensor> = if through_input {
        vec![x.clone()]
    } else {
        Vec::new()
    };
    inputs.extend(params.iter().map(|(_, t)| t.clone()));
    let run = |t: &[Tensor]| {
        let p: TensorMap = param_names
            .iter()
            .cloned()
            .zip(t[first_param..].iter().cloned())
            .collect();
        let input = if through_input { &t[0] } else { &x };
        Ok(apply(layer, input, &p, &states, training, 7)?.0)
    };
    check_gradients(run, &inputs, &GradCheck::default())
        .expect("the layer runs")
        .assert_ok();
}

#[track_caller]
fn assert_layer_grads(layer: &dyn Module, x: Tensor, training: bool) {
    assert_layer_grads_with(layer, x, training, true);
}

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::normal(shape, 0.0, 1.0, RngKey::new(seed))
}

/// Values at least 0.1 away from 0, for layers with a kink there.
fn away_from_zero(shape: &[usize], seed: u64) -> Tensor {
    let magnitude = Tensor::uniform(shape, 0.1, 2.0, RngKey::new(seed));
    let sign = Tensor::bernoulli(shape, 0.5, RngKey::new(seed).fold_in(1)) * 2.0 - 1.0;
    magnitude.mul(&sign).unwrap()
}

/// Distinct values at least 0.1 apart, shuffled: no ties for max pooling to break.
fn spread(shape: &[usize], seed: u64) -> Tensor {
    use rand::seq::SliceRandom;
    let n: usize = shape.iter().product();
    let mut values: Vec<f32> = (0..n).map(|i| (i as f32 - n as f32 / 2.0) * 0.1).collect();
    values.shuffle(&mut RngKey::new(seed).rng());
    Tensor::from_vec(values, shape).unwrap()
}

fn assert_close(actual: &[f32], expected: &[f32], tol: f32) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= tol, "{actual:?} vs {expected:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters: names, shapes and initializers

#[test]
fn linear_creates_its_kernel_from_the_last_axis_of_the_first_batch() {
    let (params, states) = init(&Linear::new(3), &Tensor::ones(&[2, 4, 5]));
    assert_eq!(names(&params), ["linear/bias", "linear/kernel"]);
    assert_eq!(shape_of(&params, "linear/kernel"), &[5, 3]);
    assert_eq!(shape_of(&params, "linear/bias"), &[3]);
    assert!(states.is_empty());
}

#[test]
fn linear_applies_to_the_last_axis_whatever_the_leading_axes() {
    let layer = Linear::new(3);
    let x = randn(&[2, 4, 5], 0);
    let (params, states) = init(&layer, &x);
    let y = apply(&layer, &x, &params, &states, false, 0).unwrap().0;
    assert_eq!(y.shape(), &[2, 4, 3]);
    let rows = apply(
        &layer,
        &x.reshape(&[8, 5]).unwrap(),
        &params,
        &states,
        false,
        0,
    )
    .unwrap()
    .0;
    assert_close(&y.to_vec(), &rows.to_vec(), 1e-6);
}

#[test]
fn linear_without_bias_has_only_a_kernel() {
    let (params, _) = init(&Linear::new(3).use_bias(false), &Tensor::ones(&[2, 5]));
    assert_eq!(names(&params), ["linear/kernel"]);
}

#[test]
fn linear_with_an_activation_equals_linear_then_the_activation_layer() {
    let x = Tensor::normal(&[4, 5], 0.0, 1.0, RngKey::new(3));
    let (params, states) = init(&Linear::new(3), &x);
    let fused = Linear::new(3).activation(Activation::Tanh);
    let (y, _) = apply(&fused, &x, &params, &states, true, 0).unwrap();
    let (h, _) = apply(&Linear::new(3), &x, &params, &states, true, 0).unwrap();
    assert_eq!(y.to_vec(), h.tanh().to_vec());
    assert_eq!(names(&init(&fused, &x).0), ["linear/bias", "linear/kernel"]);
}

#[test]
fn an_mlp_applies_a_fusable_activation_inside_its_dense_layers_with_the_same_values() {
    /// `relu` as a plain module, which the Mlp cannot fuse.
    struct PlainRelu;
    impl Module for PlainRelu {
        fn kind(&self) -> &'static str {
            "PlainRelu"
        }
        fn forward(&self, x: &Tensor, _: &mut ModuleContext<'_>) -> Result<Tensor> {
            Ok(x.relu())
        }
    }
    assert_eq!(Relu.as_activation(), Some(Activation::Relu));
    assert_eq!(PlainRelu.as_activation(), None);
    let x = Tensor::normal(&[6, 5], 0.0, 1.0, RngKey::new(4));
    let fused = Mlp::new(&[8, 8, 3]);
    let (params, states) = init(&fused, &x);
    let (y, _) = apply(&fused, &x, &params, &states, true, 0).unwrap();
    let plain = Mlp::new(&[8, 8, 3]).activation(PlainRelu);
    let (expected, _) = apply(&plain, &x, &params, &states, true, 0).unwrap();
    assert_eq!(y.to_vec(), expected.to_vec());
}

#[test]
fn initializers_that_describe_no_distribution_are_errors() {
    let key = RngKey::new(0);
    for bad in [
        Initializer::Uniform {
            low: 0.05,
            high: -0.05,
        },
        Initializer::Uniform {
            low: f32::NAN,
            high: 1.0,
        },
        Initializer::Uniform {
            low: -f32::MAX,
            high: f32::MAX,
        },
        Initializer::Normal {
            mean: 0.0,
            std: -1.0,
        },
        Initializer::TruncatedNormal {
            mean: f32::INFINITY,
            std: 1.0,
        },
        Initializer::Constant(f32::NAN),
        Initializer::VarianceScaling {
            scale: -1.0,
            mode: elegy::FanMode::FanIn,
            uniform: true,
        },
    ] {
        let err = bad.init(&[3, 2], key).unwrap_err().to_string();
        assert!(err.contains("Initializer"), "{bad:?}: {err}");
    }
    // A layer of absurd size (a typo in its units) is an error, not an allocation failure.
    let err = Initializer::GlorotUniform
        .init(&[1 << 40, 1 << 30], key)
        .unwrap_err()
        .to_string();
    assert!(err.contains("more elements than memory can hold"), "{err}");
    let fine = Initializer::Uniform {
        low: -0.05,
        high: 0.05,
    };
    let values = fine.init(&[100], key).unwrap().to_vec();
    assert!(values.iter().all(|v| (-0.05..0.05).contains(v)));
}

#[test]
fn linear_honours_its_initializers() {
    let layer = Linear::new(3)
        .kernel_init(Initializer::Zeros)
        .bias_init(Initializer::Constant(0.5));
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
    let y = ctx.call(&layer, &randn(&[4, 5], 0)).unwrap();
    assert_eq!(y.to_vec(), vec![0.5; 12]);
}

#[test]
fn linear_kernel_starts_glorot_uniform() {
    let (params, _) = init(&Linear::new(50), &Tensor::ones(&[1, 100]));
    let kernel = params.require("linear/kernel").unwrap().to_vec();
    let limit = (6.0f32 / 150.0).sqrt();
    assert!(kernel.iter().all(|v| v.abs() <= limit));
    assert!(kernel.iter().any(|v| v.abs() > 0.9 * limit));
    assert_eq!(
        params.require("linear/bias").unwrap().to_vec(),
        vec![0.0; 50]
    );
}

#[test]
fn conv2d_creates_an_hwio_kernel_and_a_bias_per_filter() {
    let layer = Conv2D::new(4, (3, 2)).padding(Padding::Same);
    let (params, _) = init(&layer, &Tensor::ones(&[2, 6, 6, 3]));
    assert_eq!(names(&params), ["conv2d/bias", "conv2d/kernel"]);
    assert_eq!(shape_of(&params, "conv2d/kernel"), &[3, 2, 3, 4]);
    assert_eq!(shape_of(&params, "conv2d/bias"), &[4]);
}

#[test]
fn conv2d_with_a_kernel_of_ones_sums_each_window() {
    let layer = Conv2D::new(2, (2, 2))
        .kernel_init(Initializer::Ones)
        .bias_init(Initializer::Constant(1.0));
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
    let y = ctx.call(&layer, &Tensor::ones(&[1, 3, 3, 2])).unwrap();
    assert_eq!(y.shape(), &[1, 2, 2, 2]);
    // 2 x 2 taps x 2 channels of ones, plus the bias.
    assert_eq!(y.to_vec(), vec![9.0; 8]);
}

#[test]
fn conv2d_stride_and_padding_set_the_output_size() {
    let layer = Conv2D::new(5, (3, 3)).stride((2, 2)).padding(Padding::Same);
    let (params, states) = init(&layer, &Tensor::ones(&[1, 7, 7, 1]));
    let y = apply(
        &layer,
        &Tensor::ones(&[1, 7, 7, 1]),
        &params,
        &states,
        false,
        0,
    )
    .unwrap();
    assert_eq!(y.0.shape(), &[1, 4, 4, 5]);
}

#[test]
fn batch_norm_creates_gamma_and_beta_and_moving_statistics_at_their_start() {
    let x = randn(&[4, 3, 2], 0);
    let (params, states) = init(&BatchNorm::default(), &x);
    assert_eq!(names(&params), ["batch_norm/beta", "batch_norm/gamma"]);
    assert_eq!(
        params.require("batch_norm/gamma").unwrap().to_vec(),
        vec![1.0; 2]
    );
    assert_eq!(
        params.require("batch_norm/beta").unwrap().to_vec(),
        vec![0.0; 2]
    );
    assert_eq!(
        names(&states),
        ["batch_norm/moving_mean", "batch_norm/moving_variance"]
    );
    assert_eq!(
        states.require("batch_norm/moving_mean").unwrap().to_vec(),
        vec![0.0; 2]
    );
    assert_eq!(
        states
            .require("batch_norm/moving_variance")
            .unwrap()
            .to_vec(),
        vec![1.0; 2]
    );
}

#[test]
fn normalizations_without_center_and_scale_have_no_parameters() {
    let x = randn(&[4, 3], 0);
    let bn = BatchNorm::default().center(false).scale(false);
    assert!(init(&bn, &x).0.is_empty());
    let ln = LayerNorm::default().center(false).scale(false);
    assert!(init(&ln, &x).0.is_empty());
}

#[test]
fn layer_norm_creates_gamma_and_beta_over_the_last_axis() {
    let (params, states) = init(&LayerNorm::default(), &randn(&[2, 3, 5], 0));
    assert_eq!(names(&params), ["layer_norm/beta", "layer_norm/gamma"]);
    assert_eq!(shape_of(&params, "layer_norm/gamma"), &[5]);
    assert!(states.is_empty());
}

#[test]
fn embedding_creates_a_table_uniform_within_the_keras_bounds() {
    let (params, _) = init(&Embedding::new(20, 4), &Tensor::zeros(&[3]));
    assert_eq!(names(&params), ["embedding/embeddings"]);
    let table = params.require("embedding/embeddings").unwrap();
    assert_eq!(table.shape(), &[20, 4]);
    assert!(table.to_vec().iter().all(|v| v.abs() <= 0.05));
    assert!(table.to_vec().iter().any(|&v| v != 0.0));
}

#[test]
fn named_layers_use_their_own_name_in_paths() {
    let model = Sequential::new()
        .layer(Linear::new(4).named("hidden"))
        .layer(Relu.named("act"))
        .layer(Linear::new(2));
    let (params, _) = init(&model, &Tensor::ones(&[1, 3]));
    assert_eq!(
        names(&params),
        [
            "sequential/hidden/bias",
            "sequential/hidden/kernel",
            "sequential/linear/bias",
            "sequential/linear/kernel",
        ]
    );
}

#[test]
fn mlp_names_its_layers_by_path_and_sizes_them_from_the_input() {
    let (params, _) = init(&Mlp::new(&[8, 6, 3]), &Tensor::ones(&[2, 5]));
    assert_eq!(
        names(&params),
        [
            "mlp/linear/bias",
            "mlp/linear/kernel",
            "mlp/linear_1/bias",
            "mlp/linear_1/kernel",
            "mlp/linear_2/bias",
            "mlp/linear_2/kernel",
        ]
    );
    assert_eq!(shape_of(&params, "mlp/linear/kernel"), &[5, 8]);
    assert_eq!(shape_of(&params, "mlp/linear_1/kernel"), &[8, 6]);
    assert_eq!(shape_of(&params, "mlp/linear_2/kernel"), &[6, 3]);
}

#[test]
fn mlp_has_no_activation_after_its_last_layer() {
    // Zero kernels and a negative bias: a final relu would turn the output to 0.
    let mlp = Mlp::new(&[4, 2])
        .kernel_init(Initializer::Zeros)
        .bias_init(Initializer::Constant(-1.0));
    let (params, states) = init(&mlp, &Tensor::ones(&[1, 3]));
    let y = apply(&mlp, &Tensor::ones(&[1, 3]), &params, &states, false, 0).unwrap();
    assert_eq!(y.0.to_vec(), vec![-1.0, -1.0]);
}

#[test]
fn shape_layers_give_the_documented_shapes() {
    let x = randn(&[2, 6, 4, 3], 0);
    let empty = TensorMap::new();
    let shape = |layer: &dyn Module| apply(layer, &x, &empty, &empty, false, 0).unwrap().0;
    assert_eq!(shape(&MaxPool2D::default()).shape(), &[2, 3, 2, 3]);
    assert_eq!(
        shape(&AvgPool2D::new((3, 3)).stride((1, 1))).shape(),
        &[2, 4, 2, 3]
    );
    assert_eq!(shape(&GlobalAveragePooling).shape(), &[2, 3]);
    assert_eq!(shape(&Flatten).shape(), &[2, 72]);
}

#[test]
fn global_average_pooling_is_the_mean_over_rows_and_columns() {
    let x = randn(&[2, 3, 4, 5], 0);
    let empty = TensorMap::new();
    let y = apply(&GlobalAveragePooling, &x, &empty, &empty, false, 0).unwrap();
    assert_close(
        &y.0.to_vec(),
        &x.mean(&[1, 2], false).unwrap().to_vec(),
        1e-6,
    );
}

#[test]
fn activation_layers_apply_the_tensor_functions() {
    let x = randn(&[3, 4], 0);
    let empty = TensorMap::new();
    let cases: Vec<(Box<dyn Module>, Tensor)> = vec![
        (Box::new(Relu), x.relu()),
        (Box::new(Gelu), x.gelu()),
        (Box::new(Sigmoid), x.sigmoid()),
        (Box::new(Tanh), x.tanh()),
        (Box::new(Softmax), x.softmax(-1).unwrap()),
        (Box::new(LeakyRelu::default()), x.leaky_relu(0.3)),
        (Box::new(Elu::new(0.5)), x.elu(0.5)),
    ];
    for (layer, expected) in cases {
        let y = apply(layer.as_ref(), &x, &empty, &empty, false, 0)
            .unwrap()
            .0;
        assert_eq!(y.to_vec(), expected.to_vec(), "{}", layer.kind());
    }
}

// ---------------------------------------------------------------------------------------------
// Gradients, with respect to the input and every parameter

#[test]
fn linear_gradients_match_finite_differences() {
    assert_layer_grads(&Linear::new(3), randn(&[2, 4], 0), true);
    assert_layer_grads(&Linear::new(2), randn(&[2, 3, 4], 1), true);
}

#[test]
fn conv2d_gradients_match_finite_differences() {
    let layer = Conv2D::new(3, (3, 2)).stride((2, 1)).padding(Padding::Same);
    assert_layer_grads(&layer, randn(&[2, 5, 4, 2], 0), true);
}

#[test]
fn pooling_gradients_match_finite_differences() {
    assert_layer_grads(&MaxPool2D::default(), spread(&[2, 4, 4, 2], 0), true);
    let avg = AvgPool2D::new((3, 3)).stride((2, 2)).padding(Padding::Same);
    assert_layer_grads(&avg, randn(&[2, 5, 5, 2], 1), true);
    assert_layer_grads(&GlobalAveragePooling, randn(&[2, 3, 3, 2], 2), true);
}

#[test]
fn flatten_gradients_match_finite_differences() {
    assert_layer_grads(&Flatten, randn(&[2, 3, 2], 0), true);
}

#[test]
fn dropout_gradients_match_finite_differences_in_training() {
    assert_layer_grads(&Dropout::new(0.4), randn(&[4, 5], 0), true);
}

#[test]
fn batch_norm_gradients_flow_through_the_batch_statistics_in_training() {
    assert_layer_grads(&BatchNorm::default(), randn(&[6, 3], 0), true);
    assert_layer_grads(&BatchNorm::default(), randn(&[3, 2, 2], 1), true);
}

#[test]
fn batch_norm_gradients_match_finite_differences_in_inference() {
    assert_layer_grads(&BatchNorm::default(), randn(&[4, 3], 0), false);
}

#[test]
fn layer_norm_gradients_match_finite_differences() {
    assert_layer_grads(&LayerNorm::default(), randn(&[3, 4], 0), true);
}

#[test]
fn embedding_gradients_reach_its_table() {
    let tokens = Tensor::from_vec(vec![1.0, 3.0, 1.0, 0.0], &[2, 2]).unwrap();
    assert_layer_grads_with(&Embedding::new(4, 3), tokens, true, false);
}

#[test]
fn activation_gradients_match_finite_differences() {
    let x = away_from_zero(&[3, 4], 0);
    let layers: [&dyn Module; 7] = [
        &Relu,
        &Gelu,
        &Sigmoid,
        &Tanh,
        &Softmax,
        &LeakyRelu::default(),
        &Elu::default(),
    ];
    for layer in layers {
        assert_layer_grads(layer, x.clone(), true);
    }
}

#[test]
fn mlp_gradients_match_finite_differences() {
    let mlp = Mlp::new(&[4, 3]).activation(Tanh).dropout(0.3);
    assert_layer_grads(&mlp, randn(&[3, 2], 0), true);
}

// ---------------------------------------------------------------------------------------------
// Batch normalization

/// Four samples of two features of very different scales and offsets.
fn two_features() -> Tensor {
    Tensor::from_vec(vec![1.0, 100.0, 3.0, 300.0, 2.0, -200.0, 6.0, 0.0], &[4, 2]).unwrap()
}

#[test]
fn batch_norm_in_training_gives_each_feature_mean_0_and_variance_1_over_the_batch() {
    let x = two_features();
    let (params, states) = init(&BatchNorm::default(), &x);
    let (y, _) = apply(&BatchNorm::default(), &x, &params, &states, true, 0).unwrap();
    assert_close(&y.mean(&[0], false).unwrap().to_vec(), &[0.0, 0.0], 1e-5);
    // var / (var + epsilon), with variances 3.5 and 32500.
    assert_close(&y.var(&[0], false).unwrap().to_vec(), &[1.0, 1.0], 1e-3);
}

#[test]
fn batch_norm_moving_statistics_follow_the_momentum_formula() {
    // Batch means [2, 4] and (population) variances [1, 4].
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 6.0], &[2, 2]).unwrap();
    let bn = BatchNorm::default().momentum(0.9);
    let (params, states) = init(&bn, &x);
    let (_, states) = apply(&bn, &x, &params, &states, true, 0).unwrap();
    let moving = |states: &TensorMap, name: &str| {
        states
            .require(&format!("batch_norm/{name}"))
            .unwrap()
            .to_vec()
    };
    // 0.9 * [0, 0] + 0.1 * [2, 4]; 0.9 * [1, 1] + 0.1 * [1, 4].
    assert_close(&moving(&states, "moving_mean"), &[0.2, 0.4], 1e-6);
    assert_close(&moving(&states, "moving_variance"), &[1.0, 1.3], 1e-6);
    let (_, states) = apply(&bn, &x, &params, &states, true, 1).unwrap();
    // 0.9 * [0.2, 0.4] + 0.1 * [2, 4]; 0.9 * [1, 1.3] + 0.1 * [1, 4].
    assert_close(&moving(&states, "moving_mean"), &[0.38, 0.76], 1e-6);
    assert_close(&moving(&states, "moving_variance"), &[1.0, 1.57], 1e-6);
}

#[test]
fn batch_norm_in_inference_uses_the_moving_statistics_and_leaves_them_alone() {
    let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 6.0], &[2, 2]).unwrap();
    let bn = BatchNorm::default();
    let params = TensorMap::new()
        .with("batch_norm/gamma", Tensor::from(vec![2.0f32, 1.0]))
        .with("batch_norm/beta", Tensor::from(vec![0.5f32, 0.0]));
    let states = TensorMap::new()
        .with("batch_norm/moving_mean", Tensor::from(vec![1.0f32, 2.0]))
        .with(
            "batch_norm/moving_variance",
            Tensor::from(vec![4.0f32 - 1e-3, 0.25 - 1e-3]),
        );
    let (y, after) = apply(&bn, &x, &params, &states, false, 0).unwrap();
    // (x - [1, 2]) / sqrt([4, 0.25]) * [2, 1] + [0.5, 0].
    assert_close(&y.to_vec(), &[0.5, 0.0, 2.5, 8.0], 1e-4);
    assert_eq!(after, states);
    let (trained, _) = apply(&bn, &x, &params, &states, true, 0).unwrap();
    assert_ne!(trained.to_vec(), y.to_vec());
}

// ---------------------------------------------------------------------------------------------
// Dropout

#[test]
fn dropout_in_training_drops_about_rate_and_scales_the_rest_by_1_over_1_minus_rate() {
    let x = Tensor::ones(&[50, 100]);
    let empty = TensorMap::new();
    let (y, _) = apply(&Dropout::new(0.3), &x, &empty, &empty, true, 0).unwrap();
    let values = y.to_vec();
    let dropped = values.iter().filter(|&&v| v == 0.0).count() as f32 / values.len() as f32;
    assert!((dropped - 0.3).abs() < 0.03, "dropped {dropped}");
    assert!(
        values
            .iter()
            .all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6)
    );
}

#[test]
fn dropout_in_inference_and_initialization_is_the_identity() {
    let x = randn(&[4, 5], 0);
    let empty = TensorMap::new();
    let (y, _) = apply(&Dropout::new(0.5), &x, &empty, &empty, false, 0).unwrap();
    assert_eq!(y.to_vec(), x.to_vec());
    let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
    assert_eq!(
        ctx.call(&Dropout::new(0.5), &x).unwrap().to_vec(),
        x.to_vec()
    );
}

#[test]
fn dropout_with_the_same_step_key_draws_the_same_mask() {
    let x = Tensor::ones(&[8, 8]);
    let empty = TensorMap::new();
    let run = |key| {
        apply(&Dropout::new(0.5), &x, &empty, &empty, true, key)
            .unwrap()
            .0
            .to_vec()
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
}

#[test]
fn two_dropout_layers_draw_different_masks() {
    let x = Tensor::ones(&[8, 8]);
    let both = Sequential::new()
        .layer(Dropout::new(0.5))
        .layer(Dropout::new(0.0).named("probe"));
    let first = Sequential::new().layer(Dropout::new(0.5));
    let second = Sequential::new()
        .layer(Dropout::new(0.0))
        .layer(Dropout::new(0.5));
    let empty = TensorMap::new();
    let run = |m: &dyn Module| apply(m, &x, &empty, &empty, true, 0).unwrap().0.to_vec();
    // The same layer at the same path draws the same mask in another network...
    assert_eq!(run(&both), run(&first));
    // ...and another path draws another.
    assert_ne!(run(&first), run(&second));
}

// ---------------------------------------------------------------------------------------------
// Embedding

fn table() -> TensorMap {
    let rows = Tensor::from_vec(vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5], &[3, 2]).unwrap();
    TensorMap::new().with("embedding/embeddings", rows)
}

#[test]
fn embedding_values_are_the_rows_of_its_table() {
    let tokens = Tensor::from_vec(vec![2.0, 0.0, 1.0, 2.0], &[2, 2]).unwrap();
    let (y, _) = apply(
        &Embedding::new(3, 2),
        &tokens,
        &table(),
        &TensorMap::new(),
        false,
        0,
    )
    .unwrap();
    assert_eq!(y.shape(), &[2, 2, 2]);
    assert_eq!(y.to_vec(), vec![2.0, 2.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
}

#[test]
fn embedding_gradients_add_up_over_repeated_indices() {
    let tokens = Tensor::from_vec(vec![2.0, 0.0, 2.0, 2.0], &[4]).unwrap();
    let params = table().tracked();
    let (y, _) = apply(
        &Embedding::new(3, 2),
        &tokens,
        &params,
        &TensorMap::new(),
        true,
        0,
    )
    .unwrap();
    let grads = elegy::grad(&y.sum_all(), &params).unwrap();
    assert_eq!(
        grads.require("embedding/embeddings").unwrap().to_vec(),
        vec![1.0, 1.0, 0.0, 0.0, 3.0, 3.0]
    );
}

// ---------------------------------------------------------------------------------------------
// Training end to end

fn scaled_digits() -> datasets::LabelledData {
    let mut d = datasets::digits().unwrap();
    d.x = d.x.div_scalar(16.0);
    d
}

/// Test accuracy on the digits of `module` after `epochs` epochs of Adam; also returns the
/// runner, for its states.
fn digits_accuracy(
    module: impl Module + 'static,
    x: Tensor,
    y: Tensor,
    epochs: usize,
) -> (f32, Runner<elegy::Defaults>) {
    let (xtr, ytr, xte, yte) = datasets::train_test_split(x, y, 0.2, 0).unwrap();
    let mut runner = Runner::for_module(module)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-2))
        .seed(0)
        .build()
        .unwrap();
    let options = FitOptions {
        epochs,
        verbose: 0,
        ..Default::default()
    };
    runner.fit(xtr, ytr, options).unwrap();
    let logs = runner
        .evaluate(xte, yte, EvaluateOptions::default())
        .unwrap();
    (logs["sparse_categorical_accuracy"], runner)
}

#[test]
fn an_mlp_learns_the_digits() {
    let d = scaled_digits();
    let (accuracy, _) = digits_accuracy(Mlp::new(&[32, 10]), d.x, d.y, 4);
    assert!(accuracy > 0.9, "accuracy {accuracy}");
}

#[test]
fn a_sequential_with_batch_norm_and_dropout_learns_the_digits_and_updates_its_statistics() {
    let d = scaled_digits();
    let model = Sequential::new()
        .layer(Linear::new(32))
        .layer(BatchNorm::default())
        .layer(Relu)
        .layer(Dropout::new(0.1))
        .layer(Linear::new(10));
    let (accuracy, runner) = digits_accuracy(model, d.x, d.y, 3);
    assert!(accuracy > 0.9, "accuracy {accuracy}");
    let moving_mean = runner
        .states()
        .net_states
        .require("sequential/batch_norm/moving_mean")
        .unwrap()
        .to_vec();
    assert!(moving_mean.iter().all(|&m| m != 0.0), "{moving_mean:?}");
}

#[test]
fn a_small_convolutional_network_learns_the_digits() {
    let d = scaled_digits();
    let images = d.x.reshape(&[-1, 8, 8, 1]).unwrap();
    let model = Sequential::new()
        .layer(Conv2D::new(8, (3, 3)).padding(Padding::Same).stride((2, 2)))
        .layer(Relu)
        .layer(Flatten)
        .layer(Linear::new(10));
    let (accuracy, _) = digits_accuracy(model, images, d.y, 3);
    assert!(accuracy > 0.9, "accuracy {accuracy}");
}

// ---------------------------------------------------------------------------------------------
// Errors

#[test]
fn inputs_of_the_wrong_rank_are_errors_naming_the_layer_and_the_shape() {
    let cases: Vec<(Box<dyn Module>, &[usize], &str)> = vec![
        (Box::new(Linear::new(2)), &[], "Linear: layer `linear`"),
        (
            Box::new(Conv2D::new(2, (3, 3))),
            &[2, 8, 8],
            "Conv2D: layer `conv2d`",
        ),
        (
            Box::new(MaxPool2D::default()),
            &[8, 8, 1],
            "MaxPool2D: layer `max_pool2d`",
        ),
        (
            Box::new(AvgPool2D::default()),
            &[1, 1, 8, 8, 1],
            "AvgPool2D: layer `avg_pool2d`",
        ),
        (
            Box::new(GlobalAveragePooling),
            &[2, 16],
            "GlobalAveragePooling: layer `global_average_pooling`",
        ),
        (Box::new(Flatten), &[], "Flatten: layer `flatten`"),
        (
            Box::new(BatchNorm::default()),
            &[5],
            "BatchNorm: layer `batch_norm`",
        ),
        (
            Box::new(LayerNorm::default()),
            &[],
            "LayerNorm: layer `layer_norm`",
        ),
        (Box::new(Softmax), &[], "Softmax: layer `softmax`"),
    ];
    for (layer, shape, layer_at) in cases {
        let empty = TensorMap::new();
        let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
        let err = ctx
            .call(layer.as_ref(), &Tensor::zeros(shape))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&format!("{layer_at} got")), "{err}");
        assert!(err.contains(&format!("input of shape {shape:?}")), "{err}");
    }
}

#[test]
fn a_conv2d_rank_error_says_what_input_it_takes() {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
    let err = ctx
        .call(&Conv2D::new(2, (3, 3)), &Tensor::zeros(&[8, 8, 1]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "Conv2D: layer `conv2d` got input of shape [8, 8, 1] (3 axes), but Conv2D takes \
             NHWC images [batch, height, width, channels]"
        ),
        "{err}"
    );
}

#[test]
fn invalid_configurations_are_errors_naming_the_layer() {
    let x = Tensor::ones(&[2, 3]);
    let cases: Vec<(Box<dyn Module>, &str)> = vec![
        (
            Box::new(Dropout::new(1.0)),
            "Dropout: layer `dropout` has rate 1",
        ),
        (
            Box::new(Linear::new(0)),
            "Linear: layer `linear` has units 0",
        ),
        (
            Box::new(Mlp::new(&[])),
            "Mlp: layer `mlp` has no layer sizes",
        ),
        (
            Box::new(BatchNorm::default().momentum(1.5)),
            "BatchNorm: layer `batch_norm` has momentum 1.5",
        ),
        (
            Box::new(LayerNorm::default().epsilon(-1.0)),
            "LayerNorm: layer `layer_norm` has epsilon -1",
        ),
        (
            Box::new(Embedding::new(0, 4)),
            "Embedding: layer `embedding` has vocab_size 0",
        ),
    ];
    for (layer, expected) in cases {
        let empty = TensorMap::new();
        let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
        let err = ctx.call(layer.as_ref(), &x).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{err}");
    }
}

#[test]
fn an_input_of_another_width_after_initialization_is_an_error_naming_the_parameter() {
    let layer = Linear::new(2);
    let (params, states) = init(&layer, &Tensor::ones(&[1, 3]));
    let err = apply(&layer, &Tensor::ones(&[1, 4]), &params, &states, false, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`linear/kernel` has shape [3, 2]"), "{err}");
}

#[test]
fn named_layers_take_structured_data_too() {
    let empty = TensorMap::new();
    let mut ctx = ModuleContext::new(&empty, &empty, true, true, RngKey::new(0));
    let y = ctx
        .call_data(
            &Linear::new(2).named("head"),
            &Data::from(Tensor::ones(&[1, 3])),
        )
        .unwrap();
    assert_eq!(y.as_tensor("y").unwrap().shape(), &[1, 2]);
}
