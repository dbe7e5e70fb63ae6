//! Gradient checks: softmax ops.
