/**
 * Vitest global setup: makes sure a real Kafka broker runs on 127.0.0.1:9092 for the suite, and
 * stops it afterwards only if this run started it (a broker a developer started stays up).
 *
 * A broker that has just started answers before all of it is ready: new partitions briefly refuse
 * writes, the producer-id manager and the group coordinator load on first use (and create
 * __consumer_offsets). Warming those paths up once here, with the client's own retries, keeps every
 * test file from racing a cold broker.
 */
import { createAdmin, createProducer } from "../../src/entry/node.ts";
import { isListening, kafkaScript, SINGLE_BROKER } from "./kafka.ts";

let startedHere = false;

export async function setup(): Promise<void> {
  if (!(await isListening(SINGLE_BROKER.host, SINGLE_BROKER.port))) {
    await kafkaScript("start");
    startedHere = true;
  }
  await warmUp();
}

export async function teardown(): Promise<void> {
  if (startedHere) await kafkaScript("stop");
}

async function warmUp(): Promise<void> {
  const brokers = [`${SINGLE_BROKER.host}:${SINGLE_BROKER.port}`];
  const options = { brokers, clientId: "tributary-test-warm-up", retry: { deadlineMs: 60_000 } };
  const admin = createAdmin(options);
  const producer = createProducer({ ...options, retry: undefined, deliveryTimeoutMs: 60_000 });
  try {
    const topic = "tributary-warm-up";
    const [created] = await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]);
    if (created!.error && created!.error.code !== 36 /* TOPIC_ALREADY_EXISTS */) throw created!.error;
    await producer.send({ topic, messages: [{ value: "warm-up" }] }); // idempotent: InitProducerId too
    await admin.fetchGroupOffsets("tributary-warm-up-group"); // group coordinator, __consumer_offsets
  } finally {
    await producer.close().catch(() => undefined);
    admin.close();
  }
}
