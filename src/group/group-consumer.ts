/**
 * The group consumer: Kafka consumer-group membership with one supervised worker per assigned
 * partition (the model of Elsa's group manager and KafkaClient.Consumer).
 *
 *   membership (membership.ts)      joins, heartbeats, gets this member's partitions
 *        │ onAssign / onRevoke / onLost
 *   this file                      positions from committed offsets, workers, commits, drain
 *        │ assign()                           ▲ batches
 *   fetcher (consumer/consumer.ts)  ──────────┘ Fetch per leader, decoding, resets
 *        │
 *   workers (partition-worker.ts)   one per partition: handler calls in order, offset tracker
 *
 * Commits: every `commitIntervalMs`, on revoke (after draining) and on stop, each partition's
 * `committable()` offset is committed with the current generation — never past a record that is
 * not acknowledged. Lost partitions (the group moved on) are not committed. Acknowledgements that
 * carry another generation than the partition's worker are dropped and counted. A KIP-848 commit
 * refused with STALE_MEMBER_EPOCH is made again once the membership has the newer epoch.
 *
 * Backpressure: a partition whose worker has `prefetchCount` records or `prefetchBytes` bytes
 * queued is paused in the fetcher, and resumed when its queue is below half of both.
 */
import type { TopicPartition } from "../client/cluster.ts";
import { tpKey } from "../client/cluster.ts";
import { createConsumer, recordRunOf, type ConsumerOptions, type Consumer as Fetcher, type OffsetResetPolicy, type SeekTarget } from "../consumer/consumer.ts";
import { KafkaProtocolError, TributaryError } from "../errors.ts";
import type { DecodedRecord } from "../records/types.ts";
import { resolveAssignors, type Assignor, type AssignorName } from "./assignors.ts";
import { resolvesWithin } from "./alarm.ts";
import { GroupEvents } from "./events.ts";
import { ConsumerMembership } from "./consumer-membership.ts";
import { ClassicMembership, type Membership } from "./membership.ts";
import { commitOffsets, fetchCommittedOffsets } from "./offset-store.ts";
import { createProducer, type Producer } from "../producer/producer.ts";
import { PartitionWorker, RecordFailure, type CaughtUpNotification, type ExhaustedInput, type ExhaustedOutcome, type RecordsNotification } from "./partition-worker.ts";
import { Backoff } from "../transport/backoff.ts";

export type { CaughtUpNotification, RecordsNotification };

export interface GroupConsumerOptions extends Omit<ConsumerOptions, "offsetResetPolicy"> {
  groupId: string;
  topics: readonly string[];
  /** Assignors offered, in order of preference. Default ["range"]. */
  assignors?: readonly (AssignorName | Assignor)[];
  /** Static membership (KIP-345): a stable id per process; a restart within the session keeps the partitions. */
  groupInstanceId?: string;
  /** Default 45 s. Classic protocol only: with "consumer" the broker's `group.consumer.session.timeout.ms` applies. */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for members to rejoin in a rebalance. Default 60 s. */
  rebalanceTimeoutMs?: number;
  /** Default 3 s (at most a third of the session). With "consumer", the coordinator's interval replaces it after the first heartbeat. */
  heartbeatIntervalMs?: number;
  /** Default 5 s. */
  commitIntervalMs?: number;
  /**
   * Where a partition without a committed offset starts: "earliest", "latest", the first record at
   * or after a timestamp, or an explicit offset (a number). Default "latest".
   */
  beginOffset?: BeginOffset;
  /** What an out-of-range position does. Default: `beginOffset` ("latest" for a timestamp or an offset). */
  offsetResetPolicy?: OffsetResetPolicy;
  /** Records per handler call at most. Default: everything queued for the partition. */
  maxBatchSize?: number;
  /** "auto" (default): a call's records are acknowledged when the handler returns. "manual": call `ack`. */
  ack?: "auto" | "manual";
  /** How long stop/revoke waits for running handler calls. Default 5 s. */
  drainMs?: number;
  /** Per-partition fetch-ahead: records queued before fetching pauses. Default 10,000. */
  prefetchCount?: number;
  /** Per-partition fetch-ahead in bytes. Default 8 MiB. */
  prefetchBytes?: number;
  /** Delays between retries of a failing handler. Default 200 ms growing to 30 s. */
  retryBackoff?: { initialMs?: number; maxMs?: number };
  /** How often the leader looks for new partitions of the subscribed topics. Default 30 s. */
  metadataCheckMs?: number;
  /** "classic" (default): JoinGroup/SyncGroup, assignors run in the client. "consumer": KIP-848, the coordinator assigns. */
  groupProtocol?: "classic" | "consumer";
  /** With "consumer": the coordinator's assignor ("uniform", "range"). Default: the broker's default. */
  remoteAssignor?: string;
  /**
   * Concurrency inside a partition: its records split by the murmur2 of their key into this many
   * lanes handled concurrently, each key in order. Default 1.
   */
  lanesPerPartition?: number;
  /** What happens when a handler keeps failing. Default: retry for ever, with backoff (nothing is lost). */
  onHandlerError?: HandlerErrorPolicy;
  /**
   * A handler call running longer than this is a stall (`maxPollInterval`'s role): it is reported,
   * and the member leaves the group until the call returns, so the group does not wait on it. Default 5 min.
   */
  maxHandlerMs?: number;
}

