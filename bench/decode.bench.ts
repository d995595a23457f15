/**
 * npm run bench:decode — decode throughput of Tributary's `decodeRecordBatches` (CRC-32C checked,
 * the default) next to kafkajs's and @platformatic/kafka's record-batch decoders, on the same
 * Fetch `records` blobs in the same run. Prints records/s and MB/s of input per decoder and the
 * ratio Tributary ÷ peer.
 *
 * Payloads: blobs of about 1 MiB (record batches back to back, increasing base offsets) encoded
 * with Tributary's `encodeRecordBatch`; JSON-like values of 100 B and 1 KiB, keys "user-NNNNN",
 * one or two headers on every third record; codecs none, lz4, zstd; 1 and 500 records a batch.
 *
 * Method: per case, every decoder is warmed up, then the decoders take turns (ROUNDS rounds of
 * SLICE_SECONDS each, the order rotating every round, a forced GC between turns) so that noise on
 * a shared machine hits all of them alike; a decoder's rate is the median of its rounds.
 *
 *   node bench/decode.bench.ts [substring]   only the cases whose name contains the substring
 */
import { createRequire } from "node:module";
import { Reader, readRecordsBatches } from "@platformatic/kafka";
// Registers kafkajs's ZSTD codec on import (its CommonJS build is broken: it lacks tslib helpers).
import "@sensejs/kafkajs-zstd-support";
import { type CompressionCodec, decodeRecordBatches, encodeRecordBatch } from "tributary";
import { collectGarbage, loadKafkajs, makeRecords, median, perSecond, seededRandom as prng } from "./support.ts";

const require = createRequire(import.meta.url);

// kafkajs: the decoder its Fetch v4+ responses use for a partition's records, with the codec
// packages registered the way their READMEs say.
type KafkajsRecord = { offset: string; key: Buffer | null; value: Buffer | null; headers: Record<string, unknown> };
const kafkajs = loadKafkajs();
const KafkajsDecoder: new (buffer: Buffer) => unknown = require("kafkajs/src/protocol/decoder.js");
const kafkajsDecodeMessages: (decoder: unknown) => Promise<KafkajsRecord[]> =
  require("kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js");
kafkajs.CompressionCodecs[kafkajs.CompressionTypes.Snappy] = require("kafkajs-snappy");

const BLOB_BYTES = 1024 * 1024;
const ROUNDS = 10;
const SLICE_SECONDS = 0.1; // ROUNDS × SLICE_SECONDS = 1 s measured per decoder and case
const WARMUP_SECONDS = 0.15;

// ---------------------------------------------------------------------------------------------
// Payloads

interface Case {
  name: string;
  blob: Uint8Array; // the records blob
  kafkajsInput: Buffer; // the same bytes behind an int32 size, as in a Fetch response
  platformaticInput: Buffer; // a Buffer view of `blob`
  records: number;
  batches: number;
  /** Bytes of the records blob had it been uncompressed (for the compression ratio). */
  plainBytes: number;
}

function caseName(valueBytes: number, codec: CompressionCodec, perBatch: number): string {
  return `${valueBytes >= 1024 ? `${valueBytes / 1024} KiB` : `${valueBytes} B`} ${codec} ${perBatch}/batch`;
}

function makeCase(valueBytes: number, codec: CompressionCodec, perBatch: number): Case {
  const rand = prng(valueBytes * 31 + perBatch * 7 + codec.length);
  const batches: Uint8Array[] = [];
  let size = 0;
  let offset = 1_000_000;
  let plainBytes = 0;
  for (;;) {
    const records = makeRecords(rand, valueBytes, perBatch, offset);
    const batch = encodeRecordBatch(records, { compression: codec, baseOffset: offset });
    // Stop at the batch count whose total is nearest to BLOB_BYTES.
    const over = size + batch.length - BLOB_BYTES;
    if (over > 0 && batches.length > 0 && over > BLOB_BYTES - size) break;
    batches.push(batch);
    size += batch.length;
    offset += perBatch;
    plainBytes += codec === "none" ? batch.length : encodeRecordBatch(records, { baseOffset: offset - perBatch }).length;
    if (over >= 0) break;
  }
  const blob = new Uint8Array(size);
  let at = 0;
  for (const batch of batches) {
    blob.set(batch, at);
    at += batch.length;
  }
  const kafkajsInput = Buffer.alloc(4 + size);
  kafkajsInput.writeInt32BE(size, 0);
  kafkajsInput.set(blob, 4);
  return {
    name: caseName(valueBytes, codec, perBatch),
    blob,
    kafkajsInput,
    platformaticInput: Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength),
    records: batches.length * perBatch,
    batches: batches.length,
    plainBytes,
  };
}

