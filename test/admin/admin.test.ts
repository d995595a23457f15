/** The admin client end to end against the real broker on 127.0.0.1:9092. */
import { afterAll, describe, expect, it } from "vitest";
import { createAdmin, createGroupConsumer, encodeRecordBatch, failed, KafkaProtocolError, kafkaError, throwOnError } from "../../src/entry/node.ts";
import { APIS } from "../../src/protocol/generated/index.ts";

const stamp = Date.now();
const topic = `tributary-admin-${stamp}`;
const second = `tributary-admin-second-${stamp}`;
const group = `tributary-admin-group-${stamp}`;
const admin = createAdmin({ brokers: ["127.0.0.1:9092"], clientId: "tributary-admin-test", retry: { deadlineMs: 10_000 } });

afterAll(async () => {
  await admin.deleteTopics([topic, second]).catch(() => undefined);
  admin.close();
});

async function produce(partition: number, count: number): Promise<number> {
  const batch = encodeRecordBatch(Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `value ${partition}/${i}` })));
  const answer = await admin.cluster.sendToLeader(topic, partition, APIS.Produce, {
    transactionalId: null, acks: -1, timeoutMs: 10_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  }, {
    purpose: "produce",
    retry: false,
    check: (r) => kafkaError(r.responses[0].partitionResponses[0].errorCode, { topic, partition }),
  });
  return answer.responses[0]!.partitionResponses[0]!.baseOffset;
}

