/**
 * Interop both ways between the `tributary` CLI (dist/cli/main.js, as users run it) and Kafka's own
 * Java console tools, against the real broker:
 *
 *   tributary produce --compression C  →  org.apache.kafka.tools.consumer.ConsoleConsumer
 *   org.apache.kafka.tools.ConsoleProducer --compression-codec C  →  tributary consume
 *
 * for every codec, with keys, null and empty keys, null and empty values, headers (several, repeated,
 * null and empty values), UTF-8 text (a leading byte-order mark included) and a 1 MiB value in
 * every topic; arbitrary bytes with --binary (printed by Java through BytesDeserializer's escaped
 * form); and an empty topic. Every record must arrive exactly once, byte for byte, in order per
 * partition, at the partition Java's partitioner picks for its key. Kafka's DumpLogSegments confirms
 * that each topic's batches really are compressed with the codec under test, and GetOffsetShell
 * that both sides agree on the end offsets.
 *
 * The console tools' line formats are made unambiguous with ASCII control characters as separators
 * (never part of the data) and a null marker that no value equals. JVM starts are the slow part:
 * one ConsoleConsumer reads all five codec topics (--include), the producers run two at a time.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partitionForKey } from "../../src/entry/node.ts";
import { brokerLogDir, KAFKA_SCRIPT, REPO_ROOT, SINGLE_BROKER } from "../support/kafka.ts";
import { randomBytes, seededRandom } from "../support/random.ts";

const CLI = join(REPO_ROOT, "dist/cli/main.js");
const BROKERS = `${SINGLE_BROKER.host}:${SINGLE_BROKER.port}`;
const RUN = `tributary-java-console-${Date.now()}`;
const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
type Codec = (typeof CODECS)[number];
const PARTITIONS = 3;
const RECORDS_PER_TOPIC = 40;
const BIG_AT = 17;
const BIG_BYTES = 1 << 20;
const MAX_MESSAGE_BYTES = 4 << 20;
const BASE_TIMESTAMP = 1_700_000_000_000;

const toJava = (codec: Codec) => `${RUN}-t2j-${codec}`;
const fromJava = (codec: Codec) => `${RUN}-j2t-${codec}`;
const binaryTopic = `${RUN}-binary`;
const emptyTopic = `${RUN}-empty`;
const allTopics = [...CODECS.map(toJava), ...CODECS.map(fromJava), binaryTopic, emptyTopic];

// Separators for the console tools' line formats: ASCII control characters that no test data holds.
const FS = "\u001f"; // between fields (ConsoleConsumer key.separator; ConsoleProducer key.separator)
const RS = "\u001e"; // after each record (ConsoleConsumer line.separator); ConsoleProducer headers.delimiter
const GS = "\u001d"; // between headers
const HKS = "\u001c"; // ConsoleProducer header key/value separator (ConsoleConsumer always prints ":")
const NULL = "\u0001NULL\u0001"; // null.literal / null.marker

// Short-lived JVMs: C1 only and a small heap leave the CPU to the broker and the other tests.
const TOOL_ENV = { ...process.env, KAFKA_TOOL_OPTS: process.env.KAFKA_TOOL_OPTS ?? "-Xmx256m -XX:TieredStopAtLevel=1 -Xshare:auto" };

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

interface Ran {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a process to completion with stdout as bytes; killed (code null) after `timeoutMs`. */
function run(command: string, args: readonly string[], options: { stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: options.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 90_000);
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.once("error", (error) => { clearTimeout(timer); reject(error); });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString() });
    });
    child.stdin.on("error", () => {}); // a tool that exits early closes its stdin
    child.stdin.end(options.stdin ?? "");
  });
}

const cli = (args: string[], stdin = "") => run(process.execPath, [CLI, ...args], { stdin });

/** A Kafka Java tool through `scripts/kafka.sh tool` (which `exec`s java: a kill reaches the JVM). */
const tool = (mainClass: string, args: string[], stdin = "") => run("bash", [KAFKA_SCRIPT, "tool", mainClass, ...args], { stdin, env: TOOL_ENV });

function expectSuccess(result: Ran, what: string): Ran {
  if (result.code !== 0) throw new Error(`${what} exited with ${result.code}:\n${result.stderr.slice(0, 4000)}\n${result.stdout.toString().slice(0, 2000)}`);
  return result;
}

/** Runs `task` over `items`, at most `limit` at a time (two cores, shared with the broker). */
async function inPool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// ---------------------------------------------------------------------------------------------
// Test records
// ---------------------------------------------------------------------------------------------

