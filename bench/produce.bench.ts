/**
 * npm run bench:produce — producer throughput against the local broker: Tributary, kafkajs and
 * @platformatic/kafka in the same run on the same records (keys and values as Buffers), each
 * client writing to its own fresh 12-partition topic per run.
 *
 * Workloads: 1,000,000 keyed records of 100-byte JSON values, no compression; 100,000 keyed
 * records of 1 KiB JSON values, lz4. Every client: acks all, CHUNK messages per send call, at most
 * INFLIGHT send calls unsettled (a new one starts as one settles); the time runs from the first
 * send to the last acknowledgement. Each client runs in a process of its own for the workload
 * (bench/resident.ts) and first writes the whole workload to a warm-up topic until its runs are
 * steady (within 10 % of the one before; 2 to 6 runs); then RUNS rounds, the clients taking turns,
 * their order rotating every round; the table shows the median. After each run the topic's end
 * offsets must add up to the record count. SHARED=1: all clients in this process, each writing a
 * tenth of the records to the warm-up topic once (the method before the fourteenth session).
 *
 * Clients (peers in the configurations their docs suggest, both of each shown):
 *   tributary                 idempotent (its default), lingerMs 5, batchBytes 1 MiB, 5 in flight
 *   kafkajs idempotent        idempotent: true, maxInFlightRequests: 1 (what kafkajs requires)
 *   kafkajs                   its default: not idempotent, no in-flight limit
 *   platformatic idempotent   idempotent: true (it forces one request in flight per connection)
 *   platformatic              not idempotent, acks ALL, maxInflights 5 (its default)
 * Tributary's ratio is against the faster configuration of each peer.
 *
 * Environment: COUNT, COUNT_1K, RUNS, CHUNK, INFLIGHT, WORKLOAD, CLIENTS (see bench/support.ts), SHARED.
 */
import { createProducer } from "../src/entry/node.ts";
import {
  BROKERS, CHUNK, collectGarbage, createTopics, type Dataset, deleteTopics, describeMeasurement, ensureBroker, endOffsets, INFLIGHT, type Kafkajs, kafkajsCompression,
  keyValueChunks, loadKafkajs, makeDataset, measure, type Measured, type Measurement, printTable, pump, RUNS, selected, versionOf, type Workload, WORKLOADS,
} from "./support.ts";
import { Resident, RESIDENT_ROLE, serveJobs, warmUntilSteady } from "./resident.ts";

// The peers load on first use, so that a resident child loads only its own client's library.
let kafkajs: Kafkajs | undefined;

/** A client under test: `produce` sends records [from, to) of the dataset to `topic`, resolving when all are acknowledged. */
interface Contender {
  label: string;
  /** Work before the clock starts for this topic. */
  prepare?(topic: string): void;
  produce(topic: string, from: number, to: number): Promise<void>;
  close(): Promise<void>;
}

/** Sends the prepared chunks covering [from, to) (from and to are multiples of CHUNK, or to is the end). */
function pumpChunks<T>(prepared: T[][], from: number, to: number, send: (messages: T[]) => Promise<unknown>): Promise<void> {
  const first = from / CHUNK;
  const last = Math.ceil(to / CHUNK);
  return pump(last - first, INFLIGHT, (i) => send(prepared[first + i]!));
}

function tributary(workload: Workload, prepared: Array<Array<{ key: Buffer; value: Buffer }>>): Contender {
  const producer = createProducer({ brokers: BROKERS, clientId: "bench-tributary", compression: workload.compression });
  return {
    label: "tributary",
    produce: (topic, from, to) => pumpChunks(prepared, from, to, (messages) => producer.send({ topic, messages })),
    close: () => producer.close(),
  };
}

function kafkajsContender(workload: Workload, prepared: Array<Array<{ key: Buffer; value: Buffer }>>, idempotent: boolean): Contender {
  kafkajs ??= loadKafkajs();
  const client = new kafkajs.Kafka({ brokers: BROKERS, clientId: "bench-kafkajs", logLevel: kafkajs.logLevel.NOTHING });
  const producer = client.producer(idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {});
  const connected = producer.connect();
  const compression = kafkajsCompression(kafkajs, workload.compression);
  return {
    label: idempotent ? "kafkajs idempotent" : "kafkajs",
    produce: async (topic, from, to) => {
      await connected;
      await pumpChunks(prepared, from, to, (messages) => producer.send({ topic, acks: -1, compression, messages }));
    },
    close: () => producer.disconnect(),
  };
}

