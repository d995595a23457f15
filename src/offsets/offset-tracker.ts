/**
 * Per-partition acknowledgement bookkeeping for consumers, kept in the WebAssembly core
 * (`wasm/src/offsets.rs`).
 *
 * A consumer delivers a partition's records to handlers in offset order and the handlers
 * acknowledge them in any order. `committable()` is the offset that is safe to commit: the first
 * delivered offset not acknowledged yet or, when every delivered offset is acknowledged, the fetch
 * position (one past the last delivered offset). Offsets that were never delivered — compacted
 * away, transaction markers, aborted records — never hold the commit back.
 *
 * The core keeps one bit per offset between the commit point and the fetch position (two where
 * the partition has gaps of up to 512 offsets; about 100 bytes per stretch after a larger gap) and
 * releases it as the commit point advances, so millions of records can be in flight.
 */
import { OFFSET_STATS_LEN, OffsetStatus, type CoreExports } from "../core/abi.ts";
import { core, type Core } from "../core/instance.ts";
import { OffsetTrackerError, TributaryError, WasmOutOfMemoryError } from "../errors.ts";

/**
 * What an acknowledgement did:
 * - `"acked"`: the offset was delivered and is now acknowledged;
 * - `"already-acked"`: it had been acknowledged before (a duplicate);
 * - `"below-floor"`: it is below the commit point, so it was acknowledged earlier or never
 *   delivered (also what acknowledgements from before a `reset` to a later offset get);
 * - `"not-delivered"`: it was never delivered (a gap, or at or past the fetch position).
 */
export type AckResult = "acked" | "already-acked" | "below-floor" | "not-delivered";

export interface OffsetTrackerStats {
  /** The offset that is safe to commit. */
  committable: number;
  /** The fetch position: one past the last delivered (or skipped) offset. */
  position: number;
  /** Delivered offsets not acknowledged yet. */
  pending: number;
  /** Stretches of offsets the core keeps apart (a gap of more than 512 offsets starts one). */
  runs: number;
  /** Bytes of the core's memory the tracker holds. */
  heapBytes: number;
}

/** Largest fetch position: one past the largest offset, 2^53 - 1 (`Number.MAX_SAFE_INTEGER`). */
const MAX_POSITION = 2 ** 53;
/** Offsets passed per call for lists, so the scratch buffer stays at 512 KiB however long they are. */
const CHUNK = 65_536;

const ACK_RESULTS: ReadonlyArray<AckResult> = ["acked", "already-acked", "below-floor", "not-delivered"];

/** Frees the core's side of trackers that are garbage-collected without `close()`. */
const finalizer = typeof FinalizationRegistry === "function"
  ? new FinalizationRegistry<{ exports: CoreExports; handle: number }>(({ exports, handle }) => {
    exports.tributary_offsets_free(handle);
  })
  : undefined;

export class OffsetTracker {
  readonly #core: Core;
  #handle: number;

