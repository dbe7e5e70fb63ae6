//! A GAN trained with no labels anywhere, in the spirit of Elegy's WGAN-GP example: a generator
//! learns a mixture of eight Gaussians on a circle from a critic that scores real against
//! generated points.
//!
//! The model overrides three steps. `init_step` makes both networks: the generator's parameters
//! are `net_params` (so `predict` on noise generates points), the critic's and the two optimizer
//! states are fields of their own in the `States`, saved with a checkpoint like any other.
//! `train_step` updates the critic, then the generator, each with its own Adam. The data are points alone: `fit(points, NoTargets, ..)`.
//!
//! The gradient penalty of WGAN-GP asks for the gradient of the critic with respect to its
//! input, differentiated again with respect to the critic's parameters. Our tape computes first
//! derivatives, so the input gradient is taken by central differences instead: two directions
//! span the plane, so the gradient is exact up to O(h^2) (and the critic is piecewise linear),
//! and the tape differentiates the differences like any other expression.
//!
//! The measure: the mean distance from a generated point to the nearest mode, and how many of
//! the eight modes the generator covers, before and during training.
//!
//! `cargo run --release --example gan`

use std::f32::consts::PI;

use elegy::optimizers::{Adam, Optimizer};
use elegy::prelude::*;
use elegy::{NoTargets, TrainStep};

/// The radius of the circle the modes sit on, and each mode's standard deviation.
const RADIUS: f32 = 2.0;
const MODE_STD: f32 = 0.05;
const MODES: usize = 8;
/// The width of the generator's noise.
const NOISE: usize = 4;
/// The weight of the gradient penalty, and the step of its central differences. WGAN-GP's paper
/// weighs the penalty 10 and updates the critic five times per generator update; on this toy,
/// one update of each per batch with a lighter penalty learns the mixture in a fraction of the
/// epochs.
const PENALTY: f32 = 0.1;
const H: f32 = 1e-3;

struct Gan {
    generator_optimizer: Adam,
    critic_optimizer: Adam,
}

/// Parameters of a ReLU perceptron with layers of `sizes`, named `dense_0/w`, `dense_0/b`, ...
fn perceptron(sizes: &[usize], key: RngKey) -> Result<TensorMap> {
    let mut params = TensorMap::new();
    for (i, (key, pair)) in key
        .split_n(sizes.len())
        .into_iter()
        .zip(sizes.windows(2))
        .enumerate()
    {
        params.insert(
            format!("dense_{i}/w"),
            Initializer::HeUniform.init(&[pair[0], pair[1]], key)?,
        );
        params.insert(format!("dense_{i}/b"), Tensor::zeros(&[pair[1]]));
    }
    Ok(params)
}

/// The perceptron of `params` on `x`: ReLU between layers, linear output.
fn forward(params: &TensorMap, x: &Tensor) -> Result<Tensor> {
    let layers = params.len() / 2;
    let mut h = x.clone();
    for i in 0..layers {
        let w = params.require(&format!("dense_{i}/w"))?;
        let b = params.require(&format!("dense_{i}/b"))?;
        h = h.matmul(w)?.add(b)?;
        if i + 1 < layers {
            h = h.relu();
        }
    }
    Ok(h)
}

/// The WGAN-GP penalty `mean((|grad_x critic(x)| - 1)^2)` at `points`, the input gradient by
/// central differences along both axes (one pass of the critic over the four shifted copies).
fn gradient_penalty(critic: &TensorMap, points: &Tensor) -> Result<Tensor> {
    let n = points.shape()[0];
    let shift = |dx: f32, dy: f32| points.add(&Tensor::from_vec(vec![dx, dy], &[1, 2])?);
    let shifted = Tensor::concat(
        &[
            shift(H, 0.0)?,
            shift(-H, 0.0)?,
            shift(0.0, H)?,
            shift(0.0, -H)?,
        ],
        0,
    )?;
    let scores = forward(critic, &shifted)?;
    let part = |i: usize| scores.slice(0, i * n, (i + 1) * n);
    let dx = part(0)?.sub(&part(1)?)?.div_scalar(2.0 * H);
    let dy = part(2)?.sub(&part(3)?)?.div_scalar(2.0 * H);
    let norm = dx.square().add(&dy.square())?.add_scalar(1e-12).sqrt();
    Ok(norm.sub_scalar(1.0).square().mean_all())
}

impl Model for Gan {
    #[step]
    fn init_step(&self, states: States) -> Result<States> {
        let (generator_key, critic_key) = states.rng.split();
        let generator = perceptron(&[NOISE, 64, 64, 2], generator_key)?;
        let critic = perceptron(&[2, 64, 64, 1], critic_key)?;
        let generator_state = self.generator_optimizer.init(&generator)?;
        let critic_state = self.critic_optimizer.init(&critic)?;
        Ok(states
            .with_net_params(generator)
            .with_field("critic", critic)
            .with_field("generator_optimizer", generator_state)
            .with_field("critic_optimizer", critic_state))
    }

    /// Points from noise `x`.
    #[step]
    fn pred_step(&self, x: &Tensor, states: States) -> Result<PredStep> {
        let points = forward(&states.net_params, x)?;
        Ok(PredStep::new(points, states))
    }

