//! `cargo bench --bench mlp`: forward + backward of a 784-256-256-10 MLP (the fused `linear` op
//! and relu) with softmax cross-entropy, at batch 64 and 256, beside the same matrix products
//! done alone as plain `matmul`s (the ceiling the engine's overhead is measured against), and
//! beside ndarray's own `dot` on the same shapes.
//!
//! Prints per batch size: median milliseconds per step, samples/s, achieved GFLOP/s, and the
//! GFLOP/s of the bare products. FLOPs count the products only: 3 forward, 3 weight gradients,
//! and 2 input gradients (none flows to the data).

use std::hint::black_box;
use std::time::Instant;

use elegy::{Initializer, RngKey, Tensor, TensorMap, value_and_grad};
use ndarray::{Array2, Ix2};

const SIZES: [usize; 4] = [784, 256, 256, 10];

fn params() -> TensorMap {
    let mut map = TensorMap::new();
    for (i, pair) in SIZES.windows(2).enumerate() {
        let key = RngKey::new(i as u64);
        let w = Initializer::GlorotUniform
            .init(&[pair[0], pair[1]], key)
            .expect("valid shape");
        map.insert(format!("w{i}"), w);
        map.insert(format!("b{i}"), Tensor::zeros(&[pair[1]]));
    }
    map
}

fn loss(p: &TensorMap, x: &Tensor, onehot: &Tensor) -> elegy::Result<Tensor> {
    let mut h = x.clone();
    for i in 0..3 {
        h = h.linear(
            p.require(&format!("w{i}"))?,
            Some(p.require(&format!("b{i}"))?),
        )?;
        if i < 2 {
            h = h.relu();
        }
    }
    let nll = h.log_softmax(-1)?.mul(onehot)?.sum(&[-1], false)?.neg();
    Ok(nll.mean_all())
}

/// Median seconds of `f` over `reps` runs after `warmup` runs.
fn median_seconds(warmup: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[reps / 2]
}

/// The eight products of one step, each a plain `matmul` of untracked tensors (the engine's
/// product: `gemm` cut over two threads, or BLAS); the transposed operands are made
/// before timing.
fn bare_products(x: &[Tensor; 2], w: &[[Tensor; 2]], h: &[[Tensor; 2]], g: &[Tensor]) {
    let mm = |a: &Tensor, b: &Tensor| black_box(a.matmul(b).expect("shapes agree"));
    // forward
    mm(&x[0], &w[0][0]);
    mm(&h[0][0], &w[1][0]);
    mm(&h[1][0], &w[2][0]);
    // weight gradients: input^T . grad
    mm(&x[1], &g[0]);
    mm(&h[0][1], &g[1]);
    mm(&h[1][1], &g[2]);
    // input gradients of layers 2 and 3: grad . W^T
    mm(&g[2], &w[2][1]);
    mm(&g[1], &w[1][1]);
}

/// The same eight products with ndarray's own `dot` (single-threaded matrixmultiply, or BLAS
/// with the `blas` feature), for comparison with the engine's product.
fn bare_dots(
    x: &[Array2<f32>; 2],
    w: &[[Array2<f32>; 2]],
    h: &[[Array2<f32>; 2]],
    g: &[Array2<f32>],
) {
    black_box(x[0].dot(&w[0][0]));
    black_box(h[0][0].dot(&w[1][0]));
    black_box(h[1][0].dot(&w[2][0]));
    black_box(x[1].dot(&g[0]));
    black_box(h[0][1].dot(&g[1]));
    black_box(h[1][1].dot(&g[2]));
    black_box(g[2].dot(&w[2][1]));
    black_box(g[1].dot(&w[1][1]));
}

fn main() {
    // As fit does: keep freed memory for the next step instead of faulting it in again.
    elegy::runner::retain_freed_memory();
    let p = params();
    let flops_per_sample: f64 = {
        let layer: Vec<f64> = SIZES.windows(2).map(|s| (s[0] * s[1]) as f64).collect();
        2.0 * (2.0 * layer.iter().sum::<f64>() + layer[1] + layer[2])
    };
    println!(
        "{:>6} {:>10} {:>12} {:>10} {:>14} {:>14} {:>8}",
        "batch", "ms/step", "samples/s", "GFLOP/s", "matmul GFLOP/s", "ndarray dot", "ratio"
    );
    for batch in [64usize, 256] {
        let x = Tensor::uniform(&[batch, SIZES[0]], 0.0, 1.0, RngKey::new(10));
        let labels: Vec<usize> = (0..batch).map(|i| (i * 7) % 10).collect();
        let mut onehot = Array2::<f32>::zeros((batch, 10));
        for (i, &c) in labels.iter().enumerate() {
            onehot[[i, c]] = 1.0;
        }
        let onehot = Tensor::new(onehot);
        let reps = if batch == 64 { 200 } else { 60 };
        let step = median_seconds(10, reps, || {
            let out = value_and_grad(&p, |p| loss(p, &x, &onehot)).expect("valid model");
            black_box(out);
        });

        let both = |t: Tensor| [t.clone(), t.transpose().expect("2-D")];
        let xs = both(x.clone());
        let w: Vec<[Tensor; 2]> = (0..3)
            .map(|i| both(p.require(&format!("w{i}")).expect("made above").detach()))
            .collect();
        let h: Vec<[Tensor; 2]> = (0..2).map(|_| both(Tensor::ones(&[batch, 256]))).collect();
        let g: Vec<Tensor> = [256, 256, 10]
            .iter()
            .map(|&d| Tensor::ones(&[batch, d]))
            .collect();
        let bare = median_seconds(10, reps, || bare_products(&xs, &w, &h, &g));
        let arr = |t: &Tensor| t.to_dimensionality::<Ix2>().expect("2-D").to_owned();
        let pair = |p: &[Tensor; 2]| [arr(&p[0]), arr(&p[1])];
        let (xa, wa, ha) = (
            pair(&xs),
            w.iter().map(pair).collect::<Vec<_>>(),
            h.iter().map(pair).collect::<Vec<_>>(),
        );
        let ga: Vec<Array2<f32>> = g.iter().map(arr).collect();
        let dots = median_seconds(10, reps, || bare_dots(&xa, &wa, &ha, &ga));

        let flops = flops_per_sample * batch as f64;
        println!(
            "{batch:>6} {:>10.3} {:>12.0} {:>10.1} {:>14.1} {:>14.1} {:>8.2}",
            step * 1e3,
            batch as f64 / step,
            flops / step / 1e9,
            flops / bare / 1e9,
            flops / dots / 1e9,
            step / bare
        );
    }
    println!(
        "ratio: step time over the bare products' time (1.00 = no overhead beyond the matmuls)"
    );
}
