//! Gradient checks of every differentiable op against central finite differences, and the
//! errors each op gives for bad input. One test binary; one module per family of ops.

mod common;

mod attention;
mod binary;
mod composed;
mod conv;
mod crossentropy;
mod index;
mod linear;
mod lstm_cell;
mod matmul;
mod reduce;
mod shape;
mod softmax;
mod unary;
