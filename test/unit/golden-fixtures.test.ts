/**
 * The golden record-batch fixtures (test/fixtures/golden, made by `npm run fixtures:golden`) are
 * consistent, checked without Tributary's decoder: Kafka's own decoder (RecordBatchOracle.java on
 * the broker's jars) finds in every <case>.bin exactly the batches and records its <case>.json says
 * were sent, and the bytes carry the expected codec and compressed framing. Also checks the
 * oracle's `encode` round trip, which later tests use to check Tributary's encoder.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type Decoded, decode, FIXTURES, type Fixture, fixtureNames as names, ORACLE, runJava, valueBase64 } from "../support/golden.ts";
import { kafkaClasspath } from "../support/kafka.ts";

const XERIAL = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** Classifies a compressed batch's payload by its first bytes, independently of any decoder. */
function payloadFraming(payload: Buffer): string {
  if (payload[0] === 0x1f && payload[1] === 0x8b) return "gzip";
  if (payload.subarray(0, 8).equals(XERIAL)) return "xerial-snappy";
  if (payload.readUInt32LE(0) === 0x184d2204) return "lz4-frame";
  if (payload.readUInt32LE(0) === 0xfd2fb528) return "zstd-frame";
  return "raw-snappy";
}

/** Batch framing walked by hand: [position, size, attributes, magic] per batch. */
function rawBatches(bytes: Buffer): Array<{ position: number; size: number; attributes: number; magic: number }> {
  const out = [];
  for (let position = 0; position < bytes.length;) {
    const size = 12 + bytes.readInt32BE(position + 8);
    out.push({ position, size, attributes: bytes.readInt16BE(position + 21), magic: bytes.readInt8(position + 16) });
    position += size;
  }
  return out;
}

