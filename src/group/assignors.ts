/**
 * Partition assignors for classic consumer groups. The group leader runs one (the protocol every
 * member supports that comes first in the leader's list) over every member's subscription and
 * sends each member its share through SyncGroup.
 *
 * `range` and `roundrobin` do what Kafka's Java RangeAssignor and RoundRobinAssignor do, so a
 * group mixing Tributary and Java members agrees on who gets what. Members are ordered by their
 * static instance id when they have one (a restarted static member gets its partitions back), by
 * member id otherwise.
 */
import type { TopicPartition } from "../client/cluster.ts";
import type { Subscription } from "./consumer-protocol.ts";

export interface GroupMemberSubscription {
  memberId: string;
  groupInstanceId: string | null;
  subscription: Subscription;
}

/** A custom assignor: a name the members agree on and a pure function. */
export interface Assignor {
  /** The protocol name in JoinGroup, e.g. "range". Every member of a group must offer it. */
  readonly name: string;
  /**
   * Member id → its partitions. `partitionsPerTopic` has every topic some member subscribes to
   * (topics that do not exist are absent). Members left out of the result get nothing.
   */
  assign(members: readonly GroupMemberSubscription[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]>;
}

export type AssignorName = "range" | "roundrobin";

const sortKey = (m: GroupMemberSubscription) => m.groupInstanceId ?? m.memberId;
const byKey = (a: GroupMemberSubscription, b: GroupMemberSubscription) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0);

function emptyResult(members: readonly GroupMemberSubscription[]): Map<string, TopicPartition[]> {
  return new Map(members.map((m) => [m.memberId, []]));
}

/** Per topic: its partitions split into contiguous ranges, the first members getting one extra. */
export const rangeAssignor: Assignor = {
  name: "range",
  assign(members, partitionsPerTopic) {
    const result = emptyResult(members);
    const topics = [...partitionsPerTopic.keys()].sort();
    for (const topic of topics) {
      const count = partitionsPerTopic.get(topic)!;
      const subscribers = members.filter((m) => m.subscription.topics.includes(topic)).sort(byKey);
      if (subscribers.length === 0) continue;
      const base = Math.floor(count / subscribers.length);
      const extra = count % subscribers.length;
      let next = 0;
      subscribers.forEach((member, i) => {
        const size = base + (i < extra ? 1 : 0);
        for (let p = next; p < next + size; p++) result.get(member.memberId)!.push({ topic, partition: p });
        next += size;
      });
    }
    return result;
  },
};

/** Every partition of every topic, in topic then partition order, dealt to the members in turn (skipping members not subscribed). */
export const roundRobinAssignor: Assignor = {
  name: "roundrobin",
  assign(members, partitionsPerTopic) {
    const result = emptyResult(members);
    const sorted = [...members].sort(byKey);
    if (sorted.length === 0) return result;
    let turn = 0;
    for (const topic of [...partitionsPerTopic.keys()].sort()) {
      if (!sorted.some((m) => m.subscription.topics.includes(topic))) continue;
      for (let partition = 0; partition < partitionsPerTopic.get(topic)!; partition++) {
        while (!sorted[turn % sorted.length]!.subscription.topics.includes(topic)) turn++;
        result.get(sorted[turn % sorted.length]!.memberId)!.push({ topic, partition });
        turn++;
      }
    }
    return result;
  },
};

const BUILT_IN: Record<AssignorName, Assignor> = { range: rangeAssignor, roundrobin: roundRobinAssignor };

export function resolveAssignors(assignors: readonly (AssignorName | Assignor)[] | undefined): Assignor[] {
  const list = (assignors ?? ["range"]).map((a) => {
    if (typeof a !== "string") return a;
    const found = BUILT_IN[a];
    if (!found) throw new TypeError(`unknown assignor ${JSON.stringify(a)}: use ${Object.keys(BUILT_IN).join(", ")} or an Assignor object`);
    return found;
  });
  if (list.length === 0) throw new TypeError("at least one assignor is needed");
  return list;
}
