/**
 * A partition worker (src/group/partition-worker.ts) on its own, without a broker: what it keeps
 * alive between handler calls. A worker waits most of its life; anything its loop still holds
 * then is copied by every scavenge and ends up in V8's old generation, which is what made a
 * group member collect more garbage than an assign-mode consumer reading the same records.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { decodeRecordBatches, encodeRecordBatch, partitionForKey } from "../../src/entry/node.ts";
import { type GroupEvent, GroupEvents } from "../../src/group/events.ts";
import { PartitionWorker, type PartitionWorkerOptions, type RecordsNotification } from "../../src/group/partition-worker.ts";
import { SetRun } from "../../src/records/record-run.ts";
import { gate } from "../support/gate.ts";

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** A run of `count` records from `baseOffset`, as the fetcher queues them (columns, no objects yet). */
function runOf(baseOffset: number, count: number): SetRun {
  const set = decodeRecordBatches(encodeRecordBatch(
    Array.from({ length: count }, (_, i) => ({ key: `key-${i}`, value: `value-${baseOffset + i}` })),
    { baseOffset },
  ));
  return new SetRun(set, [0, set.length]);
}

const workers: PartitionWorker[] = [];
afterEach(async () => {
  for (const worker of workers.splice(0)) {
    await worker.stop(1_000);
    worker.close();
  }
});

function startWorker(handleRecords: (n: RecordsNotification) => void, maxBatchSize = Infinity, options: Partial<PartitionWorkerOptions> = {}): PartitionWorker {
  const worker = new PartitionWorker({
    topic: "t", partition: 0, generationId: 1, committedOffset: 0, maxBatchSize, autoAck: true,
    handleRecords, handleCaughtUp: () => {}, onQueueShrink: () => {}, maxAttempts: Infinity,
    onExhausted: async () => "handled", onHalt: () => {}, onCrash: () => {}, lanes: 1, events: new GroupEvents(),
    retryBackoff: { initialMs: 10, maxMs: 10 }, ...options,
  });
  workers.push(worker);
  return worker;
}

const until = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
};

describe("PartitionWorker between calls", () => {
  // After a call that kept the thread busy, the worker gives the event loop a turn before the next
  // one (src/consumer/io-turn.ts); that is when the next Fetch response is read and decoded, with
  // most of the consumer's allocation. The call's records must be garbage by then.
  it("keeps nothing of a handled call alive during the event-loop turn after it", async () => {
    const seen: Array<{ records: boolean; record: boolean }> = [];
    let calls = 0;
    const worker = startWorker((n) => {
      calls++;
      const records = new WeakRef(n.records);
      const record = new WeakRef(n.records[0]!);
      const busyUntil = performance.now() + 5;
      while (performance.now() < busyUntil); // busy past the worker's budget: it yields a turn next
      // Runs in the turn the worker yields to, before the worker takes its next call.
      setImmediate(() => {
        collectGarbage();
        seen.push({ records: records.deref() !== undefined, record: record.deref() !== undefined });
      });
    }, 500); // one call per fetched batch below

    worker.enqueue({ run: runOf(0, 500), nextOffset: 500, highWatermark: 2_000, bytes: 0 });
    worker.enqueue({ run: runOf(500, 500), nextOffset: 1_000, highWatermark: 2_000, bytes: 0 });
    await until(() => seen.length === 2 && worker.committable() === 1_000);
    expect(seen).toEqual([{ records: false, record: false }, { records: false, record: false }]);
    // Still working after its idle wait.
    worker.enqueue({ run: runOf(1_000, 10), nextOffset: 1_010, highWatermark: 2_000, bytes: 0 });
    await until(() => calls === 3 && worker.committable() === 1_010);
  });
});

describe("PartitionWorker calls", () => {
  const offsetsOf = (n: RecordsNotification) => n.records.map((r) => r.offset);
  const queueThree = (worker: PartitionWorker) => {
    // Enqueued in one tick, before the worker's loop looks: three fetched batches wait together.
    worker.enqueue({ run: runOf(0, 300), nextOffset: 300, highWatermark: 900, bytes: 3_000 });
    worker.enqueue({ run: runOf(300, 300), nextOffset: 600, highWatermark: 900, bytes: 3_000 });
    worker.enqueue({ run: runOf(600, 300), nextOffset: 900, highWatermark: 900, bytes: 3_000 });
  };
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  it("hands one call everything queued by default, across fetched batches", async () => {
    const calls: number[][] = [];
    const worker = startWorker((n) => void calls.push(offsetsOf(n)));
    queueThree(worker);
    await until(() => worker.committable() === 900);
    expect(calls).toEqual([range(0, 900)]);
    expect({ records: worker.queuedRecords, bytes: worker.queuedBytes }).toEqual({ records: 0, bytes: 0 });
  });

  it("splits what is queued into calls of at most maxBatchSize, in offset order", async () => {
    const calls: number[][] = [];
    const worker = startWorker((n) => void calls.push(offsetsOf(n)), 400);
    queueThree(worker);
    await until(() => worker.committable() === 900);
    expect(calls).toEqual([range(0, 400), range(400, 800), range(800, 900)]);
    expect({ records: worker.queuedRecords, bytes: worker.queuedBytes }).toEqual({ records: 0, bytes: 0 });
  });
});

