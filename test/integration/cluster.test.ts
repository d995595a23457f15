/**
 * The 3-broker cluster (scripts/kafka.sh start --cluster): the harness gives three real brokers
 * forming one KRaft quorum on ports of their own, and Tributary's cluster layer routes and fails
 * over on it. Started here unless it runs already, and stopped afterwards only if started here.
 * One node is killed (SIGKILL of its JVM, by its pid file) and brought back by `start --cluster`,
 * which starts only the nodes that are not running.
 *
 * Everything that uses the cluster lives in this one file, run in order: test files run in
 * parallel, and two files starting, stopping or killing the same cluster would trip each other.
 */
import { readFileSync } from "node:fs";
import kafkajs from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdmin, failed, kafkaError, type Admin, type TopicPartition } from "../../src/entry/node.ts";
import { APIS } from "../../src/protocol/generated/index.ts";
import { probeApiVersions } from "../support/api-versions-probe.ts";
import { CLUSTER_BROKERS, isListening, kafkaScript, REPO_ROOT } from "../support/kafka.ts";

const { Kafka, logLevel } = kafkajs;

const topic = `tributary-failover-${Date.now()}`;
let startedHere = false;
let killed: number | undefined;
let admin: Admin;

beforeAll(async () => {
  const running = await Promise.all(CLUSTER_BROKERS.map(({ host, port }) => isListening(host, port)));
  if (!running.every(Boolean)) {
    await kafkaScript("start", "--cluster");
    startedHere = true;
  }
  admin = createAdmin({
    brokers: CLUSTER_BROKERS.map(({ host, port }) => `${host}:${port}`),
    clientId: "tributary-failover-test",
    connectTimeoutMs: 2_000,
    requestTimeoutMs: 5_000,
    retry: { deadlineMs: 30_000, initialMs: 100, maxMs: 1_000 },
  });
});

afterAll(async () => {
  await admin?.deleteTopics([topic]).catch(() => undefined);
  admin?.close();
  if (startedHere) await kafkaScript("stop", "--cluster");
  else if (killed !== undefined) await kafkaScript("start", "--cluster"); // bring the killed node back
});

describe.sequential("3-broker cluster: the harness (independent checks with kafkajs)", () => {
  it("answers ApiVersions on each broker's port", async () => {
    for (const { host, port } of CLUSTER_BROKERS) {
      const answer = await probeApiVersions(host, port);
      expect(answer.errorCode, `${host}:${port}`).toBe(0);
      expect(answer.apis.length).toBeGreaterThan(20);
    }
  });

  it("forms one cluster: all brokers known, a topic replicated on all three", async () => {
    const kafka = new Kafka({
      clientId: "tributary-cluster-test",
      brokers: CLUSTER_BROKERS.map(({ host, port }) => `${host}:${port}`),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.map((broker) => broker.nodeId).sort()).toEqual([1, 2, 3]);
      expect(cluster.brokers.map((broker) => broker.port).sort()).toEqual([19092, 19093, 19094]);
      const topic = `replicated-${Date.now()}`;
      // kafkajs's own waitForLeaders gives up on the UNKNOWN_TOPIC_OR_PARTITION a freshly started
      // cluster answers while the topic propagates; wait for it here instead, as a client would.
      await admin.createTopics({ waitForLeaders: false, topics: [{ topic, numPartitions: 3, replicationFactor: 3 }] });
      let metadata: Awaited<ReturnType<typeof admin.fetchTopicMetadata>>["topics"][number] | undefined;
      for (let attempt = 0; attempt < 100 && !metadata; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
        metadata = await admin.fetchTopicMetadata({ topics: [topic] }).then(
          (answer) => answer.topics[0]?.partitions.length === 3 && answer.topics[0].partitions.every((p) => p.leader >= 0) ? answer.topics[0] : undefined,
          () => undefined,
        );
      }
      expect(metadata, "the topic's partitions and leaders").toBeDefined();
      for (const partition of metadata!.partitions) {
        expect(partition.replicas.sort()).toEqual([1, 2, 3]);
      }
      await admin.deleteTopics({ topics: [topic] });
    } finally {
      await admin.disconnect();
    }
  });
});

