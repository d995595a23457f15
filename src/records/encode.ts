/**
 * Encoding a v2 record batch for the producer with the WebAssembly core: record bytes, varints,
 * compression and CRC-32C all happen in one call.
 *
 * The JavaScript side only lays the records out for the core: a table of f64s (batch parameters,
 * then one row per record, then one row per header) followed by the keys, values and header
 * bytes. It runs once per record of every batch a producer sends, so it allocates nothing per
 * record: indexed stores into the table, offsets in locals, and no header list for the (usual)
 * records without headers.
 */
import { maxByteLength, writeBytes } from "../core/bytes.ts";
import { core } from "../core/instance.ts";
import { TributaryError } from "../errors.ts";
import { COMPRESSION_CODECS, type CompressionCodec } from "./types.ts";

export type Bytes = Uint8Array | string;

export interface HeaderInput {
  key: string;
  value: Bytes | null;
}

export interface RecordInput {
  key?: Bytes | null;
  value: Bytes | null;
  /** An ordered list (duplicate keys allowed), or an object (an array value repeats the key). */
  headers?: HeaderInput[] | Record<string, Bytes | null | ReadonlyArray<Bytes | null>>;
  /** Milliseconds since the epoch; defaults to `Date.now()` at encoding. */
  timestamp?: number;
}

export interface BatchOptions {
  compression?: CompressionCodec;
  /** 0 for produce requests (the broker assigns offsets). */
  baseOffset?: number;
  /** Idempotent/transactional producers: the id and epoch from InitProducerId, and the sequence. */
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  partitionLeaderEpoch?: number;
  /**
   * The records' timestamps, index for index, used instead of each record's `timestamp` (the
   * producer resolves defaults when a record is sent, and keeps the caller's record objects).
   */
  timestamps?: ArrayLike<number>;
}

/** Table layout shared with `wasm/src/lib.rs` (`tributary_encode_batch`). */
const PARAMS = 7;
const RECORD_FIELDS = 7;
const HEADER_FIELDS = 4;

/** Encodes `records` as one record batch (offset deltas 0…n-1) and returns its bytes. */
export function encodeRecordBatch(records: ReadonlyArray<RecordInput>, options: BatchOptions = {}): Uint8Array {
  return encodeRecordBatchInto(records, options, (length) => new Uint8Array(length));
}

/**
 * `encodeRecordBatch`, copying the batch out of the core's memory into `allocate(length)` (which
 * must return exactly `length` bytes): the producer keeps its batches in shared slabs.
 */
export function encodeRecordBatchInto(
  records: ReadonlyArray<RecordInput>,
  options: BatchOptions,
  allocate: (length: number) => Uint8Array,
): Uint8Array {
  const c = core();
  const layout = layOut(records, options, (size) => {
    const base = c.scratch(size);
    return { memory: c.bytes(), base };
  });
  const { base } = layout;
  const resultAt = c.guard("encodeRecordBatch", () =>
    c.exports.tributary_encode_batch(base, base + layout.recordsAt, layout.count, base + layout.headersAt, layout.headerCount, base + layout.dataAt, layout.dataLength));
  const result = new Float64Array(c.bytes().buffer, resultAt, 3);
  if (result[0] !== 0) throw new TributaryError(`the core refused the batch layout (status ${result[0]})`);
  const at = result[1]!;
  const length = result[2]!;
  const out = allocate(length);
  out.set(c.bytes().subarray(at, at + length));
  return out;
}

/**
 * What `tributary_encode_batch` reads, laid out in a buffer of its own (byte positions within
 * `bytes`): a batch can then be encoded by a core instance on another thread
 * (src/producer/encode-threads.ts).
 */
export interface RecordBatchLayout extends LayoutPositions {
  /** Parameters at 0, then the record rows, the header rows and the data region: the bytes used, from the start of their buffer. */
  bytes: Uint8Array;
}

/** Where `tributary_encode_batch`'s arguments are, in bytes from the layout's start, and the counts. */
interface LayoutPositions {
  recordsAt: number;
  count: number;
  headersAt: number;
  headerCount: number;
  dataAt: number;
  dataLength: number;
}

/**
 * Lays `records` out for the core as `encodeRecordBatchInto` does, at the start of the buffer
 * `allocate(size)` returns (at least `size` bytes; `bytes` of the result is a view from its start).
 */
export function layOutRecordBatch(
  records: ReadonlyArray<RecordInput>,
  options: BatchOptions,
  allocate: (size: number) => ArrayBuffer = (size) => new ArrayBuffer(size),
): RecordBatchLayout {
  const { memory, base: _, ...positions } = layOut(records, options, (size) => ({ memory: new Uint8Array(allocate(size)), base: 0 }));
  return { bytes: memory.subarray(0, positions.dataAt + positions.dataLength), ...positions };
}

