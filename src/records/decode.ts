/**
 * Decoding a Fetch response's `records` blob (record batches back to back, v2 format) with the
 * WebAssembly core: one call per blob, results copied out as a handful of typed arrays.
 */
import { core } from "../core/instance.ts";
import { CorruptRecordError, type CorruptRecordReason, UnsupportedMessageFormatError } from "../errors.ts";
import { HEADER_I32, RECORD_F64, RECORD_I32, RecordSet } from "./record-set.ts";
import { COMPRESSION_CODECS, type RecordBatchInfo } from "./types.ts";

export interface DecodeOptions {
  /** Check each batch's CRC-32C (default true). Turning it off trades safety for a little speed. */
  verifyCrc?: boolean;
  /**
   * Most bytes that decompression may produce for one call (default 256 MiB). Protects against
   * decompression bombs; a batch that would exceed it fails with reason "decompressed-too-large".
   */
  maxDecompressedBytes?: number;
}

const DEFAULT_MAX_DECOMPRESSED = 256 * 1024 * 1024;
const FLAG_VERIFY_CRC = 1;

/** Slots of the summary the core returns (wasm/src/record/exports.rs, `slot`). */
const Slot = {
  error: 0, batches: 1, records: 2, headers: 3, consumed: 4, truncated: 5, partialBaseOffset: 6,
  partialSize: 7, errorPosition: 8, errorBaseOffset: 9, errorSize: 10, errorStoredCrc: 11,
  errorComputedCrc: 12, batchesF64: 13, batchesI32: 14, recordsF64: 15, recordsI32: 16,
  headersI32: 17, data: 18, dataLength: 19,
} as const;
const SUMMARY_LENGTH = 22;
const BATCH_F64 = 4;
const BATCH_I32 = 9;

/** DecodeError codes (wasm/src/record/error.rs) → reasons; 10 is the legacy format. */
const REASONS: Record<number, CorruptRecordReason> = {
  1: "crc-mismatch", 2: "bad-batch-header", 3: "record-overflow", 4: "bad-varint", 5: "bad-length",
  6: "record-count-mismatch", 7: "decompression-failed", 8: "decompressed-too-large", 9: "unknown-codec",
  11: "unknown-magic",
};
const UNSUPPORTED_MAGIC = 10;
const MAGIC_AT = 16;

/**
 * Decodes every complete record batch in `input`. A batch cut short at the end is not an error:
 * `truncated` and `partialBatch` report it. A corrupt batch throws `CorruptRecordError` (legacy
 * formats `UnsupportedMessageFormatError`) carrying the records of the batches before it.
 *
 * Keys, values and header values of uncompressed batches are views into `input`: leave it
 * unchanged while you use them.
 */
export function decodeRecordBatches(input: Uint8Array, options: DecodeOptions = {}): RecordSet {
  if (!(input instanceof Uint8Array)) throw new TypeError("decodeRecordBatches expects a Uint8Array");
  const c = core();
  const flags = options.verifyCrc === false ? 0 : FLAG_VERIFY_CRC;
  const limit = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED;
  const summaryAt = c.guard("decodeRecordBatches", () => {
    const ptr = c.scratch(input.length);
    c.bytes().set(input, ptr);
    return c.exports.tributary_decode_batches(ptr, input.length, flags, limit);
  });
  const memory = c.bytes().buffer;
  const summary = new Float64Array(memory, summaryAt, SUMMARY_LENGTH);
  const batchCount = summary[Slot.batches]!;
  const recordCount = summary[Slot.records]!;
  const batchesF64 = new Float64Array(memory, summary[Slot.batchesF64]!, batchCount * BATCH_F64);
  const batchesI32 = new Int32Array(memory, summary[Slot.batchesI32]!, batchCount * BATCH_I32);
  const truncated = summary[Slot.truncated] === 1;
  const partialBaseOffset = summary[Slot.partialBaseOffset]!;
  const partialSize = summary[Slot.partialSize]!;
  const set = new RecordSet({
    input,
    data: new Uint8Array(memory, summary[Slot.data]!, summary[Slot.dataLength]!).slice(),
    records: {
      f64: new Float64Array(memory, summary[Slot.recordsF64]!, recordCount * RECORD_F64).slice(),
      i32: new Int32Array(memory, summary[Slot.recordsI32]!, recordCount * RECORD_I32).slice(),
    },
    headers: new Int32Array(memory, summary[Slot.headersI32]!, summary[Slot.headers]! * HEADER_I32).slice(),
    batches: Array.from({ length: batchCount }, (_, b) => batchInfo(batchesF64, batchesI32, b)),
    truncated,
    bytesConsumed: summary[Slot.consumed]!,
    partialBatch: truncated
      ? { baseOffset: partialBaseOffset >= 0 ? partialBaseOffset : undefined, size: partialSize >= 0 ? partialSize : undefined }
      : undefined,
  });
  const code = summary[Slot.error]!;
  if (code !== 0) throw decodeError(code, summary, input, set);
  return set;
}

function batchInfo(f64: Float64Array, i32: Int32Array, b: number): RecordBatchInfo {
  const f = b * BATCH_F64;
  const i = b * BATCH_I32;
  const attributes = i32[i + 3]!;
  const baseOffset = f64[f]!;
  return {
    baseOffset,
    lastOffset: baseOffset + i32[i + 4]!,
    baseTimestamp: f64[f + 1]!,
    maxTimestamp: f64[f + 2]!,
    timestampType: attributes & 0x08 ? "log-append-time" : "create-time",
    compression: COMPRESSION_CODECS[attributes & 0x07]!,
    isTransactional: (attributes & 0x10) !== 0,
    isControl: (attributes & 0x20) !== 0,
    producerId: f64[f + 3]!,
    producerEpoch: i32[i + 5]!,
    baseSequence: i32[i + 6]!,
    partitionLeaderEpoch: i32[i + 2]!,
    firstRecord: i32[i + 7]!,
    recordCount: i32[i + 8]!,
    position: i32[i]!,
    size: i32[i + 1]!,
  };
}

function decodeError(code: number, summary: Float64Array, input: Uint8Array, decodedBefore: RecordSet): Error {
  const position = summary[Slot.errorPosition]!;
  const baseOffset = summary[Slot.errorBaseOffset]!;
  if (code === UNSUPPORTED_MAGIC) {
    return new UnsupportedMessageFormatError({ magic: input[position + MAGIC_AT]!, baseOffset, position, decodedBefore });
  }
  const reason = REASONS[code] ?? "bad-batch-header";
  const detail = reason === "crc-mismatch"
    ? `stored 0x${summary[Slot.errorStoredCrc]!.toString(16)}, computed 0x${summary[Slot.errorComputedCrc]!.toString(16)}`
    : undefined;
  return new CorruptRecordError({ reason, baseOffset, length: summary[Slot.errorSize]!, position, detail, decodedBefore });
}
