/**
 * Group consumers under stress, against the real broker on 127.0.0.1:9092, with each rebalance
 * protocol: classic eager (range), classic cooperative-sticky (KIP-429) and consumer (KIP-848).
 *
 * - churn: three members share a 12-partition topic while 200,000 keyed records are produced and
 *   one member leaves and a new one joins every 2–3 s. Every record must be handled at least once,
 *   each key's records first handled in the order they were produced (and, within one member's
 *   generation, each partition's offsets strictly increasing), and the group's committed offsets
 *   must end at the log end offsets.
 * - SIGKILL: a member in a child process (kill-member.ts) is killed in the middle of a handler
 *   call. Once its session expires the survivor (in this process) gets its partitions, starts at
 *   the dead member's last commit (which never passed a record the dead member had not handled,
 *   nor the call it was in) and handles everything after it; nothing is lost.
 * - SIGSTOP: the child is frozen mid-call past its session, the survivor takes over and finishes,
 *   then the child is thawed: it must report its partitions lost (not revoked), none of its commits
 *   may succeed before it notices, and the group's offsets stay at the log end.
 * - static membership (classic protocol): a child with a groupInstanceId is killed mid-call and
 *   restarted within its session: it gets the same partitions back without a rebalance (the other
 *   member sees no revocation or assignment) and resumes each at its last commit.
 *
 * The bookkeeping is compact (typed arrays per partition and per key, not one object per record),
 * and nothing asserts on timing: waits are bounded only so that a hang fails instead of blocking. */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  createAdmin, createGroupConsumer, createProducer, failed, partitionForKey,
  type GroupConsumer, type GroupConsumerOptions, type GroupEvent, type GroupNotification,
} from "../../src/entry/node.ts";
import { KAFKA_SCRIPT, REPO_ROOT } from "../support/kafka.ts";
import { runChecked } from "../support/process.ts";

const BROKERS = ["127.0.0.1:9092"];
const stamp = Date.now();
let serial = 0;
const unique = (what: string) => `tributary-resilience-${what}-${stamp}-${serial++}`;
const admin = createAdmin({ brokers: BROKERS, clientId: "tributary-resilience-test", retry: { deadlineMs: 20_000 } });
const consumers: GroupConsumer[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
const topics: string[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await Promise.all(consumers.map((c) => c.stop().catch(() => {})));
  await admin.deleteTopics(topics).catch(() => {});
  admin.close();
}, 60_000);

async function createTopic(numPartitions: number): Promise<string> {
  const topic = unique("topic");
  expect(failed(await admin.createTopics([{ topic, numPartitions, replicationFactor: 1 }]))).toEqual([]);
  topics.push(topic);
  return topic;
}

