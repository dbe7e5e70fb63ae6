//! Cache hints for the rows of the next batch, issued while the current step computes: the
//! training set rarely fits in cache, and shuffled rows are far apart, so gathering a batch
//! otherwise waits on main memory at the start of every step.

use super::Data;

/// Bytes per cache line on the CPUs this hints for.
const LINE: usize = 64;

impl Data {
    /// Asks the CPU to start loading the rows at `indices` (of every contiguous tensor) into its
    /// caches, and returns at once. Only a hint: no effect on values, none where unsupported, and
    /// indices out of range are skipped.
    pub(crate) fn prefetch_rows(&self, indices: &[usize]) {
        for tensor in self.leaves() {
            let view = tensor.view();
            let (Some(values), Some(&n)) = (view.as_slice(), view.shape().first()) else {
                continue;
            };
            if n == 0 {
                continue;
            }
            let row = values.len() / n;
            for &i in indices.iter().filter(|&&i| i < n) {
                let bytes = &values[i * row..(i + 1) * row];
                let start = bytes.as_ptr().cast::<u8>();
                for offset in (0..size_of_val(bytes)).step_by(LINE) {
                    // SAFETY: `offset` is within the row's bytes.
                    hint(unsafe { start.add(offset) });
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn hint(address: *const u8) {
    use std::arch::x86_64::{_MM_HINT_T2, _mm_prefetch};
    // SAFETY: a prefetch never faults and never changes memory; SSE is part of x86-64.
    unsafe { _mm_prefetch::<_MM_HINT_T2>(address.cast()) }
}

#[cfg(not(target_arch = "x86_64"))]
fn hint(_: *const u8) {}

#[cfg(test)]
mod tests {
    use crate::data::Data;
    use crate::tensor::Tensor;

    #[test]
    fn hints_take_any_indices_and_layouts_and_change_nothing() {
        let x = Tensor::from_vec((0..60).map(|v| v as f32).collect(), &[20, 3]).unwrap();
        let transposed = Tensor::new(x.view().t().to_owned());
        let data = Data::Tuple(vec![
            x.clone().into(),
            transposed.into(),
            Tensor::zeros(&[0, 4]).into(),
        ]);
        data.prefetch_rows(&[0, 19, 20, 1_000_000, 5, 5]);
        assert_eq!(data.leaves()[0].to_vec(), x.to_vec());
    }
}
