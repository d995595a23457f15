/**
 * Shared pieces of the benches: seeded JSON-like payloads (bench:decode, bench:produce,
 * bench:consume), and for the broker benches the local broker, topics, the two workloads, the
 * peers' set-up (kafkajs with its lz4 codec, @platformatic/kafka), and the result table.
 *
 * Environment overrides of the broker benches:
 *   COUNT       records of the 100-byte workload (default 1,000,000)
 *   COUNT_1K    records of the 1 KiB lz4 workload (default 100,000)
 *   RUNS        timed runs per client and workload; the table shows the median (default 3)
 *   CHUNK       messages per send call (default 1,000)
 *   INFLIGHT    send calls in flight per client (default 100)
 *   WORKLOAD    only the workloads (bench:consume: and sections, e.g. "group") whose name contains this substring
 *   CLIENTS     only the clients whose label contains one of these comma-separated substrings
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { seededRandom } from "../test/support/random.ts";
import { isListening, kafkaScript, SINGLE_BROKER } from "../test/support/kafka.ts";
import { createAdmin, type CompressionCodec, type RecordInput } from "../src/entry/node.ts";

export { seededRandom };

// ---------------------------------------------------------------------------------------------
// Payloads

const WORDS = [
  "event", "click", "view", "purchase", "cart", "search", "login", "checkout", "product", "category",
  "page", "session", "device", "mobile", "desktop", "country", "currency", "referrer", "campaign",
  "price", "quantity", "status", "active", "pending", "shipped", "region", "eu-west-1", "us-east-1",
  "browser", "firefox", "chrome", "safari", "language", "en-GB", "de-DE", "fr-FR", "sku", "items",
];

/**
 * `count` records with JSON text values of exactly `valueBytes` (ASCII), keys "user-NNNNN" and,
 * unless `headers` is false, one or two headers on every third record.
 */
export function makeRecords(rand: () => number, valueBytes: number, count: number, firstIndex: number, headers = true): RecordInput[] {
  const pick = () => WORDS[Math.floor(rand() * WORDS.length)]!;
  const hex = (digits: number) => {
    let s = "";
    for (let i = 0; i < digits; i++) s += "0123456789abcdef"[Math.floor(rand() * 16)];
    return s;
  };
  const records: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const index = firstIndex + i;
    const user = 10_000 + Math.floor(rand() * 90_000);
    // JSON text: a few fixed fields, then random pairs from a small vocabulary, padded exactly.
    let value = `{"event":"${pick()}","user":"user-${user}","ts":${1_700_000_000_000 + index * 7}`;
    while (value.length < valueBytes - 40) {
      value += rand() < 0.5
        ? `,"${pick()}":"${pick()} ${pick()}"`
        : `,"${pick()}":${Math.floor(rand() * 100_000) / 100}`;
    }
    value = value.slice(0, Math.max(value.lastIndexOf(","), valueBytes - 40));
    value += `,"id":"`;
    while (value.length < valueBytes - 2) value += hex(1);
    value += `"}`;
    const extra = headers && index % 3 === 0
      ? index % 6 === 0
        ? [{ key: "trace-id", value: hex(32) }, { key: "content-type", value: "application/json" }]
        : [{ key: "trace-id", value: hex(32) }]
      : undefined;
    records.push({ key: `user-${user}`, value, timestamp: 1_700_000_000_000 + index * 7, ...(extra ? { headers: extra } : {}) });
  }
  return records;
}

// A GC between measurements, outside the timed part, so that garbage made before a measurement
// (one contender's, or the bench's own set-up) is not collected on its clock. bench:consume does
// not use it: see `run` there.
setFlagsFromString("--expose-gc");
export const collectGarbage = runInNewContext("gc") as () => void;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** "3.00M", "386k": records (or anything) per second. */
export function perSecond(rate: number): string {
  if (!Number.isFinite(rate)) return "-";
  return rate >= 1e6 ? `${(rate / 1e6).toFixed(2)}M` : `${(rate / 1e3).toFixed(0)}k`;
}

// ---------------------------------------------------------------------------------------------
// The broker benches

