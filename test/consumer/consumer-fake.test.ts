/**
 * The partition consumer against a scripted broker (the cluster's connections replaced): the cases
 * a real broker will not produce on demand — corrupt batches, a batch bigger than the partition
 * limit left out, interleaved aborted transactions — and error back-off.
 */
import { afterEach, describe, expect, it } from "vitest";
import { crc32c, CorruptRecordError, createConsumer, encodeRecordBatch, type Consumer, type ConsumerBatch, type ConsumerOptions } from "../../src/entry/node.ts";
import type { FetchRequest } from "../../src/protocol/generated/index.ts";
import { concat } from "../support/raw-batch.ts";
import { scriptedConsumer, SCRIPTED_TOPIC as TOPIC, type FetchAnswer } from "../support/scripted-broker.ts";
const consumers: Consumer[] = [];

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.close();
});

/** A consumer whose Fetch requests `script` answers (one partition, leader 1). */
function fakeConsumer(script: (request: FetchRequest, n: number) => FetchAnswer, options: Partial<ConsumerOptions> = {}) {
  const scripted = scriptedConsumer({ partitions: 1, highWatermark: 100, answer: (_p, _o, request, n) => script(request, n), options });
  consumers.push(scripted.consumer);
  return scripted;
}

/** A control batch (transaction marker) for `producerId` at `offset`: type 0 ABORT, 1 COMMIT. */
function marker(offset: number, producerId: number, type: 0 | 1): Uint8Array {
  const batch = encodeRecordBatch([{ key: new Uint8Array([0, 0, 0, type]), value: new Uint8Array([0, 0, 0, 0, 0, 0]) }], {
    baseOffset: offset, producerId, producerEpoch: 0, baseSequence: -1, transactional: true,
  });
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  view.setInt16(21, view.getInt16(21) | 0x20);
  view.setUint32(17, crc32c(batch.subarray(21)));
  return batch;
}

function data(offset: number, values: string[], producerId = -1): Uint8Array {
  return encodeRecordBatch(values.map((value) => ({ value })), {
    baseOffset: offset, ...(producerId >= 0 ? { producerId, producerEpoch: 0, baseSequence: 0, transactional: true } : {}),
  });
}

const text = (v: Uint8Array | null) => (v === null ? null : new TextDecoder().decode(v));

async function take(consumer: Consumer, n: number): Promise<ConsumerBatch[]> {
  const out: ConsumerBatch[] = [];
  if (n === 0) return out;
  for await (const batch of consumer.batches()) {
    out.push(batch);
    if (out.length >= n) break;
  }
  return out;
}

