/**
 * Tributary's record codec against the real world: every golden fixture (batches written by
 * kafkajs and by Kafka's Java producer with each codec, stored by the real broker) decodes to
 * exactly the records that were sent; and batches Tributary encodes, with each codec, are accepted
 * and read back identically by Kafka's own Java decoder (CRC checked by `ensureValid`).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeRecordBatches, encodeRecordBatch } from "../../src/entry/node.ts";
import { COMPRESSION_CODECS } from "../../src/records/types.ts";
import { decode as oracleDecode, fixtureNames, loadFixture, valueBase64 } from "../support/golden.ts";
import { kafkaClasspath } from "../support/kafka.ts";

const base64 = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString("base64"));
const CONTROL_TYPES = ["ABORT", "COMMIT"];

describe("decoding the golden batches of other clients", () => {
  it.each(fixtureNames)("%s decodes to exactly what was sent", (name) => {
    const { fixture, bin } = loadFixture(name);
    const set = decodeRecordBatches(bin);
    expect(set.truncated).toBe(false);
    expect(set.bytesConsumed).toBe(bin.length);
    expect(set.batches.map((b) => ({
      baseOffset: b.baseOffset, lastOffset: b.lastOffset, recordCount: b.recordCount, isControl: b.isControl,
      isTransactional: b.isTransactional, compression: b.compression,
      timestampType: b.timestampType === "log-append-time" ? "LogAppendTime" : "CreateTime",
    }))).toEqual(fixture.expected.batches.map(({ controlType: _, ...batch }) => batch));
    expect(set.nextOffset).toBe(fixture.expected.lastOffset + 1);

    const data = [...set.batches.filter((b) => !b.isControl)].flatMap((b) =>
      Array.from({ length: b.recordCount }, (_, i) => ({ batch: b, index: b.firstRecord + i })));
    expect(data.length).toBe(fixture.records.length);
    const [windowStart, windowEnd] = fixture.captureWindowMs;
    fixture.records.forEach((want, i) => {
      const { batch, index } = data[i]!;
      const got = set.record(index);
      const where = `${name} record ${i} (offset ${want.offset})`;
      expect({
        offset: got.offset, key: base64(got.key), value: base64(got.value),
        headers: got.headers.map((h) => [h.key, base64(h.value)]),
      }, where).toEqual({ offset: want.offset, key: want.key, value: valueBase64(want.value), headers: want.headers });
      if (batch.timestampType === "log-append-time") expect(got.timestamp, where).toBe(batch.maxTimestamp);
      else if (want.timestamp !== null) expect(got.timestamp, where).toBe(want.timestamp);
      else {
        expect(got.timestamp, where).toBeGreaterThanOrEqual(windowStart - 1000);
        expect(got.timestamp, where).toBeLessThanOrEqual(windowEnd + 1000);
      }
    });

    // Transaction markers: a control record's key is [version int16, type int16].
    const controls = set.batches.filter((b) => b.isControl).map((b) => {
      const key = set.key(b.firstRecord)!;
      return { offset: set.offset(b.firstRecord), type: CONTROL_TYPES[new DataView(key.buffer, key.byteOffset).getInt16(2)] };
    });
    expect(controls).toEqual(fixture.controlRecords ?? []);
  });

  it("decodes the same fixtures with CRC verification off, and a fixture cut anywhere stops cleanly", () => {
    const { bin } = loadFixture("java-zstd");
    const full = decodeRecordBatches(bin);
    expect(decodeRecordBatches(bin, { verifyCrc: false }).length).toBe(full.length);
    for (const cut of [1, 100, 70_000, bin.length - 1]) {
      const part = decodeRecordBatches(bin.subarray(0, cut));
      expect(part.truncated).toBe(true);
      expect(part.length).toBeLessThan(full.length);
      expect(part.nextOffset ?? 0).toBeLessThanOrEqual(full.nextOffset!);
    }
  });
});

describe("batches Tributary encodes, read by Kafka's Java decoder", () => {
  const dir = mkdtempSync(join(tmpdir(), "tributary-encode-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("every codec: Java validates the CRC and reads the same records, headers and producer fields", async () => {
    const { fixture } = loadFixture("java-none");
    const records = fixture.records.map((r, i) => ({
      key: r.key === null ? null : Buffer.from(r.key, "base64"),
      value: ((v) => (v === null ? null : Buffer.from(v, "base64")))(valueBase64(r.value)),
      headers: r.headers.map(([key, value]) => ({ key, value: value === null ? null : Buffer.from(value, "base64") })),
      timestamp: r.timestamp ?? 1_700_000_000_000 + i,
    }));
    const files = COMPRESSION_CODECS.map((compression, c) => {
      const batch = encodeRecordBatch(records, {
        compression, baseOffset: 5000 * c, producerId: 4242, producerEpoch: 7, baseSequence: 100, partitionLeaderEpoch: 3,
      });
      const file = join(dir, `${compression}.bin`);
      writeFileSync(file, batch);
      return file;
    });
    const decoded = await oracleDecode(await kafkaClasspath(), files);
    COMPRESSION_CODECS.forEach((compression, c) => {
      const [only, ...more] = decoded.get(files[c]!)!;
      expect(more).toEqual([]);
      expect(only!.batch).toMatchObject({
        baseOffset: 5000 * c, count: records.length, compression,
        producerId: 4242, producerEpoch: 7, baseSequence: 100, isTransactional: false, isControl: false, magic: 2,
      });
      expect(only!.records.map((r) => ({ offset: r.offset, key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp })))
        .toEqual(records.map((r, i) => ({
          offset: 5000 * c + i, key: base64(r.key), value: base64(r.value),
          headers: r.headers.map((h) => [h.key, base64(h.value)]), timestamp: r.timestamp,
        })));
    });
  }, 120_000);
});
