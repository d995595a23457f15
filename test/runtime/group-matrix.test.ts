/**
 * The runtime group matrix: the same consumer-group scenario (group-suite.js) runs in Node 20 and
 * 24, Bun, Deno (installed from npm, and from source as JSR serves it; --allow-net to the broker
 * only) and workerd (a Worker whose sockets are cloudflare:sockets ones), each importing the
 * package as its users do. Inside each runtime two members of one group share a 6-partition topic
 * while keyed records are produced; the runtime reports facts, and they must equal what this
 * process computes from the same generator: where each key lands (Kafka's murmur2, computed
 * here), each partition's log end offset, the SHA-256 of the values handled at each partition's
 * offsets in order (node:crypto here, Web Crypto there) and the group's committed offsets.
 * From here, the admin client then sees the group empty: both members left. Then, in each runtime,
 * a member of a second group reads the topic again with KIP-848's consumer protocol, manual acks
 * (one with a stale generation, which must be dropped and counted) and the "skip" error policy for
 * a call that always fails; its commits must reach the log end too.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { partitionForKey } from "../../src/entry/node.ts";
import { SINGLE_BROKER } from "../support/kafka.ts";
import { bin, brokerSide, consumerProject, denoRun, runJson, RUNTIME_DIR as here, workerdTest } from "./runtimes.ts";
import { generateGroupRecords, GROUP_PARTITIONS } from "./group-suite.js";

const { host, port } = SINGLE_BROKER;
const SEED = 0x6b1d_4e2f;
const CASE_TIMEOUT_MS = 100_000;

/** What `runGroupSuite` reports (group-suite.js). */
interface GroupSuite {
  runtime: string;
  topic: string;
  groupId: string;
  error: string | null;
  problems?: string[];
  cleanupErrors: string[];
  created: { error: string | null; numPartitions: number } | null;
  produced: number;
  producedPerPartition: number[];
  shares: { a: number[]; b: number[]; sameGeneration: boolean } | null;
  handledBy: { a: number; b: number };
  handledDistinct: number;
  redelivered: number;
  partitionDigests: string[];
  partitionKeys: string[][];
  committed: (number | null)[] | null;
  logEnd: (number | null)[] | null;
  checks: Record<string, boolean>;
  membersStopped: boolean;
  kip848: { staleAcks: number; staleAckAccepted: boolean | null; poisonAttempts: number; poisonCallSize: number; skipped: number; done: number; committed: (number | null)[] | null } | null;
  deleted: boolean;
  closed: boolean;
  durationMs: number;
}

const { admin, track } = brokerSide("tributary-group-matrix");
const stamp = Date.now().toString(36);
function names(label: string): { topic: string; groupId: string } {
  const suffix = `${label}-${stamp}-${Math.floor(Math.random() * 1e6)}`;
  return { topic: track(`tributary-group-matrix-${suffix}`), groupId: `tributary-group-matrix-group-${suffix}` };
}

/** What every runtime must report for `generateGroupRecords(SEED)`, computed here. */
function expected() {
  const records = generateGroupRecords(SEED);
  const perPartition: string[][] = Array.from({ length: GROUP_PARTITIONS }, () => []);
  for (const r of records) perPartition[partitionForKey(r.key, GROUP_PARTITIONS)]!.push(r.value);
  return {
    count: records.length,
    ends: perPartition.map((values) => values.length),
    digests: perPartition.map((values) => createHash("sha256").update(values.join("\n")).digest("hex")),
    keys: perPartition.map((values) => [...new Set(values.map((v) => v.split(":")[0]!))].sort()),
  };
}

