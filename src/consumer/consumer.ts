/**
 * The partition consumer (assign mode): the application names the partitions it reads, and where.
 *
 * - One long-polling Fetch request per leader broker at a time, covering every assigned partition
 *   it leads that is fetchable (not paused, its position known, no batch of it buffered), on the
 *   cluster's "fetch" connection; while the broker's answers carry records, two at a time without
 *   long polling (each for different partitions, see `schedule`). ListOffsets (resets, seeks)
 *   travel on the "admin" connection so they never wait behind a long-polling Fetch.
 * - Records are decoded with one `decodeRecordBatches` call per partition per response. Positions
 *   advance by each complete batch's `lastOffset + 1` (compacted gaps, control batches and aborted
 *   batches included); records below the position (the first batch of a fetch from the middle of a
 *   batch) are skipped. A truncated trailing batch is fetched again from where it starts; when no
 *   batch fits in `partitionMaxBytes` the next fetch of that partition asks for more (doubling, up to
 *   `maxBytes`), as KIP-74 intends. Control records are never delivered.
 * - read_committed: the broker answers up to the last stable offset and lists the aborted
 *   transactions of the range; a transactional batch whose producer has an aborted transaction
 *   starting at or before it is dropped, until that producer's ABORT marker.
 * - Fetch-ahead with per-partition backpressure: while a partition's delivered batch is being
 *   handled (until the iterator asks for the next one, or the `eachBatch` handler settles), the
 *   partition is fetched once more and that answer is buffered, not delivered: at most one
 *   undelivered batch (and at most `partitionMaxBytes` of it, more only for a batch bigger than
 *   that, KIP-74) per partition. It is delivered when the batch before it is handled, and the
 *   partition is not fetched again before then. So fetching overlaps handling, and a slow handler
 *   holds at most one batch of its partition in memory. A broker's next Fetch waits up to 100 ms
 *   for a partition blocked by its buffered batch, so that a long poll of its idle partitions does
 *   not hold the busy one back for `maxWaitMs` after every batch. A buffered batch is dropped when
 *   its partition is moved (seek, assign with an offset, a failed `eachBatch` handler) or
 *   unassigned; while the partition is paused it is kept, and delivered after `resume`.
 *   `position()` is the next offset to fetch: past the buffered batch, when there is one. Errors of
 *   a partition (corrupt batch, out of range with "error", …) found while its batch is handled are
 *   buffered the same way, so they surface after the records before them.
 * - Errors: OFFSET_OUT_OF_RANGE follows `offsetResetPolicy` ("error": `OffsetOutOfRangeError`);
 *   leadership/metadata errors refresh metadata and continue after a backoff; a corrupt batch
 *   delivers the records before it, then surfaces `CorruptRecordError` (topic and partition set) and
 *   pauses the partition at the corrupt batch; broken connections back off and reconnect.
 */
import { Cluster, DEFAULT_RETRY, isRetriable, tpKey, type ClusterMetadata, type ClusterOptions, type RetryOptions, type TopicPartition } from "../client/cluster.ts";
import { ConnectionError, CorruptRecordError, KafkaProtocolError, OffsetOutOfRangeError, TributaryError, UnsupportedMessageFormatError } from "../errors.ts";
import { kafkaError } from "../protocol/error-codes.ts";
import { APIS, type FetchResponse } from "../protocol/generated/index.ts";
import { decodeRecordBatches } from "../records/decode.ts";
import { ArrayRun, SetRun, type RecordRun } from "../records/record-run.ts";
import type { RecordSet } from "../records/record-set.ts";
import type { DecodedRecord } from "../records/types.ts";
import { Backoff } from "../transport/backoff.ts";
import { ioTurn } from "./io-turn.ts";

export type IsolationLevel = "read_uncommitted" | "read_committed";
export type OffsetResetPolicy = "latest" | "earliest" | "error";
/** Where `seek` moves a partition: an offset, the log's start or end, or the first offset at or after a time. */
export type SeekTarget = number | "earliest" | "latest" | { timestamp: number };

export interface ConsumerOptions extends Pick<ClusterOptions, "brokers" | "clientId" | "tls" | "authenticate" | "socketFactory" | "connectTimeoutMs" | "requestTimeoutMs" | "reconnectBackoff" | "metadataMaxAgeMs"> {
  /** Default "read_uncommitted". */
  isolationLevel?: IsolationLevel;
  /** Fetch: the broker answers once this many bytes are ready (or `maxWaitMs` passed). Default 1. */
  minBytes?: number;
  /** Fetch: the most bytes of one response. Default 50 MiB. */
  maxBytes?: number;
  /** Fetch: how long the broker may wait for `minBytes`. Default 500 ms. */
  maxWaitMs?: number;
  /** Fetch: the most bytes per partition in one response. Default 1 MiB. */
  partitionMaxBytes?: number;
  /** Where a partition without a valid position starts. Default "latest". */
  offsetResetPolicy?: OffsetResetPolicy;
  /** Check each batch's CRC-32C. Default true. */
  verifyCrc?: boolean;
  /** Retries of ListOffsets/metadata. */
  retry?: RetryOptions;
}

