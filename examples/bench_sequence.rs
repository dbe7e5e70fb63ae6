//! The sequence benchmark, beside `bench_mlp`: training through `fit` of
//!
//! - `lstm`: an LSTM(128) over sequences of 64 steps of 32 features, its last state into a
//!   dense layer of 10 classes; 4,096 synthetic samples at batch 64;
//! - `encoder`: one pre-norm transformer encoder block (width 128, 4 heads, feed-forward 512 with
//!   GELU) over sequences of 64 embedded steps, the mean over time into 10 classes; 2,048
//!   samples at batch 32.
//!
//! Adam 1e-3, softmax cross-entropy from logits. Prints the CPU, the median epoch seconds after
//! a warm-up epoch and training steps per second. The same workloads in PyTorch eager:
//! `python3 benches/peers/sequence_torch.py`; run both in one session and compare the ratio.
//!
//! `cargo run --release --example bench_sequence [-- --only lstm|encoder --epochs 3]`; with
//! `--fraction K` on a K-th of the samples.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use elegy::callbacks::{Callback, CallbackContext, LogValues};
use elegy::losses::SparseCategoricalCrossentropy;
use elegy::module::Sequential;
use elegy::module::layers::{Gelu, LayerNorm, Linear, Lstm, MultiHeadAttention, Residual};
use elegy::optimizers::Adam;
use elegy::{FitOptions, Result, RngKey, Runner, Tensor};

/// Each epoch's wall seconds.
#[derive(Default)]
struct EpochTimer {
    started: Option<Instant>,
    seconds: Rc<RefCell<Vec<f64>>>,
}

impl Callback for EpochTimer {
    fn on_epoch_begin(&mut self, _: usize, _: &mut CallbackContext<'_>) -> Result<()> {
        self.started = Some(Instant::now());
        Ok(())
    }
    fn on_epoch_end(
        &mut self,
        _: usize,
        _: &mut CallbackContext<'_>,
        _: &mut LogValues,
    ) -> Result<()> {
        if let Some(start) = self.started.take() {
            self.seconds
                .borrow_mut()
                .push(start.elapsed().as_secs_f64());
        }
        Ok(())
    }
}

/// The mean over the time axis of `[batch, time, features]`.
struct MeanOverTime;

impl elegy::module::Module for MeanOverTime {
    fn kind(&self) -> &'static str {
        "MeanOverTime"
    }
    fn forward(&self, x: &Tensor, _: &mut elegy::module::ModuleContext<'_>) -> Result<Tensor> {
        x.mean(&[1], false)
    }
}

fn bench(name: &str, model: Sequential, x: Tensor, batch: usize, epochs: usize) -> Result<()> {
    let n = x.shape()[0];
    let labels: Vec<f32> = (0..n).map(|i| ((i * 7 + i / 3) % 10) as f32).collect();
    let y = Tensor::from(labels);
    let mut runner = Runner::for_module(model)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Adam::new(1e-3))
        .seed(0)
        .build()?;
    let timer = EpochTimer::default();
    let seconds = timer.seconds.clone();
    let history = runner.fit(
        x,
        y,
        FitOptions {
            epochs: epochs + 1,
            batch_size: batch,
            verbose: 0,
            callbacks: vec![Box::new(timer)],
            ..Default::default()
        },
    )?;
    let mut secs = seconds.borrow()[1..].to_vec();
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    let steps = n.div_ceil(batch) as f64;
    println!(
        "elegy {name}: epoch {median:.3} s (min {:.3}, max {:.3}), {:.1} steps/s, last loss {:.4}",
        secs[0],
        secs[secs.len() - 1],
        steps / median,
        history.last("loss").unwrap_or(f32::NAN)
    );
    Ok(())
}

fn encoder_block() -> Sequential {
    Sequential::new()
        .layer(Residual::new(
            Sequential::new()
                .layer(LayerNorm::default())
                .layer(MultiHeadAttention::new(4, 32)),
        ))
        .layer(Residual::new(
            Sequential::new()
                .layer(LayerNorm::default())
                .layer(Linear::new(512))
                .layer(Gelu)
                .layer(Linear::new(128)),
        ))
}

fn cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("model name"))?;
            Some(line.split(':').nth(1)?.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        let i = args.iter().position(|a| a == flag)?;
        args.get(i + 1).cloned()
    };
    let only = value("--only");
    let epochs: usize = value("--epochs").and_then(|e| e.parse().ok()).unwrap_or(3);
    // Fewer samples for a quick look (an instruction count under callgrind, say).
    let scale: usize = value("--fraction")
        .and_then(|e| e.parse().ok())
        .unwrap_or(1);
    println!("{} on {} thread(s)", cpu(), elegy::num_threads());
    if only.as_deref().is_none_or(|o| o == "lstm") {
        let x = Tensor::normal(&[4096 / scale, 64, 32], 0.0, 1.0, RngKey::new(7));
        let model = Sequential::new()
            .layer(Lstm::new(128))
            .layer(Linear::new(10));
        bench("lstm", model, x, 64, epochs)?;
    }
    if only.as_deref().is_none_or(|o| o == "encoder") {
        let x = Tensor::normal(&[2048 / scale, 64, 128], 0.0, 1.0, RngKey::new(8));
        let model = Sequential::new()
            .layer(encoder_block())
            .layer(MeanOverTime)
            .layer(Linear::new(10));
        bench("encoder", model, x, 32, epochs)?;
    }
    Ok(())
}