describe("golden record-batch fixtures", () => {
  let classpath = "";
  let decoded = new Map<string, Decoded>();

  beforeAll(async () => {
    classpath = await kafkaClasspath();
    decoded = await decode(classpath, names.map((name) => join(FIXTURES, `${name}.bin`)));
  }, 60_000);

  it("are present (npm run fixtures:golden makes them)", () => {
    expect(names.length).toBeGreaterThanOrEqual(12);
    for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"]) {
      expect(names).toContain(`kafkajs-${codec}`);
      expect(names).toContain(`java-${codec}`);
    }
  });

  describe.each(names)("%s", (name) => {
    const fixture: Fixture = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8"));
    const bin = readFileSync(join(FIXTURES, `${name}.bin`));

    it("has the expected batches (Kafka's decoder, CRCs valid)", () => {
      const batches = decoded.get(join(FIXTURES, `${name}.bin`))!;
      expect(batches, "oracle output").toBeDefined();
      expect(batches.map(({ batch }) => ({
        baseOffset: batch.baseOffset, lastOffset: batch.lastOffset, recordCount: batch.count,
        isControl: batch.isControl, isTransactional: batch.isTransactional, compression: batch.compression,
        timestampType: batch.timestampType,
        ...(batch.isControl ? { controlType: batches.find((b) => b.batch === batch)!.records[0]!.controlType } : {}),
      }))).toEqual(fixture.expected.batches);
      expect(batches.length).toBe(fixture.expected.batchCount);
      expect(batches.at(-1)!.batch.lastOffset).toBe(fixture.expected.lastOffset);
      expect(batches.reduce((size, { batch }) => size + batch.sizeInBytes, 0)).toBe(bin.length);
      const producerIds = new Set(batches.map(({ batch }) => batch.producerId));
      const withProducerId = fixture.expected.idempotent || fixture.expected.isTransactional;
      expect(producerIds.size).toBe(1);
      expect([...producerIds][0]! >= 0).toBe(withProducerId);
      for (const { batch } of batches) {
        expect(batch.magic).toBe(2);
        if (!batch.isControl) expect(batch.timestampType).toBe(fixture.expected.timestampType);
      }
    });

    it("holds exactly the records that were sent, in offset order", () => {
      const batches = decoded.get(join(FIXTURES, `${name}.bin`))!;
      const data = batches.filter(({ batch }) => !batch.isControl).flatMap(({ batch, records }) => records.map((record) => ({ batch, record })));
      expect(data.length).toBe(fixture.records.length);
      expect(data.length).toBe(fixture.expected.recordCount);
      const [windowStart, windowEnd] = fixture.captureWindowMs;
      fixture.records.forEach((want, i) => {
        const { batch, record: got } = data[i]!;
        const where = `${name} record ${i} (offset ${want.offset})`;
        expect({ offset: got.offset, key: got.key, value: got.value, headers: got.headers }, where).toEqual({
          offset: want.offset, key: want.key, value: valueBase64(want.value), headers: want.headers,
        });
        if (want.timestamp !== null) {
          expect(got.timestamp, where).toBe(want.timestamp);
        } else {
          expect(got.timestamp, where).toBeGreaterThanOrEqual(windowStart - 1000);
          expect(got.timestamp, where).toBeLessThanOrEqual(windowEnd + 1000);
          if (want.timestampAssignedBy === "broker") expect(got.timestamp, where).toBe(batch.maxTimestamp);
        }
      });
      // Transactions: each record's batch is transactional exactly when the case is, and the
      // markers sit where the fixture says.
      const controls = batches.filter(({ batch }) => batch.isControl).flatMap(({ records }) => records);
      expect(controls.map((r) => ({ offset: r.offset, type: r.controlType }))).toEqual(fixture.controlRecords ?? []);
      if (fixture.controlRecords) {
        for (const want of fixture.records) {
          const marker = fixture.controlRecords.find((c) => c.offset > want.offset)!;
          expect(want.transaction).toBe(marker.type === "COMMIT" ? "committed" : "aborted");
        }
      }
    });

    it("carries the codec and compressed framing it says (raw bytes)", () => {
      const raw = rawBatches(bin);
      expect(raw.length).toBe(fixture.expected.batchCount);
      raw.forEach((batch, i) => {
        const want = fixture.expected.batches[i]!;
        expect(batch.magic).toBe(2);
        expect(batch.attributes & 0x07, `batch ${i} codec`).toBe(want.isControl ? 0 : fixture.expected.compressionAttribute);
        expect((batch.attributes & 0x08) !== 0, `batch ${i} timestamp type`).toBe(want.timestampType === "LogAppendTime");
        expect((batch.attributes & 0x10) !== 0, `batch ${i} transactional`).toBe(want.isTransactional);
        expect((batch.attributes & 0x20) !== 0, `batch ${i} control`).toBe(want.isControl);
        if (!want.isControl && fixture.expected.payloadFraming) {
          const payload = bin.subarray(batch.position + 61, batch.position + batch.size);
          expect(payloadFraming(payload), `batch ${i} payload`).toBe(fixture.expected.payloadFraming);
        }
      });
    });
  });

  it("encode: MemoryRecordsBuilder batches decode back to the same records", async () => {
    const fixture: Fixture = JSON.parse(readFileSync(join(FIXTURES, "java-transactional-none.json"), "utf8"));
    const records = fixture.records.slice(0, 120).map((r, i) => ({
      key: r.key, value: valueBase64(r.value), headers: r.headers, timestamp: r.timestamp ?? 1_700_000_000_000 + i,
    }));
    const lines = [
      ...records.slice(0, 70).map((r) => JSON.stringify(r)),
      JSON.stringify({ flush: true }),
      ...records.slice(70).map((r) => JSON.stringify(r)),
      JSON.stringify({ control: "COMMIT", timestamp: 1_700_000_999_000, coordinatorEpoch: 3 }),
    ];
    const dir = mkdtempSync(join(tmpdir(), "oracle-encode-"));
    try {
      writeFileSync(join(dir, "in.jsonl"), lines.join("\n") + "\n");
      const out = join(dir, "out.bin");
      const summary = JSON.parse(await runJava([
        "-cp", classpath, ORACLE, "encode", "zstd", join(dir, "in.jsonl"), out,
        "--base-offset", "1000", "--producer-id", "77", "--producer-epoch", "4", "--base-sequence", "10", "--transactional",
      ]));
      expect(summary).toMatchObject({ batches: 3, records: 121 });
      const batches = (await decode(classpath, [out])).get(out)!;
      expect(batches.map(({ batch }) => [batch.baseOffset, batch.count, batch.compression, batch.isControl, batch.baseSequence]))
        .toEqual([[1000, 70, "zstd", false, 10], [1070, 50, "zstd", false, 80], [1120, 1, "none", true, -1]]);
      for (const { batch } of batches) {
        expect([batch.producerId, batch.producerEpoch, batch.isTransactional]).toEqual([77, 4, true]);
      }
      expect(batches[2]!.records[0]).toMatchObject({ offset: 1120, controlType: "COMMIT", timestamp: 1_700_000_999_000 });
      const decodedRecords = batches.slice(0, 2).flatMap(({ records: rs }) => rs);
      expect(decodedRecords.map(({ key, value, headers, timestamp }) => ({ key, value, headers, timestamp }))).toEqual(records);
      expect(decodedRecords.map((r) => r.offset)).toEqual(records.map((_, i) => 1000 + i));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