describe.sequential("cluster layer on 3 brokers", () => {
  it("discovers three brokers; a replicated topic's leaders spread over them", async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.map((b) => [b.nodeId, b.port])).toEqual([[1, 19092], [2, 19093], [3, 19094]]);
    const created = await admin.createTopics([{ topic, numPartitions: 6, replicationFactor: 3 }]);
    expect(failed(created)).toEqual([]);
    const [info] = await admin.describeTopics([topic]);
    expect(info!.partitions.every((p) => [...p.replicas].sort().join() === "1,2,3")).toBe(true);
    expect(new Set(info!.partitions.map((p) => p.leader))).toEqual(new Set([1, 2, 3]));
  });

  it("routes each partition's request to its leader (by broker id); a non-leader says NOT_LEADER_OR_FOLLOWER", async () => {
    const meta = await admin.cluster.metadataFor([topic]);
    const leaders = new Map(meta.topics.get(topic)!.partitions.map((p) => [p.partition, p.leader]));
    const calls: { nodeId: number; partitions: number[] }[] = [];
    const items: TopicPartition[] = [...leaders.keys()].map((partition) => ({ topic, partition }));
    await admin.cluster.routeByLeader(items, async (nodeId, share) => {
      calls.push({ nodeId, partitions: share.map((s) => s.partition) });
      return new Map(share.map((s) => [`${s.topic}:${s.partition}`, { ok: true as const, value: nodeId }]));
    });
    expect(calls.length).toBe(3);
    for (const call of calls) for (const partition of call.partitions) expect(call.nodeId).toBe(leaders.get(partition));

    // Produce one record per partition through sendToLeader: each leader accepts it (a leader that
    // has not caught up with its election yet answers NOT_LEADER_OR_FOLLOWER, which is retried).
    for (const [partition, leader] of leaders) {
      const connection = admin.cluster.connectionTo(leader, "produce");
      const before = connection.connectionCount;
      const batch = (await import("../../src/entry/node.ts")).encodeRecordBatch([{ key: `p${partition}`, value: "x" }]);
      const answer = await admin.cluster.sendToLeader(topic, partition, APIS.Produce, {
        acks: -1, timeoutMs: 10_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
      }, { purpose: "produce", check: (r) => kafkaError(r.responses[0].partitionResponses[0].errorCode, { topic, partition }) });
      expect(answer.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);
      expect(connection.connectionCount).toBeGreaterThanOrEqual(Math.max(1, before));
      // A broker that is not the leader refuses.
      const other = [1, 2, 3].find((id) => id !== leader)!;
      const refused = await admin.cluster.sendToBroker(other, APIS.ListOffsets, {
        replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1 }] }],
      });
      expect(refused.topics[0]!.partitions[0]!.errorCode).toBe(6);
    }
    const latest = await admin.listOffsets(topic, "latest");
    expect(latest.map((o) => [o.offset, o.error])).toEqual(Array.from({ length: 6 }, () => [1, null]));
  });

  it("after a broker dies, metadata refresh finds the new leaders within the retry deadline", async () => {
    const meta = await admin.cluster.metadataFor([topic], { refresh: true });
    const victim = meta.topics.get(topic)!.partitions[0]!.leader;
    const pid = Number(readFileSync(`${REPO_ROOT}.kafka/run/cluster-${victim}.pid`, "utf8").trim());
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGKILL");
    killed = victim;
    const started = Date.now();
    // Routed through the stale cache first: connection errors to the dead leader, then
    // LEADER_NOT_AVAILABLE/NOT_LEADER until the controller fences it (broker session timeout, 9 s).
    const latest = await admin.listOffsets(topic, "latest");
    const elapsed = Date.now() - started;
    expect(latest.map((o) => [o.partition, o.offset, o.error])).toEqual(Array.from({ length: 6 }, (_, i) => [i, 1, null]));
    expect(elapsed).toBeLessThan(30_000);
    const after = admin.cluster.metadata!;
    expect(after.brokers.has(victim)).toBe(false);
    const leaders = after.topics.get(topic)!.partitions.map((p) => p.leader);
    expect(leaders.every((l) => l !== victim && l > 0)).toBe(true);
    // The partition the victim led moved to a live broker, with a newer leader epoch.
    const p0 = after.topics.get(topic)!.partitions[0]!;
    expect(p0.leaderEpoch).toBeGreaterThan(meta.topics.get(topic)!.partitions[0]!.leaderEpoch);
    console.log(`failover: new leaders found ${elapsed} ms after killing broker ${victim}`);
  });
});
