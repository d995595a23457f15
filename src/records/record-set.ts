/**
 * The decoder's result: columns copied out of the WebAssembly core (a few typed arrays per call,
 * no object per record), turned into record objects only when asked for.
 */
import type { DecodedRecord, RecordBatchInfo, RecordHeader } from "./types.ts";

/** Column widths, matching wasm/src/record/decode.rs. */
export const RECORD_F64 = 2;
export const RECORD_I32 = 7;
export const HEADER_I32 = 4;

// ignoreBOM: a header key that starts with U+FEFF keeps it, as Java keeps it (TextDecoder drops it by default).
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

export class RecordSet implements Iterable<DecodedRecord> {
  /** Record batches, in input order. */
  readonly batches: ReadonlyArray<RecordBatchInfo>;
  /** The input ended inside a batch (the broker's size limit cut it); fetch again from `nextOffset`. */
  readonly truncated: boolean;
  /** Bytes of the input taken by complete batches. */
  readonly bytesConsumed: number;
  /** For a truncated input: the cut batch's base offset and full size, when those bytes arrived. */
  readonly partialBatch: { baseOffset: number | undefined; size: number | undefined } | undefined;

  readonly #input: Uint8Array;
  readonly #data: Uint8Array;
  readonly #f64: Float64Array;
  readonly #i32: Int32Array;
  readonly #headers: Int32Array;

  constructor(fields: {
    input: Uint8Array;
    data: Uint8Array;
    records: { f64: Float64Array; i32: Int32Array };
    headers: Int32Array;
    batches: RecordBatchInfo[];
    truncated: boolean;
    bytesConsumed: number;
    partialBatch: { baseOffset: number | undefined; size: number | undefined } | undefined;
  }) {
    this.#input = fields.input;
    this.#data = fields.data;
    this.#f64 = fields.records.f64;
    this.#i32 = fields.records.i32;
    this.#headers = fields.headers;
    this.batches = fields.batches;
    this.truncated = fields.truncated;
    this.bytesConsumed = fields.bytesConsumed;
    this.partialBatch = fields.partialBatch;
  }

  /** Number of records (control records included; see `isControl`). */
  get length(): number {
    return this.#f64.length / RECORD_F64;
  }

  /**
   * Where the next fetch should start: after the last complete batch's last offset (which may be
   * past the last record when compaction removed records), or `undefined` for an empty input.
   */
  get nextOffset(): number | undefined {
    const last = this.batches[this.batches.length - 1];
    return last ? last.lastOffset + 1 : undefined;
  }

  offset(index: number): number {
    return this.#f64[index * RECORD_F64]!;
  }

  timestamp(index: number): number {
    return this.#f64[index * RECORD_F64 + 1]!;
  }

  key(index: number): Uint8Array | null {
    return this.#bytes(this.#i32[index * RECORD_I32]!, this.#i32[index * RECORD_I32 + 1]!);
  }

  value(index: number): Uint8Array | null {
    return this.#bytes(this.#i32[index * RECORD_I32 + 2]!, this.#i32[index * RECORD_I32 + 3]!);
  }

  headers(index: number): RecordHeader[] {
    const first = this.#i32[index * RECORD_I32 + 4]!;
    const count = this.#i32[index * RECORD_I32 + 5]!;
    const headers: RecordHeader[] = new Array(count);
    for (let h = 0; h < count; h++) {
      const at = (first + h) * HEADER_I32;
      headers[h] = {
        key: utf8.decode(this.#bytes(this.#headers[at]!, this.#headers[at + 1]!)!),
        value: this.#bytes(this.#headers[at + 2]!, this.#headers[at + 3]!),
      };
    }
    return headers;
  }

  /** The batch a record belongs to. */
  batchOf(index: number): RecordBatchInfo {
    return this.batches[this.#i32[index * RECORD_I32 + 6]!]!;
  }

  /** True for transaction markers, which consumers do not hand to applications. */
  isControl(index: number): boolean {
    return this.batchOf(index).isControl;
  }

  record(index: number): DecodedRecord {
    if (!(index >= 0 && index < this.length)) throw new RangeError(`no record ${index} in a set of ${this.length}`);
    return {
      offset: this.offset(index),
      timestamp: this.timestamp(index),
      key: this.key(index),
      value: this.value(index),
      headers: this.headers(index),
    };
  }

  *[Symbol.iterator](): Iterator<DecodedRecord> {
    for (let i = 0; i < this.length; i++) yield this.record(i);
  }

  /**
   * A view of `length` bytes at `at` in the decoder's address space: the input blob first, then
   * the decompressed payloads. A view, not a copy: valid as long as the input is left unchanged.
   */
  #bytes(at: number, length: number): Uint8Array | null {
    if (length < 0) return null;
    const inputLength = this.#input.length;
    return at < inputLength
      ? this.#input.subarray(at, at + length)
      : this.#data.subarray(at - inputLength, at - inputLength + length);
  }
}
