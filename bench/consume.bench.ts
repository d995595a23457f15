/**
 * npm run bench:consume — consumer throughput against the local broker: Tributary, kafkajs and
 * @platformatic/kafka in the same run, each reading the same topic from the earliest offset to
 * the end.
 *
 * Workloads (as bench:produce): 1,000,000 keyed records of 100-byte JSON values, no compression;
 * 100,000 keyed records of 1 KiB JSON values, lz4. Tributary's producer writes each workload once
 * to a 12-partition topic (and a tenth of it to a warm-up topic), untimed. Each Node client runs
 * in a process of its own for the section (bench/resident.ts), reads the topic untimed until its
 * reads are steady (within 10 % of the one before; 2 to 6 reads), then the clients take turns:
 * RUNS rounds, the clients' order rotating every round. In its turn a client reads the topic twice,
 * both timed: "after idle" (its process waited through the other clients' turns) and "steady"
 * (straight after that read). Each gets a table of medians and ratios: while a Node process
 * waits for several seconds, V8's memory reducer shrinks its heap, and the next read runs while
 * the heap grows back (bench/RESULTS.md, sixteenth session), which a consumer under steady load
 * never does. SHARED=1:
 * the Node clients share this process and read the warm-up topic once before the rounds instead
 * (the method of every section of bench/RESULTS.md before the fourteenth; see `NODE_CLIENTS`);
 * there "after idle" follows the other clients' reads in the same process.
 *
 * Timed from the client's first Fetch request to its last record: kafkajs's FETCH_START
 * instrumentation event, @platformatic/kafka's `plt:kafka:consumer:fetches` diagnostics channel,
 * and Tributary's `assign` (which fetches at once; metadata and connections are set up before).
 * Group joins and connection set-up are not timed. Every record's key and value length is read;
 * each run must deliver exactly the records of every partition (count per partition and total
 * key+value bytes), or the bench fails.
 *
 * Clients, with their defaults otherwise (no offsets committed by anyone):
 *   tributary     createConsumer, assign mode, run({ eachBatch }); partitionMaxBytes 1 MiB, maxBytes 50 MiB
 *                 (and a second row, not used for the ratios, with partitionMaxBytes 8 MiB)
 *   kafkajs       consumer.run({ eachBatch, autoCommit: false }), fresh group; 1 MiB per partition, 10 MiB
 *   platformatic  consumer.consume({ mode: "earliest", autocommit: false }) stream, fresh group; 50 MiB
 *
 * Section "group 100 B none" (the 1M × 100 B topic again, read by consumer-group members, each in
 * a fresh group, offsets from "earliest"; same rounds and checks):
 *   tributary group  createGroupConsumer({ groupId, topics, beginOffset: "earliest" }), run({ handler }),
 *                    defaults otherwise (ack "auto", commits every 5 s and on stop); timed from its
 *                    `assigned` event (the fetcher gets its partitions then: ListOffsets, then Fetch)
 *   kafkajs, platformatic  as above (they are group consumers already)
 *   java             Kafka's org.apache.kafka.tools.ConsumerPerformance (scripts/kafka.sh tool), a new JVM
 *                    per run, its defaults (classic group protocol, 1 MiB per partition, 50 MiB per fetch,
 *                    500 records per poll, auto-commit, check.crcs false); its own fetch.time.ms (from
 *                    partitions assigned to the last record: JVM start-up and the join excluded), its
 *                    count and MB checked, and its committed offsets (on close) must equal the end offsets.
 *                    CPU: the JVM's (all threads, /proc), sampled every 20 ms, cut to that window.
 *                    KAFKA_TOOL_OPTS overrides its JVM options (default: kafka-consumer-perf-test.sh's).
 *
 * Environment: COUNT, COUNT_1K, RUNS, WORKLOAD (e.g. WORKLOAD=group: only that section), CLIENTS
 * (see bench/support.ts); CPU_PROFILE=<client labels, comma-separated>: a V8 CPU profile of each
 * timed run of those Node clients, written to the temp directory; SHARED=1 (above).
 */
