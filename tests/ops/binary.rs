//! Gradient checks: binary ops.
