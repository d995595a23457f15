/**
 * The group consumer's handler-error policies (dead-letter, skip, stop), lanes inside a partition,
 * stall detection, runtime control, fetch-ahead and where partitions start, against the real
 * broker on 127.0.0.1:9092, with each group protocol (classic and KIP-848's consumer).
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  createAdmin, createConsumer, createGroupConsumer, createProducer, failed,
  type Assignor, type ConsumerRecord, type GroupConsumer, type GroupConsumerOptions, type GroupEvent, type GroupNotification,
} from "../../src/entry/node.ts";
import { gate } from "../support/gate.ts";

const BROKERS = ["127.0.0.1:9092"];
const stamp = Date.now();
let serial = 0;
const unique = (what: string) => `tributary-policy-${what}-${stamp}-${serial++}`;
const admin = createAdmin({ brokers: BROKERS, clientId: "tributary-policy-test", retry: { deadlineMs: 15_000 } });
const consumers: GroupConsumer[] = [];
const topics: string[] = [];
const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop().catch(() => {})));
  await admin.deleteTopics(topics).catch(() => {});
  admin.close();
});

async function topicWith(count: number, numPartitions = 1, key = (i: number): string | null => null): Promise<string> {
  const topic = unique("topic");
  expect(failed(await admin.createTopics([{ topic, numPartitions, replicationFactor: 1 }]))).toEqual([]);
  topics.push(topic);
  if (count > 0) {
    const producer = createProducer({ brokers: BROKERS });
    await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ key: key(i), value: `v${i}`, partition: numPartitions === 1 ? 0 : i % numPartitions, headers: { n: String(i) } })) });
    await producer.close();
  }
  return topic;
}

function memberOf(topic: string, options: Partial<GroupConsumerOptions> = {}): GroupConsumer & { log: GroupEvent[] } {
  const consumer = createGroupConsumer({
    brokers: BROKERS, clientId: "tributary-policy-test", groupId: unique("group"), topics: [topic], beginOffset: "earliest",
    maxWaitMs: 100, heartbeatIntervalMs: 300, commitIntervalMs: 200, retryBackoff: { initialMs: 10, maxMs: 50 },
    ...options,
  });
  const log: GroupEvent[] = [];
  consumer.events.on((e) => log.push(e));
  consumers.push(consumer);
  return Object.assign(consumer, { log });
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function committed(groupId: string): Promise<Record<number, number>> {
  return Object.fromEntries((await admin.fetchGroupOffsets(groupId)).map((o) => [o.partition, o.offset]));
}

/** Stops each member, one after the other, and waits for its run to end. */
async function stopInTurn(...members: [GroupConsumer, Promise<void>][]): Promise<void> {
  for (const [consumer, run] of members) {
    await consumer.stop();
    await run;
  }
}

const ofType = <T extends GroupEvent["type"]>(log: GroupEvent[], type: T) => log.filter((e): e is Extract<GroupEvent, { type: T }> => e.type === type);

