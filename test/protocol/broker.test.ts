/** The generated codecs against the real Kafka 4 broker on 127.0.0.1:9092. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeRecordBatches, encodeRecordBatch } from "../../src/entry/node.ts";
import { APIS, type ApiName } from "../../src/protocol/generated/index.ts";
import { negotiateVersions } from "../../src/protocol/versions.ts";
import { BrokerSocket } from "./broker-socket.ts";

const topic = `tributary-protocol-${Date.now()}`;
const group = `tributary-protocol-group-${Date.now()}`;
let broker: BrokerSocket;
let versions: Map<string, number>;
let topicId = "";
const v = (name: ApiName) => versions.get(name)!;

async function retry<T>(attempt: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 50; i++) {
    const value = await attempt();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what}: gave up`);
}

beforeAll(async () => {
  broker = await BrokerSocket.open();
});
afterAll(() => broker?.close());

describe.sequential("against a real Kafka 4 broker", () => {
  it("ApiVersions v3: negotiates a version of every API we define", async () => {
    const answer = await broker.send(APIS.ApiVersions, 3, { clientSoftwareName: "tributary", clientSoftwareVersion: "0.1.0" });
    expect(answer.errorCode).toBe(0);
    const negotiated = negotiateVersions(Object.values(APIS), answer.apiKeys);
    expect([...negotiated.unsupported.keys()]).toEqual([]);
    versions = negotiated.versions;
    expect(v("ApiVersions")).toBe(4);
    expect(v("Fetch")).toBe(APIS.Fetch.maxVersion);
    // The highest version works too.
    const v4 = await broker.send(APIS.ApiVersions, 4, { clientSoftwareName: "tributary", clientSoftwareVersion: "0.1.0" });
    expect(v4.apiKeys.length).toBe(answer.apiKeys.length);
  });

  it("CreateTopics, then Metadata shows the topic with its partitions", async () => {
    const created = await broker.send(APIS.CreateTopics, v("CreateTopics"), {
      topics: [{ name: topic, numPartitions: 3, replicationFactor: 1, assignments: [], configs: [{ name: "cleanup.policy", value: "delete" }] }],
      timeoutMs: 15_000,
      validateOnly: false,
    });
    expect(created.topics[0]).toMatchObject({ name: topic, errorCode: 0, numPartitions: 3 });
    const metadata = await retry(
      () => broker.send(APIS.Metadata, v("Metadata"), { topics: [{ name: topic, topicId: "00000000-0000-0000-0000-000000000000" }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }),
      (m) => m.topics[0]?.errorCode === 0 && m.topics[0].partitions.length === 3 && m.topics[0].partitions.every((p) => p.leaderId >= 0),
      "metadata",
    );
    expect(metadata.brokers.length).toBeGreaterThan(0);
    const t = metadata.topics[0]!;
    expect(t.name).toBe(topic);
    expect(t.partitions.map((p) => p.partitionIndex).sort()).toEqual([0, 1, 2]);
    topicId = t.topicId!;
    expect(topicId).not.toBe("00000000-0000-0000-0000-000000000000");
  });

  it("Produce a record batch, Fetch it back and decode its records", async () => {
    const batch = encodeRecordBatch([{ key: "k1", value: "hello" }, { key: "k2", value: "world", headers: [{ key: "h", value: "1" }] }]);
    // A partition just created may briefly answer NOT_LEADER_OR_FOLLOWER (6) although Metadata
    // already names its leader: nothing was written then, so a client retries, as here.
    const produced = await retry(
      () => broker.send(APIS.Produce, v("Produce"), {
        transactionalId: null, acks: -1, timeoutMs: 10_000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
      }),
      (answer) => answer.responses[0]!.partitionResponses[0]!.errorCode !== 6,
      "produce",
    );
    const partition = produced.responses[0]!.partitionResponses[0]!;
    expect(partition.errorCode).toBe(0);
    expect(partition.baseOffset).toBe(0);

    const fetched = await broker.send(APIS.Fetch, v("Fetch"), {
      maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: "",
    });
    expect(fetched.errorCode).toBe(0);
    const p = fetched.responses[0]!.partitions[0]!;
    expect(p.errorCode).toBe(0);
    expect(p.highWatermark).toBe(2);
    const records = decodeRecordBatches(p.records!);
    expect(records.length).toBe(2);
    const text = new TextDecoder();
    expect([...records].map((r) => [r.offset, text.decode(r.key!), text.decode(r.value!)])).toEqual([[0, "k1", "hello"], [1, "k2", "world"]]);
  });

  it("ListOffsets earliest and latest", async () => {
    const list = (timestamp: number) =>
      broker.send(APIS.ListOffsets, v("ListOffsets"), {
        replicaId: -1, isolationLevel: 0, timeoutMs: 10_000,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
      });
    const earliest = (await list(-2)).topics[0]!.partitions[0]!;
    const latest = (await list(-1)).topics[0]!.partitions[0]!;
    expect([earliest.errorCode, earliest.offset]).toEqual([0, 0]);
    expect([latest.errorCode, latest.offset]).toEqual([0, 2]);
  });

  it("FindCoordinator for a group", async () => {
    const answer = await retry(
      () => broker.send(APIS.FindCoordinator, v("FindCoordinator"), { keyType: 0, coordinatorKeys: [group] }),
      (a) => a.coordinators![0]!.errorCode === 0,
      "coordinator",
    );
    const c = answer.coordinators![0]!;
    expect(c.key).toBe(group);
    expect(c.nodeId).toBeGreaterThanOrEqual(0);
    expect(c.port).toBe(9092);
  });

  it("InitProducerId (idempotent producer)", async () => {
    // Right after a broker starts, the producer-id manager may still be loading
    // (COORDINATOR_LOAD_IN_PROGRESS, retriable): retry as a client would.
    const answer = await retry(
      () => broker.send(APIS.InitProducerId, v("InitProducerId"), { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 }),
      (a) => a.errorCode === 0,
      "producer id",
    );
    expect(answer.errorCode).toBe(0);
    expect(answer.producerId).toBeGreaterThanOrEqual(0);
    expect(answer.producerEpoch).toBe(0);
  });

  it("DescribeConfigs for the topic", async () => {
    const answer = await broker.send(APIS.DescribeConfigs, v("DescribeConfigs"), {
      resources: [{ resourceType: 2, resourceName: topic, configurationKeys: null }], includeSynonyms: false, includeDocumentation: true,
    });
    const result = answer.results[0]!;
    expect(result.errorCode).toBe(0);
    const cleanup = result.configs.find((c) => c.name === "cleanup.policy");
    expect(cleanup?.value).toBe("delete");
    expect(result.configs.length).toBeGreaterThan(20);
  });

  it("every version we support of ApiVersions, Metadata, Fetch, ListOffsets, FindCoordinator, InitProducerId, DescribeConfigs", async () => {
    for (let version = APIS.ApiVersions.minVersion; version <= APIS.ApiVersions.maxVersion; version++) {
      const answer = await broker.send(APIS.ApiVersions, version, { clientSoftwareName: "tributary", clientSoftwareVersion: "0.1.0" });
      expect([version, answer.errorCode, answer.apiKeys.length > 20]).toEqual([version, 0, true]);
    }
    for (let version = APIS.Metadata.minVersion; version <= APIS.Metadata.maxVersion; version++) {
      const answer = await broker.send(APIS.Metadata, version, { topics: [{ name: topic }], allowAutoTopicCreation: false });
      expect([version, answer.topics[0]?.errorCode, answer.topics[0]?.partitions.length]).toEqual([version, 0, 3]);
    }
    for (let version = APIS.Fetch.minVersion; version <= APIS.Fetch.maxVersion; version++) {
      const answer = await broker.send(APIS.Fetch, version, {
        maxWaitMs: 10, minBytes: 1, maxBytes: 1 << 20,
        topics: [{ topic, topicId, partitions: [{ partition: 0, fetchOffset: 1, partitionMaxBytes: 1 << 20 }] }],
      });
      const p = answer.responses[0]!.partitions[0]!;
      expect([version, p.errorCode, p.highWatermark]).toEqual([version, 0, 2]);
      expect([...decodeRecordBatches(p.records!)].filter((r) => r.offset >= 1).map((r) => r.offset)).toEqual([1]);
    }
    for (let version = APIS.ListOffsets.minVersion; version <= APIS.ListOffsets.maxVersion; version++) {
      const answer = await broker.send(APIS.ListOffsets, version, {
        replicaId: -1, isolationLevel: 0, timeoutMs: 10_000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
      });
      expect([version, answer.topics[0]!.partitions[0]!.errorCode, answer.topics[0]!.partitions[0]!.offset]).toEqual([version, 0, 2]);
    }
    for (let version = APIS.FindCoordinator.minVersion; version <= APIS.FindCoordinator.maxVersion; version++) {
      const answer = await broker.send(APIS.FindCoordinator, version, { key: group, keyType: 0, coordinatorKeys: [group] });
      const errorCode = version >= 4 ? answer.coordinators![0]!.errorCode : answer.errorCode;
      expect([version, errorCode]).toEqual([version, 0]);
    }
    for (let version = APIS.InitProducerId.minVersion; version <= APIS.InitProducerId.maxVersion; version++) {
      const answer = await broker.send(APIS.InitProducerId, version, { transactionalId: null, transactionTimeoutMs: 60_000 });
      expect([version, answer.errorCode, answer.producerId >= 0]).toEqual([version, 0, true]);
    }
    for (let version = APIS.DescribeConfigs.minVersion; version <= APIS.DescribeConfigs.maxVersion; version++) {
      const answer = await broker.send(APIS.DescribeConfigs, version, { resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ["cleanup.policy"] }] });
      expect([version, answer.results[0]!.errorCode, answer.results[0]!.configs[0]?.value]).toEqual([version, 0, "delete"]);
    }
  });

  it("DeleteTopics", async () => {
    const answer = await broker.send(APIS.DeleteTopics, v("DeleteTopics"), { topics: [{ name: topic, topicId: "00000000-0000-0000-0000-000000000000" }], timeoutMs: 15_000 });
    expect(answer.responses[0]).toMatchObject({ name: topic, errorCode: 0 });
  });
});
