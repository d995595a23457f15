/**
 * The admin client: topics, partitions, offsets, records, groups and configs, over the cluster
 * layer (src/client/cluster.ts), which bootstraps, routes and retries.
 *
 * Errors: operations on several items (topics, partitions, groups) never throw because one item
 * failed. They return one result per item, each with `error: KafkaProtocolError | null` (with
 * `topic`/`partition` set), so a batch that is half done says exactly which half
 * (`failed(results)` picks the failures out, `throwOnError(results)` throws the first). They throw
 * only when the whole operation failed: no broker reachable (`ConnectionError`), no answer in
 * time (`TimeoutError`), a version the broker lacks (`UnsupportedVersionError`), or a request-level
 * error code (`KafkaProtocolError`, e.g. a group-level error of OffsetFetch).
 *
 * Retriable per-item errors (NOT_CONTROLLER, a moved leader, a loading coordinator…) are retried
 * within the retry deadline before they are reported.
 */
import { KafkaProtocolError, TributaryError, UnsupportedVersionError } from "../errors.ts";
import { kafkaError } from "../protocol/error-codes.ts";
import { APIS } from "../protocol/generated/index.ts";
import { Backoff } from "../transport/backoff.ts";
import {
  Cluster,
  tpKey,
  type BrokerInfo,
  type ClusterOptions,
  type ItemResult,
  type TopicInfo,
  type TopicPartition,
} from "../client/cluster.ts";
import { byTopicPartition, fetchCommittedOffsets, groupByTopic, type GroupOffset } from "../group/offset-store.ts";

export type { GroupOffset };

export interface AdminOptions extends ClusterOptions {
  /** Time the broker may take for CreateTopics/DeleteTopics/CreatePartitions/DeleteRecords. Default 30 s. */
  operationTimeoutMs?: number;
}

export interface NewTopic {
  topic: string;
  /** Default: the broker's `num.partitions`. */
  numPartitions?: number;
  /** Default: the broker's `default.replication.factor`. */
  replicationFactor?: number;
  /** Explicit replica assignment: partition → broker ids (then leave the two counts out). */
  assignments?: Record<number, number[]>;
  configs?: Record<string, string>;
}

export interface TopicResult {
  topic: string;
  error: KafkaProtocolError | null;
}

export interface CreateTopicResult extends TopicResult {
  topicId: string | null;
  numPartitions: number;
  replicationFactor: number;
}

export interface NewPartitions {
  topic: string;
  /** The new total number of partitions. */
  count: number;
  /** Replicas of each new partition. */
  assignments?: number[][];
}

/** Which offset `listOffsets` finds. */
export type OffsetSpec = "earliest" | "latest" | "max-timestamp" | { timestamp: number };

export interface PartitionOffset extends TopicPartition {
  /** -1 when there is none (no record at or after the timestamp) or on error. */
  offset: number;
  timestamp: number;
  leaderEpoch: number;
  error: TributaryError | null;
}

export interface DeleteRecordsResult extends TopicPartition {
  /** The partition's new log start offset. */
  lowWatermark: number;
  error: TributaryError | null;
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  /** Empty when the broker does not say (ListGroups < v4). */
  state: string;
  /** "classic" or "consumer"; empty before ListGroups v5. */
  type: string;
  coordinator: number;
}

export interface ListGroupsResult {
  groups: GroupListing[];
  /** Brokers that could not be asked, with why. */
  errors: { nodeId: number; error: TributaryError }[];
}

export interface GroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Classic groups: the member's protocol metadata and assignment, as the assignor encoded them (empty for "consumer" groups). */
  memberMetadata: Uint8Array;
  memberAssignment: Uint8Array;
  /** "consumer" groups (KIP-848): the partitions the member owns now, and its epoch. */
  assignment?: TopicPartition[];
  memberEpoch?: number;
}

export interface GroupDescription {
  groupId: string;
  /**
   * Classic groups: "Empty", "Stable", "PreparingRebalance", "CompletingRebalance", "Dead" (no such
   * group). "consumer" groups: "Empty", "Assigning", "Reconciling", "Stable".
   */
  state: string;
  /** Which group protocol the group runs: "classic" (JoinGroup/SyncGroup) or "consumer" (KIP-848). */
  groupType: "classic" | "consumer";
  protocolType: string;
  protocol: string;
  members: GroupMember[];
  coordinator: number;
  error: TributaryError | null;
}

