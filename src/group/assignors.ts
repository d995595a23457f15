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
   * "eager" (default): members give up every partition before each rebalance. "cooperative"
   * (KIP-429): members keep their partitions through the rebalance and give up only those the
   * assignment moves; the assignor must then not hand a partition to its new owner in the same
   * rebalance (the old owner revokes it first, and a second rebalance moves it).
   */
  readonly protocol?: "eager" | "cooperative";
  /**
   * Member id → its partitions. `partitionsPerTopic` has every topic some member subscribes to
   * (topics that do not exist are absent). Members left out of the result get nothing.
   */
  assign(members: readonly GroupMemberSubscription[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]>;
}

export type AssignorName = "range" | "roundrobin" | "cooperative-sticky";

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

/**
 * Sticky and balanced, for incremental rebalancing (KIP-429): every member keeps what it owned
 * (its claim checked: still subscribed, the partition exists, not claimed by a member of a newer
 * generation), members above their fair share give up their highest partitions, and free
 * partitions go to the subscribed member with the fewest. A partition that changes owner is left
 * out of this round: its old owner revokes it, rejoins, and the next round gives it away.
 */
export const cooperativeStickyAssignor: Assignor = {
  name: "cooperative-sticky",
  protocol: "cooperative",
  assign(members, partitionsPerTopic) {
    const result = emptyResult(members);
    const sorted = [...members].sort(byKey);
    const subscribes = (m: GroupMemberSubscription, topic: string) => m.subscription.topics.includes(topic);
    const tpName = (topic: string, partition: number) => `${topic}\u0000${partition}`;

    // Claims, newest generation first: a zombie's stale claim loses to the current owner's.
    const previousOwner = new Map<string, string>();
    const byGeneration = [...sorted].sort((a, b) => b.subscription.generationId - a.subscription.generationId);
    for (const m of byGeneration) {
      for (const { topic, partition } of m.subscription.ownedPartitions) {
        const count = partitionsPerTopic.get(topic) ?? 0;
        const name = tpName(topic, partition);
        if (!subscribes(m, topic) || partition >= count || previousOwner.has(name)) continue;
        previousOwner.set(name, m.memberId);
        result.get(m.memberId)!.push({ topic, partition });
      }
    }

    // Fair shares over the members that subscribe to something: the members owning most keep the larger shares.
    const active = sorted.filter((m) => m.subscription.topics.some((t) => partitionsPerTopic.has(t)));
    let total = 0;
    for (const [topic, count] of partitionsPerTopic) if (active.some((m) => subscribes(m, topic))) total += count;
    const free: TopicPartition[] = [];
    if (active.length > 0) {
      const floor = Math.floor(total / active.length);
      let larger = total % active.length;
      const byOwned = [...active].sort((a, b) => result.get(b.memberId)!.length - result.get(a.memberId)!.length);
      for (const m of byOwned) {
        const owned = result.get(m.memberId)!;
        const share = floor + (larger > 0 && owned.length > floor ? 1 : 0);
        if (share > floor) larger--;
        if (owned.length > share) {
          owned.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
          free.push(...owned.splice(share));
        }
      }
    }
    for (const topic of [...partitionsPerTopic.keys()].sort()) {
      for (let partition = 0; partition < partitionsPerTopic.get(topic)!; partition++) {
        if (!previousOwner.has(tpName(topic, partition))) free.push({ topic, partition });
      }
    }

    // Free partitions to the subscribed member with the fewest (ties: member order).
    const handedOut = new Map<string, string>();
    for (const tp of free) {
      let best: GroupMemberSubscription | undefined;
      for (const m of active) {
        if (!subscribes(m, tp.topic)) continue;
        if (!best || result.get(m.memberId)!.length < result.get(best.memberId)!.length) best = m;
      }
      if (!best) continue;
      result.get(best.memberId)!.push(tp);
      handedOut.set(tpName(tp.topic, tp.partition), best.memberId);
    }

    // Cooperative: what changes owner waits for the next round (its owner revokes it first).
    for (const [name, owner] of handedOut) {
      const previous = previousOwner.get(name);
      if (previous === undefined || previous === owner || !result.has(previous)) continue;
      const list = result.get(owner)!;
      const index = list.findIndex((tp) => tpName(tp.topic, tp.partition) === name);
      list.splice(index, 1);
    }
    return result;
  },
};

const BUILT_IN: Record<AssignorName, Assignor> = { range: rangeAssignor, roundrobin: roundRobinAssignor, "cooperative-sticky": cooperativeStickyAssignor };

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
