//! Gradient checks: matmul ops.
