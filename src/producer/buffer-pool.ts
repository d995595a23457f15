/**
 * Buffers that go round between the producer and its batch-encoding thread: a sealed batch is laid
 * out in one, moved to the thread, encoded into the same memory there and moved back, and the
 * producer keeps it as the batch's bytes until the batch is acknowledged; then it is reused.
 *
 * Why: like the producer's slabs, an ArrayBuffer per batch (its layout, then its encoding) counts
 * as V8 external memory, and ~150 MB of it per 100k × 1 KiB records made V8 run 7–12 full
 * mark-compacts per run on that pressure alone.
 */

/** Each buffer has at least this many bytes, so one fits the batches that come after it. */
const MIN_BYTES = 64 * 1024;

export class BufferPool {
  private readonly spare: ArrayBuffer[] = [];
  private readonly maxSpare: number;

  constructor(maxSpare: number) {
    this.maxSpare = maxSpare;
  }

  /** A buffer of at least `length` bytes. */
  take(length: number): ArrayBuffer {
    for (let i = this.spare.length - 1; i >= 0; i--) {
      const buffer = this.spare[i]!;
      if (buffer.byteLength < length) continue;
      this.spare[i] = this.spare[this.spare.length - 1]!;
      this.spare.pop();
      return buffer;
    }
    // Some room to spare: batches of one producer are about the same size.
    return new ArrayBuffer(Math.max(MIN_BYTES, Math.ceil((length * 1.25) / MIN_BYTES) * MIN_BYTES));
  }

  /** `buffer` is no longer used (and not moved to another thread); it may be handed out again. */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0 || this.spare.length >= this.maxSpare) return; // 0: moved away
    this.spare.push(buffer);
  }

  clear(): void {
    this.spare.length = 0;
  }
}