export const BROKERS = [`${SINGLE_BROKER.host}:${SINGLE_BROKER.port}`];
export const PARTITIONS = 12;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw.replaceAll("_", ""));
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${raw}`);
  return n;
}

export const RUNS = envNumber("RUNS", 3);
export const CHUNK = envNumber("CHUNK", 1_000);
export const INFLIGHT = envNumber("INFLIGHT", 100);

/** Whether a client's label passes the CLIENTS filter. */
export function selected(label: string): boolean {
  const wanted = (process.env.CLIENTS ?? "").split(",").filter(Boolean);
  return wanted.length === 0 || wanted.some((w) => label.includes(w));
}

export interface Workload {
  name: string;
  count: number;
  valueBytes: number;
  compression: CompressionCodec;
}

/** Both workloads, whatever WORKLOAD says. */
export const ALL_WORKLOADS = [
  { name: "100 B none", count: envNumber("COUNT", 1_000_000), valueBytes: 100, compression: "none" },
  { name: "1 KiB lz4", count: envNumber("COUNT_1K", 100_000), valueBytes: 1024, compression: "lz4" },
] satisfies Workload[] as Workload[];

/** Whether a workload (or a bench section) named `name` passes the WORKLOAD filter. */
export function workloadSelected(name: string): boolean {
  return name.includes(process.env.WORKLOAD ?? "");
}

/** The workloads that pass the WORKLOAD filter. */
export const WORKLOADS = ALL_WORKLOADS.filter((w) => workloadSelected(w.name));

/** One workload's records, the same bytes for every client: keys and values as Buffers (no serialiser work timed). */
export interface Dataset {
  keys: Buffer[];
  values: Buffer[];
  /** Key + value bytes of all records (the MB/s figure). */
  bytes: number;
}

export function makeDataset(workload: Workload): Dataset {
  const rand = seededRandom(workload.valueBytes * 7919 + workload.count);
  const keys: Buffer[] = [];
  const values: Buffer[] = [];
  let bytes = 0;
  for (let from = 0; from < workload.count; from += 10_000) {
    for (const record of makeRecords(rand, workload.valueBytes, Math.min(10_000, workload.count - from), from, false)) {
      const key = Buffer.from(record.key as string);
      const value = Buffer.from(record.value as string);
      keys.push(key);
      values.push(value);
      bytes += key.length + value.length;
    }
  }
  return { keys, values, bytes };
}

/** [from, to) of each send call's records: CHUNK per call. */
function chunkRanges(count: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let at = 0; at < count; at += CHUNK) out.push([at, Math.min(count, at + CHUNK)]);
  return out;
}

/**
 * The dataset's records as {key, value} messages (kafkajs and Tributary take this shape), or
 * {topic, key, value} (@platformatic/kafka's) when `topic` is given: CHUNK per array.
 */
export function keyValueChunks(data: Dataset): Array<Array<{ key: Buffer; value: Buffer }>>;
export function keyValueChunks(data: Dataset, topic: string): Array<Array<{ topic: string; key: Buffer; value: Buffer }>>;
export function keyValueChunks(data: Dataset, topic?: string): Array<Array<{ topic?: string; key: Buffer; value: Buffer }>> {
  return chunkRanges(data.keys.length).map(([from, to]) => {
    const messages = new Array(to - from);
    for (let i = from; i < to; i++) {
      messages[i - from] = topic === undefined
        ? { key: data.keys[i]!, value: data.values[i]! }
        : { topic, key: data.keys[i]!, value: data.values[i]! };
    }
    return messages;
  });
}

/** The end offset of each partition of `topic` (throws on any partition's error). */
export async function endOffsets(topic: string): Promise<number[]> {
  const client = admin();
  try {
    const ends = new Array<number>(PARTITIONS).fill(0);
    for (const o of await client.listOffsets(topic, "latest")) {
      if (o.error) throw o.error;
      ends[o.partition] = o.offset;
    }
    return ends;
  } finally {
    client.close();
  }
}

/** The offsets `groupId` committed for each partition of `topic` (-1: none; throws on any partition's error). */
export async function committedOffsets(groupId: string, topic: string): Promise<number[]> {
  const client = admin();
  try {
    const committed = new Array<number>(PARTITIONS).fill(-1);
    for (const c of await client.fetchGroupOffsets(groupId, [topic])) {
      if (c.error) throw c.error;
      committed[c.partition] = c.offset;
    }
    return committed;
  } finally {
    client.close();
  }
}

/** Starts the shared single-node broker unless it runs (never stops or resets it). */
export async function ensureBroker(): Promise<void> {
  if (await isListening(SINGLE_BROKER.host, SINGLE_BROKER.port)) return;
  console.log("starting the local broker (scripts/kafka.sh start)…");
  await kafkaScript("start");
}

/** Where scripts/kafka.sh keeps the local broker (its default TRIBUTARY_KAFKA_HOME). */
const LOCAL_KAFKA_HOME = new URL("../.kafka/", import.meta.url);

const admin = () => createAdmin({ brokers: BROKERS, clientId: "tributary-bench" });

/**
 * The bench's topics are due for removal as soon as they are deleted, and `deleteTopics` waits for
 * the broker to remove them (`filesGone`), so that one workload's topics (GBs of log) do not go
 * while a later workload's clients are timed (the broker's default is 60 s after deletion). The
 * seventh session blamed the broker's extra CPU in timed runs (520–790 ms per 100k × 1 KiB lz4
 * produce run instead of 130–270, mostly system time) on those deletions; the eighth found most of
 * it was readahead zeroing the sparse 10 MiB index files of new segments (now 1 MiB:
 * scripts/kafka/broker.properties). The wait stays: it costs set-up time only.
 */
const DELETE_AT_ONCE = { "file.delete.delay.ms": "0" };

let topicSerial = 0;
/** Fresh topics (PARTITIONS partitions, leaders ready); their names start with `prefix`. */
export async function createTopics(prefix: string, count: number): Promise<string[]> {
  const stamp = `${process.pid}-${Date.now().toString(36)}`;
  const topics = Array.from({ length: count }, () => `${prefix}-${stamp}-${topicSerial++}`);
  const client = admin();
  try {
    const results = await client.createTopics(topics.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 1, configs: DELETE_AT_ONCE })));
    const failed = results.find((r) => r.error);
    if (failed) throw failed.error;
    // Leaders in metadata come before the broker hosts the partitions (it creates their logs a
    // little later, slowly while it deletes the previous run's topics): wait until every
    // partition answers ListOffsets, so no client's timed run starts on retriable errors.
    const deadline = Date.now() + 60_000;
    for (const topic of topics) {
      for (;;) {
        const offsets = await client.listOffsets(topic, "latest").catch(() => []);
        if (offsets.length === PARTITIONS && offsets.every((o) => o.error === null)) break;
        if (Date.now() > deadline) throw new Error(`${topic}: partitions not ready after 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.close();
  }
  return topics;
}