export interface PartitionLag extends TopicPartition {
  /** -1 when nothing is committed. */
  committed: number;
  /** The high watermark (next offset to be written). */
  latest: number;
  /** latest − committed; null when nothing is committed. */
  lag: number | null;
  error: TributaryError | null;
}

export interface GroupLag {
  groupId: string;
  partitions: PartitionLag[];
  /** Sum of the partitions' lags (partitions without a commit count as 0). */
  totalLag: number;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isSensitive: boolean;
  /** Kafka's ConfigSource: 1 topic, 4 static broker, 5 default, … (see Kafka's DescribeConfigs). */
  source: number;
  isDefault: boolean;
}

export interface TopicConfigs extends TopicResult {
  configs: ConfigEntry[];
}

export interface ClusterDescription {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerInfo[];
}

export interface Admin {
  /** The cluster layer underneath (for raw, routed requests). */
  readonly cluster: Cluster;
  /** Bootstraps now (otherwise the first operation does). */
  connect(): Promise<void>;
  createTopics(topics: NewTopic[], options?: { validateOnly?: boolean; waitForLeaders?: boolean; timeoutMs?: number }): Promise<CreateTopicResult[]>;
  deleteTopics(topics: string[], options?: { timeoutMs?: number }): Promise<TopicResult[]>;
  createPartitions(topics: NewPartitions[], options?: { validateOnly?: boolean; timeoutMs?: number }): Promise<TopicResult[]>;
  listTopics(options?: { includeInternal?: boolean }): Promise<string[]>;
  /** Topics' partitions, leaders and replicas (fresh from the broker); unknown topics are left out. */
  describeTopics(topics: string[]): Promise<TopicInfo[]>;
  describeCluster(): Promise<ClusterDescription>;
  /**
   * Offsets per partition: of every partition of a topic given by name, or of the listed
   * partitions. An unknown topic gives one result with partition -1 and an UNKNOWN_TOPIC_OR_PARTITION error.
   */
  listOffsets(
    topics: string | ReadonlyArray<string | TopicPartition>,
    spec?: OffsetSpec,
    options?: { isolation?: "read_uncommitted" | "read_committed" },
  ): Promise<PartitionOffset[]>;
  /** Deletes records before `offset` (-1: the high watermark, i.e. everything). */
  deleteRecords(partitions: ReadonlyArray<TopicPartition & { offset: number }>, options?: { timeoutMs?: number }): Promise<DeleteRecordsResult[]>;
  listGroups(options?: { states?: string[]; types?: string[] }): Promise<ListGroupsResult>;
  describeGroups(groupIds: string[]): Promise<GroupDescription[]>;
  /** A group's committed offsets: of the given topics' partitions, or of everything it committed. */
  fetchGroupOffsets(groupId: string, topics?: string[]): Promise<GroupOffset[]>;
  /** Committed offset vs high watermark per partition (of `topics`, or of what the group committed). */
  computeGroupLag(groupId: string, topics?: string[]): Promise<GroupLag>;
  describeConfigs(topics: string[], options?: { keys?: string[] }): Promise<TopicConfigs[]>;
  close(): void;
}

/** The failed items of a result list. */
export function failed<T extends { error: TributaryError | null }>(results: readonly T[]): T[] {
  return results.filter((r) => r.error !== null);
}

/** Throws the first item's error, if any; otherwise returns the results. */
export function throwOnError<T extends { error: TributaryError | null }>(results: T[]): T[] {
  const bad = results.find((r) => r.error !== null);
  if (bad) throw bad.error;
  return results;
}

const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
/** Per-item codes worth sending again to the controller (or coordinator). */
const RETRY_ITEM_CODES = new Set([14, 15, 16, 41, 89]);
const GROUP_ID_NOT_FOUND = 69;

