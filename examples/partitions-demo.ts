/**
 * npm run demo — where do keys land? Tributary's WebAssembly core computes Kafka's default
 * partition for sample keys; kafkajs (an independent client whose default partitioner is also
 * Java-compatible) then really produces them to the local broker, which reports the partition
 * each record was stored on. The two must agree.
 */
import kafkajs from "kafkajs";
import { murmur2, partitionForKey, partitionsForKeys } from "tributary";

const { Kafka, logLevel, Partitioners } = kafkajs;
const brokers = [process.env.KAFKA_BROKERS ?? "127.0.0.1:9092"];
const topic = "tributary-demo";
const numPartitions = 6;
const sampleKeys = ["user-1", "user-2", "user-3", "order-1001", "order-1002", "customer-42", "ключ", "🦀 crab"];

const kafka = new Kafka({ clientId: "tributary-demo", brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });

try {
  await admin.connect();
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions, replicationFactor: 1 }] });
  }
  const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
  const partitionCount = metadata!.partitions.length;
  await producer.connect();

  console.log(`Topic "${topic}" on ${brokers.join(",")} has ${partitionCount} partitions.\n`);
  console.log(`${"key".padEnd(14)} ${"murmur2".padStart(12)}  tributary  broker (via kafkajs)`);
  let agreed = 0;
  for (const key of sampleKeys) {
    const predicted = partitionForKey(key, partitionCount);
    const [stored] = await producer.send({ topic, messages: [{ key, value: `hello from ${key}` }] });
    const same = stored!.partition === predicted;
    if (same) agreed++;
    console.log(`${key.padEnd(14)} ${String(murmur2(key)).padStart(12)}  ${String(predicted).padStart(9)}  ` +
      `${String(stored!.partition).padStart(6)} @ offset ${stored!.baseOffset}  ${same ? "same" : "DIFFERENT"}`);
  }
  console.log(`\n${agreed} of ${sampleKeys.length} keys landed where the WebAssembly core said.`);

  const manyKeys = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);
  const counts = new Array<number>(partitionCount).fill(0);
  for (const partition of partitionsForKeys(manyKeys, partitionCount)) counts[partition]!++;
  console.log(`\n100,000 keys "user-0".."user-99999" spread over the partitions (one core call):`);
  counts.forEach((count, partition) => {
    console.log(`  partition ${partition}: ${String(count).padStart(6)} ${"#".repeat(Math.round(count / 1000))}`);
  });
  if (agreed !== sampleKeys.length) process.exitCode = 1;
} finally {
  await producer.disconnect();
  await admin.disconnect();
}