// ---------------------------------------------------------------------------------------------
// The decoders. Each returns a number derived from what it decoded, so no work can be skipped.

let sink = 0;

/** Tributary as a consumer uses it: decode, then read offset, key and value of every record. */
function tributaryLazy(c: Case): number {
  const set = decodeRecordBatches(c.blob);
  let n = 0;
  for (let i = 0, count = set.length; i < count; i++) {
    const offset = set.offset(i);
    const key = set.key(i);
    const value = set.value(i);
    n += offset + (key === null ? 0 : key.length) + (value === null ? 0 : value.length);
  }
  return n + set.length;
}

/** Tributary's decode alone: the columns are ready, no record is touched. */
function tributaryDecodeOnly(c: Case): number {
  return decodeRecordBatches(c.blob).length;
}

/** Tributary building a full object per record (headers included) through its iterator. */
function tributaryObjects(c: Case): number {
  let n = 0;
  for (const record of decodeRecordBatches(c.blob)) n += record.offset + record.headers.length;
  return n;
}

async function kafkajsDecode(c: Case): Promise<number> {
  return (await kafkajsDecodeMessages(new KafkajsDecoder(c.kafkajsInput))).length;
}

function platformaticDecode(c: Case): number {
  let n = 0;
  for (const batch of readRecordsBatches(Reader.from(c.platformaticInput))) n += batch.records.length;
  return n;
}

interface Contender {
  label: string;
  sync?: (c: Case) => number;
  async?: (c: Case) => Promise<number>;
}

const CONTENDERS: Contender[] = [
  { label: "tributary", sync: tributaryLazy },
  { label: "tributary decode only", sync: tributaryDecodeOnly },
  { label: "tributary objects", sync: tributaryObjects },
  { label: "kafkajs", async: kafkajsDecode },
  { label: "platformatic", sync: platformaticDecode },
];

// ---------------------------------------------------------------------------------------------
// Validation: the same records from all three before anything is timed.

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return Buffer.compare(a, b) === 0;
}

async function validate(c: Case): Promise<void> {
  const set = decodeRecordBatches(c.blob);
  const kjs = await kafkajsDecodeMessages(new KafkajsDecoder(c.kafkajsInput));
  const plt: Array<{ offset: bigint; key: Uint8Array | null; value: Uint8Array | null; headers: number }> = [];
  for (const batch of readRecordsBatches(Reader.from(c.platformaticInput))) {
    for (const record of batch.records) {
      plt.push({ offset: batch.firstOffset + BigInt(record.offsetDelta), key: record.key, value: record.value, headers: record.headers.length });
    }
  }
  const fail = (what: string) => { throw new Error(`${c.name}: ${what}`); };
  if (set.length !== c.records || kjs.length !== c.records || plt.length !== c.records) {
    fail(`record counts differ: expected ${c.records}, tributary ${set.length}, kafkajs ${kjs.length}, platformatic ${plt.length}`);
  }
  if (set.batches.length !== c.batches) fail(`tributary found ${set.batches.length} batches, expected ${c.batches}`);
  const sample = new Set([0, 1, c.records - 1]);
  const rand = prng(c.records);
  while (sample.size < Math.min(c.records, 200)) sample.add(Math.floor(rand() * c.records));
  for (const i of sample) {
    const offset = set.offset(i);
    const key = set.key(i);
    const value = set.value(i);
    const k = kjs[i]!;
    const p = plt[i]!;
    if (offset !== 1_000_000 + i) fail(`record ${i}: tributary offset ${offset}`);
    if (k.offset !== String(offset) || p.offset !== BigInt(offset)) fail(`record ${i}: offsets ${offset} / ${k.offset} / ${p.offset}`);
    if (!sameBytes(key, k.key) || !sameBytes(key, p.key)) fail(`record ${i}: keys differ`);
    if (!sameBytes(value, k.value) || !sameBytes(value, p.value)) fail(`record ${i}: values differ`);
    if (set.headers(i).length !== p.headers) fail(`record ${i}: header counts differ`);
  }
}

// ---------------------------------------------------------------------------------------------
// Timing

