/** Assignors and the consumer protocol's embedded bytes (no broker). */
import { describe, expect, it } from "vitest";
import {
  cooperativeStickyAssignor, decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, ProtocolDecodeError, rangeAssignor, roundRobinAssignor,
  type GroupMemberSubscription,
} from "../../src/entry/node.ts";
import { Writer } from "../../src/protocol/codec/writer.ts";
import { seededRandom } from "../support/random.ts";

const member = (memberId: string, topics: string[], groupInstanceId: string | null = null, owned: string[] = [], generationId = -1): GroupMemberSubscription => ({
  memberId, groupInstanceId, subscription: { topics, userData: null, ownedPartitions: owned.map(parse), generationId, rackId: null },
});
function parse(name: string) {
  const at = name.lastIndexOf("-");
  return { topic: name.slice(0, at), partition: Number(name.slice(at + 1)) };
}
const names = (list: { topic: string; partition: number }[] | undefined) => (list ?? []).map((tp) => `${tp.topic}-${tp.partition}`);

describe("range assignor (Java RangeAssignor's split)", () => {
  it("gives each member a contiguous range per topic, the first members one extra", () => {
    const plan = rangeAssignor.assign([member("b", ["t1", "t2"]), member("a", ["t1", "t2"])], new Map([["t1", 3], ["t2", 5]]));
    expect(names(plan.get("a"))).toEqual(["t1-0", "t1-1", "t2-0", "t2-1", "t2-2"]);
    expect(names(plan.get("b"))).toEqual(["t1-2", "t2-3", "t2-4"]);
  });

  it("orders static members by instance id and skips topics a member did not subscribe to", () => {
    const plan = rangeAssignor.assign([member("m1", ["t1"], "z"), member("m2", ["t1", "t2"], "a")], new Map([["t1", 2], ["t2", 2]]));
    expect(names(plan.get("m2"))).toEqual(["t1-0", "t2-0", "t2-1"]);
    expect(names(plan.get("m1"))).toEqual(["t1-1"]);
  });
});

describe("roundrobin assignor (Java RoundRobinAssignor's deal)", () => {
  it("deals all partitions in topic, partition order", () => {
    const plan = roundRobinAssignor.assign([member("a", ["t1", "t2"]), member("b", ["t1", "t2"])], new Map([["t1", 3], ["t2", 3]]));
    expect(names(plan.get("a"))).toEqual(["t1-0", "t1-2", "t2-1"]);
    expect(names(plan.get("b"))).toEqual(["t1-1", "t2-0", "t2-2"]);
  });

  it("passes over members that do not subscribe to a topic", () => {
    const plan = roundRobinAssignor.assign([member("a", ["t1"]), member("b", ["t1", "t2"]), member("c", ["t2"])], new Map([["t1", 2], ["t2", 3]]));
    expect(names(plan.get("a"))).toEqual(["t1-0"]);
    expect(names(plan.get("b"))).toEqual(["t1-1", "t2-1"]);
    expect(names(plan.get("c"))).toEqual(["t2-0", "t2-2"]);
  });
});

