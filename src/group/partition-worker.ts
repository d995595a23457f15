/**
 * One long-lived worker per assigned partition (the seeds' partition processor): it takes the
 * partition's fetched batches in offset order and calls the handler with at most `maxBatchSize`
 * records at a time, one call at a time. Different partitions' workers run concurrently.
 *
 * Bookkeeping lives in an `OffsetTracker` (the WebAssembly core): every record handed to the
 * worker is "delivered"; an acknowledgement (automatic when the handler returns, or the
 * application's `ack`) marks it done; `committable()` never passes an unacknowledged record.
 *
 * A handler that throws is retried with a growing, jittered delay (never a hot loop), from the
 * first record of the failed call that was not acknowledged — the worker is "restarted from the
 * last acknowledged offset", as Elsa's supervisor does. Stopping lets the running call finish for
 * up to `drainMs`; queued records are dropped unacknowledged, so they are never committed.
 */
import type { DecodedRecord } from "../records/types.ts";
import { OffsetTracker, type AckResult } from "../offsets/offset-tracker.ts";
import { Backoff } from "../transport/backoff.ts";
import type { GroupEvents } from "./events.ts";

/** What a partition's handler is called with. */
export interface RecordsNotification {
  records: DecodedRecord[];
  topic: string;
  partition: number;
  generationId: number;
  /** The partition's high watermark when these records were fetched. */
  highWatermark: number;
}

export interface CaughtUpNotification {
  caughtUp: { topic: string; partition: number };
  generationId: number;
}

export interface FetchedBatch {
  records: DecodedRecord[];
  nextOffset: number;
  highWatermark: number;
  bytes: number;
}

export interface PartitionWorkerOptions {
  topic: string;
  partition: number;
  generationId: number;
  /** The group's committed offset for the partition, if any (else the first fetched batch sets the start). */
  committedOffset: number | undefined;
  maxBatchSize: number;
  /** Acknowledge a call's records when it returns (false: the application calls `ack`). */
  autoAck: boolean;
  handleRecords(notification: RecordsNotification): Promise<void> | void;
  handleCaughtUp(notification: CaughtUpNotification): Promise<void> | void;
  /** Called when the queue shrinks (so the fetcher can resume a partition paused for being full). */
  onQueueShrink(worker: PartitionWorker): void;
  events: GroupEvents;
  retryBackoff: { initialMs: number; maxMs: number };
}

/** The least wait between retries of a failing handler, whatever the jitter draws. */
const MIN_RETRY_MS = 50;

export class PartitionWorker {
  readonly topic: string;
  readonly partition: number;
  readonly generationId: number;
  /** Last offset committed for this worker's partition (-1: none yet). */
  lastCommitted: number;
  queuedRecords = 0;
  queuedBytes = 0;
  highWatermark = -1;
  handled = 0;

  private readonly options: PartitionWorkerOptions;
  /** Created at the committed offset, or at the first fetched record (where the reset policy put the position). */
  private tracker: OffsetTracker | undefined;
  private readonly queue: { records: DecodedRecord[]; bytes: number; highWatermark: number }[] = [];
  private caughtUpSent = false;
  private lastNextOffset = -1;
  private stopping = false;
  private detached = false;
  private wakeUp: (() => void) | undefined;
  private wakeRetry: (() => void) | undefined;
  private readonly done: Promise<void>;
  /** Offsets of the call in flight acknowledged during it (a retry skips them). */
  private ackedInCall: Set<number> | undefined;

  constructor(options: PartitionWorkerOptions) {
    this.options = options;
    this.topic = options.topic;
    this.partition = options.partition;
    this.generationId = options.generationId;
    this.lastCommitted = options.committedOffset ?? -1;
    if (options.committedOffset !== undefined) this.tracker = new OffsetTracker(options.committedOffset);
    this.done = this.loop();
  }

  /** Adds a fetched batch (records at or after the position, in order). */
  enqueue(batch: FetchedBatch): void {
    if (this.stopping) return;
    const { records } = batch;
    const tracker = this.tracker ??= new OffsetTracker(records[0]?.offset ?? batch.nextOffset);
    if (records.length > 0) {
      const first = records[0]!.offset;
      const last = records[records.length - 1]!.offset;
      if (last - first + 1 === records.length) tracker.delivered(first, last);
      else tracker.deliveredOffsets(records.map((r) => r.offset));
    }
    // Offsets past the last record (control batches, aborted records) are done as soon as fetched.
    if (batch.nextOffset > tracker.position) tracker.advance(batch.nextOffset);
    this.lastNextOffset = Math.max(this.lastNextOffset, batch.nextOffset);
    this.highWatermark = batch.highWatermark;
    if (records.length > 0) {
      this.queue.push({ records, bytes: batch.bytes, highWatermark: batch.highWatermark });
      this.queuedRecords += records.length;
      this.queuedBytes += batch.bytes;
      this.caughtUpSent = false;
    }
    this.wakeUp?.();
  }

