//! CPU feature dispatch: element-wise loops compiled for the widest vectors the CPU has.

/// Runs `body` compiled for the widest vectors the CPU has (AVX-512, else AVX2 with FMA, else
/// the baseline): the element-wise loop it calls is inlined into it and vectorized at that
/// width. Without this, loops compile for the baseline x86-64 target, 4 values wide.
#[inline(always)]
pub(crate) fn in_wide_vectors<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, as just checked.
            return unsafe { avx512(body) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA, as just checked.
            return unsafe { avx2(body) };
        }
    }
    body()
}

/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(body: impl FnOnce() -> R) -> R {
    body()
}
