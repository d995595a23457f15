import { describe, expect, it } from "vitest";
import { OffsetTracker, OffsetTrackerError, TributaryError, type AckResult } from "../../src/entry/node.ts";
import { OffsetStatus } from "../../src/core/abi.ts";
import { core } from "../../src/core/instance.ts";
import { seededRandom } from "../support/random.ts";

/** The obvious model: sets of pending (delivered, unacknowledged) and acknowledged offsets. */
class Model {
  position: number;
  pending = new Set<number>();
  acked = new Set<number>();
  /** The smallest pending offset, recomputed (by a scan) only after it was acknowledged. */
  #first: number | undefined;

  constructor(position: number) {
    this.position = position;
  }

  committable(): number {
    if (this.pending.size === 0) return this.position;
    if (this.#first === undefined) this.#first = Math.min(...this.pending);
    return this.#first;
  }

  deliver(offsets: Iterable<number>): void {
    for (const offset of offsets) {
      // Deliveries ascend, so a new offset is the smallest only when nothing else is pending.
      if (this.pending.size === 0) this.#first = offset;
      this.pending.add(offset);
      this.position = offset + 1;
    }
  }

  ack(offset: number): AckResult {
    if (offset < this.committable()) return "below-floor";
    if (this.pending.delete(offset)) {
      this.acked.add(offset);
      if (offset === this.#first || this.pending.size === 0) this.#first = undefined;
      return "acked";
    }
    return this.acked.has(offset) ? "already-acked" : "not-delivered";
  }

  reset(position: number): void {
    this.position = position;
    this.pending.clear();
    this.acked.clear();
    this.#first = undefined;
  }
}

const range = (first: number, lastInclusive: number) =>
  Array.from({ length: lastInclusive - first + 1 }, (_, i) => first + i);

function expectTrackerError(run: () => unknown, code: OffsetTrackerError["code"]): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OffsetTrackerError);
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as OffsetTrackerError).code).toBe(code);
    return;
  }
  expect.fail(`expected an OffsetTrackerError (${code})`);
}

