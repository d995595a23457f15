/**
 * The producer: per-partition accumulation, one Produce request per broker carrying every ready
 * partition, Java-compatible partitioning and idempotent delivery.
 *
 * - Accumulation: records are appended to the open batch of their partition. A batch is ready when
 *   it is full (`batchBytes`, estimated from the raw key/value/header sizes; a bigger record gets a
 *   batch of its own), when it is `lingerMs` old, or on `flush()`/`close()`. A full batch is sent
 *   at once (on the next turn of the event loop).
 * - Draining: the ready batches are grouped by partition leader; each leader gets Produce requests
 *   with (at most) one batch per partition each, as many as there are ready batches, while fewer
 *   than `maxInFlight` requests are outstanding on its connection.
 * - Encoding: a batch is encoded (WASM, `encodeRecordBatch`) when it is first sent, with the
 *   partition's next sequence number; retries resend the same bytes. Batches hold the callers'
 *   message objects (no copies) and keep their encoded bytes in reused slabs (`Slabs`). With
 *   compression and `compressOffThread`, where the runtime has threads (src/producer/encode-threads.ts),
 *   a batch of at least `OFF_THREAD_MIN_BYTES` is laid out when it is sealed and encoded on another thread
 *   while it waits in its queue; its producer id, epoch and sequence are written in when it is
 *   sent (`stampProducerFields`), and again if a new producer id renumbers it.
 * - Idempotence (default, needs acks "all"): InitProducerId through the cluster, per-partition
 *   sequences, up to `maxInFlight` batches in flight per partition (one until the broker has
 *   acknowledged one of the partition's batches under the current producer id). When a batch fails with a
 *   retriable error, later batches of its partition come back OUT_OF_ORDER_SEQUENCE_NUMBER (also
 *   retried); the failed batches are resent one at a time, lowest sequence first, so the log
 *   keeps the order and the broker drops duplicates. UNKNOWN_PRODUCER_ID on the first unacknowledged
 *   batch (the broker lost the producer's state) re-initialises the producer id and resends.
 *   OUT_OF_ORDER_SEQUENCE_NUMBER on the first unacknowledged batch (records lost between batches),
 *   a batch that expired after it was sent, or one that failed for good, fail with a typed error
 *   and reset the producer id (sequences restart at 0) once nothing is in flight.
 * - Retries: retriable errors (NOT_LEADER_OR_FOLLOWER and other stale-metadata errors refresh the
 *   metadata first), broken connections and timeouts are retried with backoff until the batch's
 *   delivery timeout (`deliveryTimeoutMs`, from the time it was created), then it fails with
 *   `TimeoutError` (or the last error).
 */
import { Cluster, isRetriable, type RetryOptions } from "../client/cluster.ts";
import type { AuthenticationContext, AuthenticationOutcome } from "../client/broker-connection.ts";
import { ConnectionError, DeliveryFailedError, type DeliveryFailure, KafkaProtocolError, TimeoutError, TributaryError } from "../errors.ts";
import { partitionsForKeys } from "../hashing.ts";
import { kafkaError } from "../protocol/error-codes.ts";
import { APIS, type ProduceResponse } from "../protocol/generated/index.ts";
import { encodeRecordBatchInto, layOutRecordBatch, type Bytes, type RecordInput } from "../records/encode.ts";
import { stampProducerFields } from "../records/stamp.ts";
import type { CompressionCodec } from "../records/types.ts";
import type { SocketFactory, TlsOptions } from "../transport/socket.ts";
import { BufferPool } from "./buffer-pool.ts";
import { defaultEncodeThreads, type BatchEncodeThreads } from "./encode-threads.ts";

export type Acks = "all" | -1 | 1 | 0;

export interface PartitionerInput {
  topic: string;
  key: Bytes | null | undefined;
  value: Bytes | null;
  partitionCount: number;
}

/** Returns the partition (0…partitionCount-1) for a record sent without an explicit one. */
export type Partitioner = (input: PartitionerInput) => number;

export interface ProducerOptions {
  brokers: ReadonlyArray<string | { host: string; port: number }>;
  clientId?: string;
  tls?: TlsOptions | boolean;
  socketFactory?: SocketFactory;
  authenticate?: (connection: AuthenticationContext) => Promise<void | AuthenticationOutcome>;
  /** "all" (-1, default), 1 (the leader) or 0 (no answer: offsets are -1). */
  acks?: Acks;
  /** Exactly-once per partition (producer id + sequences). Default: true with acks "all". */
  idempotent?: boolean;
  compression?: CompressionCodec;
  /** How long a partition's batch waits for more records. Default 5 ms. */
  lingerMs?: number;
  /**
   * Target size of a batch (uncompressed record bytes). Default 256 KiB: under a steady stream,
   * full batches go out while the next ones fill, so requests overlap with the broker's work
   * (measured with 5 requests in flight: 100k × 1 KiB lz4 records in 553–643 ms per run, against
   * 614–862 ms with 1 MiB batches; bench/RESULTS.md).
   */
  batchBytes?: number;
  /** Produce requests in flight per broker connection (and batches per partition). Default 5. */
  maxInFlight?: number;
  /** Per-request limit, also the broker's ack timeout. Default 30 s. */
  requestTimeoutMs?: number;
  /** A record fails if not acknowledged this long after its batch was created. Default 120 s. */
  deliveryTimeoutMs?: number;
  /**
   * How long `send` waits for its topics' metadata (Java's `max.block.ms`) before it rejects with
   * the last error: a ConnectionError when no broker answers (a closed port, a wrong address).
   * A topic the cluster does not have fails at once (UNKNOWN_TOPIC_OR_PARTITION). Default 60 s,
   * at most `deliveryTimeoutMs`. Checked between attempts: an attempt under way when it passes
   * (a connect to a host that never answers) still runs up to `connectTimeoutMs`.
   */
  maxBlockMs?: number;
  /** Backoff of retries (and the metadata look-ups of `send`). */
  retry?: Omit<RetryOptions, "deadlineMs">;
  connectTimeoutMs?: number;
  /** Default: Kafka's (murmur2 for keys, sticky partitions for null keys). */
  partitioner?: Partitioner;
  /**
   * Encode and compress batches on another thread, where the runtime has one (Node; elsewhere
   * batches are always encoded on the caller's thread). Only compressed batches of at least
   * 32 KiB go there (smaller ones would wait longer for the thread than they take).
   *
   * Default false: it pays only where a core is idle. It takes compression off the caller's
   * thread (100k × 1 KiB lz4: ~425 instead of ~600 ms of that thread's CPU per run) but costs
   * more CPU in all (a copy of every record to the thread, and back). On a 2-core machine shared
   * with the broker, runs took 488–701 ms with it against 516–596 ms without (bench/RESULTS.md,
   * eighth session; one process each, few runs).
   */
  compressOffThread?: boolean;
}

