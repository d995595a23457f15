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
 * last acknowledged offset", as Elsa's supervisor does. After `maxAttempts`, `onExhausted` applies
 * the consumer's policy: the records were dead-lettered or skipped ("handled": acknowledged, work
 * goes on) or the partition stops ("stop": nothing more is handled or acknowledged).
 *
 * Lanes (`lanes > 1`, Karafka's virtual partitions): each call's records are split by the murmur2
 * of their key into lanes that run concurrently, each in order; records of one key share a lane,
 * so per-key order holds. The next call starts when every lane is done.
 *
 * Stopping lets the running call finish for up to `drainMs`; queued records are dropped
 * unacknowledged, so they are never committed.
 */
import { partitionsForKeys } from "../hashing.ts";
import type { RecordRun } from "../records/record-run.ts";
import type { DecodedRecord } from "../records/types.ts";
import { OffsetTracker, type AckResult } from "../offsets/offset-tracker.ts";
import { ioTurn } from "../consumer/io-turn.ts";
import { Backoff } from "../transport/backoff.ts";
import { resolvesWithin } from "./alarm.ts";
import type { GroupEvents } from "./events.ts";

/** What a partition's handler is called with. */
export interface RecordsNotification {
  records: DecodedRecord[];
  topic: string;
  partition: number;
  generationId: number;
  /** The partition's high watermark when these records were fetched. */
  highWatermark: number;
  /** With `lanesPerPartition` > 1: the lane (0…N-1) these records belong to. */
  lane?: number;
}

/** Thrown by a per-record handler wrapper: which record failed, and why. */
export class RecordFailure {
  readonly offset: number;
  readonly error: unknown;
  constructor(offset: number, error: unknown) {
    this.offset = offset;
    this.error = error;
  }
}

export interface ExhaustedInput {
  topic: string;
  partition: number;
  /** The records that failed (for a per-record handler, the one record). */
  records: DecodedRecord[];
  error: unknown;
  attempts: number;
}

/** "handled": dead-lettered or skipped, so acknowledge them and go on; "stop": halt the partition. */
export type ExhaustedOutcome = "handled" | "stop";

export interface CaughtUpNotification {
  caughtUp: { topic: string; partition: number };
  generationId: number;
}

export interface FetchedBatch {
  /** The records, still columns: the worker builds each call's record objects when it starts the call. */
  run: RecordRun;
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
  /** Attempts of one call before `onExhausted` (Infinity: retry for ever). */
  maxAttempts: number;
  onExhausted(input: ExhaustedInput): Promise<ExhaustedOutcome>;
  /** The partition stopped after `onExhausted` said so. */
  onHalt(worker: PartitionWorker): void;
  /**
   * The worker's own loop failed (not a handler: those are retried above). The worker restarts
   * its loop after a backoff; this must put it back at its last acknowledged offset (`resetTo`,
   * and fetch from there), since the records of the call that was running are gone from its queue.
   */
  onCrash(worker: PartitionWorker): void;
  /** Concurrent lanes per call (1: none). */
  lanes: number;
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
  /** Times the worker's loop failed and was restarted. */
  crashes = 0;
  /** Stopped by the error policy: nothing more is handled (the commit stays before the failed records). */
  halted = false;
  /** Paused by the application: the worker starts no new call (the running one finishes). */
  private paused = false;
  /** Date.now() when the running call started (undefined when idle): stall detection reads it. */
  callStartedAt: number | undefined;
  /** What the running (or last) call is: records, or a `{ caughtUp }` notification. */
  callKind: "records" | "caughtUp" = "records";

  private readonly options: PartitionWorkerOptions;
  /** Created at the committed offset, or at the first fetched record (where the reset policy put the position). */
  private tracker: OffsetTracker | undefined;
  private readonly queue: { run: RecordRun; bytes: number; highWatermark: number }[] = [];
  private caughtUpSent = false;
  private lastNextOffset = -1;
  private stopping = false;
  private detached = false;
  private wakeUp: (() => void) | undefined;
  private readonly retryWakers = new Set<() => void>();
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
    this.done = this.supervise();
  }

  /** Adds a fetched batch (records at or after the position, in order). */
  enqueue(batch: FetchedBatch): void {
    if (this.stopping) return;
    const { run } = batch;
    const tracker = this.tracker ??= new OffsetTracker(run.length > 0 ? run.firstOffset() : batch.nextOffset);
    if (run.length > 0) {
      const first = run.firstOffset();
      const last = run.lastOffset();
      if (last - first + 1 === run.length) tracker.delivered(first, last);
      else tracker.deliveredOffsets(run.offsets());
    }
    // Offsets past the last record (control batches, aborted records) are done as soon as fetched.
    if (batch.nextOffset > tracker.position) tracker.advance(batch.nextOffset);
    this.lastNextOffset = Math.max(this.lastNextOffset, batch.nextOffset);
    this.highWatermark = batch.highWatermark;
    if (run.length > 0) {
      this.queue.push({ run, bytes: batch.bytes, highWatermark: batch.highWatermark });
      this.queuedRecords += run.length;
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
    this.stopTaking();
    await resolvesWithin(this.done, drainMs);
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.wakeUp?.();
  }

  /** Drops what is queued (a seek: those records will not be handled). */
  discardQueued(): void {
    this.dropQueue();
    this.options.onQueueShrink(this);
  }

  /**
   * After a seek: the partition continues at `offset`. Records delivered before and not yet
   * acknowledged are forgotten (their late acknowledgements are ignored), so the next commit is
   * `offset` once nothing newer is pending.
   */
  resetTo(offset: number): void {
    if (this.tracker) this.tracker.reset(offset);
    else this.tracker = new OffsetTracker(offset);
    this.lastNextOffset = offset;
    this.caughtUpSent = false;
    this.discardQueued();
  }

  /** Resolves when the worker's loop has ended (after `stop`, when the running call returned). */
  get finished(): Promise<void> {
    return this.done;
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

  /**
   * Elsa's worker supervisor: a loop that fails (a bug, or a policy step that threw) is restarted
   * with a growing delay, from the last acknowledged offset (`onCrash` arranges that), instead of
   * leaving the partition silently unhandled or failing `stop`.
   */
  private async supervise(): Promise<void> {
    const backoff = new Backoff(this.options.retryBackoff);
    for (;;) {
      const handledBefore = this.handled;
      try {
        await this.loop();
        return;
      } catch (error) {
        if (this.handled > handledBefore) backoff.reset(); // it worked for a while: not a crash loop
        this.callStartedAt = undefined;
        this.ackedInCall = undefined;
        this.crashes++;
        const restartInMs = Math.max(MIN_RETRY_MS, backoff.next());
        this.options.events.emit({ type: "worker-crash", topic: this.topic, partition: this.partition, error, crashes: this.crashes, restartInMs: this.stopping ? null : restartInMs });
        if (this.stopping) return;
        this.options.onCrash(this);
        await this.sleepUnlessStopped(restartInMs);
      }
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const turn = ioTurn(); // let the fetcher's sockets be read between calls (see io-turn.ts)
      if (turn) {
        await turn;
        continue; // stopped, paused or re-queued meanwhile: look again
      }
      if (this.paused || this.queue.length === 0) {
        if (!this.paused && !this.caughtUpSent && this.highWatermark >= 0 && this.lastNextOffset >= this.highWatermark) {
          this.caughtUpSent = true;
          await this.notifyCaughtUp();
          continue;
        }
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        this.wakeUp = undefined;
        continue;
      }
      // The call's records live in `handleNext`'s frame only. A local of this loop would keep the
      // last call's records alive through the event-loop turn above, when the next Fetch response
      // is read and decoded (most of the allocation): each scavenge then copied ~1-2 MB of them.
      await this.handleNext();
    }
  }

  /**
   * The next call's records: everything queued, up to `maxBatchSize`, across as many fetched
   * batches as that takes (the last one split if it does not fit).
   */
  private take(): { records: DecodedRecord[]; highWatermark: number } | undefined {
    if (this.queue.length === 0) return undefined;
    const limit = this.options.maxBatchSize;
    const parts: DecodedRecord[][] = [];
    let count = 0;
    let highWatermark = -1;
    while (this.queue.length > 0 && count < limit) {
      const head = this.queue[0]!;
      const room = limit - count;
      let run: RecordRun;
      if (head.run.length <= room) {
        this.queue.shift();
        run = head.run;
        this.queuedBytes -= head.bytes;
      } else {
        run = head.run.splitOff(room);
        const share = Math.round((head.bytes * run.length) / (run.length + head.run.length));
        head.bytes -= share;
        this.queuedBytes -= share;
      }
      this.queuedRecords -= run.length;
      highWatermark = head.highWatermark;
      // The call's record objects are built now, not when fetched: they die young (see record-run.ts).
      const built = run.records();
      parts.push(built);
      count += built.length;
    }
    this.options.onQueueShrink(this);
    // Joined once (not concatenated run by run); never in place: a part may be an application's array.
    return { records: parts.length === 1 ? parts[0]! : ([] as DecodedRecord[]).concat(...parts), highWatermark };
  }

  /** Takes the next call's records and handles them. */
  private async handleNext(): Promise<void> {
    const call = this.take();
    if (!call) return;
    this.ackedInCall = new Set();
    this.callStartedAt = Date.now();
    this.callKind = "records";
    const lanes = this.splitIntoLanes(call.records);
    await Promise.all(lanes.map((records, lane) => this.handleLane(records, call.highWatermark, lanes.length > 1 ? lane : undefined)));
    this.callStartedAt = undefined;
    this.ackedInCall = undefined;
  }

  /** Records by lane (murmur2 of the key; records without a key spread by offset). Empty lanes are left out. */
  private splitIntoLanes(records: DecodedRecord[]): DecodedRecord[][] {
    const n = this.options.lanes;
    if (n <= 1 || records.length < 2) return [records];
    const keyed = records.filter((r) => r.key !== null);
    const laneOfKeyed = partitionsForKeys(keyed.map((r) => r.key!), n);
    const lanes: DecodedRecord[][] = Array.from({ length: n }, () => []);
    let k = 0;
    for (const r of records) lanes[r.key === null ? r.offset % n : laneOfKeyed[k++]!]!.push(r);
    return lanes.filter((lane) => lane.length > 0);
  }

  /** One lane of a call: the handler until it succeeds, with backoff between attempts, then the error policy. */
  private async handleLane(initial: DecodedRecord[], highWatermark: number, lane: number | undefined): Promise<void> {
    const backoff = new Backoff(this.options.retryBackoff);
    const { events } = this.options;
    const acked = this.ackedInCall!;
    let records = initial;
    let attempt = 0;
    while (records.length > 0 && !this.halted) {
      attempt++;
      const started = Date.now();
      events.emit({ type: "handler-start", topic: this.topic, partition: this.partition, records: records.length });
      try {
        await this.options.handleRecords({ records, topic: this.topic, partition: this.partition, generationId: this.generationId, highWatermark, ...(lane === undefined ? {} : { lane }) });
        // One call into the core for the whole call's records (not one per record); a run of
        // consecutive offsets (the usual call) as a range, without listing them.
        if (this.options.autoAck && !this.detached) {
          const first = records[0]!.offset;
          const last = records[records.length - 1]!.offset;
          if (last - first + 1 === records.length) this.tracker!.ackRange(first, last);
          else this.tracker!.ackMany(records.map((r) => r.offset));
        }
        this.handled += records.length;
        events.emit({ type: "handler-stop", topic: this.topic, partition: this.partition, records: records.length, durationMs: Date.now() - started });
        return;
      } catch (thrown) {
        const failure = thrown instanceof RecordFailure ? thrown : undefined;
        const error = failure ? failure.error : thrown;
        const exhausted = attempt >= this.options.maxAttempts;
        const retryInMs = exhausted ? 0 : Math.max(MIN_RETRY_MS, backoff.next());
        events.emit({ type: "handler-error", topic: this.topic, partition: this.partition, records: records.length, durationMs: Date.now() - started, attempt, error, retryInMs });
        if (this.stopping) return;
        if (exhausted) {
          const failed = failure ? records.filter((r) => r.offset === failure.offset) : records.filter((r) => !acked.has(r.offset));
          const outcome = await this.options.onExhausted({ topic: this.topic, partition: this.partition, records: failed, error, attempts: attempt });
          if (outcome === "stop") return this.halt();
          for (const r of failed) this.ack(r.offset);
          attempt = 0;
          backoff.reset();
        } else {
          await this.sleepUnlessStopped(retryInMs);
          if (this.stopping) return;
        }
        // Start again from the first record not acknowledged.
        records = records.filter((r) => !acked.has(r.offset));
      }
    }
  }

  private halt(): void {
    if (this.halted) return;
    this.halted = true;
    this.stopTaking();
    this.options.onHalt(this);
  }

  /** No new call starts: the queue is dropped and an idle or retry-waiting loop wakes up to end. */
  private stopTaking(): void {
    this.stopping = true;
    this.dropQueue();
    this.wakeUp?.();
    for (const wake of this.retryWakers) wake();
  }

  /** A `{ caughtUp }` call is a call like any other: timed for stalls, waited for by a drain. */
  private async notifyCaughtUp(): Promise<void> {
    this.callStartedAt = Date.now();
    this.callKind = "caughtUp";
    try {
      await this.options.handleCaughtUp({ caughtUp: { topic: this.topic, partition: this.partition }, generationId: this.generationId });
    } catch (error) {
      this.options.events.emit({ type: "error", error, topic: this.topic, partition: this.partition });
    } finally {
      this.callStartedAt = undefined;
    }
  }

  private sleepUnlessStopped(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.retryWakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.retryWakers.add(wake);
    });
  }
}