async function expectGroupSuitePassed(result: GroupSuite, runtimePrefix: string) {
  const want = expected();
  const { runtime } = result;
  expect(runtime.startsWith(runtimePrefix), runtime).toBe(true);
  expect({ error: result.error, problems: result.problems ?? [] }, `${runtime}: the suite failed`).toEqual({ error: null, problems: [] });
  expect(result.cleanupErrors, `${runtime}: stopping, closing or deleting failed`).toEqual([]);
  // The generator makes every partition hold records (so both members have work).
  expect(want.ends.every((n) => n > 0)).toBe(true);

  expect(result.created).toEqual({ error: null, numPartitions: GROUP_PARTITIONS });
  expect(result.produced).toBe(want.count);
  expect(result.producedPerPartition, "the producer's partitions differ from murmur2's").toEqual(want.ends);

  // Both members were in the group at once, in one generation, with disjoint non-empty shares of every partition.
  const shares = result.shares!;
  expect(shares.sameGeneration).toBe(true);
  expect(shares.a.length).toBeGreaterThan(0);
  expect(shares.b.length).toBeGreaterThan(0);
  expect([...shares.a, ...shares.b].sort((x, y) => x - y)).toEqual(Array.from({ length: GROUP_PARTITIONS }, (_, p) => p));

  // Every record handled (at least once), each partition's values in offset order as produced.
  expect(result.handledDistinct).toBe(want.count);
  expect(result.handledBy.a).toBeGreaterThan(0);
  expect(result.handledBy.b).toBeGreaterThan(0);
  expect(result.handledBy.a + result.handledBy.b).toBe(want.count + result.redelivered);
  expect(result.partitionKeys, "keys handled in a partition murmur2 does not put them in").toEqual(want.keys);
  expect(result.partitionDigests, "what was handled at each partition's offsets is not what was produced there, in order").toEqual(want.digests);

  // After both members stopped: the log ends where the generator says, and the group committed exactly that.
  expect(result.logEnd).toEqual(want.ends);
  expect(result.committed).toEqual(want.ends);
  expect(result.checks).toEqual({
    noProblems: true,
    everyRecordHandled: true,
    offsetsContiguous: true,
    bothMembersHandled: true,
    sharesDisjoint: true,
    committedIsLogEnd: true,
    kip848CommittedIsLogEnd: true,
    kip848StaleAckDropped: true,
    kip848PoisonSkipped: true,
    kip848EveryRecordDone: true,
  });
  // The KIP-848 member with manual acks: everything acknowledged or skipped, committed to the log end.
  expect(result.kip848).toMatchObject({ staleAcks: 1, staleAckAccepted: false, poisonAttempts: 2, committed: want.ends });
  expect(result.kip848!.skipped).toBe(result.kip848!.poisonCallSize);
  expect(result.kip848!.skipped).toBeGreaterThan(0);
  expect({ membersStopped: result.membersStopped, deleted: result.deleted, closed: result.closed }).toEqual({ membersStopped: true, deleted: true, closed: true });

  // From here: both members left the group (LeaveGroup), so it is empty; so is the KIP-848 group.
  const [group, kip848] = await admin.describeGroups([result.groupId, `${result.groupId}-kip848`]);
  expect(group?.error ?? null).toBeNull();
  expect({ state: group?.state, members: group?.members.length }).toEqual({ state: "Empty", members: 0 });
  expect(kip848?.error ?? null).toBeNull();
  expect({ type: kip848?.groupType, state: kip848?.state, members: kip848?.members.length }).toEqual({ type: "consumer", state: "Empty", members: 0 });
}

describe("runtime group matrix (two members of one group share a topic, against the real broker)", () => {
  const consumer = consumerProject(["run-group.js", "group-suite.js", "client-suite.js"]);
  const runner = join(consumer, "run-group.js");
  const suite = (command: string, args: string[]) => runJson<GroupSuite>(command, args, { timeoutMs: 90_000 });
  const target = ({ topic, groupId }: { topic: string; groupId: string }) => [host, String(port), topic, groupId, String(SEED)];

  it("Node 20 (node:net)", async () => {
    await expectGroupSuitePassed(await suite(bin("node20/bin/node"), [runner, ...target(names("node20"))]), "node v20.");
  }, CASE_TIMEOUT_MS);

  it("Node 24 (node:net)", async () => {
    await expectGroupSuitePassed(await suite(bin("node24/bin/node"), [runner, ...target(names("node24"))]), "node v24.");
  }, CASE_TIMEOUT_MS);

  it("Bun (Bun.connect, through the bun export condition)", async () => {
    await expectGroupSuitePassed(await suite(bin(".bin/bun"), [runner, ...target(names("bun"))]), "bun ");
  }, CASE_TIMEOUT_MS);

  it("Deno, installed as an npm package (Deno.connect), --allow-net to the broker only", async () => {
    const args = denoRun(runner, target(names("deno")), { allowNet: `${host}:${port}`, config: join(consumer, "deno.json") });
    await expectGroupSuitePassed(await suite(bin(".bin/deno"), args), "deno ");
  }, CASE_TIMEOUT_MS);

  it("Deno, from source as JSR serves it (deno.json), --allow-net to the broker only", async () => {
    const args = denoRun(join(here, "run-group.js"), target(names("deno-jsr")), { allowNet: `${host}:${port}` });
    await expectGroupSuitePassed(await suite(bin(".bin/deno"), args), "deno ");
  }, CASE_TIMEOUT_MS);

  it("workerd: a worker runs the same scenario through cloudflare:sockets", async () => {
    const { topic, groupId } = names("workerd");
    const bindings = { KAFKA_HOST: host, KAFKA_PORT: String(port), TOPIC: topic, GROUP: groupId, SEED: String(SEED) };
    const args = workerdTest({ runners: ["run-group-workerd.js", "group-suite.js", "client-suite.js"], bindings, network: true });
    await expectGroupSuitePassed(await suite(bin(".bin/workerd"), args), "workerd ");
  }, CASE_TIMEOUT_MS);
});