/** Deletes the bench's own topics (best effort: the data would otherwise fill the shared broker's disk). */
export async function deleteTopics(topics: string[]): Promise<void> {
  if (topics.length === 0) return;
  const client = admin();
  try {
    let left = topics;
    for (let attempt = 0; attempt < 3 && left.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 2_000));
      const results = await client.deleteTopics(left, { timeoutMs: 60_000 });
      left = results.filter((r) => r.error && r.error.code !== 3 /* already gone */).map((r) => r.topic);
    }
    if (left.length > 0) console.warn(`could not delete topics ${left.join(", ")}`);
    await filesGone(topics.filter((topic) => !left.includes(topic)));
  } catch (error) {
    console.warn(`could not delete topics ${topics.join(", ")}: ${String(error)}`);
  } finally {
    client.close();
  }
}

/** The local broker's log directory (scripts/kafka.sh's layout). */
const BROKER_LOG_DIR = new URL("data/single/", LOCAL_KAFKA_HOME);

/**
 * Waits (at most 90 s) until the local broker has removed the deleted topics' partition
 * directories, then a few seconds more for the file system to finish with them, so that the
 * next timed run does not share the disk with the deletion. The broker removes due files on its
 * next pass over deleted logs, and it makes one at least every 60 s (its default
 * `file.delete.delay.ms`), so this can take a minute; once, right after a broker start, it took
 * 66 s. Says so when the files outlast the wait. Returns at once when the broker's log directory
 * is not readable (a broker elsewhere).
 */
async function filesGone(topics: string[]): Promise<void> {
  if (topics.length === 0) return;
  const names = new Set(topics);
  const pending = () => readdirSync(BROKER_LOG_DIR).some((entry) => names.has(entry.replace(/-\d+(\..*)?$/, "")));
  try {
    const deadline = Date.now() + FILES_GONE_WAIT_MS;
    while (pending() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    if (pending()) console.warn(`the broker still had files of ${topics.join(", ")} ${FILES_GONE_WAIT_MS / 1000} s after deleting them; timing goes on`);
  } catch {
    return;
  }
  await new Promise((resolve) => setTimeout(resolve, FILE_SYSTEM_SETTLE_MS));
}

const FILES_GONE_WAIT_MS = 90_000;

/** ext4 commits its journal (and, mounted with `discard`, trims freed blocks) every 5 s. */
const FILE_SYSTEM_SETTLE_MS = 6_000;

/**
 * CPU seconds (user + system) the local broker's JVM has used so far, from /proc (Linux; its pid
 * from scripts/kafka.sh's pid file), or NaN where that is not available.
 */
export function brokerCpuSeconds(): number {
  try {
    return processCpuSeconds(Number(readFileSync(new URL("run/single.pid", LOCAL_KAFKA_HOME), "utf8").trim()));
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system, all threads) process `pid` has used so far, from /proc (Linux), or NaN. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

export interface Measurement {
  seconds: number;
  /** CPU seconds of this process (user + system). */
  cpu: number;
  /** CPU seconds of the broker over the same span. */
  brokerCpu: number;
}

/** A measurement as the benches log each run: "1.23 s (CPU 1.50 s, broker CPU 0.1 s)". */
export function describeMeasurement(m: Measurement): string {
  return `${m.seconds.toFixed(2)} s (CPU ${m.cpu.toFixed(2)} s, broker CPU ${m.brokerCpu.toFixed(1)} s)`;
}

/** Runs `work` and returns its wall-clock seconds and the CPU seconds of this process and of the broker. */
export async function measure(work: () => Promise<unknown>): Promise<Measurement> {
  const broker0 = brokerCpuSeconds();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { seconds, cpu: (cpu.user + cpu.system) / 1e6, brokerCpu: brokerCpuSeconds() - broker0 };
}

/** Runs `send(i)` for i in 0…chunks-1 with at most `inflight` unsettled at once. */
export async function pump(chunks: number, inflight: number, send: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < chunks) {
      try {
        await send(next++);
      } catch (error) {
        failed = true; // no new sends; the ones in flight settle before this rejects
        throw error;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(inflight, chunks) }, worker));
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (rejected) throw rejected.reason;
}

