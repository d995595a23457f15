/**
 * The export surface of `wasm/tributary_core.wasm` (the Rust crate in `wasm/`). Pointers are
 * byte offsets into the module's memory. Keep this in step with `wasm/src/lib.rs`: bump
 * `ABI_VERSION` on both sides whenever an export is added, removed or changes meaning.
 */
export const ABI_VERSION = 4;

/** Status codes of the exports that can reject arguments (`wasm/src/lib.rs`, `status`). */
export const Status = {
  ok: 0,
  badOffsets: -1,
  badPartitionCount: -2,
} as const;

/**
 * Status codes of the `tributary_offsets_*` exports (`wasm/src/offsets.rs`, `status`). The
 * non-negative ones are the outcomes of an acknowledgement; a negative one rejected the call.
 */
export const OffsetStatus = {
  ok: 0,
  alreadyAcked: 1,
  belowFloor: 2,
  notDelivered: 3,
  badHandle: -1,
  badOffset: -2,
  outOfOrder: -3,
  outOfMemory: -4,
  badBuffer: -5,
} as const;

/** Number of f64s `tributary_offsets_stats` writes. */
export const OFFSET_STATS_LEN = 5;

export interface CoreExports {
  readonly memory: WebAssembly.Memory;
  /** Exported so the host can restore it after a trap (see `Core.guard`). */
  readonly __stack_pointer: WebAssembly.Global;
  tributary_abi_version(): number;
  tributary_alloc(len: number): number;
  tributary_free(ptr: number, len: number): void;
  tributary_crc32c(ptr: number, len: number): number;
  /**
   * CRC-32C of `prefixLen` bytes at `prefixPtr` followed by `tailLen` bytes whose own CRC-32C is
   * `tailCrc` (the tail itself is not read): how a batch's CRC is redone after its producer
   * fields are written in (src/records/stamp.ts).
   */
  tributary_crc32c_prefixed(prefixPtr: number, prefixLen: number, tailCrc: number, tailLen: number): number;
  /**
   * Turns the CRC-32C's wasm-SIMD path on (1, the default) or off (0). Results are identical;
   * only the speed differs by engine (see `preferScalarChecksums`).
   */
  tributary_crc32c_set_vector(enabled: number): void;
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
  /** Offset trackers (`wasm/src/offsets.rs`): offsets are f64s, handles u32s (0 is none). */
  tributary_offsets_new(nextOffset: number): number;
  tributary_offsets_free(handle: number): number;
  tributary_offsets_reset(handle: number, nextOffset: number): number;
  tributary_offsets_advance(handle: number, nextOffset: number): number;
  tributary_offsets_delivered_range(handle: number, first: number, lastInclusive: number): number;
  tributary_offsets_delivered_list(handle: number, offsets: number, count: number): number;
  tributary_offsets_ack(handle: number, offset: number): number;
  tributary_offsets_ack_list(handle: number, offsets: number, count: number): number;
  tributary_offsets_ack_range(handle: number, first: number, lastInclusive: number): number;
  tributary_offsets_committable(handle: number): number;
  tributary_offsets_pending(handle: number): number;
  tributary_offsets_stats(handle: number, out: number): number;
  /** Returns the address of the decode summary (f64s; see src/records/decode.ts). */
  tributary_decode_batches(ptr: number, len: number, flags: number, maxDecompressed: number): number;
  tributary_decode_release(): void;
  /** Returns the address of `[status, batch address, batch length]` (f64s). */
  tributary_encode_batch(
    params: number,
    records: number,
    recordCount: number,
    headers: number,
    headerCount: number,
    data: number,
    dataLen: number,
  ): number;
}
