//! Running out of memory without aborting: an emergency reserve for the global allocator.
//!
//! Rust answers a failed infallible allocation (a `Vec` growing, a `String`, a buffer) by
//! aborting the process, which would take the Python interpreter down. kneser's large buffers
//! are allocated fallibly (`try_reserve`, [`crate::sort::reserve_words`]), but under an
//! address-space limit (`ulimit -v`), with overcommit off or in a small container, the *small*
//! allocations around them can fail too. [`Guarded`] wraps the system allocator: [`arm`] sets
//! aside a reserve of [`RESERVE_BYTES`] of address space (never touched, so it costs no memory);
//! when an allocation no larger than the reserve fails, the reserve is released, the
//! allocation retried (it then succeeds), and the process is marked [`exhausted`]. Long jobs
//! see it at their next [`crate::Cancel::check`], which returns [`crate::Error::OutOfMemory`]:
//! the job unwinds, drops its buffers and temp files, and the caller gets a `MemoryError`.
//! The next [`arm`] (the bindings arm before every long call) takes a new reserve.
//!
//! Allocations larger than the reserve fail as the system says (null): those are the fallible
//! ones, which report [`crate::Error::OutOfMemory`] themselves.
//!
//! The Python extension installs it with `#[global_allocator]`; a program using the core
//! may do the same.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// Address space set aside by [`arm`].
pub const RESERVE_BYTES: usize = 32 << 20;

static RESERVE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static EXHAUSTED: AtomicBool = AtomicBool::new(false);
static FAILED_BYTES: AtomicUsize = AtomicUsize::new(0);

fn reserve_layout() -> Layout {
    // 4096 divides every page size kneser runs on; the size is a multiple of it.
    Layout::from_size_align(RESERVE_BYTES, 4096).unwrap_or(Layout::new::<u8>())
}

/// Takes a new reserve if none is held, and clears the [`exhausted`] mark once it holds one.
/// Cheap when already armed. Returns whether a reserve is held.
pub fn arm() -> bool {
    if !RESERVE.load(Ordering::Acquire).is_null() {
        return true;
    }
    // SAFETY: the layout has a non-zero size.
    let p = unsafe { System.alloc(reserve_layout()) };
    if p.is_null() {
        return false;
    }
    if RESERVE
        .compare_exchange(std::ptr::null_mut(), p, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // Another thread armed first.
        // SAFETY: `p` was allocated just above with this layout.
        unsafe { System.dealloc(p, reserve_layout()) };
    }
    EXHAUSTED.store(false, Ordering::Release);
    true
}

/// Whether an allocation failed since the last [`arm`] and was served from the reserve.
pub fn exhausted() -> bool {
    EXHAUSTED.load(Ordering::Acquire)
}

/// The size of the allocation that found the system out of memory (see [`exhausted`]).
pub fn failed_bytes() -> usize {
    FAILED_BYTES.load(Ordering::Relaxed)
}

/// Releases the reserve, if held; returns whether there was one.
fn release() -> bool {
    let p = RESERVE.swap(std::ptr::null_mut(), Ordering::AcqRel);
    if p.is_null() {
        return false;
    }
    EXHAUSTED.store(true, Ordering::Release);
    // SAFETY: `p` came from `System.alloc(reserve_layout())` in `arm`, and the swap made this
    // thread its only owner.
    unsafe { System.dealloc(p, reserve_layout()) };
    true
}

/// The system allocator with the emergency reserve of the module doc.
pub struct Guarded;

impl Guarded {
    /// After a failed allocation of `size` bytes: whether releasing the reserve may help.
    fn rescue(size: usize) -> bool {
        if size > RESERVE_BYTES {
            return false;
        }
        FAILED_BYTES.store(size, Ordering::Relaxed);
        release()
    }
}

// SAFETY: every call is forwarded to `System` with the caller's arguments; the reserve is a
// separate block owned through `RESERVE`.
unsafe impl GlobalAlloc for Guarded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded under the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() && Self::rescue(layout.size()) {
            // SAFETY: as above.
            return unsafe { System.alloc(layout) };
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded under the caller's guarantees.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() && Self::rescue(layout.size()) {
            // SAFETY: as above.
            return unsafe { System.alloc_zeroed(layout) };
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded under the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded under the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() && Self::rescue(new_size) {
            // SAFETY: as above; a failed realloc left `ptr` valid.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The rescue itself (which marks the whole process exhausted) is exercised end to end by
    // tests/test_reliability.py under `ulimit -v`, not here where tests share the process.
    #[test]
    fn the_reserve_is_armed_and_large_failures_stand() {
        assert!(arm());
        assert!(arm(), "arming twice keeps one reserve");
        assert!(!RESERVE.load(Ordering::Acquire).is_null());
        // Too large for the reserve: nothing is released, the failure stands.
        assert!(!Guarded::rescue(RESERVE_BYTES + 1));
        assert!(!RESERVE.load(Ordering::Acquire).is_null());
    }
}

/// A zero-filled buffer of `len` bytes, or None when the system cannot give it.
///
/// Unlike `Vec::try_reserve` followed by `resize`, the zeros are the allocator's
/// (`alloc_zeroed`: fresh pages from the kernel for large sizes), so pages are committed only
/// when written. A table sized from an untrusted header (an ARPA stream announcing billions of
/// n-grams) then costs address space, not memory, until the n-grams really arrive; the reader
/// reports the short file long before the table is filled.
pub fn zeroed_bytes(len: usize) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let layout = Layout::array::<u8>(len).ok()?;
    // SAFETY: `layout` has a non-zero size.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of `len` bytes
    // (alignment 1), all of them initialised (zero); length and capacity are both `len`.
    Some(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

#[cfg(test)]
mod zeroed_tests {
    use super::zeroed_bytes;

    #[test]
    fn zeroed_bytes_are_zero_and_sized() {
        let v = zeroed_bytes(1 << 20).unwrap();
        assert_eq!(v.len(), 1 << 20);
        assert!(v.iter().all(|&b| b == 0));
        assert_eq!(zeroed_bytes(0).unwrap().len(), 0);
    }

    #[test]
    fn an_impossible_size_is_none_not_an_abort() {
        assert!(zeroed_bytes(usize::MAX / 2).is_none());
    }
}