import { spawn } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createConsumer, createGroupConsumer, createProducer } from "../src/entry/node.ts";
import {
  ALL_WORKLOADS, brokerCpuSeconds, BROKERS, CHUNK, committedOffsets, createTopics, type Dataset, deleteTopics, describeMeasurement, endOffsets, ensureBroker, INFLIGHT,
  type Kafkajs, keyValueChunks, loadKafkajs, makeDataset, type Measured, type Measurement, PARTITIONS, printTable, processCpuSeconds, pump, RUNS, selected, versionOf,
  type Workload, workloadSelected,
} from "./support.ts";
import { Resident, RESIDENT_ROLE, serveJobs, warmUntilSteady } from "./resident.ts";

// The peers load on first use, so that a resident child loads only its own client's library.
let kafkajs: Kafkajs | undefined;
const RUN_TIMEOUT_MS = 180_000;
let groupSerial = 0;
const freshGroup = (client: string) => `bench-consume-${client}-${process.pid}-${Date.now().toString(36)}-${groupSerial++}`;

/** What a run must deliver: records per partition, key+value bytes. */
interface Expected {
  perPartition: number[];
  total: number;
  bytes: number;
}

/** Counts what a client delivers; resolves `done` at the last expected record (fails on any extra). */
class Tally {
  readonly perPartition = new Array<number>(PARTITIONS).fill(0);
  count = 0;
  bytes = 0;
  startedAt = 0;
  endedAt = 0;
  cpuAtStart: NodeJS.CpuUsage | undefined;
  cpu = 0;
  brokerCpuAtStart = 0;
  brokerCpu = 0;
  readonly done: Promise<void>;
  private finish!: () => void;
  private fail!: (error: Error) => void;
  readonly label: string;
  readonly expected: Expected;
  constructor(label: string, expected: Expected) {
    this.label = label;
    this.expected = expected;
    this.done = new Promise<void>((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
    });
  }
  /** The client's first Fetch. */
  start(): void {
    if (this.startedAt !== 0) return;
    this.brokerCpuAtStart = brokerCpuSeconds();
    this.cpuAtStart = process.cpuUsage();
    this.startedAt = performance.now();
  }
  add(partition: number, records: number, bytes: number): void {
    if (this.startedAt === 0) this.start();
    this.perPartition[partition]! += records;
    this.count += records;
    this.bytes += bytes;
    if (this.count > this.expected.total) {
      this.fail(new Error(`${this.label}: ${this.count} records delivered, expected ${this.expected.total}`));
    } else if (this.count === this.expected.total && this.endedAt === 0) {
      this.endedAt = performance.now();
      const cpu = process.cpuUsage(this.cpuAtStart);
      this.cpu = (cpu.user + cpu.system) / 1e6;
      this.brokerCpu = brokerCpuSeconds() - this.brokerCpuAtStart;
      this.finish();
    }
  }
  /** Throws unless exactly the expected records arrived; returns the seconds from first fetch to last record. */
  check(): number {
    const { perPartition, total, bytes } = this.expected;
    const wrong = perPartition.findIndex((n, p) => this.perPartition[p] !== n);
    if (this.count !== total || wrong >= 0 || this.bytes !== bytes) {
      throw new Error(`${this.label}: delivered ${this.count} records (${this.bytes} bytes), expected ${total} (${bytes} bytes)` +
        (wrong >= 0 ? `; partition ${wrong}: ${this.perPartition[wrong]} of ${perPartition[wrong]}` : ""));
    }
    return (this.endedAt - this.startedAt) / 1000;
  }
}

/** A client under test: reads `topic` from the start until the tally is complete, then closes. */
type Consume = (topic: string, tally: Tally) => Promise<void>;

const tributary = (partitionMaxBytes?: number): Consume => async (topic, tally) => {
  const consumer = createConsumer({ brokers: BROKERS, clientId: "bench-tributary", offsetResetPolicy: "earliest", ...(partitionMaxBytes ? { partitionMaxBytes } : {}) });
  try {
    await consumer.cluster.metadataFor([topic]);
    tally.start();
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, offset: 0 })));
    const running = consumer.run({
      eachBatch: ({ partition, records }) => {
        let bytes = 0;
        for (const record of records) bytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
        tally.add(partition, records.length, bytes);
      },
    });
    await Promise.race([tally.done, running]);
    await tally.done;
  } finally {
    await consumer.close();
  }
};