describe("PartitionWorker supervision", () => {
  // The worker's own loop fails when a policy step throws (here: the error policy itself, as a
  // dead-letter producer that cannot be created would). The supervisor restarts the loop, and the
  // records of the call that was running come back from the last acknowledged offset.
  it("restarts a crashed loop from the last acknowledged offset and reports each crash", async () => {
    const handled: number[] = [];
    const events = new GroupEvents();
    const crashes: GroupEvent[] = [];
    events.on((e) => void (e.type === "worker-crash" && crashes.push(e)));
    let policyFailures = 0;
    const callsFrom: number[] = [];
    const worker: PartitionWorker = startWorker((n) => {
      callsFrom.push(n.records[0]!.offset);
      for (const r of n.records) {
        if (r.offset === 5) throw new Error("record 5 always fails");
        handled.push(r.offset);
      }
    }, 5, {
      events,
      maxAttempts: 1,
      // Fails twice, then skips the failed call's records (as `then: "skip"` does).
      onExhausted: async () => {
        if (policyFailures++ < 2) throw new Error("the error policy failed");
        return "handled";
      },
      // What the group consumer does: back to the last acknowledged offset, fetched again from there.
      onCrash: (w) => {
        const from = w.committable();
        w.resetTo(from);
        w.enqueue({ run: runOf(from, 10 - from), nextOffset: 10, highWatermark: 10, bytes: 0 });
      },
    });
    worker.enqueue({ run: runOf(0, 10), nextOffset: 10, highWatermark: 10, bytes: 0 });
    await until(() => worker.committable() === 10);
    expect(crashes.map((e) => e.type === "worker-crash" && [e.crashes, e.partition, (e.error as Error).message])).toEqual([
      [1, 0, "the error policy failed"],
      [2, 0, "the error policy failed"],
    ]);
    expect(worker.crashes).toBe(2);
    // 0-4 once; the call from 5 three times (two crashes, each restarting at 5), then skipped.
    expect(callsFrom).toEqual([0, 5, 5, 5]);
    expect(handled).toEqual([0, 1, 2, 3, 4]);
  });

  it("ends instead of restarting when the loop fails while stopping, and stop still resolves", async () => {
    const events = new GroupEvents();
    const crashes: GroupEvent[] = [];
    events.on((e) => void (e.type === "worker-crash" && crashes.push(e)));
    let restarts = 0;
    const { passed: blocked, open: release } = gate();
    const worker = startWorker(() => {
      throw new Error("always fails");
    }, Infinity, {
      events,
      maxAttempts: 1,
      onExhausted: async () => {
        await blocked;
        throw new Error("the error policy failed during stop");
      },
      onCrash: () => void restarts++,
    });
    worker.enqueue({ run: runOf(0, 3), nextOffset: 3, highWatermark: 3, bytes: 0 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const stopped = worker.stop(1_000);
    release();
    await expect(stopped).resolves.toBeUndefined();
    await worker.finished;
    expect(restarts).toBe(0);
    expect(crashes.map((e) => e.type === "worker-crash" && e.restartInMs)).toEqual([null]);
    expect(worker.committable()).toBe(0);
  });
});

describe("PartitionWorker lanes", () => {
  it("puts each record in the lane of murmur2(key) % lanes, and a slow lane holds the commit back", async () => {
    const lanesOf = new Map<number, Set<number>>(); // lane → offsets
    const keyOf = (offset: number) => `key-${offset}`; // runOf's keys
    const { passed: held, open: release } = gate();
    const slowLane = partitionForKey(keyOf(0), 2); // the lane of the very first record
    const worker = startWorker(async (n) => {
      const offsets = lanesOf.get(n.lane!) ?? new Set<number>();
      for (const r of n.records) offsets.add(r.offset);
      lanesOf.set(n.lane!, offsets);
      if (n.lane === slowLane) await held;
    }, Infinity, { lanes: 2 });
    worker.enqueue({ run: runOf(0, 40), nextOffset: 40, highWatermark: 40, bytes: 0 });
    await until(() => lanesOf.size === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The fast lane is done, but record 0 (slow lane) is not: nothing can be committed yet.
    expect(worker.committable()).toBe(0);
    expect(worker.pending).toBe(lanesOf.get(slowLane)!.size);
    release();
    await until(() => worker.committable() === 40);
    for (const [lane, offsets] of lanesOf) {
      for (const offset of offsets) expect(partitionForKey(keyOf(offset), 2), `offset ${offset}`).toBe(lane);
    }
    expect([...lanesOf.values()].reduce((n, offsets) => n + offsets.size, 0)).toBe(40);
  });
});