type Header = [key: string, value: string | null];

interface TestRecord {
  key: string | null;
  value: string | null;
  /** Grouped by key, in order: the CLI's JSON form (an object, repeated keys as arrays) keeps exactly this order. */
  headers: Header[];
}

/** A 1 MiB ASCII value that compresses a little (letters from a seeded PRNG). */
function bigValue(tag: string): string {
  const random = seededRandom(tag.length * 7919 + tag.charCodeAt(tag.length - 1));
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
  const head = `big ${tag} `;
  let text = head;
  const chunk: string[] = [];
  for (let i = head.length; i < BIG_BYTES; i++) chunk.push(letters[Math.floor(random() * letters.length)]!);
  text += chunk.join("");
  return text;
}

/**
 * The records written to one topic; every record is unique (its value, or else an "i" header,
 * carries `tag` and its index). `lineSafe`: no CR/LF (ConsoleProducer reads one record per line).
 */
function testRecords(tag: string, lineSafe: boolean): TestRecord[] {
  return Array.from({ length: RECORDS_PER_TOPIC }, (_, i): TestRecord => {
    if (i === BIG_AT) return { key: `big-${tag}`, value: bigValue(tag), headers: [["size", String(BIG_BYTES)]] };
    const key = i % 9 === 0 ? null : i % 9 === 1 ? "" : `k${i % 5}-ключ`;
    const text = lineSafe
      ? `v${i} ${tag} ✓ ключ 中文 🚀 tab\tcolon:comma, quote" back\\slash`
      : `v${i} ${tag} ✓ ключ 中文 🚀 tab\tnewline\ncr\rcolon:comma, quote" back\\slash`;
    const value = i % 11 === 0 ? null : i % 11 === 1 ? "" : i === 2 ? `\ufeff${text}` : text;
    const headers: Header[] = [];
    if (value === null || value === "") headers.push(["i", `${tag}:${i}`]);
    switch (i % 4) {
      case 1: headers.push(["trace", `t${i}`]); break;
      case 2: headers.push(["a", "1"], ["a", `2:${i}`], ["b", null], ["empty", ""], ["utf", "ключ✓ 🚀"]); break;
      case 3: headers.push(["constructor", "c"], ["__proto__", "p"], ["toString", "s"], ["x-id", String(i)]); break;
    }
    return { key, value, headers };
  });
}

/** The CLI's JSON input line (headers as an object whose repeated keys hold arrays). */
function jsonLine(record: TestRecord, extra: Record<string, unknown> = {}): string {
  const headers: Record<string, string | null | Array<string | null>> = Object.create(null);
  for (const [key, value] of record.headers) {
    const existing = headers[key];
    if (existing === undefined) headers[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[key] = [existing, value];
  }
  return JSON.stringify({ key: record.key, value: record.value, headers, ...extra });
}

/** The header pairs of a CLI output line's `headers` object, in its order. */
function headerPairs(headers: Record<string, string | null | Array<string | null>>): Header[] {
  return Object.entries(headers).flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).map((v): Header => [key, v]));
}

const identity = (r: TestRecord) => JSON.stringify([r.key, r.value, r.headers]);

/**
 * Checks what a reader saw of a topic against what was written, in writing order: every record
 * exactly once, per partition at offsets 0, 1, 2… in writing order, keyed records where Java's
 * partitioner puts them. Returns the end offset per partition.
 */
function expectDelivered(
  what: string,
  sent: readonly TestRecord[],
  got: ReadonlyArray<{ partition: number; offset: number; record: TestRecord }>,
): number[] {
  const indexOf = new Map(sent.map((r, i) => [identity(r), i]));
  expect(indexOf.size, `${what}: test records are unique`).toBe(sent.length);
  const seen = new Set<number>();
  const perPartition = new Map<number, Array<{ offset: number; index: number }>>();
  for (const { partition, offset, record } of got) {
    const index = indexOf.get(identity(record));
    if (index === undefined) {
      // Show the difference against the record it should have been (same position in writing order).
      const near = sent.find((r) => r.key === record.key && (r.value === record.value || r.headers.length === record.headers.length));
      expect(record, `${what}: partition ${partition} offset ${offset} is not a record that was written`).toEqual(near ?? sent[0]);
    }
    expect(seen.has(index!), `${what}: record ${index} delivered twice`).toBe(false);
    seen.add(index!);
    if (record.key !== null) expect(partition, `${what}: record ${index} (key ${JSON.stringify(record.key)})`).toBe(partitionForKey(record.key, PARTITIONS));
    perPartition.set(partition, [...(perPartition.get(partition) ?? []), { offset, index: index! }]);
  }
  expect([...seen].sort((a, b) => a - b), `${what}: every record arrived`).toEqual(sent.map((_, i) => i));
  const ends: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const rows = perPartition.get(p) ?? [];
    expect(rows.map((r) => r.offset), `${what}: partition ${p} offsets`).toEqual(rows.map((_, i) => i));
    const indexes = rows.map((r) => r.index);
    expect(indexes, `${what}: partition ${p} keeps writing order`).toEqual([...indexes].sort((a, b) => a - b));
    ends.push(rows.length);
  }
  return ends;
}