const kafkajsConsume: Consume = async (topic, tally) => {
  kafkajs ??= loadKafkajs();
  const client = new kafkajs.Kafka({ brokers: BROKERS, clientId: "bench-kafkajs", logLevel: kafkajs.logLevel.NOTHING });
  const consumer = client.consumer({ groupId: freshGroup("kafkajs") });
  consumer.on(consumer.events.FETCH_START, () => tally.start());
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        let bytes = 0;
        for (const message of batch.messages) bytes += (message.key?.length ?? 0) + (message.value?.length ?? 0);
        tally.add(batch.partition, batch.messages.length, bytes);
      },
    });
    await tally.done;
  } finally {
    await consumer.disconnect();
  }
};

/** The start of each `consumer.fetch` (a Fetch request) of @platformatic/kafka's consumers. */
const FETCH_START_CHANNEL = "tracing:plt:kafka:consumer:fetches:start";

const platformaticConsume: Consume = async (topic, tally) => {
  const { Consumer: PlatformaticConsumer } = await import("@platformatic/kafka");
  const consumer = new PlatformaticConsumer({ groupId: freshGroup("platformatic"), clientId: "bench-platformatic", bootstrapBrokers: BROKERS });
  const onFetch = (context: unknown) => {
    if ((context as { client?: unknown }).client === consumer) tally.start();
  };
  subscribe(FETCH_START_CHANNEL, onFetch);
  try {
    const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
    stream.on("data", (message: { partition: number; key: Buffer | undefined; value: Buffer | undefined }) => {
      tally.add(message.partition, 1, (message.key?.length ?? 0) + (message.value?.length ?? 0));
    });
    const failed = new Promise<never>((_, reject) => stream.once("error", reject));
    await Promise.race([tally.done, failed]);
  } finally {
    unsubscribe(FETCH_START_CHANNEL, onFetch);
    await consumer.close(true);
  }
};

/** A member of a fresh group with Tributary's group consumer: one handler call per partition batch, acknowledged on return. */
const tributaryGroup: Consume = async (topic, tally) => {
  const consumer = createGroupConsumer({
    brokers: BROKERS, clientId: "bench-tributary-group", groupId: freshGroup("tributary"), topics: [topic], beginOffset: "earliest",
  });
  // The fetcher gets its partitions at "assigned" (after OffsetFetch): it resolves "earliest" and fetches at once.
  const off = consumer.events.on((event) => {
    if (event.type === "assigned") tally.start();
  });
  const running = consumer.run({
    handler: (n) => {
      if (!("records" in n)) return;
      let bytes = 0;
      for (const record of n.records) bytes += (record.key?.length ?? 0) + (record.value?.length ?? 0);
      tally.add(n.partition, n.records.length, bytes);
    },
  });
  try {
    await Promise.race([tally.done, running]);
    await tally.done;
  } finally {
    off();
    await consumer.stop();
    await running.catch(() => {});
  }
};

const KAFKA_SCRIPT = fileURLToPath(new URL("../scripts/kafka.sh", import.meta.url));
/** kafka-consumer-perf-test.sh's JVM options (KAFKA_HEAP_OPTS and kafka-run-class.sh's performance options). */
const JAVA_TOOL_OPTS = process.env.KAFKA_TOOL_OPTS ??
  "-Xmx512m -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true";

/** Linear interpolation of column `column` of time-stamped samples at time `at` (ms since the epoch). */
function sampledAt(samples: Array<[number, number, number]>, at: number, column: 1 | 2): number {
  if (samples.length === 0) return NaN;
  const i = samples.findIndex(([t]) => t >= at);
  if (i < 0) return samples[samples.length - 1]![column];
  if (i === 0) return samples[0]![column];
  const before = samples[i - 1]!;
  const after = samples[i]!;
  const [t0, t1, v0, v1] = [before[0], after[0], before[column], after[column]];
  return t1 === t0 ? v1 : v0 + ((v1 - v0) * (at - t0)) / (t1 - t0);
}

/**
 * Kafka's Java consumer performance tool on `topic`, in a fresh group: its own fetch time (from the
 * assignment to the last record), checked against the expected records, and the JVM's and the
 * broker's CPU over that time.
 */
