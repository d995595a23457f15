/**
 * `scripts/kafka.sh start --cluster` gives three real brokers forming one KRaft quorum, on ports
 * of their own (later issues test failover on it). kafkajs, an independent client, sees all three
 * and can place a topic's replicas across them.
 */
import kafkajs from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeApiVersions } from "../support/api-versions-probe.ts";
import { CLUSTER_BROKERS, isListening, kafkaScript } from "../support/kafka.ts";

const { Kafka, logLevel } = kafkajs;
let startedHere = false;

beforeAll(async () => {
  const running = await Promise.all(CLUSTER_BROKERS.map(({ host, port }) => isListening(host, port)));
  if (running.every(Boolean)) return;
  await kafkaScript("start", "--cluster");
  startedHere = true;
});

afterAll(async () => {
  if (startedHere) await kafkaScript("stop", "--cluster");
});

describe("3-broker cluster (scripts/kafka.sh start --cluster)", () => {
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
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 3 }] });
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      for (const partition of metadata!.partitions) {
        expect(partition.replicas.sort()).toEqual([1, 2, 3]);
      }
      await admin.deleteTopics({ topics: [topic] });
    } finally {
      await admin.disconnect();
    }
  });
});