describe("partition consumer (scripted broker)", () => {
  // pid 5: aborted (0-1, marker 4), pid 6: committed (2-3, marker 5), pid 5 again: a new transaction (6).
  const log = concat(data(0, ["a0", "a1"], 5), data(2, ["c2", "c3"], 6), marker(4, 5, 0), marker(5, 6, 1), data(6, ["n6"], 5), data(7, ["plain7"]));
  const aborted = [{ producerId: 5, firstOffset: 0 }];

  it("read_committed: drops batches of aborted transactions until the ABORT marker; never delivers markers", async () => {
    const { consumer } = fakeConsumer((r) => (r.topics[0]!.partitions[0]!.fetchOffset === 0 ? { records: log, abortedTransactions: aborted } : {}), { isolationLevel: "read_committed" });
    consumer.assign([{ topic: TOPIC, partition: 0, offset: 0 }]);
    const [batch] = await take(consumer, 1);
    expect(batch!.records.map((r) => [r.offset, text(r.value)])).toEqual([[2, "c2"], [3, "c3"], [6, "n6"], [7, "plain7"]]);
    expect(consumer.position({ topic: TOPIC, partition: 0 })).toBe(8);
  });

  it("read_uncommitted: every data record, still no markers; the request says isolation level 0", async () => {
    const { consumer, requests } = fakeConsumer((r) => (r.topics[0]!.partitions[0]!.fetchOffset === 1 ? { records: log, abortedTransactions: aborted } : {}));
    consumer.assign([{ topic: TOPIC, partition: 0, offset: 1 }]);
    const [batch] = await take(consumer, 1);
    expect(batch!.records.map((r) => r.offset)).toEqual([1, 2, 3, 6, 7]);
    expect(requests[0]!.isolationLevel).toBe(0);
  });

  it("a corrupt batch: the records before it, then CorruptRecordError with topic/partition; paused at the batch", async () => {
    const bad = data(3, ["x3", "x4"]);
    bad[bad.length - 1]! ^= 0xff;
    const { consumer } = fakeConsumer((r) => (r.topics[0]!.partitions[0]!.fetchOffset === 0 ? { records: concat(data(0, ["g0", "g1", "g2"]), bad) } : {}));
    consumer.assign([{ topic: TOPIC, partition: 0, offset: 0 }]);
    const batches: ConsumerBatch[] = [];
    let error: unknown;
    try {
      for await (const b of consumer.batches()) batches.push(b);
    } catch (e) {
      error = e;
    }
    expect(batches.flatMap((b) => b.records.map((r) => text(r.value)))).toEqual(["g0", "g1", "g2"]);
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error).toMatchObject({ topic: TOPIC, partition: 0, baseOffset: 3, reason: "crc-mismatch" });
    expect(consumer.paused()).toEqual([{ topic: TOPIC, partition: 0 }]);
    expect(consumer.position({ topic: TOPIC, partition: 0 })).toBe(3);
  });

  it("a batch bigger than partitionMaxBytes: the next fetch asks for more (KIP-74), up to maxBytes", async () => {
    const big = data(0, ["y".repeat(5_000)]);
    const { consumer, requests } = fakeConsumer((r) => {
      const p = r.topics[0]!.partitions[0]!;
      if (p.fetchOffset > 0) return {};
      return { records: big.subarray(0, Math.min(big.length, p.partitionMaxBytes)) };
    }, { partitionMaxBytes: 1_024, maxBytes: 64 * 1024 });
    consumer.assign([{ topic: TOPIC, partition: 0, offset: 0 }]);
    const [batch] = await take(consumer, 1);
    expect(text(batch!.records[0]!.value)).toHaveLength(5_000);
    expect(requests[0]!.topics[0]!.partitions[0]!.partitionMaxBytes).toBe(1_024);
    expect(requests[1]!.topics[0]!.partitions[0]!.partitionMaxBytes).toBeGreaterThan(big.length);
    expect(requests[1]!.topics[0]!.partitions[0]!.partitionMaxBytes).toBeLessThanOrEqual(64 * 1024);
    await new Promise((r) => setTimeout(r, 50));
    expect(requests.at(-1)!.topics[0]!.partitions[0]!.partitionMaxBytes).toBe(1_024); // back to normal
  });

  it("a batch bigger than maxBytes that the broker cuts anyway: a clear error, the partition paused (no refetch loop)", async () => {
    const big = data(0, ["z".repeat(5_000)]);
    const { consumer, requests } = fakeConsumer((r) => ({ records: big.subarray(0, Math.min(big.length, r.topics[0]!.partitions[0]!.partitionMaxBytes)) }), { partitionMaxBytes: 1_024, maxBytes: 2_048 });
    consumer.assign([{ topic: TOPIC, partition: 0, offset: 0 }]);
    await expect(take(consumer, 1)).rejects.toThrow(/does not fit in maxBytes \(2048\)/);
    expect(requests.map((r) => r.topics[0]!.partitions[0]!.partitionMaxBytes)).toEqual([1_024, 2_048]);
    expect(consumer.paused()).toEqual([{ topic: TOPIC, partition: 0 }]);
  });

  it("NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH: metadata refreshed, fetched again with backoff (no hot loop)", async () => {
    const { consumer, requests, invalidations } = fakeConsumer((_, n) => (n < 3 ? { errorCode: n % 2 === 0 ? 6 : 74 } : { records: data(0, ["ok"]) }));
    consumer.assign([{ topic: TOPIC, partition: 0, offset: 0 }]);
    const [batch] = await take(consumer, 1);
    expect(text(batch!.records[0]!.value)).toBe("ok");
    expect(invalidations()).toBeGreaterThanOrEqual(3);
    const persistent = fakeConsumer(() => ({ errorCode: 6 }));
    persistent.consumer.assign([{ topic: TOPIC, partition: 0, offset: 0 }]);
    await new Promise((r) => setTimeout(r, 1_000));
    // Backoff 100 ms doubling (capped at 2 s) with jitter: a handful in a second, not hundreds.
    expect(persistent.requests.length).toBeLessThanOrEqual(10);
    expect(requests.length).toBeGreaterThanOrEqual(4);
  });

  it("a failed Fetch (broken connection) backs off the broker and retries", async () => {
    const consumer = createConsumer({ brokers: ["fake:9092"], maxWaitMs: 100 });
    consumers.push(consumer);
    const { requests } = { requests: [] as number[] };
    const cluster = consumer.cluster as any;
    const meta = {
      clusterId: "fake", controllerId: 1, updatedAt: Date.now(),
      brokers: new Map([[1, { nodeId: 1, host: "fake", port: 9092, rack: null }]]),
      topics: new Map([[TOPIC, { name: TOPIC, topicId: "", isInternal: false, partitions: [{ partition: 0, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1], offlineReplicas: [], errorCode: 0 }] }]]),
    };
    cluster.connect = async () => meta;
    cluster.metadataFor = async () => meta;
    const { ConnectionError } = await import("../../src/errors.ts");
    cluster.connectionTo = () => ({
      send: async () => {
        requests.push(Date.now());
        throw new ConnectionError({ host: "fake", port: 9092, reason: "closed", message: "reset" });
      },
    });
    consumer.assign([{ topic: TOPIC, partition: 0, offset: 0 }]);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(requests.length).toBeGreaterThanOrEqual(2);
    expect(requests.length).toBeLessThanOrEqual(10);
    expect(consumer.stats.fetchErrors).toBe(requests.length);
  });
});
