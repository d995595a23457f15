/**
 * An independent peer reads what Tributary's producer wrote: kafkajs's consumer (its own protocol
 * code and decoders; snappy, lz4 and zstd codecs registered as their packages say).
 */
import { createRequire } from "node:module";
import "@sensejs/kafkajs-zstd-support";
import { afterAll, describe, expect, it } from "vitest";
import { createAdmin, createProducer, failed, type CompressionCodec } from "../../src/entry/node.ts";

const require = createRequire(import.meta.url);
const kafkajs = require("kafkajs");
const LZ4Codec = require("@2l/kafkajs-lz4");
kafkajs.CompressionCodecs[kafkajs.CompressionTypes.LZ4] = new LZ4Codec().codec;
kafkajs.CompressionCodecs[kafkajs.CompressionTypes.Snappy] = require("kafkajs-snappy");

const BROKERS = ["127.0.0.1:9092"];
const stamp = Date.now();
const admin = createAdmin({ brokers: BROKERS, retry: { deadlineMs: 15_000 } });
const topics: string[] = [];

afterAll(async () => {
  await admin.deleteTopics(topics).catch(() => undefined);
  admin.close();
});

type Row = { partition: number; key: string | null; value: string | null; h: string | null };

/** Reads `total` records of `topic` from the beginning with a kafkajs consumer of a fresh group. */
async function readWithKafkajs(topic: string, total: number): Promise<Row[]> {
  // Each kafkajs step has a time limit, and a consumer that does not get going is replaced by a
  // fresh one (3 attempts): a stuck peer should not hang the suite for a minute.
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await readOnce(topic, total, attempt);
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

async function readOnce(topic: string, total: number, attempt: number): Promise<Row[]> {
  const within = <T>(p: Promise<T>, what: string): Promise<T> =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`kafkajs ${what} timed out`)), 10_000))]);
  const client = new kafkajs.Kafka({ brokers: BROKERS, clientId: "tributary-peer", logLevel: kafkajs.logLevel.NOTHING });
  const consumer = client.consumer({ groupId: `${topic}-peer-${attempt}` });
  const got: Row[] = [];
  await within(consumer.connect(), "connect");
  try {
    await within(consumer.subscribe({ topics: [topic], fromBeginning: true }), "subscribe");
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await within(consumer.run({
      eachMessage: async ({ partition, message }: { partition: number; message: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | undefined> } }) => {
        got.push({
          partition,
          key: message.key === null ? null : message.key.toString(),
          value: message.value === null ? null : message.value.toString(),
          h: message.headers.trace ? message.headers.trace.toString() : null,
        });
        if (got.length === total) done();
      },
    }), "run");
    await Promise.race([finished, new Promise((_, reject) => setTimeout(() => reject(new Error(`kafkajs read ${got.length} of ${total}`)), 15_000))]);
  } finally {
    await Promise.race([consumer.disconnect(), new Promise((r) => setTimeout(r, 5_000))]);
  }
  return got;
}

describe("kafkajs reads what the producer wrote", () => {
  const codecs = (process.env.PEER_CODECS?.split(",") ?? ["none", "gzip", "snappy", "lz4", "zstd"]) as CompressionCodec[];
  for (const compression of codecs) {
    it(`${compression}: exact keys, values, headers and order per partition`, async () => {
      const topic = `tributary-producer-kafkajs-${compression}-${stamp}`;
      topics.push(topic);
      expect(failed(await admin.createTopics([{ topic, numPartitions: 3 }]))).toEqual([]);
      const producer = createProducer({ brokers: BROKERS, compression });
      const messages = Array.from({ length: 400 }, (_, i) => ({
        key: i % 9 === 0 ? null : `k${i}`,
        value: i % 13 === 0 ? null : `${compression} value ${i} ${"y".repeat(i % 40)}`,
        headers: i % 2 === 0 ? { trace: `t${i}` } : undefined,
      }));
      // Several concurrent sends: several batches per partition.
      const sent = (await Promise.all([0, 1, 2, 3].map((q) => producer.send({ topic, messages: messages.slice(q * 100, q * 100 + 100) })))).flat();
      await producer.close();
      const expected: Row[] = messages.map((m, i) => ({ partition: sent[i]!.partition, key: m.key, value: m.value, h: m.headers?.trace ?? null }));
      const got = await readWithKafkajs(topic, expected.length);
      for (let partition = 0; partition < 3; partition++) {
        expect(got.filter((r) => r.partition === partition), `partition ${partition}`).toEqual(expected.filter((r) => r.partition === partition));
      }
    }, 60_000);
  }

  it("a 1 MB value (lz4 and none), with small records around it", async () => {
    const topic = `tributary-producer-kafkajs-large-${stamp}`;
    topics.push(topic);
    expect(failed(await admin.createTopics([{ topic, numPartitions: 1 }]))).toEqual([]);
    // Printable, varied bytes: 1,000,000 characters (under the broker's 1 MiB message limit).
    const large = Array.from({ length: 1_000_000 }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 90))).join("");
    const sent: Row[] = [];
    for (const compression of ["lz4", "none"] as const) {
      const producer = createProducer({ brokers: BROKERS, compression });
      const messages = [{ key: `${compression}-before`, value: "small" }, { key: `${compression}-large`, value: large }, { key: `${compression}-after`, value: "small" }];
      await producer.send({ topic, messages });
      await producer.close();
      sent.push(...messages.map((m) => ({ partition: 0, key: m.key, value: m.value, h: null })));
    }
    const got = await readWithKafkajs(topic, sent.length);
    const shape = (rows: Row[]) => rows.map((r) => [r.key, r.value?.length, r.value === large || r.value === "small"]);
    expect(shape(got)).toEqual(shape(sent));
  }, 60_000);
});
