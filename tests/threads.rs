//! Training gives the same bits whatever the number of threads: products are cut by their shapes
//! (never along the summed axis) and sums reduced in a fixed order, so 1, 2, 3 and 8 threads
//! must agree exactly on every parameter and every log.
//!
//! Each count is set with `with_num_threads`, which touches only the calling thread, so the
//! tests of this file may run in parallel. (A loop started while another thread's loop holds the
//! executor runs on its own thread alone; the results must agree then too.)

use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::module::Sequential;
use elegy::module::layers::{AvgPool2D, Conv2D, Flatten, Linear, MaxPool2D, Relu};
use elegy::optimizers::Adam;
use elegy::{Activation, FitOptions, Padding, RngKey, Runner, Tensor, with_num_threads};

const COUNTS: [usize; 4] = [1, 2, 3, 8];

/// Every parameter's values and every log of each epoch, as bits.
type Outcome = (Vec<(String, Vec<u32>)>, Vec<(String, Vec<u32>)>);

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Trains `model` for two epochs on `x` and labels in `0..10`, and returns what it ended with.
fn train(model: Sequential, x: &Tensor) -> Outcome {
    let n = x.shape()[0];
    let y = Tensor::from((0..n).map(|i| ((i * 7) % 10) as f32).collect::<Vec<_>>());
    let mut runner = Runner::for_module(model)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        .optimizer(Adam::new(1e-2))
        .seed(3)
        .build()
        .unwrap();
    let history = runner
        .fit(
            x.clone(),
            y,
            FitOptions {
                epochs: 2,
                batch_size: 64,
                verbose: 0,
                ..Default::default()
            },
        )
        .expect("training runs");
    let params = runner
        .states()
        .net_params
        .iter()
        .map(|(name, t)| (name.to_string(), bits(&t.to_vec())))
        .collect();
    let logs = history
        .logs
        .iter()
        .map(|(name, values)| (name.clone(), bits(values)))
        .collect();
    (params, logs)
}

fn assert_same_for_every_count(run: impl Fn() -> Outcome) {
    let one = with_num_threads(1, &run);
    for threads in &COUNTS[1..] {
        let other = with_num_threads(*threads, &run);
        assert!(
            other.0 == one.0,
            "parameters differ between 1 and {threads} threads"
        );
        assert!(
            other.1 == one.1,
            "logs differ between 1 and {threads} threads"
        );
    }
}

#[test]
fn an_mlp_trains_to_the_same_bits_with_1_2_3_and_8_threads() {
    // 64 x 512 x 1024 products are cut in four, 64 x 1024 column sums in blocks, and Adam's
    // update of the 512 x 1024 kernel in halves.
    let x = Tensor::uniform(&[192, 512], -1.0, 1.0, RngKey::new(1));
    assert_same_for_every_count(|| {
        let model = Sequential::new()
            .layer(Linear::new(1024).activation(Activation::Relu))
            .layer(Linear::new(10));
        train(model, &x)
    });
}

#[test]
fn a_cnn_trains_to_the_same_bits_with_1_2_3_and_8_threads() {
    // im2col, col2im and both pools in pieces of samples.
    let x = Tensor::uniform(&[128, 10, 10, 3], 0.0, 1.0, RngKey::new(2));
    assert_same_for_every_count(|| {
        let model = Sequential::new()
            .layer(Conv2D::new(8, (3, 3)).padding(Padding::Same))
            .layer(Relu)
            .layer(MaxPool2D::new((2, 2)))
            .layer(AvgPool2D::new((2, 2)).padding(Padding::Same))
            .layer(Flatten)
            .layer(Linear::new(10));
        train(model, &x)
    });
}
