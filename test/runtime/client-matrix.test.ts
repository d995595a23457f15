/**
 * The runtime client matrix: the same admin/producer/consumer suite (client-suite.js) runs in
 * Node 20 and 24 (node:net), Bun (Bun.connect) and Deno (Deno.connect; installed from npm, and from
 * source as JSR serves it) — each importing the package as its users do — and in workerd, as a
 * Worker whose sockets are cloudflare:sockets ones. Each runtime reports facts; they must equal
 * what this process computes from the same generator: the record count, the SHA-256 of every key,
 * value and header (node:crypto here, Web Crypto there), the codec each record is stored with,
 * which partition each keyed record lands in (Kafka's murmur2, computed here), and the offsets
 * the admin client lists. Then, on a second topic, the rest of the API in every runtime: acks 1
 * and 0, a custom partitioner, linger and flush(), explicit timestamps, a seek by timestamp,
 * pause/resume, run({ eachBatch }), createPartitions and deleteRecords. And SASL in every runtime:
 * PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (Web Crypto) and OAUTHBEARER through the broker's SASL
 * listener, a producer and a consumer per mechanism, and a wrong password.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { partitionForKey } from "../../src/entry/node.ts";
import { SINGLE_BROKER, SINGLE_SASL_PORT } from "../support/kafka.ts";
import { bin, brokerSide, consumerProject, denoRun, runJson, RUNTIME_DIR as here, workerdTest } from "./runtimes.ts";
import { canonicalBytes, CODECS, generateRecords, LARGE_VALUE_BYTES, PARTITIONS } from "./client-suite.js";

const { host, port } = SINGLE_BROKER;
const SEED = 0x7a1b_2c3d;
const CASE_TIMEOUT_MS = 90_000;

/** What `runClientSuite` reports (client-suite.js). */
interface Suite {
  runtime: string;
  topic: string;
  error: string | null;
  cleanupErrors: string[];
  created: { error: string | null; numPartitions: number; hasTopicId: boolean } | null;
  listed: boolean;
  described: { partitions: number[]; leadersKnown: boolean; topicIdMatches: boolean } | null;
  sent: number;
  sentByCodec: Record<string, number>;
  sentDigest: string;
  consumed: number;
  consumedDigest: string | null;
  /** Per partition, the indices of the records read, in the order they were read. */
  partitions: number[][];
  earliest: (number | null)[] | null;
  latest: (number | null)[] | null;
  largeValueBytes: number;
  storedByCodec: Record<string, number>;
  checks: Record<string, boolean>;
  more: {
    partitionerPartitions: number[] | null;
    acks1Offsets: number[] | null;
    acks0Latest: number | null;
    seekByTimestamp: number | null;
    pausedListed: boolean | null;
    resumedRead: { beforePause: number[]; afterResume: number[] } | null;
    partitionsAfterCreate: number | null;
    earliestAfterDelete: number | null;
  } | null;
  /** Per SASL mechanism "ok" or what failed; `wrongPassword`: the error's class name. */
  sasl: Record<string, string> | null;
  deleted: boolean;
  goneAfterDelete: boolean;
  closed: boolean;
}

const { admin, track } = brokerSide("tributary-client-matrix");
const newTopic = (label: string) => track(`tributary-client-${label}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`);

/** What a runtime must report for `generateRecords(SEED)`, computed here. */
function expectedFor() {
  const records = generateRecords(SEED);
  const byCodec: Record<string, number> = {};
  for (const r of records) byCodec[r.codec] = (byCodec[r.codec] ?? 0) + 1;
  return {
    count: records.length,
    byCodec,
    digest: createHash("sha256").update(canonicalBytes(records)).digest("hex"),
    /** Record index → the partition Kafka's default partitioner picks for its key. */
    keyed: new Map(records.filter((r) => r.key !== null).map((r) => [r.index, partitionForKey(r.key!, PARTITIONS)])),
    nullKeys: records.filter((r) => r.key === null).length,
    large: records.some((r) => r.value !== null && r.value.byteLength === LARGE_VALUE_BYTES),
  };
}

