/**
 * Incremental rebalancing (KIP-429, the cooperative-sticky assignor) against the real broker:
 * partitions a member keeps go on being processed while the group rebalances; the eager range
 * assignor, measured in the same scenario, stops everything for the rebalance. The same is
 * measured for the consumer protocol (KIP-848), where every reassignment is incremental.
 *
 * The scenario holds a rebalance open on purpose: a raw protocol member ("the silent member")
 * joins through JoinGroup and then never speaks again, so the next rebalance waits for it until
 * its session (4 s) expires. Meanwhile records keep arriving on every partition.
 */
import { afterAll, describe, expect, it } from "vitest";
import {
  Cluster, createAdmin, createGroupConsumer, createProducer, encodeSubscription, failed,
  type GroupConsumer, type GroupEvent, type TopicPartition,
} from "../../src/entry/node.ts";
import { APIS } from "../../src/protocol/generated/index.ts";

const BROKERS = ["127.0.0.1:9092"];
const stamp = Date.now();
const admin = createAdmin({ brokers: BROKERS, clientId: "tributary-cooperative-test", retry: { deadlineMs: 15_000 } });
const topics: string[] = [];
const consumers: GroupConsumer[] = [];

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop().catch(() => {})));
  await admin.deleteTopics(topics).catch(() => {});
  admin.close();
});

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function sixPartitionTopic(topic: string): Promise<string> {
  expect(failed(await admin.createTopics([{ topic, numPartitions: 6, replicationFactor: 1 }]))).toEqual([]);
  topics.push(topic);
  return topic;
}