describe("cooperative-sticky assignor (KIP-429)", () => {
  const six = new Map([["t", 6]]);

  it("keeps owned partitions; what moves to a new member waits a round, then arrives", () => {
    const round1 = cooperativeStickyAssignor.assign([
      member("a", ["t"], null, ["t-0", "t-1", "t-2"], 3), member("b", ["t"], null, ["t-3", "t-4", "t-5"], 3), member("c", ["t"]),
    ], six);
    expect(names(round1.get("a"))).toEqual(["t-0", "t-1"]);
    expect(names(round1.get("b"))).toEqual(["t-3", "t-4"]);
    expect(names(round1.get("c"))).toEqual([]);
    const round2 = cooperativeStickyAssignor.assign([
      member("a", ["t"], null, ["t-0", "t-1"], 4), member("b", ["t"], null, ["t-3", "t-4"], 4), member("c", ["t"], null, [], 4),
    ], six);
    expect(names(round2.get("a"))).toEqual(["t-0", "t-1"]);
    expect(names(round2.get("b"))).toEqual(["t-3", "t-4"]);
    expect(names(round2.get("c")).sort()).toEqual(["t-2", "t-5"]);
  });

  it("hands a departed member's partitions out at once, and lets the newest generation win a disputed claim", () => {
    const plan = cooperativeStickyAssignor.assign([member("a", ["t"], null, ["t-0", "t-1", "t-2"], 5)], six);
    expect(names(plan.get("a"))).toEqual(["t-0", "t-1", "t-2", "t-3", "t-4", "t-5"]);
    const disputed = cooperativeStickyAssignor.assign([member("zombie", ["t"], null, ["t-0", "t-1"], 2), member("live", ["t"], null, ["t-0"], 3)], new Map([["t", 2]]));
    expect(names(disputed.get("live"))).toEqual(["t-0"]);
    expect(names(disputed.get("zombie"))).toEqual(["t-1"]);
  });

  it("converges on random groups: never two owners, never a partition taken from its owner in one round, balanced in two rounds", () => {
    const random = seededRandom(429);
    for (let trial = 0; trial < 200; trial++) {
      const counts = new Map([["t", 1 + Math.floor(random() * 24)], ["u", 1 + Math.floor(random() * 8)]]);
      let owned = new Map<string, string[]>(Array.from({ length: 1 + Math.floor(random() * 5) }, (_, i) => [`m${i}`, []]));
      for (let round = 0; round < 6; round++) {
        // Members come and go between rounds.
        if (random() < 0.3) owned.set(`n${trial}-${round}`, []);
        if (random() < 0.2 && owned.size > 1) owned.delete([...owned.keys()][Math.floor(random() * owned.size)]!);
        const members = [...owned].map(([id, list]) => member(id, ["t", "u"], null, list, round));
        const plan = cooperativeStickyAssignor.assign(members, counts);
        const everything = [...plan.values()].flat().map((tp) => `${tp.topic}-${tp.partition}`);
        expect(new Set(everything).size).toBe(everything.length);
        for (const [id, list] of plan) {
          for (const tp of names(list)) {
            const previous = [...owned].find(([, l]) => l.includes(tp))?.[0];
            expect(previous === undefined || previous === id, `${tp} moved from ${previous} to ${id} in one round`).toBe(true);
          }
        }
        owned = new Map([...plan].map(([id, list]) => [id, names(list)]));
      }
      // Two quiet rounds: everything assigned, shares differ by at most one.
      for (let quiet = 0; quiet < 2; quiet++) {
        const plan = cooperativeStickyAssignor.assign([...owned].map(([id, list]) => member(id, ["t", "u"], null, list, 10 + quiet)), counts);
        owned = new Map([...plan].map(([id, list]) => [id, names(list)]));
      }
      const sizes = [...owned.values()].map((l) => l.length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(counts.get("t")! + counts.get("u")!);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });
});

describe("both assignors on random groups", () => {
  it("assign every partition exactly once, to a subscriber, evenly", () => {
    const random = seededRandom(848);
    for (let round = 0; round < 200; round++) {
      const topics = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) => `t${i}`);
      const counts = new Map(topics.map((t) => [t, 1 + Math.floor(random() * 20)]));
      const members = Array.from({ length: 1 + Math.floor(random() * 6) }, (_, i) => member(`m${i}-${Math.floor(random() * 1e6)}`, [...topics]));
      for (const assignor of [rangeAssignor, roundRobinAssignor]) {
        const plan = assignor.assign(members, counts);
        const all = [...plan.values()].flat().map((tp) => `${tp.topic}-${tp.partition}`);
        const expected = topics.flatMap((t) => Array.from({ length: counts.get(t)! }, (_, p) => `${t}-${p}`));
        expect(all.sort()).toEqual(expected.sort());
        if (assignor === roundRobinAssignor) {
          const sizes = [...plan.values()].map((l) => l.length);
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        }
      }
    }
  });
});

describe("consumer protocol bytes", () => {
  it("round-trips a subscription with owned partitions and an assignment with user data", () => {
    const subscription = { topics: ["a", "b"], userData: new Uint8Array([1, 2, 3]), ownedPartitions: [{ topic: "a", partition: 2 }, { topic: "b", partition: 0 }] };
    expect(decodeSubscription(encodeSubscription(subscription))).toEqual({ ...subscription, generationId: -1, rackId: null });
    const assignment = { partitions: [{ topic: "a", partition: 0 }, { topic: "a", partition: 3 }, { topic: "c", partition: 1 }], userData: new Uint8Array([9]) };
    expect(decodeAssignment(encodeAssignment(assignment))).toEqual(assignment);
    expect(decodeAssignment(new Uint8Array(0))).toEqual({ partitions: [], userData: null });
  });

  it("reads a version 3 subscription as Java writes it (generation and rack after the fields we write)", () => {
    const w = new Writer();
    w.int16(3);
    w.arrayLength(1, false);
    w.string("orders", false);
    w.bytes(null, false);
    w.arrayLength(1, false);
    w.string("orders", false);
    w.arrayLength(2, false);
    w.int32(0);
    w.int32(4);
    w.int32(7);
    w.string("rack-1", false);
    expect(decodeSubscription(w.finish())).toEqual({
      topics: ["orders"], userData: null, ownedPartitions: [{ topic: "orders", partition: 0 }, { topic: "orders", partition: 4 }], generationId: 7, rackId: "rack-1",
    });
  });

  it("rejects truncated bytes with a typed error", () => {
    const bytes = encodeAssignment({ partitions: [{ topic: "orders", partition: 1 }] });
    expect(() => decodeAssignment(bytes.subarray(0, bytes.length - 3))).toThrow(ProtocolDecodeError);
  });
});