/** Runs the contender for at least `seconds`; returns blobs decoded per second. */
async function turn(contender: Contender, c: Case, seconds: number): Promise<number> {
  let runs = 0;
  let elapsed = 0;
  const started = performance.now();
  if (contender.sync) {
    const work = contender.sync;
    do {
      sink += work(c);
      runs++;
      elapsed = (performance.now() - started) / 1000;
    } while (elapsed < seconds);
  } else {
    const work = contender.async!;
    do {
      sink += await work(c);
      runs++;
      elapsed = (performance.now() - started) / 1000;
    } while (elapsed < seconds);
  }
  return runs / elapsed;
}

/** Blobs per second for each contender, in CONTENDERS order. */
async function measure(c: Case): Promise<number[]> {
  for (const contender of CONTENDERS) await turn(contender, c, WARMUP_SECONDS);
  const rates: number[][] = CONTENDERS.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < CONTENDERS.length; k++) {
      const which = (k + round) % CONTENDERS.length;
      collectGarbage();
      rates[which]!.push(await turn(CONTENDERS[which]!, c, SLICE_SECONDS));
    }
  }
  return rates.map(median);
}

// ---------------------------------------------------------------------------------------------
// Output

function cell(blobsPerSecond: number, c: Case): string {
  const mb = (blobsPerSecond * c.blob.length) / 1e6;
  return `${perSecond(blobsPerSecond * c.records).padStart(6)} ${mb.toFixed(0).padStart(5)}`;
}

function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}x`;
}

async function main(): Promise<void> {
  const filter = process.argv[2] ?? "";
  console.log(`tributary bench:decode on ${process.release.name} ${process.version} (${process.arch})`);
  console.log(`Fetch records blobs of ~${BLOB_BYTES / 1024} KiB; each rate is the median of ${ROUNDS} interleaved ${SLICE_SECONDS} s turns`);
  console.log("rec/s: records per second; MB/s: 10^6 bytes per second of input (the blob as fetched, compressed or not)");
  console.log("KiB: blob size; comp: its size uncompressed ÷ its size");
  console.log("  tributary     decodeRecordBatches, CRC-32C verified, then offset(i), key(i), value(i) of every record");
  console.log("  decode only   tributary: decodeRecordBatches alone, CRC verified, no record read (columns ready)");
  console.log("  objects       tributary: its iterator, CRC verified, one {offset, timestamp, key, value, headers} per record");
  console.log("  kafkajs       kafkajs 2.2.4 fetch/v4 decodeMessages: full record objects, headers; does NOT verify CRCs");
  console.log("  platformatic  @platformatic/kafka readRecordsBatches: full record objects, headers; does NOT verify CRCs");
  console.log("  ÷kjs, ÷plt    the tributary column ÷ kafkajs, ÷ platformatic\n");

  const cases: Case[] = [];
  for (const valueBytes of [100, 1024]) {
    for (const codec of ["none", "lz4", "zstd"] as const) {
      for (const perBatch of [500, 1]) {
        if (caseName(valueBytes, codec, perBatch).includes(filter)) cases.push(makeCase(valueBytes, codec, perBatch));
      }
    }
  }
  for (const c of cases) await validate(c);
  console.log(`validated: all three decoders return the same ${cases.map((c) => c.records).join("/")} records, and the same offsets, keys and values on samples\n`);

  const columns = ["tributary", "decode only", "objects", "kafkajs", "platformatic"];
  console.log(`${"case".padEnd(21)} ${"records".padStart(7)} ${"KiB".padStart(5)} ${"comp".padStart(5)} | ${columns.map((c) => c.padEnd(12)).join(" | ")} | ${"÷kjs".padStart(6)} ${"÷plt".padStart(6)}`);
  console.log(`${"".padEnd(41)} | ${columns.map(() => "rec/s  MB/s".padStart(12)).join(" | ")} |`);
  for (const c of cases) {
    const rates = await measure(c);
    const [lazy, , , kjs, plt] = rates as [number, number, number, number, number];
    console.log(
      `${c.name.padEnd(21)} ${String(c.records).padStart(7)} ${(c.blob.length / 1024).toFixed(0).padStart(5)} ${`${(c.plainBytes / c.blob.length).toFixed(1)}x`.padStart(5)} | ` +
        `${rates.map((r) => cell(r, c)).join(" | ")} | ${ratio(lazy, kjs).padStart(6)} ${ratio(lazy, plt).padStart(6)}`,
    );
  }
  if (sink === 0.5) console.log(sink); // keeps the results observable so no work is optimised away
}

await main();
