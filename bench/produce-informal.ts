/**
 * Informal producer throughput, run by hand (a sketch for the coming `npm run bench:produce`):
 *   node_modules/node24/bin/node bench/produce-informal.ts
 * Produces 100 000 records of 100 B (keyed) to a 12-partition topic with Tributary and with
 * kafkajs in the same run (acks all; each side idempotent as its default allows) and prints records/s.
 */
import { createRequire } from "node:module";
import { createAdmin, createProducer } from "../src/entry/node.ts";

const require = createRequire(import.meta.url);
const kafkajs = require("kafkajs");
const BROKERS = ["127.0.0.1:9092"];
const COUNT = Number(process.env.COUNT ?? 100_000);
const CHUNK = 1_000;
const value = "v".repeat(100);
const admin = createAdmin({ brokers: BROKERS });
const stamp = Date.now();
const topics = [`tributary-tp-tributary-${stamp}`, `tributary-tp-kafkajs-${stamp}`];
await admin.createTopics(topics.map((topic) => ({ topic, numPartitions: 12 })));
const messages = (from: number) => Array.from({ length: CHUNK }, (_, i) => ({ key: `key-${from + i}`, value }));

async function tributary(): Promise<number> {
  const producer = createProducer({ brokers: BROKERS });
  await producer.send({ topic: topics[0]!, messages: [{ key: "warm", value }] });
  const t0 = performance.now();
  const sends = [];
  for (let from = 0; from < COUNT; from += CHUNK) sends.push(producer.send({ topic: topics[0]!, messages: messages(from) }));
  await Promise.all(sends);
  const ms = performance.now() - t0;
  await producer.close();
  return ms;
}

async function kafkajsRun(): Promise<number> {
  const client = new kafkajs.Kafka({ brokers: BROKERS, logLevel: kafkajs.logLevel.NOTHING });
  // KAFKAJS_IDEMPOTENT=0: kafkajs without idempotence (its default, several requests in flight).
  const producer = client.producer(process.env.KAFKAJS_IDEMPOTENT === "0" ? {} : { idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: topics[1], messages: [{ key: "warm", value }] });
  const t0 = performance.now();
  const sends = [];
  for (let from = 0; from < COUNT; from += CHUNK) sends.push(producer.send({ topic: topics[1], acks: -1, messages: messages(from) }));
  await Promise.all(sends);
  const ms = performance.now() - t0;
  await producer.disconnect();
  return ms;
}

for (let round = 0; round < 2; round++) {
  const t = await tributary();
  const k = await kafkajsRun();
  console.log(`round ${round + 1}: tributary ${Math.round(COUNT / (t / 1000)).toLocaleString("en")} records/s (${t.toFixed(0)} ms), kafkajs ${Math.round(COUNT / (k / 1000)).toLocaleString("en")} records/s (${k.toFixed(0)} ms)`);
}
await admin.deleteTopics(topics);
admin.close();