  /** An application acknowledgement of one offset. */
  ack(offset: number): AckResult {
    if (this.detached || !this.tracker) return this.tracker ? "below-floor" : "not-delivered";
    const result = this.tracker.ack(offset);
    if (result === "acked") this.ackedInCall?.add(offset);
    return result;
  }

  /** The offset safe to commit: never past a record that is not acknowledged. */
  committable(): number {
    return this.tracker && !this.detached ? this.tracker.committable() : this.lastCommitted;
  }

  /** Records handed to the handler or queued, not acknowledged yet. */
  get pending(): number {
    return this.detached || !this.tracker ? 0 : this.tracker.pending;
  }

  /** Lag as this worker sees it: high watermark minus the committable offset. */
  get lag(): number {
    return this.highWatermark < 0 ? 0 : Math.max(0, this.highWatermark - this.committable());
  }

  /**
   * Stops taking records: the call in flight may finish for up to `drainMs` (its acknowledgements
   * count); queued records are dropped. Resolves when the worker is idle or the time is up.
   */
  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    this.dropQueue();
    this.wakeUp?.();
    this.wakeRetry?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
    clearTimeout(timer);
  }

  /** Frees the tracker; acknowledgements after this are ignored (a call still running past its drain). */
  close(): void {
    this.detached = true;
    this.tracker?.close();
  }

  private dropQueue(): void {
    this.queue.length = 0;
    this.queuedRecords = 0;
    this.queuedBytes = 0;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const records = this.take();
      if (!records) {
        if (!this.caughtUpSent && this.highWatermark >= 0 && this.lastNextOffset >= this.highWatermark) {
          this.caughtUpSent = true;
          await this.notifyCaughtUp();
          continue;
        }
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        this.wakeUp = undefined;
        continue;
      }
      await this.handle(records);
    }
  }

  /** The next call's records: up to `maxBatchSize` from the head of the queue. */
  private take(): { records: DecodedRecord[]; highWatermark: number } | undefined {
    const head = this.queue[0];
    if (!head) return undefined;
    let records: DecodedRecord[];
    if (head.records.length <= this.options.maxBatchSize) {
      this.queue.shift();
      records = head.records;
      this.queuedBytes -= head.bytes;
    } else {
      records = head.records.slice(0, this.options.maxBatchSize);
      head.records = head.records.slice(this.options.maxBatchSize);
      const share = Math.round((head.bytes * records.length) / (records.length + head.records.length));
      head.bytes -= share;
      this.queuedBytes -= share;
    }
    this.queuedRecords -= records.length;
    this.options.onQueueShrink(this);
    return { records, highWatermark: head.highWatermark };
  }

  private async handle(call: { records: DecodedRecord[]; highWatermark: number }): Promise<void> {
    const backoff = new Backoff(this.options.retryBackoff);
    const { events } = this.options;
    let records = call.records;
    this.ackedInCall = new Set();
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      events.emit({ type: "handler-start", topic: this.topic, partition: this.partition, records: records.length });
      try {
        await this.options.handleRecords({ records, topic: this.topic, partition: this.partition, generationId: this.generationId, highWatermark: call.highWatermark });
        if (this.options.autoAck && !this.detached) for (const r of records) this.tracker!.ack(r.offset);
        this.handled += records.length;
        events.emit({ type: "handler-stop", topic: this.topic, partition: this.partition, records: records.length, durationMs: Date.now() - started });
        break;
      } catch (error) {
        const retryInMs = Math.max(MIN_RETRY_MS, backoff.next());
        events.emit({ type: "handler-error", topic: this.topic, partition: this.partition, records: records.length, durationMs: Date.now() - started, attempt, error, retryInMs });
        if (this.stopping) break;
        await this.sleepUnlessStopped(retryInMs);
        if (this.stopping) break;
        // Start again from the first record the failed call did not acknowledge.
        const acked = this.ackedInCall;
        records = records.filter((r) => !acked.has(r.offset));
        if (records.length === 0) break;
      }
    }
    this.ackedInCall = undefined;
  }

  private async notifyCaughtUp(): Promise<void> {
    try {
      await this.options.handleCaughtUp({ caughtUp: { topic: this.topic, partition: this.partition }, generationId: this.generationId });
    } catch (error) {
      this.options.events.emit({ type: "error", error, topic: this.topic, partition: this.partition });
    }
  }

  private sleepUnlessStopped(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeRetry = undefined;
        resolve();
      }, ms);
      this.wakeRetry = () => {
        clearTimeout(timer);
        this.wakeRetry = undefined;
        resolve();
      };
    });
  }
}
