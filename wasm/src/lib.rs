//! Tributary's WebAssembly core.
//!
//! Every export is a plain `extern "C"` function over integers and pointers into linear memory,
//! so the TypeScript loader needs no generated glue and works in any runtime that has
//! `WebAssembly`. Pointers are offsets into the module's memory; the host allocates them with
//! [`memory::tributary_alloc`] and releases them with [`memory::tributary_free`].
//!
//! Bump [`ABI_VERSION`] whenever an export is added, removed or changes meaning: the loader
//! refuses a module whose version differs from the one it was written for.

pub mod checksum;
pub mod memory;
pub mod offsets;
pub mod partition;
pub mod record;

/// Version of the export surface described in `src/core/abi.ts`.
pub const ABI_VERSION: u32 = 4;

/// Status codes returned by exports that can reject their arguments.
pub mod status {
    pub const OK: i32 = 0;
    /// Offsets that are not ascending or point outside the input.
    pub const BAD_OFFSETS: i32 = -1;
    /// A partition count below one.
    pub const BAD_PARTITION_COUNT: i32 = -2;
}

#[unsafe(no_mangle)]
pub extern "C" fn tributary_abi_version() -> u32 {
    ABI_VERSION
}