// ---------------------------------------------------------------------------------------------
// Java tools' formats
// ---------------------------------------------------------------------------------------------

const CONSUMER_FORMAT = [
  "print.timestamp=true", "print.partition=true", "print.offset=true", "print.headers=true", "print.key=true", "print.value=true",
  `key.separator=${FS}`, `line.separator=${RS}`, `headers.separator=${GS}`, `null.literal=${NULL}`,
].flatMap((p) => ["--property", p]);

interface JavaRecord {
  timestamp: string;
  partition: number;
  offset: number;
  record: TestRecord;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Parses ConsoleConsumer output written with CONSUMER_FORMAT. `decode` turns one field's bytes into
 * text (the raw UTF-8 by default, or an unescaped deserializer's rendering).
 */
function parseConsoleConsumer(stdout: Buffer, decode: (field: Buffer) => string | null = (field) => {
  const text = strictUtf8.decode(field);
  return text === NULL ? null : text;
}): JavaRecord[] {
  const records: JavaRecord[] = [];
  const rs = RS.charCodeAt(0);
  const fs = FS.charCodeAt(0);
  const gs = GS.charCodeAt(0);
  const split = (bytes: Buffer, separator: number) => {
    const parts: Buffer[] = [];
    let start = 0;
    for (let i = bytes.indexOf(separator); i >= 0; i = bytes.indexOf(separator, start)) {
      parts.push(bytes.subarray(start, i));
      start = i + 1;
    }
    parts.push(bytes.subarray(start));
    return parts;
  };
  const lines = split(stdout, rs);
  expect(lines.pop()!.length, "ConsoleConsumer output ends with a record separator").toBe(0);
  for (const line of lines) {
    const fields = split(line, fs);
    expect(fields.length, `ConsoleConsumer line: ${line.toString().slice(0, 200)}`).toBe(6);
    const [timestamp, partition, offset, headers, key, value] = fields as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
    const parsedHeaders: Header[] = headers.toString() === "NO_HEADERS" ? [] : split(headers, gs).map((pair): Header => {
      const colon = pair.indexOf(":".charCodeAt(0));
      return [strictUtf8.decode(pair.subarray(0, colon)), decode(pair.subarray(colon + 1))];
    });
    records.push({
      timestamp: timestamp.toString(),
      partition: Number(/^Partition:(\d+)$/.exec(partition.toString())![1]),
      offset: Number(/^Offset:(\d+)$/.exec(offset.toString())![1]),
      record: { key: decode(key), value: decode(value), headers: parsedHeaders },
    });
  }
  return records;
}

/** ConsoleProducer input (LineMessageReader with CONSUMER_FORMAT's separators): headers, key, value. */
const PRODUCER_FORMAT = [
  "parse.key=true", "parse.headers=true", `key.separator=${FS}`, `headers.delimiter=${RS}`,
  `headers.separator=${GS}`, `headers.key.separator=${HKS}`, `null.marker=${NULL}`,
].flatMap((p) => ["--property", p]);

function producerLine(record: TestRecord): string {
  const headers = record.headers.length === 0 ? NULL : record.headers.map(([k, v]) => `${k}${HKS}${v ?? NULL}`).join(GS);
  return `${headers}${RS}${record.key ?? NULL}${FS}${record.value ?? NULL}\n`;
}

/** Inverse of org.apache.kafka.common.utils.Bytes#toString: printable ASCII as is, other bytes as \xHH. */
function unescapeKafkaBytes(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\\") {
      expect(text.slice(i, i + 2)).toBe("\\x");
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      const c = text.charCodeAt(i);
      expect(c >= 0x20 && c <= 0x7e, `Bytes.toString printed character ${c}`).toBe(true);
      bytes.push(c);
    }
  }
  return Buffer.from(bytes);
}