/**
 * The producer keeps a reference to each message (not a copy) until its `send` settles: change
 * neither the message nor its key, value or headers before then.
 */
export interface ProducerMessage {
  key?: Bytes | null;
  value: Bytes | null;
  headers?: RecordInput["headers"];
  partition?: number;
  /** Milliseconds since the epoch; default: when `send` is called. */
  timestamp?: number;
}

export interface ProducerRecord {
  topic: string;
  messages: ReadonlyArray<ProducerMessage>;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 with acks 0 (and for a duplicate the broker dropped). */
  offset: number;
  /** The record's timestamp, or the broker's append time for LogAppendTime topics. */
  timestamp: number;
}

export interface ProducerStats {
  /** Produce requests sent, batches sent (retries included), retries. */
  requests: number;
  batches: number;
  retries: number;
  producerIdResets: number;
  /** Most Produce requests outstanding at once on one broker connection (at most `maxInFlight`). */
  peakInFlight: number;
  /** Batches encoded on another thread (`compressOffThread`), and those the thread failed to encode (then encoded here). */
  encodedOffThread: number;
  offThreadFailures: number;
}

export interface Producer {
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  /** Several topics in one call: one metadata entry per message, in input order. */
  sendBatch(records: ReadonlyArray<ProducerRecord>): Promise<RecordMetadata[]>;
  /** Sends everything buffered; resolves when all of it is acknowledged, or rejects with a `DeliveryFailedError` listing every batch that failed. */
  flush(): Promise<void>;
  /** Flushes, then closes the connections. Later sends reject. */
  close(): Promise<void>;
  /** The producer id and epoch in use (-1 before the first idempotent send or without idempotence). */
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly stats: Readonly<ProducerStats>;
  readonly cluster: Cluster;
}

/**
 * A `send`/`sendBatch` call. Its messages' partitions, offsets and timestamps fill in (number
 * arrays indexed by the message's position in the call) as its batches are acknowledged; the
 * `RecordMetadata` objects are built only when the last one is, all at once. Objects stored one
 * by one into a long-lived results array cost a GC write barrier each and were kept alive (and
 * copied by the GC) for the whole send: a tenth of the producer's time. (Plain arrays, not typed
 * arrays: their backing stores would count as external memory, which is what starts V8's full
 * collections here; see `Slabs`.)
 */
class Owner {
  readonly partitions: number[] = [];
  readonly offsets: number[];
  readonly timestamps: number[];
  /** The call's topics, and the position after each topic's last message. */
  readonly topics: string[] = [];
  readonly ends: number[] = [];
  remaining: number;
  settled = false;
  private readonly resolve: (r: RecordMetadata[]) => void;
  readonly reject: (e: unknown) => void;
  constructor(count: number, resolve: (r: RecordMetadata[]) => void, reject: (e: unknown) => void) {
    this.resolve = resolve;
    this.reject = reject;
    this.offsets = new Array<number>(count).fill(-1);
    this.timestamps = new Array<number>(count).fill(-1);
    this.remaining = count;
  }

  /** Records the acknowledgement of the message at `slot`; resolves the call after the last one. */
  acknowledge(slot: number, offset: number, timestamp: number): void {
    this.offsets[slot] = offset;
    this.timestamps[slot] = timestamp;
    if (--this.remaining > 0) return;
    this.settled = true;
    this.resolve(this.results());
  }

  private results(): RecordMetadata[] {
    const results: RecordMetadata[] = [];
    let slot = 0;
    for (let t = 0; t < this.topics.length; t++) {
      const topic = this.topics[t]!;
      for (const end = this.ends[t]!; slot < end; slot++) {
        results.push({ topic, partition: this.partitions[slot]!, offset: this.offsets[slot]!, timestamp: this.timestamps[slot]! });
      }
    }
    return results;
  }
}