export interface Assignment extends TopicPartition {
  /** Where to start; without it, `offsetResetPolicy` decides ("error" then refuses the assignment). */
  offset?: number;
}

export interface ConsumerBatch {
  topic: string;
  partition: number;
  /**
   * Data records at or after the position, in offset order (control and aborted records removed).
   * Built when first read; once the batch is handled the consumer drops them, and a later read
   * builds equal record objects again (keep the array itself if you need the same objects).
   */
  records: DecodedRecord[];
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  /** The partition's position after this batch (where the fetch after it starts; commit this). */
  nextOffset: number;
}

export interface ConsumerRecord extends DecodedRecord {
  topic: string;
  partition: number;
}

export interface EachBatchOptions {
  eachBatch: (batch: ConsumerBatch) => Promise<void> | void;
  /** Handlers of different partitions running at once. Default 1. */
  partitionsConsumedConcurrently?: number;
}

export interface Consumer {
  readonly cluster: Cluster;
  /** Replaces the assignment. Partitions kept keep their position unless an offset is given. */
  assign(partitions: readonly Assignment[]): void;
  assignment(): TopicPartition[];
  /** Moves a partition; resolves with the new position (ListOffsets for the named targets). */
  seek(tp: TopicPartition, target: SeekTarget): Promise<number>;
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  paused(): TopicPartition[];
  /**
   * The next offset to fetch, or undefined while it is being resolved (or not assigned). With a
   * batch fetched ahead and not delivered yet (see `stats.bufferedBatches`), it is past that batch:
   * use a delivered batch's `nextOffset` for what was handled.
   */
  position(tp: TopicPartition): number | undefined;
  /** Batches as they arrive; one reader at a time. Errors (corrupt batch, out of range with "error") are thrown. */
  batches(): AsyncIterableIterator<ConsumerBatch>;
  /** Single records, in order per partition. */
  records(): AsyncIterableIterator<ConsumerRecord>;
  /** Calls `eachBatch` per batch until `close()`; rejects with the first error (the partition is paused). */
  run(options: EachBatchOptions): Promise<void>;
  /** Stats for tests and monitoring. */
  readonly stats: ConsumerStats;
  close(): Promise<void>;
}

export interface ConsumerStats {
  fetchRequests: number;
  fetchErrors: number;
  /** Batches fetched while their partition's previous batch was being handled, so far. */
  fetchedAhead: number;
  /** Batches fetched ahead and not delivered yet (at most one per partition). */
  readonly bufferedBatches: number;
  /** Records in those batches. */
  readonly bufferedRecords: number;
}

/** A partition's answers fetched while its batch is handled, delivered after it. */
interface Ahead {
  generation: number;
  /** At most one batch, then errors (a corrupt batch after the records before it). */
  items: Item[];
}

interface PartitionState {
  topic: string;
  partition: number;
  key: string;
  position: number | null;
  reset: Exclude<SeekTarget, number> | null;
  resolving: boolean;
  paused: boolean;
  /** Its delivered batch is being handled (taken and not yet released). */
  busy: boolean;
  /** Fetched while busy, waiting for the busy batch to be handled; blocks further fetches. */
  ahead: Ahead | null;
  /** Date.now() when `ahead` was buffered. */
  blockedSince: number;
  inFlight: boolean;
  /** Not fetched since its position was set (assign, seek): it may well have records waiting. */
  fresh: boolean;
  /** Bumped by seek/assign: fetch answers sent before are dropped. */
  generation: number;
  fetchBytes: number;
  retryAt: number;
  backoff: Backoff;
}

type BatchItem = { kind: "batch"; state: PartitionState; generation: number; fetchOffset: number; count: number; batch: LazyBatch };
type Item = BatchItem | { kind: "error"; error: TributaryError };

/** Fetch error codes answered by refreshing metadata and fetching again. */
const REFRESH_CODES = new Set([3, 5, 6, 9, 56, 74, 75, 100, 101]);
const OFFSET_OUT_OF_RANGE = 1;
/**
 * How long a broker's next Fetch waits for its partitions blocked by a buffered batch. Without it,
 * a Fetch of only the idle partitions would long-poll (`maxWaitMs`) while the busy partition,
 * unblocked a moment later, waits behind it: one stall per batch.
 */
const BUSY_GRACE_MS = 100;
const MiB = 1024 * 1024;

export function createConsumer(options: ConsumerOptions): Consumer {
  return new PartitionConsumer(options);
}

class PartitionConsumer implements Consumer {
  readonly cluster: Cluster;
  readonly stats: ConsumerStats;
  private readonly isolation: 0 | 1;
  private readonly minBytes: number;
  private readonly maxBytes: number;
  private readonly maxWaitMs: number;
  private readonly partitionMaxBytes: number;
  private readonly resetPolicy: OffsetResetPolicy;
  private readonly verifyCrc: boolean;
  private readonly requestTimeoutMs: number;
  private readonly states = new Map<string, PartitionState>();
  /** Fetch requests in flight per broker (up to two while it streams: see `schedule`). */
  private readonly brokersInFlight = new Map<number, number>();
  /** Brokers whose last Fetch answer carried records. */
  private readonly brokersStreaming = new Set<number>();
  private readonly brokerRetryAt = new Map<number, number>();
  private readonly brokerBackoff = new Map<number, Backoff>();
  private readonly queue: Item[] = [];
  private waiters: ((item: Item | undefined) => void)[] = [];
  private connecting: Promise<unknown> | undefined;
  private closed = false;
  private scheduling = false;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private metaBackoff = new Backoff({ initialMs: 100, maxMs: 1_000 });
  /** When the current run of metadata failures began, and whether readers were told of it. */
  private metadataFailingSince: number | undefined;
  private metadataFailureReported = false;
  private readonly bootstrapDeadlineMs: number;

