/** The partition consumer end to end against the real broker on 127.0.0.1:9092. */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import kafkajs from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import {
  createAdmin, createConsumer, encodeRecordBatch, failed, kafkaError, OffsetOutOfRangeError,
  type Consumer, type ConsumerBatch, type ConsumerOptions, type DecodedRecord,
} from "../../src/entry/node.ts";
import { APIS } from "../../src/protocol/generated/index.ts";
import { kafkaClasspath, REPO_ROOT } from "../support/kafka.ts";

const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = kafkajs;
// kafkajs has gzip built in; snappy, lz4 and zstd come from the plug-ins the golden fixtures use.
const require = createRequire(import.meta.url);
await import("@sensejs/kafkajs-zstd-support");
CompressionCodecs[CompressionTypes.Snappy] = require("kafkajs-snappy");
CompressionCodecs[CompressionTypes.LZ4] = new (require("@2l/kafkajs-lz4"))().codec;
const BROKERS = ["127.0.0.1:9092"];
const stamp = Date.now();
const name = (what: string) => `tributary-consumer-${what}-${stamp}`;
const admin = createAdmin({ brokers: BROKERS, clientId: "tributary-consumer-test", retry: { deadlineMs: 15_000 } });
const kafka = new Kafka({ clientId: "tributary-consumer-test", brokers: BROKERS, logLevel: logLevel.NOTHING });
const topics: string[] = [];
const consumers: Consumer[] = [];

async function createTopic(topic: string, numPartitions = 1, configs?: Record<string, string>): Promise<string> {
  const results = await admin.createTopics([{ topic, numPartitions, replicationFactor: 1, ...(configs ? { configs } : {}) }]);
  expect(failed(results)).toEqual([]);
  topics.push(topic);
  return topic;
}

function consumer(options: Partial<ConsumerOptions> = {}): Consumer {
  const c = createConsumer({ brokers: BROKERS, clientId: "tributary-consumer-test", maxWaitMs: 200, ...options });
  consumers.push(c);
  return c;
}

interface Sent { key: Buffer | null; value: Buffer | null; headers: [string, Buffer][] }

function randomRecord(i: number): Sent {
  const size = i % 7 === 0 ? 2_000 + (i * 37) % 5_000 : (i * 13) % 200;
  const value = Buffer.alloc(size);
  for (let b = 0; b < size; b++) value[b] = (b * 31 + i * 7) & 0xff;
  return {
    key: i % 5 === 0 ? null : Buffer.from(`key-${i}-ü`),
    value: i % 11 === 0 ? null : value,
    headers: i % 3 === 0 ? [["h1", Buffer.from(`v${i}`)], ["h1", Buffer.from("dup")]] : [],
  };
}