interface Placed extends LayoutPositions {
  memory: Uint8Array;
  base: number;
}

/**
 * Writes the table and the data region at `base` of the memory `place(size)` returns (room for
 * `size` bytes, 8-byte aligned). Positions in the result are relative to `base`.
 */
function layOut(
  records: ReadonlyArray<RecordInput>,
  options: BatchOptions,
  place: (size: number) => { memory: Uint8Array; base: number },
): Placed {
  const codec = COMPRESSION_CODECS.indexOf(options.compression ?? "none");
  if (codec < 0) throw new RangeError(`unknown compression "${options.compression}": use one of ${COMPRESSION_CODECS.join(", ")}`);
  const count = records.length;

  // Pass 1: room needed, argument checks, and header lists for the records that have headers.
  let dataCapacity = 0;
  let headerCount = 0;
  let headerLists: Array<HeaderInput[] | undefined> | undefined;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    dataCapacity += capacityOf(record.key) + capacityOf(record.value);
    if (record.headers === undefined) continue;
    const list = headerList(record.headers);
    (headerLists ??= new Array<HeaderInput[] | undefined>(count))[i] = list;
    headerCount += list.length;
    for (const header of list) dataCapacity += capacityOf(header.key) + capacityOf(header.value);
  }

  // Pass 2: the table and the data region, in one allocation.
  const recordsAt = PARAMS;
  const headersAt = PARAMS + RECORD_FIELDS * count;
  const tableLength = headersAt + HEADER_FIELDS * headerCount;
  const { memory, base } = place(8 * tableLength + dataCapacity);
  const table = new Float64Array(memory.buffer, memory.byteOffset + base, tableLength);
  const dataAt = base + 8 * tableLength;
  writeParams(table, options, codec);

  const timestamps = options.timestamps;
  const now = Date.now();
  let row = recordsAt;
  let headerRow = headersAt;
  let nextHeader = 0;
  let dataLength = 0;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    table[row] = timestamps !== undefined ? timestamps[i]! : record.timestamp ?? now;
    dataLength = putField(table, row + 1, memory, dataAt, dataLength, record.key);
    dataLength = putField(table, row + 3, memory, dataAt, dataLength, record.value);
    const headers = headerLists?.[i];
    table[row + 5] = nextHeader;
    table[row + 6] = headers === undefined ? 0 : headers.length;
    row += RECORD_FIELDS;
    if (headers === undefined) continue;
    for (const header of headers) {
      dataLength = putField(table, headerRow, memory, dataAt, dataLength, header.key);
      dataLength = putField(table, headerRow + 2, memory, dataAt, dataLength, header.value);
      headerRow += HEADER_FIELDS;
      nextHeader++;
    }
  }
  return {
    memory,
    base,
    recordsAt: 8 * recordsAt,
    count,
    headersAt: 8 * headersAt,
    headerCount,
    dataAt: 8 * tableLength,
    dataLength,
  };
}

function writeParams(table: Float64Array, options: BatchOptions, codec: number): void {
  table[0] = options.baseOffset ?? 0;
  table[1] = options.partitionLeaderEpoch ?? -1;
  table[2] = codec;
  table[3] = options.transactional ? 1 : 0;
  table[4] = options.producerId ?? -1;
  table[5] = options.producerEpoch ?? -1;
  table[6] = options.baseSequence ?? -1;
}

/** Room `bytes` needs in the data region; rejects anything but bytes, a string or null. */
function capacityOf(bytes: Bytes | null | undefined): number {
  if (bytes == null) return 0;
  if (typeof bytes === "string" || bytes instanceof Uint8Array) return maxByteLength(bytes);
  throw new TypeError(`record keys, values and header values must be Uint8Array, string or null, got ${typeof bytes}`);
}

/**
 * Copies `bytes` to the data region at `dataLength` and stores `[offset, length]` (length -1 for
 * null) at `table[index]`; returns the data region's new length.
 */
function putField(table: Float64Array, index: number, memory: Uint8Array, dataAt: number, dataLength: number, bytes: Bytes | null | undefined): number {
  if (bytes == null) {
    table[index] = 0;
    table[index + 1] = -1;
    return dataLength;
  }
  const written = writeBytes(memory, dataAt + dataLength, bytes);
  table[index] = dataLength;
  table[index + 1] = written;
  return dataLength + written;
}

function headerList(headers: NonNullable<RecordInput["headers"]>): HeaderInput[] {
  if (Array.isArray(headers)) return headers;
  return Object.entries(headers).flatMap(([key, value]) =>
    Array.isArray(value) ? value.map((one) => ({ key, value: one })) : [{ key, value: value as Bytes | null }]);
}
