/**
 * Group consumers end to end against the real broker on 127.0.0.1:9092, once per group protocol —
 * classic (JoinGroup/SyncGroup, eager rebalancing) and consumer (KIP-848: ConsumerGroupHeartbeat,
 * the coordinator assigns, incremental): membership, per-partition workers, commits,
 * acknowledgements, drain, retries, and Kafka's own consumer-groups tool reading what Tributary
 * reports. Then what only the consumer protocol has: member epochs on commits, fencing,
 * ConsumerGroupDescribe, server-side assignors.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  createAdmin, createGroupConsumer, createProducer, failed,
  type GroupConsumer, type GroupConsumerOptions, type GroupEvent, type GroupNotification, type TopicPartition,
} from "../../src/entry/node.ts";
import { commitOffsets } from "../../src/group/offset-store.ts";
import { gate } from "../support/gate.ts";
import { APIS } from "../../src/protocol/generated/index.ts";
import { KAFKA_SCRIPT } from "../support/kafka.ts";
import { runChecked } from "../support/process.ts";

const BROKERS = ["127.0.0.1:9092"];
const stamp = Date.now();
let serial = 0;
const unique = (what: string) => `tributary-group-${what}-${stamp}-${serial++}`;
const admin = createAdmin({ brokers: BROKERS, clientId: "tributary-group-test", retry: { deadlineMs: 15_000 } });
const consumers: GroupConsumer[] = [];
const topics: string[] = [];
const decoder = new TextDecoder();

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop().catch(() => {})));
  await admin.deleteTopics(topics).catch(() => {});
  admin.close();
});

async function createTopic(numPartitions: number): Promise<string> {
  const topic = unique("topic");
  expect(failed(await admin.createTopics([{ topic, numPartitions, replicationFactor: 1 }]))).toEqual([]);
  topics.push(topic);
  return topic;
}

/** Produces `count` records over `keys` keys; each value is `key:n`, n counting that key's records. */
async function produceKeyed(topic: string, count: number, keys: number, from = 0): Promise<void> {
  const producer = createProducer({ brokers: BROKERS, lingerMs: 5 });
  const messages = Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return { key: `key-${n % keys}`, value: `key-${n % keys}:${Math.floor(n / keys)}` };
  });
  await producer.send({ topic, messages });
  await producer.close();
}

async function produceValues(topic: string, count: number): Promise<void> {
  const producer = createProducer({ brokers: BROKERS });
  await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ key: null, value: `v${i}`, partition: 0 })) });
  await producer.close();
}