async function javaConsume(label: string, topic: string, expected: Expected): Promise<Measurement> {
  const group = freshGroup("java");
  const child = spawn("bash", [
    KAFKA_SCRIPT, "tool", "org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", BROKERS[0]!, "--topic", topic,
    "--messages", String(expected.total), "--group", group, "--timeout", "30000", "--hide-header",
    "--date-format", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
  ], { env: { ...process.env, KAFKA_TOOL_OPTS: JAVA_TOOL_OPTS }, stdio: ["ignore", "pipe", "pipe"] });
  // scripts/kafka.sh execs java: child.pid is the JVM's.
  const samples: Array<[number, number, number]> = [];
  const sampler = setInterval(() => samples.push([Date.now(), processCpuSeconds(child.pid!), brokerCpuSeconds()]), 20);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", resolve);
      timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`${label}: no result after ${RUN_TIMEOUT_MS / 1000} s`));
      }, RUN_TIMEOUT_MS);
    });
    if (code !== 0) throw new Error(`${label}: exit status ${code}: ${stderr.trim() || stdout.trim()}`);
  } finally {
    clearTimeout(timer);
    clearInterval(sampler);
  }
  // start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const line = stdout.trim().split("\n").filter((l) => l.split(", ").length === 10).pop();
  if (!line) throw new Error(`${label}: no result line in its output: ${stdout.trim()} ${stderr.trim()}`);
  const [, end, mb, , count, , , fetchMs] = line.split(", ");
  const bytes = Number(mb) * 1024 * 1024;
  if (Number(count) !== expected.total || !(Math.abs(bytes - expected.bytes) <= 60)) {
    throw new Error(`${label}: delivered ${count} records (${mb} MiB), expected ${expected.total} (${(expected.bytes / 1024 / 1024).toFixed(4)} MiB)`);
  }
  const committed = await committedOffsets(group, topic);
  const wrong = committed.findIndex((offset, p) => offset !== expected.perPartition[p]);
  if (wrong >= 0) throw new Error(`${label}: committed offset ${committed[wrong]} on partition ${wrong}, expected ${expected.perPartition[wrong]}`);
  const endedAt = Date.parse(end!);
  const startedAt = endedAt - Number(fetchMs);
  if (!Number.isFinite(startedAt) || !(Number(fetchMs) > 0)) throw new Error(`${label}: cannot read its times: ${line}`);
  return {
    seconds: Number(fetchMs) / 1000,
    cpu: sampledAt(samples, endedAt, 1) - sampledAt(samples, startedAt, 1),
    brokerCpu: sampledAt(samples, endedAt, 2) - sampledAt(samples, startedAt, 2),
  };
}

/** The warm-up topic of a workload and what reading it delivers. */
interface Warm {
  topic: string;
  expected: Expected;
}

/** A client of a section, made for it (`makeClient`) and closed after it. */
interface Client {
  label: string;
  /** A new process per read (Kafka's Java tool): nothing carries over, so one read stands for both. */
  freshProcess?: boolean;
  /** Untimed reads before the section's rounds. */
  warmUp?: (topic: string, expected: Expected, warm: Warm) => Promise<void>;
  /** One timed read of `topic`. */
  measure: (topic: string, expected: Expected) => Promise<Measurement>;
  close?: () => Promise<void>;
}

/**
 * The Node clients by label. By default each runs in a process of its own for the whole section
 * (`residentClient`): it reads the topic untimed until its reads are steady, then the clients take
 * turns. SHARED=1 runs them all in this process instead, each reading the warm-up topic once before
 * the rounds, as every section of bench/RESULTS.md before the fourteenth did: there the clients
 * slow each other down (thirteenth session: with every client in the process, Tributary and
 * kafkajs ran 33-56 % slower than with only the two of them).
 */
const NODE_CLIENTS: Record<string, Consume> = {
  "tributary": tributary(),
  // Not in the ratios: what fewer, bigger fetches change (platformatic's default is 50 MiB).
  "tributary 8 MiB/partition": tributary(8 << 20),
  "kafkajs": kafkajsConsume,
  "platformatic": platformaticConsume,
  "tributary group": tributaryGroup,
};
const SHARED = process.env.SHARED === "1";
const JAVA = "java ConsumerPerformance";

/** A Node client's read of `topic` in this process; profiled when `profile` and CPU_PROFILE names it. */
const read = (label: string, topic: string, expected: Expected, profile: boolean) =>
  profile ? profiled(label, () => run(label, NODE_CLIENTS[label]!, topic, expected)) : run(label, NODE_CLIENTS[label]!, topic, expected);