/** Reads batches until `done` says so, or fails after `timeoutMs`. */
async function collect(c: Consumer, done: (byTp: Map<string, DecodedRecord[]>) => boolean, timeoutMs = 20_000): Promise<{ byTp: Map<string, DecodedRecord[]>; batches: ConsumerBatch[] }> {
  const byTp = new Map<string, DecodedRecord[]>();
  const batches: ConsumerBatch[] = [];
  if (done(byTp)) return { byTp, batches };
  const timer = setTimeout(() => void c.close(), timeoutMs);
  try {
    for await (const batch of c.batches()) {
      batches.push(batch);
      const key = `${batch.topic}:${batch.partition}`;
      byTp.set(key, [...(byTp.get(key) ?? []), ...batch.records]);
      if (done(byTp)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return { byTp, batches };
}

function expectSame(got: DecodedRecord[], sent: Sent[], firstOffset = 0): void {
  expect(got.length).toBe(sent.length);
  got.forEach((r, i) => {
    const s = sent[i]!;
    expect(r.offset).toBe(firstOffset + i);
    expect(r.key === null ? null : Buffer.from(r.key)).toEqual(s.key);
    expect(r.value === null ? null : Buffer.from(r.value)).toEqual(s.value);
    expect(r.headers.map((h) => [h.key, Buffer.from(h.value!)])).toEqual(s.headers);
  });
}

async function produceRaw(topic: string, partition: number, batch: Uint8Array): Promise<number> {
  const answer = await admin.cluster.sendToLeader(topic, partition, APIS.Produce, {
    transactionalId: null, acks: -1, timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  }, { purpose: "produce", check: (r) => kafkaError(r.responses[0].partitionResponses[0].errorCode, { topic, partition }) });
  return answer.responses[0]!.partitionResponses[0]!.baseOffset;
}

async function produceValues(topic: string, partition: number, values: string[], timestamp?: number): Promise<number> {
  return produceRaw(topic, partition, encodeRecordBatch(values.map((value) => ({ value, ...(timestamp !== undefined ? { timestamp } : {}) }))));
}

function kafkajsHeaders(headers: [string, Buffer][]): Record<string, Buffer[]> {
  const out: Record<string, Buffer[]> = {};
  for (const [k, v] of headers) (out[k] ??= []).push(v);
  return out;
}

const text = (r: DecodedRecord) => (r.value === null ? null : Buffer.from(r.value).toString());

afterAll(async () => {
  for (const c of consumers) await c.close();
  await admin.deleteTopics(topics).catch(() => undefined);
  admin.close();
});

describe.sequential("partition consumer (single broker)", () => {
  it("consumes kafkajs-produced records (none, gzip; snappy, lz4, zstd plug-ins) byte for byte, in order, across partitions", async () => {
    // Idempotent: kafkajs retries a whole multi-partition request when one partition fails
    // (NOT_LEADER_OR_FOLLOWER just after creation), which would otherwise duplicate the rest.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = new Map<string, Sent[]>();
    const codecs = [
      ["none", CompressionTypes.None], ["gzip", CompressionTypes.GZIP], ["snappy", CompressionTypes.Snappy],
      ["lz4", CompressionTypes.LZ4], ["zstd", CompressionTypes.ZSTD],
    ] as const;
    const created: string[] = [];
    try {
      for (const [codec, compression] of codecs) {
        const topic = await createTopic(name(`kafkajs-${codec}`), 3);
        created.push(topic);
        for (let round = 0; round < 4; round++) {
          // One send per round: kafkajs writes one batch per partition.
          const messages = [];
          for (let partition = 0; partition < 3; partition++) {
            const records = Array.from({ length: 50 + round * 10 }, (_, i) => randomRecord(round * 1000 + partition * 100 + i));
            messages.push(...records.map((r) => ({ partition, key: r.key, value: r.value, headers: kafkajsHeaders(r.headers) })));
            const key = `${topic}:${partition}`;
            sent.set(key, [...(sent.get(key) ?? []), ...records]);
          }
          await producer.send({ topic, compression, acks: -1, messages });
        }
      }
    } finally {
      await producer.disconnect();
    }
    const c = consumer({ offsetResetPolicy: "earliest", partitionMaxBytes: 16 * 1024 });
    c.assign(created.flatMap((topic) => [0, 1, 2].map((partition) => ({ topic, partition }))));
    const { byTp } = await collect(c, (m) => [...sent].every(([k, s]) => (m.get(k)?.length ?? 0) >= s.length));
    for (const [key, records] of sent) expectSame(byTp.get(key)!, records);
    expect(c.position({ topic: created[0]!, partition: 0 })).toBe(sent.get(`${created[0]}:0`)!.length);
    await c.close();
  });

  it("consumes a 1 MB value kafkajs wrote (lz4 and none), byte for byte", async () => {
    const topic = await createTopic(name("kafkajs-large"), 1);
    const large = Buffer.from(Array.from({ length: 1_000_000 }, (_, i) => (i * 7919) % 251));
    const producer = kafka.producer();
    await producer.connect();
    try {
      for (const compression of [CompressionTypes.LZ4, CompressionTypes.None]) {
        await producer.send({ topic, compression, acks: -1, messages: [{ key: "before", value: "small" }, { key: "large", value: large }, { key: "after", value: "small" }] });
      }
    } finally {
      await producer.disconnect();
    }
    const c = consumer({ offsetResetPolicy: "earliest" });
    c.assign([{ topic, partition: 0 }]);
    const { byTp } = await collect(c, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 6);
    const got = byTp.get(`${topic}:0`)!;
    expect(got.map((r) => [r.offset, Buffer.from(r.key!).toString(), r.value!.length])).toEqual([
      [0, "before", 5], [1, "large", 1_000_000], [2, "after", 5], [3, "before", 5], [4, "large", 1_000_000], [5, "after", 5],
    ]);
    expect(Buffer.from(got[1]!.value!).equals(large)).toBe(true);
    expect(Buffer.from(got[4]!.value!).equals(large)).toBe(true);
    await c.close();
  });

  it("consumes batches written with encodeRecordBatch in snappy, lz4 and zstd", async () => {
    const topic = await createTopic(name("codecs"), 3);
    const sent = new Map<string, Sent[]>();
    const codecs = ["snappy", "lz4", "zstd"] as const;
    for (let partition = 0; partition < 3; partition++) {
      for (let b = 0; b < 3; b++) {
        const records = Array.from({ length: 40 }, (_, i) => randomRecord(partition * 1000 + b * 100 + i));
        await produceRaw(topic, partition, encodeRecordBatch(
          records.map((r) => ({ key: r.key, value: r.value, headers: r.headers.map(([key, value]) => ({ key, value })) })),
          { compression: codecs[(partition + b) % 3]! },
        ));
        sent.set(`${topic}:${partition}`, [...(sent.get(`${topic}:${partition}`) ?? []), ...records]);
      }
    }
    const c = consumer();
    c.assign([0, 1, 2].map((partition) => ({ topic, partition, offset: 0 })));
    const { byTp } = await collect(c, (m) => [...sent].every(([k, s]) => (m.get(k)?.length ?? 0) >= s.length));
    for (const [key, records] of sent) expectSame(byTp.get(key)!, records);
  });

  it("starts inside a batch (skips the records before the position) and refetches truncated batches", async () => {
    const topic = await createTopic(name("mid"), 1);
    for (let b = 0; b < 5; b++) await produceValues(topic, 0, Array.from({ length: 100 }, (_, i) => `b${b}-${i}-${"x".repeat(100)}`));
    // 16 KiB per partition: each answer ends inside a ~11 KiB batch.
    const c = consumer({ partitionMaxBytes: 16 * 1024 });
    c.assign([{ topic, partition: 0, offset: 150 }]);
    const { byTp, batches } = await collect(c, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 350);
    const got = byTp.get(`${topic}:0`)!;
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 350 }, (_, i) => 150 + i));
    expect(text(got[0]!)).toMatch(/^b1-50-/);
    expect(batches.length).toBeGreaterThan(2);
    expect(batches.at(-1)!.highWatermark).toBe(500);
  });

  it("delivers a 1 MB record even with a smaller partitionMaxBytes (KIP-74)", async () => {
    const topic = await createTopic(name("big"), 1, { "max.message.bytes": "3000000" });
    const big = Buffer.alloc(1_000_000, 7);
    big.write("start");
    await produceValues(topic, 0, ["small-before"]);
    await produceRaw(topic, 0, encodeRecordBatch([{ key: "big", value: big }]));
    await produceValues(topic, 0, ["small-after"]);
    const c = consumer({ partitionMaxBytes: 64 * 1024 });
    c.assign([{ topic, partition: 0, offset: 0 }]);
    const { byTp } = await collect(c, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 3);
    const got = byTp.get(`${topic}:0`)!;
    expect(got.map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(Buffer.from(got[1]!.value!).equals(big)).toBe(true);
    expect(text(got[2]!)).toBe("small-after");
  });

  it("seek: earliest, latest, by timestamp, to an offset; position()", async () => {
    const topic = await createTopic(name("seek"), 1);
    const t0 = Date.now() - 60_000;
    await produceValues(topic, 0, ["a0", "a1", "a2"], t0);
    await produceValues(topic, 0, ["b3", "b4"], t0 + 10_000);
    await produceValues(topic, 0, ["c5"], t0 + 20_000);
    const tp = { topic, partition: 0 };
    const c = consumer();
    c.assign([tp]); // latest by default
    expect(await c.seek(tp, "latest")).toBe(6);
    expect(await c.seek(tp, "earliest")).toBe(0);
    expect(c.position(tp)).toBe(0);
    expect(await c.seek(tp, { timestamp: t0 + 5_000 })).toBe(3);
    let { byTp } = await collect(c, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 3);
    expect(byTp.get(`${topic}:0`)!.map(text)).toEqual(["b3", "b4", "c5"]);
    expect(await c.seek(tp, { timestamp: Date.now() + 3_600_000 })).toBe(6); // past the end: latest
    expect(await c.seek(tp, 4)).toBe(4);
    ({ byTp } = await collect(c, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 2));
    expect(byTp.get(`${topic}:0`)!.map(text)).toEqual(["b4", "c5"]);
    // latest, then new records arrive
    await c.seek(tp, "latest");
    setTimeout(() => void produceValues(topic, 0, ["d6"]), 300);
    ({ byTp } = await collect(c, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 1));
    expect(byTp.get(`${topic}:0`)!.map(text)).toEqual(["d6"]);
  });

  it("pause and resume", async () => {
    const topic = await createTopic(name("pause"), 2);
    await produceValues(topic, 0, ["p0-a", "p0-b"]);
    await produceValues(topic, 1, ["p1-a"]);
    const p0 = { topic, partition: 0 };
    const c = consumer();
    c.assign([{ ...p0, offset: 0 }, { topic, partition: 1, offset: 0 }]);
    c.pause([p0]);
    expect(c.paused()).toEqual([p0]);
    const got: string[] = [];
    const reading = (async () => {
      for await (const batch of c.batches()) got.push(...batch.records.map((r) => `${batch.partition}:${text(r)}`));
    })();
    const waitFor = async (check: () => boolean) => {
      for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
    };
    await waitFor(() => got.length >= 1);
    await new Promise((r) => setTimeout(r, 600));
    expect(got).toEqual(["1:p1-a"]); // partition 0 stays silent while paused
    expect(c.position(p0)).toBe(0);
    c.resume([p0]);
    expect(c.paused()).toEqual([]);
    await waitFor(() => got.length >= 3);
    expect(got).toEqual(["1:p1-a", "0:p0-a", "0:p0-b"]);
    await c.close();
    await reading;
  });

  it("an idle partition on the same broker does not stall a busy one (no long poll in between)", async () => {
    const topic = await createTopic(name("idle"), 2);
    for (let b = 0; b < 20; b++) await produceValues(topic, 0, Array.from({ length: 10 }, (_, i) => `b${b}-${i}-${"x".repeat(200)}`));
    // ~2.5 KB per batch, 3 KiB per partition per fetch: one batch per fetch, 20 fetches.
    const c = consumer({ maxWaitMs: 500, partitionMaxBytes: 3 * 1024 });
    c.assign([{ topic, partition: 0, offset: 0 }, { topic, partition: 1, offset: 0 }]);
    const started = Date.now();
    const { byTp, batches } = await collect(c, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 200);
    const elapsed = Date.now() - started;
    expect(byTp.get(`${topic}:0`)!.map((r) => r.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(batches.length).toBeGreaterThanOrEqual(10);
    // With a 500 ms long poll of partition 1 between batches this would take 5-10 s.
    expect(elapsed).toBeLessThan(2_500);
  });

  it("OFFSET_OUT_OF_RANGE follows offsetResetPolicy (seek past the end; deleteRecords then seek to 0)", async () => {
    const topic = await createTopic(name("oor"), 1);
    await produceValues(topic, 0, ["r0", "r1", "r2", "r3", "r4"]);
    const tp = { topic, partition: 0 };
    const deleted = await admin.deleteRecords([{ ...tp, offset: 2 }]);
    expect(deleted[0]!.error).toBeNull();

    const early = consumer({ offsetResetPolicy: "earliest" });
    early.assign([{ ...tp, offset: 1e9 }]);
    let { byTp } = await collect(early, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 3);
    expect(byTp.get(`${topic}:0`)!.map((r) => r.offset)).toEqual([2, 3, 4]);
    await early.seek(tp, 0); // below the log start offset
    ({ byTp } = await collect(early, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 3));
    expect(byTp.get(`${topic}:0`)!.map((r) => r.offset)).toEqual([2, 3, 4]);

    const late = consumer({ offsetResetPolicy: "latest" });
    late.assign([{ ...tp, offset: 0 }]);
    for (let i = 0; i < 50 && late.position(tp) !== 5; i++) await new Promise((r) => setTimeout(r, 100));
    expect(late.position(tp)).toBe(5);
    setTimeout(() => void produceValues(topic, 0, ["r5"]), 100);
    ({ byTp } = await collect(late, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 1));
    expect(byTp.get(`${topic}:0`)!.map(text)).toEqual(["r5"]);

    const strict = consumer({ offsetResetPolicy: "error" });
    strict.assign([{ ...tp, offset: 1e9 }]);
    const error = await collect(strict, () => false, 10_000).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(OffsetOutOfRangeError);
    expect(error).toMatchObject({ topic, partition: 0, offset: 1e9 });
    expect(strict.paused()).toEqual([tp]);
    await strict.seek(tp, 0);
    strict.resume([tp]); // seek does not resume
    const again = await collect(strict, () => false, 10_000).then(() => null, (e: unknown) => e);
    expect(again).toMatchObject({ name: "OffsetOutOfRangeError", offset: 0 });
    await strict.seek(tp, 3);
    strict.resume([tp]);
    ({ byTp } = await collect(strict, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 3));
    expect(byTp.get(`${topic}:0`)!.map(text)).toEqual(["r3", "r4", "r5"]);
    expect(() => consumer({ offsetResetPolicy: "error" }).assign([tp])).toThrow(/no offset/);
  });

  it("read_committed drops aborted transactions; control records are never delivered", async () => {
    const topic = await createTopic(name("txn"), 1);
    const dir = mkdtempSync(join(tmpdir(), "tributary-consumer-"));
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const lines = [
      { control: "begin" }, { value: b64("c1") }, { value: b64("c2") }, { control: "commit" },
      { control: "begin" }, { value: b64("a1") }, { value: b64("a2") }, { control: "abort" },
      { control: "begin" }, { value: b64("c3") }, { control: "commit" },
    ];
    writeFileSync(join(dir, "in.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n"));
    try {
      const classpath = await kafkaClasspath();
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn("java", [
          "-cp", classpath, `${REPO_ROOT}test/oracles/RecordBatchOracle.java`, "produce",
          "--topic", topic, "--partition", "0", "--input", join(dir, "in.jsonl"), "--transactional-id", `${topic}-tx`,
        ], { stdio: ["ignore", "ignore", "inherit"] });
        child.on("error", reject);
        child.on("exit", resolve);
      });
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Log: c1 c2 COMMIT(2) a1 a2 ABORT(5) c3 COMMIT(7) → end offset 8.
    const uncommitted = consumer({ offsetResetPolicy: "earliest" });
    uncommitted.assign([{ topic, partition: 0 }]);
    const all = await collect(uncommitted, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 5);
    expect(all.byTp.get(`${topic}:0`)!.map((r) => [r.offset, text(r)])).toEqual([[0, "c1"], [1, "c2"], [3, "a1"], [4, "a2"], [6, "c3"]]);

    const committed = consumer({ isolationLevel: "read_committed", offsetResetPolicy: "earliest" });
    committed.assign([{ topic, partition: 0 }]);
    const some = await collect(committed, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 3);
    expect(some.byTp.get(`${topic}:0`)!.map((r) => [r.offset, text(r)])).toEqual([[0, "c1"], [1, "c2"], [6, "c3"]]);
    // The last marker may reach the log a moment after commitTransaction() returns.
    expect(some.batches.at(-1)!.lastStableOffset).toBeGreaterThanOrEqual(7);
    for (let i = 0; i < 30 && committed.position({ topic, partition: 0 }) !== 8; i++) await new Promise((r) => setTimeout(r, 100));
    expect(committed.position({ topic, partition: 0 })).toBe(8); // past the last marker
  }, 120_000);

  it("a broken fetch connection: reconnects with backoff, nothing lost or repeated", async () => {
    const topic = await createTopic(name("reconnect"), 1);
    const c = consumer({ maxWaitMs: 300 });
    c.assign([{ topic, partition: 0, offset: 0 }]);
    let produced = 0;
    const producing = (async () => {
      for (let b = 0; b < 10; b++) {
        await produceValues(topic, 0, Array.from({ length: 10 }, (_, i) => `m${b * 10 + i}`));
        produced += 10;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // Kill the fetch socket (as if the broker went away) a few times while records flow.
    const killing = (async () => {
      for (let k = 0; k < 4; k++) {
        await new Promise((r) => setTimeout(r, 220));
        const live = (c.cluster.connectionTo(1, "fetch") as any).reconnecting.connection;
        live?.onSocketClose(undefined);
      }
    })();
    const { byTp } = await collect(c, (m) => (m.get(`${topic}:0`)?.length ?? 0) >= 100);
    await Promise.all([producing, killing]);
    expect(produced).toBe(100);
    expect(byTp.get(`${topic}:0`)!.map(text)).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    expect(c.stats.fetchErrors).toBeGreaterThanOrEqual(1);
  });

  it("an empty topic: Fetch waits maxWaitMs (no hot loop); close() ends iterators promptly", async () => {
    const topic = await createTopic(name("empty"), 2);
    const c = consumer({ maxWaitMs: 500 });
    c.assign([{ topic, partition: 0, offset: 0 }, { topic, partition: 1, offset: 0 }]);
    const iterating = (async () => {
      for await (const _ of c.batches()) throw new Error("nothing should arrive");
    })();
    await new Promise((r) => setTimeout(r, 1_200));
    const requests = c.stats.fetchRequests;
    // Two at once (just-assigned partitions are asked without waiting, one Fetch per half), both
    // empty; then one request per ~500 ms (both partitions share it): about 4-5 in 1.2 s.
    expect(requests).toBeGreaterThanOrEqual(2);
    expect(requests).toBeLessThanOrEqual(5);
    const closing = Date.now();
    await c.close();
    await iterating;
    expect(Date.now() - closing).toBeLessThan(200);
    expect(c.stats.fetchRequests).toBe(requests);
  });

  it("records waiting at assign arrive at once: the first Fetch does not long-poll; caught up, it does", async () => {
    const topic = await createTopic(name("waiting"), 2);
    await produceValues(topic, 0, ["a0", "a1"]);
    await produceValues(topic, 1, ["b0"]);
    // A broker holds a Fetch until minBytes or maxWaitMs: these settings make a long poll obvious.
    const c = consumer({ minBytes: 8 << 20, maxWaitMs: 2_000 });
    const started = Date.now();
    c.assign([{ topic, partition: 0, offset: 0 }, { topic, partition: 1, offset: 0 }]);
    const arrived: number[] = [];
    const { byTp } = await collect(c, (got) => {
      arrived.push(Date.now() - started);
      return [...got.values()].reduce((n, records) => n + records.length, 0) === 3;
    });
    expect(byTp.get(`${topic}:0`)!.map(text)).toEqual(["a0", "a1"]);
    expect(byTp.get(`${topic}:1`)!.map(text)).toEqual(["b0"]);
    // A first Fetch that long-polled would have been answered after maxWaitMs (2 s).
    expect(arrived[arrived.length - 1]!).toBeLessThan(1_000);
    // Caught up, the partitions are long-polled: no stream of immediate Fetches.
    const before = c.stats.fetchRequests;
    await new Promise((r) => setTimeout(r, 2_500));
    const idle = c.stats.fetchRequests - before;
    console.log(`[measured] all 3 records ${arrived[arrived.length - 1]} ms after assign; ${idle} Fetches in the next 2.5 s`);
    expect(idle).toBeLessThanOrEqual(3);
  });

  it("minBytes: while records trickle in, the broker gathers them (few Fetches) instead of answering each at once", async () => {
    const topic = await createTopic(name("min-bytes"));
    const trickle = async () => {
      for (let i = 0; i < 40; i++) {
        await produceValues(topic, 0, [`t${i}`]);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const fetchesWhileTrickling = async (minBytes: number) => {
      const c = consumer({ minBytes, maxWaitMs: 500 });
      const end = (await admin.listOffsets([{ topic, partition: 0 }], "latest"))[0]!.offset;
      c.assign([{ topic, partition: 0, offset: end }]);
      const seen: (string | null)[] = [];
      const reading = (async () => {
        for await (const batch of c.batches()) {
          seen.push(...batch.records.map(text));
          if (seen.length === 40) return;
        }
      })();
      await new Promise((r) => setTimeout(r, 300)); // the first (idle) Fetch is out
      const before = c.stats.fetchRequests;
      await trickle();
      await reading;
      const fetches = c.stats.fetchRequests - before;
      await c.close();
      expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => `t${i}`));
      return fetches;
    };
    // ~1.5 s of records, 25 ms apart: with minBytes 1 MiB each Fetch waits its 500 ms.
    const gathered = await fetchesWhileTrickling(1 << 20);
    const eager = await fetchesWhileTrickling(1);
    console.log(`[measured] Fetches while 40 records trickled in: minBytes 1 MiB ${gathered}, minBytes 1 ${eager}`);
    expect(gathered).toBeLessThanOrEqual(6);
    expect(eager).toBeGreaterThan(gathered);
  });

  it("run({ eachBatch }): per-partition backpressure, redelivery after a failed handler", async () => {
    const topic = await createTopic(name("run"), 2);
    await produceValues(topic, 0, ["x0", "x1"]);
    await produceValues(topic, 0, ["x2"]);
    await produceValues(topic, 1, ["y0"]);
    const c = consumer({ partitionMaxBytes: 100 }); // one batch per fetch
    c.assign([{ topic, partition: 0, offset: 0 }, { topic, partition: 1, offset: 0 }]);
    const seen: string[] = [];
    let active = 0;
    let maxActive = 0;
    let failedOnce = false;
    const running = c.run({
      partitionsConsumedConcurrently: 2,
      eachBatch: async (batch) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 100));
        active--;
        if (batch.partition === 0 && batch.records[0]!.offset === 2 && !failedOnce) {
          failedOnce = true;
          throw new Error("handler failed");
        }
        seen.push(...batch.records.map((r) => `${batch.partition}:${text(r)}`));
      },
    });
    await expect(running).rejects.toThrow("handler failed");
    expect(c.paused()).toEqual([{ topic, partition: 0 }]);
    expect(c.position({ topic, partition: 0 })).toBe(2);
    c.resume([{ topic, partition: 0 }]);
    const again = c.run({
      eachBatch: (batch) => {
        seen.push(...batch.records.map((r) => `${batch.partition}:${text(r)}`));
        if (seen.includes("0:x2")) void c.close();
      },
    });
    await again;
    expect(seen.filter((s) => s.startsWith("0:"))).toEqual(["0:x0", "0:x1", "0:x2"]);
    expect(seen).toContain("1:y0");
    expect(maxActive).toBeLessThanOrEqual(2);
  });

  it("records() yields single records with topic and partition", async () => {
    const topic = await createTopic(name("records"), 1);
    await produceValues(topic, 0, ["one", "two", "three"]);
    const c = consumer();
    c.assign([{ topic, partition: 0, offset: 1 }]);
    const got: string[] = [];
    for await (const r of c.records()) {
      got.push(`${r.topic === topic}:${r.partition}:${r.offset}:${text(r)}`);
      if (got.length === 2) break;
    }
    expect(got).toEqual(["true:0:1:two", "true:0:2:three"]);
  });
});
