/**
 * Writing keys, values and header values into the core's memory: bytes are copied, strings are
 * encoded as UTF-8 straight into place (no intermediate buffer).
 */
export type BytesOrString = Uint8Array | string;

const utf8 = new TextEncoder();

/** Strings up to this many UTF-16 code units are tried as ASCII first (see `writeBytes`). */
const SHORT_STRING = 64;

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
  if (bytes.length <= SHORT_STRING && writeAscii(memory, at, bytes)) return bytes.length;
  return utf8.encodeInto(bytes, memory.subarray(at, at + bytes.length * 3)).written;
}

/**
 * Short keys are mostly ASCII: a plain loop writes them in about half the time `encodeInto`
 * takes (which needs a `subarray` view per call). Returns false at the first non-ASCII code unit;
 * the caller then encodes the whole string again, over whatever was written.
 */
function writeAscii(memory: Uint8Array, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80) return false;
    memory[at + i] = code;
  }
  return true;
}
