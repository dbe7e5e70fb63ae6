//! Gradient checks: reduce ops.