/** Sends 12 records (values v0, v1, …; two per partition) every ~15 ms until `stop()`, which resolves with how many were sent. */
function keepProducing(topic: string): { stop(): Promise<number> } {
  const producer = createProducer({ brokers: BROKERS, lingerMs: 2 });
  let producing = true;
  let produced = 0;
  const production = (async () => {
    while (producing) {
      await producer.send({ topic, messages: Array.from({ length: 12 }, (_, i) => ({ key: null, value: `v${produced + i}`, partition: i % 6 })) });
      produced += 12;
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
  })();
  return {
    async stop() {
      producing = false;
      await production;
      await producer.close();
      return produced;
    },
  };
}

/** Joins the group as a member that answers nothing after its JoinGroup (it holds the next rebalance open). */
async function silentMember(groupId: string, topic: string, protocol: string): Promise<Cluster> {
  const cluster = new Cluster({ brokers: BROKERS, clientId: "silent-member" });
  const request = (memberId: string) => ({
    groupId, sessionTimeoutMs: 4_000, rebalanceTimeoutMs: 4_000, memberId, groupInstanceId: null, protocolType: "consumer",
    protocols: [{ name: protocol, metadata: encodeSubscription({ topics: [topic] }) }], reason: null,
  });
  let answer = await cluster.sendToCoordinator(groupId, APIS.JoinGroup, request(""), { timeoutMs: 20_000 });
  if (answer.errorCode === 79) answer = await cluster.sendToCoordinator(groupId, APIS.JoinGroup, request(answer.memberId), { timeoutMs: 20_000 });
  expect(answer.errorCode).toBe(0);
  return cluster;
}

interface Scenario {
  /** Handler calls that started while the member was rebalancing, per partition. */
  callsDuringRebalances: Map<number, number>;
  longestRebalanceMs: number;
  revoked: TopicPartition[][];
  kept: number[];
}

async function runScenario(assignor: "cooperative-sticky" | "range"): Promise<Scenario> {
  const topic = await sixPartitionTopic(`tributary-coop-${assignor}-${stamp}`);
  const groupId = `${topic}-group`;
  const production = keepProducing(topic);

  const events: GroupEvent[] = [];
  const calls: { partition: number; at: number }[] = [];
  const handledValues = new Set<string>();
  const member = createGroupConsumer({
    brokers: BROKERS, clientId: "tributary-cooperative-test", groupId, topics: [topic], beginOffset: "earliest",
    assignors: [assignor], maxWaitMs: 50, heartbeatIntervalMs: 200, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 15_000, commitIntervalMs: 200,
  });
  consumers.push(member);
  member.events.on((e) => events.push(e));
  const run = member.run({
    handler: async (n) => {
      if (!("records" in n)) return;
      calls.push({ partition: n.partition, at: Date.now() });
      for (const r of n.records) handledValues.add(new TextDecoder().decode(r.value!));
      await new Promise((resolve) => setTimeout(resolve, 5));
    },
  });
  await waitFor("the member's six partitions", () => member.assignment().length === 6);
  await waitFor("records flowing", () => handledValues.size > 100);

  const silent = await silentMember(groupId, topic, assignor);
  // The silent member's session expires; the group settles with our member owning all six again.
  await waitFor("the silent member's departure", () => events.filter((e) => e.type === "rebalance").length >= 3 && member.assignment().length === 6, 40_000);
  silent.close();
  const produced = await production.stop();
  await waitFor("every record handled", () => handledValues.size === produced, 30_000);
  await member.stop();
  await run;
  const committed = await admin.fetchGroupOffsets(groupId);
  const ends = await admin.listOffsets(topic, "latest");
  expect(Object.fromEntries(committed.map((o) => [o.partition, o.offset]))).toEqual(Object.fromEntries(ends.map((o) => [o.partition, o.offset])));

  // Rebalance windows: from "rebalancing" to the following "rebalance" (the join and sync done).
  const windows: [number, number][] = [];
  let openedAt: number | undefined;
  for (const e of events) {
    if (e.type === "rebalancing") openedAt = e.at;
    if (e.type === "rebalance" && openedAt !== undefined) {
      windows.push([openedAt, e.at]);
      openedAt = undefined;
    }
  }
  const callsDuringRebalances = new Map<number, number>();
  for (const c of calls) {
    if (windows.some(([from, to]) => c.at > from && c.at < to)) callsDuringRebalances.set(c.partition, (callsDuringRebalances.get(c.partition) ?? 0) + 1);
  }
  const revoked = events.filter((e) => e.type === "revoked").map((e) => (e as { partitions: TopicPartition[] }).partitions);
  const everRevoked = new Set(revoked.slice(0, -1).flat().map((tp) => tp.partition)); // the last revoke is stop()
  return {
    callsDuringRebalances,
    longestRebalanceMs: Math.max(...windows.map(([from, to]) => to - from)),
    revoked: revoked.slice(0, -1),
    kept: [0, 1, 2, 3, 4, 5].filter((p) => !everRevoked.has(p)),
  };
}

describe("cooperative-sticky vs eager rebalancing (real broker)", () => {
  it("keeps processing the partitions that stay during a rebalance; eager range stops them all", async () => {
    const cooperative = await runScenario("cooperative-sticky");
    const eager = await runScenario("range");
    const callsOn = (s: Scenario, partitions: number[]) => partitions.reduce((sum, p) => sum + (s.callsDuringRebalances.get(p) ?? 0), 0);
    console.log(
      `[measured] handler calls started during rebalances — cooperative-sticky: ${callsOn(cooperative, cooperative.kept)} on kept partitions ` +
        `${JSON.stringify(cooperative.kept)} (longest rebalance ${cooperative.longestRebalanceMs} ms); ` +
        `range (eager): ${callsOn(eager, [0, 1, 2, 3, 4, 5])} on any partition (longest rebalance ${eager.longestRebalanceMs} ms)`,
    );
    // Cooperative: only the partitions that moved to the silent member were revoked; the others kept working through the rebalance.
    expect(cooperative.kept.length).toBe(3);
    expect(cooperative.revoked.flat().map((tp) => tp.partition).sort()).toEqual([0, 1, 2, 3, 4, 5].filter((p) => !cooperative.kept.includes(p)));
    expect(cooperative.longestRebalanceMs).toBeGreaterThan(1_000); // the silent member held it open
    expect(callsOn(cooperative, cooperative.kept)).toBeGreaterThan(0);
    // Eager: everything is revoked before every join, so nothing starts while the group rebalances.
    expect(eager.kept).toEqual([]);
    expect(callsOn(eager, [0, 1, 2, 3, 4, 5])).toBe(0);
  }, 120_000);
});

/** One handler call: which partition, when it started and ended (ms since the epoch). */
interface Call {
  partition: number;
  startedAt: number;
  endedAt: number;
}

describe("KIP-848 reassignment (groupProtocol \"consumer\", real broker)", () => {
  it("the partitions a member keeps go on being processed while the others move to a joining member", async () => {
    const topic = await sixPartitionTopic(`tributary-kip848-move-${stamp}`);
    const groupId = `${topic}-group`;
    const production = keepProducing(topic);

    const handledValues = new Set<string>();
    const newMember = (calls: Call[], events: GroupEvent[]) => {
      const member = createGroupConsumer({
        brokers: BROKERS, clientId: "tributary-kip848-test", groupId, topics: [topic], beginOffset: "earliest", groupProtocol: "consumer",
        maxWaitMs: 50, commitIntervalMs: 200,
      });
      consumers.push(member);
      member.events.on((e) => events.push(e));
      const run = member.run({
        handler: async (n) => {
          if (!("records" in n)) return;
          const startedAt = Date.now();
          for (const r of n.records) handledValues.add(new TextDecoder().decode(r.value!));
          await new Promise((resolve) => setTimeout(resolve, 5));
          calls.push({ partition: n.partition, startedAt, endedAt: Date.now() });
        },
      });
      return { member, run };
    };

    const callsA: Call[] = [];
    const eventsA: GroupEvent[] = [];
    const a = newMember(callsA, eventsA);
    await waitFor("a's six partitions", () => a.member.assignment().length === 6);
    await waitFor("records flowing", () => handledValues.size > 100);

    // b joins: the coordinator moves some of a's partitions to it. The reassignment lasts from
    // b's start until b handles records of its own (a revokes, drains and commits the moved
    // partitions, the coordinator hands them to b, b reads the commits and fetches).
    const callsB: Call[] = [];
    const joinStartedAt = Date.now();
    const b = newMember(callsB, []);
    await waitFor("b's first records", () => callsB.length > 0);
    const windowEnd = Math.min(...callsB.map((c) => c.startedAt));
    await waitFor("the group to settle at 3 + 3", () => a.member.assignment().length === 3 && b.member.assignment().length === 3);

    const moved = b.member.assignment().map((tp) => tp.partition).sort();
    const kept = a.member.assignment().map((tp) => tp.partition).sort();
    expect([...moved, ...kept].sort()).toEqual([0, 1, 2, 3, 4, 5]);

    const produced = await production.stop();
    await waitFor("every record handled", () => handledValues.size === produced, 30_000);
    await Promise.all([a.member.stop(), b.member.stop()]);
    await Promise.all([a.run, b.run]);
    const committed = await admin.fetchGroupOffsets(groupId);
    const ends = await admin.listOffsets(topic, "latest");
    expect(Object.fromEntries(committed.map((o) => [o.partition, o.offset]))).toEqual(Object.fromEntries(ends.map((o) => [o.partition, o.offset])));

    // a gave up exactly the moved partitions (then everything at stop), and never lost any.
    const revoked = eventsA.filter((e) => e.type === "revoked").map((e) => (e as { partitions: TopicPartition[] }).partitions.map((tp) => tp.partition).sort());
    expect(revoked[0]).toEqual(moved);
    expect(eventsA.some((e) => e.type === "lost")).toBe(false);

    // During the reassignment every kept partition went on being handled by a; the longest pause
    // between two of a's calls on kept partitions is measured against the window's length.
    const inWindow = callsA.filter((c) => c.startedAt > joinStartedAt && c.startedAt < windowEnd);
    const perKept = kept.map((p) => inWindow.filter((c) => c.partition === p).length);
    const keptStarts = [joinStartedAt, ...inWindow.filter((c) => kept.includes(c.partition)).map((c) => c.startedAt), windowEnd].sort((x, y) => x - y);
    const longestKeptPause = Math.max(...keptStarts.slice(1).map((t, i) => t - keptStarts[i]!));
    // The moved partitions were never handled by both: a's last call on each ended before b's first began.
    const handover = moved.map((p) => {
      const firstB = Math.min(...callsB.filter((c) => c.partition === p).map((c) => c.startedAt));
      const lastA = Math.max(...callsA.filter((c) => c.partition === p && c.startedAt < firstB).map((c) => c.endedAt));
      return { partition: p, lastA, firstB };
    });
    console.log(
      `[measured] KIP-848 reassignment: ${windowEnd - joinStartedAt} ms from b's start to its first records; a's calls on kept partitions ` +
        `${JSON.stringify(kept)} in that window: ${JSON.stringify(perKept)}, longest pause ${longestKeptPause} ms; moved partitions ` +
        `${JSON.stringify(moved)} idle for ${JSON.stringify(handover.map((h) => h.firstB - h.lastA))} ms between a's last call and b's first`,
    );
    for (const count of perKept) expect(count).toBeGreaterThan(0);
    expect(longestKeptPause).toBeLessThan((windowEnd - joinStartedAt) / 2);
    for (const h of handover) expect(h.lastA).toBeLessThanOrEqual(h.firstB);
  }, 120_000);
});