export interface HandlerErrorPolicy {
  /** Retries after the first attempt before `then` applies. Default 5. */
  retries?: number;
  /**
   * - "dead-letter": the failed records go to `deadLetterTopic` (headers name the origin topic,
   *   partition, offset, group and error), then work goes on;
   * - "skip": the failed records are acknowledged as they are (reported in a "skipped" event);
   * - "stop" (default): the partition stops at the failed records and is reported unhealthy.
   */
  then?: "dead-letter" | "skip" | "stop";
  deadLetterTopic?: string;
}

export type GroupNotification =
  | { assigned: TopicPartition[]; generationId: number }
  | { revoked: TopicPartition[]; generationId: number }
  | { lost: TopicPartition[]; generationId: number; reason: string }
  | CaughtUpNotification
  | RecordsNotification;

/** The notifications the membership sends (not a partition worker's). */
type MembershipNotification = Extract<GroupNotification, { assigned: TopicPartition[] } | { revoked: TopicPartition[] } | { lost: TopicPartition[] }>;

export interface GroupRecord extends DecodedRecord {
  topic: string;
  partition: number;
  generationId: number;
}

export interface GroupRunOptions {
  /** Gets every notification; `{ records }` calls run in the partition's worker, one at a time per partition. */
  handler?: (notification: GroupNotification) => unknown;
  /** Convenience: one call per record (acknowledged when it returns, in "auto" mode). */
  eachRecord?: (record: GroupRecord) => unknown;
}

export interface AckInput extends TopicPartition {
  generationId: number;
  offset: number;
}

/** Where a group member starts a partition that has no committed offset (see `beginOffset`). */
export type BeginOffset = "earliest" | "latest" | number | { timestamp: number };

export interface PartitionStatus extends TopicPartition {
  generationId: number;
  /** False once the error policy stopped the partition ("stop"). */
  healthy: boolean;
  committed: number;
  committable: number;
  pending: number;
  queued: number;
  lag: number;
  paused: boolean;
}

export interface GroupConsumer {
  readonly events: GroupEvents;
  readonly fetcher: Fetcher;
  readonly groupId: string;
  /** Joins the group and consumes until `stop()` (resolves then) or a fatal error (rejects). */
  run(options: GroupRunOptions): Promise<void>;
  /** Drains (up to `drainMs`), commits what was acknowledged, leaves the group. */
  stop(): Promise<void>;
  /** Manual acknowledgement; false (and a "stale-ack" event) when the generation is not the partition's current one. */
  ack(ack: AckInput): boolean;
  /** Commits what is committable now. */
  commit(): Promise<void>;
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /**
   * Moves an assigned partition: queued records are dropped, records in flight are forgotten (their
   * acknowledgements no longer count), and the next commit is the new position. Resolves with it.
   */
  seek(tp: TopicPartition, target: SeekTarget): Promise<number>;
  assignment(): TopicPartition[];
  readonly memberId: string;
  readonly generationId: number;
  status(): PartitionStatus[];
  readonly stats: { staleAcks: number; commits: number; commitErrors: number; rebalances: number; handled: number; deadLettered: number; skipped: number; stalls: number };
}

