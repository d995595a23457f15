/**
 * Fetch-ahead in the partition consumer, against a scripted broker (the cluster's connections
 * replaced): while a partition's batch is handled, the partition is fetched once more and the
 * answer buffered (never more than one batch per partition); the buffered batch is delivered after
 * the one before it, kept while paused, dropped by a seek or a failed handler; an error found
 * ahead surfaces after the records before it. Also the record objects the consumer builds.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CorruptRecordError, decodeRecordBatches, encodeRecordBatch, type Consumer, type ConsumerBatch, type ConsumerOptions } from "../../src/entry/node.ts";
import { concat } from "../support/raw-batch.ts";
import { scriptedConsumer, SCRIPTED_TOPIC as TOPIC, type FetchAnswer } from "../support/scripted-broker.ts";
const consumers: Consumer[] = [];

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.close();
});

/** A consumer whose Fetch requests `script` answers per partition (`partitions` partitions, all led by broker 1). */
function fakeConsumer(partitions: number, script: (partition: number, fetchOffset: number) => FetchAnswer, options: Partial<ConsumerOptions> = {}) {
  const scripted = scriptedConsumer({ partitions, highWatermark: 1_000, answer: script, options });
  consumers.push(scripted.consumer);
  const { requests } = scripted;
  /** How many Fetch requests asked for `partition`. */
  const fetchesOf = (partition: number) => requests.filter((r) => r.topics.some((t) => t.partitions.some((p) => p.partition === partition))).length;
  return { ...scripted, fetchesOf };
}

/** One batch of one record per offset below `end` (one batch per Fetch), nothing after. */
const onePerFetch = (end: number, tag: string) => (offset: number): FetchAnswer => (offset < end ? { records: data(offset, [`${tag}${offset}`]) } : {});

function data(offset: number, values: string[]): Uint8Array {
  return encodeRecordBatch(values.map((value) => ({ value })), { baseOffset: offset });
}

