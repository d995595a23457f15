/**
 * Writing keys, values and header values into the core's memory: bytes are copied, strings are
 * encoded as UTF-8 straight into place (no intermediate buffer).
 */
export type BytesOrString = Uint8Array | string;

const utf8 = new TextEncoder();

/** Room to reserve for `bytes`: UTF-8 needs at most 3 bytes per UTF-16 code unit. */
export function maxByteLength(bytes: BytesOrString): number {
  return typeof bytes === "string" ? bytes.length * 3 : bytes.byteLength;
}

/** Writes `bytes` at `at` in `memory` (which has `maxByteLength(bytes)` room); returns the bytes written. */
export function writeBytes(memory: Uint8Array, at: number, bytes: BytesOrString): number {
  if (typeof bytes !== "string") {
    memory.set(bytes, at);
    return bytes.byteLength;
  }
  return utf8.encodeInto(bytes, memory.subarray(at, at + bytes.length * 3)).written;
}
