/**
 * A partition worker (src/group/partition-worker.ts) on its own, without a broker: what it keeps
 * alive between handler calls. A worker waits most of its life; anything its loop still holds
 * then is copied by every scavenge and ends up in V8's old generation, which is what made a
 * group member collect more garbage than an assign-mode consumer reading the same records.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { decodeRecordBatches, encodeRecordBatch } from "../../src/entry/node.ts";
import { GroupEvents } from "../../src/group/events.ts";
import { PartitionWorker, type RecordsNotification } from "../../src/group/partition-worker.ts";
import { SetRun } from "../../src/records/record-run.ts";

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

function startWorker(handleRecords: (n: RecordsNotification) => void): PartitionWorker {
  const worker = new PartitionWorker({
    topic: "t", partition: 0, generationId: 1, committedOffset: 0, maxBatchSize: Infinity, autoAck: true,
    handleRecords, handleCaughtUp: () => {}, onQueueShrink: () => {}, maxAttempts: Infinity,
    onExhausted: async () => "handled", onHalt: () => {}, lanes: 1, events: new GroupEvents(),
    retryBackoff: { initialMs: 10, maxMs: 10 },
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
    });
    worker.enqueue({ run: runOf(0, 500), nextOffset: 500, highWatermark: 2_000, bytes: 0 });
    worker.enqueue({ run: runOf(500, 500), nextOffset: 1_000, highWatermark: 2_000, bytes: 0 });
    await until(() => seen.length === 2 && worker.committable() === 1_000);
    expect(seen).toEqual([{ records: false, record: false }, { records: false, record: false }]);
    // Still working after its idle wait.
    worker.enqueue({ run: runOf(1_000, 10), nextOffset: 1_010, highWatermark: 2_000, bytes: 0 });
    await until(() => calls === 3 && worker.committable() === 1_010);
  });
});
