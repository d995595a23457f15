// The runtime group suite: two members of one consumer group share a topic, in plain JavaScript so
// that Node, Bun and Deno run it unchanged, each importing the package as its users do. The suite
// creates a topic, produces keyed records, runs the two members until every record is handled,
// stops them and reads back the group's committed offsets and the log end offsets. It checks what
// it can itself and reports facts; the vitest side (group-matrix.test.ts) compares them with what
// it computes from the same generator (Kafka's murmur2 partitioner, SHA-256 with node:crypto).

// The PRNG, runtime name and error text are client-suite.js's (copied next to this file wherever it runs).
import { cleanupInto, errorText, runtimeName, xorshift } from "./client-suite.js";

export const GROUP_PARTITIONS = 6;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The records the suite produces, in order: `count` records over `keys` keys picked at random;
 * each value is `<key>:<n>`, n counting that key's records.
 */
export function generateGroupRecords(seed, { count = 3_000, keys = 80 } = {}) {
  const next = xorshift(seed);
  const seq = new Map();
  return Array.from({ length: count }, () => {
    const key = `key-${next() % keys}`;
    const n = seq.get(key) ?? 0;
    seq.set(key, n + 1);
    return { key, value: `${key}:${n}` };
  });
}

/** SHA-256 (hex) of the values joined by "\n". */
export async function digestValues(values) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(values.join("\n"))));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the scenario against host:port with a new topic `topic` and group `groupId`. Never throws:
 * failures are in `error`, `cleanupErrors` and the checks.
 */
