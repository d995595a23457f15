/**
 * npm run bench:consume — consumer throughput against the local broker: Tributary, kafkajs and
 * @platformatic/kafka in the same run, each reading the same topic from the earliest offset to
 * the end.
 *
 * Workloads (as bench:produce): 1,000,000 keyed records of 100-byte JSON values, no compression;
 * 100,000 keyed records of 1 KiB JSON values, lz4. Tributary's producer writes each workload once
 * to a 12-partition topic (and a tenth of it to a warm-up topic), untimed. Each client then reads
 * the warm-up topic once, then the topic RUNS times (the clients' order rotating every round);
 * the table shows the median.
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
 * Environment: COUNT, COUNT_1K, RUNS, WORKLOAD, CLIENTS (see bench/support.ts).
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { Consumer as PlatformaticConsumer } from "@platformatic/kafka";
import { createConsumer, createProducer } from "../src/entry/node.ts";
import {
  brokerCpuSeconds, BROKERS, CHUNK, collectGarbage, createTopics, type Dataset, deleteTopics, endOffsets, ensureBroker, INFLIGHT, keyValueChunks, loadKafkajs,
  makeDataset, type Measured, type Measurement, PARTITIONS, printTable, pump, RUNS, selected, versionOf, type Workload, WORKLOADS,
} from "./support.ts";

const kafkajs = loadKafkajs();
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

const CLIENTS: Array<[string, Consume]> = [
  ["tributary", tributary()],
  // Not in the ratios: what fewer, bigger fetches change (platformatic's default is 50 MiB).
  ["tributary 8 MiB/partition", tributary(8 << 20)],
  ["kafkajs", kafkajsConsume],
  ["platformatic", platformaticConsume],
];

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

async function run(label: string, consume: Consume, topic: string, expected: Expected): Promise<Measurement> {
  collectGarbage();
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
    const clients = CLIENTS.filter(([label]) => selected(label));
    for (const [label, consume] of clients) await run(label, consume, warmTopic!, warmExpected);
    const seconds: number[][] = clients.map(() => []);
    const cpu: number[][] = clients.map(() => []);
    const brokerCpu: number[][] = clients.map(() => []);
    for (let round = 0; round < RUNS; round++) {
      for (let k = 0; k < clients.length; k++) {
        const which = (k + round) % clients.length;
        const [label, consume] = clients[which]!;
        const m = await run(label, consume, topic!, expected);
        seconds[which]!.push(m.seconds);
        cpu[which]!.push(m.cpu);
        brokerCpu[which]!.push(m.brokerCpu);
        console.log(`  run ${round + 1}: ${label} ${m.seconds.toFixed(2)} s (CPU ${m.cpu.toFixed(2)} s, broker CPU ${m.brokerCpu.toFixed(1)} s)`);
      }
    }
    const rows: Measured[] = clients.map(([label], i) => ({ client: label, seconds: seconds[i]!, cpu: cpu[i]!, brokerCpu: brokerCpu[i]! }));
    printTable(workload, expected.bytes, rows, { kafkajs: ["kafkajs"], platformatic: ["platformatic"] });
  } finally {
    await deleteTopics([topic!, warmTopic!]);
  }
}

async function main(): Promise<void> {
  await ensureBroker();
  console.log(`tributary bench:consume on ${process.release.name} ${process.version} (${process.arch}), broker ${BROKERS[0]}`);
  console.log(`kafkajs ${versionOf("kafkajs")} (lz4: @2l/kafkajs-lz4 ${versionOf("@2l/kafkajs-lz4")}), @platformatic/kafka ${versionOf("@platformatic/kafka")}`);
  console.log(`each client reads the whole topic from offset 0; timed from its first Fetch to its last record; median of ${RUNS} runs after a warm-up`);
  console.log("MB/s: 10^6 bytes of keys+values per second; CPU: this process's user+system time over the same span; broker: the broker JVM's");
  for (const workload of WORKLOADS) await bench(workload);
}

await main();
