/**
 * A group's committed offsets, kept by its coordinator: OffsetFetch (where members start, what the
 * admin client and lag computations read) and OffsetCommit (what members have finished).
 */
import { tpKey, type Cluster, type TopicPartition } from "../client/cluster.ts";
import type { KafkaProtocolError } from "../errors.ts";
import { kafkaError } from "../protocol/error-codes.ts";
import { APIS } from "../protocol/generated/index.ts";

export interface GroupOffset extends TopicPartition {
  /** -1 when the group has no committed offset for the partition. */
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
  error: KafkaProtocolError | null;
}

export interface CommitContext {
  groupId: string;
  /** The generation (classic groups) or member epoch the commit is made in; -1 for no group membership. */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

/** Partitions grouped by topic, in first-seen order. */
export function groupByTopic(partitions: readonly TopicPartition[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = out.get(topic);
    if (list) list.push(partition);
    else out.set(topic, [partition]);
  }
  return out;
}

export function byTopicPartition(a: TopicPartition, b: TopicPartition): number {
  return a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1;
}

/**
 * The committed offsets of `partitions` (or of everything the group committed, for null), sorted.
 * `requireStable`: the coordinator waits out pending transactional commits instead of answering
 * with an offset that may still change (UNSTABLE_OFFSET_COMMIT is retried).
 */
export async function fetchCommittedOffsets(
  cluster: Cluster,
  groupId: string,
  partitions: readonly TopicPartition[] | null,
  options: { requireStable?: boolean } = {},
): Promise<GroupOffset[]> {
  const wanted = partitions && [...groupByTopic(partitions)].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  const requireStable = options.requireStable ?? false;
  const answer = await cluster.sendToCoordinator(
    groupId,
    APIS.OffsetFetch,
    (version) => (version >= 8 ? { groups: [{ groupId, topics: wanted }], requireStable } : { groupId, topics: wanted, requireStable }),
    {
      check: (r: { errorCode: number; groups: { errorCode: number }[] }) =>
        kafkaError(r.groups.length > 0 ? r.groups[0]!.errorCode : r.errorCode, { message: `group ${groupId}` }),
    },
  );
  const topics = answer.groups.length > 0 ? answer.groups[0]!.topics : answer.topics;
  const out: GroupOffset[] = [];
  for (const t of topics) {
    for (const p of t.partitions) {
      out.push({
        topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch,
        metadata: p.metadata, error: kafkaError(p.errorCode, { topic: t.name, partition: p.partitionIndex }),
      });
    }
  }
  return out.sort(byTopicPartition);
}

/** Commits `offsets` (one attempt; the caller decides when to try again). Returns each partition's error, keyed `topic:partition`. */
export async function commitOffsets(
  cluster: Cluster,
  context: CommitContext,
  offsets: readonly (TopicPartition & { offset: number })[],
  options: { timeoutMs?: number } = {},
): Promise<Map<string, KafkaProtocolError | null>> {
  const byTopic = new Map<string, { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }[]>();
  for (const o of offsets) {
    const list = byTopic.get(o.topic) ?? [];
    list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: null });
    byTopic.set(o.topic, list);
  }
  const answer = await cluster.sendToCoordinator(context.groupId, APIS.OffsetCommit, {
    groupId: context.groupId,
    generationIdOrMemberEpoch: context.generationId,
    memberId: context.memberId,
    groupInstanceId: context.groupInstanceId,
    retentionTimeMs: -1,
    topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
  }, { timeoutMs: options.timeoutMs, retry: false });
  const out = new Map<string, KafkaProtocolError | null>();
  for (const t of answer.topics) {
    for (const p of t.partitions) out.set(tpKey({ topic: t.name, partition: p.partitionIndex }), kafkaError(p.errorCode, { topic: t.name, partition: p.partitionIndex }));
  }
  return out;
}