class Batch {
  /** The callers' messages (not copies), their timestamps (defaults resolved), owners and positions. */
  readonly records: ProducerMessage[] = [];
  readonly timestamps: number[] = [];
  readonly owners: Owner[] = [];
  readonly slots: number[] = [];
  bytes = 61;
  readonly createdAt = Date.now();
  sequence = -1;
  generation = -1;
  /** The encoded bytes (resent unchanged by retries), in `slab`. */
  encoded: Uint8Array | null = null;
  slab: Slab | null = null;
  /** Being encoded on another thread: it waits at the head of its queue until that is done. */
  encodingOffThread = false;
  /**
   * Encoded on another thread (`encoded` is a `BufferPool` buffer, not in a slab): the CRC-32C of
   * the batch from its record count on, so that producer fields are written in rather than the
   * batch re-encoded.
   */
  tailCrc = -1;
  attempts = 0;
  retryAt = 0;
  sent = false;
  lastError: TributaryError | null = null;
  settle!: (error: TributaryError | null) => void;
  readonly done = new Promise<TributaryError | null>((resolve) => (this.settle = resolve));
  readonly state: PartitionState;
  constructor(state: PartitionState) {
    this.state = state;
  }

  /** Its bytes were encoded on another thread (a `BufferPool` buffer, with `tailCrc`), not in a slab. */
  hasThreadBytes(): boolean {
    return this.tailCrc >= 0 && this.encoded !== null;
  }
}

class PartitionState {
  open: Batch | null = null;
  /** Sealed, never sent (no sequence yet). */
  readonly queue: Batch[] = [];
  /** Sent at least once, failed, waiting to be resent (sequence order). */
  readonly retries: Batch[] = [];
  /** Batches with a sequence not yet acknowledged (sequence order). */
  readonly unacked: Batch[] = [];
  inflight = 0;
  nextSequence = 0;
  /**
   * The producer-id generation in which the broker acknowledged a batch of this partition. Until
   * then one batch at a time: a broker without state for this producer on the partition accepts
   * any first sequence, so a second batch overtaking a first one that got a retriable error (say,
   * a partition whose log is still being created) would be written first, and the first then
   * fails for good with OUT_OF_ORDER_SEQUENCE_NUMBER.
   */
  confirmedGeneration = -1;
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }
}

/** Smallest batch (estimated bytes) encoded on another thread. */
const OFF_THREAD_MIN_BYTES = 32 * 1024;
/**
 * Buffers kept for the next batches encoded on another thread. A steady stream cycles through
 * about as many as there are batches queued and in flight.
 */
const SPARE_OFF_THREAD_BUFFERS = 32;

/** Encoded batches share slabs of this size (a bigger batch gets one of its own). */
const SLAB_BYTES = 4 << 20;
/** Emptied slabs kept for reuse. */
const SPARE_SLABS = 4;

class Slab {
  readonly bytes: Uint8Array;
  /** Bytes handed out; batches whose bytes are still in use. */
  used = 0;
  live = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }
}

/**
 * Where encoded batches are kept until they are acknowledged: slices of a few reused 4 MiB slabs,
 * not an ArrayBuffer per batch. ArrayBuffer memory counts as V8 "external memory", and the
 * encoded batches (besides the request frame and the connection's copy of it) made V8 start a
 * full mark-compact every few hundred thousand records on external memory pressure alone,
 * marking the whole heap each time. A slab is reused once each batch in it is released
 * (acknowledged, failed for good, or dropped for re-encoding): by then the transport has copied
 * the batch into its request frame, which happens before the request settles.
 */
class Slabs {
  private current: Slab | null = null;
  private readonly spare: Slab[] = [];

  /** `length` bytes for `batch`'s encoding (the batch holds no other slice). */
  allocate(batch: Batch, length: number): Uint8Array {
    let slab = this.current;
    if (slab === null || slab.used + length > slab.bytes.length) slab = this.current = this.next(length);
    const at = slab.used;
    slab.used += length;
    slab.live++;
    batch.slab = slab;
    return slab.bytes.subarray(at, at + length);
  }

  /** The batch's bytes are no longer needed: its slab is reused once all of its batches are released. */
  release(batch: Batch): void {
    const slab = batch.slab;
    batch.encoded = null;
    if (slab === null) return;
    batch.slab = null;
    if (--slab.live > 0) return;
    slab.used = 0;
    if (slab.bytes.length !== SLAB_BYTES) {
      if (slab === this.current) this.current = null; // an oversized one is not kept
    } else if (slab !== this.current && this.spare.length < SPARE_SLABS) {
      this.spare.push(slab);
    }
  }

  private next(length: number): Slab {
    const full = this.current;
    if (full !== null && full.live === 0 && length <= full.bytes.length) {
      full.used = 0;
      return full;
    }
    if (length > SLAB_BYTES) return new Slab(length);
    return this.spare.pop() ?? new Slab(SLAB_BYTES);
  }
}

const RECORD_OVERHEAD = 22;
const FATAL_RESET = -1;

export function createProducer(options: ProducerOptions): Producer {
  return new ProducerImpl(options);
}

class ProducerImpl implements Producer {
  readonly cluster: Cluster;
  readonly stats: ProducerStats = { requests: 0, batches: 0, retries: 0, producerIdResets: 0, peakInFlight: 0, encodedOffThread: 0, offThreadFailures: 0 };
  private readonly acks: number;
  private readonly idempotent: boolean;
  private readonly compression: CompressionCodec;
  private readonly lingerMs: number;
  private readonly batchBytes: number;
  private readonly maxInFlight: number;
  private readonly requestTimeoutMs: number;
  private readonly deliveryTimeoutMs: number;
  private readonly maxBlockMs: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly partitioner: Partitioner | undefined;
  private readonly threads: BatchEncodeThreads | undefined;
  private readonly partitions = new Map<string, PartitionState>();
  private readonly statesByTopic = new Map<string, PartitionState[]>();
  private readonly sticky = new Map<string, number>();
  private readonly lastSticky = new Map<string, number>();
  private readonly loading = new Map<string, Promise<Map<string, number>>>();
  private readonly inflightByNode = new Map<number, number>();
  private readonly pending = new Set<Batch>();
  private readonly slabs = new Slabs();
  private readonly buffers = new BufferPool(SPARE_OFF_THREAD_BUFFERS);
  private pid = -1;
  private epoch = -1;
  private generation = 0;
  private initializing: Promise<void> | null = null;
  private needsReset = false;
  private inflightTotal = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAt = Infinity;
  private flushing = 0;
  /** Sends waiting for their topics' metadata (not in a batch yet): flush() waits for them to be. */
  private readonly enqueuing = new Set<Promise<void>>();
  private closed = false;
  private refreshingMetadata = false;

