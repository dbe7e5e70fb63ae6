//! Gradient checks: composed ops.