function makeClient(label: string): Client {
  if (label === JAVA) return { label, freshProcess: true, measure: (topic, expected) => javaConsume(label, topic, expected) };
  if (!NODE_CLIENTS[label]) throw new Error(`no Node client labelled ${label}`);
  if (SHARED) {
    return {
      label,
      warmUp: async (_topic, _expected, warm) => void (await read(label, warm.topic, warm.expected, false)),
      measure: (topic, expected) => read(label, topic, expected, true),
    };
  }
  return residentClient(label);
}

/** A job for a resident child: one read of `topic` by the client the child runs. */
interface ReadJob {
  topic: string;
  expected: Expected;
  profile: boolean;
}

/** A Node client in a process of its own (bench/resident.ts), warmed up on the topic itself until steady. */
function residentClient(label: string): Client {
  const child = new Resident(label, new URL(import.meta.url));
  const readThere = (topic: string, expected: Expected, profile: boolean) => child.request<Measurement>({ topic, expected, profile } satisfies ReadJob);
  return {
    label,
    warmUp: (topic, expected) => warmUntilSteady(label, async () => (await readThere(topic, expected, false)).seconds),
    measure: (topic, expected) => readThere(topic, expected, true),
    close: () => child.close(),
  };
}

interface Section {
  /** Printed before the workload's name; WORKLOAD selects sections by "<prefix><workload name>". */
  prefix: string;
  /** Printed when the section starts. */
  about?: string;
  /** Client labels (`makeClient`). */
  clients: string[];
  peers: Record<string, string[]>;
  /** Whether the section reads this workload. */
  reads: (workload: Workload) => boolean;
}

const SECTIONS: Section[] = [
  {
    prefix: "",
    reads: () => true,
    clients: ["tributary", "tributary 8 MiB/partition", "kafkajs", "platformatic"],
    peers: { kafkajs: ["kafkajs"], platformatic: ["platformatic"] },
  },
  {
    prefix: "group ",
    about: "consumer-group members, each in a fresh group from \"earliest\"; tributary group timed from its \"assigned\" event; " +
      "java: Kafka's ConsumerPerformance, a new JVM per run (no warm-up), its own fetch.time.ms",
    reads: (workload) => workload.valueBytes === 100,
    clients: ["tributary group", "kafkajs", "platformatic", JAVA],
    peers: { kafkajs: ["kafkajs"], platformatic: ["platformatic"], java: [JAVA] },
  },
];

const CPU_PROFILE = (process.env.CPU_PROFILE ?? "").split(",").filter(Boolean);
let profileSerial = 0;

/** Runs `work`, under the V8 CPU profiler when CPU_PROFILE names `label`. */
async function profiled<T>(label: string, work: () => Promise<T>): Promise<T> {
  if (!CPU_PROFILE.includes(label)) return work();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  try {
    return await work();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    const file = join(tmpdir(), `consume-${label.replaceAll(/\W+/g, "-")}-${process.pid}-${profileSerial++}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`  CPU profile: ${file}`);
  }
}

/** Writes the first `count` records of the dataset to `topic` with Tributary's producer (untimed set-up). */
async function fill(topic: string, workload: Workload, data: Dataset, count: number): Promise<Expected> {
  const producer = createProducer({ brokers: BROKERS, clientId: "bench-fill", compression: workload.compression });
  const prepared = keyValueChunks(data);
  try {
    if (count !== data.keys.length && count % prepared[0]!.length !== 0) throw new RangeError(`fill: ${count} is not a multiple of the chunk size`);
    const chunks = count === data.keys.length ? prepared.length : count / prepared[0]!.length;
    await pump(chunks, INFLIGHT, (i) => producer.send({ topic, messages: prepared[i]! }));
  } finally {
    await producer.close();
  }
  const perPartition = await endOffsets(topic);
  const total = perPartition.reduce((a, b) => a + b, 0);
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += data.keys[i]!.length + data.values[i]!.length;
  if (total !== count) throw new Error(`set-up: ${topic} holds ${total} records, expected ${count}`);
  return { perPartition, total, bytes };
}

/**
 * One timed read. No forced GC before it: each client has a process of its own, so the garbage a
 * read collects is its own client's, as in any long-running consumer. A forced full GC after a
 * wait shrinks V8's young generation to its minimum, and the read then runs while it grows back
 * (bench/RESULTS.md, sixteenth session).
 */
async function run(label: string, consume: Consume, topic: string, expected: Expected): Promise<Measurement> {
  const tally = new Tally(label, expected);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: ${tally.count} of ${expected.total} records after ${RUN_TIMEOUT_MS / 1000} s`)), RUN_TIMEOUT_MS);
  });
  try {
    await Promise.race([consume(topic, tally), timeout]);
  } finally {
    clearTimeout(timer);
  }
  return { seconds: tally.check(), cpu: tally.cpu, brokerCpu: tally.brokerCpu };
}

