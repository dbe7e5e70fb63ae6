//! Gradient checks: index ops.
