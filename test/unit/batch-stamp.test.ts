/**
 * Batches encoded without producer fields and stamped afterwards (src/records/stamp.ts), inline
 * and on Node's batch-encoding thread, are byte for byte the batches encoded with those fields.
 */
import { readFileSync } from "node:fs";
import * as workerThreads from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { crc32c } from "../../src/entry/node.ts";
import { encodeRecordBatch, layOutRecordBatch, type RecordInput } from "../../src/records/encode.ts";
import { BATCH_TAIL_AT, stampProducerFields } from "../../src/records/stamp.ts";
import { nodeEncodeThreads } from "../../src/producer/encode-threads-node.ts";
import type { CompressionCodec } from "../../src/records/types.ts";

const wasm = () => readFileSync(new URL("../../wasm/tributary_core.wasm", import.meta.url));

function records(count: number): RecordInput[] {
  return Array.from({ length: count }, (_, i) => ({
    key: i % 5 === 0 ? null : `key-${i}`,
    value: i % 7 === 0 ? null : `{"n":${i},"text":"${"abc".repeat(i % 40)}"}`,
    headers: i % 3 === 0 ? [{ key: "h", value: `v${i}` }] : undefined,
    timestamp: 1_700_000_000_000 + i,
  }));
}

const codecs: CompressionCodec[] = ["none", "lz4", "zstd"];

describe("producer fields stamped into an encoded batch", () => {
  for (const compression of codecs) {
    it(`${compression}: equals the batch encoded with them, whatever was stamped before`, () => {
      const input = records(300);
      const bare = encodeRecordBatch(input, { compression });
      const tailCrc = crc32c(bare.subarray(BATCH_TAIL_AT));
      for (const [producerId, producerEpoch, baseSequence] of [[7, 0, 0], [2 ** 40 + 3, 5, 123_456], [-1, -1, -1], [42, 1, 2 ** 31 - 300]] as const) {
        stampProducerFields(bare, tailCrc, producerId, producerEpoch, baseSequence);
        expect(bare).toEqual(encodeRecordBatch(input, { compression, producerId, producerEpoch, baseSequence }));
      }
    });
  }

  it("a wrong tail CRC gives a batch whose CRC does not match (the stamp really uses it)", () => {
    const input = records(50);
    const bare = encodeRecordBatch(input, { compression: "lz4" });
    stampProducerFields(bare, crc32c(bare.subarray(BATCH_TAIL_AT)) ^ 1, 7, 0, 0);
    expect(bare).not.toEqual(encodeRecordBatch(input, { compression: "lz4", producerId: 7, producerEpoch: 0, baseSequence: 0 }));
  });
});

describe("Node's batch-encoding thread", () => {
  it("encodes laid-out batches in their own buffers; stamped, they equal inline encoding", async () => {
    const threads = nodeEncodeThreads(workerThreads, wasm);
    for (const compression of codecs) {
      const input = records(500);
      const layout = layOutRecordBatch(input, { compression });
      const buffer = layout.bytes.buffer;
      const encoded = await threads.encode(layout);
      expect(buffer.byteLength).toBe(0); // moved to the thread, not copied
      expect(encoded.bytes.byteOffset).toBe(0);
      expect(encoded.tailCrc).toBe(crc32c(encoded.bytes.subarray(BATCH_TAIL_AT)));
      stampProducerFields(encoded.bytes, encoded.tailCrc, 99, 2, 1_000);
      expect(encoded.bytes).toEqual(encodeRecordBatch(input, { compression, producerId: 99, producerEpoch: 2, baseSequence: 1_000 }));
    }
  });

  it("rejects a layout the core refuses, and goes on encoding", async () => {
    const threads = nodeEncodeThreads(workerThreads, wasm);
    const layout = layOutRecordBatch(records(10), { compression: "lz4" });
    new Float64Array(layout.bytes.buffer, 0, 7)[2] = 99; // codec 99
    await expect(threads.encode(layout)).rejects.toThrow(/could not encode a batch: .*status/);
    const encoded = await threads.encode(layOutRecordBatch(records(10), { compression: "lz4" }));
    expect(encoded.bytes.byteLength).toBeGreaterThan(BATCH_TAIL_AT);
  });
});
