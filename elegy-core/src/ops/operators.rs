//! Operator overloading: `&a + &b` (fallible, so it yields a `Result`), `&x * 2.0` and `-&x`.
//!
//! Two tensors may not broadcast, so their operators return `Result<Tensor>`; a tensor and a
//! scalar always combine, so those return a `Tensor`.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::error::Result;
use crate::tensor::Tensor;

macro_rules! tensor_operator {
    ($trait:ident, $method:ident, $tensor_op:ident, $scalar_op:ident, $reversed_scalar:expr) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: &Tensor) -> Result<Tensor> {
                Tensor::$tensor_op(&self, rhs)
            }
        }
        impl $trait<Tensor> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Tensor) -> Result<Tensor> {
                Tensor::$tensor_op(&self, &rhs)
            }
        }
        impl $trait<&Tensor> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: &Tensor) -> Result<Tensor> {
                Tensor::$tensor_op(&self, rhs)
            }
        }
        impl $trait<Tensor> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: Tensor) -> Result<Tensor> {
                Tensor::$tensor_op(&self, &rhs)
            }
        }
        impl $trait<f32> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                Tensor::$scalar_op(&self, rhs)
            }
        }
        impl $trait<f32> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                Tensor::$scalar_op(&self, rhs)
            }
        }
        impl $trait<&Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                let reversed: fn(&Tensor, f32) -> Tensor = $reversed_scalar;
                reversed(rhs, self)
            }
        }
        impl $trait<Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                let reversed: fn(&Tensor, f32) -> Tensor = $reversed_scalar;
                reversed(&rhs, self)
            }
        }
    };
}

tensor_operator!(Add, add, add, add_scalar, |t, s| t.add_scalar(s));
tensor_operator!(Sub, sub, sub, sub_scalar, |t, s| t.rsub_scalar(s));
tensor_operator!(Mul, mul, mul, mul_scalar, |t, s| t.mul_scalar(s));
tensor_operator!(Div, div, div, div_scalar, |t, s| t.rdiv_scalar(s));

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        Tensor::neg(&self)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn operators_match_the_named_ops() {
        let a = Tensor::from(vec![1.0, 2.0]);
        let b = Tensor::from(vec![4.0, 8.0]);
        assert_eq!((&a + &b).unwrap().to_vec(), vec![5.0, 10.0]);
        assert_eq!((&b - &a).unwrap().to_vec(), vec![3.0, 6.0]);
        assert_eq!((&a * &b).unwrap().to_vec(), vec![4.0, 16.0]);
        assert_eq!((&b / &a).unwrap().to_vec(), vec![4.0, 4.0]);
        assert_eq!((&a * 3.0).to_vec(), vec![3.0, 6.0]);
        assert_eq!((1.0 - &a).to_vec(), vec![0.0, -1.0]);
        assert_eq!((8.0 / &b).to_vec(), vec![2.0, 1.0]);
        assert_eq!((-&a).to_vec(), vec![-1.0, -2.0]);
    }
}
