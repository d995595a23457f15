/**
 * The export surface of `wasm/tributary_core.wasm` (the Rust crate in `wasm/`). Pointers are
 * byte offsets into the module's memory. Keep this in step with `wasm/src/lib.rs`: bump
 * `ABI_VERSION` on both sides whenever an export is added, removed or changes meaning.
 */
export const ABI_VERSION = 1;

/** Status codes of the exports that can reject arguments (`wasm/src/lib.rs`, `status`). */
export const Status = {
  ok: 0,
  badOffsets: -1,
  badPartitionCount: -2,
} as const;

export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  tributary_abi_version(): number;
  tributary_alloc(len: number): number;
  tributary_free(ptr: number, len: number): void;
  tributary_crc32c(ptr: number, len: number): number;
  tributary_murmur2(ptr: number, len: number): number;
  tributary_partition_for_key(ptr: number, len: number, partitions: number): number;
  tributary_murmur2_batch(
    data: number,
    dataLen: number,
    offsets: number,
    count: number,
    partitions: number,
    out: number,
  ): number;
}