function member(topic: string, groupId: string, options: Partial<GroupConsumerOptions> = {}): GroupConsumer {
  const consumer = createGroupConsumer({
    brokers: BROKERS, clientId: "tributary-resilience-test", groupId, topics: [topic], beginOffset: "earliest",
    maxWaitMs: 100, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 15_000, heartbeatIntervalMs: 300, commitIntervalMs: 500,
    ...options,
  });
  consumers.push(consumer);
  return consumer;
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000, describeState?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describeState ? `: ${describeState()}` : ""}`);
    await sleep(25);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function committedOffsets(groupId: string, topic: string): Promise<Record<number, number>> {
  const offsets = await admin.fetchGroupOffsets(groupId, [topic]);
  return Object.fromEntries(offsets.filter((o) => o.offset >= 0).map((o) => [o.partition, o.offset]));
}

async function logEndOffsets(topic: string): Promise<Record<number, number>> {
  const offsets = await admin.listOffsets(topic, "latest");
  for (const o of offsets) expect(o.error).toBeNull();
  return Object.fromEntries(offsets.map((o) => [o.partition, o.offset]));
}

/** xorshift32: reproducible jitter for the churn schedule. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** Parses the ASCII decimal number in `bytes[from..to)` (-1 when there is none or a non-digit). */
function parseNumber(bytes: Uint8Array, from: number, to: number): number {
  if (from >= to) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const digit = bytes[i]! - 48;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n;
}

/**
 * What a group handled, kept compactly: per partition, how many times each offset was handled
 * (a growing Uint8Array, saturating at 255); per key, the sequence number of the last record
 * handled for the first time; per (member, generation, partition), the last offset handled.
 *
 * Records are keyed `k<key>` with the value `<key>:<sequence>`, the sequence counting that key's
 * records in the order they were produced (each partition's log holds them in that order).
 */
class HandledLog {
  readonly counts: Uint8Array[];
  readonly lastSeq: Int32Array;
  readonly lastOffset = new Map<string, number>();
  readonly problems: string[] = [];
  problemCount = 0;
  distinct = 0;
  redelivered = 0;
  readonly byMember = new Map<string, number>();

  /** `keyOrder` false: records may have been handled elsewhere first (another process), so per-key order is not checked. */
  private readonly keyOrder: boolean;

  constructor(partitions: number, keys: number, keyOrder = true) {
    this.keyOrder = keyOrder;
    this.counts = Array.from({ length: partitions }, () => new Uint8Array(1024));
    this.lastSeq = new Int32Array(keys).fill(-1);
  }

  private problem(text: string): void {
    this.problemCount++;
    if (this.problems.length < 20) this.problems.push(text);
  }

  handler(name: string) {
    return (n: GroupNotification) => {
      if (!("records" in n)) return;
      const run = `${name}|gen ${n.generationId}|p${n.partition}`;
      let last = this.lastOffset.get(run) ?? -1;
      const initial = this.counts[n.partition];
      if (!initial) {
        this.problem(`${run}: a record of partition ${n.partition}, which the topic does not have`);
        return;
      }
      let counts: Uint8Array = initial;
      for (const record of n.records) {
        const { offset, key, value } = record;
        if (offset <= last) this.problem(`${run}: offset ${offset} handled after ${last}`);
        last = offset;
        if (offset >= counts.length) {
          const grown = new Uint8Array(Math.max(counts.length * 2, offset + 1));
          grown.set(counts);
          this.counts[n.partition] = counts = grown;
        }
        if (counts[offset] === 0) {
          this.distinct++;
          const colon = value ? value.indexOf(58) : -1;
          const k = value ? parseNumber(value, 0, colon) : -1;
          const seq = value ? parseNumber(value, colon + 1, value.length) : -1;
          if (k < 0 || seq < 0 || k >= this.lastSeq.length || !key || key[0] !== 107 || parseNumber(key, 1, key.length) !== k) {
            this.problem(`${run}: offset ${offset} has an unexpected key or value`);
          } else if (this.keyOrder && seq !== this.lastSeq[k]! + 1) {
            this.problem(`${run}: offset ${offset} is record ${seq} of key ${k}, first handled after record ${this.lastSeq[k]}`);
          } else {
            this.lastSeq[k] = seq;
          }
        } else {
          this.redelivered++;
        }
        if (counts[offset]! < 255) counts[offset]!++;
      }
      this.lastOffset.set(run, last);
      this.byMember.set(name, (this.byMember.get(name) ?? 0) + n.records.length);
    };
  }

  /** Per partition, the offsets below `end` never handled (at most 10 listed) and any handled at or past it. */
  gaps(ends: Record<number, number>): string[] {
    const out: string[] = [];
    this.counts.forEach((counts, p) => {
      const end = ends[p] ?? 0;
      const missing: number[] = [];
      let missingCount = 0;
      for (let o = 0; o < end; o++) {
        if ((counts[o] ?? 0) === 0) {
          missingCount++;
          if (missing.length < 10) missing.push(o);
        }
      }
      if (missingCount > 0) out.push(`partition ${p}: ${missingCount} offsets below ${end} never handled, e.g. ${missing.join(", ")}`);
      for (let o = end; o < counts.length; o++) if (counts[o] !== 0) { out.push(`partition ${p}: offset ${o} handled, at or past the log end ${end}`); break; }
    });
    return out;
  }

  /** Distinct offsets handled in partition `p` */
  handledIn(p: number): number {
    let n = 0;
    for (const c of this.counts[p]!) if (c > 0) n++;
    return n;
  }
}

/** The rebalance protocols the scenarios run with. */
const VARIANTS: { name: string; options: Partial<GroupConsumerOptions> }[] = [
  { name: "classic protocol, eager range", options: {} },
  { name: "classic protocol, cooperative-sticky (KIP-429)", options: { assignors: ["cooperative-sticky"] } },
  { name: "consumer protocol (KIP-848)", options: { groupProtocol: "consumer" } },
];

/** Sets configs of a group (KIP-848 groups take their session timeout from them) with Kafka's own ConfigCommand. */
async function setGroupConfig(groupId: string, configs: Record<string, number>): Promise<void> {
  const list = Object.entries(configs).map(([k, v]) => `${k}=${v}`).join(",");
  await runChecked("ConfigCommand", "bash", [KAFKA_SCRIPT, "tool", "kafka.admin.ConfigCommand", "--bootstrap-server", BROKERS[0]!,
    "--alter", "--entity-type", "groups", "--entity-name", groupId, "--add-config", list]);
}

describe.each(VARIANTS)("group consumer resilience ($name)", (variant) => {
  it("3 members on a 12-partition topic while 200,000 keyed records are produced and members join and leave every few seconds: every record handled at least once, each key in order, commits end at the log end", async () => {
    const PARTITIONS = 12;
    const TOTAL = 200_000;
    const KEYS = 2_000;
    const CHUNK = 2_000;
    /** Production is spread over at least this long, so that the churn happens while it goes on. */
    const PRODUCE_SPREAD_MS = 20_000;
    const MIN_CHURNS = 5;
    const started = Date.now();
    const topic = await createTopic(PARTITIONS);
    const groupId = unique("churn");
    const log = new HandledLog(PARTITIONS, KEYS);
    const fatal: string[] = [];
    const events = { errors: 0, commitErrors: 0, commits: 0, lost: 0, revoked: 0, firstErrors: [] as string[] };
    const live: { name: string; consumer: GroupConsumer }[] = [];
    let named = 0;

    const start = () => {
      const index = named++;
      const name = `m${index}`;
      // Every other member gives its running calls only 50 ms to finish when it loses a partition
      // or stops: the rest of such a call is not acknowledged, so its records are handled again
      // by the next owner (at least once) while the cut call still runs on.
      const drainMs = index % 2 === 1 ? 50 : 5_000;
      const consumer = member(topic, groupId, { ...variant.options, drainMs, maxBatchSize: 200, prefetchCount: 1_000 });
      consumer.events.on((e: GroupEvent) => {
        if (e.type === "error") {
          events.errors++;
          if (events.firstErrors.length < 5) events.firstErrors.push(`${name}: ${String(e.error)}`);
        } else if (e.type === "commit") {
          if (e.error) events.commitErrors++;
          else events.commits++;
        } else if (e.type === "lost") events.lost++;
        else if (e.type === "revoked") events.revoked++;
      });
      // The handler takes 1.5 ms per record (a call of 200 records, 300 ms), so that the members
      // fall behind production a little: queues fill up (fetching pauses at 1,000 records per
      // partition), and revocations and stops find calls in flight.
      const handle = log.handler(name);
      consumer.run({ handler: async (n) => { if ("records" in n) await sleep(Math.ceil(n.records.length * 1.5)); handle(n); } }).catch((error: unknown) => fatal.push(`${name}: ${String(error)}`));
      live.push({ name, consumer });
    };

    for (let i = 0; i < 3; i++) start();
    await waitFor("the three members to share the 12 partitions", () =>
      live.every(({ consumer }) => consumer.assignment().length > 0) &&
      live.reduce((sum, { consumer }) => sum + consumer.assignment().length, 0) === PARTITIONS, 60_000);

    // Produce: chunks of 2,000 records, paced, each key's sequence counting up.
    const perKey = new Int32Array(KEYS);
    let produced = 0;
    const producing = (async () => {
      const producer = createProducer({ brokers: BROKERS, clientId: "tributary-resilience-producer", lingerMs: 5 });
      try {
        const t0 = Date.now();
        for (let chunk = 0; chunk * CHUNK < TOTAL; chunk++) {
          const due = t0 + (chunk * CHUNK * PRODUCE_SPREAD_MS) / TOTAL;
          if (Date.now() < due) await sleep(due - Date.now());
          const messages = Array.from({ length: Math.min(CHUNK, TOTAL - chunk * CHUNK) }, (_, i) => {
            const k = (chunk * CHUNK + i) * 7919 % KEYS; // every key, in a scrambled order
            return { key: `k${k}`, value: `${k}:${perKey[k]!++}` };
          });
          const sent = await producer.send({ topic, messages });
          for (const [i, m] of sent.entries()) {
            if (m.partition !== partitionForKey(messages[i]!.key, PARTITIONS)) throw new Error(`record ${messages[i]!.value} went to partition ${m.partition}`);
          }
          produced += sent.length;
        }
      } finally {
        await producer.close();
      }
    })();
    let productionDone = false;
    const production = producing.finally(() => (productionDone = true));
    production.catch(() => {});

    // Churn: every 2–3 s the oldest member leaves and a new one joins, at the same moment.
    const jitter = random(0x5eed_c0de);
    let churns = 0;
    while (!productionDone || churns < MIN_CHURNS) {
      await sleep(2_000 + Math.floor(jitter() * 1_000));
      const leaving = live.shift()!;
      start();
      await leaving.consumer.stop();
      churns++;
    }
    await production;
    expect(produced).toBe(TOTAL);
    const producedAt = Date.now();

    const ends = await logEndOffsets(topic);
    expect(Object.values(ends).reduce((a, b) => a + b, 0)).toBe(TOTAL);
    await waitFor("every record handled", () => log.distinct >= TOTAL || log.problemCount > 0 || fatal.length > 0, 90_000,
      () => `${log.distinct} of ${TOTAL} handled; ${JSON.stringify(live.map(({ name, consumer }) => [name, consumer.assignment().length]))}`);
    const handledAt = Date.now();
    await Promise.all(live.map(({ consumer }) => consumer.stop()));

    expect(fatal).toEqual([]);
    expect(log.problems, `${log.problemCount} ordering or content problems`).toEqual([]);
    expect(log.gaps(ends)).toEqual([]);
    expect(log.distinct).toBe(TOTAL);
    for (let p = 0; p < PARTITIONS; p++) expect(log.handledIn(p), `partition ${p}`).toBe(ends[p]);
    // Each key's records were all handled (the last one first handled is the last one produced).
    const unfinished = [...log.lastSeq].flatMap((seq, k) => (seq === perKey[k]! - 1 ? [] : [`key ${k}: ${seq + 1} of ${perKey[k]}`]));
    expect(unfinished.slice(0, 10)).toEqual([]);
    // The churn really happened, and the members that came and went handled records.
    expect(churns).toBeGreaterThanOrEqual(MIN_CHURNS);
    expect(log.byMember.size).toBeGreaterThan(3);
    expect(await committedOffsets(groupId, topic)).toEqual(ends);

    console.log(`[resilience/churn, ${variant.name}] ${TOTAL} records, ${churns} churns, ${named} members (${log.byMember.size} handled records), ` +
      `${log.redelivered} redelivered, commits ${events.commits} (errors ${events.commitErrors}), revoked ${events.revoked}, lost ${events.lost}, ` +
      `errors ${events.errors}${events.firstErrors.length ? ` ${JSON.stringify(events.firstErrors)}` : ""}; ` +
      `produced in ${producedAt - started} ms, all handled ${handledAt - producedAt} ms later, total ${Date.now() - started} ms`);
  }, 200_000);

  it("a member killed with SIGKILL mid-batch: its partitions move to the survivor, which starts at the dead member's last commit, and no record is lost", async () => {
    const started = Date.now();
    const pair = await childAndSurvivor(variant.options, "sigkill");
    const { child, survivor, log, topic, groupId } = pair;

    // Kill it in the middle of a call on one of its partitions, once it has committed one of them since sharing.
    const killed = await child.signalWhenMidCall("SIGKILL", pair.sharedAtLine, pair.survivorShare);
    expect(await child.exited).toEqual({ code: null, signal: "SIGKILL" });
    const { owned: childShare, inFlight } = killed;
    expect(childShare.length).toBeGreaterThan(0);
    expect(inFlight.length, "calls cut short by the kill").toBeGreaterThan(0);
    expect(child.problems).toEqual([]);

    // Nobody commits the dead member's partitions until its session expires: this is where the survivor must start.
    await sleep(500);
    const committedAtKill = await committedOffsets(groupId, topic);
    expectCommitsBehindChild(child, childShare, inFlight, committedAtKill);

    // More records while the dead member's session runs out.
    await pair.produce(1_000);
    const ends = await logEndOffsets(topic);
    expect(Object.values(ends).reduce((a, b) => a + b, 0)).toBe(pair.produced());
    await waitFor("the survivor to own every partition", () => survivor.assignment().length === SIGNAL_PARTITIONS, CHILD_SESSION_MS + 40_000,
      () => JSON.stringify(pair.survivorShare()));
    const takeover = pair.assignedEvents.at(-1)!;
    expect(takeover.generationId).toBeGreaterThan(pair.survivorGeneration);
    await waitFor("every record handled by the child or the survivor", () => pair.missing(ends) === 0 || log.problemCount > 0, 60_000, () => `${pair.missing(ends)} missing`);
    await survivor.stop();
    await pair.survivorRun;

    expect(pair.fatal).toEqual([]);
    expect(log.problems).toEqual([]);
    expectSurvivorFrom(log, childShare, committedAtKill, ends);
    expect(pair.missing(ends)).toBe(0);
    expect(await committedOffsets(groupId, topic)).toEqual(ends);
    const redelivered = inFlight.reduce((sum, c) => sum + c.handled, 0);
    console.log(`[resilience/sigkill, ${variant.name}] child had partitions ${childShare}, killed mid-call ` +
      `(${inFlight.map((c) => `p${c.partition}: ${c.handled} of ${c.last - c.first + 1} done`).join(", ")}; ${killed.handled} handled in all), ` +
      `committed then ${JSON.stringify(committedAtKill)}; the survivor took them over ${takeover.at - killed.at} ms after the kill, ` +
      `${redelivered}+ records handled twice; the child's error events: ${JSON.stringify(child.errors)}; total ${Date.now() - started} ms`);
  }, 150_000);

  it("a member frozen (SIGSTOP) past its session comes back (SIGCONT): its partitions were lost to the survivor, and its stale commits never move the group's offsets back", async () => {
    const started = Date.now();
    const pair = await childAndSurvivor(variant.options, "sigstop");
    const { child, survivor, log, topic, groupId } = pair;

    const frozen = await child.signalWhenMidCall("SIGSTOP", pair.sharedAtLine, pair.survivorShare);
    const { owned: childShare, inFlight } = frozen;
    expect(childShare.length).toBeGreaterThan(0);
    expect(inFlight.length).toBeGreaterThan(0);
    await sleep(500);
    const committedAtFreeze = await committedOffsets(groupId, topic);
    expectCommitsBehindChild(child, childShare, inFlight, committedAtFreeze);

    // Its session runs out while it is frozen: the survivor takes everything and finishes it.
    await pair.produce(1_000);
    const ends = await logEndOffsets(topic);
    await waitFor("the survivor to own every partition", () => survivor.assignment().length === SIGNAL_PARTITIONS, CHILD_SESSION_MS + 40_000,
      () => JSON.stringify(pair.survivorShare()));
    await waitFor("every record handled", () => pair.missing(ends) === 0 || log.problemCount > 0, 60_000, () => `${pair.missing(ends)} missing`);
    await waitFor("the survivor's commits to reach the log end", async () => {
      await survivor.commit().catch(() => {}); // a commit refused in a rebalance is tried again
      return JSON.stringify(await committedOffsets(groupId, topic)) === JSON.stringify(ends);
    }, 30_000);

    // Thaw it: it finds out it was left behind (its partitions are lost, not revoked), and nothing it commits counts.
    const thawedAtLine = child.lines;
    child.process.kill("SIGCONT");
    await waitFor("the thawed member to report its partitions lost", () => childShare.every((p) => child.lostAfter(thawedAtLine).has(p)), 30_000,
      () => `lines since thawing: ${JSON.stringify(child.log.slice(thawedAtLine).filter((l) => !l.startsWith("H ")))}`);
    const afterThaw = child.log.slice(thawedAtLine);
    const lostAt = afterThaw.findIndex((line) => line.startsWith("L "));
    // Between thawing and learning it lost them, no commit of its old partitions succeeded…
    const zombieCommits = afterThaw.slice(0, lostAt).filter((line) => line.startsWith("C ") && childShare.some((p) => new RegExp(`[ ,]${p}=`).test(line)));
    expect(zombieCommits).toEqual([]);
    expect(afterThaw.slice(0, lostAt).filter((line) => line.startsWith("V "))).toEqual([]);
    // …and the group's offsets are still the log end offsets.
    expect(await committedOffsets(groupId, topic)).toEqual(ends);

    // It rejoins; both stop (it is killed: a second loss must not matter either), and the offsets still end at the log end.
    child.process.kill("SIGKILL");
    await child.exited;
    await survivor.stop();
    await pair.survivorRun;
    expect(pair.fatal).toEqual([]);
    expect(log.problems).toEqual([]);
    expect(child.problems).toEqual([]);
    expectSurvivorFrom(log, childShare, committedAtFreeze, ends);
    expect(await committedOffsets(groupId, topic)).toEqual(ends);
    console.log(`[resilience/sigstop, ${variant.name}] child had partitions ${childShare}, frozen mid-call ` +
      `(${inFlight.map((c) => `p${c.partition}: ${c.handled} of ${c.last - c.first + 1} done`).join(", ")}), committed then ${JSON.stringify(committedAtFreeze)}; ` +
      `after thawing it handled ${afterThaw.slice(0, lostAt).filter((l) => l.startsWith("H ")).length} more records before it saw the loss ` +
      `(${afterThaw.filter((l) => l.startsWith("H ")).length} before it was killed); ` +
      `lines after thawing: ${JSON.stringify(afterThaw.filter((l) => !l.startsWith("H ")).slice(0, 12))}; total ${Date.now() - started} ms`);
  }, 150_000);
});