  constructor(options: ProducerOptions) {
    const acks = options.acks ?? "all";
    this.acks = acks === "all" ? -1 : acks;
    if (![-1, 0, 1].includes(this.acks)) throw new RangeError(`acks must be "all", -1, 1 or 0, got ${String(acks)}`);
    if (options.idempotent === true && this.acks !== -1) throw new RangeError(`an idempotent producer needs acks "all"; pass idempotent: false for acks ${this.acks}`);
    this.idempotent = options.idempotent ?? this.acks === -1;
    this.compression = options.compression ?? "none";
    this.lingerMs = options.lingerMs ?? 5;
    this.batchBytes = options.batchBytes ?? 256 * 1024;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 5);
    if (this.idempotent && this.maxInFlight > 5) throw new RangeError("an idempotent producer allows at most 5 requests in flight (the broker tracks 5 batches per producer)");
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 120_000;
    const maxBlockMs = options.maxBlockMs ?? 60_000;
    if (!(maxBlockMs >= 0)) throw new RangeError(`maxBlockMs must be a number of milliseconds (0 or more), got ${String(options.maxBlockMs)}`);
    this.maxBlockMs = Math.min(maxBlockMs, this.deliveryTimeoutMs);
    this.backoffInitialMs = options.retry?.initialMs ?? 100;
    this.backoffMaxMs = options.retry?.maxMs ?? 1_000;
    this.partitioner = options.partitioner;
    this.threads = this.compression !== "none" && options.compressOffThread === true ? defaultEncodeThreads() : undefined;
    this.cluster = new Cluster({
      brokers: options.brokers,
      clientId: options.clientId ?? "tributary-producer",
      tls: options.tls,
      socketFactory: options.socketFactory,
      authenticate: options.authenticate,
      connectTimeoutMs: options.connectTimeoutMs,
      requestTimeoutMs: this.requestTimeoutMs,
      retry: { initialMs: this.backoffInitialMs, maxMs: this.backoffMaxMs, deadlineMs: this.deliveryTimeoutMs },
    });
  }

  get producerId(): number {
    return this.pid;
  }

  get producerEpoch(): number {
    return this.epoch;
  }

  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    return this.sendBatch([record]);
  }

  sendBatch(records: ReadonlyArray<ProducerRecord>): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(closedError());
    let count = 0;
    for (const r of records) count += r.messages.length;
    if (count === 0) return Promise.resolve([]);
    const counts = this.partitionCounts(records);
    if (counts) return this.enqueue(records, counts, count);
    let sent!: Promise<RecordMetadata[]>;
    const enqueued = this.loadMetadata(records).then((loaded) => void (sent = this.enqueue(records, loaded, count)));
    const settled = enqueued.catch(() => {});
    this.enqueuing.add(settled);
    void settled.then(() => this.enqueuing.delete(settled));
    return enqueued.then(() => sent);
  }

  async flush(): Promise<void> {
    this.flushing++;
    try {
      // Sends made before this flush that still wait for metadata are part of it (later ones are not).
      await Promise.all([...this.enqueuing]);
      const batches = [...this.pending];
      this.drain();
      const outcomes = await Promise.all(batches.map((b) => b.done));
      const failures: DeliveryFailure[] = [];
      outcomes.forEach((error, i) => {
        const { state, records } = batches[i]!;
        if (error) failures.push({ topic: state.topic, partition: state.partition, records: records.length, error });
      });
      if (failures.length > 0) throw new DeliveryFailedError(failures);
    } finally {
      this.flushing--;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      this.buffers.clear();
      if (this.timer) clearTimeout(this.timer);
      this.cluster.close();
    }
  }

  /** Partition counts from the cache, or undefined when a topic is missing. */
  private partitionCounts(records: ReadonlyArray<ProducerRecord>): Map<string, number> | undefined {
    const meta = this.cluster.metadata;
    // Older than the cluster's default metadata max age (5 min): look again (partitions may have been added).
    if (!meta || Date.now() - meta.updatedAt > 300_000) return undefined;
    const counts = new Map<string, number>();
    for (const { topic } of records) {
      const info = meta.topics.get(topic);
      if (!info || info.partitions.length === 0) return undefined;
      counts.set(topic, info.partitions.length);
    }
    return counts;
  }

  /** Concurrent sends to the same topics share one metadata look-up. */
  private loadMetadata(records: ReadonlyArray<ProducerRecord>): Promise<Map<string, number>> {
    const topics = [...new Set(records.map((r) => r.topic))].sort();
    const key = topics.join("\u0000");
    let loading = this.loading.get(key);
    if (!loading) {
      loading = this.lookUp(topics).finally(() => this.loading.delete(key));
      this.loading.set(key, loading);
    }
    return loading;
  }

  private async lookUp(topics: string[]): Promise<Map<string, number>> {
    const meta = await this.cluster.retry(async () => {
      const m = await this.cluster.metadataFor(topics);
      for (const topic of topics) if (!m.topics.has(topic)) await this.cluster.metadataFor(topics, { refresh: true });
      return m;
    }, { deadlineMs: this.maxBlockMs });
    const counts = new Map<string, number>();
    for (const topic of topics) {
      const info = (this.cluster.metadata ?? meta).topics.get(topic);
      if (!info) throw kafkaError(3, { topic, message: `topic ${topic} does not exist` })!;
      counts.set(topic, info.partitions.length);
    }
    return counts;
  }

  private enqueue(records: ReadonlyArray<ProducerRecord>, counts: Map<string, number>, count: number): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(closedError());
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const owner = new Owner(count, resolve, reject);
      const now = Date.now();
      let slot = 0;
      // Validate everything first: a bad message rejects the whole call, nothing is buffered.
      const states = new Array<PartitionState>(count);
      for (const { topic, messages } of records) {
        const partitionCount = counts.get(topic)!;
        const hashed = this.partitioner ? undefined : keyPartitions(messages, partitionCount);
        let nextHashed = 0;
        for (let i = 0; i < messages.length; i++) {
          const message = messages[i]!;
          let partition = message.partition;
          if (partition === undefined) {
            partition = this.partitioner
              ? this.partitioner({ topic, key: message.key, value: message.value, partitionCount })
              : message.key == null
                ? this.stickyPartition(topic, partitionCount)
                : hashed![nextHashed++]!;
          }
          if (!isBytes(message.value) || !(message.key == null || isBytes(message.key))) {
            reject(new TypeError(`record keys and values must be Uint8Array, string or null (topic ${topic})`));
            return;
          }
          if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount) {
            reject(kafkaError(3, { topic, partition, message: `partition ${partition} is out of range: the topic has ${partitionCount} partitions` }));
            return;
          }
          owner.partitions.push(partition);
          states[slot++] = this.stateOf(topic, partition);
        }
        owner.topics.push(topic);
        owner.ends.push(slot);
      }
      slot = 0;
      for (const { messages } of records) {
        for (let i = 0; i < messages.length; i++, slot++) this.append(states[slot]!, messages[i]!, owner, slot, now);
      }
    });
  }

  private stateOf(topic: string, partition: number): PartitionState {
    // Per message: an array per topic, no "topic:partition" string built and hashed each time.
    let states = this.statesByTopic.get(topic);
    if (!states) this.statesByTopic.set(topic, (states = []));
    let state = states[partition];
    if (!state) {
      state = new PartitionState(topic, partition);
      states[partition] = state;
      this.partitions.set(`${topic}:${partition}`, state);
    }
    return state;
  }

  /** KIP-480: null keys stick to one partition until its batch is sealed. */
  private stickyPartition(topic: string, partitionCount: number): number {
    let partition = this.sticky.get(topic);
    if (partition === undefined || partition >= partitionCount) {
      const leaders = this.cluster.metadata?.topics.get(topic)?.partitions;
      const available = leaders?.filter((p) => p.leader >= 0).map((p) => p.partition) ?? [];
      const pool = available.length > 0 ? available : Array.from({ length: partitionCount }, (_, i) => i);
      const previous = this.lastSticky.get(topic);
      const choices = pool.length > 1 ? pool.filter((p) => p !== previous) : pool;
      partition = choices[Math.floor(Math.random() * choices.length)]!;
      this.sticky.set(topic, partition);
      this.lastSticky.set(topic, partition);
    }
    return partition;
  }

  private append(state: PartitionState, message: ProducerMessage, owner: Owner, slot: number, now: number): void {
    const size = RECORD_OVERHEAD + sizeOf(message.key) + sizeOf(message.value) + headersSize(message.headers);
    let batch = state.open;
    if (batch && batch.records.length > 0 && batch.bytes + size > this.batchBytes) {
      this.seal(state);
      this.scheduleDrain(0);
      batch = null;
    }
    if (!batch) {
      batch = new Batch(state);
      state.open = batch;
      this.pending.add(batch);
      this.scheduleDrain(this.lingerMs);
    }
    batch.records.push(message);
    batch.timestamps.push(message.timestamp ?? now);
    batch.owners.push(owner);
    batch.slots.push(slot);
    batch.bytes += size;
    if (batch.bytes >= this.batchBytes) {
      this.seal(state);
      this.scheduleDrain(0);
    }
  }

  private seal(state: PartitionState): void {
    const batch = state.open;
    if (!batch) return;
    state.open = null;
    state.queue.push(batch);
    if (this.sticky.get(state.topic) === state.partition) this.sticky.delete(state.topic);
    if (this.threads && batch.bytes >= OFF_THREAD_MIN_BYTES) this.encodeOffThread(batch, this.threads);
  }

  /**
   * Starts encoding a sealed batch on another thread, without producer fields. Whatever goes wrong
   * there (a record the encoder refuses, a thread that died) leaves the batch to `encode`, on this
   * thread, when it is sent: its errors are reported as they always are.
   */
  private encodeOffThread(batch: Batch, threads: BatchEncodeThreads): void {
    let layout;
    try {
      layout = layOutRecordBatch(batch.records, { compression: this.compression, timestamps: batch.timestamps }, (size) => this.buffers.take(size));
    } catch {
      return;
    }
    batch.encodingOffThread = true;
    threads.encode(layout).then(
      (encoded) => {
        this.stats.encodedOffThread++;
        if (!this.pending.has(batch)) return this.buffers.give(encoded.bytes.buffer as ArrayBuffer); // expired meanwhile
        batch.encoded = encoded.bytes;
        batch.tailCrc = encoded.tailCrc;
      },
      () => {
        this.stats.offThreadFailures++;
      },
    ).finally(() => {
      batch.encodingOffThread = false;
      this.scheduleDrain(0);
    });
  }

  private scheduleDrain(delayMs: number): void {
    if (this.closed) return;
    const at = Date.now() + Math.max(0, delayMs);
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.drain();
    }, Math.max(0, delayMs));
  }

  /** Seals what is ready, expires what is too old, and sends one request per leader that has room. */
  private drain(): void {
    if (this.closed) return;
    const now = Date.now();
    let nextWake = Infinity;
    for (const state of this.partitions.values()) {
      const open = state.open;
      if (open) {
        if (this.flushing > 0 || now - open.createdAt >= this.lingerMs) this.seal(state);
        else nextWake = Math.min(nextWake, open.createdAt + this.lingerMs);
      }
      this.expire(state, now);
    }
    if (this.idempotent && (this.pid < 0 || this.needsReset)) {
      if (this.hasWork()) this.initProducerId();
      if (nextWake < Infinity) this.scheduleDrain(nextWake - now); // open batches still linger
      return;
    }
    const meta = this.cluster.metadata;
    let needMetadata = false;
    // Round after round, one request per leader with room: every round takes the next batch of each
    // partition, so a backlog (records appended faster than one request carries) fills all
    // `maxInFlight` slots at once instead of one slot per drain.
    for (let sent = true; sent;) {
      sent = false;
      const byNode = new Map<number, Batch[]>();
      for (const state of this.partitions.values()) {
        const batch = this.nextBatch(state, now);
        if (batch === undefined) continue;
        if (typeof batch === "number") {
          nextWake = Math.min(nextWake, batch);
          continue;
        }
        const leader = meta?.topics.get(state.topic)?.partitions[state.partition]?.leader ?? -1;
        if (leader < 0 || !meta?.brokers.has(leader)) {
          needMetadata = true;
          nextWake = Math.min(nextWake, now + this.backoffInitialMs);
          continue;
        }
        let list = byNode.get(leader);
        if (!list) byNode.set(leader, (list = []));
        list.push(batch);
      }
      for (const [nodeId, batches] of byNode) {
        if ((this.inflightByNode.get(nodeId) ?? 0) >= this.maxInFlight) continue;
        this.sendRequest(nodeId, batches);
        sent = true;
      }
    }
    if (needMetadata) this.refreshMetadata();
    if (nextWake < Infinity) this.scheduleDrain(nextWake - now);
  }

  private hasWork(): boolean {
    for (const state of this.partitions.values()) if (state.queue.length > 0 || state.retries.length > 0) return true;
    return false;
  }

  /** The partition's next batch to send, a time to wake up at, or undefined. */
  private nextBatch(state: PartitionState, now: number): Batch | number | undefined {
    if (state.retries.length > 0) {
      // Resend failed batches one at a time, in sequence order, once nothing of the partition is in flight.
      if (state.inflight > 0) return undefined;
      const batch = state.retries[0]!;
      if (batch.retryAt > now) return batch.retryAt;
      return batch;
    }
    if (state.queue.length === 0) return undefined;
    const limit = this.idempotent && state.confirmedGeneration !== this.generation ? 1 : this.maxInFlight;
    if (state.inflight >= limit) return undefined;
    const head = state.queue[0]!;
    // Its encoding's end drains again.
    if (head.encodingOffThread) return undefined;
    return head;
  }

  private expire(state: PartitionState, now: number): void {
    for (const list of [state.queue, state.retries]) {
      for (let i = 0; i < list.length; i++) {
        const batch = list[i]!;
        if (now - batch.createdAt < this.deliveryTimeoutMs) continue;
        list.splice(i--, 1);
        const error = batch.lastError && !(batch.lastError instanceof TimeoutError)
          ? batch.lastError
          : new TimeoutError(`${state.topic}/${state.partition}: ${batch.records.length} records not acknowledged within the delivery timeout of ${this.deliveryTimeoutMs} ms`, this.deliveryTimeoutMs);
        if (batch.sequence >= 0) this.dropSequenced(batch);
        this.fail(batch, error);
      }
    }
  }

  /** A batch with a sequence will never be acknowledged: the partition's sequence has a gap. */
  private dropSequenced(batch: Batch): void {
    const state = batch.state;
    const i = state.unacked.indexOf(batch);
    if (i >= 0) state.unacked.splice(i, 1);
    this.needsReset = true;
  }

  private sendRequest(nodeId: number, candidates: Batch[]): void {
    const topicData = new Map<string, { index: number; records: Uint8Array }[]>();
    const batches: Batch[] = [];
    for (const batch of candidates) {
      const state = batch.state;
      if (state.retries[0] === batch) state.retries.shift();
      else state.queue.shift();
      if (batch.encoded === null || batch.generation !== this.generation) {
        try {
          this.encode(batch);
        } catch (error) {
          if (batch.sequence >= 0) {
            // Never sent: give the sequence back (nothing later has one yet).
            state.unacked.splice(state.unacked.indexOf(batch), 1);
            state.nextSequence = batch.sequence;
          }
          this.fail(batch, asTributary(error));
          continue;
        }
      }
      batches.push(batch);
      if (batch.sent) this.stats.retries++;
      batch.sent = true;
      batch.attempts++;
      state.inflight++;
      let list = topicData.get(state.topic);
      if (!list) topicData.set(state.topic, (list = []));
      list.push({ index: state.partition, records: batch.encoded! });
    }
    if (batches.length === 0) return;
    const request = {
      transactionalId: null,
      acks: this.acks,
      timeoutMs: this.requestTimeoutMs,
      topicData: [...topicData].map(([name, partitionData]) => ({ name, partitionData })),
    };
    const inFlight = (this.inflightByNode.get(nodeId) ?? 0) + 1;
    this.inflightByNode.set(nodeId, inFlight);
    if (inFlight > this.stats.peakInFlight) this.stats.peakInFlight = inFlight;
    this.inflightTotal++;
    this.stats.requests++;
    this.stats.batches += batches.length;
    const generation = this.generation;
    let sending: Promise<ProduceResponse | undefined>;
    try {
      const connection = this.cluster.connectionTo(nodeId, "produce");
      sending = this.acks === 0
        ? connection.sendNoResponse(APIS.Produce, request, { timeoutMs: this.requestTimeoutMs }).then(() => undefined)
        : connection.send(APIS.Produce, request, { timeoutMs: this.requestTimeoutMs });
    } catch (error) {
      sending = Promise.reject(error);
    }
    sending.then(
      (response) => this.onResponse(batches, response, generation),
      (error) => {
        for (const batch of batches) this.onBatchError(batch, asTributary(error), generation);
      },
    ).finally(() => {
      this.inflightByNode.set(nodeId, (this.inflightByNode.get(nodeId) ?? 1) - 1);
      this.inflightTotal--;
      this.drain();
    }).catch(() => undefined);
  }

  private encode(batch: Batch): void {
    const state = batch.state;
    if (this.idempotent && (batch.sequence < 0 || batch.generation !== this.generation)) {
      batch.sequence = state.nextSequence;
      state.nextSequence = (state.nextSequence + batch.records.length) | 0;
      if (state.nextSequence < 0) state.nextSequence = 0; // wraps like Java (past Int32.MAX to 0)
      insertBySequence(state.unacked, batch);
    }
    batch.generation = this.generation;
    if (batch.hasThreadBytes()) {
      if (this.idempotent) stampProducerFields(batch.encoded!, batch.tailCrc, this.pid, this.epoch, batch.sequence);
      return;
    }
    this.slabs.release(batch);
    batch.encoded = encodeRecordBatchInto(batch.records, {
      compression: this.compression,
      timestamps: batch.timestamps,
      ...(this.idempotent ? { producerId: this.pid, producerEpoch: this.epoch, baseSequence: batch.sequence } : {}),
    }, (length) => this.slabs.allocate(batch, length));
  }

  private onResponse(batches: Batch[], response: ProduceResponse | undefined, generation: number): void {
    const answers = new Map<string, ProduceResponse["responses"][number]["partitionResponses"][number]>();
    if (response) {
      for (const t of response.responses) for (const p of t.partitionResponses) answers.set(`${t.name}:${p.index}`, p);
    }
    for (const batch of batches) {
      const state = batch.state;
      if (!response) {
        state.inflight--;
        this.complete(batch, -1, -1);
        continue;
      }
      const answer = answers.get(`${state.topic}:${state.partition}`);
      if (!answer) {
        this.onBatchError(batch, kafkaError(-1, { topic: state.topic, partition: state.partition, message: "the broker did not answer for this partition" })!, generation);
        continue;
      }
      const code = answer.errorCode;
      if (code === 0 || code === 46 /* DUPLICATE_SEQUENCE_NUMBER: already written */) {
        state.inflight--;
        this.complete(batch, code === 0 ? answer.baseOffset : -1, answer.logAppendTimeMs);
        continue;
      }
      const detail = answer.errorMessage ?? answer.recordErrors.map((e) => e.batchIndexErrorMessage).filter(Boolean).join("; ");
      this.onBatchError(batch, kafkaError(code, { topic: state.topic, partition: state.partition, message: detail || null })!, generation);
    }
  }

  private onBatchError(batch: Batch, error: TributaryError, generation: number): void {
    const state = batch.state;
    state.inflight--;
    batch.lastError = error;
    if (error instanceof KafkaProtocolError && (error.topic === undefined)) {
      error.topic = state.topic;
      error.partition = state.partition;
    }
    // A connection the cluster layer closed under an in-flight request (a broker moved) is as
    // transient as a broken one; only this producer's own close() makes it final.
    let retry = isRetriable(error) || (error instanceof ConnectionError && error.reason === "closed-by-client" && !this.closed);
    if (error instanceof KafkaProtocolError && (error.code === 45 || error.code === 59) && this.idempotent) {
      const first = state.unacked[0] === batch;
      if (!first || this.needsReset || generation !== this.generation) {
        retry = true; // an earlier batch failed: this one was not written
      } else if (error.code === 59) {
        // UNKNOWN_PRODUCER_ID on the first unacknowledged batch: the broker lost our state and
        // wrote nothing; a new producer id and sequence 0 make the resend safe.
        this.needsReset = true;
        retry = true;
      } else {
        retry = false;
        this.dropSequenced(batch);
      }
    } else if (!retry && batch.sequence >= 0) {
      this.dropSequenced(batch);
    }
    if (error instanceof KafkaProtocolError && error.retriable || error instanceof ConnectionError || error instanceof TimeoutError) {
      this.cluster.invalidateMetadata();
      this.refreshMetadata();
    }
    if (retry && !this.closed) {
      if (Date.now() - batch.createdAt >= this.deliveryTimeoutMs) {
        if (batch.sequence >= 0) this.dropSequenced(batch);
        this.fail(batch, error);
        return;
      }
      batch.retryAt = Date.now() + Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.min(10, batch.attempts - 1)) * (0.8 + Math.random() * 0.4);
      if (this.idempotent) insertBySequence(state.retries, batch);
      else state.retries.push(batch);
      this.scheduleDrain(batch.retryAt - Date.now());
      return;
    }
    if (batch.sequence >= 0 && state.unacked.includes(batch)) this.dropSequenced(batch);
    this.fail(batch, error);
  }

  private complete(batch: Batch, baseOffset: number, logAppendTime: number): void {
    const state = batch.state;
    if (batch.sequence >= 0) {
      const i = state.unacked.indexOf(batch);
      if (i >= 0) state.unacked.splice(i, 1);
      state.confirmedGeneration = Math.max(state.confirmedGeneration, batch.generation);
    }
    this.pending.delete(batch);
    this.releaseBytes(batch);
    const { owners, slots, timestamps } = batch;
    for (let i = 0; i < owners.length; i++) {
      const owner = owners[i]!;
      if (owner.settled) continue;
      owner.acknowledge(slots[i]!, baseOffset < 0 ? -1 : baseOffset + i, logAppendTime >= 0 ? logAppendTime : timestamps[i]!);
    }
    batch.settle(null);
  }

  private fail(batch: Batch, error: TributaryError): void {
    this.pending.delete(batch);
    this.releaseBytes(batch);
    for (const owner of batch.owners) {
      if (owner.settled) continue;
      owner.settled = true;
      owner.reject(error);
    }
    batch.settle(error);
  }

  /** The batch's encoded bytes are no longer needed (see `Slabs` and `BufferPool`). */
  private releaseBytes(batch: Batch): void {
    if (batch.hasThreadBytes()) {
      this.buffers.give(batch.encoded!.buffer as ArrayBuffer);
      batch.encoded = null;
      batch.tailCrc = -1;
      return;
    }
    this.slabs.release(batch);
  }

  private refreshMetadata(): void {
    if (this.refreshingMetadata || this.closed) return;
    this.refreshingMetadata = true;
    this.cluster.refreshMetadata().then(() => 0, () => this.backoffInitialMs).then((delay) => {
      this.refreshingMetadata = false;
      this.scheduleDrain(delay);
    });
  }

  /** InitProducerId (first use, or a reset once nothing is in flight). */
  private initProducerId(): void {
    if (this.initializing || this.closed) return;
    if (this.needsReset && this.inflightTotal > 0) return; // the last response drains again
    const reset = this.needsReset;
    this.initializing = this.cluster.retry(async () => {
      const answer = await this.cluster.sendToAny(APIS.InitProducerId, {
        transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1,
      }, { timeoutMs: this.requestTimeoutMs, retry: false, check: (r) => kafkaError(r.errorCode) });
      return answer;
    }, { deadlineMs: this.deliveryTimeoutMs }).then(
      (answer) => {
        this.pid = answer.producerId;
        this.epoch = answer.producerEpoch;
        if (reset) {
          this.stats.producerIdResets++;
          this.generation++;
          this.needsReset = false;
          for (const state of this.partitions.values()) {
            state.nextSequence = 0;
            state.unacked.length = 0;
            for (const batch of state.retries) {
              batch.sequence = -1;
              // Bytes encoded on another thread are kept: the resend writes the new producer fields in.
              if (!batch.hasThreadBytes()) this.slabs.release(batch);
            }
          }
        } else if (this.generation === 0) {
          this.generation = 1;
        }
      },
      (error) => {
        // Nothing can be sent without a producer id: fail what waits for one.
        for (const state of this.partitions.values()) {
          for (const batch of [...state.queue, ...state.retries]) this.fail(batch, asTributary(error));
          state.queue.length = 0;
          state.retries.length = 0;
        }
      },
    ).finally(() => {
      this.initializing = null;
      this.scheduleDrain(0);
    });
  }
}

