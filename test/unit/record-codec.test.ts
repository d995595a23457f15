import fc from "fast-check";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  COMPRESSION_CODECS,
  type CompressionCodec,
} from "../../src/records/types.ts";
import {
  CorruptRecordError,
  decodeRecordBatches,
  encodeRecordBatch,
  type RecordInput,
  type RecordSet,
  UnsupportedMessageFormatError,
} from "../../src/entry/node.ts";
import { concat, rawBatch, rawRecord } from "../support/raw-batch.ts";

const utf8 = new TextEncoder();
const bytesOf = (value: Uint8Array | string | null | undefined) =>
  value == null ? null : typeof value === "string" ? utf8.encode(value) : value;

function expectRecords(set: RecordSet, inputs: ReadonlyArray<RecordInput>, firstOffset: number, first = 0) {
  inputs.forEach((input, i) => {
    const record = set.record(first + i);
    expect(record.offset).toBe(firstOffset + i);
    expect(record.timestamp).toBe(input.timestamp);
    expect(record.key).toEqual(bytesOf(input.key));
    expect(record.value).toEqual(bytesOf(input.value));
    const headers = Array.isArray(input.headers) ? input.headers : [];
    expect(record.headers).toEqual(headers.map((h) => ({ key: h.key, value: bytesOf(h.value) })));
  });
}

const bytes = fc.uint8Array({ maxLength: 300 });
const keyOrValue = fc.option(fc.oneof(bytes, fc.string({ unit: "grapheme", maxLength: 40 })), { nil: null });
const recordInput: fc.Arbitrary<RecordInput> = fc.record({
  key: keyOrValue,
  value: keyOrValue,
  timestamp: fc.integer({ min: 0, max: 2 ** 42 }),
  headers: fc.array(fc.record({ key: fc.string({ maxLength: 10 }), value: fc.option(bytes, { nil: null }) }), { maxLength: 4 }),
});

