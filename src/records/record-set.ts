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

/**
 * The `headers` of every record without headers: one shared, frozen empty array (most records have
 * none; an array each is one allocation per record less). Copy it to add headers.
 */
export const NO_HEADERS: RecordHeader[] = Object.freeze([]) as unknown as RecordHeader[];

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
  // Views are made with `new Uint8Array(buffer, byteOffset, length)`: cheaper than `subarray`.
  readonly #inputBuffer: ArrayBufferLike;
  readonly #inputOffset: number;
  readonly #inputLength: number;
  /** The input is a plain Uint8Array; for a subclass (a Node Buffer) views keep its class (`subarray`). */
  readonly #inputPlain: boolean;
  readonly #dataBuffer: ArrayBufferLike;
  readonly #dataOffset: number;
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
    this.#inputBuffer = fields.input.buffer;
    this.#inputOffset = fields.input.byteOffset;
    this.#inputLength = fields.input.length;
    this.#inputPlain = Object.getPrototypeOf(fields.input) === Uint8Array.prototype;
    this.#dataBuffer = fields.data.buffer;
    this.#dataOffset = fields.data.byteOffset;
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

  /** Bytes of the keys and values of records `from` to `end` (exclusive), without building views. */
  payloadBytes(from: number, end: number): number {
    const i32 = this.#i32;
    let bytes = 0;
    for (let i = from * RECORD_I32; i < end * RECORD_I32; i += RECORD_I32) bytes += Math.max(0, i32[i + 1]!) + Math.max(0, i32[i + 3]!);
    return bytes;
  }

  /** The record's headers; records without any share one frozen empty array (`NO_HEADERS`). */
  headers(index: number): RecordHeader[] {
    const first = this.#i32[index * RECORD_I32 + 4]!;
    const count = this.#i32[index * RECORD_I32 + 5]!;
    if (count === 0) return NO_HEADERS;
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
    const f = index * RECORD_F64;
    if (!(index >= 0 && f < this.#f64.length && Number.isInteger(index))) throw new RangeError(`no record ${index} in a set of ${this.length}`);
    const i = index * RECORD_I32;
    const i32 = this.#i32;
    return {
      offset: this.#f64[f]!,
      timestamp: this.#f64[f + 1]!,
      key: this.#bytes(i32[i]!, i32[i + 1]!),
      value: this.#bytes(i32[i + 2]!, i32[i + 3]!),
      headers: i32[i + 5] === 0 ? NO_HEADERS : this.headers(index),
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
    const inputLength = this.#inputLength;
    if (at >= inputLength) return new Uint8Array(this.#dataBuffer, this.#dataOffset + at - inputLength, length);
    return this.#inputPlain ? new Uint8Array(this.#inputBuffer, this.#inputOffset + at, length) : this.#input.subarray(at, at + length);
  }
}
