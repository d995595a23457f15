/**
 * The cluster layer: bootstrap, the metadata cache, routing and retries.
 *
 * - Bootstrap: the configured addresses are tried in order until one answers Metadata; from then
 *   on the cluster is known by node id (brokers, controller, topics, partitions, leaders, leader
 *   epochs) and the bootstrap sockets are closed.
 * - Metadata cache: refreshed on demand (`refreshMetadata`), when a topic not in the cache is
 *   asked for, when it is older than `metadataMaxAgeMs`, and after any error that says it is stale
 *   (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, FENCED_LEADER_EPOCH,
 *   UNKNOWN_LEADER_EPOCH, NOT_CONTROLLER, REPLICA_NOT_AVAILABLE, KAFKA_STORAGE_ERROR, a broken
 *   connection…).
 * - Routing: to a partition's leader, any broker, the controller, or a group coordinator
 *   (FindCoordinator, cached; forgotten on NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE).
 * - One connection per (broker, purpose): "produce", "fetch", "group" and "admin" requests never
 *   queue behind each other (a JoinGroup held for a rebalance never delays a Fetch). Metadata and
 *   FindCoordinator travel on the "admin" connection.
 * - Retries: `retry()` repeats an operation while it fails with a retriable error — a
 *   `KafkaProtocolError` the error table marks retriable, a `ConnectionError` (other than a
 *   deliberate close) or a `TimeoutError` — with capped, jittered exponential backoff, until the
 *   deadline (`retry.deadlineMs`); then the last error is thrown. The routed `send*` methods retry
 *   by default; pass `retry: false` for requests that are not safe to repeat (non-idempotent Produce).
 */
import { ConnectionError, KafkaProtocolError, TimeoutError, TributaryError } from "../errors.ts";
import type { ApiCodec } from "../protocol/api.ts";
import { kafkaError } from "../protocol/error-codes.ts";
import { APIS, type MetadataResponse } from "../protocol/generated/index.ts";
import { Backoff, type BackoffOptions } from "../transport/backoff.ts";
import type { SocketFactory, TlsOptions } from "../transport/socket.ts";
import { BrokerConnection, type AuthenticationContext, type AuthenticationOutcome, type RequestBody } from "./broker-connection.ts";

/** Which connection to a broker a request uses. */
export type Purpose = "produce" | "fetch" | "group" | "admin";

export interface RetryOptions {
  /** Give up retrying once this much time has passed since the first attempt. Default 30 s. */
  deadlineMs?: number;
  /** Ceiling of the first backoff delay. Default 100 ms. */
  initialMs?: number;
  /** Cap on every backoff delay. Default 1 s. */
  maxMs?: number;
}

export interface ClusterOptions {
  /** Bootstrap addresses, "host:port" or objects; tried in order until one answers. */
  brokers: ReadonlyArray<string | { host: string; port: number }>;
  clientId?: string;
  tls?: TlsOptions | boolean;
  socketFactory?: SocketFactory;
  /** Per-socket connect limit. Default 10 s. */
  connectTimeoutMs?: number;
  /** Default per-request limit. Default 30 s. */
  requestTimeoutMs?: number;
  /** Retries of routed requests. */
  retry?: RetryOptions;
  /** Backoff between reconnects of one broker connection. */
  reconnectBackoff?: BackoffOptions;
  /** Refresh cached metadata older than this before routing with it. Default 5 min. */
  metadataMaxAgeMs?: number;
  /** SASL (or other) authentication run on every new socket, after ApiVersions. */
  authenticate?: (connection: AuthenticationContext) => Promise<void | AuthenticationOutcome>;
}

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  /** -1 when the partition has no leader right now. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  /** The partition's error in the last metadata answer (0 = none; 5 = LEADER_NOT_AVAILABLE…). */
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  topicId: string;
  isInternal: boolean;
  /** Sorted by partition index. */
  partitions: PartitionInfo[];
}

export interface ClusterMetadata {
  clusterId: string | null;
  controllerId: number;
  brokers: ReadonlyMap<number, BrokerInfo>;
  topics: ReadonlyMap<string, TopicInfo>;
  /** Date.now() of the last refresh. */
  updatedAt: number;
}

