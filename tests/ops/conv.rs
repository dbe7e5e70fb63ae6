//! Gradient checks: conv ops.
