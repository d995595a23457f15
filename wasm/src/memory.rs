//! Allocation interface for the host: it asks for a buffer, writes its bytes there, passes the
//! pointer to an export and frees the buffer when done (or keeps it as reusable scratch space).

use std::alloc::{Layout, alloc, dealloc};

/// Every host buffer is 8-byte aligned so it can hold `u32`/`i32`/`f64` arrays as well as bytes.
const ALIGN: usize = 8;

fn layout(len: usize) -> Option<Layout> {
    // A zero-sized allocation is not allowed by the allocator; one byte keeps pointers distinct.
    Layout::from_size_align(len.max(1), ALIGN).ok()
}

/// Allocates `len` bytes and returns their address, or 0 when memory cannot grow that far.
#[unsafe(no_mangle)]
pub extern "C" fn tributary_alloc(len: usize) -> *mut u8 {
    match layout(len) {
        // SAFETY: the layout has a non-zero size.
        Some(layout) => unsafe { alloc(layout) },
        None => std::ptr::null_mut(),
    }
}

/// Releases a buffer from [`tributary_alloc`]; `len` must be the length it was allocated with.
///
/// # Safety
/// `ptr` must come from `tributary_alloc(len)` and must not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tributary_free(ptr: *mut u8, len: usize) {
    if ptr.is_null() {
        return;
    }
    if let Some(layout) = layout(len) {
        // SAFETY: guaranteed by the caller, see above.
        unsafe { dealloc(ptr, layout) }
    }
}

/// Views `len` bytes at `ptr` as a slice, tolerating the null/dangling pointer of an empty input.
///
/// # Safety
/// When `len > 0`, `ptr..ptr+len` must be readable and not mutated while the slice lives.
pub unsafe fn slice<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// State the exports keep between calls (reusable output buffers).
///
/// Not a `RefCell`: a trap (a panic compiled to `unreachable`) in the middle of a call would leave
/// a `RefCell` marked as borrowed forever, and every later call would trap too. The core is
/// single-threaded and never calls back into the host, so exclusive access is guaranteed by
/// construction: each export takes the state once, for the duration of the call.
pub struct CallState<T>(std::cell::UnsafeCell<Option<T>>);

// SAFETY: wasm32-unknown-unknown without the atomics feature has exactly one thread.
unsafe impl<T> Sync for CallState<T> {}

impl<T: Default> CallState<T> {
    pub const fn new() -> Self {
        CallState(std::cell::UnsafeCell::new(None))
    }

    /// Runs `f` with the state. Must not be nested for the same `CallState`.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: single-threaded, not re-entered (see the type's documentation).
        let state = unsafe { &mut *self.0.get() };
        f(state.get_or_insert_with(T::default))
    }
}
