/** The producer end to end against the real broker on 127.0.0.1:9092. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectionError, createAdmin, createProducer, DeliveryFailedError, failed, KafkaProtocolError, partitionForKey, TimeoutError,
  type CompressionCodec, type Producer,
} from "../../src/entry/node.ts";
import { javaPartitions, readPartition, text } from "./helpers.ts";

const stamp = Date.now();
const BROKERS = ["127.0.0.1:9092"];
const admin = createAdmin({ brokers: BROKERS, clientId: "tributary-producer-test", retry: { deadlineMs: 15_000 } });
const topics: string[] = [];
const producers: Producer[] = [];

async function newTopic(name: string, numPartitions: number, configs?: Record<string, string>): Promise<string> {
  const topic = `tributary-producer-${name}-${stamp}`;
  topics.push(topic);
  expect(failed(await admin.createTopics([{ topic, numPartitions, replicationFactor: 1, ...(configs ? { configs } : {}) }]))).toEqual([]);
  return topic;
}

function producer(options: Partial<Parameters<typeof createProducer>[0]> = {}): Producer {
  const p = createProducer({ brokers: BROKERS, clientId: "tributary-producer-test", ...options });
  producers.push(p);
  return p;
}

beforeAll(async () => {
  await admin.cluster.connect();
});

afterAll(async () => {
  for (const p of producers) await p.close().catch(() => undefined);
  await admin.deleteTopics(topics).catch(() => undefined);
  admin.close();
});

describe.sequential("producer (single broker)", () => {
  const codecs: CompressionCodec[] = ["none", "gzip", "snappy", "lz4", "zstd"];
  for (const compression of codecs) {
    it(`compression ${compression}, acks all + idempotent: offsets in order, exact content read back`, async () => {
      const topic = await newTopic(`codec-${compression}`, 3);
      const p = producer({ compression });
      const messages = Array.from({ length: 300 }, (_, i) => ({
        key: i % 7 === 0 ? null : `key-${i}`,
        value: i % 11 === 0 ? null : `value ${i} ${"x".repeat(i % 50)}`,
        headers: i % 3 === 0 ? [{ key: "h", value: `hv${i}` }, { key: "null", value: null }] : undefined,
        partition: i % 3,
      }));
      const sent = await p.send({ topic, messages });
      expect(sent).toHaveLength(300);
      for (let part = 0; part < 3; part++) {
        const mine = sent.filter((m) => m.partition === part).map((m) => m.offset);
        expect(mine).toEqual(mine.map((_, i) => i)); // 0, 1, 2… in send order
      }
      for (let part = 0; part < 3; part++) {
        const { records, batches } = await readPartition(admin.cluster, topic, part);
        const expected = messages.filter((m) => m.partition === part);
        expect(records.map((r) => [text(r.key), text(r.value)])).toEqual(expected.map((m) => [m.key, m.value]));
        expect(records.map((r) => r.headers.map((h) => [h.key, text(h.value)]))).toEqual(
          expected.map((m) => (m.headers ?? []).map((h) => [h.key, h.value])));
        for (const b of batches) {
          expect(b.compression).toBe(compression);
          expect(b.producerId).toBe(p.producerId);
          expect(b.producerId).toBeGreaterThanOrEqual(0);
        }
        expect(batches[0]!.baseSequence).toBe(0);
      }
    });
  }

  for (const acks of [1, 0] as const) {
    it(`acks ${acks} (not idempotent): every record arrives`, async () => {
      const topic = await newTopic(`acks${acks}`, 2);
      // acks 0 gets no answer: a write that reaches a partition whose leadership is still settling
      // right after creation is dropped silently (that is what acks 0 means). Wait until every
      // partition's leader answers before sending.
      expect((await admin.listOffsets(topic, "latest")).filter((o) => o.error)).toEqual([]);
      const p = producer({ acks });
      const sent = await p.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })) });
      if (acks === 1) expect(sent.filter((m) => m.partition === 0).map((m) => m.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      else expect(sent.every((m) => m.offset === -1)).toBe(true);
      await p.flush();
      for (let part = 0; part < 2; part++) {
        let read = await readPartition(admin.cluster, topic, part);
        for (let i = 0; i < 50 && read.records.length < 50; i++) {
          await new Promise((r) => setTimeout(r, 100)); // acks 0: nothing to wait for but the log
          read = await readPartition(admin.cluster, topic, part);
        }
        expect(read.records.map((r) => text(r.value))).toEqual(Array.from({ length: 50 }, (_, i) => `v${i * 2 + part}`));
        expect(read.batches.every((b) => b.producerId === -1)).toBe(true);
      }
    });
  }

  it("Uint8Array keys/values, null key and value, explicit timestamps, a 1 MB message", async () => {
    const topic = await newTopic("content", 1, { "max.message.bytes": String(2 << 20) });
    const p = producer({ batchBytes: 2 << 20 });
    const big = new Uint8Array(1_000_000).map((_, i) => (i * 31) & 0xff);
    const sent = await p.send({ topic, messages: [
      { key: new Uint8Array([0, 1, 2]), value: new Uint8Array([255, 254]), timestamp: 1_700_000_000_000 },
      { key: null, value: null, headers: { a: "1", b: ["2", "3"] } },
      { key: "big", value: big },
    ] });
    expect(sent.map((m) => m.offset)).toEqual([0, 1, 2]);
    expect(sent[0]!.timestamp).toBe(1_700_000_000_000);
    const { records } = await readPartition(admin.cluster, topic, 0);
    expect(records[0]!.key).toEqual(new Uint8Array([0, 1, 2]));
    expect(records[0]!.value).toEqual(new Uint8Array([255, 254]));
    expect(records[0]!.timestamp).toBe(1_700_000_000_000);
    expect(records[1]!.key).toBeNull();
    expect(records[1]!.value).toBeNull();
    expect(records[1]!.headers.map((h) => [h.key, text(h.value)])).toEqual([["a", "1"], ["b", "2"], ["b", "3"]]);
    expect(Buffer.compare(records[2]!.value!, big)).toBe(0); // (toEqual on 1 MB is slow)
  });

  it("many concurrent sends through small batches (encoded batches share reused slabs): every record exact, metadata per message", async () => {
    // ~13 MB of encoded batches, several 4 MiB slabs' worth, 40 sends in flight at a time: a slab
    // reused while one of its batches was still needed would corrupt or lose records.
    const topic = await newTopic("slabs", 4);
    const p = producer({ batchBytes: 48 << 10, lingerMs: 1 });
    const value = (n: number) => `value-${n}-${"abcdefghij".repeat(20 + (n % 40))}`;
    const sends: Promise<Awaited<ReturnType<Producer["send"]>>>[] = [];
    const perSend = 250;
    for (let round = 0; round < 3; round++) {
      const from = sends.length;
      for (let s = 0; s < 40; s++) {
        const first = (from + s) * perSend;
        sends.push(p.send({ topic, messages: Array.from({ length: perSend }, (_, i) => ({
          key: `k${first + i}`, value: value(first + i), timestamp: 1_700_000_000_000 + first + i,
        })) }));
      }
      await Promise.all(sends.slice(from));
    }
    const results = (await Promise.all(sends)).flat();
    expect(results).toHaveLength(120 * perSend);
    results.forEach((m, n) => {
      expect(m.topic).toBe(topic);
      expect(m.partition).toBe(partitionForKey(`k${n}`, 4));
      expect(m.timestamp).toBe(1_700_000_000_000 + n);
    });
    let total = 0;
    for (let part = 0; part < 4; part++) {
      const { records } = await readPartition(admin.cluster, topic, part);
      total += records.length;
      const mine = results.map((m, n) => ({ ...m, n })).filter((m) => m.partition === part);
      expect(records.map((r) => r.offset)).toEqual(mine.map((m) => m.offset));
      records.forEach((r, i) => {
        const n = mine[i]!.n;
        expect(text(r.key)).toBe(`k${n}`);
        expect(text(r.value)).toBe(value(n));
        expect(r.timestamp).toBe(1_700_000_000_000 + n);
      });
    }
    expect(total).toBe(120 * perSend);
    expect(p.stats.batches).toBeGreaterThan(200);
  }, 60_000);

  it("keyed records land where Kafka's Java producer puts them (200 keys, 12 partitions)", async () => {
    const topic = await newTopic("keys", 12);
    const keys = Array.from({ length: 200 }, (_, i) => `key-${i}-${(i * 7919).toString(36)}`);
    const p = producer();
    const sent = await p.send({ topic, messages: keys.map((key) => ({ key, value: "tributary" })) });
    const java = await javaPartitions(topic, keys);
    expect(sent.map((m) => m.partition)).toEqual(java);
    expect(sent.map((m) => m.partition)).toEqual(keys.map((k) => partitionForKey(k, 12)));
    expect(new Set(java).size).toBe(12);
  }, 120_000);

  it("a custom partitioner decides; sendBatch spans topics and keeps input order", async () => {
    const a = await newTopic("custom-a", 4);
    const b = await newTopic("custom-b", 2);
    const p = producer({ partitioner: ({ key, partitionCount }) => Number(key) % partitionCount });
    const sent = await p.sendBatch([
      { topic: a, messages: Array.from({ length: 8 }, (_, i) => ({ key: String(i), value: `a${i}` })) },
      { topic: b, messages: [{ key: "5", value: "b5" }, { key: "6", value: "b6", partition: 0 }] },
    ]);
    expect(sent.map((m) => `${m.topic === a ? "a" : "b"}${m.partition}:${m.offset}`)).toEqual([
      "a0:0", "a1:0", "a2:0", "a3:0", "a0:1", "a1:1", "a2:1", "a3:1", "b1:0", "b0:0",
    ]);
  });

  it("null keys stick to a partition per batch, and spread over partitions across batches", async () => {
    const topic = await newTopic("sticky", 6);
    const p = producer({ lingerMs: 0 });
    const seen: number[][] = [];
    for (let round = 0; round < 30; round++) {
      const sent = await p.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `r${round}-${i}` })) });
      seen.push([...new Set(sent.map((m) => m.partition))]);
    }
    expect(seen.every((s) => s.length === 1)).toBe(true); // one send, one batch, one partition
    const used = new Set(seen.map((s) => s[0]));
    expect(used.size).toBeGreaterThanOrEqual(4); // moved on after each batch
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).not.toBe(seen[i - 1]![0]);
  });

  it("lingerMs and batchBytes: records sent one by one are batched; a full batch goes at once", async () => {
    const topic = await newTopic("linger", 2);
    const lingering = producer({ lingerMs: 50 });
    const eager = producer({ lingerMs: 0, idempotent: false, acks: 1, maxInFlight: 1 });
    const value = "x".repeat(100);
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 500 }, () => lingering.send({ topic, messages: [{ value, partition: 0 }] })));
    const lingered = Date.now() - t0;
    for (let i = 0; i < 50; i++) await eager.send({ topic, messages: [{ value, partition: 1 }] });
    const [zero, one] = [await readPartition(admin.cluster, topic, 0), await readPartition(admin.cluster, topic, 1)];
    expect(zero.records).toHaveLength(500);
    expect(zero.batches.length).toBeLessThanOrEqual(2);
    expect(lingered).toBeGreaterThanOrEqual(45);
    expect(one.batches).toHaveLength(50);

    const sized = producer({ lingerMs: 60_000, batchBytes: 10_000 });
    let acknowledged = 0;
    const sends = Array.from({ length: 200 }, () => sized.send({ topic, messages: [{ value, partition: 0 }] }).then(() => acknowledged++));
    await new Promise((r) => setTimeout(r, 1_000));
    // Full batches went at once, without waiting for the 60 s linger; the last, partial one waits.
    expect(acknowledged).toBeGreaterThanOrEqual(100);
    expect(acknowledged).toBeLessThan(200);
    await sized.flush();
    await Promise.all(sends);
    const after = await readPartition(admin.cluster, topic, 0);
    const newBatches = after.batches.slice(zero.batches.length);
    expect(newBatches.length).toBeGreaterThanOrEqual(2);
    for (const b of newBatches.slice(0, -1)) expect(b.recordCount).toBeGreaterThan(50); // ~10 KB each
    for (const b of newBatches) expect(b.recordCount).toBeLessThanOrEqual(82); // (10 000 - 61) / 122 estimated bytes
  }, 120_000);

  it("a backlog fills every maxInFlight slot at once, and the log keeps the send order", async () => {
    // One send() call queues ~20 full batches on 2 partitions before anything goes out. Requests
    // carry one batch per partition, so all of them can only be in flight together if a drain sends
    // more than one request (it used to send one, then wait for its answer).
    const topic = await newTopic("backlog", 2);
    const p = producer({ lingerMs: 200, batchBytes: 20_000, maxInFlight: 4 });
    const value = "v".repeat(1_000);
    const messages = Array.from({ length: 400 }, (_, i) => ({ key: `k${i}`, value: `${i} ${value}`, partition: i % 2 }));
    const sent = await p.send({ topic, messages });
    expect(p.stats.peakInFlight).toBe(4);
    expect(p.stats.batches).toBeGreaterThanOrEqual(20);
    for (let part = 0; part < 2; part++) {
      expect(sent.filter((m) => m.partition === part).map((m) => m.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      const { records } = await readPartition(admin.cluster, topic, part);
      expect(records.map((r) => text(r.key))).toEqual(messages.filter((m) => m.partition === part).map((m) => m.key));
    }
  }, 60_000);

  it("compressOffThread: batches are compressed on the encoding thread, idempotent, in order, byte for byte", async () => {
    const topic = await newTopic("off-thread", 2);
    const p = producer({ compression: "lz4", compressOffThread: true, batchBytes: 40_000, lingerMs: 50 });
    const messages = Array.from({ length: 600 }, (_, i) => ({
      key: `k${i}`,
      value: `${i} ${"payload ".repeat(120)}`,
      headers: i % 4 === 0 ? [{ key: "h", value: `${i}` }] : undefined,
      partition: i % 2,
    }));
    const sent = await Promise.all([p.send({ topic, messages: messages.slice(0, 300) }), p.send({ topic, messages: messages.slice(300) })]);
    const results = sent.flat();
    // 300 records × ~1 KB per partition in 40 KB batches, and each call's last small batches (under 32 KiB) inline.
    expect(p.stats.encodedOffThread).toBeGreaterThanOrEqual(10);
    expect(p.stats.offThreadFailures).toBe(0);
    expect(p.producerId).toBeGreaterThanOrEqual(0);
    for (let part = 0; part < 2; part++) {
      expect(results.filter((m) => m.partition === part).map((m) => m.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      const { records, batches } = await readPartition(admin.cluster, topic, part);
      const expected = messages.filter((m) => m.partition === part);
      expect(records.map((r) => [text(r.key), text(r.value), r.headers.map((h) => text(h.value))])).toEqual(
        expected.map((m) => [m.key, m.value, m.headers ? [m.headers[0]!.value] : []]));
      // The stamped producer fields: this producer's id, sequences following on from batch to batch.
      let sequence = 0;
      for (const b of batches) {
        expect([b.producerId, b.baseSequence]).toEqual([p.producerId, sequence]);
        sequence += b.recordCount;
      }
    }
  }, 60_000);

  it("flush() waits for everything buffered; close() flushes; later sends reject", async () => {
    const topic = await newTopic("flush", 1);
    const p = createProducer({ brokers: BROKERS, lingerMs: 60_000 });
    const pending = p.send({ topic, messages: [{ value: "a" }, { value: "b" }] });
    let settled = false;
    void pending.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false);
    await p.flush();
    expect(settled).toBe(true);
    const late = p.send({ topic, messages: [{ value: "c" }] });
    await p.close();
    expect((await late)[0]!.offset).toBe(2);
    await expect(p.send({ topic, messages: [{ value: "d" }] })).rejects.toBeInstanceOf(ConnectionError);
  });

  it("errors are typed: unknown topic, partition out of range, a record too large", async () => {
    const topic = await newTopic("errors", 2, { "max.message.bytes": "10000" });
    const p = producer({ deliveryTimeoutMs: 5_000 });
    await expect(p.send({ topic: `missing-${stamp}`, messages: [{ value: "x" }] })).rejects.toMatchObject({ errorName: "UNKNOWN_TOPIC_OR_PARTITION" });
    await expect(p.send({ topic, messages: [{ value: "x", partition: 5 }] })).rejects.toBeInstanceOf(KafkaProtocolError);
    const tooLarge = await p.send({ topic, messages: [{ value: "y".repeat(20_000), partition: 1 }] }).catch((e: unknown) => e);
    expect(tooLarge).toBeInstanceOf(KafkaProtocolError);
    expect(tooLarge).toMatchObject({ errorName: "MESSAGE_TOO_LARGE", topic, partition: 1 });
    // The producer carries on (a new producer id after the gap in partition 1's sequence).
    const ok = await p.send({ topic, messages: [{ value: "fine", partition: 1 }, { value: "fine", partition: 0 }] });
    expect(ok.map((m) => m.offset)).toEqual([0, 0]);
    expect(p.stats.producerIdResets).toBe(1);
    const { batches } = await readPartition(admin.cluster, topic, 1);
    expect(batches[0]!.producerId).toBe(p.producerId);
    expect(batches[0]!.baseSequence).toBe(0); // the new producer id starts its sequence over
  });

  it("flush() reports every batch it could not deliver, and delivers the rest", async () => {
    // The broker refuses records over 1,000 bytes on this topic (MESSAGE_TOO_LARGE: not retriable).
    const topic = await newTopic("flush-failures", 3, { "max.message.bytes": "1000" });
    const p = producer({ lingerMs: 60_000 });
    const big = "x".repeat(2_000);
    const sends = [
      p.send({ topic, messages: [{ value: big, partition: 0 }] }),
      p.send({ topic, messages: [{ value: big, partition: 1 }, { value: big, partition: 1 }] }),
      p.send({ topic, messages: [{ value: "small", partition: 2 }] }),
    ].map((sent) => sent.then(() => null, (error: unknown) => error));
    const error = await p.flush().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryFailedError);
    const failures = (error as DeliveryFailedError).failures.map((f) => [f.topic, f.partition, f.records, (f.error as KafkaProtocolError).errorName]);
    expect(failures.sort()).toEqual([[topic, 0, 1, "MESSAGE_TOO_LARGE"], [topic, 1, 2, "MESSAGE_TOO_LARGE"]]);
    expect((error as DeliveryFailedError).message).toContain("3 records in 2 batches not delivered");
    const [first, second, small] = await Promise.all(sends);
    expect(first).toBeInstanceOf(KafkaProtocolError);
    expect(second).toBeInstanceOf(KafkaProtocolError);
    expect(small).toBeNull();
    const { records } = await readPartition(admin.cluster, topic, 2);
    expect(records.map((r) => text(r.value))).toEqual(["small"]);
  });

  it("an unreachable broker fails sends with a typed error within the delivery timeout", async () => {
    const p = producer({ brokers: ["127.0.0.1:1"], deliveryTimeoutMs: 1_500, connectTimeoutMs: 500 });
    const t0 = Date.now();
    const error = await p.send({ topic: "anything", messages: [{ value: "x" }] }).catch((e: unknown) => e);
    expect(error instanceof ConnectionError || error instanceof TimeoutError).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await p.close().catch(() => undefined);
  });
});