async function platformatic(workload: Workload, data: Dataset, idempotent: boolean): Promise<Contender> {
  const { ProduceAcks, Producer: PlatformaticProducer } = await import("@platformatic/kafka");
  const producer = new PlatformaticProducer({
    clientId: "bench-platformatic",
    bootstrapBrokers: BROKERS,
    acks: ProduceAcks.ALL,
    idempotent,
    compression: workload.compression,
  });
  let prepared: Array<Array<{ topic: string; key: Buffer; value: Buffer }>> = [];
  return {
    label: idempotent ? "platformatic idempotent" : "platformatic",
    // Its messages name their topic: built per topic, before the clock starts.
    prepare: (topic) => {
      prepared = keyValueChunks(data, topic);
    },
    produce: (_topic, from, to) => pumpChunks(prepared, from, to, (messages) => producer.send({ messages })),
    close: () => producer.close(),
  };
}

function timed(contender: Contender, topic: string, count: number): Promise<Measurement> {
  contender.prepare?.(topic);
  collectGarbage();
  return measure(() => contender.produce(topic, 0, count));
}

async function verify(topic: string, expected: number, label: string): Promise<void> {
  const total = (await endOffsets(topic)).reduce((a, b) => a + b, 0);
  if (total !== expected) throw new Error(`${label}: ${topic} holds ${total} records, expected ${expected}`);
}

const LABELS = ["tributary", "kafkajs idempotent", "kafkajs", "platformatic idempotent", "platformatic"];

/** The contender labelled `label`, for `workload`'s records. */
function makeContender(label: string, workload: Workload, data: Dataset, prepared: Array<Array<{ key: Buffer; value: Buffer }>>): Contender | Promise<Contender> {
  switch (label) {
    case "tributary": return tributary(workload, prepared);
    case "kafkajs idempotent": return kafkajsContender(workload, prepared, true);
    case "kafkajs": return kafkajsContender(workload, prepared, false);
    case "platformatic idempotent": return platformatic(workload, data, true);
    case "platformatic": return platformatic(workload, data, false);
    default: throw new Error(`no contender labelled ${label}`);
  }
}

/**
 * A contender as the rounds see it. By default each runs in a process of its own for the
 * workload (bench/resident.ts) and, before the rounds, writes the whole workload to the warm-up
 * topic until its runs are steady. SHARED=1 makes them all in this process instead, each writing
 * a tenth of the records to the warm-up topic once (the method of bench/RESULTS.md before the
 * fourteenth session; there the clients share one heap and one event loop).
 */
interface Runner {
  label: string;
  warmUp(warmTopic: string): Promise<void>;
  timed(topic: string): Promise<Measurement>;
  close(): Promise<void>;
}

const SHARED = process.env.SHARED === "1";

async function sharedRunner(label: string, workload: Workload, data: Dataset, prepared: Array<Array<{ key: Buffer; value: Buffer }>>): Promise<Runner> {
  const contender = await makeContender(label, workload, data, prepared);
  const warmCount = Math.max(CHUNK, Math.floor(workload.count / 10 / CHUNK) * CHUNK);
  return {
    label,
    warmUp: async (warmTopic) => {
      contender.prepare?.(warmTopic);
      await contender.produce(warmTopic, 0, warmCount);
    },
    timed: (topic) => timed(contender, topic, workload.count),
    close: () => contender.close(),
  };
}

/** A job for a resident child: write the whole workload to `topic`. */
interface ProduceJob {
  workload: Workload;
  topic: string;
}

function residentRunner(label: string, workload: Workload): Runner {
  const child = new Resident(label, new URL(import.meta.url));
  const produceThere = (topic: string) => child.request<Measurement>({ workload, topic } satisfies ProduceJob);
  return {
    label,
    warmUp: (warmTopic) => warmUntilSteady(label, async () => (await produceThere(warmTopic)).seconds),
    timed: produceThere,
    close: () => child.close(),
  };
}