export function createGroupConsumer(options: GroupConsumerOptions): GroupConsumer {
  return new ClassicGroupConsumer(options);
}

const MiB = 1024 * 1024;
const STALE_MEMBER_EPOCH = 113;
/** Commits of the same offsets after STALE_MEMBER_EPOCH answers, each after the epoch moved on. */
const MAX_STALE_EPOCH_COMMITS = 3;

/** A worker's offset due to be committed. */
interface DueCommit {
  worker: PartitionWorker;
  offset: number;
}

/** The workers whose committable offset moved past their last commit, with that offset. */
function dueCommits(workers: PartitionWorker[]): DueCommit[] {
  return workers.map((worker) => ({ worker, offset: worker.committable() })).filter(({ worker, offset }) => offset > worker.lastCommitted);
}
/** What a queued record counts for `prefetchBytes` beyond its key and value: its columns (44 bytes) and, once handled, its object. */
const RECORD_OVERHEAD_BYTES = 70;

class ClassicGroupConsumer implements GroupConsumer {
  readonly events = new GroupEvents();
  readonly fetcher: Fetcher;
  readonly groupId: string;
  readonly stats = { staleAcks: 0, commits: 0, commitErrors: 0, rebalances: 0, handled: 0, deadLettered: 0, skipped: 0, stalls: 0 };

  private readonly options: GroupConsumerOptions;
  private readonly membership: Membership;
  private readonly workers = new Map<string, PartitionWorker>();
  private readonly userPaused = new Set<string>();
  private readonly fullPaused = new Set<string>();
  private readonly beginOffset: BeginOffset;
  private readonly resetPolicy: OffsetResetPolicy;
  private readonly drainMs: number;
  private readonly prefetchCount: number;
  private readonly prefetchBytes: number;
  private handler: ((notification: GroupNotification) => unknown) | undefined;
  private running: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private fatal: ((error: unknown) => void) | undefined;
  private commitTimer: ReturnType<typeof setInterval> | undefined;
  private stallTimer: ReturnType<typeof setInterval> | undefined;
  private deadLetterProducer: Producer | undefined;
  private readonly errorPolicy: Required<Omit<HandlerErrorPolicy, "deadLetterTopic">> & { deadLetterTopic?: string } | undefined;
  private readonly maxHandlerMs: number;
  private readonly lanes: number;
  private committing: Promise<void> = Promise.resolve();

