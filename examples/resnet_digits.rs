//! A small residual CNN on the 8x8 digits: each block is `x + f(x)` through `Residual`, and the
//! downsampling block adds a 1x1 projection of its input to its branch with `Branches` and
//! `Merge::Add`, as ResNet's projection shortcut does. No `Module` of our own.
//!
//! `cargo run --release --example resnet_digits`

use elegy::Padding;
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::metrics::SparseCategoricalAccuracy;
use elegy::module::Sequential;
use elegy::module::layers::{
    BatchNorm, Branches, Conv2D, GlobalAveragePooling, Linear, Merge, Relu, Residual,
};
use elegy::optimizers::{Adam, Schedule};
use elegy::{EvaluateOptions, FitOptions, Result, Runner, datasets};

/// Two 3x3 convolutions of `channels`, with batch normalization.
fn branch(channels: usize, stride: usize) -> Sequential {
    Sequential::new()
        .layer(
            Conv2D::new(channels, (3, 3))
                .padding(Padding::Same)
                .stride((stride, stride)),
        )
        .layer(BatchNorm::new().momentum(0.9))
        .layer(Relu)
        .layer(Conv2D::new(channels, (3, 3)).padding(Padding::Same))
        .layer(BatchNorm::new().momentum(0.9))
}

/// `relu(x + f(x))`.
fn identity_block(channels: usize) -> Sequential {
    Sequential::new()
        .layer(Residual::new(branch(channels, 1)))
        .layer(Relu)
}

/// `relu(project(x) + f(x))`, halving the resolution and changing the channels.
fn downsampling_block(channels: usize) -> Sequential {
    let projection = Sequential::new()
        .layer(Conv2D::new(channels, (1, 1)).stride((2, 2)))
        .layer(BatchNorm::new().momentum(0.9));
    Sequential::new()
        .layer(
            Branches::new(Merge::Add)
                .branch(branch(channels, 2))
                .branch(projection),
        )
        .layer(Relu)
}

fn main() -> Result<()> {
    let digits = datasets::digits()?;
    let images = digits.x.div_scalar(16.0).reshape(&[-1, 8, 8, 1])?;
    let (x_train, y_train, x_test, y_test) = datasets::train_test_split(images, digits.y, 0.2, 0)?;

    let resnet = Sequential::new()
        .layer(Conv2D::new(16, (3, 3)).padding(Padding::Same))
        .layer(BatchNorm::new().momentum(0.9))
        .layer(Relu)
        .layer(identity_block(16))
        .layer(downsampling_block(32))
        .layer(identity_block(32))
        .layer(GlobalAveragePooling)
        .layer(Linear::new(10));
    let mut runner = Runner::for_module(resnet)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .metric(SparseCategoricalAccuracy)
        // The rate decays to settle the weights, and with them the statistics that batch
        // normalization keeps for evaluation.
        .optimizer(Adam {
            learning_rate: Schedule::CosineDecay {
                initial: 3e-3,
                decay_steps: 15 * 41,
                alpha: 0.0,
                warmup_steps: 0,
                warmup_target: None,
            },
            ..Adam::default()
        })
        .seed(0)
        .build()?;
    runner.summary(x_train.clone())?;
    runner.fit(
        x_train,
        y_train,
        FitOptions {
            epochs: 15,
            batch_size: 32,
            validation_split: 0.1,
            ..Default::default()
        },
    )?;
    let logs = runner.evaluate(x_test, y_test, EvaluateOptions::default())?;
    println!("test accuracy: {:.4}", logs["sparse_categorical_accuracy"]);
    Ok(())
}