  /** A tracker whose first delivery will be at `nextOffset` (the fetch position) or later. */
  constructor(nextOffset: number) {
    checkPosition(nextOffset, "nextOffset");
    this.#core = core();
    const handle = this.#core.guard("tributary_offsets_new", () => this.#core.exports.tributary_offsets_new(nextOffset));
    if (handle === 0) throw new WasmOutOfMemoryError("the WebAssembly core could not allocate an offset tracker");
    this.#handle = handle;
    finalizer?.register(this, { exports: this.#core.exports, handle }, this);
  }

  /** Records the delivery of the offsets `first` to `lastInclusive` (default: just `first`). */
  delivered(first: number, lastInclusive: number = first): void {
    const handle = this.#live();
    checkOffset(first, "first");
    checkOffset(lastInclusive, "lastInclusive");
    if (lastInclusive < first) throw new RangeError(`lastInclusive (${lastInclusive}) is below first (${first})`);
    const status = this.#core.guard("tributary_offsets_delivered_range", () =>
      this.#core.exports.tributary_offsets_delivered_range(handle, first, lastInclusive));
    if (status !== OffsetStatus.ok) this.#fail(status, `deliver ${first}..${lastInclusive}`);
  }

  /**
   * Records the delivery of strictly ascending offsets, gaps allowed (the records of a fetch
   * response, without the offsets compaction or transaction markers left out). All or nothing,
   * except that a list longer than 65,536 offsets may be partly recorded when memory runs out.
   */
  deliveredOffsets(offsets: ArrayLike<number>): void {
    const handle = this.#live();
    const count = offsets.length;
    let previous = -1;
    for (let i = 0; i < count; i++) {
      const offset = offsets[i]!;
      if (!isOffset(offset)) checkOffset(offset, `offsets[${i}]`);
      if (offset <= previous) {
        throw new OffsetTrackerError("out-of-order", `offsets must be strictly ascending: offsets[${i}] = ${offset} follows ${previous}`);
      }
      previous = offset;
    }
    for (let start = 0; start < count; start += CHUNK) {
      const end = Math.min(count, start + CHUNK);
      const ptr = this.#copyIn(offsets, start, end);
      const status = this.#core.guard("tributary_offsets_delivered_list", () =>
        this.#core.exports.tributary_offsets_delivered_list(handle, ptr, end - start));
      if (status !== OffsetStatus.ok) this.#fail(status, `deliver offsets from ${offsets[start]}`);
    }
  }

  /**
   * Moves the fetch position to `nextOffset` without delivering the offsets in between: a fetch
   * whose last records are not delivered (control records, aborted transactions). When nothing is
   * pending, `committable()` becomes `nextOffset`.
   */
  advance(nextOffset: number): void {
    const handle = this.#live();
    checkPosition(nextOffset, "nextOffset");
    const status = this.#core.guard("tributary_offsets_advance", () =>
      this.#core.exports.tributary_offsets_advance(handle, nextOffset));
    if (status !== OffsetStatus.ok) this.#fail(status, `advance to ${nextOffset}`);
  }

  /** Acknowledges one offset; see `AckResult`. */
  ack(offset: number): AckResult {
    const handle = this.#live();
    checkOffset(offset, "offset");
    const status = this.#core.guard("tributary_offsets_ack", () => this.#core.exports.tributary_offsets_ack(handle, offset));
    return ACK_RESULTS[status] ?? this.#fail(status, `acknowledge ${offset}`);
  }

  /** Acknowledges offsets in any order; returns how many were newly acknowledged. */
  ackMany(offsets: ArrayLike<number>): number {
    const handle = this.#live();
    const count = offsets.length;
    for (let i = 0; i < count; i++) if (!isOffset(offsets[i]!)) checkOffset(offsets[i]!, `offsets[${i}]`);
    let acked = 0;
    for (let start = 0; start < count; start += CHUNK) {
      const end = Math.min(count, start + CHUNK);
      const ptr = this.#copyIn(offsets, start, end);
      const result = this.#core.guard("tributary_offsets_ack_list", () =>
        this.#core.exports.tributary_offsets_ack_list(handle, ptr, end - start));
      if (result < 0) this.#fail(result, "acknowledge offsets");
      acked += result;
    }
    return acked;
  }

  /**
   * Acknowledges every delivered offset from `first` to `last` (inclusive; offsets never
   * delivered, and those below the committable offset, are skipped) in one call into the core,
   * word by word; returns how many were newly acknowledged. For a handler call of consecutive
   * records this replaces `ackMany` of each offset.
   */
  ackRange(first: number, last: number): number {
    const handle = this.#live();
    checkOffset(first, "first");
    checkOffset(last, "last");
    if (last < first) throw new RangeError(`ackRange: last (${last}) is below first (${first})`);
    const result = this.#core.guard("tributary_offsets_ack_range", () => this.#core.exports.tributary_offsets_ack_range(handle, first, last));
    return result >= 0 ? result : this.#fail(result, `acknowledge ${first}..${last}`);
  }

  /**
   * The offset that is safe to commit: the first delivered offset not acknowledged yet, or the
   * fetch position when every delivered offset is acknowledged. Never decreases until `reset`.
   */
  committable(): number {
    const handle = this.#live();
    const offset = this.#core.guard("tributary_offsets_committable", () => this.#core.exports.tributary_offsets_committable(handle));
    return offset >= 0 ? offset : this.#fail(offset, "read the committable offset");
  }

  /** Delivered offsets not acknowledged yet. */
  get pending(): number {
    const handle = this.#live();
    const pending = this.#core.guard("tributary_offsets_pending", () => this.#core.exports.tributary_offsets_pending(handle));
    return pending >= 0 ? pending : this.#fail(pending, "read the pending count");
  }

  /** The fetch position: one past the last delivered or skipped offset. */
  get position(): number {
    return this.stats().position;
  }

  stats(): OffsetTrackerStats {
    const handle = this.#live();
    const ptr = this.#core.scratch(8 * OFFSET_STATS_LEN);
    const status = this.#core.guard("tributary_offsets_stats", () => this.#core.exports.tributary_offsets_stats(handle, ptr));
    if (status !== OffsetStatus.ok) this.#fail(status, "read the statistics");
    const [committable, position, pending, runs, heapBytes] = new Float64Array(this.#core.bytes().buffer, ptr, OFFSET_STATS_LEN);
    return { committable: committable!, position: position!, pending: pending!, runs: runs!, heapBytes: heapBytes! };
  }

  /**
   * Forgets every delivery and acknowledgement and releases the memory: after a seek, or when
   * the partition is assigned again (a new group generation). The next delivery is at
   * `nextOffset` or later; `nextOffset` may be below the old position.
   */
  reset(nextOffset: number): void {
    const handle = this.#live();
    checkPosition(nextOffset, "nextOffset");
    const status = this.#core.guard("tributary_offsets_reset", () => this.#core.exports.tributary_offsets_reset(handle, nextOffset));
    if (status !== OffsetStatus.ok) this.#fail(status, `reset to ${nextOffset}`);
  }

  /** Frees the tracker in the core. Closing twice does nothing; any other use throws. */
  close(): void {
    if (this.#handle === 0) return;
    const handle = this.#handle;
    this.#handle = 0;
    finalizer?.unregister(this);
    this.#core.guard("tributary_offsets_free", () => this.#core.exports.tributary_offsets_free(handle));
  }

  get closed(): boolean {
    return this.#handle === 0;
  }

  #live(): number {
    if (this.#handle === 0) throw new OffsetTrackerError("closed", "the offset tracker is closed");
    return this.#handle;
  }

  /** Writes `offsets[start..end)` as f64s into scratch memory; returns their address. */
  #copyIn(offsets: ArrayLike<number>, start: number, end: number): number {
    const ptr = this.#core.scratch(8 * (end - start));
    const view = new Float64Array(this.#core.bytes().buffer, ptr, end - start);
    if (start === 0 && end === offsets.length) {
      view.set(offsets);
    } else if (ArrayBuffer.isView(offsets) && "subarray" in offsets) {
      view.set((offsets as Float64Array).subarray(start, end));
    } else {
      for (let i = start; i < end; i++) view[i - start] = offsets[i]!;
    }
    return ptr;
  }

  #fail(status: number, what: string): never {
    switch (status) {
      case OffsetStatus.outOfOrder:
        throw new OffsetTrackerError(
          "out-of-order",
          `cannot ${what}: offsets must be delivered in ascending order from the fetch position ` +
            `(now ${this.stats().position}), and the position cannot move back (use reset)`,
        );
      case OffsetStatus.outOfMemory:
        throw new WasmOutOfMemoryError(`cannot ${what}: the WebAssembly core cannot hold that many offsets in flight`);
      case OffsetStatus.badHandle:
        throw new OffsetTrackerError("bad-handle", `cannot ${what}: the WebAssembly core does not know this tracker`);
      case OffsetStatus.badOffset:
        throw new RangeError(`cannot ${what}: the WebAssembly core rejected an offset`);
      default:
        throw new TributaryError(`cannot ${what}: the WebAssembly core answered status ${status}`);
    }
  }
}

function isOffset(offset: number): boolean {
  return Number.isSafeInteger(offset) && offset >= 0;
}

function checkOffset(offset: number, name: string): void {
  if (!isOffset(offset)) {
    throw new RangeError(`${name} must be a whole number from 0 to 2^53 - 1, got ${offset}`);
  }
}

function checkPosition(offset: number, name: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_POSITION) {
    throw new RangeError(`${name} must be a whole number from 0 to 2^53, got ${offset}`);
  }
}