const text = (v: Uint8Array | null) => (v === null ? null : new TextDecoder().decode(v));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` (up to ~5 s); the test's own assertions say what must hold. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await sleep(10);
}

const P0 = { topic: TOPIC, partition: 0 };

describe("fetch-ahead (scripted broker)", () => {
  it("a slow handler on one partition: its partition buffers at most one batch while the others keep flowing", async () => {
    const { consumer, fetchesOf } = fakeConsumer(2, (partition, offset) => onePerFetch(partition === 0 ? 30 : 20, `p${partition}-`)(offset));
    consumer.assign([{ ...P0, offset: 0 }, { topic: TOPIC, partition: 1, offset: 0 }]);
    let unblock!: () => void;
    const blocked = new Promise<void>((r) => (unblock = r));
    const seen = new Map<number, number[]>([[0, []], [1, []]]);
    const running = consumer.run({
      partitionsConsumedConcurrently: 2,
      eachBatch: async (batch) => {
        seen.get(batch.partition)!.push(...batch.records.map((r) => r.offset));
        if (batch.partition === 0 && batch.records[0]!.offset === 0) await blocked;
      },
    });
    // Partition 1 goes through 20 Fetches while partition 0's first batch is still being handled.
    await until(() => seen.get(1)!.length >= 20);
    expect(seen.get(1)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(seen.get(0)).toEqual([0]);
    // Partition 0: its first Fetch plus one ahead, never more; the buffered batch waits.
    expect(fetchesOf(0)).toBe(2);
    expect(consumer.stats.fetchedAhead).toBeGreaterThanOrEqual(1);
    expect(consumer.stats.bufferedBatches).toBe(1);
    expect(consumer.stats.bufferedRecords).toBe(1);
    expect(consumer.position(P0)).toBe(2); // past the buffered batch
    unblock();
    await until(() => seen.get(0)!.length >= 30);
    expect(seen.get(0)).toEqual(Array.from({ length: 30 }, (_, i) => i)); // in order, each once
    expect(consumer.stats.bufferedBatches).toBe(0);
    await consumer.close();
    await running;
  });

  it("pause keeps the buffered batch undelivered; resume delivers it, then the rest, in order", async () => {
    const { consumer, fetchesOf } = fakeConsumer(1, (_, offset) => onePerFetch(5, "v")(offset));
    consumer.assign([{ ...P0, offset: 0 }]);
    const it = consumer.batches();
    const first = (await it.next()).value as ConsumerBatch;
    expect(first.records.map((r) => r.offset)).toEqual([0]);
    await until(() => consumer.stats.bufferedBatches === 1);
    expect(consumer.stats.bufferedBatches).toBe(1);
    consumer.pause([P0]);
    let next: ConsumerBatch | undefined;
    const asking = it.next().then((r) => (next = r.value as ConsumerBatch)); // releases the first batch
    await sleep(400); // several maxWaitMs
    expect(next).toBeUndefined(); // nothing delivered while paused
    expect(fetchesOf(0)).toBe(2); // nor fetched
    expect(consumer.position(P0)).toBe(2);
    consumer.resume([P0]);
    await asking;
    expect(next!.records.map((r) => text(r.value))).toEqual(["v1"]);
    const rest: number[] = [];
    for await (const b of { [Symbol.asyncIterator]: () => it }) {
      rest.push(...b.records.map((r) => r.offset));
      if (rest.at(-1) === 4) break;
    }
    expect(rest).toEqual([2, 3, 4]);
  });

  it("seek drops the buffered batch: the next batch comes from the new position", async () => {
    const { consumer } = fakeConsumer(1, (_, offset) => onePerFetch(100, "v")(offset));
    consumer.assign([{ ...P0, offset: 0 }]);
    const it = consumer.batches();
    expect(((await it.next()).value as ConsumerBatch).records[0]!.offset).toBe(0);
    await until(() => consumer.stats.bufferedBatches === 1);
    expect(consumer.stats.bufferedBatches).toBe(1);
    await consumer.seek(P0, 50);
    expect(consumer.stats.bufferedBatches).toBe(0);
    const offsets: number[] = [];
    for await (const b of { [Symbol.asyncIterator]: () => it }) {
      offsets.push(...b.records.map((r) => r.offset));
      if (offsets.length >= 3) break;
    }
    expect(offsets).toEqual([50, 51, 52]);
  });

  it("a failed eachBatch handler drops the buffered batch; after resume the failed batch comes again, then the rest", async () => {
    const { consumer } = fakeConsumer(1, (_, offset) => onePerFetch(4, "v")(offset));
    consumer.assign([{ ...P0, offset: 0 }]);
    const seen: number[] = [];
    let failed = false;
    await expect(consumer.run({
      eachBatch: async (batch) => {
        if (!failed) {
          await until(() => consumer.stats.bufferedBatches === 1);
          expect(consumer.stats.bufferedBatches).toBe(1);
          failed = true;
          throw new Error("handler failed");
        }
      },
    })).rejects.toThrow("handler failed");
    expect(consumer.stats.bufferedBatches).toBe(0);
    expect(consumer.position(P0)).toBe(0);
    expect(consumer.paused()).toEqual([P0]);
    consumer.resume([P0]);
    await consumer.run({
      eachBatch: (batch) => {
        seen.push(...batch.records.map((r) => r.offset));
        if (seen.length >= 4) void consumer.close();
      },
    });
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it("a corrupt batch found ahead: the records before it come after the handled batch, then CorruptRecordError", async () => {
    const bad = data(3, ["x3"]);
    bad[bad.length - 1]! ^= 0xff;
    const { consumer } = fakeConsumer(1, (_, offset) => {
      if (offset === 0) return { records: data(0, ["g0"]) };
      if (offset === 1) return { records: concat(data(1, ["g1", "g2"]), bad) };
      return {};
    });
    consumer.assign([{ ...P0, offset: 0 }]);
    const it = consumer.batches();
    const first = (await it.next()).value as ConsumerBatch;
    await until(() => consumer.stats.bufferedBatches === 1);
    expect(consumer.stats.bufferedBatches).toBe(1);
    expect(consumer.paused()).toEqual([]); // the error is buffered behind the batch, not surfaced yet
    const second = (await it.next()).value as ConsumerBatch;
    expect([...first.records, ...second.records].map((r) => text(r.value))).toEqual(["g0", "g1", "g2"]);
    const error = await it.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error).toMatchObject({ topic: TOPIC, partition: 0, baseOffset: 3 });
    expect(consumer.paused()).toEqual([P0]);
    expect(consumer.position(P0)).toBe(3);
  });

  it("delivered records: an array of plain records, shared frozen headers when there are none", async () => {
    const { consumer } = fakeConsumer(1, (_, offset) => (offset <= 2 // the broker answers with the batch holding the offset
      ? { records: encodeRecordBatch([{ key: "k0", value: "v0" }, { value: "v1", headers: [{ key: "h", value: "x" }] }, { value: null }], { baseOffset: 0 }) }
      : {}));
    consumer.assign([{ ...P0, offset: 1 }]); // from the middle of the batch
    const [batch] = await (async () => {
      for await (const b of consumer.batches()) return [b];
      return [];
    })();
    expect(Array.isArray(batch!.records)).toBe(true);
    expect(batch!.records).toBe(batch!.records); // built once
    expect({ ...batch! }).toEqual({
      topic: TOPIC, partition: 0, highWatermark: 1_000, lastStableOffset: 1_000, logStartOffset: 0, nextOffset: 3,
      records: [
        { offset: 1, timestamp: expect.any(Number), key: null, value: new TextEncoder().encode("v1"), headers: [{ key: "h", value: new TextEncoder().encode("x") }] },
        { offset: 2, timestamp: expect.any(Number), key: null, value: null, headers: [] },
      ],
    });
    expect(Object.isFrozen(batch!.records[1]!.headers)).toBe(true);
  });

  it("readers give the event loop a turn between busy handler calls (sockets are read meanwhile)", async () => {
    // One Fetch answers 4 partitions: 4 batches queued at once, each handled by a 5 ms busy call.
    const { consumer } = fakeConsumer(4, (_, offset) => (offset === 0 ? { records: data(0, ["x"]) } : {}));
    consumer.assign([0, 1, 2, 3].map((partition) => ({ topic: TOPIC, partition, offset: 0 })));
    const order: string[] = [];
    void consumer.run({
      eachBatch: (batch) => {
        if (order.length === 0) setTimeout(() => order.push("timer"), 0);
        order.push(`p${batch.partition}`);
        const until = performance.now() + 5;
        while (performance.now() < until);
      },
    });
    await until(() => order.filter((o) => o.startsWith("p")).length === 4 && order.includes("timer"));
    expect(order.filter((o) => o.startsWith("p"))).toHaveLength(4);
    // Without the turns, the four calls run back to back as promise continuations and the timer waits for all of them.
    expect(order.indexOf("timer")).toBeLessThan(order.length - 1);
  });

  it("a broker that streams records gets two Fetches at once (no long poll); an idle one a single long-polling Fetch", async () => {
    const streaming = fakeConsumer(4, (_, offset) => onePerFetch(40, "s")(offset));
    streaming.consumer.assign([0, 1, 2, 3].map((partition) => ({ topic: TOPIC, partition, offset: 0 })));
    let handled = 0;
    void streaming.consumer.run({ eachBatch: (batch) => void (handled += batch.records.length) });
    await until(() => handled === 160);
    expect(handled).toBe(160);
    expect(streaming.peakInFlight()).toBe(2);
    // Just-assigned partitions are asked at once, in two Fetches, and while answers carry records no
    // Fetch long-polls (the first 40 rounds; once the partitions are read to their end, Fetches long-poll).
    expect(streaming.requests.slice(0, 2).map((r) => r.topics[0]!.partitions.map((p) => p.partition))).toEqual([[0, 1], [2, 3]]);
    expect(streaming.requests.slice(0, 40).every((r) => r.maxWaitMs === 0)).toBe(true);

    const idle = fakeConsumer(4, () => ({}));
    idle.consumer.assign([0, 1, 2, 3].map((partition) => ({ topic: TOPIC, partition, offset: 0 })));
    void idle.consumer.run({ eachBatch: () => {} });
    await sleep(300);
    expect(idle.requests.length).toBeGreaterThan(5);
    // The two immediate Fetches of the just-assigned partitions come back empty: from then on, one long poll at a time.
    expect(idle.requests.slice(0, 2).every((r) => r.maxWaitMs === 0)).toBe(true);
    expect(idle.requests.slice(2).every((r) => r.maxWaitMs === 100)).toBe(true);
    expect(idle.peakInFlight(2)).toBe(1);
  });

  it("a handled batch drops its record objects; read again, it builds equal ones", async () => {
    const { consumer } = fakeConsumer(1, (_, offset) => onePerFetch(2, "r")(offset));
    consumer.assign([{ ...P0, offset: 0 }]);
    const seen: { batch: ConsumerBatch; records: unknown[] }[] = [];
    void consumer.run({ eachBatch: (batch) => void seen.push({ batch, records: batch.records }) });
    await until(() => seen.length === 2);
    expect(seen.map((s) => s.records.length)).toEqual([1, 1]);
    for (const { batch, records } of seen) {
      expect(batch.records).not.toBe(records); // released: the consumer no longer keeps the objects alive
      expect(batch.records).toEqual(records);
    }
  });
});

describe("RecordSet views", () => {
  const blob = encodeRecordBatch([{ key: "a", value: "1" }, { key: "b", value: "2", headers: [{ key: "h", value: "v" }] }], { baseOffset: 7 });

  it("keys and values are views of the input (a Buffer input keeps giving Buffers)", () => {
    const input = new Uint8Array(blob.length + 3);
    input.set(blob, 3);
    const set = decodeRecordBatches(input.subarray(3));
    const value = set.record(0).value!;
    expect(value.constructor).toBe(Uint8Array);
    expect(text(value)).toBe("1");
    input[value.byteOffset] = "9".charCodeAt(0);
    expect(text(set.record(0).value)).toBe("9"); // a view, not a copy
    const fromBuffer = decodeRecordBatches(Buffer.from(blob));
    expect(Buffer.isBuffer(fromBuffer.record(1).key)).toBe(true);
    expect(fromBuffer.record(1).headers.map((h) => [h.key, text(h.value)])).toEqual([["h", "v"]]);
  });

  it("records without headers share one frozen empty array; out-of-range indexes throw", () => {
    const set = decodeRecordBatches(blob);
    expect(set.record(0).headers).toEqual([]);
    expect(set.record(0).headers).toBe(set.headers(0));
    expect(Object.isFrozen(set.record(0).headers)).toBe(true);
    expect(() => set.record(2)).toThrow(RangeError);
    expect(() => set.record(-1)).toThrow(RangeError);
    expect(() => set.record(0.5)).toThrow(RangeError);
  });
});
