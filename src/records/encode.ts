/**
 * Encoding a v2 record batch for the producer with the WebAssembly core: record bytes, varints,
 * compression and CRC-32C all happen in one call.
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
}

const PARAMS = 7;
const RECORD_FIELDS = 7;
const HEADER_FIELDS = 4;

/** Encodes `records` as one record batch (offset deltas 0…n-1) and returns its bytes. */
export function encodeRecordBatch(records: ReadonlyArray<RecordInput>, options: BatchOptions = {}): Uint8Array {
  const codec = COMPRESSION_CODECS.indexOf(options.compression ?? "none");
  if (codec < 0) throw new RangeError(`unknown compression "${options.compression}": use one of ${COMPRESSION_CODECS.join(", ")}`);
  const now = Date.now();
  const headerLists = records.map((record) => headerList(record.headers));
  const headerCount = headerLists.reduce((sum, list) => sum + list.length, 0);

  let dataCapacity = 0;
  const reserve = (bytes: Bytes | null | undefined) => {
    if (bytes == null) return;
    if (typeof bytes === "string" || bytes instanceof Uint8Array) dataCapacity += maxByteLength(bytes);
    else throw new TypeError(`record keys, values and header values must be Uint8Array, string or null, got ${typeof bytes}`);
  };
  records.forEach((record, i) => {
    reserve(record.key);
    reserve(record.value);
    for (const header of headerLists[i]!) {
      reserve(header.key);
      reserve(header.value);
    }
  });

  const c = core();
  const tableBytes = 8 * (PARAMS + RECORD_FIELDS * records.length + HEADER_FIELDS * headerCount);
  const base = c.scratch(tableBytes + dataCapacity);
  const memory = c.bytes();
  const table = new Float64Array(memory.buffer, base, tableBytes / 8);
  const dataAt = base + tableBytes;
  let dataLength = 0;
  /** Writes bytes into the data region; returns [at, length] with length -1 for null. */
  const put = (bytes: Bytes | null | undefined): [number, number] => {
    if (bytes == null) return [0, -1];
    const at = dataLength;
    dataLength += writeBytes(memory, dataAt + at, bytes);
    return [at, dataLength - at];
  };

  table.set([
    options.baseOffset ?? 0,
    options.partitionLeaderEpoch ?? -1,
    codec,
    options.transactional ? 1 : 0,
    options.producerId ?? -1,
    options.producerEpoch ?? -1,
    options.baseSequence ?? -1,
  ]);
  let row = PARAMS;
  let headerRow = PARAMS + RECORD_FIELDS * records.length;
  let nextHeader = 0;
  records.forEach((record, i) => {
    const [keyAt, keyLength] = put(record.key);
    const [valueAt, valueLength] = put(record.value);
    const headers = headerLists[i]!;
    table.set([record.timestamp ?? now, keyAt, keyLength, valueAt, valueLength, nextHeader, headers.length], row);
    row += RECORD_FIELDS;
    for (const header of headers) {
      const [hKeyAt, hKeyLength] = put(header.key);
      const [hValueAt, hValueLength] = put(header.value);
      table.set([hKeyAt, hKeyLength, hValueAt, hValueLength], headerRow);
      headerRow += HEADER_FIELDS;
      nextHeader++;
    }
  });

  const resultAt = c.guard("encodeRecordBatch", () =>
    c.exports.tributary_encode_batch(
      base,
      base + 8 * PARAMS,
      records.length,
      base + 8 * (PARAMS + RECORD_FIELDS * records.length),
      headerCount,
      dataAt,
      dataLength,
    ));
  const [status, batchAt, batchLength] = new Float64Array(c.bytes().buffer, resultAt, 3);
  if (status !== 0) throw new TributaryError(`the core refused the batch layout (status ${status})`);
  return c.bytes().slice(batchAt!, batchAt! + batchLength!);
}

function headerList(headers: RecordInput["headers"]): HeaderInput[] {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers;
  return Object.entries(headers).flatMap(([key, value]) =>
    Array.isArray(value) ? value.map((one) => ({ key, value: one })) : [{ key, value: value as Bytes | null }]);
}