/** In a resident child: the contender `label` for the workload of the jobs (made at the first one). */
function serveContender(label: string): void {
  let made: { workload: string; contender: Promise<Contender> } | undefined;
  serveJobs(async (job) => {
    const { workload, topic } = job as ProduceJob;
    if (made && made.workload !== workload.name) throw new Error(`${label}: one workload per process (${made.workload}, then ${workload.name})`);
    made ??= { workload: workload.name, contender: (async () => {
      const data = makeDataset(workload);
      return makeContender(label, workload, data, keyValueChunks(data));
    })() };
    return timed(await made.contender, topic, workload.count);
  }, async () => {
    if (made) await (await made.contender).close();
  });
}

async function bench(workload: Workload): Promise<void> {
  const labels = LABELS.filter(selected);
  let runners: Runner[];
  let bytes: number;
  if (SHARED) {
    const data = makeDataset(workload);
    const prepared = keyValueChunks(data);
    bytes = data.bytes;
    runners = [];
    for (const label of labels) runners.push(await sharedRunner(label, workload, data, prepared));
  } else {
    bytes = makeDataset(workload).bytes;
    runners = labels.map((label) => residentRunner(label, workload));
  }
  const [warmTopic] = await createTopics("bench-produce-warm", 1);
  const created: string[] = [warmTopic!];
  const seconds: number[][] = runners.map(() => []);
  const cpu: number[][] = runners.map(() => []);
  const brokerCpu: number[][] = runners.map(() => []);
  const failures: string[][] = runners.map(() => []);
  try {
    for (const runner of runners) await runner.warmUp(warmTopic!);
    for (let run = 0; run < RUNS; run++) {
      const topics = await createTopics("bench-produce", runners.length);
      created.push(...topics);
      for (let k = 0; k < runners.length; k++) {
        const which = (k + run) % runners.length;
        const runner = runners[which]!;
        let m: Measurement;
        try {
          m = await runner.timed(topics[which]!);
          await verify(topics[which]!, workload.count, runner.label);
        } catch (error) {
          // Loud, counted, and the exit status says so; the other clients' runs still go on.
          failures[which]!.push(`run ${run + 1}: ${String(error)}`);
          process.exitCode = 1;
          console.log(`  run ${run + 1}: ${runner.label} FAILED: ${String(error)}`);
          continue;
        }
        seconds[which]!.push(m.seconds);
        cpu[which]!.push(m.cpu);
        brokerCpu[which]!.push(m.brokerCpu);
        console.log(`  run ${run + 1}: ${runner.label} ${describeMeasurement(m)}`);
      }
    }
  } finally {
    for (const runner of runners) {
      await runner.close().catch((error: unknown) => console.log(`  ${runner.label}: close failed: ${String(error)}`));
    }
    // Only now: kafkajs's metadata refreshes re-create (auto-create) topics it still knows.
    await deleteTopics(created);
  }
  const rows: Measured[] = runners.map((c, i) => ({ client: c.label, seconds: seconds[i]!, cpu: cpu[i]!, brokerCpu: brokerCpu[i]!,
    ...(failures[i]!.length > 0 ? { note: `${failures[i]!.length} run(s) FAILED` } : {}),
  }));
  printTable(workload, bytes, rows, {
    kafkajs: ["kafkajs", "kafkajs idempotent"],
    "kafkajs idempotent": ["kafkajs idempotent"],
    platformatic: ["platformatic", "platformatic idempotent"],
    "platformatic idempotent": ["platformatic idempotent"],
  });
}

async function main(): Promise<void> {
  await ensureBroker();
  console.log(`tributary bench:produce on ${process.release.name} ${process.version} (${process.arch}), broker ${BROKERS[0]}`);
  console.log(`kafkajs ${versionOf("kafkajs")} (lz4: @2l/kafkajs-lz4 ${versionOf("@2l/kafkajs-lz4")}), @platformatic/kafka ${versionOf("@platformatic/kafka")}`);
  console.log(`acks all everywhere; ${CHUNK} messages per send call, ${INFLIGHT} calls in flight per client; median of ${RUNS} runs after a warm-up`);
  console.log("MB/s: 10^6 bytes of keys+values per second; a ratio uses the faster configuration of the peers it names");
  console.log("CPU µs/rec: the client's process's user+system CPU time per record (GC threads included); broker: the broker JVM's");
  for (const workload of WORKLOADS) await bench(workload);
}

if (RESIDENT_ROLE !== undefined) serveContender(RESIDENT_ROLE);
else await main();
