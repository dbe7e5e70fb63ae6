//! Fixtures shared by the integration tests (each test file that needs them says `mod common;`).

// Each test binary uses only some of these.
#![allow(dead_code)]

use elegy::step::PredContext;
use elegy::{Initializer, Model, PredStep, Result, Tensor, TensorMap};

/// Softmax regression over flattened inputs scaled by 1/16 (the digits' pixel range).
pub struct Linear {
    /// The number of classes: the width of the output.
    pub classes: usize,
}

impl Model for Linear {
    fn pred_step(&self, ctx: PredContext<'_>) -> Result<PredStep> {
        let x = ctx.x.as_tensor("x")?;
        let x = x.reshape(&[x.shape()[0] as isize, -1])?.div_scalar(16.0);
        let params = if ctx.initializing {
            let (k, _) = ctx.states.rng.split();
            TensorMap::new()
                .with(
                    "w",
                    Initializer::GlorotUniform.init(&[x.shape()[1], self.classes], k)?,
                )
                .with("b", Tensor::zeros(&[self.classes]))
        } else {
            ctx.states.net_params.clone()
        };
        let y = x.matmul(params.require("w")?)?.add(params.require("b")?)?;
        Ok(PredStep::new(y, ctx.states.with_net_params(params)))
    }
}

/// A `.npy` file of format `major`.0 whose header is exactly `dict` (padded with spaces and a
/// newline to a multiple of 64 bytes, as NumPy pads it), followed by `data`.
pub fn npy_with_header(major: u8, dict: &str, data: &[u8]) -> Vec<u8> {
    let prefix = if major == 1 { 10 } else { 12 };
    let mut header = dict.to_string();
    while !(prefix + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY".to_vec();
    bytes.extend_from_slice(&[major, 0]);
    if major == 1 {
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}