  constructor(options: ConsumerOptions) {
    this.cluster = new Cluster(options);
    this.bootstrapDeadlineMs = options.retry?.deadlineMs ?? DEFAULT_RETRY.deadlineMs;
    const states = this.states;
    const buffered = (count: (items: Item[]) => number) => {
      let n = 0;
      for (const s of states.values()) if (s.ahead && s.ahead.generation === s.generation) n += count(s.ahead.items);
      return n;
    };
    this.stats = {
      fetchRequests: 0, fetchErrors: 0, fetchedAhead: 0,
      get bufferedBatches() {
        return buffered((items) => items.filter((i) => i.kind === "batch").length);
      },
      get bufferedRecords() {
        return buffered((items) => items.reduce((n, i) => n + (i.kind === "batch" ? i.count : 0), 0));
      },
    };
    this.isolation = (options.isolationLevel ?? "read_uncommitted") === "read_committed" ? 1 : 0;
    this.minBytes = options.minBytes ?? 1;
    this.maxBytes = options.maxBytes ?? 50 * MiB;
    this.maxWaitMs = options.maxWaitMs ?? 500;
    this.partitionMaxBytes = options.partitionMaxBytes ?? MiB;
    this.resetPolicy = options.offsetResetPolicy ?? "latest";
    this.verifyCrc = options.verifyCrc ?? true;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    if (!["latest", "earliest", "error"].includes(this.resetPolicy)) throw new TypeError(`unknown offsetResetPolicy ${JSON.stringify(this.resetPolicy)}`);
    if (this.partitionMaxBytes > this.maxBytes) throw new RangeError("partitionMaxBytes must not exceed maxBytes");
  }

  assign(partitions: readonly Assignment[]): void {
    this.assertOpen();
    const next = new Map<string, PartitionState>();
    for (const a of partitions) {
      if (typeof a.topic !== "string" || !Number.isInteger(a.partition) || a.partition < 0) throw new TypeError(`bad assignment ${JSON.stringify(a)}`);
      if (a.offset !== undefined && !(Number.isSafeInteger(a.offset) && a.offset >= 0)) throw new RangeError(`bad offset ${a.offset} for ${tpKey(a)}`);
      const key = tpKey(a);
      const state = this.states.get(key) ?? this.newState(a.topic, a.partition);
      if (a.offset !== undefined) {
        state.position = a.offset;
        state.reset = null;
        this.invalidate(state);
      } else if (state.position === null && state.reset === null) {
        if (this.resetPolicy === "error") throw new TypeError(`no offset for ${key} and offsetResetPolicy is "error": give one`);
        state.reset = this.resetPolicy;
      }
      next.set(key, state);
    }
    for (const [key, state] of this.states) if (!next.has(key)) this.invalidate(state);
    this.states.clear();
    for (const [key, state] of next) this.states.set(key, state);
    this.wake();
  }