describe("OffsetTracker", () => {
  it("commits up to the first unacknowledged offset while acknowledgements arrive out of order", () => {
    const tracker = new OffsetTracker(100);
    expect(tracker.committable()).toBe(100);
    tracker.delivered(100, 109);
    expect([tracker.committable(), tracker.pending, tracker.position]).toEqual([100, 10, 110]);
    expect(tracker.ack(105)).toBe("acked");
    expect(tracker.ack(105)).toBe("already-acked");
    for (const offset of [109, 101, 103, 102, 104]) expect(tracker.ack(offset)).toBe("acked");
    expect(tracker.committable()).toBe(100); // 100 is still being handled
    expect(tracker.ack(100)).toBe("acked");
    expect(tracker.committable()).toBe(106);
    expect(tracker.ack(103)).toBe("below-floor");
    expect(tracker.ackMany([108, 107, 108, 106, 50])).toBe(3);
    expect([tracker.committable(), tracker.pending]).toEqual([110, 0]);
    expect(tracker.ack(110)).toBe("not-delivered"); // not delivered yet
    tracker.close();
  });

  it("ackRange acknowledges what single acks of the same offsets would, in one call", () => {
    const rand = seededRandom(848);
    for (let round = 0; round < 40; round++) {
      const start = Math.floor(rand() * 1_000);
      const tracker = new OffsetTracker(start);
      const model = new Model(start);
      let position = start;
      for (let step = 0; step < 30; step++) {
        if (rand() < 0.45) {
          const first = position + Math.floor(rand() * 3);
          const offsets = range(first, first + Math.floor(rand() * 500)).filter(() => rand() < 0.9);
          if (offsets.length === 0) continue;
          tracker.deliveredOffsets(offsets);
          model.deliver(offsets);
          position = offsets[offsets.length - 1]! + 1;
        } else {
          const first = start + Math.floor(rand() * (position - start + 10));
          const last = first + Math.floor(rand() * 700);
          const expected = range(first, last).filter((offset) => model.ack(offset) === "acked").length;
          expect(tracker.ackRange(first, last)).toBe(expected);
        }
        expect([tracker.committable(), tracker.pending]).toEqual([model.committable(), model.pending.size]);
      }
      tracker.close();
    }
    const tracker = new OffsetTracker(0);
    expect(() => tracker.ackRange(5, 4)).toThrow(RangeError);
    expect(() => tracker.ackRange(-1, 4)).toThrow(RangeError);
    tracker.close();
  });

  it("never lets an offset that was not delivered hold the commit back", () => {
    const tracker = new OffsetTracker(0);
    // Compaction gaps of every size, a transaction marker at 7, a far jump.
    tracker.deliveredOffsets([0, 1, 2, 5, 6, 8, 700, 701, 100_000, 100_002]);
    expect(tracker.committable()).toBe(0);
    for (const gap of [3, 4, 7, 9, 699, 50_000, 100_001]) expect(tracker.ack(gap)).toBe("not-delivered");
    expect(tracker.ackMany([0, 1, 2, 5, 6])).toBe(5);
    expect(tracker.committable()).toBe(8);
    expect(tracker.ack(8)).toBe("acked");
    expect(tracker.committable()).toBe(700);
    expect(tracker.ackMany([701, 700, 100_002])).toBe(3);
    expect(tracker.committable()).toBe(100_000);
    expect(tracker.ack(100_000)).toBe("acked");
    expect(tracker.committable()).toBe(100_003);
    // The first delivery may start after the position, and a fetch can end in records that are
    // not delivered (control records): the position moves past them.
    tracker.delivered(100_010, 100_019);
    expect(tracker.committable()).toBe(100_010);
    tracker.advance(100_025);
    expect(tracker.committable()).toBe(100_010);
    expect(tracker.ackMany(range(100_010, 100_019))).toBe(10);
    expect(tracker.committable()).toBe(100_025);
    expect(tracker.stats()).toMatchObject({ committable: 100_025, position: 100_025, pending: 0, runs: 0 });
    tracker.close();
  });

  it("never moves the commit point past an unacknowledged delivered offset", () => {
    const tracker = new OffsetTracker(0);
    tracker.delivered(0, 9_999);
    // Everything but 4,321 acknowledged, in reverse.
    for (let offset = 9_999; offset >= 0; offset--) if (offset !== 4_321) tracker.ack(offset);
    expect([tracker.committable(), tracker.pending]).toEqual([4_321, 1]);
    tracker.delivered(10_000, 10_499);
    tracker.ackMany(range(10_000, 10_499));
    expect(tracker.committable()).toBe(4_321);
    expect(tracker.ack(4_321)).toBe("acked");
    expect(tracker.committable()).toBe(10_500);
    tracker.close();
  });

  it("forgets everything on reset, including to an earlier offset", () => {
    const tracker = new OffsetTracker(1_000);
    tracker.delivered(1_000, 1_999);
    tracker.ackMany(range(1_500, 1_999));
    tracker.reset(500); // a seek back
    expect([tracker.committable(), tracker.pending, tracker.position]).toEqual([500, 0, 500]);
    expect(tracker.stats().heapBytes).toBe(0);
    expect(tracker.ack(1_000)).toBe("not-delivered");
    tracker.delivered(500, 509); // deliveries below the old position are fine after the seek
    expect(tracker.ack(505)).toBe("acked");
    expect(tracker.committable()).toBe(500);
    tracker.reset(5_000); // a new generation from a committed offset further on
    expect(tracker.ack(500)).toBe("below-floor");
    expect(tracker.committable()).toBe(5_000);
    tracker.close();
  });

  it("rejects bad arguments and out-of-order deliveries with typed errors, changing nothing", () => {
    const tracker = new OffsetTracker(10);
    tracker.delivered(10, 19);
    for (const bad of [Number.NaN, -1, 1.5, Infinity, 2 ** 53, "12" as unknown as number]) {
      expect(() => tracker.ack(bad)).toThrow(RangeError);
      expect(() => tracker.delivered(bad)).toThrow(RangeError);
      expect(() => tracker.ackMany([12, bad])).toThrow(RangeError);
      expect(() => tracker.deliveredOffsets([20, bad])).toThrow(RangeError);
      if (bad !== 2 ** 53) expect(() => tracker.reset(bad)).toThrow(RangeError);
    }
    expect(() => new OffsetTracker(-1)).toThrow(RangeError);
    expect(() => tracker.delivered(30, 29)).toThrow(RangeError);
    expectTrackerError(() => tracker.delivered(19), "out-of-order"); // delivered already
    expectTrackerError(() => tracker.delivered(5, 25), "out-of-order");
    expectTrackerError(() => tracker.deliveredOffsets([20, 22, 21]), "out-of-order");
    expectTrackerError(() => tracker.deliveredOffsets([20, 20]), "out-of-order");
    expectTrackerError(() => tracker.deliveredOffsets([15, 25]), "out-of-order");
    expectTrackerError(() => tracker.advance(12), "out-of-order");
    // Nothing of the refused calls was recorded.
    expect(tracker.stats()).toMatchObject({ committable: 10, position: 20, pending: 10 });
    expect(tracker.ack(12)).toBe("acked");
    expect(tracker.ack(20)).toBe("not-delivered");
    tracker.deliveredOffsets([]);
    expect(tracker.position).toBe(20);

    tracker.close();
    tracker.close(); // closing twice is fine
    expect(tracker.closed).toBe(true);
    for (const use of [
      () => tracker.ack(12),
      () => tracker.ackMany([12]),
      () => tracker.delivered(20),
      () => tracker.deliveredOffsets([20]),
      () => tracker.committable(),
      () => tracker.pending,
      () => tracker.stats(),
      () => tracker.reset(0),
      () => tracker.advance(30),
    ]) {
      expectTrackerError(use, "closed");
    }
  });

  it("keeps the trackers of many partitions apart, also when handles are reused", () => {
    const trackers = Array.from({ length: 64 }, (_, partition) => new OffsetTracker(partition * 1_000));
    trackers.forEach((tracker, partition) => tracker.delivered(partition * 1_000, partition * 1_000 + partition));
    trackers.forEach((tracker, partition) => tracker.ack(partition * 1_000));
    for (const [partition, tracker] of trackers.entries()) {
      expect(tracker.committable()).toBe(partition === 0 ? 1 : partition * 1_000 + 1);
      expect(tracker.pending).toBe(partition);
    }
    trackers[3]!.close();
    const replacement = new OffsetTracker(7); // may take the freed slot in the core
    expectTrackerError(() => trackers[3]!.committable(), "closed");
    expect(replacement.committable()).toBe(7);
    expect(trackers[4]!.committable()).toBe(4_001);
    for (const tracker of [...trackers, replacement]) tracker.close();
  });

  it("never traps on raw calls with bad handles, offsets or buffers", () => {
    const { exports } = core();
    const handle = exports.tributary_offsets_new(0);
    expect(handle).not.toBe(0);
    for (const bad of [Number.NaN, -1, 0.5, Infinity, -Infinity, 2 ** 53, 1e300]) {
      expect(exports.tributary_offsets_ack(handle, bad)).toBe(OffsetStatus.badOffset);
      expect(exports.tributary_offsets_delivered_range(handle, bad, 5)).toBe(OffsetStatus.badOffset);
      expect(exports.tributary_offsets_delivered_range(handle, 0, bad)).toBe(OffsetStatus.badOffset);
    }
    for (const bad of [Number.NaN, -1, 0.5, 2 ** 53 + 2]) {
      expect(exports.tributary_offsets_new(bad)).toBe(0);
      expect(exports.tributary_offsets_reset(handle, bad)).toBe(OffsetStatus.badOffset);
      expect(exports.tributary_offsets_advance(handle, bad)).toBe(OffsetStatus.badOffset);
    }
    expect(exports.tributary_offsets_delivered_range(handle, 0, 9)).toBe(OffsetStatus.ok);
    expect(exports.tributary_offsets_delivered_range(handle, 5, 20)).toBe(OffsetStatus.outOfOrder);
    expect(exports.tributary_offsets_delivered_range(handle, 20, 19)).toBe(OffsetStatus.outOfOrder);
    // A span far beyond what memory can hold is refused, not attempted.
    expect(exports.tributary_offsets_delivered_range(handle, 10, 2 ** 53 - 1)).toBe(OffsetStatus.outOfMemory);
    expect(exports.tributary_offsets_ack(handle, 3)).toBe(OffsetStatus.ok);
    expect(exports.tributary_offsets_ack(handle, 3)).toBe(OffsetStatus.alreadyAcked);
    expect(exports.tributary_offsets_ack(handle, 0)).toBe(OffsetStatus.ok);
    expect(exports.tributary_offsets_ack(handle, 0)).toBe(OffsetStatus.belowFloor);
    expect(exports.tributary_offsets_ack(handle, 10)).toBe(OffsetStatus.notDelivered);

    const memoryEnd = exports.memory.buffer.byteLength;
    for (const [ptr, count] of [[0, 1], [memoryEnd - 8, 2], [memoryEnd, 1], [0xfffffff8, 1], [9, 1], [8, 2 ** 30], [-8, 1]]) {
      expect(exports.tributary_offsets_delivered_list(handle, ptr!, count!), `${ptr}, ${count}`).toBe(OffsetStatus.badBuffer);
      expect(exports.tributary_offsets_ack_list(handle, ptr!, count!), `${ptr}, ${count}`).toBe(OffsetStatus.badBuffer);
    }
    for (const ptr of [0, 9, memoryEnd - 8, memoryEnd]) expect(exports.tributary_offsets_stats(handle, ptr)).toBe(OffsetStatus.badBuffer);
    expect(exports.tributary_offsets_delivered_list(handle, 0, 0)).toBe(OffsetStatus.ok);

    expect(exports.tributary_offsets_free(handle)).toBe(OffsetStatus.ok);
    for (const dead of [handle, 0, 0xffffffff, (handle ^ (1 << 20)) >>> 0]) {
      expect(exports.tributary_offsets_free(dead)).toBe(OffsetStatus.badHandle);
      expect(exports.tributary_offsets_ack(dead, 1)).toBe(OffsetStatus.badHandle);
      expect(exports.tributary_offsets_delivered_range(dead, 1, 2)).toBe(OffsetStatus.badHandle);
      expect(exports.tributary_offsets_reset(dead, 1)).toBe(OffsetStatus.badHandle);
      expect(exports.tributary_offsets_committable(dead)).toBe(OffsetStatus.badHandle);
      expect(exports.tributary_offsets_pending(dead)).toBe(OffsetStatus.badHandle);
    }
  });

  it("agrees with a Set model over random delivery, acknowledgement, skip and reset sequences", () => {
    const baseSeed = Date.now() >>> 0;
    const tracker = new OffsetTracker(0);
    const seen = new Map<AckResult, number>();
    for (let sequence = 0; sequence < 400; sequence++) {
      const seed = (baseSeed + sequence) >>> 0;
      const random = seededRandom(seed);
      const below = (n: number) => Math.floor(random() * n);
      const start = below(1_000_000);
      tracker.reset(start);
      const model = new Model(start);
      for (let step = 0; step < 300; step++) {
        const context = `seed ${seed}, step ${step}`;
        const roll = below(10);
        if (roll < 3) {
          // A contiguous run after no gap, a small gap or a large one.
          const gapRoll = below(4);
          const gap = gapRoll < 2 ? 0 : gapRoll === 2 ? below(520) : below(10_000);
          const first = model.position + gap;
          const last = first + below(below(8) === 0 ? 300 : 20);
          tracker.delivered(first, last);
          model.deliver(range(first, last));
        } else if (roll === 3) {
          const offsets: number[] = [];
          let next = model.position;
          for (let i = below(40); i > 0; i--) {
            next += [0, 0, 1, 2, 60, 600, 3_000][below(7)]!;
            offsets.push(next++);
          }
          tracker.deliveredOffsets(offsets);
          model.deliver(offsets);
        } else if (roll < 8) {
          // Mostly pending offsets, sometimes anything around the window; singly or many at once.
          const pending = [...model.pending];
          const offsets = Array.from({ length: 1 + below(12) }, () =>
            pending.length > 0 && below(5) !== 0
              ? pending[below(pending.length)]!
              : Math.max(0, model.committable() - 100) + below(model.position - model.committable() + 200));
          if (below(2) === 0) {
            for (const offset of offsets) {
              const [actual, expected] = [tracker.ack(offset), model.ack(offset)];
              if (actual !== expected) expect(actual, `${context}: ack ${offset}`).toBe(expected);
              seen.set(actual, (seen.get(actual) ?? 0) + 1);
            }
          } else {
            const acked = offsets.filter((offset) => model.ack(offset) === "acked").length;
            expect(tracker.ackMany(offsets), context).toBe(acked);
          }
        } else if (roll === 8) {
          const to = model.position + below(3);
          tracker.advance(to);
          model.position = to;
        } else if (below(15) === 0) {
          const to = below(1_000_000);
          tracker.reset(to);
          model.reset(to);
        } else if (model.position > 0) {
          const stale = Math.max(0, model.position - 1 - below(10));
          expect(() => tracker.delivered(stale, stale + 3), context).toThrow(OffsetTrackerError);
        }
        // (expect() only on a mismatch: it costs more than the calls under test)
        const [committable, pending] = [tracker.committable(), tracker.pending];
        if (committable !== model.committable()) expect(committable, context).toBe(model.committable());
        if (pending !== model.pending.size) expect(pending, context).toBe(model.pending.size);
      }
      expect(tracker.position, `seed ${seed}`).toBe(model.position);
    }
    // The sequences reached every outcome, many times.
    for (const result of ["acked", "already-acked", "below-floor", "not-delivered"] as const) {
      expect(seen.get(result) ?? 0, result).toBeGreaterThan(500);
    }
    tracker.close();
  });

  it("tracks 2,000,000 offsets in flight acknowledged in random order in little memory", () => {
    const { exports } = core();
    const count = 2_000_000;
    const base = 5_000_000_000; // past 2^32, as long-lived partitions are
    const tracker = new OffsetTracker(base);
    tracker.delivered(base, base + count / 2 - 1);
    const bytesAtOneMillion = tracker.stats().heapBytes;
    tracker.delivered(base + count / 2, base + count - 1);
    const bytesAtTwoMillion = tracker.stats().heapBytes;
    // About one bit per offset in flight.
    expect(bytesAtOneMillion / (count / 2)).toBeLessThan(0.2);
    expect(bytesAtTwoMillion / count).toBeLessThan(0.2);

    const seed = Date.now() >>> 0;
    const random = seededRandom(seed);
    const order = new Float64Array(count);
    for (let i = 0; i < count; i++) order[i] = base + i;
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const swap = order[i]!;
      order[i] = order[j]!;
      order[j] = swap;
    }

    const acked = new Uint8Array(count);
    let floor = 0;
    let maxMemory = exports.memory.buffer.byteLength;
    const chunk = 20_000;
    const started = performance.now();
    for (let start = 0, round = 0; start < count; start += chunk, round++) {
      const slice = order.subarray(start, start + chunk);
      if (round % 2 === 0) {
        expect(tracker.ackMany(slice)).toBe(slice.length);
      } else {
        for (const offset of slice) if (tracker.ack(offset) !== "acked") expect.fail(`seed ${seed}: ack ${offset}`);
      }
      for (const offset of slice) acked[offset - base] = 1;
      while (floor < count && acked[floor] === 1) floor++;
      expect(tracker.committable(), `seed ${seed}, after ${start + slice.length} acknowledgements`).toBe(base + floor);
      expect(tracker.pending).toBe(count - start - slice.length);
      maxMemory = Math.max(maxMemory, exports.memory.buffer.byteLength);
    }
    const elapsed = performance.now() - started;
    expect(tracker.committable()).toBe(base + count);
    expect(tracker.stats()).toMatchObject({ pending: 0, runs: 0 });
    expect(tracker.stats().heapBytes).toBeLessThan(1_024);
    expect(maxMemory).toBeLessThan(32 * 1024 * 1024);
    console.log(
      `offset tracker: ${(bytesAtOneMillion / (count / 2)).toFixed(3)} bytes per in-flight offset at 1M, ` +
        `${((elapsed * 1e6) / count).toFixed(0)} ns per acknowledgement (random order, with checks), ` +
        `core memory ${(maxMemory / 1048576).toFixed(1)} MiB`,
    );

    // The same with gaps (every third offset compacted away), delivered as one long list.
    tracker.reset(0);
    const sparse = Float64Array.from({ length: 1_000_000 }, (_, i) => i * 3 + (i % 2));
    tracker.deliveredOffsets(sparse);
    expect(tracker.stats().heapBytes / sparse.length).toBeLessThan(1.2);
    expect(tracker.committable()).toBe(0);
    expect(tracker.ack(1)).toBe("not-delivered");
    expect(tracker.ackMany(sparse.subarray(0, 500_000))).toBe(500_000);
    expect(tracker.committable()).toBe(sparse[500_000]);
    expect(exports.memory.buffer.byteLength).toBeLessThan(32 * 1024 * 1024);
    tracker.close();
  });
});
