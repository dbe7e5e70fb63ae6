//! Gradient checks: unary ops.
