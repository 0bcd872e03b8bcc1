//! A hint to the CPU to start loading memory that the next event will read.
//!
//! Why: on a large cluster almost every event first touches one pod, pull or node that no
//! recent event touched, so its handler begins with a last-level cache miss (a pod sync's first
//! read of its pod was about 5 % of a 5,000-node run). The dispatcher knows the next event
//! before it handles the current one (`EventQueue::peek_next_hint`), so it asks for that
//! entity's memory now and the miss overlaps the current handler's work.
//!
//! A prefetch has no effect on results: it reads nothing into the program, cannot fault, and
//! the model never depends on whether it ran. On other architectures it does nothing.

/// Hints that `value` will be read soon (one prefetch per cache line it spans).
#[inline]
pub fn prefetch_read<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        const LINE: usize = 64;
        let start = (value as *const T).cast::<i8>();
        let size = std::mem::size_of::<T>().max(1);
        let mut offset = 0;
        while offset < size {
            // SAFETY: `_mm_prefetch` is a hint: it never faults, reads nothing into the
            // program and writes nothing, whatever the address; `start + offset` stays within
            // (or one line past the start of) `value`, a live reference. SSE is part of the
            // x86_64 baseline, so the instruction exists on every x86_64 CPU.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(offset)) };
            offset += LINE;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = value;
    }
}