  assignment(): TopicPartition[] {
    return [...this.states.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  async seek(tp: TopicPartition, target: SeekTarget): Promise<number> {
    this.assertOpen();
    const state = this.stateOf(tp);
    this.invalidate(state);
    const generation = state.generation;
    if (typeof target === "number") {
      if (!(Number.isSafeInteger(target) && target >= 0)) throw new RangeError(`bad offset ${target}`);
      state.position = target;
      state.reset = null;
      state.fetchBytes = this.partitionMaxBytes;
      this.wake();
      return target;
    }
    state.position = null;
    state.reset = null; // resolved here, not by the loop
    try {
      const offset = await this.listOffset(tp, target);
      if (state.generation === generation) {
        state.position = offset;
        state.fetchBytes = this.partitionMaxBytes;
      }
      return offset;
    } catch (error) {
      if (state.generation === generation) state.reset = target; // the loop keeps trying
      throw error;
    } finally {
      this.wake();
    }
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.stateOf(tp).paused = true;
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const state = this.stateOf(tp);
      state.paused = false;
      state.retryAt = 0;
      this.flushAhead(state); // a batch buffered before the pause
    }
    this.wake();
  }

  paused(): TopicPartition[] {
    return [...this.states.values()].filter((s) => s.paused).map(({ topic, partition }) => ({ topic, partition }));
  }

  position(tp: TopicPartition): number | undefined {
    return this.states.get(tpKey(tp))?.position ?? undefined;
  }

  async *batches(): AsyncIterableIterator<ConsumerBatch> {
    for (;;) {
      const turn = ioTurn();
      if (turn) await turn;
      const item = await this.take();
      if (!item) return;
      if (item.kind === "error") throw item.error;
      if (!this.isCurrent(item)) {
        this.release(item);
        continue;
      }
      try {
        yield item.batch;
      } finally {
        this.release(item);
      }
    }
  }

  async *records(): AsyncIterableIterator<ConsumerRecord> {
    for await (const batch of this.batches()) {
      for (const record of batch.records) yield { topic: batch.topic, partition: batch.partition, ...record };
    }
  }

  async run(options: EachBatchOptions): Promise<void> {
    const limit = Math.max(1, options.partitionsConsumedConcurrently ?? 1);
    const running = new Set<Promise<void>>();
    let failure: unknown;
    while (failure === undefined) {
      const turn = ioTurn();
      if (turn) await turn;
      const item = await this.take();
      if (!item) break;
      if (item.kind === "error") {
        failure = item.error;
        break;
      }
      if (!this.isCurrent(item)) {
        this.release(item);
        continue;
      }
      const task = (async () => {
        try {
          await options.eachBatch(item.batch);
        } catch (error) {
          // Redelivered after resume: back to where this batch started, paused.
          if (this.isCurrent(item)) {
            item.state.position = item.fetchOffset;
            this.invalidate(item.state);
            item.state.paused = true;
          }
          failure ??= error;
          this.interruptReaders();
        } finally {
          this.release(item);
        }
      })();
      running.add(task);
      void task.finally(() => running.delete(task));
      if (running.size >= limit) await Promise.race(running);
    }
    await Promise.all(running);
    if (failure !== undefined) throw failure;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(undefined);
    this.cluster.close();
  }

  // ---------------------------------------------------------------------------------------------

  private newState(topic: string, partition: number): PartitionState {
    return {
      topic, partition, key: tpKey({ topic, partition }), position: null, reset: null, resolving: false, paused: false,
      busy: false, ahead: null, blockedSince: 0, inFlight: false, fresh: true, generation: 0, fetchBytes: this.partitionMaxBytes, retryAt: 0,
      backoff: new Backoff({ initialMs: 100, maxMs: 2_000 }),
    };
  }

  private stateOf(tp: TopicPartition): PartitionState {
    const state = this.states.get(tpKey(tp));
    if (!state) throw new TypeError(`${tpKey(tp)} is not assigned`);
    return state;
  }

  private assertOpen(): void {
    if (this.closed) throw new TributaryError("the consumer was closed");
  }

  private isCurrent(item: Extract<Item, { kind: "batch" }>): boolean {
    return !this.closed && this.states.get(item.state.key) === item.state && item.state.generation === item.generation;
  }

  private take(): Promise<Item | undefined> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private push(item: Item): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.queue.push(item);
  }

  /** Wakes waiting readers with nothing (a `run` whose handler failed stops waiting). */
  private interruptReaders(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(undefined);
  }

