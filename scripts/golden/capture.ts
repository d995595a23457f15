/**
 * Captures golden record batches for Tributary's record-batch decoder: real bytes written by two
 * independent producers (kafkajs and Apache Kafka's own Java producer) with every codec, as the
 * real broker stored them, plus exactly what was sent.
 *
 *   npm run fixtures:golden
 *   # = node_modules/node24/bin/node scripts/golden/capture.ts [--only CASE[,CASE...]]
 *
 * Needs Java 17+ and Kafka's jars (fetched by scripts/kafka.sh); starts the local broker
 * (`scripts/kafka.sh start`, 127.0.0.1:9092) unless it runs. Takes about a minute.
 *
 * For each case it creates a fresh topic (one partition; retention.ms=-1 and a very long segment.ms,
 * because the fixed, years-old record timestamps would otherwise make the broker roll or delete
 * segments), produces groups of records (each group is one batch: one kafkajs send() call, or the
 * records between two flush() calls of the Java producer), waits until the partition's log segment
 * .kafka/data/single/<topic>-0/00000000000000000000.log holds every expected offset and stops
 * growing (the broker stores v2 batches exactly as Fetch returns them; the page cache makes them
 * readable without an fsync), copies it, checks the batch framing against what it expected, and
 * deletes the topic.
 *
 * Output, in test/fixtures/golden/ (format: README.md there):
 *   <case>.bin    the raw log segment: back-to-back v2 record batches
 *   <case>.json   what was sent and what the batches must show
 *   blobs/*.bin   large values, stored once and referenced from the .json files
 *
 * Producers: kafkajs 2.2.4 with its built-in gzip and the codec plug-ins kafkajs-snappy,
 * @2l/kafkajs-lz4 and @sensejs/kafkajs-zstd-support; test/oracles/RecordBatchOracle.java (produce) on the
 * broker's own kafka-clients jar.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as KafkaJs from "kafkajs";
import { runChecked } from "../../test/support/process.ts";
import { randomBytes, seededRandom } from "../../test/support/random.ts";

const require = createRequire(import.meta.url);
const kafkajs: typeof KafkaJs = require("kafkajs");
// kafkajs 2.2.4's request queue passes a negative delay to setTimeout on Node >= 22 (harmless, noisy).
process.removeAllListeners("warning");
process.on("warning", (warning) => { if (warning.name !== "TimeoutNegativeWarning") console.warn(warning); });
const { CompressionCodecs, CompressionTypes, Kafka, logLevel, Partitioners } = kafkajs;

type CodecFactory = () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> };
const SnappyCodec: CodecFactory = require("kafkajs-snappy");
const LZ4Codec: new () => { codec: CodecFactory } = require("@2l/kafkajs-lz4");
// Registers itself in kafkajs's CompressionCodecs (its CommonJS build is broken: ESM only).
await import("@sensejs/kafkajs-zstd-support");
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec;

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const OUT_DIR = join(ROOT, "test/fixtures/golden");
const BLOB_DIR = join(OUT_DIR, "blobs");
const DATA_DIR = join(ROOT, ".kafka/data/single");
const KAFKA_SH = join(ROOT, "scripts/kafka.sh");
const RECORD_BATCH_ORACLE = join(ROOT, "test/oracles/RecordBatchOracle.java");
const LOG4J_TOOLS = join(ROOT, "scripts/kafka/log4j2-tools.xml");
const BROKER = "127.0.0.1:9092";
const PARTITION = 0;

type Codec = "none" | "gzip" | "snappy" | "lz4" | "zstd";
const CODEC_IDS: Record<Codec, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };
const KAFKAJS_TYPES: Record<Codec, KafkaJs.CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

// ---------------------------------------------------------------------------------------------
// Versions, for the record
// ---------------------------------------------------------------------------------------------

function packageVersion(name: string): string {
  return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
}

const KAFKA_VERSION = readFileSync(join(ROOT, "scripts/kafka/pom.xml"), "utf8").match(/<kafka\.version>(.*)<\/kafka\.version>/)![1]!;
const KAFKAJS_CODEC_PACKAGES: Record<Codec, string | null> = {
  none: null,
  gzip: `kafkajs built-in (node:zlib)`,
  snappy: `kafkajs-snappy@${packageVersion("kafkajs-snappy")} (snappyjs@${packageVersion("snappyjs")}, pure JS)`,
  lz4: `@2l/kafkajs-lz4@${packageVersion("@2l/kafkajs-lz4")} (lz4-napi@${packageVersion("lz4-napi")}, native, lz4_flex)`,
  zstd: `@sensejs/kafkajs-zstd-support@${packageVersion("@sensejs/kafkajs-zstd-support")} (zstd-napi@${packageVersion("zstd-napi")}, native, built from source)`,
};
const JAVA_CODEC_LIBRARIES: Record<Codec, string | null> = {
  none: null,
  gzip: "java.util.zip (GZIPOutputStream)",
  snappy: "snappy-java (SnappyOutputStream)",
  lz4: "lz4-java (Kafka's Lz4BlockOutputStream)",
  zstd: "zstd-jni (ZstdOutputStreamNoFinalizer)",
};

// ---------------------------------------------------------------------------------------------
// Record content
// ---------------------------------------------------------------------------------------------

/** One record as sent. `blob` names the large value stored under blobs/. */
interface SentRecord {
  key: Buffer | null;
  value: Buffer | null;
  blob?: string;
  headers: Array<[string, Buffer | null]>;
  /** null: not given, so the producer stamps the send time. */
  timestamp: number | null;
}

