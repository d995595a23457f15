/**
 * Record runs (src/records/record-run.ts): the columns a queue holds until a handler call, split
 * into calls without building record objects. Checked against the record objects of the same set.
 */
import { describe, expect, it } from "vitest";
import { decodeRecordBatches, encodeRecordBatch } from "../../src/entry/node.ts";
import { ArrayRun, SetRun, type RecordRun } from "../../src/records/record-run.ts";
import { seededRandom } from "../support/random.ts";

// Three batches (offsets 10-14, 15-17, 30-33): keys and values of random lengths, some null.
const rand = seededRandom(99);
const text = (n: number) => "x".repeat(n);
const batch = (baseOffset: number, count: number) => encodeRecordBatch(
  Array.from({ length: count }, (_, i) => ({
    key: i % 3 === 0 ? null : text(Math.floor(rand() * 20)),
    value: i % 4 === 1 ? null : text(Math.floor(rand() * 300)),
  })),
  { baseOffset },
);
const blob = new Uint8Array([...batch(10, 5), ...batch(15, 3), ...batch(30, 4)]);
const set = decodeRecordBatches(blob);
const all = [...set];

/** A run over record indexes [1, 4) and [6, 12): offsets 11-13 and 16-17, 30-33. */
const makeRun = () => new SetRun(set, [1, 4, 6, 12]);
const expected = [...all.slice(1, 4), ...all.slice(6, 12)];
const bytesOf = (records: typeof all) => records.reduce((n, r) => n + (r.key?.length ?? 0) + (r.value?.length ?? 0), 0);

describe("SetRun", () => {
  it("gives the selected records, their offsets and key+value bytes", () => {
    const run = makeRun();
    expect(run.length).toBe(9);
    expect(run.records()).toEqual(expected);
    expect(run.offsets()).toEqual([11, 12, 13, 16, 17, 30, 31, 32, 33]);
    expect([run.firstOffset(), run.lastOffset()]).toEqual([11, 33]);
    expect(run.payloadBytes()).toBe(bytesOf(expected));
    expect(run.payloadBytes()).toBeGreaterThan(0);
  });

  it("splits off calls of any size, across and inside ranges, keeping the rest in order", () => {
    for (const sizes of [[1, 1, 1, 1, 1, 1, 1, 1, 1], [2, 3, 4], [3, 6], [4, 100], [9], [8, 1], [5, 2, 2]]) {
      const run = makeRun();
      const calls: RecordRun[] = [];
      for (const size of sizes) if (run.length > 0) calls.push(run.splitOff(size));
      expect(run.length).toBe(0);
      expect(calls.map((c) => c.length)).toEqual(sizes.map((_, i) => Math.min(sizes[i]!, 9 - sizes.slice(0, i).reduce((a, b) => a + b, 0))).filter((n) => n > 0));
      expect(calls.flatMap((c) => c.records())).toEqual(expected);
      expect(calls.flatMap((c) => c.offsets())).toEqual(expected.map((r) => r.offset));
      expect(calls.reduce((n, c) => n + c.payloadBytes(), 0)).toBe(bytesOf(expected));
    }
  });

  it("a copy is independent: splitting one leaves the other whole", () => {
    const run = makeRun();
    const copy = run.copy();
    run.splitOff(4);
    expect(run.length).toBe(5);
    expect(copy.records()).toEqual(expected);
    expect(run.records()).toEqual(expected.slice(4));
  });
});

describe("ArrayRun", () => {
  it("behaves as a SetRun over the same records", () => {
    const run = new ArrayRun(expected);
    expect([run.length, run.firstOffset(), run.lastOffset(), run.payloadBytes()]).toEqual([9, 11, 33, bytesOf(expected)]);
    const head = run.splitOff(4);
    expect(head.records()).toEqual(expected.slice(0, 4));
    expect(run.offsets()).toEqual(expected.slice(4).map((r) => r.offset));
  });
});