/** The codec of every batch in each log segment, from Kafka's DumpLogSegments (read-only). */
async function batchCodecs(topics: readonly string[]): Promise<Map<string, string[]>> {
  // The running broker's own log directory (it may have been started from another checkout).
  const logDir = await brokerLogDir();
  const files = topics.flatMap((topic) => Array.from({ length: PARTITIONS }, (_, p) => join(logDir, `${topic}-${p}`, "00000000000000000000.log")));
  const dumped = expectSuccess(await tool("kafka.tools.DumpLogSegments", ["--files", files.join(",")]), "DumpLogSegments").stdout.toString();
  const codecs = new Map<string, string[]>(topics.map((t) => [t, []]));
  let current: string | undefined;
  for (const line of dumped.split("\n")) {
    const file = /^Dumping .*\/([^/]+)-\d+\/\d+\.log$/.exec(line);
    if (file) current = file[1];
    const codec = / compresscodec: (\w+) /.exec(line);
    if (codec) codecs.get(current!)!.push(codec[1]!.toLowerCase());
  }
  return codecs;
}

/** GetOffsetShell's latest offsets: topic → end offset per partition. */
async function javaEndOffsets(topicPattern: string): Promise<Map<string, number[]>> {
  const shell = expectSuccess(await tool("org.apache.kafka.tools.GetOffsetShell", ["--bootstrap-server", BROKERS, "--topic", topicPattern, "--time", "-1"]), "GetOffsetShell");
  const ends = new Map<string, number[]>();
  for (const line of shell.stdout.toString().trim().split("\n").filter(Boolean)) {
    const [, topic, partition, offset] = /^(.*):(\d+):(\d+)$/.exec(line)!;
    const list = ends.get(topic!) ?? [];
    list[Number(partition)] = Number(offset);
    ends.set(topic!, list);
  }
  return ends;
}

const jsonLines = (stdout: Buffer) => stdout.toString().split("\n").filter(Boolean).map((line) => JSON.parse(line));

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  const created = await inPool(allTopics, 4, (topic) => cli([
    "topics", "create", "--brokers", BROKERS, "--topic", topic, "--partitions", String(topic === binaryTopic ? 1 : PARTITIONS),
    "--config", `max.message.bytes=${MAX_MESSAGE_BYTES}`,
  ]));
  for (const result of created) expectSuccess(result, "tributary topics create");
}, 120_000);

afterAll(async () => {
  await inPool(allTopics, 4, (topic) => cli(["topics", "delete", "--brokers", BROKERS, "--topic", topic]));
}, 120_000);

