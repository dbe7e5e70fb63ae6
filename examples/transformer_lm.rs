//! A small decoder-only transformer language model over characters, trained on two bundled
//! plays of Shakespeare (Hamlet and The Tempest, `examples/data/shakespeare/`, public domain;
//! see the README's data section). Every block is two pre-norm residual branches, causal
//! multi-head attention and a GELU feed-forward: a few lines of `Sequential`.
//!
//! `cargo run --release --example transformer_lm`
//!
//! Prints the validation loss in bits per character beside the unigram and bigram baselines
//! (fitted on the training text, add-one smoothed), then samples text from a seed.

use elegy::losses::SparseCategoricalCrossentropy;
use elegy::module::Sequential;
use elegy::module::layers::{
    Embedding, Gelu, LayerNorm, Linear, MultiHeadAttention, PositionEmbedding, Residual,
};
use elegy::optimizers::{Adam, Schedule};
use elegy::{EvaluateOptions, FitOptions, PredictOptions, Result, RngKey, Runner, Tensor};

const TEXT: [&str; 2] = [
    include_str!("data/shakespeare/hamlet.txt"),
    include_str!("data/shakespeare/the_tempest.txt"),
];
const CONTEXT: usize = 64;
const WIDTH: usize = 96;
const HEADS: usize = 4;
const BLOCKS: usize = 3;
const EPOCHS: usize = 6;

/// A pre-norm decoder block: causal self-attention, then a feed-forward, each around a
/// residual connection.
fn block() -> Sequential {
    Sequential::new()
        .layer(Residual::new(
            Sequential::new()
                .layer(LayerNorm::default())
                .layer(MultiHeadAttention::new(HEADS, WIDTH / HEADS).causal()),
        ))
        .layer(Residual::new(
            Sequential::new()
                .layer(LayerNorm::default())
                .layer(Linear::new(4 * WIDTH))
                .layer(Gelu)
                .layer(Linear::new(WIDTH)),
        ))
}

/// Windows of `CONTEXT` characters from `ids`, every `stride`: inputs and the next character at
/// each position.
fn windows(ids: &[usize], stride: usize) -> Result<(Tensor, Tensor)> {
    let starts: Vec<usize> = (0..ids.len() - CONTEXT - 1).step_by(stride).collect();
    let take = |offset: usize| -> Vec<f32> {
        starts
            .iter()
            .flat_map(|&s| {
                ids[s + offset..s + offset + CONTEXT]
                    .iter()
                    .map(|&c| c as f32)
            })
            .collect()
    };
    Ok((
        Tensor::from_vec(take(0), &[starts.len(), CONTEXT])?,
        Tensor::from_vec(take(1), &[starts.len(), CONTEXT])?,
    ))
}

/// Bits per character of the targets `next` (after `prev`) under add-one smoothed unigram and
/// bigram counts of `train`.
fn baselines(train: &[usize], prev: &[usize], next: &[usize], vocab: usize) -> (f64, f64) {
    let mut unigram = vec![1.0f64; vocab];
    let mut bigram = vec![vec![1.0f64; vocab]; vocab];
    for w in train.windows(2) {
        unigram[w[1]] += 1.0;
        bigram[w[0]][w[1]] += 1.0;
    }
    let total: f64 = unigram.iter().sum();
    let rows: Vec<f64> = bigram.iter().map(|r| r.iter().sum()).collect();
    let (mut uni, mut bi) = (0.0, 0.0);
    for (&p, &c) in prev.iter().zip(next) {
        uni -= (unigram[c] / total).log2();
        bi -= (bigram[p][c] / rows[p]).log2();
    }
    (uni / next.len() as f64, bi / next.len() as f64)
}

fn main() -> Result<()> {
    let text: String = TEXT.concat();
    let mut chars: Vec<char> = text.chars().collect();
    chars.sort_unstable();
    chars.dedup();
    let vocab = chars.len();
    let id = |c: char| chars.binary_search(&c).expect("in the vocabulary");
    let ids: Vec<usize> = text.chars().map(id).collect();
    // The last tenth (the end of The Tempest) is held out.
    let split = ids.len() * 9 / 10;
    let (train_ids, val_ids) = (&ids[..split], &ids[split..]);
    let (x, y) = windows(train_ids, CONTEXT / 2)?;
    let (x_val, y_val) = windows(val_ids, CONTEXT)?;
    println!(
        "{} characters ({vocab} distinct): {} training windows of {CONTEXT}, {} validation",
        ids.len(),
        x.shape()[0],
        x_val.shape()[0]
    );

    let mut model = Sequential::new()
        .layer(Embedding::new(vocab, WIDTH))
        .layer(PositionEmbedding::new(CONTEXT));
    for _ in 0..BLOCKS {
        model = model.layer(block());
    }
    let model = model.layer(LayerNorm::default()).layer(Linear::new(vocab));
    let steps = EPOCHS * x.shape()[0].div_ceil(32);
    let mut runner = Runner::for_module(model)
        .loss(SparseCategoricalCrossentropy::from_logits())
        .optimizer(Adam {
            learning_rate: Schedule::CosineDecay {
                initial: 0.0,
                decay_steps: steps as u64,
                alpha: 0.05,
                warmup_steps: 100,
                warmup_target: Some(3e-3),
            },
            ..Adam::default()
        })
        .seed(0)
        .build()?;
    runner.fit(
        x,
        y,
        FitOptions {
            epochs: EPOCHS,
            batch_size: 32,
            ..Default::default()
        },
    )?;

    // Validation: the same windows' targets under the baselines.
    let logs = runner.evaluate(x_val.clone(), y_val.clone(), EvaluateOptions::default())?;
    let bits = logs["loss"] as f64 / std::f64::consts::LN_2;
    let prev: Vec<usize> = x_val.to_vec().iter().map(|&v| v as usize).collect();
    let next: Vec<usize> = y_val.to_vec().iter().map(|&v| v as usize).collect();
    let (unigram, bigram) = baselines(train_ids, &prev, &next, vocab);
    println!("validation: {bits:.3} bits per character (unigram {unigram:.3}, bigram {bigram:.3})");

    // Sampling, temperature 0.8, from a seed.
    let mut context: Vec<usize> = "HAMLET.\n".chars().map(id).collect();
    let mut key = RngKey::new(7);
    let mut sample = String::new();
    for _ in 0..400 {
        let start = context.len().saturating_sub(CONTEXT);
        let window: Vec<f32> = context[start..].iter().map(|&c| c as f32).collect();
        let n = window.len();
        let logits = runner
            .predict(
                Tensor::from_vec(window, &[1, n])?,
                PredictOptions::default(),
            )?
            .into_tensor()?;
        let last: Vec<f32> = logits.to_vec()[(n - 1) * vocab..].to_vec();
        let top = last.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let weights: Vec<f64> = last
            .iter()
            .map(|&v| (((v - top) / 0.8) as f64).exp())
            .collect();
        let (draw, next_key) = key.split();
        key = next_key;
        let mut u =
            Tensor::uniform(&[1], 0.0, 1.0, draw).to_vec()[0] as f64 * weights.iter().sum::<f64>();
        let mut choice = vocab - 1;
        for (c, w) in weights.iter().enumerate() {
            if u < *w {
                choice = c;
                break;
            }
            u -= w;
        }
        context.push(choice);
        sample.push(chars[choice]);
    }
    println!("--- sampled after \"HAMLET.\\n\" ---\nHAMLET.\n{sample}");
    Ok(())
}