/**
 * The default partitioner's choice for each message that has a key and no partition, in order:
 * one call into the core for the whole send instead of one per message.
 */
function keyPartitions(messages: ReadonlyArray<ProducerMessage>, partitionCount: number): Int32Array | undefined {
  const keys: Bytes[] = [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.partition === undefined && message.key != null) keys.push(message.key);
  }
  return keys.length > 0 ? partitionsForKeys(keys, partitionCount) : undefined;
}

function insertBySequence(list: Batch[], batch: Batch): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.sequence > batch.sequence) i--;
  list.splice(i, 0, batch);
}

function isBytes(value: unknown): boolean {
  return value === null || typeof value === "string" || value instanceof Uint8Array;
}

function sizeOf(bytes: Bytes | null | undefined): number {
  if (bytes == null) return 0;
  return typeof bytes === "string" ? bytes.length : bytes.byteLength;
}

function headersSize(headers: RecordInput["headers"]): number {
  if (!headers) return 0;
  let size = 0;
  if (Array.isArray(headers)) for (const h of headers) size += 4 + h.key.length + sizeOf(h.value);
  else {
    for (const [key, value] of Object.entries(headers)) {
      if (Array.isArray(value)) for (const v of value) size += 4 + key.length + sizeOf(v as Bytes | null);
      else size += 4 + key.length + sizeOf(value as Bytes | null);
    }
  }
  return size;
}

function closedError(): ConnectionError {
  return new ConnectionError({ host: "producer", port: 0, reason: "closed-by-client", message: "the producer was closed" });
}

function asTributary(error: unknown): TributaryError {
  if (error instanceof TributaryError) return error;
  return new TributaryError(error instanceof Error ? error.message : String(error), { cause: error });
}