export function createAdmin(options: AdminOptions): Admin {
  const cluster = new Cluster(options);
  const operationTimeoutMs = options.operationTimeoutMs ?? 30_000;
  const retrySettings = { deadlineMs: 30_000, initialMs: 100, maxMs: 1_000, ...options.retry };

  /**
   * Sends `items` with `send`; items whose error is retriable (per RETRY_ITEM_CODES) are sent again
   * with backoff until the retry deadline. `send` throwing retriable errors is retried as a whole.
   */
  async function retryItems<I, R extends { error: TributaryError | null }>(
    items: I[],
    key: (item: I) => string,
    send: (items: I[]) => Promise<Map<string, R>>,
    onRetry?: () => void,
  ): Promise<Map<string, R>> {
    const deadline = Date.now() + retrySettings.deadlineMs;
    const backoff = new Backoff({ initialMs: retrySettings.initialMs, maxMs: retrySettings.maxMs });
    const results = new Map<string, R>();
    let pending = items;
    while (pending.length > 0) {
      const answers = await cluster.retry(() => send(pending), { deadlineMs: Math.max(1, deadline - Date.now()) });
      const again: I[] = [];
      for (const item of pending) {
        const result = answers.get(key(item));
        if (!result) continue;
        results.set(key(item), result);
        const error = result.error;
        if (error instanceof KafkaProtocolError && RETRY_ITEM_CODES.has(error.code)) again.push(item);
      }
      if (again.length === 0) break;
      onRetry?.();
      const delay = backoff.next();
      if (Date.now() + delay >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
      cluster.invalidateMetadata();
      pending = again;
    }
    return results;
  }

  async function waitForLeaders(topics: string[], deadline: number): Promise<void> {
    const backoff = new Backoff({ initialMs: 50, maxMs: 500 });
    for (;;) {
      const meta = await cluster.refreshMetadata(topics);
      const ready = topics.every((t) => {
        const info = meta.topics.get(t);
        return info !== undefined && info.partitions.length > 0 && info.partitions.every((p) => p.leader >= 0 && meta.brokers.has(p.leader));
      });
      if (ready || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, Math.max(20, backoff.next())));
    }
  }

  /** Every partition of `topics` (or the listed ones); unknown topics become error items. */
  async function expand(topics: ReadonlyArray<string | TopicPartition>): Promise<{ partitions: TopicPartition[]; unknown: string[] }> {
    const names = [...new Set(topics.map((t) => (typeof t === "string" ? t : t.topic)))];
    let meta = await cluster.metadataFor(names);
    if (names.some((n) => !meta.topics.has(n))) meta = await cluster.refreshMetadata(names);
    const partitions: TopicPartition[] = [];
    const unknown: string[] = [];
    for (const t of topics) {
      if (typeof t !== "string") partitions.push(t);
      else if (!meta.topics.has(t)) unknown.push(t);
      else for (const p of meta.topics.get(t)!.partitions) partitions.push({ topic: t, partition: p.partition });
    }
    return { partitions, unknown };
  }

  function specTimestamp(spec: OffsetSpec): number {
    if (spec === "earliest") return -2;
    if (spec === "latest") return -1;
    if (spec === "max-timestamp") return -3;
    return spec.timestamp;
  }

  async function listOffsets(
    topics: string | ReadonlyArray<string | TopicPartition>,
    spec: OffsetSpec = "latest",
    opts: { isolation?: "read_uncommitted" | "read_committed" } = {},
  ): Promise<PartitionOffset[]> {
    const list = typeof topics === "string" ? [topics] : topics;
    const { partitions, unknown } = await expand(list);
    const timestamp = specTimestamp(spec);
    const isolationLevel = opts.isolation === "read_committed" ? 1 : 0;
    const results = await cluster.routeByLeader<TopicPartition, PartitionOffset>(partitions, async (nodeId, share) => {
      const byTopic = groupByTopic(share);
      const answer = await cluster.connectionTo(nodeId, "admin").send(APIS.ListOffsets, {
        replicaId: -1,
        isolationLevel,
        timeoutMs: operationTimeoutMs,
        topics: [...byTopic].map(([name, ps]) => ({
          name,
          partitions: ps.map((partition) => ({ partitionIndex: partition, currentLeaderEpoch: leaderEpochOf(name, partition), timestamp })),
        })),
      });
      const out = new Map<string, ItemResult<PartitionOffset>>();
      for (const t of answer.topics) {
        for (const p of t.partitions) {
          const error = kafkaError(p.errorCode, { topic: t.name, partition: p.partitionIndex });
          const key = tpKey({ topic: t.name, partition: p.partitionIndex });
          out.set(key, error ? { ok: false, error } : {
            ok: true,
            value: { topic: t.name, partition: p.partitionIndex, offset: p.offset, timestamp: p.timestamp, leaderEpoch: p.leaderEpoch, error: null },
          });
        }
      }
      return out;
    }, options.retry);
    const out: PartitionOffset[] = unknown.map((topic) => ({
      topic, partition: -1, offset: -1, timestamp: -1, leaderEpoch: -1,
      error: kafkaError(3, { topic, message: "the topic does not exist" })!,
    }));
    for (const tp of partitions) {
      const r = results.get(tpKey(tp))!;
      out.push(r.ok ? r.value : { ...tp, offset: -1, timestamp: -1, leaderEpoch: -1, error: r.error });
    }
    return out;
  }

  function leaderEpochOf(topic: string, partition: number): number {
    return cluster.metadata?.topics.get(topic)?.partitions[partition]?.leaderEpoch ?? -1;
  }

  async function fetchGroupOffsets(groupId: string, topics?: string[]): Promise<GroupOffset[]> {
    return fetchCommittedOffsets(cluster, groupId, topics ? (await expand(topics)).partitions : null);
  }

  /** A KIP-848 group through ConsumerGroupDescribe; undefined when there is none (or the broker lacks the API). */
  async function describeConsumerProtocolGroup(groupId: string, coordinator: number): Promise<GroupDescription | undefined> {
    let answer;
    try {
      answer = await cluster.connectionTo(coordinator, "group").send(APIS.ConsumerGroupDescribe, { groupIds: [groupId], includeAuthorizedOperations: false });
    } catch (error) {
      if (error instanceof UnsupportedVersionError) return undefined;
      throw error;
    }
    const g = answer.groups[0];
    if (!g || g.errorCode === GROUP_ID_NOT_FOUND) return undefined;
    return {
      groupId, state: g.groupState, groupType: "consumer", protocolType: "consumer", protocol: g.assignorName, coordinator,
      members: g.members.map((m) => ({
        memberId: m.memberId, groupInstanceId: m.instanceId, clientId: m.clientId, clientHost: m.clientHost,
        memberMetadata: new Uint8Array(0), memberAssignment: new Uint8Array(0), memberEpoch: m.memberEpoch,
        assignment: m.assignment.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topicName, partition })))
          .sort(byTopicPartition),
      })),
      error: kafkaError(g.errorCode, { message: `group ${groupId}${g.errorMessage ? `: ${g.errorMessage}` : ""}` }),
    };
  }

  const admin: Admin = {
    cluster,

    async connect() {
      await cluster.connect();
    },

    async createTopics(topics, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? operationTimeoutMs;
      const results = await retryItems(topics, (t) => t.topic, async (pending) => {
        const answer = await cluster.sendToController(APIS.CreateTopics, {
          topics: pending.map((t) => ({
            name: t.topic,
            numPartitions: t.assignments ? -1 : t.numPartitions ?? -1,
            replicationFactor: t.assignments ? -1 : t.replicationFactor ?? -1,
            assignments: Object.entries(t.assignments ?? {}).map(([partition, brokerIds]) => ({ partitionIndex: Number(partition), brokerIds })),
            configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
          })),
          timeoutMs,
          validateOnly: opts.validateOnly ?? false,
        }, { timeoutMs: timeoutMs + 5_000, retry: false });
        return new Map(answer.topics.map((t) => [t.name, {
          topic: t.name,
          topicId: t.topicId && t.topicId !== ZERO_UUID ? t.topicId : null,
          numPartitions: t.numPartitions,
          replicationFactor: t.replicationFactor,
          error: kafkaError(t.errorCode, { topic: t.name, message: t.errorMessage }),
        } satisfies CreateTopicResult]));
      });
      const out = topics.map((t) => results.get(t.topic) ?? {
        topic: t.topic, topicId: null, numPartitions: -1, replicationFactor: -1,
        error: kafkaError(-1, { topic: t.topic, message: "the broker did not answer for this topic" }),
      });
      const created = out.filter((r) => r.error === null).map((r) => r.topic);
      if (created.length > 0 && !opts.validateOnly) {
        if (opts.waitForLeaders ?? true) await waitForLeaders(created, Date.now() + timeoutMs);
        else cluster.invalidateMetadata();
      }
      return out;
    },

    async deleteTopics(topics, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? operationTimeoutMs;
      const results = await retryItems(topics, (t) => t, async (pending) => {
        const answer = await cluster.sendToController(
          APIS.DeleteTopics,
          (version) => (version >= 6 ? { topics: pending.map((name) => ({ name, topicId: ZERO_UUID })), timeoutMs } : { topicNames: pending, timeoutMs }),
          { timeoutMs: timeoutMs + 5_000, retry: false },
        );
        return new Map(answer.responses.map((r) => [r.name ?? "", {
          topic: r.name ?? "", error: kafkaError(r.errorCode, { topic: r.name ?? undefined, message: r.errorMessage }),
        } satisfies TopicResult]));
      });
      cluster.invalidateMetadata();
      return topics.map((topic) => results.get(topic) ?? { topic, error: kafkaError(-1, { topic, message: "the broker did not answer for this topic" }) });
    },

    async createPartitions(topics, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? operationTimeoutMs;
      const results = await retryItems(topics, (t) => t.topic, async (pending) => {
        const answer = await cluster.sendToController(APIS.CreatePartitions, {
          topics: pending.map((t) => ({ name: t.topic, count: t.count, assignments: t.assignments?.map((brokerIds) => ({ brokerIds })) ?? null })),
          timeoutMs,
          validateOnly: opts.validateOnly ?? false,
        }, { timeoutMs: timeoutMs + 5_000, retry: false });
        return new Map(answer.results.map((r) => [r.name, {
          topic: r.name, error: kafkaError(r.errorCode, { topic: r.name, message: r.errorMessage }),
        } satisfies TopicResult]));
      });
      cluster.invalidateMetadata();
      return topics.map((t) => results.get(t.topic) ?? { topic: t.topic, error: kafkaError(-1, { topic: t.topic, message: "no answer for this topic" }) });
    },

    async listTopics(opts = {}) {
      const meta = await cluster.refreshMetadata("all");
      return [...meta.topics.values()].filter((t) => opts.includeInternal || !t.isInternal).map((t) => t.name).sort();
    },

    async describeTopics(topics) {
      const meta = await cluster.refreshMetadata(topics);
      return topics.flatMap((t) => (meta.topics.has(t) ? [meta.topics.get(t)!] : []));
    },

    async describeCluster() {
      const meta = await cluster.refreshMetadata();
      return { clusterId: meta.clusterId, controllerId: meta.controllerId, brokers: [...meta.brokers.values()].sort((a, b) => a.nodeId - b.nodeId) };
    },

    listOffsets,

    async deleteRecords(partitions, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? operationTimeoutMs;
      const results = await cluster.routeByLeader<TopicPartition & { offset: number }, DeleteRecordsResult>(partitions, async (nodeId, share) => {
        const byTopic = new Map<string, { partitionIndex: number; offset: number }[]>();
        for (const p of share) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), { partitionIndex: p.partition, offset: p.offset }]);
        const answer = await cluster.connectionTo(nodeId, "admin").send(APIS.DeleteRecords, {
          topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps })),
          timeoutMs,
        }, { timeoutMs: timeoutMs + 5_000 });
        const out = new Map<string, ItemResult<DeleteRecordsResult>>();
        for (const t of answer.topics) {
          for (const p of t.partitions) {
            const error = kafkaError(p.errorCode, { topic: t.name, partition: p.partitionIndex });
            out.set(tpKey({ topic: t.name, partition: p.partitionIndex }), error ? { ok: false, error } : {
              ok: true, value: { topic: t.name, partition: p.partitionIndex, lowWatermark: p.lowWatermark, error: null },
            });
          }
        }
        return out;
      }, options.retry);
      return partitions.map((p) => {
        const r = results.get(tpKey(p))!;
        return r.ok ? r.value : { topic: p.topic, partition: p.partition, lowWatermark: -1, error: r.error };
      });
    },

    async listGroups(opts = {}) {
      const meta = await cluster.metadataFor([]);
      const groups: GroupListing[] = [];
      const errors: ListGroupsResult["errors"] = [];
      await Promise.all([...meta.brokers.keys()].map(async (nodeId) => {
        try {
          const answer = await cluster.sendToBroker(nodeId, APIS.ListGroups, { statesFilter: opts.states ?? [], typesFilter: opts.types ?? [] }, {
            check: (r: { errorCode: number }) => kafkaError(r.errorCode),
          });
          for (const g of answer.groups) {
            groups.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState, type: g.groupType, coordinator: nodeId });
          }
        } catch (error) {
          errors.push({ nodeId, error: error instanceof TributaryError ? error : new TributaryError(String(error)) });
        }
      }));
      return { groups: groups.sort((a, b) => a.groupId.localeCompare(b.groupId)), errors };
    },

    async describeGroups(groupIds) {
      const results = await Promise.all(groupIds.map(async (groupId): Promise<GroupDescription> => {
        try {
          let coordinator = -1;
          const answer = await cluster.retry(async () => {
            coordinator = await cluster.coordinatorFor(groupId);
            const r = await cluster.connectionTo(coordinator, "group").send(APIS.DescribeGroups, { groups: [groupId], includeAuthorizedOperations: false });
            const g = r.groups[0];
            const error = g && RETRY_ITEM_CODES.has(g.errorCode) ? kafkaError(g.errorCode, { message: `group ${groupId}` }) : null;
            if (error) throw error;
            return r;
          }, { groupId });
          const g = answer.groups[0]!;
          // DescribeGroups knows classic groups only: a KIP-848 group reads as "Dead" there.
          if (g.errorCode === 0 && g.groupState === "Dead") {
            const consumerGroup = await describeConsumerProtocolGroup(groupId, coordinator);
            if (consumerGroup) return consumerGroup;
          }
          return {
            groupId, state: g.groupState, groupType: "classic", protocolType: g.protocolType, protocol: g.protocolData, coordinator,
            members: g.members.map((m) => ({
              memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
              memberMetadata: m.memberMetadata, memberAssignment: m.memberAssignment,
            })),
            error: kafkaError(g.errorCode, { message: `group ${groupId}` }),
          };
        } catch (error) {
          return {
            groupId, state: "", groupType: "classic", protocolType: "", protocol: "", members: [], coordinator: -1,
            error: error instanceof TributaryError ? error : new TributaryError(String(error)),
          };
        }
      }));
      return results;
    },

    fetchGroupOffsets,

    async computeGroupLag(groupId, topics) {
      const committed = await fetchGroupOffsets(groupId, topics);
      const relevant = committed.filter((c) => topics !== undefined || c.offset >= 0);
      const latest = relevant.length > 0 ? await listOffsets(relevant.map(({ topic, partition }) => ({ topic, partition })), "latest") : [];
      const latestBy = new Map(latest.map((l) => [tpKey(l), l]));
      const partitions = relevant.map((c): PartitionLag => {
        const l = latestBy.get(tpKey(c));
        const error = c.error ?? l?.error ?? null;
        const end = l && !l.error ? l.offset : -1;
        const lag = c.offset >= 0 && end >= 0 ? Math.max(0, end - c.offset) : null;
        return { topic: c.topic, partition: c.partition, committed: c.offset, latest: end, lag, error };
      });
      return { groupId, partitions, totalLag: partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0) };
    },

    async describeConfigs(topics, opts = {}) {
      const answer = await cluster.sendToAny(APIS.DescribeConfigs, {
        resources: topics.map((resourceName) => ({ resourceType: 2, resourceName, configurationKeys: opts.keys ?? null })),
        includeSynonyms: false,
        includeDocumentation: false,
      });
      const byName = new Map(answer.results.map((r) => [r.resourceName, r]));
      return topics.map((topic) => {
        const r = byName.get(topic);
        if (!r) return { topic, configs: [], error: kafkaError(-1, { topic, message: "no answer for this topic" }) };
        return {
          topic,
          error: kafkaError(r.errorCode, { topic, message: r.errorMessage }),
          configs: r.configs.map((c) => ({
            name: c.name, value: c.value, readOnly: c.readOnly, isSensitive: c.isSensitive, source: c.configSource, isDefault: c.configSource === 5,
          })),
        };
      });
    },

    close() {
      cluster.close();
    },
  };
  return admin;
}