// Static membership: a crashed static member comes back within its session. The protocols differ:
// classic gives the restarted instance its partitions back; KIP-848 keeps the crashed member's
// instance id until its session expires. (Its graceful restart, leaving with epoch -2, is in
// group-consumer.test.ts.)
describe.each(VARIANTS)("group consumer resilience, static membership ($name)", (variant) => {
  if (variant.options.groupProtocol === "consumer") {
    it("KIP-848: a static member (groupInstanceId) killed with SIGKILL and restarted within its session is refused (UNRELEASED_INSTANCE_ID, fatal as in Java's consumer); when the session ends, the survivor takes its partitions from the last commit and nothing is lost", async () => {
      const SESSION_MS = 8_000;
      const instance = { groupInstanceId: `static-848-${stamp}-${serial}` };
      const pair = await childAndSurvivor(variant.options, "static848", { sessionMs: SESSION_MS, childOptions: instance });
      const { child, survivor, log, topic, groupId } = pair;
      const killed = await child.signalWhenMidCall("SIGKILL", pair.sharedAtLine, pair.survivorShare);
      await child.exited;
      const { owned: childShare, inFlight } = killed;
      await sleep(500);
      const committedAtKill = await committedOffsets(groupId, topic);
      expectCommitsBehindChild(child, childShare, inFlight, committedAtKill);

      // The same instance id, while the killed member's session runs: the coordinator refuses it.
      const restarted = new ChildMember(topic, groupId, { ...variant.options, ...instance, sessionTimeoutMs: SESSION_MS });
      const exit = await Promise.race([restarted.exited, sleep(SESSION_MS - 2_000).then(() => null)]);
      expect(exit, `the restarted instance is still running; its lines: ${JSON.stringify(restarted.log.slice(0, 10))}`).toEqual({ code: 1, signal: null });
      expect(restarted.stderr).toContain("UNRELEASED_INSTANCE_ID");
      expect(restarted.owned.size).toBe(0);

      // The session ends: the group moves the partitions to the survivor, from the last commit.
      await pair.produce(1_000);
      const ends = await logEndOffsets(topic);
      await waitFor("the survivor to own every partition", () => survivor.assignment().length === SIGNAL_PARTITIONS, SESSION_MS + 40_000,
        () => JSON.stringify(pair.survivorShare()));
      await waitFor("every record handled by the child or the survivor", () => pair.missing(ends) === 0 || log.problemCount > 0, 60_000, () => `${pair.missing(ends)} missing`);
      await survivor.stop();
      await pair.survivorRun;
      expect([pair.fatal, log.problems]).toEqual([[], []]);
      expectSurvivorFrom(log, childShare, committedAtKill, ends);
      expect(await committedOffsets(groupId, topic)).toEqual(ends);
    }, 150_000);
  } else {
    it("a static member (groupInstanceId) killed with SIGKILL and restarted within its session gets its partitions back, resumes at its last commit, and the other member is untouched", async () => {
      const started = Date.now();
      const SESSION_MS = 20_000; // room for a restart on a slow machine
      const instance = { groupInstanceId: `static-child-${stamp}-${serial}` };
      const pair = await childAndSurvivor(variant.options, "static", { sessionMs: SESSION_MS, childOptions: instance });
      const { child, survivor, log, topic, groupId } = pair;
      const survivorShare = pair.survivorShare().sort();
      const survivorEvents: string[] = [];
      survivor.events.on((e) => void ((e.type === "assigned" || e.type === "revoked" || e.type === "lost") && survivorEvents.push(`${e.type} ${e.partitions.map((tp) => tp.partition)}`)));

      const killed = await child.signalWhenMidCall("SIGKILL", pair.sharedAtLine, pair.survivorShare);
      await child.exited;
      const { owned: childShare, inFlight } = killed;
      expect(inFlight.length).toBeGreaterThan(0);
      await sleep(500);
      const committedAtKill = await committedOffsets(groupId, topic);
      expectCommitsBehindChild(child, childShare, inFlight, committedAtKill);

      // The same instance comes back: it is given what it had, and starts where it committed.
      const restarted = new ChildMember(topic, groupId, { ...variant.options, ...instance, sessionTimeoutMs: SESSION_MS });
      await pair.produce(1_000);
      const ends = await logEndOffsets(topic);
      await waitFor("the restarted instance to get partitions", () => restarted.owned.size > 0 || restarted.process.exitCode !== null, 60_000, () => `stderr: ${restarted.stderr}`);
      expect(restarted.process.exitCode, `the restarted instance exited: ${restarted.stderr}`).toBeNull();
      expect([...restarted.owned].sort()).toEqual(childShare);
      const missing = () => {
        let n = 0;
        for (const [p, end] of Object.entries(ends)) {
          const partition = Number(p);
          for (let o = 0; o < end; o++) {
            if (!child.handled[partition]!.has(o) && !restarted.handled[partition]!.has(o) && (log.counts[partition]![o] ?? 0) === 0) n++;
          }
        }
        return n;
      };
      await waitFor("every record handled", () => missing() === 0, 60_000, () => `${missing()} missing`);
      await waitFor("the commits to reach the log end", async () => {
        await survivor.commit().catch(() => {});
        return JSON.stringify(await committedOffsets(groupId, topic)) === JSON.stringify(ends);
      }, 30_000);

      // The other member never noticed: no rebalance at all (no revocation, no loss, no new assignment).
      expect(survivorEvents, `the restarted instance's lines: ${JSON.stringify(restarted.log.filter((l) => !/^[HBC] /.test(l)))}`).toEqual([]);
      expect(pair.survivorShare().sort()).toEqual(survivorShare);
      // Each of its partitions, the restarted instance started at the commit the killed one left.
      for (const p of childShare) {
        const first = restarted.log.find((line) => line.startsWith(`H ${p} `));
        expect(first, `partition ${p}`).toBe(`H ${p} ${committedAtKill[p] ?? 0}`);
        const gaps: number[] = [];
        for (let o = committedAtKill[p] ?? 0; o < ends[p]!; o++) if (!restarted.handled[p]!.has(o)) gaps.push(o);
        expect(gaps.slice(0, 10), `partition ${p}: records after the commit the restarted instance did not handle`).toEqual([]);
      }
      // And the survivor handled nothing of the killed instance's partitions.
      for (const p of childShare) expect(log.handledIn(p), `partition ${p}`).toBe(0);
      expect([child.problems, restarted.problems, pair.fatal, log.problems]).toEqual([[], [], [], []]);

      restarted.process.kill("SIGKILL");
      await restarted.exited;
      await survivor.stop();
      await pair.survivorRun;
      expect(await committedOffsets(groupId, topic)).toEqual(ends);
      console.log(`[resilience/static, ${variant.name}] instance had partitions ${childShare}, killed mid-call ` +
        `(${inFlight.map((c) => `p${c.partition}: ${c.handled} of ${c.last - c.first + 1} done`).join(", ")}), committed then ${JSON.stringify(committedAtKill)}; ` +
        `restarted, it had them back (survivor kept ${survivorShare}); its lines: ${JSON.stringify(restarted.log.filter((l) => !/^[HBC] /.test(l)).slice(0, 8))}; total ${Date.now() - started} ms`);
    }, 150_000);
  }
});