/** A group of records sent together: one batch. */
type Group = SentRecord[];

function randomBuffer(random: () => number, length: number): Buffer {
  return Buffer.from(randomBytes(random, length));
}

/**
 * Text that compresses well (every codec shrinks it 20x or more) but not trivially: a ~4 KB
 * paragraph of numbered lines mixing ASCII and multi-byte UTF-8, repeated behind a block counter.
 */
function compressibleText(length: number): Buffer {
  const words = ["tributary", "river", "delta", "estuary", "confluence", "Zusammenfluss", "приток", "支流", "🌊"];
  let paragraph = "";
  for (let line = 0; paragraph.length < 4000; line++) {
    paragraph += `${words[line % words.length]} flows into ${words[(line * 7 + 3) % words.length]} at bend ${line} ✓\n`;
  }
  const parts: string[] = [];
  let size = 0;
  for (let block = 0; size < length; block++) {
    const text = `[block ${block}]\n${paragraph}`;
    parts.push(text);
    size += Buffer.byteLength(text);
  }
  return Buffer.from(parts.join("")).subarray(0, length);
}

interface Blob { name: string; bytes: Buffer; sha256: string }

function makeBlob(name: string, bytes: Buffer): Blob {
  return { name, bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}

const BLOBS = {
  random100k: makeBlob("random-100k", randomBuffer(seededRandom(0x100c), 100 * 1024)),
  text100k: makeBlob("text-100k", compressibleText(100 * 1024)),
  // 1,000,000 bytes: with the batch and record overhead it stays under the broker's default
  // message.max.bytes (1048588) and the Java producer's max.request.size (1048576).
  text1m: makeBlob("text-1m", compressibleText(1_000_000)),
};

const T0 = 1_700_000_000_000; // 2023-11-14T22:13:20Z
const utf8 = (text: string) => Buffer.from(text, "utf8");

interface Flavour {
  /** kafkajs takes headers as an object: no null values, duplicates only as one key's array. */
  nullHeaderValues: boolean;
  interleavedDuplicateHeaders: boolean;
}
const KAFKAJS_FLAVOUR: Flavour = { nullHeaderValues: false, interleavedDuplicateHeaders: false };
const JAVA_FLAVOUR: Flavour = { nullHeaderValues: true, interleavedDuplicateHeaders: true };

/**
 * `count` records numbered from `first`, cycling through the shapes a decoder must handle: null,
 * empty, binary and multi-byte UTF-8 keys and values, tombstones, duplicate header keys (in order),
 * null header values, empty header keys, many headers, explicit timestamps out of order (negative
 * deltas), timestamp 0 and producer-stamped timestamps.
 */
function mixedRecords(first: number, count: number, random: () => number, flavour: Flavour): Group {
  const records: Group = [];
  for (let n = first; n < first + count; n++) {
    const kind = n % 12;
    let timestamp: number | null = T0 + n * 1000 - (n % 5 === 0 ? 86_400_000 : 0);
    if (n % 97 === 9) timestamp = 0;
    let key: Buffer | null = utf8(`key-${n}`);
    let value: Buffer | null = utf8(`value-${n}`);
    let headers: Array<[string, Buffer | null]> = [];
    switch (kind) {
      case 0: key = null; break;
      case 1: key = Buffer.alloc(0); value = Buffer.alloc(0); break;
      case 2:
        key = randomBuffer(random, 1 + Math.floor(random() * 24));
        key[0] = n % 2 === 0 ? 0x00 : 0xff;
        value = randomBuffer(random, Math.floor(random() * 300));
        break;
      case 3:
        key = utf8(`ключ-日本語-🎉-${n}`);
        value = utf8(`Grüße, 世界 🌍 — «${n}» `.repeat(1 + (n % 3)));
        break;
      case 4: value = null; break; // tombstone
      case 5:
        headers = flavour.interleavedDuplicateHeaders
          ? [["trace", utf8("a")], ["span", utf8("s1")], ["trace", utf8("b")], ["trace", Buffer.alloc(0)], ["nullable", null], ["ü-ключ-🔑", utf8("värde")]]
          : [["trace", utf8("a")], ["trace", utf8("b")], ["trace", Buffer.alloc(0)], ["span", utf8("s1")], ["ü-ключ-🔑", utf8("värde")]];
        break;
      case 6:
        headers = [["", utf8("empty key")], ["bin", randomBuffer(random, 16)], ["empty", Buffer.alloc(0)]];
        if (flavour.nullHeaderValues) headers.push(["null-value", null]);
        break;
      case 7: key = null; value = null; break;
      case 8: timestamp = null; break; // the producer stamps it
      case 9: value = utf8(`${"x".repeat(n % 40)}|${n}`); break;
      case 10: value = compressibleText(512 + (n % 4) * 512); break;
      case 11:
        headers = Array.from({ length: 20 }, (_, h): [string, Buffer | null] => [`h${h % 7}-${h}`, utf8(`v${h}`)]);
        break;
    }
    records.push({ key, value, headers, timestamp });
  }
  return records;
}

function largeRecords(first: number, random: () => number, flavour: Flavour): Group {
  const big = (blob: Blob, n: number): SentRecord => ({
    key: utf8(`large-${blob.name}`),
    value: blob.bytes,
    blob: blob.name,
    headers: [["blob", utf8(blob.name)], ["sha256", utf8(blob.sha256)]],
    timestamp: T0 + n * 1000,
  });
  return [
    big(BLOBS.random100k, first),
    ...mixedRecords(first + 1, 5, random, flavour),
    big(BLOBS.text100k, first + 6),
    ...mixedRecords(first + 7, 3, random, flavour),
  ];
}

function hugeRecord(n: number): Group {
  return [{ key: utf8("huge-text-1m"), value: BLOBS.text1m.bytes, blob: BLOBS.text1m.name, headers: [["blob", utf8(BLOBS.text1m.name)]], timestamp: T0 + n * 1000 }];
}

/** The standard groups: 300 mixed, the two 100 KB values with a few small ones, [the 1 MB value], 200 mixed. */
function standardGroups(seed: number, flavour: Flavour, huge: boolean): Group[] {
  const random = seededRandom(seed);
  const groups: Group[] = [mixedRecords(0, 300, random, flavour), largeRecords(300, random, flavour)];
  if (huge) groups.push(hugeRecord(310));
  groups.push(mixedRecords(311, 200, random, flavour));
  return groups;
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

type Step =
  | { kind: "batch"; records: Group }
  | { kind: "begin" }
  | { kind: "commit" }
  | { kind: "abort" };

interface Case {
  name: string;
  producer: "kafkajs" | "java";
  codec: Codec;
  description: string;
  topicConfig: Record<string, string>;
  steps: Step[];
  transactional?: boolean;
}

const batches = (groups: Group[]): Step[] => groups.map((records) => ({ kind: "batch", records }));
const LOG_APPEND_TIME = { "message.timestamp.type": "LogAppendTime" };

function buildCases(): Case[] {
  const cases: Case[] = [];
  const codecs: Codec[] = ["none", "gzip", "snappy", "lz4", "zstd"];
  codecs.forEach((codec, i) => {
    // The 1 MB value: raw only in java-none; the compressed cases carry it too (it compresses well).
    cases.push({
      name: `kafkajs-${codec}`,
      producer: "kafkajs",
      codec,
      description: `kafkajs, compression ${codec}: mixed records, 100 KB values${codec === "none" ? "" : ", a 1 MB value"}; one batch per send()`,
      topicConfig: {},
      steps: batches(standardGroups(1000 + i, KAFKAJS_FLAVOUR, codec !== "none")),
    });
    cases.push({
      name: `java-${codec}`,
      producer: "java",
      codec,
      description: `Kafka's Java producer (idempotent), compression.type=${codec}: mixed records, 100 KB values, a 1 MB value; one batch per flush()`,
      topicConfig: {},
      steps: batches(standardGroups(2000 + i, JAVA_FLAVOUR, true)),
    });
  });

  const random = seededRandom(3000);
  cases.push({
    name: "java-transactional-none",
    producer: "java",
    codec: "none",
    transactional: true,
    description: "Kafka's Java transactional producer: a committed transaction (2 batches), an aborted one, a committed one; transaction markers (control batches) after each",
    topicConfig: {},
    steps: [
      { kind: "begin" },
      { kind: "batch", records: mixedRecords(0, 60, random, JAVA_FLAVOUR) },
      { kind: "batch", records: mixedRecords(60, 60, random, JAVA_FLAVOUR) },
      { kind: "commit" },
      { kind: "begin" },
      { kind: "batch", records: mixedRecords(120, 80, random, JAVA_FLAVOUR) },
      { kind: "abort" },
      { kind: "begin" },
      { kind: "batch", records: mixedRecords(200, 50, random, JAVA_FLAVOUR) },
      { kind: "commit" },
    ],
  });
  const lat = seededRandom(4000);
  cases.push({
    name: "kafkajs-logappendtime-gzip",
    producer: "kafkajs",
    codec: "gzip",
    description: "kafkajs, gzip, to a topic with message.timestamp.type=LogAppendTime: the broker stamps each batch's maxTimestamp in place (the compressed records keep the producer's timestamps, which readers must ignore)",
    topicConfig: LOG_APPEND_TIME,
    steps: batches([mixedRecords(0, 150, lat, KAFKAJS_FLAVOUR), mixedRecords(150, 150, lat, KAFKAJS_FLAVOUR)]),
  });
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Expected log layout
// ---------------------------------------------------------------------------------------------

interface ExpectedBatch {
  baseOffset: number;
  lastOffset: number;
  recordCount: number;
  isControl: boolean;
  isTransactional: boolean;
  compression: Codec;
  timestampType: "CreateTime" | "LogAppendTime";
  controlType?: "COMMIT" | "ABORT";
}

interface Layout {
  batches: ExpectedBatch[];
  records: Array<{ record: SentRecord; offset: number; transaction?: "committed" | "aborted" }>;
  controls: Array<{ offset: number; type: "COMMIT" | "ABORT" }>;
  lastOffset: number;
}

/** Where every record and transaction marker must land: offsets follow the send order from 0. */
function layout(c: Case): Layout {
  const timestampType = c.topicConfig["message.timestamp.type"] === "LogAppendTime" ? "LogAppendTime" : "CreateTime";
  const out: Layout = { batches: [], records: [], controls: [], lastOffset: -1 };
  let offset = 0;
  let pending: Layout["records"] = [];
  for (const step of c.steps) {
    if (step.kind === "batch") {
      out.batches.push({
        baseOffset: offset,
        lastOffset: offset + step.records.length - 1,
        recordCount: step.records.length,
        isControl: false,
        isTransactional: !!c.transactional,
        compression: c.codec,
        timestampType,
      });
      for (const record of step.records) {
        const placed = { record, offset: offset++ };
        (c.transactional ? pending : out.records).push(placed);
      }
    } else if (step.kind === "commit" || step.kind === "abort") {
      const type = step.kind === "commit" ? "COMMIT" : "ABORT";
      for (const placed of pending) out.records.push({ ...placed, transaction: step.kind === "commit" ? "committed" : "aborted" });
      pending = [];
      // The transaction coordinator writes the marker as a control batch of one record; control
      // batches are never compressed and always carry CreateTime.
      out.batches.push({ baseOffset: offset, lastOffset: offset, recordCount: 1, isControl: true, isTransactional: true, compression: "none", timestampType: "CreateTime", controlType: type });
      out.controls.push({ offset: offset++, type });
    }
  }
  out.lastOffset = offset - 1;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Producing
// ---------------------------------------------------------------------------------------------

function kafkajsHeaders(headers: Array<[string, Buffer | null]>): KafkaJs.IHeaders {
  const object: Record<string, Buffer[]> = {};
  for (const [key, value] of headers) {
    if (value === null) throw new Error("kafkajs cannot send a null header value");
    if (/^(0|[1-9]\d*)$/.test(key)) throw new Error(`integer-like header key ${key}: JavaScript would reorder it`);
    (object[key] ??= []).push(value);
  }
  // kafkajs writes Object.keys(headers) in order, each key's array values in order: check that
  // this gives back exactly the list we record as sent.
  const flat = Object.keys(object).flatMap((key) => object[key]!.map((value) => [key, value] as const));
  if (flat.length !== headers.length || flat.some(([key, value], i) => key !== headers[i]![0] || value !== headers[i]![1])) {
    throw new Error(`kafkajs would reorder headers ${JSON.stringify(headers.map(([k]) => k))}`);
  }
  return object;
}

async function produceKafkajs(c: Case, topic: string, kafka: KafkaJs.Kafka, expected: Layout): Promise<void> {
  if (c.steps.some((step) => step.kind !== "batch")) throw new Error("kafkajs cases take batches only");
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    let batchIndex = 0;
    for (const step of c.steps) {
      if (step.kind !== "batch") continue;
      const [result] = await producer.send({
        topic,
        acks: -1,
        compression: KAFKAJS_TYPES[c.codec],
        timeout: 30_000,
        messages: step.records.map((r) => ({
          partition: PARTITION,
          key: r.key,
          value: r.value,
          headers: kafkajsHeaders(r.headers),
          // kafkajs takes timestamps as strings; without one it uses Date.now() at send().
          ...(r.timestamp === null ? {} : { timestamp: String(r.timestamp) }),
        })),
      });
      const wanted = expected.batches.filter((b) => !b.isControl)[batchIndex++]!.baseOffset;
      if (result?.errorCode !== 0 || Number(result.baseOffset) !== wanted) {
        throw new Error(`${c.name}: send() answered ${JSON.stringify(result)}, expected base offset ${wanted}`);
      }
    }
  } finally {
    await producer.disconnect();
  }
}

function recordJsonForJava(r: SentRecord): string {
  return JSON.stringify({
    key: r.key === null ? null : r.key.toString("base64"),
    value: r.value === null ? null : r.value.toString("base64"),
    headers: r.headers.map(([k, v]) => [k, v === null ? null : v.toString("base64")]),
    timestamp: r.timestamp,
  });
}

async function produceJava(c: Case, topic: string, classpath: string, expected: Layout): Promise<void> {
  const lines: string[] = [];
  const sent: number[] = []; // expected offset of each record, in send order
  let offset = 0;
  for (const step of c.steps) {
    if (step.kind === "batch") {
      for (const r of step.records) {
        lines.push(recordJsonForJava(r));
        sent.push(offset++);
      }
      lines.push(JSON.stringify({ control: "flush" }));
    } else {
      lines.push(JSON.stringify({ control: step.kind }));
      if (step.kind !== "begin") offset++; // the marker takes an offset
    }
  }
  const dir = mkdtempSync(join(tmpdir(), "golden-"));
  const input = join(dir, "records.jsonl");
  writeFileSync(input, lines.join("\n") + "\n");
  const args = [
    "-Xmx1g", `-Dlog4j2.configurationFile=${LOG4J_TOOLS}`, "-cp", classpath, RECORD_BATCH_ORACLE, "produce",
    "--bootstrap", BROKER, "--topic", topic, "--partition", String(PARTITION), "--input", input,
    "--compression", c.codec, "--linger-ms", "600000", "--batch-size", String(1 << 20),
  ];
  if (c.transactional) args.push("--transactional-id", topic);
  try {
    const stdout = await run("java", args);
    const acks = stdout.trim().split("\n").map((line) => JSON.parse(line) as { index: number; offset: number });
    if (acks.length !== sent.length) throw new Error(`${c.name}: GoldenProducer acknowledged ${acks.length} of ${sent.length} records`);
    acks.forEach((ack, i) => {
      if (ack.offset !== sent[i]) throw new Error(`${c.name}: record ${i} landed at offset ${ack.offset}, expected ${sent[i]}`);
    });
    if (offset - 1 !== expected.lastOffset) throw new Error(`${c.name}: layout mismatch`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(command: string, args: string[]): Promise<string> {
  return runChecked(`${command} ${args.slice(-12).join(" ")}`, command, args, { cwd: ROOT });
}

// ---------------------------------------------------------------------------------------------
// Reading the log
// ---------------------------------------------------------------------------------------------

interface BatchFrame {
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  attributes: number;
  magic: number;
}

/** Walks batch framing only (baseOffset, batchLength, attributes, lastOffsetDelta); no decoding. */
function frames(bytes: Buffer): { frames: BatchFrame[]; complete: boolean } {
  const out: BatchFrame[] = [];
  let position = 0;
  while (position + 61 <= bytes.length) {
    const size = 12 + bytes.readInt32BE(position + 8);
    if (position + size > bytes.length) break;
    const baseOffset = Number(bytes.readBigInt64BE(position));
    out.push({
      position,
      size,
      baseOffset,
      lastOffset: baseOffset + bytes.readInt32BE(position + 23),
      attributes: bytes.readInt16BE(position + 21),
      magic: bytes.readInt8(position + 16),
    });
    position += size;
  }
  return { frames: out, complete: position === bytes.length };
}

function readSegments(topic: string): Buffer {
  const dir = join(DATA_DIR, `${topic}-${PARTITION}`);
  const logs = readdirSync(dir).filter((f) => f.endsWith(".log")).sort();
  if (logs.length !== 1 || logs[0] !== "00000000000000000000.log") {
    throw new Error(`${dir}: expected one segment 00000000000000000000.log, found ${logs.join(", ")}`);
  }
  return readFileSync(join(dir, logs[0]!));
}

/** Waits until the segment holds a whole batch ending at `lastOffset` and its size has settled. */
async function settledSegment(topic: string, lastOffset: number): Promise<Buffer> {
  const file = join(DATA_DIR, `${topic}-${PARTITION}`, "00000000000000000000.log");
  const deadline = Date.now() + 60_000;
  let previousSize = -1;
  for (;;) {
    let size = -1;
    try { size = statSync(file).size; } catch { /* not created yet */ }
    if (size > 0 && size === previousSize) {
      const bytes = readSegments(topic);
      const { frames: found, complete } = frames(bytes);
      if (complete && found.at(-1)?.lastOffset === lastOffset && bytes.length === size) return bytes;
    }
    if (Date.now() > deadline) throw new Error(`${file}: no complete log up to offset ${lastOffset} after 60 s (size ${size})`);
    previousSize = size;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// ---------------------------------------------------------------------------------------------
// Compressed payload framing
// ---------------------------------------------------------------------------------------------

const XERIAL = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** What the producer is known to write inside a compressed batch (checked against the bytes). */
function expectedFraming(producer: Case["producer"], codec: Codec): string | null {
  switch (codec) {
    case "none": return null;
    case "gzip": return "gzip";
    case "snappy": return producer === "java" ? "xerial-snappy" : "raw-snappy";
    case "lz4": return "lz4-frame";
    case "zstd": return "zstd-frame";
  }
}

function readVarint(bytes: Buffer, at: number): [value: number, length: number] {
  let value = 0, shift = 0, i = at;
  for (;;) {
    const b = bytes[i++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, i - at];
    shift += 7;
  }
}

/** Classifies and describes a compressed batch's payload (bytes after the 61-byte header). */
function describePayload(batch: Buffer): { kind: string; detail: string } {
  const p = batch.subarray(61);
  if (p[0] === 0x1f && p[1] === 0x8b) {
    return { kind: "gzip", detail: `gzip member: CM=${p[2]} FLG=0x${p[3]!.toString(16)} XFL=${p[8]} OS=${p[9]}` };
  }
  if (p.subarray(0, 8).equals(XERIAL)) {
    const blocks: number[] = [];
    for (let at = 16; at + 4 <= p.length;) {
      const n = p.readInt32BE(at);
      blocks.push(n);
      at += 4 + n;
    }
    return { kind: "xerial-snappy", detail: `xerial framing: version ${p.readInt32BE(8)}, compatible ${p.readInt32BE(12)}, ${blocks.length} block(s) (each a raw snappy block of <= 32 KiB input)` };
  }
  if (p.readUInt32LE(0) === 0x184d2204) {
    const flg = p[4]!, bd = p[5]!;
    const blockMax = { 4: "64 KiB", 5: "256 KiB", 6: "1 MiB", 7: "4 MiB" }[(bd >> 4) & 7] ?? "?";
    return {
      kind: "lz4-frame",
      detail: `LZ4 frame: FLG=0x${flg.toString(16)} (version ${flg >> 6}, independent blocks ${(flg >> 5) & 1}, block checksum ${(flg >> 4) & 1}, content size ${(flg >> 3) & 1}, content checksum ${(flg >> 2) & 1}, dict id ${flg & 1}), BD=0x${bd.toString(16)} (max block ${blockMax})`,
    };
  }
  if (p.readUInt32LE(0) === 0xfd2fb528) {
    const fhd = p[4]!;
    return {
      kind: "zstd-frame",
      detail: `zstd frame: FHD=0x${fhd.toString(16)} (content-size field ${fhd >> 6}, single segment ${(fhd >> 5) & 1}, checksum ${(fhd >> 2) & 1}, dict id field ${fhd & 3})`,
    };
  }
  const [length] = readVarint(p, 0);
  return { kind: "raw-snappy", detail: `raw snappy block (no xerial framing), uncompressed length varint ${length}` };
}

// ---------------------------------------------------------------------------------------------
// Fixture files
// ---------------------------------------------------------------------------------------------

const b64 = (bytes: Buffer | null) => (bytes === null ? null : bytes.toString("base64"));

function fixtureJson(c: Case, topic: string, expected: Layout, window: [number, number], framing: string[]): string {
  const logAppendTime = c.topicConfig["message.timestamp.type"] === "LogAppendTime";
  const records = expected.records.map(({ record: r, offset, transaction }) => {
    const blob = r.blob ? Object.values(BLOBS).find((b) => b.name === r.blob)! : null;
    const out: Record<string, unknown> = {
      offset,
      timestamp: logAppendTime ? null : r.timestamp,
      ...(logAppendTime ? { timestampAssignedBy: "broker", sentTimestamp: r.timestamp } : r.timestamp === null ? { timestampAssignedBy: "producer" } : {}),
      key: b64(r.key),
      value: blob ? { blob: `blobs/${blob.name}.bin`, length: blob.bytes.length, sha256: blob.sha256 } : b64(r.value),
      headers: r.headers.map(([k, v]) => [k, b64(v)]),
    };
    if (transaction) out.transaction = transaction;
    return out;
  });
  const dataBatches = expected.batches.filter((b) => !b.isControl);
  const fixture = {
    format: "tributary-golden-v1",
    case: c.name,
    description: c.description,
    broker: `Apache Kafka ${KAFKA_VERSION} (KRaft, single node)`,
    producer: c.producer === "kafkajs"
      ? { name: "kafkajs", version: packageVersion("kafkajs"), codecPackage: KAFKAJS_CODEC_PACKAGES[c.codec], settings: { acks: -1, idempotent: false } }
      : {
          name: "kafka-clients (Java)", version: KAFKA_VERSION, codecLibrary: JAVA_CODEC_LIBRARIES[c.codec],
          settings: { acks: "all", "enable.idempotence": true, "linger.ms": 600000, "batch.size": 1 << 20, ...(c.transactional ? { "transactional.id": topic } : {}) },
        },
    codec: c.codec,
    topic,
    partition: PARTITION,
    topicConfig: { "retention.ms": "-1", "segment.ms": SEGMENT_MS, ...c.topicConfig },
    capturedAt: new Date(window[1]).toISOString(),
    captureWindowMs: window,
    expected: {
      compression: c.codec,
      compressionAttribute: CODEC_IDS[c.codec],
      payloadFraming: expectedFraming(c.producer, c.codec),
      timestampType: logAppendTime ? "LogAppendTime" : "CreateTime",
      idempotent: c.producer === "java",
      isTransactional: !!c.transactional,
      batchCount: expected.batches.length,
      dataBatchCount: dataBatches.length,
      controlBatchCount: expected.batches.length - dataBatches.length,
      recordCount: expected.records.length,
      lastOffset: expected.lastOffset,
      batches: "__BATCHES__",
    },
    ...(c.transactional
      ? { transactions: { committed: records.filter((r) => r.transaction === "committed").length, aborted: records.filter((r) => r.transaction === "aborted").length }, controlRecords: expected.controls }
      : {}),
    notes: { observedPayloadFraming: framing },
    records: "__RECORDS__",
  };
  // Pretty at the top, one line per batch and per record.
  const lines = (items: unknown[], indent: string) => `[\n${items.map((item) => indent + JSON.stringify(item)).join(",\n")}\n${indent.slice(2)}]`;
  return JSON.stringify(fixture, null, 2)
    .replace('"__BATCHES__"', lines(expected.batches, "      "))
    .replace('"__RECORDS__"', lines(records, "    ")) + "\n";
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const SEGMENT_MS = "9223372036854775807"; // never roll by age (the records' timestamps are old)

async function main(): Promise<void> {
  const onlyIndex = process.argv.indexOf("--only");
  const only = onlyIndex > 0 ? new Set(process.argv[onlyIndex + 1]!.split(",")) : null;
  const cases = buildCases().filter((c) => !only || only.has(c.name));
  if (cases.length === 0) throw new Error(`no such case: ${[...only!].join(", ")}`);

  console.log("Starting the broker if needed...");
  console.log((await run("bash", [KAFKA_SH, "start"])).trim());
  const classpath = (await run("bash", [KAFKA_SH, "classpath"])).trim();

  mkdirSync(BLOB_DIR, { recursive: true });
  for (const blob of Object.values(BLOBS)) writeFileSync(join(BLOB_DIR, `${blob.name}.bin`), blob.bytes);

  const kafka = new Kafka({ clientId: "tributary-golden", brokers: [BROKER], logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const runId = Date.now().toString(36);
  const topics: string[] = [];
  const summary: string[] = [];
  try {
    for (const c of cases) {
      const topic = `golden-${c.name}-${runId}`;
      const configEntries = Object.entries({ "retention.ms": "-1", "segment.ms": SEGMENT_MS, ...c.topicConfig }).map(([name, value]) => ({ name, value }));
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries }], waitForLeaders: true });
      topics.push(topic);

      const expected = layout(c);
      const started = Date.now();
      if (c.producer === "kafkajs") await produceKafkajs(c, topic, kafka, expected);
      else await produceJava(c, topic, classpath, expected);
      const bytes = await settledSegment(topic, expected.lastOffset);
      const window: [number, number] = [started, Date.now()];

      // Check the framing against the expectation before writing anything.
      const { frames: found } = frames(bytes);
      if (found.length !== expected.batches.length) {
        throw new Error(`${c.name}: ${found.length} batches in the log, expected ${expected.batches.length}`);
      }
      const framing = new Set<string>();
      found.forEach((frame, i) => {
        const want = expected.batches[i]!;
        const codec = frame.attributes & 7;
        const isControl = (frame.attributes & 0x20) !== 0;
        if (frame.magic !== 2 || frame.baseOffset !== want.baseOffset || frame.lastOffset !== want.lastOffset
          || codec !== CODEC_IDS[want.compression] || isControl !== want.isControl) {
          throw new Error(`${c.name}: batch ${i} is ${JSON.stringify(frame)}, expected ${JSON.stringify(want)}`);
        }
        if (codec !== 0) {
          const { kind, detail } = describePayload(bytes.subarray(frame.position, frame.position + frame.size));
          const wantKind = expectedFraming(c.producer, c.codec);
          if (kind !== wantKind) throw new Error(`${c.name}: batch ${i} payload is ${kind}, expected ${wantKind}`);
          framing.add(detail.replace(/\d+ block\(s\)/, "N block(s)").replace(/varint \d+/, "varint N"));
        }
      });

      writeFileSync(join(OUT_DIR, `${c.name}.bin`), bytes);
      writeFileSync(join(OUT_DIR, `${c.name}.json`), fixtureJson(c, topic, expected, window, [...framing]));
      const line = `${c.name.padEnd(28)} ${String(found.length).padStart(2)} batches, ${String(expected.records.length).padStart(3)} records, ${String(bytes.length).padStart(8)} bytes`;
      summary.push(line, ...[...framing].map((f) => `${" ".repeat(29)}${f}`));
      console.log(line);
    }
  } finally {
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch((e) => console.error(`deleting the capture topics failed: ${e}`));
    await admin.disconnect();
  }
  console.log(`\nWrote ${cases.length} cases to ${OUT_DIR}:\n${summary.join("\n")}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