export interface RouteOptions {
  purpose?: Purpose;
  /** Per-attempt request limit. */
  timeoutMs?: number;
  /** `false`: one attempt only. Otherwise overrides the cluster's retry options. */
  retry?: RetryOptions | false;
  /**
   * Finds the error in a response (its top-level error code, say). A retriable error is retried
   * (after refreshing metadata or the coordinator as it calls for); another one is thrown.
   */
  check?: (response: any) => KafkaProtocolError | null;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** The outcome of one item of a request split by leader: a value or a typed error. */
export type ItemResult<T> = { ok: true; value: T } | { ok: false; error: TributaryError };

/** Error codes after which the metadata cache is treated as stale. */
const METADATA_ERRORS = new Set([3, 5, 6, 9, 13, 41, 56, 74, 75, 78]);
/** Error codes after which a group's coordinator is looked up again. */
const COORDINATOR_ERRORS = new Set([15, 16]);

export const DEFAULT_RETRY = { deadlineMs: 30_000, initialMs: 100, maxMs: 1_000 } as const;

export function parseBroker(address: string | { host: string; port: number }): { host: string; port: number } {
  if (typeof address !== "string") return address;
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.trim());
  if (!match) throw new TypeError(`a broker address must be "host:port", got ${JSON.stringify(address)}`);
  return { host: match[1]!, port: Number(match[2]) };
}

/**
 * Connection failures that say the peer is not a Kafka broker speaking to us (an HTTP server, a TLS
 * port reached in plaintext, garbage): asking again gets the same answer, so they are not retried.
 * A refused or broken connection is retried: that is what a restarting broker looks like.
 */
const PEER_IS_NOT_KAFKA = new Set<ConnectionError["reason"]>(["frame-too-large", "protocol"]);

/** The peer answered, but not as a Kafka broker would (see PEER_IS_NOT_KAFKA): no retry can help. */
export function isPeerNotKafka(error: unknown): error is ConnectionError {
  return error instanceof ConnectionError && PEER_IS_NOT_KAFKA.has(error.reason);
}

/**
 * No Kafka broker is to be had at `cluster`'s addresses: the peer is not one, or the cluster never
 * reached any broker and now failed to connect after its own retries (a wrong address, nothing
 * listening). Once the cluster has answered, a refused connection is a broker restarting instead.
 */
export function noKafkaThere(cluster: { readonly metadata: unknown }, error: unknown): error is ConnectionError {
  return isPeerNotKafka(error) || (cluster.metadata === undefined && error instanceof ConnectionError && error.reason === "connect");
}

