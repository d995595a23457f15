/**
 * The "consumer" embedded protocol: what members of a classic consumer group put in JoinGroup's
 * protocol metadata (a subscription) and what the leader hands out through SyncGroup (an
 * assignment). Kafka's own tools decode these bytes (`kafka-consumer-groups --describe` shows the
 * assignment), so the layout is Kafka's ConsumerProtocolSubscription / ConsumerProtocolAssignment,
 * non-flexible: int16 version first, int16-length strings, int32-length arrays and bytes.
 *
 * We write subscription version 2 (topics, user data, owned partitions and the generation they
 * were owned in — what cooperative rebalancing needs) and assignment version 0 (every version has the same fields). We read any
 * version: fields a newer version adds come after the ones we know, so they are left unread.
 */
import type { TopicPartition } from "../client/cluster.ts";
import { Reader } from "../protocol/codec/reader.ts";
import { Writer } from "../protocol/codec/writer.ts";

export const CONSUMER_PROTOCOL_TYPE = "consumer";

export interface Subscription {
  topics: string[];
  userData: Uint8Array | null;
  /** Partitions the member owns now (version 1+); empty for eager assignors. */
  ownedPartitions: TopicPartition[];
  /** Version 2+ (absent: -1). */
  generationId: number;
  /** Version 3+. */
  rackId: string | null;
}

export interface MemberAssignment {
  partitions: TopicPartition[];
  userData: Uint8Array | null;
}

const SUBSCRIPTION_VERSION = 2;
const ASSIGNMENT_VERSION = 0;

export function encodeSubscription(subscription: Pick<Subscription, "topics"> & Partial<Subscription>): Uint8Array {
  const w = new Writer();
  w.int16(SUBSCRIPTION_VERSION);
  w.arrayLength(subscription.topics.length, false);
  for (const topic of subscription.topics) w.string(topic, false);
  w.bytes(subscription.userData ?? null, false);
  writeTopicPartitions(w, subscription.ownedPartitions ?? []);
  w.int32(subscription.generationId ?? -1);
  return w.finish();
}

export function decodeSubscription(bytes: Uint8Array): Subscription {
  const r = new Reader(bytes);
  const version = r.int16();
  const topics = readArray(r, () => r.string(false, false)!);
  const userData = r.bytesField(false, true);
  const ownedPartitions = version >= 1 && r.remaining > 0 ? readTopicPartitions(r) : [];
  const generationId = version >= 2 && r.remaining > 0 ? r.int32() : -1;
  const rackId = version >= 3 && r.remaining > 0 ? r.string(false, true) : null;
  return { topics, userData: userData && userData.slice(), ownedPartitions, generationId, rackId };
}

export function encodeAssignment(assignment: { partitions: readonly TopicPartition[]; userData?: Uint8Array | null }): Uint8Array {
  const w = new Writer();
  w.int16(ASSIGNMENT_VERSION);
  writeTopicPartitions(w, assignment.partitions);
  w.bytes(assignment.userData ?? null, false);
  return w.finish();
}

/** An empty SyncGroup answer (a member the leader gave nothing) decodes to no partitions. */
export function decodeAssignment(bytes: Uint8Array): MemberAssignment {
  if (bytes.length === 0) return { partitions: [], userData: null };
  const r = new Reader(bytes);
  r.int16();
  const partitions = readTopicPartitions(r);
  const userData = r.remaining > 0 ? r.bytesField(false, true) : null;
  return { partitions, userData: userData && userData.slice() };
}

function writeTopicPartitions(w: Writer, partitions: readonly TopicPartition[]): void {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = byTopic.get(topic);
    if (list) list.push(partition);
    else byTopic.set(topic, [partition]);
  }
  w.arrayLength(byTopic.size, false);
  for (const [topic, list] of byTopic) {
    w.string(topic, false);
    w.arrayLength(list.length, false);
    for (const partition of list) w.int32(partition);
  }
}

function readTopicPartitions(r: Reader): TopicPartition[] {
  const out: TopicPartition[] = [];
  readArray(r, () => {
    const topic = r.string(false, false)!;
    for (const partition of readArray(r, () => r.int32())) out.push({ topic, partition });
  });
  return out;
}

function readArray<T>(r: Reader, item: () => T): T[] {
  const n = r.arrayLength(false, true) ?? 0;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(item());
  return out;
}