// -------------------------------------------------------------------------------------------------
// A member in a child process (kill-member.ts) and a survivor in this one.

const SIGNAL_PARTITIONS = 4;
const SIGNAL_KEYS = 400;
const CHILD_SESSION_MS = 6_000;

interface Call { partition: number; first: number; last: number; handled: number }
interface Snapshot { owned: number[]; inFlight: Call[]; handled: number; at: number }

/** Follows what a kill-member.ts child reports on stdout. */
class ChildMember {
  readonly process: ChildProcessWithoutNullStreams;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly handled: Set<number>[] = Array.from({ length: SIGNAL_PARTITIONS }, () => new Set());
  readonly problems: string[] = [];
  /** Error events (a commit refused while a rebalance moves the generation on, say): reported, not failures. */
  readonly errors: string[] = [];
  /** Every line, in order. */
  readonly log: string[] = [];
  /** The latest call per partition. */
  readonly calls = new Map<number, Call>();
  /** What the child owns: assigned minus revoked and lost. */
  readonly owned = new Set<number>();
  readonly commits: { line: number; offsets: Map<number, number> }[] = [];
  stderr = "";
  private trigger: (() => void) | undefined;

  constructor(topic: string, groupId: string, options: Partial<GroupConsumerOptions>) {
    this.process = spawn(join(REPO_ROOT, "node_modules/node24/bin/node"), [
      join(REPO_ROOT, "test/group/kill-member.ts"), BROKERS[0]!, topic, groupId, JSON.stringify(options),
    ], { cwd: REPO_ROOT });
    children.push(this.process);
    this.exited = new Promise((resolve) => this.process.once("exit", (code, signal) => resolve({ code, signal })));
    this.process.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    let pending = "";
    this.process.stdout.on("data", (chunk: Buffer) => {
      const text = (pending + chunk.toString()).split("\n");
      pending = text.pop()!;
      for (const line of text) if (line !== "") this.onLine(line);
    });
  }