    /// One critic update on the real points `x`, then one generator update against the updated
    /// critic.
    #[step]
    fn train_step(&self, x: &Tensor, states: States) -> Result<TrainStep> {
        let n = x.shape()[0];
        let keys = states.rng.split_n(3);
        let generator = states.net_params.clone();
        let mut critic = states.field("critic")?.clone();
        let mut critic_state = states.field("critic_optimizer")?.clone();
        let generator_state = states.field("generator_optimizer")?.clone();

        let noise = Tensor::normal(&[n, NOISE], 0.0, 1.0, keys[0]);
        let fake = forward(&generator, &noise)?.detach();
        let mix = Tensor::uniform(&[n, 1], 0.0, 1.0, keys[1]);
        let between = x.mul(&mix)?.add(&fake.mul(&mix.rsub_scalar(1.0))?)?;
        let mut terms = (0.0, 0.0);
        let (critic_loss, grads) = value_and_grad(&critic, |c| {
            let distance = forward(c, x)?
                .mean_all()
                .sub(&forward(c, &fake)?.mean_all())?;
            let penalty = gradient_penalty(c, &between)?;
            terms = (distance.item()?, penalty.item()?);
            // Maximize the estimated Wasserstein distance, keeping the critic near 1-Lipschitz.
            distance.neg().add(&penalty.mul_scalar(PENALTY))
        })?;
        (critic, critic_state) = self.critic_optimizer.update(critic, &grads, critic_state)?;

        let noise = Tensor::normal(&[n, NOISE], 0.0, 1.0, keys[2]);
        let (generator_loss, grads) = value_and_grad(&generator, |g| {
            Ok(forward(&critic, &forward(g, &noise)?)?.mean_all().neg())
        })?;
        let (generator, generator_state) =
            self.generator_optimizer
                .update(generator, &grads, generator_state)?;
        let mut logs = Logs::new();
        logs.batch("generator_loss", generator_loss.item()?);
        logs.batch("loss", critic_loss.item()?);
        logs.batch("wasserstein", terms.0);
        logs.batch("gradient_penalty", terms.1);
        Ok(TrainStep {
            logs,
            states: states
                .with_net_params(generator)
                .with_field("critic", critic)
                .with_field("critic_optimizer", critic_state)
                .with_field("generator_optimizer", generator_state),
        })
    }
}

/// The centre of each mode.
fn modes() -> Vec<(f32, f32)> {
    (0..MODES)
        .map(|i| {
            let angle = 2.0 * PI * i as f32 / MODES as f32;
            (RADIUS * angle.cos(), RADIUS * angle.sin())
        })
        .collect()
}

/// `n` points of the mixture, as rows.
fn mixture(n: usize, key: RngKey) -> Result<Tensor> {
    let (which, offsets) = key.split();
    let which = Tensor::uniform(&[n], 0.0, MODES as f32, which).to_vec();
    let offsets = Tensor::normal(&[n, 2], 0.0, MODE_STD, offsets).to_vec();
    let centres = modes();
    let mut points = Vec::with_capacity(2 * n);
    for (i, w) in which.iter().enumerate() {
        let (cx, cy) = centres[(*w as usize).min(MODES - 1)];
        points.push(cx + offsets[2 * i]);
        points.push(cy + offsets[2 * i + 1]);
    }
    Tensor::from_vec(points, &[n, 2])
}

/// The mean distance of `points` to their nearest mode, and how many modes hold at least a
/// quarter of their fair share of the points within three standard deviations.
fn measure(points: &Tensor) -> (f32, usize) {
    let centres = modes();
    let values = points.to_vec();
    let mut hits = [0usize; MODES];
    let mut total = 0.0;
    for p in values.chunks(2) {
        let (nearest, distance) = centres
            .iter()
            .map(|(cx, cy)| ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt())
            .enumerate()
            .fold(
                (0, f32::INFINITY),
                |best, (i, d)| if d < best.1 { (i, d) } else { best },
            );
        total += distance;
        if distance < 3.0 * MODE_STD {
            hits[nearest] += 1;
        }
    }
    let n = values.len() / 2;
    let fair = n / MODES;
    (
        total / n as f32,
        hits.iter().filter(|&&h| 4 * h >= fair).count(),
    )
}

fn main() -> Result<()> {
    let adam = Adam {
        beta_1: 0.5,
        beta_2: 0.9,
        ..Adam::new(2e-3)
    };
    let mut runner = Runner::new(Gan {
        generator_optimizer: adam.clone(),
        critic_optimizer: adam,
    })
    .seed(0)
    .build()?;
    let key = RngKey::new(1);
    let (data_key, noise_key) = key.split();
    let points = mixture(8192, data_key)?;
    let noise = Tensor::normal(&[2000, NOISE], 0.0, 1.0, noise_key);

    runner.init(points.clone(), None, 256)?;
    let generated = |runner: &mut Runner<Gan>| -> Result<(f32, usize)> {
        let points = runner.predict(noise.clone(), PredictOptions::default())?;
        Ok(measure(points.as_tensor("generated points")?))
    };
    let (start, covered) = generated(&mut runner)?;
    println!(
        "before training: mean distance to the nearest mode {start:.3}, modes covered {covered}/{MODES}"
    );
    let (rounds, epochs_each) = (10, 25);
    let mut last = start;
    for round in 0..rounds {
        let history = runner.fit(
            points.clone(),
            NoTargets,
            FitOptions {
                epochs: (round + 1) * epochs_each,
                initial_epoch: round * epochs_each,
                batch_size: 256,
                verbose: 0,
                ..Default::default()
            },
        )?;
        let (distance, covered) = generated(&mut runner)?;
        last = distance;
        println!(
            "epoch {:>3}: mean distance to the nearest mode {distance:.3}, modes covered \
             {covered}/{MODES}, critic's Wasserstein estimate {:.3}",
            (round + 1) * epochs_each,
            history.last("wasserstein").unwrap_or(f32::NAN),
        );
    }
    println!(
        "the mean distance fell {:.0}x (from {start:.3} to {last:.3})",
        start / last
    );
    Ok(())
}