  /**
   * Bootstraps once: concurrent first metadata requests on the bootstrap sockets would close each
   * other's socket (the cluster closes bootstrap sockets when the first answer arrives).
   */
  private ready(): Promise<unknown> {
    this.connecting ??= this.cluster.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  private release(item: BatchItem): void {
    item.batch[FORGET]();
    item.state.busy = false;
    this.flushAhead(item.state);
    this.wake();
  }

  /**
   * Metadata failures are retried (that is what a restarting broker looks like), but readers hear
   * once — `batches()` throws, `run()` rejects — of one that retrying cannot fix (the peer is not a
   * Kafka broker) and, before any broker ever answered, of one that lasts past `retry.deadlineMs`
   * (nothing listens there): a consumer pointed at the wrong address must not wait in silence.
   */
  private reportMetadataFailure(error: unknown): void {
    const since = (this.metadataFailingSince ??= Date.now());
    if (this.metadataFailureReported) return;
    // Metadata answered once (the cluster keeps it): a failure now is a broker restarting.
    const bootstrapped = this.cluster.metadata !== undefined;
    if (isRetriable(error) && (bootstrapped || Date.now() - since < this.bootstrapDeadlineMs)) return;
    this.metadataFailureReported = true;
    this.push({ kind: "error", error: asTributary(error) });
  }

  private surface(state: PartitionState, error: TributaryError): void {
    state.paused = true;
    this.push({ kind: "error", error });
  }

  /** The partition moved (seek, assign, unassign, a failed handler): answers to earlier fetches, and what is buffered, are dropped. */
  private invalidate(s: PartitionState): void {
    s.generation++;
    s.ahead = null;
    s.fresh = true;
  }

  /** `deliver` for an error of the partition's fetch (it surfaces after the records before it). */
  private deliverError(s: PartitionState, error: TributaryError): void {
    this.deliver(s, { kind: "error", error });
  }

  /**
   * Hands a fetch's outcome for a partition to the readers: at once when none of its batches is
   * being handled, else buffered until that batch is released (per-partition order).
   */
  private deliver(s: PartitionState, item: Item): void {
    const ahead = this.currentAhead(s);
    if (ahead) {
      ahead.items.push(item);
      return;
    }
    if (s.busy) {
      s.ahead = { generation: s.generation, items: [item] };
      s.blockedSince = Date.now();
      if (item.kind === "batch") this.stats.fetchedAhead++;
      return;
    }
    this.emit(s, item);
  }

  private emit(s: PartitionState, item: Item): void {
    if (item.kind === "error") {
      this.surface(s, item.error);
      return;
    }
    s.busy = true;
    this.push(item);
  }

  /** The partition's buffered answers, unless a seek/assign/unassign made them stale (then dropped). */
  private currentAhead(s: PartitionState): Ahead | null {
    if (s.ahead && (s.ahead.generation !== s.generation || this.states.get(s.key) !== s)) s.ahead = null;
    return s.ahead;
  }

  /** Delivers what was buffered once the partition's batch is handled (kept while paused, unless it reports an error). */
  private flushAhead(s: PartitionState): void {
    const ahead = this.currentAhead(s);
    if (!ahead || s.busy || this.closed) return;
    if (s.paused && !ahead.items.some((i) => i.kind === "error")) return;
    s.ahead = null;
    for (const item of ahead.items) this.emit(s, item);
  }

  /** Runs the scheduler (again, if it is running now). */
  private wake(): void {
    if (this.closed) return;
    if (this.scheduling) {
      this.again = true;
      return;
    }
    this.scheduling = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.schedule();
        } while (this.again && !this.closed);
      } catch {
        this.wakeAt(Date.now() + this.metaBackoff.next());
      } finally {
        this.scheduling = false;
      }
    })();
  }

  private wakeAt(at: number): void {
    if (this.closed || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.wake();
    }, Math.max(0, at - Date.now()));
  }

  private async schedule(): Promise<void> {
    const now = Date.now();
    let nextAt = Infinity;
    const resets = [...this.states.values()].filter((s) => s.reset !== null && !s.resolving && s.retryAt <= now);
    for (const s of this.states.values()) if (s.reset !== null && !s.resolving && s.retryAt > now) nextAt = Math.min(nextAt, s.retryAt);
    if (resets.length > 0) void this.resolveResets(resets);

    const fetchableNow = (): PartitionState[] => {
      const out: PartitionState[] = [];
      for (const s of this.states.values()) {
        if (s.position === null || s.paused || s.inFlight || this.currentAhead(s)) continue;
        if (s.retryAt > Date.now()) {
          nextAt = Math.min(nextAt, s.retryAt);
          continue;
        }
        out.push(s);
      }
      return out;
    };
    let fetchable = fetchableNow();
    if (fetchable.length > 0) {
      let meta: ClusterMetadata;
      try {
        await this.ready();
        meta = await this.cluster.metadataFor([...new Set(fetchable.map((s) => s.topic))]);
        this.metaBackoff.reset();
        this.metadataFailingSince = undefined;
        this.metadataFailureReported = false;
      } catch (error) {
        if (this.closed) return;
        this.reportMetadataFailure(error);
        this.wakeAt(Date.now() + this.metaBackoff.next());
        return;
      }
      const byLeader = new Map<number, PartitionState[]>();
      // Brokers leading a partition blocked by its buffered batch: their Fetch waits for it a little.
      const heldUntil = new Map<number, number>();
      const grace = Math.min(BUSY_GRACE_MS, this.maxWaitMs);
      for (const s of this.states.values()) {
        if (s.paused || s.blockedSince + grace <= Date.now() || !this.currentAhead(s)) continue;
        const leader = meta.topics.get(s.topic)?.partitions[s.partition]?.leader;
        if (leader !== undefined && leader >= 0) heldUntil.set(leader, Math.max(heldUntil.get(leader) ?? 0, s.blockedSince + grace));
      }
      // Things changed while metadata was awaited (seek, pause, a batch handled): look again.
      fetchable = fetchableNow().filter((s) => meta.topics.has(s.topic) || fetchable.includes(s));
      for (const s of fetchable) {
        const p = meta.topics.get(s.topic)?.partitions[s.partition];
        if (!p || p.partition !== s.partition || p.leader < 0 || !meta.brokers.has(p.leader)) {
          // Unknown or leaderless for now: look again later.
          this.cluster.invalidateMetadata();
          s.retryAt = Date.now() + s.backoff.next();
          nextAt = Math.min(nextAt, s.retryAt);
          continue;
        }
        if ((this.brokersInFlight.get(p.leader) ?? 0) >= (this.brokersStreaming.has(p.leader) ? 2 : 1)) continue; // woken again when one ends
        const held = heldUntil.get(p.leader) ?? 0;
        if (held > Date.now()) {
          nextAt = Math.min(nextAt, held); // or sooner: a release wakes the scheduler
          continue;
        }
        const retryAt = this.brokerRetryAt.get(p.leader) ?? 0;
        if (retryAt > Date.now()) {
          nextAt = Math.min(nextAt, retryAt);
          continue;
        }
        byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), s]);
      }
      for (const [nodeId, fetchable] of byLeader) {
        // While a broker streams records, its partitions go out in two Fetches (halves, later
        // whichever are free) without long polling: the broker answers the second right after the
        // first, so one answer is decoded and handled while the next is on its way. An idle broker
        // gets one long-polling Fetch, as it always did (two would wait in line on its connection).
        // Partitions just assigned or moved (seek) are treated as streaming until an answer says
        // otherwise: they usually have records waiting (a group member taking over, a replay), and
        // a first long-polling Fetch of all of them would leave the consumer idle until the whole
        // answer arrived, then the broker idle while it was decoded. If they turn out to be caught
        // up, two empty answers come back at once and the broker is long-polled as before.
        const streaming = this.brokersStreaming.has(nodeId) || fetchable.some((s) => s.fresh);
        const inFlight = this.brokersInFlight.get(nodeId) ?? 0;
        const half = Math.ceil(fetchable.length / 2);
        const shares = streaming && inFlight === 0 && fetchable.length >= 2 ? [fetchable.slice(0, half), fetchable.slice(half)] : [fetchable];
        for (const share of shares) {
          if (this.closed) return;
          this.brokersInFlight.set(nodeId, (this.brokersInFlight.get(nodeId) ?? 0) + 1);
          for (const s of share) {
            s.inFlight = true;
            s.fresh = false;
          }
          void this.fetch(nodeId, share, meta, streaming ? 0 : this.maxWaitMs).catch((error: unknown) => {
            // A bug or an unforeseen answer: surfaced, never an unhandled rejection.
            if (!this.closed) for (const s of share) this.deliverError(s, asTributary(error, s));
          }).finally(() => {
            const left = (this.brokersInFlight.get(nodeId) ?? 1) - 1;
            if (left > 0) this.brokersInFlight.set(nodeId, left);
            else this.brokersInFlight.delete(nodeId);
            for (const s of share) s.inFlight = false;
            this.wake();
          });
        }
      }
    }
    if (nextAt < Infinity) this.wakeAt(nextAt);
  }

  private async resolveResets(states: PartitionState[]): Promise<void> {
    const groups = new Map<string, PartitionState[]>();
    for (const s of states) {
      s.resolving = true;
      const spec = JSON.stringify(s.reset);
      groups.set(spec, [...(groups.get(spec) ?? []), s]);
    }
    await Promise.all([...groups.values()].map(async (group) => {
      const spec = group[0]!.reset!;
      const generations = group.map((s) => s.generation);
      try {
        const results = await this.listOffsets(group, spec);
        group.forEach((s, i) => {
          if (s.generation !== generations[i] || s.reset === null) return;
          const r = results.get(s.key);
          if (r && r.ok) {
            s.position = r.value;
            s.reset = null;
            s.fetchBytes = this.partitionMaxBytes;
            s.backoff.reset();
          } else {
            s.retryAt = Date.now() + s.backoff.next();
          }
        });
      } catch {
        for (const s of group) s.retryAt = Date.now() + s.backoff.next();
      } finally {
        for (const s of group) s.resolving = false;
        this.wake();
      }
    }));
  }

  private async listOffset(tp: TopicPartition, target: Exclude<SeekTarget, number>): Promise<number> {
    const r = (await this.listOffsets([tp], target)).get(tpKey(tp));
    if (!r) throw kafkaError(-1, { ...tp, message: "no ListOffsets answer" })!;
    if (!r.ok) throw r.error;
    return r.value;
  }

  /** ListOffsets per leader; a timestamp past the last record resolves to the end of the log. */
  private async listOffsets(tps: readonly TopicPartition[], target: Exclude<SeekTarget, number>) {
    const timestamp = target === "earliest" ? -2 : target === "latest" ? -1 : target.timestamp;
    await this.ready();
    const results = await this.cluster.routeByLeader<TopicPartition, number>(tps, async (nodeId, share) => {
      const byTopic = new Map<string, number[]>();
      for (const tp of share) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
      const answer = await this.cluster.connectionTo(nodeId, "admin").send(APIS.ListOffsets, {
        replicaId: -1,
        isolationLevel: this.isolation,
        timeoutMs: this.requestTimeoutMs,
        topics: [...byTopic].map(([name, partitions]) => ({
          name,
          partitions: partitions.map((partitionIndex) => ({
            partitionIndex, timestamp,
            currentLeaderEpoch: this.cluster.metadata?.topics.get(name)?.partitions[partitionIndex]?.leaderEpoch ?? -1,
          })),
        })),
      });
      const out = new Map<string, { ok: true; value: number } | { ok: false; error: TributaryError }>();
      for (const t of answer.topics) {
        for (const p of t.partitions) {
          const error = kafkaError(p.errorCode, { topic: t.name, partition: p.partitionIndex });
          out.set(tpKey({ topic: t.name, partition: p.partitionIndex }), error ? { ok: false, error } : { ok: true, value: p.offset });
        }
      }
      return out;
    });
    if (typeof target === "object") {
      // No record at or after the time: the end of the log (where the next record will be).
      const past = tps.filter((tp) => {
        const r = results.get(tpKey(tp));
        return r?.ok && r.value < 0;
      });
      if (past.length > 0) for (const [key, r] of await this.listOffsets(past, "latest")) results.set(key, r);
    }
    return results;
  }

  private async fetch(nodeId: number, share: PartitionState[], meta: ClusterMetadata, maxWaitMs: number): Promise<void> {
    const sent = share.map((s) => ({ state: s, generation: s.generation, offset: s.position! }));
    const byTopic = new Map<string, typeof sent>();
    for (const entry of sent) byTopic.set(entry.state.topic, [...(byTopic.get(entry.state.topic) ?? []), entry]);
    const names = new Map<string, string>();
    for (const topic of byTopic.keys()) {
      const id = meta.topics.get(topic)?.topicId;
      if (id) names.set(id, topic);
    }
    let response: FetchResponse;
    this.stats.fetchRequests++;
    try {
      response = await this.cluster.connectionTo(nodeId, "fetch").send(APIS.Fetch, {
        replicaId: -1,
        maxWaitMs,
        minBytes: this.minBytes,
        maxBytes: this.maxBytes,
        isolationLevel: this.isolation,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, entries]) => ({
          topic,
          topicId: meta.topics.get(topic)?.topicId,
          partitions: entries.map((e) => ({
            partition: e.state.partition,
            currentLeaderEpoch: meta.topics.get(topic)?.partitions[e.state.partition]?.leaderEpoch ?? -1,
            fetchOffset: e.offset,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: e.state.fetchBytes,
          })),
        })),
        forgottenTopicsData: [],
        rackId: "",
      }, { timeoutMs: this.requestTimeoutMs + maxWaitMs });
    } catch (error) {
      if (this.closed) return;
      this.stats.fetchErrors++;
      // A broken connection (reconnects on the next send) or a timeout: back off this broker.
      this.cluster.invalidateMetadata();
      const backoff = this.brokerBackoff.get(nodeId) ?? new Backoff({ initialMs: 100, maxMs: 2_000 });
      this.brokerBackoff.set(nodeId, backoff);
      this.brokerRetryAt.set(nodeId, Date.now() + backoff.next());
      // Any ConnectionError is transient here, "closed-by-client" included: the cluster closes the
      // connections of brokers that left or moved, and the next Fetch opens a new one.
      if (!isRetriable(error) && !(error instanceof ConnectionError)) for (const s of share) this.deliverError(s, asTributary(error, s));
      return;
    }
    if (this.closed) return;
    this.brokerBackoff.get(nodeId)?.reset();
    this.brokerRetryAt.delete(nodeId);
    if (response.errorCode !== 0) {
      this.stats.fetchErrors++;
      const error = kafkaError(response.errorCode)!;
      this.brokerRetryAt.set(nodeId, Date.now() + 500);
      if (!error.retriable) for (const s of share) this.deliverError(s, error);
      return;
    }
    let carried = false;
    for (const t of response.responses) for (const p of t.partitions) carried ||= (p.records?.length ?? 0) > 0;
    if (carried) this.brokersStreaming.add(nodeId);
    else this.brokersStreaming.delete(nodeId);
    const byKey = new Map(sent.map((e) => [e.state.key, e]));
    for (const t of response.responses) {
      const topic = t.topic || names.get(t.topicId);
      if (topic === undefined) continue;
      for (const p of t.partitions) {
        const entry = byKey.get(tpKey({ topic, partition: p.partitionIndex }));
        if (!entry) continue;
        const s = entry.state;
        if (this.states.get(s.key) !== s || s.generation !== entry.generation || s.paused || s.position !== entry.offset) continue;
        this.handlePartition(s, entry.offset, p);
      }
    }
  }

  private handlePartition(s: PartitionState, fetchOffset: number, p: FetchResponse["responses"][number]["partitions"][number]): void {
    if (p.errorCode !== 0) {
      this.stats.fetchErrors++;
      if (p.errorCode === OFFSET_OUT_OF_RANGE) {
        if (this.resetPolicy === "error") {
          this.deliverError(s, new OffsetOutOfRangeError({ topic: s.topic, partition: s.partition, offset: fetchOffset }));
        } else {
          s.position = null;
          s.reset = this.resetPolicy;
        }
        return;
      }
      const error = kafkaError(p.errorCode, { topic: s.topic, partition: s.partition })!;
      if (REFRESH_CODES.has(p.errorCode) || error.retriable) {
        if (REFRESH_CODES.has(p.errorCode)) this.cluster.invalidateMetadata();
        s.retryAt = Date.now() + s.backoff.next();
        return;
      }
      this.deliverError(s, error);
      return;
    }
    s.backoff.reset();
    const blob = p.records;
    if (!blob || blob.length === 0) return;
    let set: RecordSet;
    let failure: TributaryError | undefined;
    try {
      set = decodeRecordBatches(blob, { verifyCrc: this.verifyCrc });
    } catch (error) {
      if (error instanceof CorruptRecordError || error instanceof UnsupportedMessageFormatError) {
        set = error.decodedBefore;
        if (error instanceof CorruptRecordError) {
          error.topic = s.topic;
          error.partition = s.partition;
        }
        failure = error;
      } else {
        this.deliverError(s, asTributary(error, s));
        return;
      }
    }
    const selection = this.select(set, fetchOffset, p.abortedTransactions);
    const next = set.nextOffset;
    if (next !== undefined && next > fetchOffset) {
      s.position = next;
      s.fetchBytes = this.partitionMaxBytes;
    } else if (set.truncated && failure === undefined && set.batches.length === 0) {
      // Not one whole batch fit: ask for more next time (KIP-74), up to maxBytes.
      if (s.fetchBytes >= this.maxBytes) {
        const size = set.partialBatch?.size;
        this.deliverError(s, new TributaryError(
          `${s.key}: the record batch at offset ${fetchOffset}${size === undefined ? "" : ` (${size} bytes)`} does not fit in maxBytes ` +
            `(${this.maxBytes}); raise maxBytes or seek past it`,
        ));
        return;
      }
      const want = set.partialBatch?.size ?? s.fetchBytes * 2;
      s.fetchBytes = Math.min(this.maxBytes, Math.max(s.fetchBytes * 2, want + 64));
    }
    if (selection.length > 0) {
      this.deliver(s, {
        kind: "batch", state: s, generation: s.generation, fetchOffset, count: selection.length,
        batch: lazyBatch(s, selection, p.highWatermark, p.lastStableOffset, p.logStartOffset, s.position!),
      });
    }
    if (failure) this.deliverError(s, failure);
  }

  /** The records to deliver: data records at or after the position, aborted transactions removed. */
  private select(set: RecordSet, position: number, aborted: FetchResponse["responses"][number]["partitions"][number]["abortedTransactions"]): SetRun {
    const ranges: number[] = [];
    const pending = this.isolation === 1 && aborted ? [...aborted].sort((a, b) => a.firstOffset - b.firstOffset) : [];
    const abortedProducers = new Set<number>();
    let next = 0;
    for (const batch of set.batches) {
      while (next < pending.length && pending[next]!.firstOffset <= batch.lastOffset) abortedProducers.add(pending[next++]!.producerId);
      if (batch.isControl) {
        if (batch.isTransactional && batch.recordCount > 0 && isAbortMarker(set, batch.firstRecord)) abortedProducers.delete(batch.producerId);
        continue;
      }
      if (batch.lastOffset < position) continue;
      if (this.isolation === 1 && batch.isTransactional && abortedProducers.has(batch.producerId)) continue;
      const end = batch.firstRecord + batch.recordCount;
      if (batch.baseOffset >= position) {
        ranges.push(batch.firstRecord, end);
        continue;
      }
      // The first batch of a fetch from the middle of a batch: records below the position are skipped.
      for (let i = batch.firstRecord; i < end; i++) {
        if (set.offset(i) < position) continue;
        if (ranges.length > 0 && ranges[ranges.length - 1] === i) ranges[ranges.length - 1] = i + 1;
        else ranges.push(i, i + 1);
      }
    }
    return new SetRun(set, ranges);
  }
}