  constructor(options: GroupConsumerOptions) {
    if (typeof options.groupId !== "string" || options.groupId === "") throw new TypeError("groupId must be a non-empty string");
    if (!options.topics?.length) throw new TypeError("topics must name at least one topic");
    this.options = options;
    this.groupId = options.groupId;
    this.beginOffset = options.beginOffset ?? "latest";
    if (typeof this.beginOffset === "number" && !(Number.isSafeInteger(this.beginOffset) && this.beginOffset >= 0)) {
      throw new RangeError(`beginOffset must be "earliest", "latest", { timestamp } or an offset (an integer, 0 or more), not ${this.beginOffset}`);
    }
    this.drainMs = options.drainMs ?? 5_000;
    this.prefetchCount = options.prefetchCount ?? 10_000;
    this.prefetchBytes = options.prefetchBytes ?? 8 * MiB;
    this.maxHandlerMs = options.maxHandlerMs ?? 300_000;
    this.lanes = options.lanesPerPartition ?? 1;
    if (!Number.isInteger(this.lanes) || this.lanes < 1 || this.lanes > 1024) throw new RangeError("lanesPerPartition must be an integer from 1 to 1024");
    if (options.onHandlerError) {
      const { retries = 5, then = "stop", deadLetterTopic } = options.onHandlerError;
      if (!(retries >= 0)) throw new RangeError("onHandlerError.retries must be 0 or more");
      if (!["dead-letter", "skip", "stop"].includes(then)) throw new TypeError(`unknown onHandlerError.then ${JSON.stringify(then)}`);
      if (then === "dead-letter" && !deadLetterTopic) throw new TypeError('onHandlerError.then "dead-letter" needs deadLetterTopic');
      this.errorPolicy = { retries, then, deadLetterTopic };
    }
    this.resetPolicy = options.offsetResetPolicy ?? (typeof this.beginOffset === "string" ? this.beginOffset : "latest");
    this.fetcher = createConsumer({ ...options, offsetResetPolicy: this.resetPolicy });
    const sessionTimeoutMs = options.sessionTimeoutMs ?? 45_000;
    const groupProtocol = options.groupProtocol ?? "classic";
    if (groupProtocol !== "classic" && groupProtocol !== "consumer") throw new TypeError(`groupProtocol must be "classic" or "consumer", got ${JSON.stringify(groupProtocol)}`);
    if (groupProtocol === "consumer" && options.assignors !== undefined) throw new TypeError('assignors apply to groupProtocol "classic" only; with "consumer" the coordinator assigns (see remoteAssignor)');
    if (groupProtocol === "classic" && options.remoteAssignor !== undefined) throw new TypeError('remoteAssignor applies to groupProtocol "consumer" only');
    this.membership = new (groupProtocol === "consumer" ? ConsumerMembership : ClassicMembership)({
      cluster: this.fetcher.cluster,
      groupId: options.groupId,
      topics: [...options.topics],
      assignors: groupProtocol === "consumer" ? [] : resolveAssignors(options.assignors),
      remoteAssignor: options.remoteAssignor ?? null,
      sessionTimeoutMs,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? Math.min(3_000, Math.floor(sessionTimeoutMs / 3)),
      groupInstanceId: options.groupInstanceId ?? null,
      metadataCheckMs: options.metadataCheckMs ?? 30_000,
      events: this.events,
    }, {
      onAssign: (partitions, generationId) => this.onAssign(partitions, generationId),
      onRevoke: (partitions, generationId) => this.onRevoke(partitions, generationId, true),
      onLost: (partitions, generationId, reason) => this.onRevoke(partitions, generationId, false, reason),
      onFatal: (error) => this.fatal?.(error),
    });
  }

  get memberId(): string {
    return this.membership.memberId;
  }

  get generationId(): number {
    return this.membership.generationId;
  }

  run(runOptions: GroupRunOptions): Promise<void> {
    if (this.running) throw new TributaryError("run() was called already");
    if (!runOptions.handler === !runOptions.eachRecord) throw new TypeError("run() needs exactly one of handler and eachRecord");
    this.handler = runOptions.handler ?? this.eachRecordHandler(runOptions.eachRecord!);
    // eachRecord's wrapper acknowledges record by record; only a batch handler's calls are acknowledged whole.
    this.acksPerCall = this.options.ack !== "manual" && runOptions.handler !== undefined;
    this.running = new Promise<void>((resolve, reject) => {
      this.fatal = (error) => {
        void this.shutdown(false).finally(() => reject(error));
      };
      this.resolveRun = resolve;
    });
    void this.route();
    this.membership.start();
    const interval = this.options.commitIntervalMs ?? 5_000;
    // Periodic commits wait while the member joins: the coordinator would refuse them.
    this.commitTimer = setInterval(() => void (this.membership.joining ? undefined : this.commit().catch(() => {})), interval);
    this.stallTimer = setInterval(() => this.checkStalls(), Math.min(1_000, Math.max(10, this.maxHandlerMs / 4)));
    return this.running;
  }

  private resolveRun: (() => void) | undefined;
  private acksPerCall = false;

  stop(): Promise<void> {
    this.stopping ??= this.shutdown(true).then(() => this.resolveRun?.());
    return this.stopping;
  }

  ack({ topic, partition, generationId, offset }: AckInput): boolean {
    const worker = this.workers.get(tpKey({ topic, partition }));
    if (!worker || worker.generationId !== generationId) {
      this.stats.staleAcks++;
      this.events.emit({ type: "stale-ack", topic, partition, offset, generationId, currentGenerationId: worker?.generationId ?? null });
      return false;
    }
    return worker.ack(offset) === "acked";
  }