describe("record batch codec (v2)", () => {
  for (const codec of COMPRESSION_CODECS) {
    it(`round-trips any records through ${codec} (property)`, () => {
      fc.assert(
        fc.property(fc.array(recordInput, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 2 ** 40 }), (records, baseOffset) => {
          const batch = encodeRecordBatch(records, { compression: codec, baseOffset, producerId: 77, producerEpoch: 2, baseSequence: 5 });
          const set = decodeRecordBatches(batch);
          expect(set.length).toBe(records.length);
          expect(set.truncated).toBe(false);
          expect(set.bytesConsumed).toBe(batch.length);
          expectRecords(set, records, baseOffset);
          const [info] = set.batches;
          expect(info).toMatchObject({
            baseOffset, lastOffset: baseOffset + records.length - 1, compression: codec, producerId: 77,
            producerEpoch: 2, baseSequence: 5, isTransactional: false, isControl: false, recordCount: records.length,
            maxTimestamp: Math.max(...records.map((r) => r.timestamp!)), timestampType: "create-time",
          });
          expect(set.nextOffset).toBe(baseOffset + records.length);
        }),
        { numRuns: 150 },
      );
    });
  }

  it("decodes many batches back to back, with mixed codecs, one call", () => {
    const parts = COMPRESSION_CODECS.map((compression, i) =>
      encodeRecordBatch(
        Array.from({ length: 50 }, (_, r) => ({
          key: `k${i}-${r}`, value: `v${r}`.repeat(r), timestamp: 1000 + r,
          headers: [{ key: `batch-${i}`, value: `record-${r}` }, { key: "n", value: null }],
        })),
        { compression, baseOffset: i * 50 },
      ));
    const set = decodeRecordBatches(concat(...parts));
    expect(set.batches.map((b) => b.compression)).toEqual([...COMPRESSION_CODECS]);
    expect(set.length).toBe(250);
    expect([...set].map((r) => r.offset)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(set.batchOf(120).compression).toBe("snappy");
    // Headers index across batches: every record finds its own.
    [...set].forEach((record, n) => {
      expect(record.headers.map((h) => [h.key, h.value && new TextDecoder().decode(h.value)]))
        .toEqual([[`batch-${Math.floor(n / 50)}`, `record-${n % 50}`], ["n", null]]);
    });
  });

  it("keeps header keys exactly as written, a leading byte-order mark included (as Java does)", () => {
    const keys = ["\uFEFFbom-first", "\uFEFF", "mid\uFEFFdle", "ключ ✓"];
    const set = decodeRecordBatches(encodeRecordBatch([{ key: null, value: "v", headers: keys.map((key) => ({ key, value: null })) }]));
    expect([...set][0]!.headers.map((h) => h.key)).toEqual(keys);
  });

  it("reports a batch cut short at the end as truncated, at every cut point, never as an error", () => {
    const first = encodeRecordBatch([{ key: "a", value: "x".repeat(500), timestamp: 1 }], { baseOffset: 10 });
    const second = encodeRecordBatch([{ key: "b", value: "y".repeat(500), timestamp: 2 }], { baseOffset: 11, compression: "lz4" });
    const whole = concat(first, second);
    for (let cut = 0; cut < whole.length; cut++) {
      const set = decodeRecordBatches(whole.subarray(0, cut));
      const complete = cut >= first.length ? 1 : 0;
      expect(set.length, `cut ${cut}`).toBe(complete);
      expect(set.truncated, `cut ${cut}`).toBe(cut > 0 && cut !== first.length);
      expect(set.bytesConsumed).toBe(complete ? first.length : 0);
      if (set.truncated) {
        const partial = complete ? second : first;
        const rest = cut - set.bytesConsumed;
        expect(set.partialBatch!.baseOffset).toBe(rest >= 8 ? (complete ? 11 : 10) : undefined);
        expect(set.partialBatch!.size).toBe(rest >= 12 ? partial.length : undefined);
      }
    }
  });

  it("throws CorruptRecordError on a CRC mismatch, with the offset, size and the records before it", () => {
    const good = encodeRecordBatch([{ key: "ok", value: "1", timestamp: 5 }], { baseOffset: 40 });
    const bad = encodeRecordBatch([{ key: "bad", value: "2", timestamp: 6 }], { baseOffset: 41, compression: "gzip" });
    bad[bad.length - 3] = bad[bad.length - 3]! ^ 0x55;
    try {
      decodeRecordBatches(concat(good, bad));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CorruptRecordError);
      const corrupt = error as CorruptRecordError;
      expect(corrupt).toMatchObject({ reason: "crc-mismatch", baseOffset: 41, length: bad.length, position: good.length });
      const before = corrupt.decodedBefore;
      expect(before.length).toBe(1);
      expect(before.record(0).key).toEqual(utf8.encode("ok"));
    }
    // Without verification the flipped byte reaches the gzip stream, which then fails to inflate.
    expect(() => decodeRecordBatches(concat(good, bad), { verifyCrc: false })).toThrow(CorruptRecordError);
  });

  it("refuses legacy message formats (magic 0 and 1) with UnsupportedMessageFormatError", () => {
    for (const magic of [0, 1]) {
      const legacy = rawBatch({ magic, recordCount: 0, payload: new Uint8Array(10), baseOffset: 3 });
      const error = (() => { try { decodeRecordBatches(legacy); } catch (e) { return e; } })();
      expect(error).toBeInstanceOf(UnsupportedMessageFormatError);
      expect(error).toMatchObject({ magic, baseOffset: 3, position: 0 });
    }
    expect(() => decodeRecordBatches(rawBatch({ magic: 3, recordCount: 0, payload: new Uint8Array(0) }))).toThrow(/unknown-magic/);
  });

  it("rejects records that run past their batch, varints that never end and wrong record counts", () => {
    const overflow = rawBatch({ recordCount: 1, payload: Uint8Array.from([...rawRecord(0, [1, 2], [3]).slice(0, -2)]) });
    expect(() => decodeRecordBatches(overflow)).toThrow(expect.objectContaining({ reason: "record-overflow" }));
    const endless = rawBatch({ recordCount: 1, payload: new Uint8Array(20).fill(0xff) });
    expect(() => decodeRecordBatches(endless)).toThrow(expect.objectContaining({ reason: "bad-varint" }));
    const extra = rawBatch({ recordCount: 1, payload: Uint8Array.from([...rawRecord(0, [1], [2]), ...rawRecord(1, [1], [2])]) });
    expect(() => decodeRecordBatches(extra)).toThrow(expect.objectContaining({ reason: "record-count-mismatch" }));
    const hugeCount = rawBatch({ recordCount: 2 ** 31 - 1, payload: Uint8Array.from(rawRecord(0, null, [1])) });
    expect(() => decodeRecordBatches(hugeCount)).toThrow(CorruptRecordError);
    const badCodec = rawBatch({ recordCount: 0, attributes: 6, payload: new Uint8Array(0) });
    expect(() => decodeRecordBatches(badCodec)).toThrow(expect.objectContaining({ reason: "unknown-codec" }));
  });

  it("keeps none of a batch that fails part-way through its records (the core parses onto its output)", () => {
    // Batch 1 is good and has headers; batch 2's CRC is right but its third record runs past the
    // batch, after two records were parsed. The error carries batch 1 only, headers intact, and
    // the same decoder instance decodes the next input cleanly.
    const good = encodeRecordBatch([
      { key: "k0", value: "v0", headers: [{ key: "h", value: "x" }] },
      { key: "k1", value: "v1", headers: [{ key: "h2", value: null }, { key: "h3", value: "z" }] },
    ], { baseOffset: 100 });
    const cut = rawRecord(2, [1, 2, 3], [4, 5, 6]).slice(0, -3);
    const failing = rawBatch({ baseOffset: 102, recordCount: 3, payload: Uint8Array.from([...rawRecord(0, [7], [8]), ...rawRecord(1, [9], [10]), ...cut]) });
    const error = (() => { try { decodeRecordBatches(concat(good, failing)); } catch (e) { return e; } })() as CorruptRecordError;
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error).toMatchObject({ reason: "record-overflow", baseOffset: 102, position: good.length });
    const before = error.decodedBefore;
    expect(before.length).toBe(2);
    expect([...before].map((r) => [r.offset, r.key, r.headers.map((h) => h.key)])).toEqual([
      [100, utf8.encode("k0"), ["h"]], [101, utf8.encode("k1"), ["h2", "h3"]],
    ]);
    expect(before.batches.length).toBe(1);
    const next = decodeRecordBatches(concat(good, good));
    expect(next.length).toBe(4);
    expect(next.headers(3).map((h) => h.key)).toEqual(["h2", "h3"]);
  });

  it("stops a decompression bomb at the limit instead of allocating it", () => {
    const bomb = rawBatch({ recordCount: 1, attributes: 1, payload: gzipSync(new Uint8Array(64 * 1024 * 1024)) });
    expect(bomb.length).toBeLessThan(200_000);
    expect(() => decodeRecordBatches(bomb, { maxDecompressedBytes: 1024 * 1024 }))
      .toThrow(expect.objectContaining({ reason: "decompressed-too-large" }));
  });

  it("gives log-append-time batches the batch's max timestamp for every record", () => {
    const records = [0, 1, 2].map((r) => rawRecord(r, null, [r]));
    const batch = rawBatch({ recordCount: 3, attributes: 0x08, maxTimestamp: 1.8e12, payload: Uint8Array.from(records.flat()) });
    const set = decodeRecordBatches(batch);
    expect([...set].map((r) => r.timestamp)).toEqual([1.8e12, 1.8e12, 1.8e12]);
    expect(set.batches[0]!.timestampType).toBe("log-append-time");
  });

  it("validates its inputs with clear errors", () => {
    expect(() => encodeRecordBatch([{ value: "x" }], { compression: "brotli" as CompressionCodec })).toThrow(RangeError);
    expect(() => encodeRecordBatch([{ value: 42 as unknown as string }])).toThrow(TypeError);
    expect(() => decodeRecordBatches("nope" as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => decodeRecordBatches(new Uint8Array(0)).record(0)).toThrow(RangeError);
    expect(decodeRecordBatches(new Uint8Array(0))).toMatchObject({ length: 0, truncated: false, nextOffset: undefined });
  });
});