export async function runGroupSuite(tributary, { host, port, topic, groupId, seed, deadlineMs = 60_000 }) {
  const brokers = [`${host}:${port}`];
  const started = Date.now();
  const common = { brokers, clientId: "tributary-group-suite", requestTimeoutMs: 15_000 };
  const records = generateGroupRecords(seed);
  const facts = {
    runtime: runtimeName(),
    topic,
    groupId,
    error: null,
    cleanupErrors: [],
    created: null,
    produced: 0,
    /** Per partition, how many records the producer's acknowledgements put there. */
    producedPerPartition: [],
    /** Each member's share of the partitions when both were in the group, and its generation. */
    shares: null,
    /** Records handled per member (redeliveries included). */
    handledBy: { a: 0, b: 0 },
    handledDistinct: 0,
    redelivered: 0,
    /** Per partition, the SHA-256 of the values first handled at offsets 0, 1, 2… joined by "\n". */
    partitionDigests: [],
    /** Per partition, the keys handled there (sorted). */
    partitionKeys: [],
    committed: null,
    logEnd: null,
    checks: {},
    membersStopped: false,
    /**
     * The second scenario: one member of another group on the same topic with KIP-848's consumer
     * protocol, manual acknowledgements (one of them carrying a stale generation) and the "skip"
     * error policy for a call that always fails.
     */
    kip848: null,
    deleted: false,
    closed: false,
    durationMs: 0,
  };
  const admin = tributary.createAdmin({ ...common, retry: { deadlineMs: 20_000 } });
  const members = [];
  const runs = [];
  const fatal = [];
  let producer = null;
  let topicCreated = false;
  // What was handled: per partition, the value first handled at each offset; per (member,
  // generation, partition), the last offset handled; per key, the last sequence first handled.
  const firstValues = Array.from({ length: GROUP_PARTITIONS }, () => []);
  const lastOffset = new Map();
  const lastSeq = new Map();
  const problems = [];
  const problem = (text) => void (problems.length < 20 && problems.push(text));
  const handler = (name) => (n) => {
    if (!("records" in n)) return;
    if (n.topic !== topic || !(n.partition >= 0 && n.partition < GROUP_PARTITIONS)) return problem(`${name}: records of ${n.topic}/${n.partition}`);
    const run = `${name}|${n.generationId}|${n.partition}`;
    let last = lastOffset.get(run) ?? -1;
    for (const record of n.records) {
      facts.handledBy[name]++;
      if (record.offset <= last) problem(`${run}: offset ${record.offset} after ${last}`);
      last = record.offset;
      const values = firstValues[n.partition];
      if (values[record.offset] !== undefined) {
        facts.redelivered++;
        continue;
      }
      const value = record.value ? decoder.decode(record.value) : "";
      const key = record.key ? decoder.decode(record.key) : "";
      values[record.offset] = value;
      facts.handledDistinct++;
      const [valueKey, seq] = value.split(":");
      if (valueKey !== key) problem(`${run}: offset ${record.offset} has key ${key} and value ${value}`);
      const expected = (lastSeq.get(key) ?? -1) + 1;
      if (Number(seq) !== expected) problem(`${run}: ${value} first handled when ${key}:${expected} was due`);
      lastSeq.set(key, Number(seq));
    }
    lastOffset.set(run, last);
  };
  const waitUntil = async (what, condition) => {
    while (!condition()) {
      if (fatal.length > 0) throw new Error(`a member failed: ${fatal.join("; ")}`);
      if (Date.now() - started > deadlineMs) throw new Error(`timed out waiting for ${what}`);
      await sleep(25);
    }
  };
  /**
   * Reads the whole topic again in a new group (KIP-848), acknowledging by hand. Partition 0's
   * offset 7 always fails: after one retry its call is skipped (acknowledged as it is). The first
   * call's first record is also acknowledged once with the generation before the member's: that
   * ack must be dropped and counted. Resolves with what the member reported.
   */
  const manualAckScenario = async () => {
    const out = { staleAcks: 0, staleAckAccepted: null, poisonAttempts: 0, poisonCallSize: 0, skipped: 0, done: 0, committed: null };
    const seen = Array.from({ length: GROUP_PARTITIONS }, () => new Set());
    const consumer = tributary.createGroupConsumer({
      ...common, groupId: `${groupId}-kip848`, topics: [topic], beginOffset: "earliest", maxWaitMs: 100, commitIntervalMs: 500,
      groupProtocol: "consumer", ack: "manual", maxBatchSize: 50, onHandlerError: { retries: 1, then: "skip" }, retryBackoff: { initialMs: 10, maxMs: 20 },
    });
    members.push(consumer);
    const run = consumer.run({
      handler: (n) => {
        if (!("records" in n)) return;
        if (n.partition === 0 && n.records.some((r) => r.offset === 7)) {
          out.poisonAttempts++;
          out.poisonCallSize = n.records.length;
          throw new Error("offset 7 of partition 0 always fails");
        }
        for (const record of n.records) {
          const tp = { topic: n.topic, partition: n.partition };
          if (out.staleAckAccepted === null) out.staleAckAccepted = consumer.ack({ ...tp, generationId: n.generationId - 1, offset: record.offset });
          consumer.ack({ ...tp, generationId: n.generationId, offset: record.offset });
          seen[n.partition].add(record.offset);
        }
      },
    }).catch((error) => void fatal.push(`kip848: ${errorText(error)}`));
    const doneCount = () => seen.reduce((sum, offsets) => sum + offsets.size, 0) + consumer.stats.skipped;
    await waitUntil("the KIP-848 member to finish the topic", () => doneCount() >= records.length);
    out.done = doneCount();
    await consumer.stop();
    await run;
    out.staleAcks = consumer.stats.staleAcks;
    out.skipped = consumer.stats.skipped;
    const committed = new Array(GROUP_PARTITIONS).fill(null);
    for (const o of await admin.fetchGroupOffsets(`${groupId}-kip848`, [topic])) if (!o.error) committed[o.partition] = o.offset;
    out.committed = committed;
    return out;
  };
  const member = (name) => {
    const consumer = tributary.createGroupConsumer({
      ...common, groupId, topics: [topic], beginOffset: "earliest", maxWaitMs: 100,
      sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, heartbeatIntervalMs: 300, commitIntervalMs: 500,
    });
    members.push(consumer);
    runs.push(consumer.run({ handler: handler(name) }).catch((error) => void fatal.push(`${name}: ${errorText(error)}`)));
    return consumer;
  };
  try {
    const [created] = await admin.createTopics([{ topic, numPartitions: GROUP_PARTITIONS, replicationFactor: 1 }]);
    facts.created = { error: created.error && errorText(created.error), numPartitions: created.numPartitions };
    if (created.error) throw created.error;
    topicCreated = true;

    // Member a takes every partition; b joins and the group shares them.
    const a = member("a");
    await waitUntil("a's assignment", () => a.assignment().length === GROUP_PARTITIONS);
    const b = member("b");
    await waitUntil("a and b to share the partitions", () =>
      a.assignment().length > 0 && b.assignment().length > 0 && a.generationId === b.generationId &&
      a.assignment().length + b.assignment().length === GROUP_PARTITIONS);
    const share = (c) => c.assignment().map((tp) => tp.partition).sort((x, y) => x - y);
    facts.shares = { a: share(a), b: share(b), sameGeneration: a.generationId === b.generationId };

    // Produce while they consume, in five sends (each partition's log keeps the records in order).
    producer = tributary.createProducer({ ...common, lingerMs: 5 });
    facts.producedPerPartition = new Array(GROUP_PARTITIONS).fill(0);
    const step = Math.ceil(records.length / 5);
    for (let from = 0; from < records.length; from += step) {
      const sent = await producer.send({ topic, messages: records.slice(from, from + step) });
      for (const m of sent) facts.producedPerPartition[m.partition]++;
      facts.produced += sent.length;
    }
    await waitUntil("every record handled", () => facts.handledDistinct >= records.length || problems.length > 0);

    await Promise.all(members.map((c) => c.stop()));
    await Promise.all(runs);
    facts.membersStopped = true;
    if (fatal.length > 0) throw new Error(`a member failed: ${fatal.join("; ")}`);

    const byPartition = (list) => {
      const out = new Array(GROUP_PARTITIONS).fill(null);
      for (const o of list) if (!o.error && o.partition >= 0 && o.partition < GROUP_PARTITIONS) out[o.partition] = o.offset;
      return out;
    };
    facts.committed = byPartition(await admin.fetchGroupOffsets(groupId, [topic]));
    facts.logEnd = byPartition(await admin.listOffsets(topic, "latest"));
    for (let p = 0; p < GROUP_PARTITIONS; p++) {
      const values = firstValues[p];
      facts.partitionDigests.push(await digestValues(values));
      facts.partitionKeys.push([...new Set(values.map((v) => v?.split(":")[0]))].sort());
    }
    facts.kip848 = await manualAckScenario();
    facts.checks = {
      noProblems: problems.length === 0,
      everyRecordHandled: facts.handledDistinct === records.length,
      // (Array.from: `every` would skip the holes of a sparse array.)
      offsetsContiguous: firstValues.every((values, p) => values.length === facts.logEnd[p] && Array.from(values).every((v) => v !== undefined)),
      bothMembersHandled: facts.handledBy.a > 0 && facts.handledBy.b > 0,
      sharesDisjoint: new Set([...facts.shares.a, ...facts.shares.b]).size === GROUP_PARTITIONS,
      committedIsLogEnd: facts.committed.every((offset, p) => offset === facts.logEnd[p]),
      kip848CommittedIsLogEnd: facts.kip848.committed.every((offset, p) => offset === facts.logEnd[p]),
      kip848StaleAckDropped: facts.kip848.staleAcks === 1 && facts.kip848.staleAckAccepted === false,
      kip848PoisonSkipped: facts.kip848.poisonAttempts === 2 && facts.kip848.skipped === facts.kip848.poisonCallSize,
      kip848EveryRecordDone: facts.kip848.done === records.length,
    };
    if (problems.length > 0) facts.problems = problems;
  } catch (error) {
    facts.error = errorText(error);
    if (problems.length > 0) facts.problems = problems;
  } finally {
    const cleanup = cleanupInto(facts.cleanupErrors);
    if (!facts.membersStopped) for (const c of members) await cleanup("member.stop", () => c.stop());
    if (producer) await cleanup("producer.close", () => producer.close());
    if (topicCreated) {
      await cleanup("deleteTopics", async () => {
        const [deleted] = await admin.deleteTopics([topic]);
        if (deleted.error) throw deleted.error;
        facts.deleted = true;
      });
    }
    await cleanup("admin.close", () => admin.close());
    facts.closed = facts.cleanupErrors.length === 0;
    facts.durationMs = Date.now() - started;
  }
  return facts;
}
