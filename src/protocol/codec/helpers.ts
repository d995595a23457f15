/** Small helpers the generated codecs share (arrays, nullability checks, defaults). */
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

export function readArray<T>(r: Reader, compact: boolean, read: (r: Reader) => T): T[] {
  const n = r.arrayLength(compact, false)!;
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = read(r);
  return out;
}

export function readNullableArray<T>(r: Reader, compact: boolean, read: (r: Reader) => T): T[] | null {
  const n = r.arrayLength(compact, true);
  if (n === null) return null;
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = read(r);
  return out;
}

export function writeArray<T>(w: Writer, compact: boolean, items: readonly T[] | null, write: (w: Writer, item: T) => void): void {
  if (items === null) return w.arrayLength(null, compact);
  w.arrayLength(items.length, compact);
  for (const item of items) write(w, item);
}

/** Refuses null for a field that is not nullable in the version being encoded. */
export function notNull<T>(value: T | null, field: string, version: number): T {
  if (value === null) throw new TypeError(`${field} cannot be null in version ${version}`);
  return value;
}
