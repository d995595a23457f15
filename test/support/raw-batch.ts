/**
 * Hand-assembled record batches for tests that need bytes no encoder would write: a header around
 * an arbitrary payload, with a correct CRC-32C unless told otherwise.
 */
import { crc32c } from "../../src/entry/node.ts";

export interface RawBatchFields {
  baseOffset?: number;
  attributes?: number;
  recordCount: number;
  payload: Uint8Array;
  magic?: number;
  lastOffsetDelta?: number;
  baseTimestamp?: number;
  maxTimestamp?: number;
}

export function rawBatch(fields: RawBatchFields): Uint8Array {
  const batch = new Uint8Array(61 + fields.payload.length);
  const view = new DataView(batch.buffer);
  view.setBigInt64(0, BigInt(fields.baseOffset ?? 0));
  view.setInt32(8, batch.length - 12);
  view.setInt32(12, -1); // partition leader epoch
  view.setInt8(16, fields.magic ?? 2);
  view.setInt16(21, fields.attributes ?? 0);
  view.setInt32(23, fields.lastOffsetDelta ?? Math.max(fields.recordCount - 1, 0));
  view.setBigInt64(27, BigInt(fields.baseTimestamp ?? 1_700_000_000_000));
  view.setBigInt64(35, BigInt(fields.maxTimestamp ?? fields.baseTimestamp ?? 1_700_000_000_000));
  view.setBigInt64(43, -1n); // producer id
  view.setInt16(51, -1);
  view.setInt32(53, -1);
  view.setInt32(57, fields.recordCount);
  batch.set(fields.payload, 61);
  view.setUint32(17, crc32c(batch.subarray(21)));
  return batch;
}

/** Zig-zag varint bytes. */
export function varint(value: number): number[] {
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  const out: number[] = [];
  while (raw >= 0x80) {
    out.push((raw & 0x7f) | 0x80);
    raw >>>= 7;
  }
  out.push(raw);
  return out;
}

/** One record's bytes (length-prefixed), with no headers. */
export function rawRecord(offsetDelta: number, key: number[] | null, value: number[] | null): number[] {
  const field = (bytes: number[] | null) => (bytes === null ? varint(-1) : [...varint(bytes.length), ...bytes]);
  const body = [0, ...varint(0), ...varint(offsetDelta), ...field(key), ...field(value), ...varint(0)];
  return [...varint(body.length), ...body];
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