/** Drops a handled batch's cached record objects (see `lazyBatch`). */
const FORGET = Symbol("forget");
/** The batch's records as a run (columns, no objects), for queues that hand them on later. */
const RUN = Symbol("run");
type LazyBatch = ConsumerBatch & { [FORGET](): void; [RUN](): RecordRun };

/**
 * The records of a batch from `createConsumer` as a `RecordRun`, without building their objects
 * (the group consumer queues runs: see record-run.ts). Any other batch: a run over its `records`.
 */
export function recordRunOf(batch: ConsumerBatch): RecordRun {
  const lazy = (batch as Partial<LazyBatch>)[RUN];
  return lazy ? lazy.call(batch) : new ArrayRun(batch.records);
}

/**
 * A batch whose record objects are built when `records` is first read (the reader handling it),
 * not when the response arrives: a response's other batches, and batches fetched ahead, stay
 * columns until then, so few record objects are alive at a time (less garbage-collection work).
 *
 * Once the batch is handled the consumer calls `[FORGET]`, which drops the cached array (a later
 * read builds equal records again). That matters more than it looks: a batch that waited in the
 * queue through a scavenge is in V8's old generation, and its reference to the young record
 * objects would keep all of them alive through every scavenge until the next full collection —
 * measured on 1M × 100-byte records: scavenges copying ~60 MB each, a third of the consumer's CPU.
 * The symbol-keyed, non-enumerable methods keep `{ ...batch }` and JSON output as they were.
 */