/** True for errors worth another attempt: retriable Kafka codes, broken sockets, timeouts. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof KafkaProtocolError) return error.retriable;
  if (error instanceof ConnectionError) return error.reason !== "closed-by-client" && error.reason !== "unsupported" && !isPeerNotKafka(error);
  return error instanceof TimeoutError;
}

export class Cluster {
  private readonly options: ClusterOptions;
  private readonly bootstrap: { host: string; port: number }[];
  private readonly connections = new Map<string, BrokerConnection>();
  private readonly coordinators = new Map<string, number>();
  private readonly coordinatorHosts = new Map<number, BrokerInfo>();
  private meta: ClusterMetadata | undefined;
  private stale = true;
  private refreshing: Promise<ClusterMetadata> | undefined;
  private closed = false;
  private anyIndex = 0;

  constructor(options: ClusterOptions) {
    if (!options.brokers?.length) throw new TypeError("`brokers` needs at least one bootstrap address");
    this.options = options;
    this.bootstrap = options.brokers.map(parseBroker);
  }

  /** The cached metadata (undefined before the first refresh). */
  get metadata(): ClusterMetadata | undefined {
    return this.meta;
  }

  /** Bootstraps: fetches metadata from the first bootstrap address that answers. */
  async connect(): Promise<ClusterMetadata> {
    return this.meta ?? this.refreshMetadata();
  }

  /** Marks the cache stale: the next routing decision refreshes it first. */
  invalidateMetadata(): void {
    this.stale = true;
  }

  /**
   * Fetches metadata for the cached topics plus `topics` (or for every topic with `"all"`) and
   * replaces the cache. Concurrent refreshes share one request when they ask for nothing new.
   */
  async refreshMetadata(topics: readonly string[] | "all" = []): Promise<ClusterMetadata> {
    if (this.refreshing && topics !== "all" && topics.every((t) => this.meta?.topics.has(t))) return this.refreshing;
    const names = topics === "all" ? null : [...new Set([...(this.meta?.topics.keys() ?? []), ...topics])];
    const refresh = this.fetchMetadata(names).finally(() => {
      if (this.refreshing === refresh) this.refreshing = undefined;
    });
    this.refreshing = refresh;
    return refresh;
  }

  /**
   * Metadata that covers `topics` (refreshing when they are missing, the cache is stale or old).
   * Topics the broker does not know are left out of `topics` of the answer.
   */
  async metadataFor(topics: readonly string[], options: { refresh?: boolean } = {}): Promise<ClusterMetadata> {
    const maxAge = this.options.metadataMaxAgeMs ?? 300_000;
    const meta = this.meta;
    if (
      options.refresh || this.stale || !meta || Date.now() - meta.updatedAt > maxAge ||
      topics.some((t) => !meta.topics.has(t))
    ) {
      return this.refreshMetadata(topics);
    }
    return meta;
  }

  /** The leader's node id of a partition; throws a typed `KafkaProtocolError` when there is none. */
  async leaderFor(topic: string, partition: number, options: { refresh?: boolean } = {}): Promise<number> {
    const meta = await this.metadataFor([topic], options);
    const info = meta.topics.get(topic);
    if (!info) throw kafkaError(3, { topic, partition })!;
    const p = info.partitions[partition];
    if (!p || p.partition !== partition) throw kafkaError(3, { topic, partition, message: `the topic has ${info.partitions.length} partitions` })!;
    if (p.leader < 0) throw kafkaError(p.errorCode || 5, { topic, partition })!;
    return p.leader;
  }

  /** The connection to broker `nodeId` for `purpose` (created on first use). */
  connectionTo(nodeId: number, purpose: Purpose = "admin"): BrokerConnection {
    if (this.closed) throw new ConnectionError({ host: "cluster", port: 0, reason: "closed-by-client", message: "the cluster client was closed" });
    const broker = this.meta?.brokers.get(nodeId) ?? this.coordinatorHosts.get(nodeId);
    if (!broker) throw new ConnectionError({ host: `node ${nodeId}`, port: 0, reason: "connect", message: `broker ${nodeId} is not in the cluster metadata` });
    const key = `${nodeId}|${broker.host}:${broker.port}|${purpose}`;
    let connection = this.connections.get(key);
    if (!connection || connection.isClosed) {
      connection = this.newConnection(broker.host, broker.port, nodeId, purpose);
      this.connections.set(key, connection);
    }
    return connection;
  }

  /** Sends to broker `nodeId`. */
  sendToBroker<Req, Res>(nodeId: number, api: ApiCodec<Req, Res>, request: RequestBody<Req>, options: RouteOptions = {}): Promise<Res> {
    return this.routed(() => Promise.resolve(nodeId), api, request, options);
  }

  /** Sends to the leader of `topic`/`partition`, following leadership changes. */
  sendToLeader<Req, Res>(topic: string, partition: number, api: ApiCodec<Req, Res>, request: RequestBody<Req>, options: RouteOptions = {}): Promise<Res> {
    return this.routed(() => this.leaderFor(topic, partition), api, request, options, { topic, partition });
  }

  /** Sends to the controller (for admin requests: CreateTopics, DeleteTopics, CreatePartitions…). */
  sendToController<Req, Res>(api: ApiCodec<Req, Res>, request: RequestBody<Req>, options: RouteOptions = {}): Promise<Res> {
    return this.routed(async () => {
      const meta = await this.metadataFor([]);
      // KRaft brokers forward admin requests to the active controller; a broker id is what Metadata gives.
      return meta.brokers.has(meta.controllerId) ? meta.controllerId : this.anyBrokerId(meta);
    }, api, request, options);
  }

  /** Sends to any live broker (the least recently failing one, round robin). */
  sendToAny<Req, Res>(api: ApiCodec<Req, Res>, request: RequestBody<Req>, options: RouteOptions = {}): Promise<Res> {
    return this.routed(async () => this.anyBrokerId(await this.metadataFor([])), api, request, options);
  }

  /** Sends to the coordinator of consumer group `groupId`. */
  sendToCoordinator<Req, Res>(groupId: string, api: ApiCodec<Req, Res>, request: RequestBody<Req>, options: RouteOptions = {}): Promise<Res> {
    return this.routed(() => this.coordinatorFor(groupId), api, request, { purpose: "group", ...options }, undefined, groupId);
  }

  /** The coordinator's node id for a group (FindCoordinator, cached). */
  async coordinatorFor(groupId: string, options: { refresh?: boolean; timeoutMs?: number } = {}): Promise<number> {
    const cached = this.coordinators.get(groupId);
    if (cached !== undefined && !options.refresh) return cached;
    const meta = await this.metadataFor([]);
    const nodeId = this.anyBrokerId(meta);
    // On the "admin" connection (with Metadata): never queued behind a parked JoinGroup.
    const answer = await this.connectionTo(nodeId, "admin").send(
      APIS.FindCoordinator,
      (version) => (version >= 4 ? { keyType: 0, coordinatorKeys: [groupId] } : { key: groupId, keyType: 0 }),
      { timeoutMs: options.timeoutMs },
    );
    const found = answer.coordinators.length > 0
      ? answer.coordinators[0]!
      : { nodeId: answer.nodeId, host: answer.host, port: answer.port, errorCode: answer.errorCode, errorMessage: answer.errorMessage };
    const error = kafkaError(found.errorCode, { message: found.errorMessage });
    if (error) throw error;
    this.coordinatorHosts.set(found.nodeId, { nodeId: found.nodeId, host: found.host, port: found.port, rack: null });
    this.coordinators.set(groupId, found.nodeId);
    return found.nodeId;
  }

  /**
   * Runs `operation` until it succeeds, fails with an error that is not retriable, or the
   * deadline passes (then its last error is thrown). Between attempts it waits a jittered,
   * growing delay, and refreshes what the error says is stale (metadata, a coordinator).
   */
  async retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions & { groupId?: string } = {}): Promise<T> {
    const settings = { ...DEFAULT_RETRY, ...this.options.retry, ...definedOnly(options) };
    const deadline = Date.now() + settings.deadlineMs;
    const backoff = new Backoff({ initialMs: settings.initialMs, maxMs: settings.maxMs });
    for (let attempt = 0; ; attempt++) {
      try {
        return await operation(attempt);
      } catch (error) {
        if (this.closed || !isRetriable(error)) throw error;
        this.noteError(error, options.groupId);
        const delay = backoff.next();
        if (Date.now() + delay >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /**
   * Splits `items` by partition leader and calls `send` once per leader with its share; items that
   * fail with a retriable error (a moved leader, a broken connection…) are routed again after a
   * metadata refresh, until the deadline. Unknown topics and partitions fail at once (after one
   * refresh). Returns one result per item, keyed `topic:partition`.
   */
  async routeByLeader<I extends TopicPartition, T>(
    items: readonly I[],
    send: (nodeId: number, items: I[]) => Promise<Map<string, ItemResult<T>>>,
    options: RetryOptions = {},
  ): Promise<Map<string, ItemResult<T>>> {
    const settings = { ...DEFAULT_RETRY, ...this.options.retry, ...definedOnly(options) };
    const deadline = Date.now() + settings.deadlineMs;
    const backoff = new Backoff({ initialMs: settings.initialMs, maxMs: settings.maxMs });
    const results = new Map<string, ItemResult<T>>();
    let pending = [...items];
    const topics = [...new Set(items.map((i) => i.topic))];
    let refresh = false;
    let refreshedForUnknown = false;
    while (pending.length > 0) {
      let meta: ClusterMetadata;
      try {
        meta = await this.metadataFor(topics, { refresh });
      } catch (error) {
        if (!isRetriable(error) || Date.now() >= deadline) {
          for (const item of pending) results.set(tpKey(item), { ok: false, error: asTributary(error) });
          return results;
        }
        await sleep(backoff.next());
        continue;
      }
      const byLeader = new Map<number, I[]>();
      const unknown: I[] = [];
      const retry: { item: I; error: TributaryError }[] = [];
      for (const item of pending) {
        const p = meta.topics.get(item.topic)?.partitions[item.partition];
        if (!p || p.partition !== item.partition) unknown.push(item);
        else if (p.leader < 0 || !meta.brokers.has(p.leader)) retry.push({ item, error: kafkaError(p.errorCode || 5, item)! });
        else byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), item]);
      }
      if (unknown.length > 0 && !refreshedForUnknown && !refresh) {
        // The cache may predate the topic: ask once more before calling it unknown.
        refreshedForUnknown = true;
        refresh = true;
        continue;
      }
      for (const item of unknown) {
        const exists = meta.topics.get(item.topic);
        results.set(tpKey(item), {
          ok: false,
          error: kafkaError(3, { ...item, message: exists ? `the topic has ${exists.partitions.length} partitions` : "the topic does not exist" })!,
        });
      }
      await Promise.all(
        [...byLeader].map(async ([nodeId, share]) => {
          try {
            const answers = await send(nodeId, share);
            for (const item of share) {
              const answer = answers.get(tpKey(item)) ?? { ok: false as const, error: kafkaError(-1, { ...item, message: "the broker did not answer for this partition" })! };
              if (!answer.ok && isRetriable(answer.error)) retry.push({ item, error: answer.error });
              else results.set(tpKey(item), answer);
            }
          } catch (error) {
            if (!isRetriable(error)) for (const item of share) results.set(tpKey(item), { ok: false, error: asTributary(error) });
            else for (const item of share) retry.push({ item, error: asTributary(error) });
          }
        }),
      );
      pending = retry.map((r) => r.item);
      if (pending.length === 0) break;
      for (const r of retry) this.noteError(r.error);
      const delay = backoff.next();
      if (Date.now() + delay >= deadline || this.closed) {
        for (const r of retry) results.set(tpKey(r.item), { ok: false, error: r.error });
        break;
      }
      await sleep(delay);
      refresh = true;
    }
    return results;
  }

  /** Closes every connection; later requests fail with `ConnectionError` (reason `closed-by-client`). */
  close(): void {
    this.closed = true;
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }

  private async routed<Req, Res>(
    target: () => Promise<number>,
    api: ApiCodec<Req, Res>,
    request: RequestBody<Req>,
    options: RouteOptions,
    where?: TopicPartition,
    groupId?: string,
  ): Promise<Res> {
    const attempt = async () => {
      const nodeId = await target();
      const response = await this.connectionTo(nodeId, options.purpose ?? "admin").send(api, request, { timeoutMs: options.timeoutMs });
      const error = options.check?.(response);
      if (error) {
        if (where && error.topic === undefined) {
          error.topic = where.topic;
          error.partition = where.partition;
        }
        throw error;
      }
      return response;
    };
    if (options.retry === false) {
      try {
        return await attempt();
      } catch (error) {
        this.noteError(error, groupId);
        throw error;
      }
    }
    return this.retry(attempt, { ...options.retry, groupId });
  }

  /** Remembers what an error says about the cache. */
  private noteError(error: unknown, groupId?: string): void {
    if (error instanceof KafkaProtocolError) {
      if (METADATA_ERRORS.has(error.code)) this.stale = true;
      if (groupId !== undefined && COORDINATOR_ERRORS.has(error.code)) this.coordinators.delete(groupId);
    } else if (error instanceof ConnectionError || error instanceof TimeoutError) {
      this.stale = true;
      if (groupId !== undefined) this.coordinators.delete(groupId);
    }
  }

  private anyBrokerId(meta: ClusterMetadata): number {
    const ids = [...meta.brokers.keys()];
    if (ids.length === 0) throw kafkaError(8, { message: "the cluster metadata lists no brokers" })!;
    // Prefer brokers whose connections have not been failing.
    const healthy = ids.filter((id) => !this.isFailing(id));
    const pool = healthy.length > 0 ? healthy : ids;
    return pool[this.anyIndex++ % pool.length]!;
  }

  private isFailing(nodeId: number): boolean {
    for (const [key, connection] of this.connections) {
      if (key.startsWith(`${nodeId}|`) && connection.failures > 0) return true;
    }
    return false;
  }

  private newConnection(host: string, port: number, nodeId: number, purpose: Purpose = "admin"): BrokerConnection {
    const o = this.options;
    return new BrokerConnection({
      host, port, nodeId,
      clientId: o.clientId, tls: o.tls, socketFactory: o.socketFactory, bulkReads: purpose === "fetch",
      connectTimeoutMs: o.connectTimeoutMs, requestTimeoutMs: o.requestTimeoutMs,
      backoff: o.reconnectBackoff ?? { initialMs: 50, maxMs: 1_000 }, authenticate: o.authenticate,
    });
  }

  /** Metadata from a known broker, falling back to the bootstrap addresses. */
  private async fetchMetadata(names: string[] | null): Promise<ClusterMetadata> {
    const request = {
      topics: names === null ? null : names.map((name) => ({ name })),
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    };
    const errors: unknown[] = [];
    const candidates: (() => BrokerConnection)[] = [];
    const hadMetadata = this.meta !== undefined;
    if (this.meta) {
      const ids = [...this.meta.brokers.keys()];
      const ordered = [...ids.filter((id) => !this.isFailing(id)), ...ids.filter((id) => this.isFailing(id))];
      for (const id of ordered) candidates.push(() => this.connectionTo(id, "admin"));
    }
    for (const address of this.bootstrap) candidates.push(() => this.bootstrapConnection(address));
    const timeoutMs = Math.min(this.options.requestTimeoutMs ?? 30_000, 10_000);
    for (const candidate of candidates) {
      if (this.closed) break;
      let connection: BrokerConnection;
      try {
        connection = candidate();
        const answer = await connection.send(APIS.Metadata, request, { timeoutMs });
        const meta = this.store(answer);
        this.closeBootstrapConnections();
        return meta;
      } catch (error) {
        errors.push(error);
        if (!(error instanceof ConnectionError || error instanceof TimeoutError)) throw error;
      }
    }
    // A concurrent first refresh may have succeeded meanwhile and closed the bootstrap sockets this
    // one was waiting on: with metadata in hand, ask the known brokers instead (once).
    if (!hadMetadata && this.meta && !this.closed) return this.fetchMetadata(names);
    const last = errors[errors.length - 1];
    if (last instanceof ConnectionError) {
      throw new ConnectionError({
        host: last.host, port: last.port, reason: last.reason,
        message: `no broker answered Metadata (tried ${errors.length}): ${errors.map((e) => (e as Error).message).join("; ")}`,
        cause: last,
      });
    }
    throw last ?? new ConnectionError({ host: "cluster", port: 0, reason: "closed-by-client", message: "the cluster client was closed" });
  }

  private bootstrapConnection(address: { host: string; port: number }): BrokerConnection {
    const key = `bootstrap|${address.host}:${address.port}`;
    let connection = this.connections.get(key);
    if (!connection || connection.isClosed) {
      connection = this.newConnection(address.host, address.port, -1);
      this.connections.set(key, connection);
    }
    return connection;
  }

  private closeBootstrapConnections(): void {
    for (const [key, connection] of this.connections) {
      if (key.startsWith("bootstrap|")) {
        connection.close();
        this.connections.delete(key);
      }
    }
  }

  private store(answer: MetadataResponse): ClusterMetadata {
    const brokers = new Map<number, BrokerInfo>();
    for (const b of answer.brokers) brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
    const topics = new Map<string, TopicInfo>();
    for (const t of answer.topics) {
      if (t.name === null || t.errorCode === 3) continue; // unknown topics are not cached
      if (t.errorCode !== 0 && t.partitions.length === 0) continue;
      const partitions = t.partitions
        .map((p) => ({
          partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes, isr: p.isrNodes, offlineReplicas: p.offlineReplicas, errorCode: p.errorCode,
        }))
        .sort((a, b) => a.partition - b.partition);
      topics.set(t.name, { name: t.name, topicId: t.topicId, isInternal: t.isInternal, partitions });
    }
    // Connections to brokers that moved (new host or port) are closed. A broker missing from one
    // answer keeps its connections: a restarting broker is briefly absent, and closing would fail
    // the requests in flight to it for nothing.
    for (const [key, connection] of this.connections) {
      if (key.startsWith("bootstrap|")) continue;
      const nodeId = Number(key.slice(0, key.indexOf("|")));
      const broker = brokers.get(nodeId) ?? this.coordinatorHosts.get(nodeId);
      if (broker && !key.startsWith(`${nodeId}|${broker.host}:${broker.port}|`)) {
        connection.close();
        this.connections.delete(key);
      }
    }
    this.meta = { clusterId: answer.clusterId, controllerId: answer.controllerId, brokers, topics, updatedAt: Date.now() };
    this.stale = false;
    return this.meta;
  }
}

export function tpKey(tp: TopicPartition): string {
  return `${tp.topic}:${tp.partition}`;
}

function asTributary(error: unknown): TributaryError {
  if (error instanceof TributaryError) return error;
  const wrapped = new TributaryError(error instanceof Error ? error.message : String(error), { cause: error });
  return wrapped;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