  /** Lines received so far. */
  get lines(): number {
    return this.log.length;
  }

  /** Partitions reported lost at or after line `from`. */
  lostAfter(from: number): Set<number> {
    return new Set(this.log.slice(from).filter((l) => l.startsWith("L ")).flatMap((l) => l.split(" ")[2]!.split(",").map(Number)));
  }

  /**
   * Sends `signal` as soon as the child is in the middle of a call on a partition it owns, has
   * committed one of its partitions after line `sinceLine`, and owns with the survivor every partition.
   */
  signalWhenMidCall(signal: NodeJS.Signals, sinceLine: number, survivorShare: () => number[]): Promise<Snapshot> {
    return new Promise<Snapshot>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the child was never in the right state for ${signal}: owned ${JSON.stringify([...this.owned])}, ` +
        `commits ${this.commits.length}, calls ${JSON.stringify([...this.calls.values()])}`)), 60_000);
      this.trigger = () => {
        const committed = this.commits.some((c) => c.line > sinceLine && [...this.owned].some((p) => (c.offsets.get(p) ?? 0) > 0));
        const inCall = [...this.calls.values()].some((c) => this.owned.has(c.partition) && c.handled > 0 && c.first + c.handled <= c.last);
        if (!committed || !inCall || this.owned.size + survivorShare().length !== SIGNAL_PARTITIONS) return;
        this.process.kill(signal);
        this.trigger = undefined;
        clearTimeout(timer);
        resolve({
          owned: [...this.owned].sort(),
          inFlight: [...this.calls.values()].filter((c) => this.owned.has(c.partition) && c.first + c.handled <= c.last).map((c) => ({ ...c })),
          handled: this.handled.reduce((sum, s) => sum + s.size, 0),
          at: Date.now(),
        });
      };
    });
  }

  private onLine(line: string): void {
    const [type, ...rest] = line.split(" ");
    this.log.push(line);
    const partitions = () => (rest[1] === "-" ? [] : rest[1]!.split(",").map(Number));
    if (type === "A") for (const p of partitions()) this.owned.add(p);
    else if (type === "V" || type === "L") for (const p of partitions()) this.owned.delete(p);
    else if (type === "B") this.calls.set(Number(rest[1]), { partition: Number(rest[1]), first: Number(rest[2]), last: Number(rest[3]), handled: 0 });
    else if (type === "H") {
      const [p, offset] = rest.map(Number) as [number, number];
      const call = this.calls.get(p);
      if (!call || offset < call.first || offset > call.last) this.problems.push(`H ${p} ${offset} outside the call ${JSON.stringify(call)}`);
      else if (offset !== call.first + call.handled) this.problems.push(`H ${p} ${offset} out of order in ${JSON.stringify(call)}`);
      else call.handled++;
      this.handled[p]!.add(offset);
    } else if (type === "C") {
      this.commits.push({ line: this.log.length, offsets: new Map(rest[1]!.split(",").map((pair) => pair.split("=").map(Number) as [number, number])) });
    } else if (type === "E") this.errors.push(line.slice(2));
    this.trigger?.();
  }
}

/**
 * A topic with 6,000 keyed records, a child member that takes every partition and starts on
 * them slowly, then a survivor in this process that joins: returns once the two share the partitions.
 */
async function childAndSurvivor(options: Partial<GroupConsumerOptions>, label: string, { sessionMs = CHILD_SESSION_MS, childOptions = {} as Partial<GroupConsumerOptions> } = {}) {
  const topic = await createTopic(SIGNAL_PARTITIONS);
  const groupId = unique(label);
  // KIP-848: the session timeout is the group's (a group config), not the member's.
  if (options.groupProtocol === "consumer") await setGroupConfig(groupId, { "consumer.session.timeout.ms": sessionMs });
  const perKey = new Int32Array(SIGNAL_KEYS);
  let produced = 0;
  const produce = async (count: number) => {
    const producer = createProducer({ brokers: BROKERS, clientId: "tributary-resilience-producer", lingerMs: 5 });
    const messages = Array.from({ length: count }, (_, i) => {
      const k = i % SIGNAL_KEYS;
      return { key: `k${k}`, value: `${k}:${perKey[k]!++}` };
    });
    produced += (await producer.send({ topic, messages })).length;
    await producer.close();
  };
  await produce(6_000);

  const child = new ChildMember(topic, groupId, { ...options, ...childOptions, sessionTimeoutMs: sessionMs });
  await waitFor("the child to get every partition and handle records", () => child.owned.size === SIGNAL_PARTITIONS && child.handled.some((s) => s.size > 0),
    60_000, () => `owned ${JSON.stringify([...child.owned])}; stderr: ${child.stderr}`);

  const log = new HandledLog(SIGNAL_PARTITIONS, SIGNAL_KEYS, false);
  const survivor = member(topic, groupId, { ...options, sessionTimeoutMs: 10_000 });
  const assignedEvents: { generationId: number; partitions: number[]; at: number }[] = [];
  survivor.events.on((e) => void (e.type === "assigned" && assignedEvents.push({ generationId: e.generationId, partitions: e.partitions.map((tp) => tp.partition), at: e.at })));
  const fatal: string[] = [];
  const survivorRun = survivor.run({ handler: log.handler("survivor") }).catch((error: unknown) => void fatal.push(String(error)));
  const survivorShare = () => survivor.assignment().map((tp) => tp.partition);
  await waitFor("the survivor and the child to share the partitions", () => {
    const share = survivorShare();
    return share.length > 0 && child.owned.size > 0 && new Set([...child.owned, ...share]).size === SIGNAL_PARTITIONS && child.owned.size + share.length === SIGNAL_PARTITIONS;
  }, 60_000, () => `child ${JSON.stringify([...child.owned])}, survivor ${JSON.stringify(survivorShare())}`);

  return {
    topic, groupId, child, survivor, log, assignedEvents, fatal, survivorRun, survivorShare, produce,
    produced: () => produced,
    sharedAtLine: child.lines,
    survivorGeneration: survivor.generationId,
    /** Offsets below the log ends that neither the child nor the survivor handled. */
    missing(ends: Record<number, number>): number {
      let n = 0;
      for (const [p, end] of Object.entries(ends)) {
        for (let o = 0; o < end; o++) if (!child.handled[Number(p)]!.has(o) && (log.counts[Number(p)]![o] ?? 0) === 0) n++;
      }
      return n;
    },
  };
}

/** Below the group's commit, the child handled every record of its partitions; the calls it was in were not committed. */
function expectCommitsBehindChild(child: ChildMember, share: number[], inFlight: Call[], committed: Record<number, number>): void {
  for (const p of share) {
    const at = committed[p] ?? 0;
    const unhandled = Array.from({ length: at }, (_, o) => o).filter((o) => !child.handled[p]!.has(o));
    expect(unhandled.slice(0, 10), `partition ${p}: committed ${at}, records below it the child never handled`).toEqual([]);
  }
  for (const call of inFlight) expect(committed[call.partition] ?? 0, `partition ${call.partition}`).toBeLessThanOrEqual(call.first);
}

/** The survivor started the child's partitions at the commit it found and handled everything from there to the log end. */
function expectSurvivorFrom(log: HandledLog, share: number[], committed: Record<number, number>, ends: Record<number, number>): void {
  for (const p of share) {
    const from = committed[p] ?? 0;
    let firstOffset = -1;
    for (let o = 0; o < log.counts[p]!.length; o++) if (log.counts[p]![o]! > 0) { firstOffset = o; break; }
    expect(firstOffset, `partition ${p}: the survivor's first record`).toBe(from);
    const gaps: number[] = [];
    for (let o = from; o < ends[p]!; o++) if ((log.counts[p]![o] ?? 0) === 0) gaps.push(o);
    expect(gaps.slice(0, 10), `partition ${p}: records after the commit the survivor did not handle`).toEqual([]);
  }
}