describe.sequential("admin client (single broker)", () => {
  it("createTopics: creates with partitions, replication factor and configs, waiting for leaders", async () => {
    const results = await admin.createTopics([
      { topic, numPartitions: 6, replicationFactor: 1, configs: { "retention.ms": "3600000" } },
      { topic: second, numPartitions: 1 },
    ]);
    expect(failed(results)).toEqual([]);
    expect(results[0]).toMatchObject({ topic, numPartitions: 6, replicationFactor: 1, error: null });
    expect(results[0]!.topicId).toMatch(/^[0-9a-f-]{36}$/);
    // Leaders are known at once (waitForLeaders defaults to true).
    const [info] = await admin.describeTopics([topic]);
    expect(info!.partitions.map((p) => p.leader)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it("createTopics: an existing topic is a per-item TOPIC_ALREADY_EXISTS, the rest of the batch still runs", async () => {
    const third = `${second}-third`;
    const results = await admin.createTopics([{ topic, numPartitions: 6 }, { topic: third, numPartitions: 2 }]);
    expect(results[0]!.error).toBeInstanceOf(KafkaProtocolError);
    expect(results[0]!.error).toMatchObject({ errorName: "TOPIC_ALREADY_EXISTS", code: 36, topic, retriable: false });
    expect(results[1]).toMatchObject({ topic: third, error: null });
    expect(() => throwOnError(results)).toThrow(/TOPIC_ALREADY_EXISTS/);
    expect((await admin.deleteTopics([third]))[0]!.error).toBeNull();
  });

  it("listTopics, describeCluster, describeConfigs", async () => {
    const topics = await admin.listTopics();
    expect(topics).toContain(topic);
    expect(topics).not.toContain("__consumer_offsets");
    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toEqual([{ nodeId: 1, host: "127.0.0.1", port: 9092, rack: null }]);
    expect(cluster.controllerId).toBe(1);
    expect(cluster.clusterId).toMatch(/\S{10,}/);
    const [configs, missing] = await admin.describeConfigs([topic, `${topic}-missing`]);
    expect(configs!.error).toBeNull();
    expect(configs!.configs.find((c) => c.name === "retention.ms")).toMatchObject({ value: "3600000", source: 1, isDefault: false });
    expect(configs!.configs.find((c) => c.name === "cleanup.policy")).toMatchObject({ value: "delete", isDefault: true });
    expect(missing!.error).toMatchObject({ errorName: "UNKNOWN_TOPIC_OR_PARTITION" });
  });

  it("listOffsets: earliest, latest and by timestamp per partition", async () => {
    const before = Date.now() - 1;
    expect(await produce(0, 5)).toBe(0);
    expect(await produce(3, 3)).toBe(0);
    const latest = await admin.listOffsets(topic, "latest");
    expect(latest.map((o) => [o.partition, o.offset, o.error])).toEqual([[0, 5, null], [1, 0, null], [2, 0, null], [3, 3, null], [4, 0, null], [5, 0, null]]);
    const earliest = await admin.listOffsets([topic], "earliest");
    expect(earliest.map((o) => o.offset)).toEqual([0, 0, 0, 0, 0, 0]);
    const byTime = await admin.listOffsets([{ topic, partition: 0 }, { topic, partition: 1 }], { timestamp: before });
    expect(byTime.map((o) => [o.partition, o.offset])).toEqual([[0, 0], [1, -1]]);
    const future = await admin.listOffsets([{ topic, partition: 0 }], { timestamp: Date.now() + 3_600_000 });
    expect(future[0]!.offset).toBe(-1);
    const max = await admin.listOffsets([{ topic, partition: 3 }], "max-timestamp");
    expect(max[0]!.offset).toBeGreaterThanOrEqual(0);
  });

  it("listOffsets: an unknown topic or partition is a typed per-item error", async () => {
    const missing = `${topic}-missing`;
    const started = Date.now();
    const results = await admin.listOffsets([missing, { topic, partition: 42 }, { topic, partition: 0 }]);
    expect(Date.now() - started).toBeLessThan(3_000); // not retried until the deadline
    expect(results[0]).toMatchObject({ topic: missing, partition: -1, offset: -1 });
    expect(results[0]!.error).toBeInstanceOf(KafkaProtocolError);
    expect(results[0]!.error).toMatchObject({ errorName: "UNKNOWN_TOPIC_OR_PARTITION", topic: missing });
    expect(results[1]!.error).toMatchObject({ errorName: "UNKNOWN_TOPIC_OR_PARTITION", topic, partition: 42 });
    expect(results[2]).toMatchObject({ topic, partition: 0, offset: 5, error: null });
  });

  it("commit offsets for a group with no members (OffsetCommit via the cluster), then fetchGroupOffsets and lag", async () => {
    const committed = await admin.cluster.sendToCoordinator(group, APIS.OffsetCommit, {
      groupId: group, generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 2, committedMetadata: "m" }, { partitionIndex: 3, committedOffset: 3, committedMetadata: null }] }],
    });
    expect(committed.topics[0]!.partitions.map((p) => p.errorCode)).toEqual([0, 0]);

    const offsets = await admin.fetchGroupOffsets(group);
    expect(offsets.map((o) => [o.topic, o.partition, o.offset, o.metadata, o.error])).toEqual([[topic, 0, 2, "m", null], [topic, 3, 3, "", null]]);
    const all = await admin.fetchGroupOffsets(group, [topic]);
    expect(all.map((o) => o.offset)).toEqual([2, -1, -1, 3, -1, -1]);

    const lag = await admin.computeGroupLag(group);
    expect(lag.partitions.map((p) => [p.partition, p.committed, p.latest, p.lag])).toEqual([[0, 2, 5, 3], [3, 3, 3, 0]]);
    expect(lag.totalLag).toBe(3);
    const full = await admin.computeGroupLag(group, [topic]);
    expect(full.partitions.map((p) => p.lag)).toEqual([3, null, null, 0, null, null]);
    expect(full.totalLag).toBe(3);
  });

  it("listGroups and describeGroups", async () => {
    const { groups, errors } = await admin.listGroups();
    expect(errors).toEqual([]);
    expect(groups.find((g) => g.groupId === group)).toMatchObject({ groupId: group, coordinator: 1, state: "Empty" });
    const [described, unknown] = await admin.describeGroups([group, `${group}-nobody`]);
    expect(described).toMatchObject({ groupId: group, state: "Empty", members: [], coordinator: 1, error: null });
    expect(unknown).toMatchObject({ state: "Dead", error: null });
  });

  it("describeGroups shows the live members of a classic group and of a KIP-848 (consumer protocol) group", async () => {
    const live = [] as Array<{ consumer: ReturnType<typeof createGroupConsumer>; run: Promise<void> }>;
    try {
      for (const groupProtocol of ["classic", "consumer"] as const) {
        const consumer = createGroupConsumer({
          brokers: ["127.0.0.1:9092"], clientId: `tributary-admin-describe-${groupProtocol}`, groupId: `${group}-live-${groupProtocol}`, topics: [topic],
          groupProtocol, maxWaitMs: 100, heartbeatIntervalMs: 300,
        });
        live.push({ consumer, run: consumer.run({ handler: () => {} }) });
      }
      const deadline = Date.now() + 30_000;
      while (live.some(({ consumer }) => consumer.assignment().length !== 6) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const [classic, kip848] = await admin.describeGroups(live.map(({ consumer }) => consumer.groupId));
      expect(classic).toMatchObject({ groupType: "classic", state: "Stable", protocolType: "consumer", protocol: "range", error: null });
      expect(classic!.members.map((m) => [m.memberId, m.clientId])).toEqual([[live[0]!.consumer.memberId, "tributary-admin-describe-classic"]]);
      expect(classic!.members[0]!.memberAssignment.length).toBeGreaterThan(0);
      expect(kip848).toMatchObject({ groupType: "consumer", state: "Stable", protocolType: "consumer", error: null });
      expect(kip848!.members.map((m) => [m.memberId, m.clientId, m.memberEpoch])).toEqual([[live[1]!.consumer.memberId, "tributary-admin-describe-consumer", live[1]!.consumer.generationId]]);
      expect(kip848!.members[0]!.assignment).toEqual(Array.from({ length: 6 }, (_, partition) => ({ topic, partition })));
    } finally {
      for (const { consumer, run } of live) {
        await consumer.stop();
        await run;
      }
    }
    const [classicAfter, kip848After] = await admin.describeGroups(live.map(({ consumer }) => consumer.groupId));
    expect(classicAfter).toMatchObject({ groupType: "classic", state: "Empty", members: [] });
    expect(kip848After).toMatchObject({ groupType: "consumer", state: "Empty", members: [] });
  });

  it("deleteRecords before an offset, then the earliest offset moves", async () => {
    const results = await admin.deleteRecords([{ topic, partition: 0, offset: 2 }, { topic, partition: 9, offset: 0 }]);
    expect(results[0]).toMatchObject({ topic, partition: 0, lowWatermark: 2, error: null });
    expect(results[1]!.error).toMatchObject({ errorName: "UNKNOWN_TOPIC_OR_PARTITION", partition: 9 });
    const [earliest] = await admin.listOffsets([{ topic, partition: 0 }], "earliest");
    expect(earliest!.offset).toBe(2);
    const lag = await admin.computeGroupLag(group);
    expect(lag.partitions[0]).toMatchObject({ partition: 0, committed: 2, latest: 5, lag: 3 });
  });

  it("createPartitions: grows a topic; shrinking is a per-item INVALID_PARTITIONS", async () => {
    const results = await admin.createPartitions([{ topic, count: 8 }, { topic: second, count: 1 }]);
    expect(results[0]).toEqual({ topic, error: null });
    expect(results[1]!.error).toMatchObject({ errorName: "INVALID_PARTITIONS", topic: second });
    // CreatePartitions answers before the new partitions reach the broker's metadata cache: a
    // client sees them within moments, not at once.
    let partitions = 0;
    for (let attempt = 0; attempt < 50 && partitions !== 8; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      partitions = (await admin.describeTopics([topic]))[0]!.partitions.length;
    }
    expect(partitions).toBe(8);
    const latest = await admin.listOffsets(topic, "latest");
    expect(latest.length).toBe(8);
  });

  it("deleteTopics: per-item results, an unknown topic is UNKNOWN_TOPIC_OR_PARTITION", async () => {
    const missing = `${topic}-missing`;
    const results = await admin.deleteTopics([topic, second, missing]);
    expect(results.map((r) => [r.topic, r.error?.errorName ?? null])).toEqual([[topic, null], [second, null], [missing, "UNKNOWN_TOPIC_OR_PARTITION"]]);
    const topics = await admin.listTopics();
    expect(topics).not.toContain(topic);
  });
});
