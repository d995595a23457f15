/** Reading back what the producer wrote: Fetch through the cluster + the record-batch decoder. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Cluster, decodeRecordBatches, type RecordBatchInfo, type RecordHeader } from "../../src/entry/node.ts";
import { APIS } from "../../src/protocol/generated/index.ts";
import { kafkaClasspath, REPO_ROOT } from "../support/kafka.ts";

export interface ReadRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

export interface ReadPartition {
  records: ReadRecord[];
  batches: RecordBatchInfo[];
}

/** Every record of a partition from offset 0 to the high watermark, and the batches holding them. */
export async function readPartition(cluster: Cluster, topic: string, partition: number): Promise<ReadPartition> {
  const records: ReadRecord[] = [];
  const batches: RecordBatchInfo[] = [];
  let offset = 0;
  for (let rounds = 0; rounds < 10_000; rounds++) {
    const meta = await cluster.metadataFor([topic]);
    const info = meta.topics.get(topic)!;
    const leader = info.partitions[partition]!.leader;
    const response = await cluster.connectionTo(leader, "fetch").send(APIS.Fetch, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 64 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, topicId: info.topicId, partitions: [{
        partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 32 << 20,
      }] }],
      forgottenTopicsData: [], rackId: "",
    });
    const data = response.responses[0]!.partitions[0]!;
    if (data.errorCode !== 0) throw new Error(`fetch ${topic}/${partition}: error ${data.errorCode}`);
    if (offset >= data.highWatermark) break;
    const set = decodeRecordBatches(data.records ?? new Uint8Array());
    for (const batch of set.batches) batches.push(batch);
    for (const r of set) {
      if (r.offset >= offset) records.push({ offset: r.offset, timestamp: r.timestamp, key: r.key && r.key.slice(), value: r.value && r.value.slice(), headers: r.headers.map((h) => ({ key: h.key, value: h.value && h.value.slice() })) });
    }
    if (set.nextOffset === undefined) break;
    offset = set.nextOffset;
    if (offset >= data.highWatermark) break;
  }
  return { records, batches };
}

export const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : new TextDecoder().decode(bytes));

/** Partitions Kafka's Java producer (default partitioner) picks for `keys`, sent to `topic`. */
export async function javaPartitions(topic: string, keys: string[]): Promise<number[]> {
  const classpath = await kafkaClasspath();
  const dir = mkdtempSync(join(tmpdir(), "tributary-java-produce-"));
  try {
    const input = join(dir, "records.jsonl");
    writeFileSync(input, keys.map((key) => JSON.stringify({ key: Buffer.from(key).toString("base64"), value: Buffer.from("java").toString("base64"), headers: [], timestamp: null })).join("\n") + "\n");
    const child = spawn("java", [
      `-Dlog4j2.configurationFile=${REPO_ROOT}scripts/kafka/log4j2-tools.xml`,
      "-cp", classpath, `${REPO_ROOT}test/oracles/RecordBatchOracle.java`,
      "produce", "--topic", topic, "--input", input, "--partition", "auto", "--linger-ms", "5",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const code = await new Promise<number | null>((resolve, reject) => { child.once("error", reject); child.once("close", resolve); });
    if (code !== 0) throw new Error(`RecordBatchOracle produce exited ${code}: ${Buffer.concat(err).toString()}`);
    const lines = Buffer.concat(out).toString().trim().split("\n").map((l) => JSON.parse(l) as { index: number; partition: number });
    return lines.sort((a, b) => a.index - b.index).map((l) => l.partition);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