  /** Commits each current worker's committable offset that moved since its last commit. Serialized. */
  commit(): Promise<void> {
    const next = this.committing.then(() => this.commitWorkers([...this.workers.values()]));
    this.committing = next.catch(() => {});
    return next;
  }

  /** Stops fetching and handling the partitions (a running call finishes). Kept across rebalances. */
  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      this.userPaused.add(tpKey(tp));
      this.workers.get(tpKey(tp))?.setPaused(true);
    }
    this.applyPause(partitions);
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      this.userPaused.delete(tpKey(tp));
      this.workers.get(tpKey(tp))?.setPaused(false);
    }
    this.applyPause(partitions);
  }

  async seek(tp: TopicPartition, target: SeekTarget): Promise<number> {
    const worker = this.workers.get(tpKey(tp));
    if (!worker) throw new TypeError(`${tpKey(tp)} is not assigned to this member`);
    worker.discardQueued();
    const offset = await this.fetcher.seek(tp, target);
    // The worker may have been revoked while ListOffsets ran.
    if (this.workers.get(tpKey(tp)) === worker) worker.resetTo(offset);
    return offset;
  }

  assignment(): TopicPartition[] {
    return [...this.workers.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  status(): PartitionStatus[] {
    return [...this.workers.values()].map((w) => ({
      topic: w.topic, partition: w.partition, generationId: w.generationId, healthy: !w.halted, committed: w.lastCommitted,
      committable: w.committable(), pending: w.pending, queued: w.queuedRecords, lag: w.lag,
      paused: this.userPaused.has(tpKey(w)) || this.fullPaused.has(tpKey(w)),
    }));
  }

  // ---------------------------------------------------------------------------------------------

  private eachRecordHandler(eachRecord: (record: GroupRecord) => unknown) {
    const manual = this.options.ack === "manual";
    return async (n: GroupNotification) => {
      if (!("records" in n)) return;
      for (const record of n.records) {
        try {
          await eachRecord({ ...record, topic: n.topic, partition: n.partition, generationId: n.generationId });
        } catch (error) {
          throw new RecordFailure(record.offset, error); // the error policy applies to this record alone
        }
        // Acknowledged one by one, so a retry after a throw resumes at the record that threw.
        if (!manual) this.ack({ topic: n.topic, partition: n.partition, generationId: n.generationId, offset: record.offset });
      }
    };
  }

  /** Moves fetched batches into their workers' queues, pausing partitions whose queue is full. */
  private async route(): Promise<void> {
    while (!this.stopping) {
      try {
        for await (const batch of this.fetcher.batches()) {
          const worker = this.workers.get(tpKey(batch));
          if (!worker) continue;
          // Queued as columns: the worker builds record objects per handler call (see record-run.ts).
          const run = recordRunOf(batch);
          const bytes = run.payloadBytes() + RECORD_OVERHEAD_BYTES * run.length;
          worker.enqueue({ run, nextOffset: batch.nextOffset, highWatermark: batch.highWatermark, bytes });
          if (worker.queuedRecords >= this.prefetchCount || worker.queuedBytes >= this.prefetchBytes) {
            this.fullPaused.add(tpKey(worker));
            this.applyPause([worker]);
          }
        }
        return; // the fetcher was closed
      } catch (error) {
        // A corrupt batch or an out-of-range position with policy "error": the fetcher paused the partition.
        const where = error instanceof TributaryError ? error as TributaryError & Partial<TopicPartition> : undefined;
        this.events.emit({ type: "error", error, topic: where?.topic, partition: where?.partition });
      }
    }
  }

  private onQueueShrink(worker: PartitionWorker): void {
    const key = tpKey(worker);
    if (!this.fullPaused.has(key)) return;
    if (worker.queuedRecords <= this.prefetchCount / 2 && worker.queuedBytes <= this.prefetchBytes / 2) {
      this.fullPaused.delete(key);
      this.applyPause([worker]);
    }
  }

  private applyPause(partitions: readonly TopicPartition[]): void {
    const assigned = new Set(this.fetcher.assignment().map(tpKey));
    const pause: TopicPartition[] = [];
    const resume: TopicPartition[] = [];
    for (const tp of partitions) {
      const key = tpKey(tp);
      if (!assigned.has(key)) continue;
      (this.userPaused.has(key) || this.fullPaused.has(key) || this.workers.get(key)?.halted ? pause : resume).push({ topic: tp.topic, partition: tp.partition });
    }
    if (pause.length > 0) this.fetcher.pause(pause);
    if (resume.length > 0) this.fetcher.resume(resume);
  }

  private async onAssign(partitions: TopicPartition[], generationId: number): Promise<void> {
    this.stats.rebalances++;
    const committed = partitions.length > 0 ? await fetchCommittedOffsets(this.fetcher.cluster, this.groupId, partitions, { requireStable: true }) : [];
    const offsets = new Map(committed.filter((c) => c.offset >= 0 && !c.error).map((c) => [tpKey(c), c.offset]));
    // Partitions without a commit start at `beginOffset`. When the fetcher's reset policy says the
    // same, it resolves them; otherwise they wait, paused at a placeholder, for a seek.
    const seekToBegin = typeof this.beginOffset !== "string" || this.beginOffset !== this.resetPolicy;
    const kept = this.fetcher.assignment().filter((tp) => this.workers.has(tpKey(tp)));
    const added = partitions.filter((tp) => !this.workers.has(tpKey(tp)));
    const seeking: TopicPartition[] = [];
    const assignments = added.map((tp) => {
      const offset = offsets.get(tpKey(tp));
      if (offset !== undefined) return { ...tp, offset };
      if (!seekToBegin) return { ...tp };
      seeking.push(tp);
      return { ...tp, offset: 0 };
    });
    for (const tp of added) {
      this.workers.set(tpKey(tp), new PartitionWorker({
        topic: tp.topic, partition: tp.partition, generationId, committedOffset: offsets.get(tpKey(tp)),
        maxBatchSize: this.options.maxBatchSize ?? Number.MAX_SAFE_INTEGER,
        autoAck: this.acksPerCall,
        handleRecords: (n) => this.handler!(n) as Promise<void>,
        handleCaughtUp: (n) => this.handler!(n) as Promise<void>,
        onQueueShrink: (w) => this.onQueueShrink(w),
        maxAttempts: this.errorPolicy ? this.errorPolicy.retries + 1 : Infinity,
        onExhausted: (input) => this.onExhausted(input),
        onHalt: (w) => this.onHalt(w),
        onCrash: (w) => this.restartFromAcknowledged(w),
        lanes: this.lanes,
        events: this.events,
        retryBackoff: { initialMs: this.options.retryBackoff?.initialMs ?? 200, maxMs: this.options.retryBackoff?.maxMs ?? 30_000 },
      }));
    }
    for (const tp of added) if (this.userPaused.has(tpKey(tp))) this.workers.get(tpKey(tp))!.setPaused(true);
    this.fetcher.assign([...kept, ...assignments]);
    if (seeking.length > 0) this.fetcher.pause(seeking);
    this.applyPause(added.filter((tp) => !seeking.includes(tp)));
    for (const tp of seeking) {
      // On failure the fetcher keeps resolving the target itself; either way the partition may go.
      void this.fetcher.seek(tp, this.beginOffset).catch((error: unknown) => this.events.emit({ type: "error", error, ...tp }))
        .finally(() => this.applyPause([tp]));
    }
    this.events.emit({ type: "assigned", generationId, partitions });
    await this.notify({ assigned: partitions, generationId });
  }

  private async onRevoke(partitions: TopicPartition[], generationId: number, commit: boolean, reason = ""): Promise<void> {
    const keys = new Set(partitions.map(tpKey));
    const leaving = [...this.workers.values()].filter((w) => keys.has(tpKey(w)));
    // Stop fetching them first: batches already in flight are dropped by the fetcher.
    this.fetcher.assign(this.fetcher.assignment().filter((tp) => !keys.has(tpKey(tp))));
    await Promise.all(leaving.map((w) => w.stop(this.drainMs)));
    if (commit) await this.commitWorkers(leaving).catch(() => {});
    for (const w of leaving) {
      this.workers.delete(tpKey(w));
      this.fullPaused.delete(tpKey(w));
      this.stats.handled += w.handled;
      w.close();
    }
    if (commit) {
      this.events.emit({ type: "revoked", generationId, partitions });
      await this.notify({ revoked: partitions, generationId });
    } else {
      this.events.emit({ type: "lost", generationId, partitions, reason });
      await this.notify({ lost: partitions, generationId, reason });
    }
  }

  private async commitWorkers(workers: PartitionWorker[]): Promise<void> {
    for (const w of workers) this.events.emit({ type: "lag", topic: w.topic, partition: w.partition, lag: w.lag });
    let due = dueCommits(workers);
    for (let attempt = 1; due.length > 0; attempt++) {
      const generationId = this.membership.generationId;
      const stale = await this.commitOnce(due, generationId);
      // KIP-848: our epoch was stale (a heartbeat bumped it and its answer was still on the way).
      // Once the answer is in, commit again — for partitions still ours, at what is committable
      // now (another commit may have gone further meanwhile: never move it back).
      if (stale.length === 0 || attempt >= MAX_STALE_EPOCH_COMMITS || !(await this.membership.refreshEpoch?.(generationId))) return;
      due = dueCommits(stale.map(({ worker }) => worker).filter((w) => this.workers.get(tpKey(w)) === w));
    }
  }

  /** One OffsetCommit of `due` in `generationId`; returns the entries refused for a stale member epoch. */
  private async commitOnce(due: DueCommit[], generationId: number): Promise<DueCommit[]> {
    const offsets = due.map(({ worker, offset }) => ({ topic: worker.topic, partition: worker.partition, offset }));
    try {
      const results = await commitOffsets(this.fetcher.cluster, {
        groupId: this.groupId, generationId, memberId: this.membership.memberId, groupInstanceId: this.options.groupInstanceId ?? null,
      }, offsets);
      let firstError: Error | undefined;
      const stale: DueCommit[] = [];
      for (const entry of due) {
        const error = results.get(tpKey(entry.worker));
        if (error) {
          firstError ??= error;
          if (error instanceof KafkaProtocolError && error.code === STALE_MEMBER_EPOCH) stale.push(entry);
        } else if (results.has(tpKey(entry.worker))) {
          entry.worker.lastCommitted = Math.max(entry.worker.lastCommitted, entry.offset);
        }
      }
      if (firstError) this.stats.commitErrors++;
      else this.stats.commits++;
      this.events.emit({ type: "commit", generationId, offsets, error: firstError });
      return stale;
    } catch (error) {
      this.stats.commitErrors++;
      this.events.emit({ type: "commit", generationId, offsets, error: error as Error });
      throw error;
    }
  }

  /** The error policy, once a call failed `retries + 1` times. */
  private async onExhausted(input: ExhaustedInput): Promise<ExhaustedOutcome> {
    const policy = this.errorPolicy!;
    const offsets = input.records.map((r) => r.offset);
    if (policy.then === "skip") {
      this.stats.skipped += offsets.length;
      this.events.emit({ type: "skipped", topic: input.topic, partition: input.partition, offsets, error: input.error });
      return "handled";
    }
    if (policy.then === "dead-letter") return this.deadLetter(input, policy.deadLetterTopic!);
    return "stop";
  }

  /**
   * Sends failed records to the dead-letter topic, retrying (with backoff) until the broker has
   * them: only then are they acknowledged. A stop before that halts the partition instead, so the
   * records stay uncommitted.
   */
  private async deadLetter(input: ExhaustedInput, topic: string): Promise<ExhaustedOutcome> {
    this.deadLetterProducer ??= createProducer(this.options); // same brokers, TLS, SASL and client id
    const reason = input.error instanceof Error ? `${input.error.name}: ${input.error.message}` : String(input.error);
    const messages = input.records.map((r) => ({
      key: r.key, value: r.value, timestamp: r.timestamp,
      headers: [
        ...r.headers.map((h) => ({ key: h.key, value: h.value })),
        { key: "tributary.dlq.topic", value: input.topic },
        { key: "tributary.dlq.partition", value: String(input.partition) },
        { key: "tributary.dlq.offset", value: String(r.offset) },
        { key: "tributary.dlq.group", value: this.groupId },
        { key: "tributary.dlq.error", value: reason },
        { key: "tributary.dlq.attempts", value: String(input.attempts) },
      ],
    }));
    const backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
    while (!this.stopping) {
      try {
        await this.deadLetterProducer.send({ topic, messages });
        this.stats.deadLettered += messages.length;
        this.events.emit({ type: "dead-lettered", topic: input.topic, partition: input.partition, offsets: input.records.map((r) => r.offset), deadLetterTopic: topic, error: input.error });
        return "handled";
      } catch (error) {
        this.events.emit({ type: "error", error, topic: input.topic, partition: input.partition });
        await new Promise((resolve) => setTimeout(resolve, backoff.next()));
      }
    }
    return "stop";
  }

  private onHalt(worker: PartitionWorker): void {
    // Through applyPause: during a revoke or stop the fetcher has let go of the partition already.
    this.applyPause([worker]);
    this.events.emit({ type: "partition-stopped", topic: worker.topic, partition: worker.partition, committable: worker.committable() });
  }

  /**
   * A worker whose loop crashed restarts from its last acknowledged offset: what it had queued or
   * was handling is fetched again from there (so it is neither lost nor committed unhandled).
   */
  private restartFromAcknowledged(worker: PartitionWorker): void {
    if (this.workers.get(tpKey(worker)) !== worker) return;
    const offset = worker.committable();
    if (offset < 0) return; // nothing delivered yet: the fetcher's position is still the start
    worker.resetTo(offset);
    void this.fetcher.seek(worker, offset).catch((error: unknown) => this.events.emit({ type: "error", error, topic: worker.topic, partition: worker.partition }));
  }

  /** Calls running past `maxHandlerMs`: report them, and leave the group until they return. */
  private checkStalls(): void {
    const now = Date.now();
    const stalled = [...this.workers.values()].filter((w) => w.callStartedAt !== undefined && now - w.callStartedAt > this.maxHandlerMs);
    const fresh = stalled.filter((w) => !this.stallsReported.has(w));
    if (fresh.length === 0) return;
    for (const w of fresh) {
      this.stallsReported.add(w);
      this.stats.stalls++;
      this.events.emit({ type: "stall", topic: w.topic, partition: w.partition, durationMs: now - w.callStartedAt!, call: w.callKind });
    }
    if (this.stopping) return;
    void this.membership.leaveUntil(Promise.all(stalled.map((w) => w.finished))).catch((error: unknown) => this.events.emit({ type: "error", error }));
  }

  private readonly stallsReported = new WeakSet<PartitionWorker>();

  /**
   * An `{ assigned }`, `{ revoked }` or `{ lost }` call. The membership waits for it (so the
   * application sees them in order), but for `maxHandlerMs` at most: past that the call is
   * reported as a stall and the membership goes on, so a stuck notification cannot keep this
   * member from rejoining, or its heartbeats from running, for ever.
   */
  private async notify(notification: MembershipNotification): Promise<void> {
    const startedAt = Date.now();
    const call = (async () => this.handler?.(notification))().catch((error: unknown) => {
      this.events.emit({ type: "error", error });
    });
    if (await resolvesWithin(call, this.maxHandlerMs)) return;
    const [kind, partitions] = "assigned" in notification ? ["assigned", notification.assigned] as const
      : "revoked" in notification ? ["revoked", notification.revoked] as const
      : ["lost", notification.lost] as const;
    this.stats.stalls++;
    this.events.emit({ type: "notification-stall", notification: kind, partitions, durationMs: Date.now() - startedAt });
  }

  /** Leaves the group: with `graceful`, drains and commits first (membership.stop revokes everything). */
  private async shutdown(graceful: boolean): Promise<void> {
    if (this.commitTimer) clearInterval(this.commitTimer);
    if (this.stallTimer) clearInterval(this.stallTimer);
    try {
      if (graceful) {
        await this.membership.stop();
      } else {
        await Promise.all([...this.workers.values()].map((w) => w.stop(this.drainMs)));
      }
    } finally {
      for (const w of this.workers.values()) w.close();
      this.workers.clear();
      await this.deadLetterProducer?.close().catch(() => {});
      await this.fetcher.close();
    }
  }
}
