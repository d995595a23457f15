/**
 * Bounds-checked primitive decoders for the Kafka wire protocol. Every read checks the frame's
 * remaining length first, so a truncated or corrupt frame throws `ProtocolDecodeError`, never a
 * RangeError or garbage.
 */
import { ProtocolDecodeError } from "../../errors.ts";

// ignoreBOM: strings are kept as sent, a leading U+FEFF included (as Java keeps it).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const TWO_32 = 2 ** 32;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export class Reader {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  pos: number;
  end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.end = end;
  }

  fail(message: string, at = this.pos): never {
    throw new ProtocolDecodeError(message, at);
  }
  private need(n: number, what: string): void {
    if (n > this.end - this.pos) this.fail(`truncated frame: ${what} needs ${n} bytes, ${this.end - this.pos} left`);
  }
  get remaining(): number {
    return this.end - this.pos;
  }

  int8(): number {
    this.need(1, "int8");
    return this.view.getInt8(this.pos++);
  }
  bool(): boolean {
    return this.int8() !== 0;
  }
  int16(): number {
    this.need(2, "int16");
    const v = this.view.getInt16(this.pos);
    this.pos += 2;
    return v;
  }
  uint16(): number {
    this.need(2, "uint16");
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4, "int32");
    const v = this.view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }
  /** An int64 as a number; throws rather than lose precision beyond ±(2^53 - 1). */
  int64(): number {
    this.need(8, "int64");
    const start = this.pos;
    const hi = this.view.getInt32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    this.pos += 8;
    const v = hi * TWO_32 + lo;
    if (!Number.isSafeInteger(v)) this.fail(`int64 value beyond ±2^53 cannot be represented exactly`, start);
    return v;
  }
  float64(): number {
    this.need(8, "float64");
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }
  uvarint(): number {
    const start = this.pos;
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      this.need(1, "varint");
      const b = this.bytes[this.pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) {
        if (v > 0xffffffff) this.fail("unsigned varint overflows 32 bits", start);
        return v;
      }
    }
    return this.fail("unsigned varint longer than 5 bytes", start);
  }

  /** A length prefix; null for -1 (or compact 0). */
  private length(compact: boolean, wide: boolean, what: string): number | null {
    const start = this.pos;
    const n = compact ? this.uvarint() - 1 : wide ? this.int32() : this.int16();
    if (n < -1) this.fail(`negative ${what} length ${n}`, start);
    return n === -1 ? null : n;
  }
  string(compact: boolean, nullable: boolean): string | null {
    const start = this.pos;
    const n = this.length(compact, false, "string");
    if (n === null) return nullable ? null : this.fail("null in a non-nullable string", start);
    this.need(n, "string");
    try {
      return utf8.decode(this.bytes.subarray(this.pos, this.pos + n));
    } catch {
      return this.fail("string is not valid UTF-8");
    } finally {
      this.pos += n;
    }
  }
  /** Bytes (and records) as a view into the frame, no copy. */
  bytesField(compact: boolean, nullable: boolean): Uint8Array | null {
    const start = this.pos;
    const n = this.length(compact, true, "bytes");
    if (n === null) return nullable ? null : this.fail("null in non-nullable bytes", start);
    this.need(n, "bytes");
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** An array's element count; each element takes at least one byte, so larger counts are corrupt. */
  arrayLength(compact: boolean, nullable: boolean): number | null {
    const start = this.pos;
    const n = this.length(compact, true, "array");
    if (n === null) return nullable ? null : this.fail("null in a non-nullable array", start);
    if (n > this.remaining) this.fail(`array of ${n} elements cannot fit in ${this.remaining} bytes`, start);
    return n;
  }
  uuid(): string {
    this.need(16, "uuid");
    let s = "";
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
      s += HEX[this.bytes[this.pos + i]!];
    }
    this.pos += 16;
    return s;
  }
  /**
   * Reads a tagged-field section, calling `field` for each tag with a reader bounded to the field's
   * bytes; `field` returns false for tags it does not know, which are skipped.
   */
  taggedFields(field: (tag: number, r: Reader) => boolean): void {
    const count = this.uvarint();
    let last = -1;
    for (let i = 0; i < count; i++) {
      const at = this.pos;
      const tag = this.uvarint();
      if (tag <= last) this.fail(`tagged fields out of order (tag ${tag} after ${last})`, at);
      last = tag;
      const size = this.uvarint();
      this.need(size, "tagged field");
      const sub = new Reader(this.bytes, this.pos, this.pos + size);
      if (field(tag, sub) && sub.pos !== sub.end) this.fail(`tagged field ${tag} has ${sub.end - sub.pos} unread bytes`, sub.pos);
      this.pos += size;
    }
  }
}
