/**
 * The producer's hot paths: the protocol Writer referencing large byte fields until `finish()`,
 * and the record batch encoder's layout (records with and without headers, string fast paths,
 * per-record timestamps passed separately).
 */
import { describe, expect, it } from "vitest";
import { Reader } from "../../src/protocol/codec/reader.ts";
import { Writer } from "../../src/protocol/codec/writer.ts";
import { decodeRecordBatches, encodeRecordBatch, init, type RecordInput } from "../../src/entry/node.ts";

const utf8 = new TextEncoder();
const pattern = (length: number, seed: number) => new Uint8Array(length).map((_, i) => (i * 31 + seed) & 0xff);

describe("Writer", () => {
  it("writes large byte fields (referenced until finish) in place among small fields, across buffer growth", () => {
    const big = [pattern(4096, 1), pattern(100_000, 2), pattern(5000, 3)];
    const small = pattern(4095, 4);
    const w = new Writer(16);
    w.int32(7);
    w.bytes(big[0]!, false);
    w.string("between", true);
    w.bytes(big[1]!, true);
    w.bytes(big[2]!, false); // right after another referenced field
    w.bytes(small, false); // copied: just below the threshold; grows the buffer
    w.int64(2 ** 40 + 5);
    w.tagged(3, (inner) => inner.bytes(pattern(6000, 5), true));
    const out = w.finish();
    expect(out.length).toBe(w.size);

    const r = new Reader(out);
    expect(r.int32()).toBe(7);
    expect(r.bytesField(false, false)).toEqual(big[0]);
    expect(r.string(true, false)).toBe("between");
    expect(r.bytesField(true, false)).toEqual(big[1]);
    expect(r.bytesField(false, false)).toEqual(big[2]);
    expect(r.bytesField(false, false)).toEqual(small);
    expect(r.int64()).toBe(2 ** 40 + 5);
    expect(r.uvarint()).toBe(3);
    const size = r.uvarint();
    expect(size).toBe(2 + 6000); // compact length prefix (2 bytes) + bytes
    const tagged = new Reader(out.subarray(r.pos, r.pos + size));
    expect(tagged.bytesField(true, false)).toEqual(pattern(6000, 5));
    expect(r.pos + size).toBe(out.length);
  });

  it("finish() returns a copy: a second finish and later writes do not change it", () => {
    const w = new Writer();
    w.bytes(pattern(8192, 9), false);
    const first = w.finish();
    w.int8(1);
    expect(w.finish().length).toBe(first.length + 1);
    expect(first.subarray(4)).toEqual(pattern(8192, 9));
  });
});

describe("encodeRecordBatch layout", () => {
  it("records without headers, with list and object headers, null fields, ASCII and non-ASCII strings", async () => {
    await init();
    const records: RecordInput[] = [
      { key: "plain-ascii", value: "v0", timestamp: 10 },
      { key: "clé-ü", value: "€ and 𝄞", headers: [{ key: "h", value: "1" }, { key: "h", value: null }], timestamp: 11 },
      { key: null, value: null, timestamp: 12 },
      { value: pattern(300, 7), headers: { a: "x", b: ["y", "z"] }, timestamp: 13 },
      { key: "k".repeat(64) + "é", value: "x".repeat(65), timestamp: 14 }, // past the short-string path
      { key: "k".repeat(63) + "é", value: "", timestamp: 15 }, // non-ASCII at the end of a short string
    ];
    const set = decodeRecordBatches(encodeRecordBatch(records));
    expect(set.length).toBe(records.length);
    const bytes = (v: Uint8Array | string | null | undefined) => (v == null ? null : typeof v === "string" ? utf8.encode(v) : v);
    const headers = [
      [],
      [["h", bytes("1")], ["h", null]],
      [],
      [["a", bytes("x")], ["b", bytes("y")], ["b", bytes("z")]],
      [],
      [],
    ];
    records.forEach((input, i) => {
      const record = set.record(i);
      expect(record.timestamp).toBe(input.timestamp);
      expect(record.key).toEqual(bytes(input.key));
      expect(record.value).toEqual(bytes(input.value));
      expect(record.headers.map((h) => [h.key, h.value])).toEqual(headers[i]);
    });
  });

  it("timestamps given separately win over the records' own, index for index", async () => {
    await init();
    const records: RecordInput[] = [{ value: "a", timestamp: 1 }, { value: "b" }, { value: "c", timestamp: 3 }];
    const withOption = encodeRecordBatch(records, { timestamps: [100, 200, 50] });
    const set = decodeRecordBatches(withOption);
    expect([0, 1, 2].map((i) => set.record(i).timestamp)).toEqual([100, 200, 50]);
    expect(set.batches[0]!.maxTimestamp).toBe(200);
    // Byte for byte what the same records with those timestamps in them encode to.
    expect(withOption).toEqual(encodeRecordBatch([{ value: "a", timestamp: 100 }, { value: "b", timestamp: 200 }, { value: "c", timestamp: 50 }]));
  });

  it("rejects a key or value that is neither bytes, a string nor null", async () => {
    await init();
    expect(() => encodeRecordBatch([{ value: 5 as unknown as string }])).toThrow(TypeError);
    expect(() => encodeRecordBatch([{ value: "ok", headers: [{ key: "h", value: {} as unknown as string }] }])).toThrow(TypeError);
  });
});
