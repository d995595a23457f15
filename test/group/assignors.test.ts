/** Assignors and the consumer protocol's embedded bytes (no broker). */
import { describe, expect, it } from "vitest";
import {
  decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, ProtocolDecodeError, rangeAssignor, roundRobinAssignor,
  type GroupMemberSubscription,
} from "../../src/entry/node.ts";
import { Writer } from "../../src/protocol/codec/writer.ts";
import { seededRandom } from "../support/random.ts";

const member = (memberId: string, topics: string[], groupInstanceId: string | null = null): GroupMemberSubscription => ({
  memberId, groupInstanceId, subscription: { topics, userData: null, ownedPartitions: [], generationId: -1, rackId: null },
});
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
