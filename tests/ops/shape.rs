//! Gradient checks: shape ops.