async function expectSuitePassed(result: Suite, runtimePrefix: string) {
  const expected = expectedFor();
  const { runtime, topic } = result;
  expect(runtime.startsWith(runtimePrefix), runtime).toBe(true);
  expect(result.error, `${runtime}: the suite failed`).toBeNull();
  expect(result.cleanupErrors, `${runtime}: closing or deleting failed`).toEqual([]);
  // What the generator covers: every codec, null keys and the big value.
  expect(Object.keys(expected.byCodec).sort()).toEqual([...CODECS].sort());
  expect(expected.nullKeys).toBeGreaterThan(0);
  expect(expected.large).toBe(true);

  // Admin: created with 3 partitions, listed and described.
  expect(result.created).toEqual({ error: null, numPartitions: PARTITIONS, hasTopicId: true });
  expect(result.listed).toBe(true);
  expect(result.described).toEqual({ partitions: [0, 1, 2], leadersKnown: true, topicIdMatches: true });

  // Produced: the runtime generated exactly these records, and every send was acknowledged.
  expect(result.sentDigest, "the runtime's generator differs from Node's").toBe(expected.digest);
  expect(result.sent).toBe(expected.count);
  expect(result.sentByCodec).toEqual(expected.byCodec);

  // Read back: the same bytes, each record once.
  expect(result.consumed).toBe(expected.count);
  expect(result.consumedDigest, "what was read is not what was sent").toBe(expected.digest);
  expect(result.largeValueBytes).toBe(LARGE_VALUE_BYTES);
  // Stored by the broker in batches of the codec each record was sent with.
  expect(result.storedByCodec).toEqual(expected.byCodec);

  // Per partition: indices strictly increasing (sent in index order), together every record once,
  // keyed records where murmur2 (computed here) puts them.
  const partitions = result.partitions;
  expect(partitions).toHaveLength(PARTITIONS);
  for (const indices of partitions) expect(indices.every((index, i) => i === 0 || index > indices[i - 1]!), `order in ${JSON.stringify(indices)}`).toBe(true);
  expect(partitions.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: expected.count }, (_, i) => i));
  const misplaced = [...expected.keyed].filter(([index, partition]) => !partitions[partition]!.includes(index));
  expect(misplaced, "keyed records not in their murmur2 partition [index, expected partition]").toEqual([]);

  // Admin offsets: a fresh topic starts at 0 and ends after what was read.
  expect(result.earliest).toEqual([0, 0, 0]);
  expect(result.latest).toEqual(partitions.map((indices) => indices.length));

  expect(result.checks).toEqual({
    sentKeyedToJavaPartition: true,
    sentTopicAndOffsets: true,
    offsetsListedWithoutErrors: true,
    everyRecordReadOnce: true,
    bytesEqual: true,
    readWhereSent: true,
    timestampsAsSent: true,
    orderPerPartition: true,
    offsetsContiguous: true,
    readKeyedFromJavaPartition: true,
    latestIsReadCount: true,
    codecsAsSent: true,
  });
  // The rest of the API on a second topic: acks 1 through a custom partitioner (all to partition 1),
  // acks 0 lingering until flush() (5 records on partition 0, timestamps a second apart), a seek by
  // the fourth timestamp, pause (a record sent meanwhile waits) and resume, eachBatch, then 3
  // partitions and partition 0's records below offset 2 deleted.
  expect(result.more).toEqual({
    partitionerPartitions: [1, 1, 1, 1, 1],
    acks1Offsets: [0, 1, 2, 3, 4],
    acks0Latest: 5,
    seekByTimestamp: 3,
    pausedListed: true,
    resumedRead: { beforePause: [3, 4], afterResume: [5] },
    partitionsAfterCreate: 3,
    earliestAfterDelete: 2,
  });
  // Every mechanism wrote and read a record through the SASL listener; a wrong password is typed.
  expect(result.sasl).toEqual({ PLAIN: "ok", "SCRAM-SHA-256": "ok", "SCRAM-SHA-512": "ok", OAUTHBEARER: "ok", wrongPassword: "AuthenticationError" });
  expect({ deleted: result.deleted, goneAfterDelete: result.goneAfterDelete, closed: result.closed }).toEqual({ deleted: true, goneAfterDelete: true, closed: true });
  // And from here: the topic is gone.
  expect(await admin.describeTopics([topic])).toEqual([]);
}

describe("runtime client matrix (admin, producer, consumer against the real broker)", () => {
  const consumer = consumerProject(["run-client.js", "client-suite.js"]);
  const runner = join(consumer, "run-client.js");
  const suite = (command: string, args: string[]) => runJson<Suite>(command, args, { timeoutMs: 75_000 });
  const target = (topic: string) => [host, String(port), topic, String(SEED), String(SINGLE_SASL_PORT)];
  const allowNet = `${host}:${port},${host}:${SINGLE_SASL_PORT}`;

  it("Node 20 (node:net)", async () => {
    await expectSuitePassed(await suite(bin("node20/bin/node"), [runner, ...target(newTopic("node20"))]), "node v20.");
  }, CASE_TIMEOUT_MS);

  it("Node 24 (node:net)", async () => {
    await expectSuitePassed(await suite(bin("node24/bin/node"), [runner, ...target(newTopic("node24"))]), "node v24.");
  }, CASE_TIMEOUT_MS);

  it("Bun (Bun.connect, through the bun export condition)", async () => {
    await expectSuitePassed(await suite(bin(".bin/bun"), [runner, ...target(newTopic("bun"))]), "bun ");
  }, CASE_TIMEOUT_MS);

  it("Deno, installed as an npm package (Deno.connect), --allow-net to the broker only", async () => {
    const args = denoRun(runner, target(newTopic("deno")), { allowNet, config: join(consumer, "deno.json") });
    await expectSuitePassed(await suite(bin(".bin/deno"), args), "deno ");
  }, CASE_TIMEOUT_MS);

  it("Deno, from source as JSR serves it (deno.json), --allow-net to the broker only", async () => {
    const args = denoRun(join(here, "run-client.js"), target(newTopic("deno-jsr")), { allowNet });
    await expectSuitePassed(await suite(bin(".bin/deno"), args), "deno ");
  }, CASE_TIMEOUT_MS);

  it("workerd: a worker runs the same suite through cloudflare:sockets", async () => {
    const bindings = { KAFKA_HOST: host, KAFKA_PORT: String(port), KAFKA_SASL_PORT: String(SINGLE_SASL_PORT), TOPIC: newTopic("workerd"), SEED: String(SEED) };
    const args = workerdTest({ runners: ["run-client-workerd.js", "client-suite.js"], bindings, network: true });
    await expectSuitePassed(await suite(bin(".bin/workerd"), args), "workerd ");
  }, CASE_TIMEOUT_MS);
});