// Every suite below runs once per group protocol: the policies live in the worker and the
// consumer around it, and must not depend on how the partitions were assigned.
describe.each(["classic", "consumer"] as const)("%s group protocol", (groupProtocol) => {
  const member = (topic: string, options: Partial<GroupConsumerOptions> = {}) => memberOf(topic, { groupProtocol, ...options });

  describe("handler error policies", () => {
    it("dead-letter: after the retries, failed records go to the dead-letter topic with their origin, and work goes on", async () => {
      const topic = await topicWith(10);
      const dlq = await topicWith(0);
      const attempts = new Map<number, number>();
      const handled: number[] = [];
      const consumer = member(topic, { onHandlerError: { retries: 1, then: "dead-letter", deadLetterTopic: dlq } });
      const run = consumer.run({
        eachRecord: (r) => {
          attempts.set(r.offset, (attempts.get(r.offset) ?? 0) + 1);
          if (r.offset === 2 || r.offset === 5) throw new TypeError(`cannot handle ${r.offset}`);
          handled.push(r.offset);
        },
      });
      await waitFor("the last record", () => handled.includes(9));
      expect(handled).toEqual([0, 1, 3, 4, 6, 7, 8, 9]);
      expect(attempts.get(2)).toBe(2);
      expect(attempts.get(5)).toBe(2);
      expect(consumer.stats.deadLettered).toBe(2);
      await consumer.stop();
      await run;
      expect(await committed(consumer.groupId)).toEqual({ 0: 10 });

      // Read the dead-letter topic back: the records as they were, plus where they came from and why.
      const reader = createConsumer({ brokers: BROKERS, offsetResetPolicy: "earliest", maxWaitMs: 100 });
      reader.assign([{ topic: dlq, partition: 0, offset: 0 }]);
      const letters: ConsumerRecord[] = [];
      for await (const r of reader.records()) {
        letters.push(r);
        if (letters.length === 2) break;
      }
      await reader.close();
      const headers = (r: ConsumerRecord) => Object.fromEntries(r.headers.map((h) => [h.key, text(h.value)]));
      expect(letters.map((r) => text(r.value))).toEqual(["v2", "v5"]);
      expect(headers(letters[0]!)).toEqual({
        n: "2", "tributary.dlq.topic": topic, "tributary.dlq.partition": "0", "tributary.dlq.offset": "2",
        "tributary.dlq.group": consumer.groupId, "tributary.dlq.error": "TypeError: cannot handle 2", "tributary.dlq.attempts": "2",
      });
    });

    it("dead-letter: a stop while the dead-letter topic refuses the records halts the partition before them and still leaves cleanly", async () => {
      const topic = await topicWith(10);
      const handled: number[] = [];
      // Not a legal topic name: every send to it fails, so the records can never be dead-lettered.
      const consumer = member(topic, { onHandlerError: { retries: 0, then: "dead-letter", deadLetterTopic: "no such topic!" } });
      const run = consumer.run({
        eachRecord: (r) => {
          if (r.offset === 3) throw new Error("poison");
          handled.push(r.offset);
        },
      });
      await waitFor("a failed dead-letter send", () => ofType(consumer.log, "error").some((e) => e.partition === 0));
      await consumer.stop();
      await run;
      expect(handled).toEqual([0, 1, 2]);
      expect(consumer.stats.deadLettered).toBe(0);
      expect(ofType(consumer.log, "partition-stopped")).toMatchObject([{ partition: 0, committable: 3 }]);
      expect(ofType(consumer.log, "worker-crash")).toEqual([]);
      expect(ofType(consumer.log, "left")).toHaveLength(1);
      expect(await committed(consumer.groupId)).toEqual({ 0: 3 });
    });

    it("skip: a batch that keeps failing is acknowledged as it is and reported", async () => {
      const topic = await topicWith(10);
      const calls: number[][] = [];
      const consumer = member(topic, { maxBatchSize: 5, onHandlerError: { retries: 2, then: "skip" } });
      const run = consumer.run({
        handler: (n) => {
          if (!("records" in n)) return;
          calls.push(n.records.map((r) => r.offset));
          if (n.records.some((r) => r.offset === 3)) throw new Error("poison");
        },
      });
      await waitFor("the second batch", () => calls.some((c) => c.includes(9)));
      expect(calls).toEqual([[0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]);
      expect(ofType(consumer.log, "skipped").map((e) => e.offsets)).toEqual([[0, 1, 2, 3, 4]]);
      await consumer.stop();
      await run;
      expect(await committed(consumer.groupId)).toEqual({ 0: 10 });
    });

    it("stop: the partition halts at the failed record (never committed past it) while other partitions go on", async () => {
      const topic = await topicWith(20, 2);
      const handled: string[] = [];
      const consumer = member(topic, { onHandlerError: { retries: 2, then: "stop" } });
      const run = consumer.run({
        eachRecord: (r) => {
          if (r.partition === 0 && r.offset === 4) throw new Error("broken record");
          handled.push(`${r.partition}:${r.offset}`);
        },
      });
      await waitFor("partition 1 done and partition 0 stopped", () => handled.includes("1:9") && ofType(consumer.log, "partition-stopped").length === 1);
      expect(handled.filter((h) => h.startsWith("0:"))).toEqual(["0:0", "0:1", "0:2", "0:3"]);
      expect(ofType(consumer.log, "partition-stopped")[0]).toMatchObject({ partition: 0, committable: 4 });
      expect(ofType(consumer.log, "handler-error").filter((e) => e.partition === 0).map((e) => e.attempt)).toEqual([1, 2, 3]);
      expect(consumer.status().map((s) => [s.partition, s.healthy])).toEqual([[0, false], [1, true]]);
      await consumer.stop();
      await run;
      expect(await committed(consumer.groupId)).toEqual({ 0: 4, 1: 10 });
    });
  });

  describe("lanes inside a partition", () => {
    it("run keys concurrently, each key in offset order, and commit everything", async () => {
      const count = 400;
      const topic = await topicWith(count, 1, (i) => `key-${i % 20}`);
      const perKey = new Map<string, number[]>();
      let inFlight = 0;
      let maxInFlight = 0;
      const lanesSeen = new Set<number>();
      const consumer = member(topic, { lanesPerPartition: 4, maxBatchSize: 100 });
      const run = consumer.run({
        handler: async (n) => {
          if (!("records" in n)) return;
          lanesSeen.add(n.lane!);
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          for (const r of n.records) {
            const key = text(r.key)!;
            perKey.set(key, [...(perKey.get(key) ?? []), r.offset]);
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
          inFlight--;
        },
      });
      await waitFor("every record", () => [...perKey.values()].reduce((sum, list) => sum + list.length, 0) === count);
      expect(maxInFlight).toBeGreaterThan(1);
      expect([...lanesSeen].sort()).toEqual([0, 1, 2, 3]);
      for (const [key, offsets] of perKey) {
        expect(offsets, key).toEqual([...offsets].sort((a, b) => a - b));
        expect(offsets.length, key).toBe(20);
      }
      await consumer.stop();
      await run;
      expect(await committed(consumer.groupId)).toEqual({ 0: count });
    });
  });

  describe("stall detection", () => {
    it("a stalled member does not block the group: another member takes its partitions and handles them while the call is stuck", async () => {
      const topic = await topicWith(40, 2);
      const groupId = unique("group");
      const { passed: stuck, open: release } = gate();
      const handled: Array<{ by: string; partition: number; offset: number }> = [];
      let stalledPartition = -1;
      const a = member(topic, { groupId, maxHandlerMs: 300, drainMs: 100 });
      const runA = a.run({
        handler: async (n) => {
          if (!("records" in n)) return;
          if (stalledPartition < 0) {
            stalledPartition = n.partition; // a's first call sticks
            await stuck;
            return;
          }
          for (const r of n.records) handled.push({ by: "a", partition: n.partition, offset: r.offset });
        },
      });
      await waitFor("a's call to stick", () => stalledPartition >= 0);
      const b = member(topic, { groupId, maxHandlerMs: 300 });
      const runB = b.run({
        handler: (n) => {
          if ("records" in n) for (const r of n.records) handled.push({ by: "b", partition: n.partition, offset: r.offset });
        },
      });
      // While a's call is still stuck, b handles the stalled partition, from its first record.
      await waitFor("b to handle the stalled partition", () => handled.filter((h) => h.by === "b" && h.partition === stalledPartition).length === 20, 45_000);
      expect(ofType(a.log, "stall")).toHaveLength(1);
      expect(b.assignment().map((tp) => tp.partition).sort()).toEqual([0, 1]);
      expect(handled.filter((h) => h.by === "b" && h.partition === stalledPartition).map((h) => h.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      release();
      await waitFor("every record of both partitions", () => new Set(handled.map((h) => `${h.partition}:${h.offset}`)).size === 40, 45_000);
      await stopInTurn([a, runA], [b, runB]);
      expect(await committed(groupId)).toEqual({ 0: 20, 1: 20 });
    });

    it("a stuck { caughtUp } notification is a stall of its partition: reported, the member leaves and rejoins when it returns", async () => {
      const topic = await topicWith(5);
      const { passed: stuck, open: release } = gate();
      let caughtUps = 0;
      const handled: number[] = [];
      const consumer = member(topic, { maxHandlerMs: 300, drainMs: 100 });
      const run = consumer.run({
        handler: async (n) => {
          if ("records" in n) for (const r of n.records) handled.push(r.offset);
          if ("caughtUp" in n && ++caughtUps === 1) await stuck;
        },
      });
      await waitFor("the stall to be reported and the member to leave", () => ofType(consumer.log, "left").length === 1);
      expect(ofType(consumer.log, "stall")).toMatchObject([{ topic, partition: 0, call: "caughtUp" }]);
      expect(handled).toEqual([0, 1, 2, 3, 4]);
      release();
      await waitFor("the member to rejoin", () => ofType(consumer.log, "joined").length === 2 && consumer.assignment().length === 1);
      await consumer.stop();
      await run;
      expect(await committed(consumer.groupId)).toEqual({ 0: 5 });
    });

    it("a stuck { assigned } notification is reported and the membership goes on: records are handled, and a joining member gets its share", async () => {
      const topic = await topicWith(20, 2);
      const groupId = unique("group");
      const { passed: stuck, open: release } = gate();
      let assignedCalls = 0;
      let firstAssignedReturned = false;
      const handled = new Set<string>();
      const handler = async (n: GroupNotification) => {
        if ("records" in n) for (const r of n.records) handled.add(`${n.partition}:${r.offset}`);
      };
      const a = member(topic, { groupId, maxHandlerMs: 300 });
      const runA = a.run({
        handler: async (n) => {
          if ("assigned" in n && ++assignedCalls === 1) {
            await stuck;
            firstAssignedReturned = true;
          }
          await handler(n);
        },
      });
      await waitFor("the stuck { assigned } to be reported", () => ofType(a.log, "notification-stall").length === 1);
      expect(ofType(a.log, "notification-stall")[0]).toMatchObject({ notification: "assigned", partitions: [{ topic, partition: 0 }, { topic, partition: 1 }] });
      expect(a.stats.stalls).toBe(1);
      await waitFor("a to handle both partitions meanwhile", () => handled.size === 20);
      const b = member(topic, { groupId, maxHandlerMs: 300 });
      const runB = b.run({ handler });
      // The first { assigned } call is still stuck: the group rebalanced around it.
      await waitFor("the two members to share the partitions", () => a.assignment().length === 1 && b.assignment().length === 1);
      expect(assignedCalls).toBeGreaterThanOrEqual(1);
      expect(firstAssignedReturned).toBe(false);
      release();
      await stopInTurn([a, runA], [b, runB]);
      expect(await committed(groupId)).toEqual({ 0: 10, 1: 10 });
    });

    it("a call stuck past maxHandlerMs is reported; the member leaves the group and rejoins when the call returns", async () => {
      const topic = await topicWith(10);
      const { passed: stuck, open: release } = gate();
      const calls: number[][] = [];
      const consumer = member(topic, { maxHandlerMs: 300, drainMs: 100 });
      const run = consumer.run({
        handler: async (n) => {
          if (!("records" in n)) return;
          calls.push(n.records.map((r) => r.offset));
          if (calls.length === 1) await stuck;
        },
      });
      await waitFor("the stall to be reported and the member to leave", () => ofType(consumer.log, "left").length === 1);
      const stall = ofType(consumer.log, "stall")[0]!;
      expect(stall).toMatchObject({ topic, partition: 0 });
      expect(stall.durationMs).toBeGreaterThan(300);
      expect(consumer.assignment()).toEqual([]);
      expect(ofType(consumer.log, "joined")).toHaveLength(1);
      release();
      await waitFor("the member to rejoin and handle the records again", () => ofType(consumer.log, "joined").length === 2 && calls.length >= 2);
      // The stuck call's work was not committed before it returned: the records come again (at least once).
      expect(calls[1]![0]).toBe(0);
      await consumer.stop();
      await run;
      expect(await committed(consumer.groupId)).toEqual({ 0: 10 });
    });
  });

  describe("runtime control", () => {
    it("pause stops fetching and handling, resume continues, seek replays from an offset and commits follow it", async () => {
      const topic = await topicWith(20);
      const handled: number[] = [];
      const consumer = member(topic, { maxBatchSize: 5 });
      const run = consumer.run({ eachRecord: (r) => void handled.push(r.offset) });
      await waitFor("the first 20", () => handled.length === 20);
      const tp = { topic, partition: 0 };
      consumer.pause([tp]);
      expect(consumer.status()[0]!.paused).toBe(true);
      const producer = createProducer({ brokers: BROKERS });
      await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `late${i}`, partition: 0 })) });
      await producer.close();
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(handled.length).toBe(20);
      consumer.resume([tp]);
      await waitFor("the late 10", () => handled.length === 30);
      await consumer.commit();
      expect(await committed(consumer.groupId)).toEqual({ 0: 30 });

      expect(await consumer.seek(tp, 5)).toBe(5);
      await waitFor("the replay from 5", () => handled.length === 55);
      expect(handled.slice(30)).toEqual(Array.from({ length: 25 }, (_, i) => 5 + i));
      expect(await consumer.seek(tp, "earliest")).toBe(0);
      await waitFor("the replay from the start", () => handled.length === 85);
      await consumer.stop();
      await run;
      expect(handled.slice(0, 30)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(await committed(consumer.groupId)).toEqual({ 0: 30 });
    });
  });

  describe("events", () => {
    // The admin surface and metrics will read this stream: pin what an operator relies on.
    it("one member's life, in order and in the documented shape: joined, rebalance, assigned, handler start/stop, lag, commit, revoked, left", async () => {
      const topic = await topicWith(10);
      const consumer = member(topic, { maxBatchSize: 4 });
      const started = Date.now();
      const run = consumer.run({ handler: () => {} });
      await waitFor("the commit of all ten", () => ofType(consumer.log, "commit").some((e) => e.offsets.some((o) => o.offset === 10)));
      await consumer.stop();
      await run;
      const log = consumer.log;
      for (const e of log) expect(e.at, e.type).toBeGreaterThanOrEqual(started);
      const types = log.map((e) => e.type);
      const first = (type: GroupEvent["type"]) => types.indexOf(type);
      expect(first("joined")).toBeGreaterThanOrEqual(0);
      expect(first("joined")).toBeLessThan(first("assigned"));
      expect(first("assigned")).toBeLessThan(first("handler-start"));
      expect(types.lastIndexOf("handler-stop")).toBeLessThan(first("revoked"));
      expect(first("revoked")).toBeLessThan(first("left"));
      const joined = ofType(log, "joined")[0]!;
      expect(joined.memberId).not.toBe("");
      expect(ofType(log, "left")[0]!.memberId).toBe(joined.memberId);
      const rebalance = ofType(log, "rebalance")[0]!;
      expect(rebalance.durationMs).toBeGreaterThanOrEqual(0);
      expect(ofType(log, "assigned")[0]).toMatchObject({ partitions: [{ topic, partition: 0 }] });
      // maxBatchSize 4 over ten records: calls of 4, 4 and 2, each started and stopped with a duration.
      const starts = ofType(log, "handler-start");
      const stops = ofType(log, "handler-stop");
      expect(starts.map((e) => [e.topic, e.partition, e.records])).toEqual([[topic, 0, 4], [topic, 0, 4], [topic, 0, 2]]);
      expect(stops.map((e) => e.records)).toEqual([4, 4, 2]);
      for (const e of stops) expect(e.durationMs).toBeGreaterThanOrEqual(0);
      const commits = ofType(log, "commit");
      expect(commits.every((e) => e.error === undefined)).toBe(true);
      expect(commits.at(-1)!.offsets).toEqual([{ topic, partition: 0, offset: 10 }]);
      expect(ofType(log, "lag").at(-1)).toMatchObject({ topic, partition: 0, lag: 0 });
      expect(ofType(log, "revoked")[0]).toMatchObject({ partitions: [{ topic, partition: 0 }] });
      expect(ofType(log, "left")).toHaveLength(1);
      expect(ofType(log, "error")).toEqual([]);
    });
  });

  describe("flow control and where partitions start", () => {
    it("beginOffset: an explicit offset, a timestamp and \"latest\" each start a partition without a commit there", async () => {
      const topic = await topicWith(0);
      const t0 = Date.now() - 60_000;
      const producer = createProducer({ brokers: BROKERS });
      await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: 0, timestamp: t0 + i * 1_000 })) });
      const starts = { offset: 4, timestamp: { timestamp: t0 + 6_000 }, latest: "latest" } as const;
      const handled: Record<string, number[]> = { offset: [], timestamp: [], latest: [] };
      const members = Object.entries(starts).map(([name, beginOffset]) => {
        const consumer = member(topic, { beginOffset });
        const run = consumer.run({ eachRecord: (r) => void handled[name]!.push(r.offset) });
        return { consumer, run };
      });
      const tp = { topic, partition: 0 };
      await waitFor("every member's start to be resolved", () => members.every(({ consumer }) => consumer.fetcher.position(tp) !== undefined));
      await producer.send({ topic, messages: [{ value: "late0", partition: 0 }, { value: "late1", partition: 0 }] });
      await producer.close();
      await waitFor("the late records everywhere", () => Object.values(handled).every((offsets) => offsets.includes(11)));
      expect(handled).toEqual({ offset: [4, 5, 6, 7, 8, 9, 10, 11], timestamp: [6, 7, 8, 9, 10, 11], latest: [10, 11] });
      for (const { consumer, run } of members) {
        await consumer.stop();
        await run;
        expect(await committed(consumer.groupId)).toEqual({ 0: 12 });
      }
      expect(() => createGroupConsumer({ brokers: BROKERS, groupId: unique("group"), topics: [topic], beginOffset: -1 })).toThrow(RangeError);
    });

    it("prefetchCount: fetching pauses for a partition whose queue is full and resumes as it drains", async () => {
      const topic = await topicWith(0);
      const producer = createProducer({ brokers: BROKERS, lingerMs: 0 });
      for (let b = 0; b < 20; b++) {
        await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${b * 10 + i}`, partition: 0 })) });
      }
      await producer.close();
      const { passed: held, open: release } = gate();
      const handled: number[] = [];
      // 1 byte per partition: every Fetch brings one 10-record batch (the broker always sends a whole one).
      const consumer = member(topic, { prefetchCount: 30, partitionMaxBytes: 1, maxBatchSize: 5 });
      const run = consumer.run({
        handler: async (n) => {
          if (!("records" in n)) return;
          await held;
          for (const r of n.records) handled.push(r.offset);
        },
      });
      await waitFor("the queue to fill", () => (consumer.status()[0]?.queued ?? 0) >= 30);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const full = consumer.status()[0]!;
      expect(full.paused).toBe(true);
      expect(full.queued).toBeGreaterThanOrEqual(30);
      expect(full.queued).toBeLessThan(60); // paused: not the whole topic (200), at most a fetch or two past the limit
      release();
      await waitFor("every record", () => handled.length === 200);
      expect(handled).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(consumer.status()[0]!.paused).toBe(false);
      await consumer.stop();
      await run;
      expect(await committed(consumer.groupId)).toEqual({ 0: 200 });
    });
  });
});

describe("classic group: heartbeats while handlers run (KIP-62)", () => {
  it("an { assigned } notification slower than the session does not cost the membership", async () => {
    const topic = await topicWith(10);
    const consumer = memberOf(topic, { sessionTimeoutMs: 1_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 10_000 });
    let assignedDoneAt = 0;
    const handled: number[] = [];
    const run = consumer.run({
      handler: async (n) => {
        if ("assigned" in n && assignedDoneAt === 0) {
          await new Promise((resolve) => setTimeout(resolve, 3_000)); // three sessions long
          assignedDoneAt = Date.now();
        }
        if ("records" in n) for (const r of n.records) handled.push(r.offset);
      },
    });
    await waitFor("the slow { assigned } to return", () => assignedDoneAt > 0);
    const generation = consumer.generationId;
    // Heartbeats after the handler: the coordinator still knows the member, in the same generation.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(ofType(consumer.log, "lost")).toEqual([]);
    expect(ofType(consumer.log, "joined")).toHaveLength(1);
    expect(consumer.generationId).toBe(generation);
    expect(consumer.assignment()).toEqual([{ topic, partition: 0 }]);
    expect(handled).toEqual(Array.from({ length: 10 }, (_, i) => i));
    await consumer.stop();
    await run;
    expect(await committed(consumer.groupId)).toEqual({ 0: 10 });
  });
});

describe("assignors in a live classic group", () => {
  const sorted = (c: GroupConsumer) => c.assignment().map((tp) => tp.partition).sort((x, y) => x - y);

  it("a custom Assignor object decides the shares; roundrobin interleaves them", async () => {
    const topic = await topicWith(0, 6);
    // Everything to the member whose id sorts first, nothing to the others.
    const firstTakesAll: Assignor = {
      name: "first-takes-all",
      assign(members, partitionsPerTopic) {
        const first = [...members].sort((x, y) => (x.memberId < y.memberId ? -1 : 1))[0]!;
        const all = [...partitionsPerTopic].flatMap(([t, count]) => Array.from({ length: count }, (_, partition) => ({ topic: t, partition })));
        return new Map(members.map((m) => [m.memberId, m === first ? all : []]));
      },
    };
    for (const [assignor, expectShares] of [
      [firstTakesAll, (first: number[], second: number[]) => [first, second].sort((x, y) => y.length - x.length).toString() === [[0, 1, 2, 3, 4, 5], []].toString()],
      ["roundrobin", (first: number[], second: number[]) => [first, second].map(String).sort().toString() === [[0, 2, 4], [1, 3, 5]].map(String).sort().toString()],
    ] as const) {
      const groupId = unique("group");
      const members = [memberOf(topic, { groupId, assignors: [assignor] }), memberOf(topic, { groupId, assignors: [assignor] })];
      const runs = members.map((m) => m.run({ handler: () => {} }));
      const name = typeof assignor === "string" ? assignor : assignor.name;
      const settled = () => members.every((m) => m.generationId === members[0]!.generationId && ofType(m.log, "assigned").some((e) => e.generationId === m.generationId));
      await waitFor(`${name}: both members assigned in one generation`, () => settled() && sorted(members[0]!).length + sorted(members[1]!).length === 6);
      expect(expectShares(sorted(members[0]!), sorted(members[1]!)), `${name}: ${JSON.stringify([sorted(members[0]!), sorted(members[1]!)])}`).toBe(true);
      expect(ofType(members[0]!.log, "joined").at(-1)!.protocol).toBe(name);
      for (const [m, run] of members.map((m, i) => [m, runs[i]!] as const)) {
        await m.stop();
        await run;
      }
    }
  });
});
