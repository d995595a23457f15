/**
 * Primitive encoders for the Kafka wire protocol: big-endian integers, unsigned varints, classic
 * and compact (flexible-version) strings, bytes and array lengths, UUIDs. The buffer grows as needed.
 *
 * Large byte fields (a Produce request's record batches) are not copied into the buffer: the
 * writer keeps a reference and copies them once, into the finished message, in `finish()`.
 * Copying them in, growing the buffer by doubling around them and copying the result out again
 * cost three copies of every batch. Callers must not change such bytes before `finish()`.
 */
const utf8 = new TextEncoder();
const TWO_32 = 2 ** 32;

/** Byte fields at least this long are referenced until `finish()` rather than copied in. */
const REFERENCE_BYTES = 4096;

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  /** Write position in `buf` (not the bytes written so far: see `size`). */
  private pos = 0;
  /** Finished pieces, in order: slices of earlier buffers' contents and referenced byte fields. */
  private readonly parts: Uint8Array[] = [];
  private partsLength = 0;
  /** Where the part of `buf` not yet in `parts` starts. */
  private partStart = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Only the part not yet in `parts` moves to the new buffer (the parts keep the old one).
    const used = this.pos - this.partStart;
    let size = this.buf.length * 2;
    while (size < used + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(this.partStart, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
    this.pos = used;
    this.partStart = 0;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.partsLength + this.pos - this.partStart;
  }

  /** The bytes written so far (a copy). */
  finish(): Uint8Array {
    if (this.parts.length === 0) return this.buf.slice(0, this.pos);
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    out.set(this.buf.subarray(this.partStart, this.pos), at);
    return out;
  }

  int8(v: number): void {
    this.ensure(1);
    this.view.setInt8(this.pos, v);
    this.pos += 1;
  }
  bool(v: boolean): void {
    this.int8(v ? 1 : 0);
  }
  int16(v: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, v);
    this.pos += 2;
  }
  uint16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }
  int32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }
  uint32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }
  /** An int64 from a safe integer (offsets, timestamps, producer ids). */
  int64(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`int64 field value ${v} is not a safe integer`);
    const hi = Math.floor(v / TWO_32);
    this.int32(hi);
    this.uint32(v - hi * TWO_32);
  }
  float64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }
  uvarint(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`unsigned varint ${v} out of range`);
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  raw(bytes: Uint8Array): void {
    if (bytes.length >= REFERENCE_BYTES) return this.reference(bytes);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Appends `bytes` as a part of its own; what follows is written on in `buf`. */
  private reference(bytes: Uint8Array): void {
    if (this.pos > this.partStart) {
      this.parts.push(this.buf.subarray(this.partStart, this.pos));
      this.partsLength += this.pos - this.partStart;
      this.partStart = this.pos;
    }
    this.parts.push(bytes);
    this.partsLength += bytes.length;
  }

  /** A length prefix: int16/int32 in classic versions, unsigned varint N+1 in compact ones. */
  private length(n: number | null, compact: boolean, wide: boolean): void {
    if (compact) this.uvarint(n === null ? 0 : n + 1);
    else if (wide) this.int32(n === null ? -1 : n);
    else this.int16(n === null ? -1 : n);
  }
  string(v: string | null, compact: boolean): void {
    if (v === null) return this.length(null, compact, false);
    const bytes = utf8.encode(v);
    if (!compact && bytes.length > 0x7fff) throw new RangeError(`string of ${bytes.length} bytes is too long`);
    this.length(bytes.length, compact, false);
    this.raw(bytes);
  }
  bytes(v: Uint8Array | null, compact: boolean): void {
    this.length(v === null ? null : v.length, compact, true);
    if (v !== null) this.raw(v);
  }
  arrayLength(n: number | null, compact: boolean): void {
    this.length(n, compact, true);
  }
  uuid(v: string): void {
    const hex = v.replace(/-/g, "");
    if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`"${v}" is not a UUID`);
    for (let i = 0; i < 32; i += 2) this.int8(parseInt(hex.slice(i, i + 2), 16) << 24 >> 24);
  }
  /** A tagged field: tag, then its encoded value with a size prefix. */
  tagged(tag: number, write: (w: Writer) => void): void {
    const inner = new Writer(32);
    write(inner);
    this.uvarint(tag);
    this.uvarint(inner.size);
    this.raw(inner.finish());
  }
}