function lazyBatch(s: PartitionState, run: SetRun, highWatermark: number, lastStableOffset: number, logStartOffset: number, nextOffset: number): LazyBatch {
  let records: DecodedRecord[] | undefined;
  let pending: SetRun | undefined = run;
  const batch = {
    topic: s.topic,
    partition: s.partition,
    get records(): DecodedRecord[] {
      if (records === undefined) records = pending!.records();
      return records;
    },
    set records(value: DecodedRecord[]) {
      records = value;
      pending = undefined;
    },
    highWatermark, lastStableOffset, logStartOffset, nextOffset,
  };
  Object.defineProperties(batch, {
    [FORGET]: {
      value: () => {
        if (pending !== undefined) records = undefined;
      },
    },
    [RUN]: { value: () => (pending !== undefined ? pending.copy() : new ArrayRun(batch.records)) },
  });
  return batch as LazyBatch;
}

/** A control record's key: version (int16), type (int16: 0 ABORT, 1 COMMIT). */
function isAbortMarker(set: RecordSet, index: number): boolean {
  const key = set.key(index);
  return key !== null && key.length >= 4 && ((key[2]! << 8) | key[3]!) === 0;
}

function asTributary(error: unknown, tp?: TopicPartition): TributaryError {
  if (error instanceof KafkaProtocolError && tp && error.topic === undefined) {
    error.topic = tp.topic;
    error.partition = tp.partition;
  }
  if (error instanceof TributaryError) return error;
  return new TributaryError(error instanceof Error ? error.message : String(error), { cause: error });
}