// ---------------------------------------------------------------------------------------------
// The peers

const require = createRequire(import.meta.url);

export type Kafkajs = typeof import("kafkajs");
/** kafkajs with its lz4 codec (@2l/kafkajs-lz4) registered the way its README says. */
export function loadKafkajs(): Kafkajs {
  const module: Kafkajs = require("kafkajs");
  const LZ4Codec = require("@2l/kafkajs-lz4");
  module.CompressionCodecs[module.CompressionTypes.LZ4] = new LZ4Codec().codec;
  return module;
}

export function kafkajsCompression(k: Kafkajs, codec: CompressionCodec): number {
  if (codec === "none") return k.CompressionTypes.None;
  if (codec === "lz4") return k.CompressionTypes.LZ4;
  throw new RangeError(`no kafkajs codec wired for ${codec}`);
}

export function versionOf(pkg: string): string {
  return (JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), "utf8")) as { version: string }).version;
}

// ---------------------------------------------------------------------------------------------
// Output

export interface Measured {
  client: string;
  /** Seconds of each timed run. */
  seconds: number[];
  /** CPU seconds (user + system) of this process during each timed run: the client's own cost. */
  cpu: number[];
  /** CPU seconds of the broker during each timed run. */
  brokerCpu: number[];
  note?: string;
}

/**
 * Prints one row per client (median of its runs: records/s, MB/s of key+value bytes, each run's
 * seconds) and Tributary ÷ each peer. `peers` maps a column label to the clients it compares
 * with: the fastest of them is used.
 */
export function printTable(workload: Workload, bytes: number, rows: Measured[], peers: Record<string, string[]>): void {
  const rate = (row: Measured) => (row.seconds.length > 0 ? workload.count / median(row.seconds) : NaN);
  console.log(`\n${workload.name}: ${workload.count.toLocaleString("en")} records, ${(bytes / 1e6).toFixed(1)} MB of keys+values, ${PARTITIONS} partitions`);
  console.log(`${"client".padEnd(26)} ${"records/s".padStart(9)} ${"MB/s".padStart(6)} ${"CPU µs/rec".padStart(10)} ${"broker".padStart(6)}   runs: s (CPU s, broker CPU s)`);
  const perRecord = (values: number[]) => (values.length > 0 ? ((median(values) / workload.count) * 1e6).toFixed(2) : "-");
  for (const row of rows) {
    const r = rate(row);
    const runs = row.seconds.map((s, i) => `${s.toFixed(2)} (${row.cpu[i]!.toFixed(2)}, ${row.brokerCpu[i]!.toFixed(1)})`).join(" ");
    console.log(
      `${row.client.padEnd(26)} ${perSecond(r).padStart(9)} ${((r * bytes) / workload.count / 1e6).toFixed(1).padStart(6)} ` +
        `${perRecord(row.cpu).padStart(10)} ${perRecord(row.brokerCpu).padStart(6)}   ${runs}${row.note ? `  ${row.note}` : ""}`,
    );
  }
  const tributary = rows.find((r) => r.client.startsWith("tributary"));
  if (!tributary) return;
  for (const [label, clients] of Object.entries(peers)) {
    const candidates = rows.filter((r) => clients.includes(r.client));
    if (candidates.length === 0) continue;
    const best = candidates.reduce((a, b) => (rate(a) >= rate(b) ? a : b));
    console.log(`${tributary.client} ÷ ${label}: ${(rate(tributary) / rate(best)).toFixed(2)}x   (against ${best.client})`);
  }
}