function newMember(topic: string, groupId: string, options: Partial<GroupConsumerOptions> = {}): GroupConsumer {
  const consumer = createGroupConsumer({
    brokers: BROKERS, clientId: "tributary-group-test", groupId, topics: [topic], beginOffset: "earliest",
    maxWaitMs: 100, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, heartbeatIntervalMs: 300, commitIntervalMs: 300,
    ...options,
  });
  consumers.push(consumer);
  return consumer;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const key = (tp: TopicPartition) => `${tp.topic}:${tp.partition}`;

async function committedOffsets(groupId: string): Promise<Record<number, number>> {
  const offsets = await admin.fetchGroupOffsets(groupId);
  return Object.fromEntries(offsets.map((o) => [o.partition, o.offset]));
}

async function logEndOffsets(topic: string): Promise<Record<number, number>> {
  const offsets = await admin.listOffsets(topic, "latest");
  return Object.fromEntries(offsets.map((o) => [o.partition, o.offset]));
}

interface Handled { member: string; partition: number; generationId: number; offset: number; value: string }

/** A handler that logs every record it handles, by member. */
function logInto(log: Handled[], name: string) {
  return async (n: GroupNotification) => {
    if (!("records" in n)) return;
    for (const r of n.records) log.push({ member: name, partition: n.partition, generationId: n.generationId, offset: r.offset, value: decoder.decode(r.value!) });
  };
}

/** Within a member's generation, each partition's records come in offset order, one after the other. */
function expectOrderedPerPartition(log: Handled[]): void {
  const last = new Map<string, number>();
  for (const h of log) {
    const k = `${h.member}|${h.generationId}|${h.partition}`;
    const previous = last.get(k);
    if (previous !== undefined) expect(h.offset, k).toBeGreaterThan(previous);
    last.set(k, h.offset);
  }
}

/** Per key, the first time each of its records is handled follows the order they were produced in. */
function expectKeyOrder(log: Handled[]): void {
  const seen = new Set<string>();
  const lastSeq = new Map<string, number>();
  for (const { value } of log) {
    if (seen.has(value)) continue; // a redelivery after a rebalance (at least once)
    seen.add(value);
    const [k, n] = value.split(":") as [string, string];
    expect(Number(n), value).toBe((lastSeq.get(k) ?? -1) + 1);
    lastSeq.set(k, Number(n));
  }
}

async function kafkaGroupsTool(...args: string[]): Promise<string[]> {
  const out = await runChecked("ConsumerGroupCommand", "bash", [KAFKA_SCRIPT, "tool", "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand", "--bootstrap-server", BROKERS[0]!, ...args]);
  return out.split("\n").map((line) => line.trim()).filter((line) => line !== "");
}

/** The coordinator's view of a consumer-protocol group (ConsumerGroupDescribe). */
async function describeConsumerGroup(groupId: string) {
  const answer = await admin.cluster.sendToCoordinator(groupId, APIS.ConsumerGroupDescribe, { groupIds: [groupId], includeAuthorizedOperations: false });
  const group = answer.groups[0]!;
  expect(group.errorCode, group.errorMessage ?? "").toBe(0);
  return group;
}

const partitionsOf = (assignment: { topicPartitions: { topicName: string; partitions: number[] }[] }, topic: string) =>
  assignment.topicPartitions.filter((t) => t.topicName === topic).flatMap((t) => t.partitions).sort((x, y) => x - y);
const sortedPartitions = (c: GroupConsumer) => c.assignment().map((tp) => tp.partition).sort((x, y) => x - y);

/** A consumer-protocol group has settled: Stable, every member at the assignment epoch, owning its target, and each consumer knowing it. */
async function waitForStableConsumerGroup(groupId: string, topic: string, members: GroupConsumer[]): Promise<void> {
  let last = "";
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const group = await describeConsumerGroup(groupId);
    last = JSON.stringify(group);
    const ok = group.groupState === "Stable" && group.members.length === members.length && members.every((c) => {
      const m = group.members.find((x) => x.memberId === c.memberId);
      return m !== undefined && m.memberEpoch === group.assignmentEpoch && m.memberEpoch === c.generationId &&
        JSON.stringify(partitionsOf(m.assignment, topic)) === JSON.stringify(partitionsOf(m.targetAssignment, topic)) &&
        JSON.stringify(partitionsOf(m.assignment, topic)) === JSON.stringify(sortedPartitions(c));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for a stable consumer group; last:\n${last}`);
}

describe.each(["classic", "consumer"] as const)("group consumer (%s protocol) against the real broker", (groupProtocol) => {
  const member = (topic: string, groupId: string, options: Partial<GroupConsumerOptions> = {}) => newMember(topic, groupId, { groupProtocol, ...options });

  it("shares a topic between members: every record handled, in order per key, commits reach the log end, and Kafka's tool agrees", async () => {
    const topic = await createTopic(6);
    const groupId = unique("share");
    const log: Handled[] = [];
    const a = member(topic, groupId);
    // Classic: b offers roundrobin first, but a (no roundrobin) only offers range: the group must use
    // range. Consumer: the coordinator assigns, with its default assignor ("uniform").
    const b = member(topic, groupId, groupProtocol === "classic" ? { assignors: ["roundrobin", "range"] } : {});
    const runA = a.run({ handler: logInto(log, "a") });
    await waitFor("a's assignment", () => a.assignment().length === 6);
    const runB = b.run({ handler: logInto(log, "b") });
    await waitFor("the two members to share the partitions", () => a.assignment().length === 3 && b.assignment().length === 3);
    if (groupProtocol === "consumer") await waitForStableConsumerGroup(groupId, topic, [a, b]);
    expect(a.generationId).toBe(b.generationId);
    expect(new Set([...a.assignment(), ...b.assignment()].map(key)).size).toBe(6);

    await produceKeyed(topic, 3_000, 60);
    await waitFor("3,000 records handled", () => new Set(log.map((h) => h.value)).size === 3_000);
    expectOrderedPerPartition(log);
    expectKeyOrder(log);
    for (const h of log) expect((h.member === "a" ? a : b).assignment().map((tp) => tp.partition)).toContain(h.partition);
    await Promise.all([a.commit(), b.commit()]);

    // Kafka's consumer-groups tool, reading the group from the coordinator, sees what we report.
    const [memberLines, stateLines, offsetLines] = await Promise.all([
      kafkaGroupsTool("--describe", "--group", groupId, "--members", "--verbose"),
      kafkaGroupsTool("--describe", "--group", groupId, "--state"),
      kafkaGroupsTool("--describe", "--group", groupId),
    ].map(async (lines) => (await lines).filter((l) => l.startsWith(groupId)))) as [string[], string[], string[]];
    expect(memberLines).toHaveLength(2);
    for (const consumer of [a, b]) {
      // GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS CURRENT-EPOCH CURRENT-ASSIGNMENT (topic:p,p,p) ...
      const columns = memberLines.map((l) => l.split(/\s+/)).find((c) => c[1] === consumer.memberId);
      expect(columns, `member ${consumer.memberId} in:\n${memberLines.join("\n")}`).toBeDefined();
      const [assignedTopic, list] = columns!.find((c) => c.startsWith(`${topic}:`))!.split(":") as [string, string];
      expect(assignedTopic).toBe(topic);
      expect(list.split(",").map(Number).sort((x, y) => x - y)).toEqual(consumer.assignment().map((tp) => tp.partition).sort((x, y) => x - y));
      if (groupProtocol === "consumer") {
        // ... CURRENT-EPOCH CURRENT-ASSIGNMENT TARGET-EPOCH TARGET-ASSIGNMENT: settled, at our epoch.
        const [currentEpoch, current, targetEpoch, target] = columns!.slice(-4);
        expect([Number(currentEpoch), Number(targetEpoch)]).toEqual([consumer.generationId, consumer.generationId]);
        expect(target).toBe(current);
      }
    }
    // GROUP COORDINATOR (ID) ASSIGNMENT-STRATEGY STATE #MEMBERS
    expect(stateLines).toHaveLength(1);
    expect(stateLines[0]!.split(/\s+/).slice(-3)).toEqual([groupProtocol === "classic" ? "range" : "uniform", "Stable", "2"]);
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
    const ends = await logEndOffsets(topic);
    expect(offsetLines).toHaveLength(6);
    for (const line of offsetLines) {
      const [, , partition, current, end, lag, consumerId] = line.split(/\s+/);
      expect(Number(current)).toBe(ends[Number(partition)]);
      expect(Number(end)).toBe(ends[Number(partition)]);
      expect(lag).toBe("0");
      const owner = [a, b].find((c) => c.assignment().some((tp) => tp.partition === Number(partition)))!;
      expect(consumerId).toBe(owner.memberId);
    }

    await Promise.all([a.stop(), b.stop()]);
    await Promise.all([runA, runB]);
    expect(await committedOffsets(groupId)).toEqual(ends);
  }, 90_000);

  it("keeps every record while members join and leave during production", async () => {
    const topic = await createTopic(6);
    const groupId = unique("churn");
    const log: Handled[] = [];
    const total = 4_000;
    const first = member(topic, groupId);
    void first.run({ handler: logInto(log, "first") });
    await waitFor("the first member's assignment", () => first.assignment().length === 6);
    const producing = (async () => {
      for (let from = 0; from < total; from += 200) {
        await produceKeyed(topic, 200, 40, from);
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    })();
    await waitFor("some records handled", () => log.length >= 400);
    const second = member(topic, groupId);
    void second.run({ handler: logInto(log, "second") });
    await waitFor("a rebalance to two members", () => second.assignment().length > 0 && first.assignment().length > 0);
    await waitFor("more records handled", () => log.length >= 1_600);
    await first.stop(); // leaves: its partitions go to the second member
    const third = member(topic, groupId);
    void third.run({ handler: logInto(log, "third") });
    await producing;
    await waitFor("every record handled at least once", () => new Set(log.map((h) => h.value)).size === total, 60_000);
    expectOrderedPerPartition(log);
    expectKeyOrder(log);
    await waitFor("the remaining two to share the partitions", () => second.assignment().length + third.assignment().length === 6);
    await Promise.all([second.stop(), third.stop()]);
    expect(await committedOffsets(groupId)).toEqual(await logEndOffsets(topic));
  }, 120_000);

  it("manual acknowledgements: commits stop at the first unacknowledged record; stale generations are dropped and counted", async () => {
    const topic = await createTopic(1);
    await produceValues(topic, 10);
    const groupId = unique("manual");
    const events: GroupEvent[] = [];
    const consumer = member(topic, groupId, { ack: "manual", commitIntervalMs: 60_000 });
    consumer.events.on((e) => events.push(e));
    const batches: { generationId: number; offsets: number[] }[] = [];
    const run = consumer.run({ handler: (n) => void ("records" in n && batches.push({ generationId: n.generationId, offsets: n.records.map((r) => r.offset) })) });
    await waitFor("10 records delivered", () => batches.flatMap((b) => b.offsets).length === 10);
    const generationId = batches[0]!.generationId;
    const tp = { topic, partition: 0 };
    for (const offset of [0, 1, 2, 3, 4, 6]) expect(consumer.ack({ ...tp, generationId, offset })).toBe(true);
    expect(consumer.ack({ ...tp, generationId: generationId + 1, offset: 5 })).toBe(false);
    expect(consumer.ack({ ...tp, generationId: generationId - 1, offset: 7 })).toBe(false);
    expect(consumer.stats.staleAcks).toBe(2);
    expect(events.filter((e) => e.type === "stale-ack").map((e) => (e as { offset: number }).offset)).toEqual([5, 7]);
    await consumer.commit();
    expect(await committedOffsets(groupId)).toEqual({ 0: 5 });
    expect(consumer.status()[0]).toMatchObject({ committed: 5, committable: 5, pending: 4 });
    expect(consumer.ack({ ...tp, generationId, offset: 5 })).toBe(true);
    await consumer.stop();
    await run;
    expect(await committedOffsets(groupId)).toEqual({ 0: 7 }); // 7 was acknowledged only with a stale generation
  });

  it("manual acknowledgements held across a real rebalance are stale: dropped, counted, never committed; the new owner starts at the last commit", async () => {
    const topic = await createTopic(2);
    const producer = createProducer({ brokers: BROKERS });
    await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })) });
    await producer.close();
    const groupId = unique("stale-rebalance");
    const held: { partition: number; generationId: number; offsets: number[] }[] = [];
    const a = member(topic, groupId, { ack: "manual", commitIntervalMs: 200 });
    const runA = a.run({ handler: (n) => void ("records" in n && held.push({ partition: n.partition, generationId: n.generationId, offsets: n.records.map((r) => r.offset) })) });
    await waitFor("a to hold both partitions' records", () => new Set(held.map((h) => h.partition)).size === 2 && held.flatMap((h) => h.offsets).length === 20);
    // a acknowledges offsets 0-4 of each partition now (committed), and holds the rest.
    for (const h of held) for (const offset of h.offsets.filter((o) => o < 5)) expect(a.ack({ topic, partition: h.partition, generationId: h.generationId, offset })).toBe(true);
    await a.commit();
    expect(await committedOffsets(groupId)).toEqual({ 0: 5, 1: 5 });

    // b joins: the group rebalances and a's held records are of a past generation (or partition) now.
    const seenByB: { partition: number; offsets: number[] }[] = [];
    const b = member(topic, groupId, { commitIntervalMs: 200 });
    const runB = b.run({ handler: (n) => void ("records" in n && seenByB.push({ partition: n.partition, offsets: n.records.map((r) => r.offset) })) });
    await waitFor("the two members to share the partitions", () => a.assignment().length === 1 && b.assignment().length === 1, 45_000);
    const movedPartition = b.assignment()[0]!.partition;
    const staleBefore = a.stats.staleAcks;
    const heldOfMoved = held.filter((h) => h.partition === movedPartition);
    for (const h of heldOfMoved) for (const offset of h.offsets.filter((o) => o >= 5)) expect(a.ack({ topic, partition: movedPartition, generationId: h.generationId, offset })).toBe(false);
    expect(a.stats.staleAcks - staleBefore).toBe(5);
    // b handles the moved partition from a's last commit (5), not from where a's stale acks would put it.
    await waitFor("b to handle the moved partition", () => seenByB.some((s) => s.partition === movedPartition));
    expect(seenByB.find((s) => s.partition === movedPartition)!.offsets[0]).toBe(5);
    for (const [consumer, run] of [[a, runA], [b, runB]] as const) {
      await consumer.stop();
      await run;
    }
    const finalOffsets = await committedOffsets(groupId);
    expect(finalOffsets[movedPartition]).toBe(10); // b handled 5-9 (auto acks)
  });

  it("drain on stop: a call that finishes within drainMs is committed, queued records are not; a stuck call is not committed", async () => {
    const topic = await createTopic(1);
    await produceValues(topic, 20);

    const groupId = unique("drain");
    const calls: number[][] = [];
    let releaseSecond!: () => void;
    const secondDone = new Promise<void>((resolve) => (releaseSecond = resolve));
    const consumer = member(topic, groupId, { maxBatchSize: 5, drainMs: 10_000, commitIntervalMs: 60_000 });
    const run = consumer.run({
      handler: async (n) => {
        if (!("records" in n)) return;
        calls.push(n.records.map((r) => r.offset));
        if (calls.length === 2) await secondDone;
      },
    });
    await waitFor("the second call", () => calls.length === 2);
    const stopping = consumer.stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    releaseSecond(); // finishes while stop() drains
    await stopping;
    await run;
    expect(calls).toEqual([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]);
    expect(await committedOffsets(groupId)).toEqual({ 0: 10 });

    const stuckGroup = unique("stuck");
    const stuckCalls: number[][] = [];
    const stuck = member(topic, stuckGroup, { maxBatchSize: 5, drainMs: 300, commitIntervalMs: 60_000 });
    const stuckRun = stuck.run({
      handler: async (n) => {
        if (!("records" in n)) return;
        stuckCalls.push(n.records.map((r) => r.offset));
        if (stuckCalls.length === 2) await new Promise(() => {}); // never returns
      },
    });
    await waitFor("the stuck call", () => stuckCalls.length === 2);
    await stuck.stop();
    await stuckRun;
    expect(await committedOffsets(stuckGroup)).toEqual({ 0: 5 });

    // The next member of that group starts at the first record the stuck call did not finish.
    const next = member(topic, stuckGroup, { commitIntervalMs: 60_000 });
    const firstOffsets: number[] = [];
    void next.run({ eachRecord: (r) => void firstOffsets.push(r.offset) });
    await waitFor("the next member's records", () => firstOffsets.length === 15);
    expect(firstOffsets[0]).toBe(5);
    await next.stop();
  }, 60_000);

  it("a throwing handler is retried with backoff from the record that threw, and nothing is lost", async () => {
    const topic = await createTopic(1);
    await produceValues(topic, 10);
    const groupId = unique("retry");
    const events: GroupEvent[] = [];
    const consumer = member(topic, groupId, { retryBackoff: { initialMs: 20, maxMs: 100 } });
    consumer.events.on((e) => events.push(e));
    const attempts: number[] = [];
    const attemptsOf3At: number[] = [];
    let failures = 0;
    const run = consumer.run({
      eachRecord: (r) => {
        attempts.push(r.offset);
        if (r.offset === 3) attemptsOf3At.push(performance.now());
        if (r.offset === 3 && failures < 2) {
          failures++;
          throw new Error(`handler failure ${failures}`);
        }
      },
    });
    await waitFor("all ten records", () => attempts.filter((o) => o === 9).length === 1);
    expect(attempts).toEqual([0, 1, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9]);
    const errors = events.filter((e) => e.type === "handler-error");
    expect(errors.map((e) => (e as { attempt: number }).attempt)).toEqual([1, 2]);
    for (const e of errors) expect((e as { retryInMs: number }).retryInMs).toBeGreaterThanOrEqual(50);
    // The backoff is really waited: no retry came sooner than the least delay (50 ms), however the jitter drew.
    const waits = attemptsOf3At.slice(1).map((at, i) => at - attemptsOf3At[i]!);
    expect(waits).toHaveLength(2);
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(45);
    expect(String((errors[0] as { error: unknown }).error)).toContain("handler failure 1");
    await consumer.stop();
    await run;
    expect(await committedOffsets(groupId)).toEqual({ 0: 10 });
  });

  it("notifies assigned, caughtUp and revoked around the records", async () => {
    const topic = await createTopic(2);
    await produceKeyed(topic, 50, 10);
    const groupId = unique("notify");
    const seen: string[] = [];
    const consumer = member(topic, groupId);
    const run = consumer.run({
      handler: (n) => {
        if ("assigned" in n) seen.push(`assigned ${n.assigned.length}`);
        else if ("revoked" in n) seen.push(`revoked ${n.revoked.length}`);
        else if ("caughtUp" in n) seen.push(`caughtUp ${n.caughtUp.partition}`);
        else if ("records" in n) seen.push(`records ${n.partition}`);
      },
    });
    await waitFor("both partitions caught up", () => seen.filter((s) => s.startsWith("caughtUp")).length === 2);
    await consumer.stop();
    await run;
    expect(seen[0]).toBe("assigned 2");
    expect(seen.at(-1)).toBe("revoked 2");
    for (const p of [0, 1]) {
      expect(seen.indexOf(`caughtUp ${p}`)).toBeGreaterThan(seen.lastIndexOf(`records ${p}`));
    }
  });
});

describe("group consumer: what only the consumer protocol (KIP-848) has", () => {
  const member = (topic: string, groupId: string, options: Partial<GroupConsumerOptions> = {}) => newMember(topic, groupId, { groupProtocol: "consumer", ...options });

  it("rejects options of the other protocol", () => {
    const base = { brokers: BROKERS, groupId: "g", topics: ["t"] };
    expect(() => createGroupConsumer({ ...base, groupProtocol: "consumer", assignors: ["range"] })).toThrow(TypeError);
    expect(() => createGroupConsumer({ ...base, groupProtocol: "classic", remoteAssignor: "range" })).toThrow(TypeError);
    expect(() => createGroupConsumer({ ...base, groupProtocol: "eager" as "classic" })).toThrow(TypeError);
  });

  it("member epochs grow with rebalances, commits carry the current one, the coordinator rejects stale and future epochs, ConsumerGroupDescribe shows members, epochs and assignments", async () => {
    const topic = await createTopic(4);
    const groupId = unique("epochs");
    const log: Handled[] = [];
    const commits: GroupEvent[] = [];
    const a = member(topic, groupId);
    a.events.on((e) => void (e.type === "commit" && commits.push(e)));
    void a.run({ handler: logInto(log, "a") });
    await waitFor("a's assignment", () => a.assignment().length === 4);
    await waitForStableConsumerGroup(groupId, topic, [a]);
    const firstEpoch = a.generationId;
    expect(firstEpoch).toBeGreaterThan(0);

    const b = member(topic, groupId);
    void b.run({ handler: logInto(log, "b") });
    await waitFor("the two members to share the partitions", () => a.assignment().length === 2 && b.assignment().length === 2);
    await waitForStableConsumerGroup(groupId, topic, [a, b]);
    expect(a.generationId).toBeGreaterThan(firstEpoch);
    expect(b.generationId).toBe(a.generationId);
    expect(b.memberId).not.toBe(a.memberId);

    // ConsumerGroupDescribe: both members, at their epochs, owning what they say they own.
    const group = await describeConsumerGroup(groupId);
    expect(group).toMatchObject({ groupState: "Stable", assignorName: "uniform", assignmentEpoch: a.generationId });
    expect(group.members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());
    for (const c of [a, b]) {
      const m = group.members.find((x) => x.memberId === c.memberId)!;
      expect(m).toMatchObject({ memberEpoch: c.generationId, clientId: "tributary-group-test", subscribedTopicNames: [topic], instanceId: null });
      expect(partitionsOf(m.assignment, topic)).toEqual(sortedPartitions(c));
      expect(partitionsOf(m.targetAssignment, topic)).toEqual(sortedPartitions(c));
    }

    // Commits made now carry the epoch the coordinator knows (it accepts them).
    // (Counted from before producing: the periodic commit may get there before `a.commit()`.)
    const before = commits.length;
    await produceKeyed(topic, 400, 20);
    await waitFor("400 records handled", () => new Set(log.map((h) => h.value)).size === 400);
    await a.commit();
    const made = commits.slice(before) as Extract<GroupEvent, { type: "commit" }>[];
    expect(made.length).toBeGreaterThan(0);
    for (const e of made) expect([e.generationId, e.error]).toEqual([a.generationId, undefined]);

    // The coordinator checks the member epoch of every commit (Kafka 4.1 answers STALE_MEMBER_EPOCH
    // for an older and a newer epoch alike), and the member id.
    const tp = a.assignment()[0]!;
    const committed = (await committedOffsets(groupId))[tp.partition]!;
    expect(committed).toBeGreaterThanOrEqual(0);
    const commitAt = async (generationId: number, memberId = a.memberId) => (await commitOffsets(admin.cluster, {
      groupId, generationId, memberId, groupInstanceId: null,
    }, [{ ...tp, offset: committed }])).get(key(tp));
    expect((await commitAt(a.generationId - 1))?.errorName).toBe("STALE_MEMBER_EPOCH");
    expect((await commitAt(a.generationId + 1))?.errorName).toBe("STALE_MEMBER_EPOCH");
    expect((await commitAt(a.generationId, "not-a-member"))?.errorName).toBe("UNKNOWN_MEMBER_ID");
    expect(await commitAt(a.generationId)).toBeNull();

    await Promise.all([a.stop(), b.stop()]);
    expect(await committedOffsets(groupId)).toEqual(await logEndOffsets(topic));
    // Both left (epoch -1): the group is empty.
    expect((await describeConsumerGroup(groupId)).members).toEqual([]);
  }, 90_000);

  it("a commit refused with STALE_MEMBER_EPOCH (the heartbeat that bumped the epoch still on its way back) is made again with the new epoch", async () => {
    const topic = await createTopic(2);
    await produceValues(topic, 100);
    const groupId = unique("stale-commit");
    const log: Handled[] = [];
    const commits: Extract<GroupEvent, { type: "commit" }>[] = [];
    const a = member(topic, groupId, { commitIntervalMs: 600_000 });
    a.events.on((e) => void (e.type === "commit" && commits.push(e)));
    void a.run({ handler: logInto(log, "a") });
    await waitFor("100 records handled", () => log.length === 100);
    await waitForStableConsumerGroup(groupId, topic, [a]);

    // A slow way back: heartbeat answers reach the member 3 s after the coordinator sent them.
    const cluster = a.fetcher.cluster;
    const send = cluster.sendToCoordinator.bind(cluster);
    let holdMs = 0;
    cluster.sendToCoordinator = (async (...args: Parameters<typeof send>) => {
      const answer = await send(...args);
      if (args[1] === APIS.ConsumerGroupHeartbeat && holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
      return answer;
    }) as typeof send;
    holdMs = 3_000;
    // A new partition: the coordinator bumps the member's epoch at its next heartbeat.
    expect(failed(await admin.createPartitions([{ topic, count: 3 }]))).toEqual([]);
    const known = a.generationId;
    const deadline = Date.now() + 10_000;
    while (((await describeConsumerGroup(groupId)).members[0]?.memberEpoch ?? 0) <= known) {
      if (Date.now() > deadline) throw new Error("the coordinator did not bump the member epoch");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(a.generationId).toBe(known); // the answer saying so is still held

    const before = commits.length;
    await a.commit();
    holdMs = 0;
    const made = commits.slice(before);
    expect(made[0]).toMatchObject({ generationId: known, error: { errorName: "STALE_MEMBER_EPOCH" } });
    expect(made.at(-1)!.error).toBeUndefined();
    expect(made.at(-1)!.generationId).toBeGreaterThan(known);
    expect((await committedOffsets(groupId))[0]).toBe(100);
    await a.stop();
  }, 60_000);

  it("the server-side assignor is the member's choice: remoteAssignor \"range\" gives contiguous ranges, and Kafka's tool names it", async () => {
    const topic = await createTopic(4);
    const groupId = unique("range");
    const a = member(topic, groupId, { remoteAssignor: "range" });
    const b = member(topic, groupId, { remoteAssignor: "range" });
    void a.run({ handler: () => {} });
    void b.run({ handler: () => {} });
    await waitFor("the two members to share the partitions", () => a.assignment().length === 2 && b.assignment().length === 2);
    await waitForStableConsumerGroup(groupId, topic, [a, b]);
    expect((await describeConsumerGroup(groupId)).assignorName).toBe("range");
    expect([sortedPartitions(a), sortedPartitions(b)].sort()).toEqual([[0, 1], [2, 3]]);
    const state = (await kafkaGroupsTool("--describe", "--group", groupId, "--state")).filter((l) => l.startsWith(groupId));
    expect(state[0]!.split(/\s+/).slice(-3)).toEqual(["range", "Stable", "2"]);
    await Promise.all([a.stop(), b.stop()]);
  }, 60_000);

  it("a static member (groupInstanceId) leaves with epoch -2: its partitions wait for it, and its restart gets them back while the other member is untouched", async () => {
    const topic = await createTopic(4);
    const groupId = unique("static");
    const a = member(topic, groupId, { groupInstanceId: `${groupId}-a` });
    const b = member(topic, groupId, { groupInstanceId: `${groupId}-b` });
    const bEvents: GroupEvent[] = [];
    b.events.on((e) => bEvents.push(e));
    void a.run({ handler: () => {} });
    void b.run({ handler: () => {} });
    await waitFor("the two members to share the partitions", () => a.assignment().length === 2 && b.assignment().length === 2);
    await waitForStableConsumerGroup(groupId, topic, [a, b]);
    expect((await describeConsumerGroup(groupId)).members.map((m) => m.instanceId).sort()).toEqual([`${groupId}-a`, `${groupId}-b`]);
    const aPartitions = sortedPartitions(a);
    const bPartitions = sortedPartitions(b);
    const settledAt = bEvents.length;

    await a.stop();
    const restarted = member(topic, groupId, { groupInstanceId: `${groupId}-a` });
    void restarted.run({ handler: () => {} });
    await waitFor("the restarted instance's assignment", () => restarted.assignment().length === 2);
    await waitForStableConsumerGroup(groupId, topic, [restarted, b]);
    expect(restarted.memberId).not.toBe(a.memberId);
    expect(sortedPartitions(restarted)).toEqual(aPartitions);
    expect(sortedPartitions(b)).toEqual(bPartitions);
    // b never gave up or took partitions: a dynamic leave (-1) would have moved a's share to b.
    expect(bEvents.slice(settledAt).filter((e) => e.type === "assigned" || e.type === "revoked" || e.type === "lost")).toEqual([]);
    await Promise.all([restarted.stop(), b.stop()]);
  }, 60_000);

  it("a handler stuck past maxHandlerMs: the member leaves (epoch -1) and rejoins with epoch 0 when the call returns", async () => {
    const topic = await createTopic(1);
    await produceValues(topic, 10);
    const groupId = unique("stall");
    const { passed: stuck, open: release } = gate();
    const calls: number[][] = [];
    const events: GroupEvent[] = [];
    const consumer = member(topic, groupId, { maxHandlerMs: 300, drainMs: 100 });
    consumer.events.on((e) => events.push(e));
    const run = consumer.run({
      handler: async (n) => {
        if (!("records" in n)) return;
        calls.push(n.records.map((r) => r.offset));
        if (calls.length === 1) await stuck;
      },
    });
    const count = (type: GroupEvent["type"]) => events.filter((e) => e.type === type).length;
    await waitFor("the stall to be reported and the member to leave", () => count("left") === 1);
    expect(count("stall")).toBe(1);
    expect(consumer.assignment()).toEqual([]);
    expect((await describeConsumerGroup(groupId)).members).toEqual([]);
    release();
    await waitFor("the member to rejoin and handle the records again", () => count("joined") === 2 && calls.length >= 2);
    expect(calls[1]![0]).toBe(0); // the stuck call's work was not committed
    await consumer.stop();
    await run;
    expect(await committedOffsets(groupId)).toEqual({ 0: 10 });
  }, 60_000);

  it("a fenced member loses its partitions, rejoins with epoch 0 and the same member id, and consumes on without losing records", async () => {
    const topic = await createTopic(2);
    const other = await createTopic(1);
    const groupId = unique("fenced");
    const log: Handled[] = [];
    const events: GroupEvent[] = [];
    const a = member(topic, groupId);
    a.events.on((e) => events.push(e));
    void a.run({ handler: logInto(log, "a") });
    await waitFor("a's assignment", () => a.assignment().length === 2);
    await waitForStableConsumerGroup(groupId, topic, [a]);
    await produceKeyed(topic, 200, 10);
    await waitFor("200 records handled", () => new Set(log.map((h) => h.value)).size === 200);
    const memberId = a.memberId;
    const epoch = a.generationId;

    // Someone else heartbeats as a (same id, its epoch) with another subscription: the coordinator
    // moves that member to a new epoch, so a's own next heartbeat carries an epoch it fences.
    const hijack = await admin.cluster.sendToCoordinator(groupId, APIS.ConsumerGroupHeartbeat, {
      groupId, memberId, memberEpoch: epoch, subscribedTopicNames: [topic, other],
    }, { retry: false });
    expect(hijack.errorCode).toBe(0);
    expect(hijack.memberEpoch).toBeGreaterThan(epoch);
    const lostAt = () => events.findIndex((e) => e.type === "lost");
    await waitFor("a to lose its partitions", () => lostAt() >= 0);
    expect(events[lostAt()]).toMatchObject({ type: "lost", reason: "FENCED_MEMBER_EPOCH", generationId: epoch });
    expect((events[lostAt()] as { partitions: TopicPartition[] }).partitions.map((tp) => tp.partition).sort()).toEqual([0, 1]);
    // Its rejoin (epoch 0) meets its own id registered with the newer epoch: it leaves and joins again.
    await waitFor("a to be assigned again", () => events.slice(lostAt()).some((e) => e.type === "assigned") && a.assignment().length === 2);
    await waitForStableConsumerGroup(groupId, topic, [a]);
    expect(a.memberId).toBe(memberId);
    expect((await describeConsumerGroup(groupId)).members[0]!.subscribedTopicNames).toEqual([topic]);

    // Removed from the group behind its back (a leave sent for it): UNKNOWN_MEMBER_ID, lost, rejoined.
    const lostCount = () => events.filter((e) => e.type === "lost").length;
    const left = await admin.cluster.sendToCoordinator(groupId, APIS.ConsumerGroupHeartbeat, { groupId, memberId, memberEpoch: -1 }, { retry: false });
    expect(left.errorCode).toBe(0);
    await waitFor("a to lose its partitions again", () => lostCount() === 2);
    expect(events.filter((e) => e.type === "lost")[1]).toMatchObject({ reason: "UNKNOWN_MEMBER_ID" });
    await waitFor("a to be assigned again", () => a.assignment().length === 2);
    await waitForStableConsumerGroup(groupId, topic, [a]);
    expect(a.memberId).toBe(memberId);

    await produceKeyed(topic, 200, 10, 200);
    await waitFor("all 400 records handled", () => new Set(log.map((h) => h.value)).size === 400);
    expectKeyOrder(log);
    await a.stop();
    expect(await committedOffsets(groupId)).toEqual(await logEndOffsets(topic));
  }, 90_000);
});
