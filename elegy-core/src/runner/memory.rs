//! Keeping freed memory for the next training step.
//!
//! Every step allocates and frees arrays of the same sizes (a batch, activations, gradients).
//! glibc's malloc maps arrays above 128 KiB afresh and returns freed memory at the top of its
//! heap to the kernel, so by default each step can fault those pages in again, zero-filled. On
//! the 2-core benchmark machine that cost more than the matrix products: 0.82 ms against
//! 0.34 ms per step of the benchmark MLP at batch 64 with OpenBLAS.

/// Makes glibc's malloc keep freed memory for reuse: arrays below 32 MiB come from the heap
/// and up to 64 MiB of free heap stays mapped (the largest values glibc's own adaptive tuning
/// reaches). This changes malloc for the whole process, not only for elegy: the training loop
/// calls it at its first step unless the runner was built with
/// [`RunnerBuilder::retain_freed_memory(false)`](crate::RunnerBuilder::retain_freed_memory);
/// call it yourself before a hand-written loop over [`crate::value_and_grad`]. Idempotent and
/// cheap after the first call.
///
/// Does nothing when the environment already tunes malloc (`MALLOC_MMAP_THRESHOLD_`,
/// `MALLOC_TRIM_THRESHOLD_`, or `glibc.malloc` tunables in `GLIBC_TUNABLES`), and on other
/// platforms than Linux with glibc.
pub fn retain_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let var = |name: &str| std::env::var(name).unwrap_or_default();
            let tuned = !var("MALLOC_MMAP_THRESHOLD_").is_empty()
                || !var("MALLOC_TRIM_THRESHOLD_").is_empty()
                || var("GLIBC_TUNABLES").contains("glibc.malloc.");
            if tuned {
                return;
            }
            // SAFETY: mallopt only changes malloc's tuning; any value is valid for it.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
                libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
            }
        });
    }
}