describe.sequential("tributary CLI ↔ Kafka's Java console tools", () => {
  it("tributary produce → ConsoleConsumer: every codec, keys, nulls, headers, UTF-8, 1 MiB values", async () => {
    const sent = new Map(CODECS.map((codec) => [codec, testRecords(`t2j-${codec}`, false)]));
    const produced = await inPool(CODECS, 3, (codec) => cli(
      ["produce", "--brokers", BROKERS, "--topic", toJava(codec), "--compression", codec],
      sent.get(codec)!.map((record, i) => jsonLine(record, { timestamp: BASE_TIMESTAMP + i }) + "\n").join(""),
    ));
    produced.forEach((result, i) => expectSuccess(result, `tributary produce --compression ${CODECS[i]}`));

    const total = CODECS.length * RECORDS_PER_TOPIC;
    const [consumed, codecs] = await Promise.all([
      tool("org.apache.kafka.tools.consumer.ConsoleConsumer", [
        "--bootstrap-server", BROKERS, "--include", `^${RUN}-t2j-(${CODECS.join("|")})$`, "--from-beginning",
        "--max-messages", String(total), "--timeout-ms", "30000", ...CONSUMER_FORMAT,
      ]),
      batchCodecs(CODECS.map(toJava)),
    ]);
    expectSuccess(consumed, "ConsoleConsumer");
    expect(consumed.stderr).toContain(`Processed a total of ${total} messages`);

    // ConsoleConsumer does not print topics: each record's tag (in its value, its "i" header or its
    // key) says where it was written; the explicit timestamps, which must arrive too, carry its index.
    const got = parseConsoleConsumer(consumed.stdout);
    expect(got.length).toBe(total);
    const tagOf = (r: JavaRecord) => CODECS.filter((codec) => JSON.stringify(r.record).includes(`t2j-${codec}`));
    expect(got.filter((r) => tagOf(r).length !== 1), "records with exactly one topic's tag").toEqual([]);
    for (const codec of CODECS) {
      const records = sent.get(codec)!;
      const mine = got.filter((r) => tagOf(r)[0] === codec);
      expectDelivered(`tributary --compression ${codec} → Java`, records, mine);
      for (const r of mine) {
        const index = records.findIndex((s) => identity(s) === identity(r.record));
        expect(r.timestamp, `t2j-${codec} record ${index}`).toBe(`CreateTime:${BASE_TIMESTAMP + index}`);
      }
      // The batches on disk are really compressed with the codec under test.
      const batches = codecs.get(toJava(codec))!;
      expect(batches.length).toBeGreaterThan(0);
      expect(new Set(batches), `codec of ${toJava(codec)}'s batches`).toEqual(new Set([codec]));
    }
  }, 180_000);

  it("ConsoleProducer → tributary consume: every codec, keys, nulls, headers, UTF-8, 1 MiB values", async () => {
    const sent = new Map(CODECS.map((codec) => [codec, testRecords(`j2t-${codec}`, true)]));
    const produced = await inPool(CODECS, 2, (codec) => tool("org.apache.kafka.tools.ConsoleProducer", [
      "--bootstrap-server", BROKERS, "--topic", fromJava(codec), "--compression-codec", codec,
      "--request-timeout-ms", "30000", "--producer-property", `max.request.size=${MAX_MESSAGE_BYTES}`, ...PRODUCER_FORMAT,
    ], sent.get(codec)!.map(producerLine).join("")));
    produced.forEach((result, i) => expectSuccess(result, `ConsoleProducer --compression-codec ${CODECS[i]}`));

    const [javaEnds, codecs, consumed] = await Promise.all([
      javaEndOffsets(`${RUN}-j2t-.*`),
      batchCodecs(CODECS.map(fromJava)),
      inPool(CODECS.flatMap((codec) => [[codec, false], [codec, true]] as const), 3, ([codec, binary]) => cli([
        "consume", "--brokers", BROKERS, "--topic", fromJava(codec), "--from", "earliest", "--count", String(RECORDS_PER_TOPIC),
        ...(binary ? ["--binary"] : []),
      ])),
    ]);

    for (const [i, codec] of CODECS.entries()) {
      const records = sent.get(codec)!;
      const text = expectSuccess(consumed[2 * i]!, `tributary consume ${fromJava(codec)}`);
      const binary = expectSuccess(consumed[2 * i + 1]!, `tributary consume --binary ${fromJava(codec)}`);
      const lines = jsonLines(text.stdout);
      expect(lines.length).toBe(RECORDS_PER_TOPIC);
      for (const line of lines) {
        expect(Object.keys(line)).toEqual(["topic", "partition", "offset", "timestamp", "key", "value", "headers"]);
        expect(line.topic).toBe(fromJava(codec));
      }
      const got = lines.map((line) => ({
        partition: line.partition as number,
        offset: line.offset as number,
        record: { key: line.key, value: line.value, headers: headerPairs(line.headers) },
      })).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      const ends = expectDelivered(`Java --compression-codec ${codec} → tributary`, records, got);
      // Both sides agree on where the records are: GetOffsetShell's end offsets.
      expect(javaEnds.get(fromJava(codec)), `GetOffsetShell end offsets of ${fromJava(codec)}`).toEqual(ends);

      // --binary gives the very bytes Java wrote (its UTF-8 encoding of the text), at the same places.
      const b64 = (text: string | null) => (text === null ? null : Buffer.from(text, "utf8").toString("base64"));
      const binaryLines = jsonLines(binary.stdout);
      expect(binaryLines.map(({ partition, offset, key, value, headers }) => ({ partition, offset, key, value, headers: headerPairs(headers) }))
        .sort((a, b) => a.partition - b.partition || a.offset - b.offset))
        .toEqual(got.map(({ partition, offset, record }) => ({
          partition, offset, key: b64(record.key), value: b64(record.value), headers: record.headers.map(([k, v]): Header => [k, b64(v)]),
        })));

      const batches = codecs.get(fromJava(codec))!;
      expect(batches.length).toBeGreaterThan(0);
      expect(new Set(batches), `codec of ${fromJava(codec)}'s batches`).toEqual(new Set([codec]));
    }
  }, 180_000);

  it("arbitrary bytes: tributary produce --binary → ConsoleConsumer with BytesDeserializer", async () => {
    const random = seededRandom(0xb1a2);
    const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const records = Array.from({ length: 30 }, (_, i) => ({
      key: i === 0 ? allBytes : randomBytes(random, 1 + (i % 17)),
      value: i === 1 ? new Uint8Array(0) : i === 2 ? allBytes.slice().reverse() : randomBytes(random, 50 + i * 37),
      headers: i % 3 === 0 ? [["bin", randomBytes(random, 9)], ["bin", new Uint8Array([0x5c, 0x78, 0x30, 0x30, 0x0a, 0x1e, 0x1f])]] as Array<[string, Uint8Array]> : [],
    }));
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
    const input = records.map((r) => {
      const headers: Record<string, string[]> = {};
      for (const [key, value] of r.headers) (headers[key] ??= []).push(b64(value));
      return JSON.stringify({ key: b64(r.key), value: b64(r.value), headers }) + "\n";
    }).join("");
    expectSuccess(await cli(["produce", "--brokers", BROKERS, "--topic", binaryTopic, "--compression", "snappy", "--binary"], input), "tributary produce --binary");

    // Tributary reads until idle (--idle-ms, not told the count), alongside Java's consumer.
    const [java, ours] = await Promise.all([
      tool("org.apache.kafka.tools.consumer.ConsoleConsumer", [
        "--bootstrap-server", BROKERS, "--topic", binaryTopic, "--from-beginning", "--max-messages", String(records.length),
        "--timeout-ms", "30000", ...CONSUMER_FORMAT,
        ...["key", "value", "headers"].flatMap((what) => ["--property", `${what}.deserializer=org.apache.kafka.common.serialization.BytesDeserializer`]),
      ]),
      cli(["consume", "--brokers", BROKERS, "--topic", binaryTopic, "--from", "earliest", "--idle-ms", "5000", "--binary"]),
    ]);
    expectSuccess(java, "ConsoleConsumer (BytesDeserializer)");
    expect(java.stderr).toContain(`Processed a total of ${records.length} messages`);
    const expected = records.map((r) => ({ key: b64(r.key), value: b64(r.value), headers: r.headers.map(([k, v]): Header => [k, b64(v)]) }));
    const got = parseConsoleConsumer(java.stdout, (field) => unescapeKafkaBytes(field.toString("latin1")).toString("base64"));
    expect(got.map((r) => r.offset)).toEqual(records.map((_, i) => i));
    expect(got.map((r) => r.record)).toEqual(expected);
    const lines = jsonLines(expectSuccess(ours, "tributary consume --idle-ms --binary").stdout);
    expect(lines.map((l) => l.offset)).toEqual(records.map((_, i) => i));
    expect(lines.map((l) => ({ key: l.key, value: l.value, headers: headerPairs(l.headers) }))).toEqual(expected);
  }, 120_000);

  it("an empty topic: nothing for Java's consumer, nothing for tributary, both exit cleanly", async () => {
    // Producing nothing writes nothing.
    expectSuccess(await cli(["produce", "--brokers", BROKERS, "--topic", emptyTopic, "--compression", "zstd"], ""), "tributary produce (no input)");
    const [java, javaEnds, idle, none, offsets] = await Promise.all([
      tool("org.apache.kafka.tools.consumer.ConsoleConsumer", [
        "--bootstrap-server", BROKERS, "--topic", emptyTopic, "--from-beginning", "--timeout-ms", "3000", ...CONSUMER_FORMAT,
      ]),
      javaEndOffsets(emptyTopic),
      cli(["consume", "--brokers", BROKERS, "--topic", emptyTopic, "--from", "earliest", "--idle-ms", "1500"]),
      cli(["consume", "--brokers", BROKERS, "--topic", emptyTopic, "--from", "earliest", "--count", "0"]),
      cli(["offsets", "--brokers", BROKERS, "--topic", emptyTopic]),
    ]);
    expectSuccess(java, "ConsoleConsumer (empty topic)");
    expect(java.stdout.length).toBe(0);
    expect(java.stderr).toContain("Processed a total of 0 messages");
    expect(javaEnds.get(emptyTopic)).toEqual(Array(PARTITIONS).fill(0));
    for (const result of [idle, none]) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.toString()).toBe("");
      expect(result.stderr).toBe("");
    }
    expect(jsonLines(expectSuccess(offsets, "tributary offsets").stdout)).toEqual(
      Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: emptyTopic, partition, earliest: 0, latest: 0 })),
    );
  }, 120_000);
});