async function bench(workload: Workload): Promise<void> {
  const sections = SECTIONS.filter((section) => section.reads(workload) && workloadSelected(`${section.prefix}${workload.name}`));
  if (sections.length === 0) return;
  const [topic, warmTopic] = await createTopics("bench-consume", 2);
  try {
    // The records are not kept: the consumers should not pay for marking them in every GC.
    const { expected, warmExpected } = await (async () => {
      const data = makeDataset(workload);
      const warmCount = Math.max(CHUNK, Math.floor(workload.count / 10 / CHUNK) * CHUNK);
      return {
        expected: await fill(topic!, workload, data, workload.count),
        warmExpected: await fill(warmTopic!, workload, data, Math.min(workload.count, warmCount)),
      };
    })();
    const warm: Warm = { topic: warmTopic!, expected: warmExpected };
    for (const section of sections) {
      if (section.about) console.log(`\n${section.prefix}${workload.name}: ${section.about}`);
      const clients = section.clients.filter(selected).map(makeClient);
      const noRows = (): Measured[] => clients.map(({ label }) => ({ client: label, seconds: [], cpu: [], brokerCpu: [] }));
      const steady = noRows();
      const afterIdle = noRows();
      const record = (row: Measured, m: Measurement) => {
        row.seconds.push(m.seconds);
        row.cpu.push(m.cpu);
        row.brokerCpu.push(m.brokerCpu);
      };
      try {
        for (const { warmUp } of clients) await warmUp?.(topic!, expected, warm);
        for (let round = 0; round < RUNS; round++) {
          for (let k = 0; k < clients.length; k++) {
            const which = (k + round) % clients.length;
            const { label, measure, freshProcess } = clients[which]!;
            const first = await measure(topic!, expected);
            const second = freshProcess ? first : await measure(topic!, expected);
            record(afterIdle[which]!, first);
            record(steady[which]!, second);
            const shown = freshProcess ? describeMeasurement(first) : `after idle ${describeMeasurement(first)}, steady ${describeMeasurement(second)}`;
            console.log(`  run ${round + 1}: ${label} ${shown}`);
          }
        }
      } finally {
        for (const client of clients) await client.close?.();
      }
      printTable({ ...workload, name: `${section.prefix}${workload.name}, steady` }, expected.bytes, steady, section.peers);
      printTable({ ...workload, name: `${section.prefix}${workload.name}, after idle` }, expected.bytes, afterIdle, section.peers);
    }
  } finally {
    await deleteTopics([topic!, warmTopic!]);
  }
}

async function main(): Promise<void> {
  await ensureBroker();
  console.log(`tributary bench:consume on ${process.release.name} ${process.version} (${process.arch}), broker ${BROKERS[0]}`);
  console.log(`kafkajs ${versionOf("kafkajs")} (lz4: @2l/kafkajs-lz4 ${versionOf("@2l/kafkajs-lz4")}), @platformatic/kafka ${versionOf("@platformatic/kafka")}`);
  console.log(`each client reads the whole topic from offset 0; timed from its first Fetch to its last record; median of ${RUNS} runs after a warm-up`);
  console.log("each run: a read after the client's process waited through the others' turns (\"after idle\"), then one straight after it (\"steady\")");
  console.log("MB/s: 10^6 bytes of keys+values per second; CPU: the client's process's user+system time over the same span; broker: the broker JVM's");
  for (const workload of ALL_WORKLOADS) await bench(workload);
}

if (RESIDENT_ROLE !== undefined) {
  const label = RESIDENT_ROLE;
  if (!NODE_CLIENTS[label]) throw new Error(`no Node client labelled ${label}`);
  serveJobs((job) => {
    const { topic, expected, profile } = job as ReadJob;
    return read(label, topic, expected, profile);
  });
} else {
  await main();
}
