/**
 * Encoding (and compressing) a producer's batches on another thread: the interface, and the
 * implementation the runtime's entry point registers (Node: src/producer/encode-threads-node.ts).
 * Runtimes without one encode every batch on the caller's thread, when it is sent.
 *
 * Why: with compression the producer is CPU-bound on its own thread, and compressing is most of
 * that CPU (LZ4: ~half of 100k × 1 KiB records' client time; bench/RESULTS.md). It is opt-in
 * (`ProducerOptions.compressOffThread`): it only pays where a core is idle. The caller's
 * thread lays a sealed batch out (`layOutRecordBatch`, a copy of its keys and values), another
 * thread's core encodes and compresses it while the caller goes on, and the producer writes the
 * producer id and sequence in when it sends the batch (`stampProducerFields`).
 */
import type { RecordBatchLayout } from "../records/encode.ts";

/** A batch encoded without producer fields (id, epoch and sequence -1). */
export interface EncodedOffThread {
  /** From the start of the layout's buffer when the batch fitted there (it nearly always does), else a new one. */
  bytes: Uint8Array;
  /** CRC-32C of `bytes` from the record count on (`BATCH_TAIL_AT`), for `stampProducerFields`. */
  tailCrc: number;
}

export interface BatchEncodeThreads {
  /**
   * Encodes a laid-out batch; takes ownership of `layout.bytes`'s buffer, which is moved to the
   * other thread and back with the encoded batch in it. Rejects when the thread cannot (the
   * producer then encodes the batch itself).
   */
  encode(layout: RecordBatchLayout): Promise<EncodedOffThread>;
}

let registered: BatchEncodeThreads | undefined;

/** Called by a runtime's entry point that can run threads. */
export function setDefaultEncodeThreads(threads: BatchEncodeThreads): void {
  registered = threads;
}

/** The runtime's batch-encoding threads, if its entry point registered any. */
export function defaultEncodeThreads(): BatchEncodeThreads | undefined {
  return registered;
}
