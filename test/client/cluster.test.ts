/** The broker connection and the cluster layer, against the real broker on 127.0.0.1:9092 and a mock. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerConnection, Cluster, ConnectionError, createAdmin, KafkaProtocolError, kafkaError, TimeoutError, UnsupportedVersionError, type SocketFactory } from "../../src/entry/node.ts";
import { decodeRequest, encodeResponse } from "../../src/protocol/frame.ts";
import { APIS } from "../../src/protocol/generated/index.ts";
import { closedPort } from "../transport/helpers.ts";

const LIVE = "127.0.0.1:9092";

describe("BrokerConnection (real broker)", () => {
  it("greets with ApiVersions, negotiates versions and sends typed requests", async () => {
    const connection = new BrokerConnection({ host: "127.0.0.1", port: 9092, clientId: "tributary-client-test" });
    try {
      const metadata = await connection.send(APIS.Metadata, { topics: [], allowAutoTopicCreation: false });
      expect(metadata.brokers.map((b) => b.nodeId)).toEqual([1]);
      expect(connection.versions.get("Metadata")).toBe(APIS.Metadata.maxVersion);
      expect(connection.versions.get("ApiVersions")).toBe(4);
      expect(connection.isConnected).toBe(true);
      expect(await connection.versionOf(APIS.DeleteTopics)).toBe(6);
      // A request body built for the negotiated version.
      const coordinator = await connection.send(APIS.FindCoordinator, (v) => (v >= 4 ? { keyType: 0, coordinatorKeys: ["g"] } : { key: "g" }));
      expect(coordinator.coordinators[0]?.nodeId).toBe(1);
    } finally {
      connection.close();
    }
    await expect(connection.send(APIS.Metadata, { topics: [] })).rejects.toMatchObject({ name: "ConnectionError", reason: "closed-by-client" });
  });

  it("reconnects (and greets again) after the socket breaks", async () => {
    const connection = new BrokerConnection({ host: "127.0.0.1", port: 9092, backoff: { initialMs: 1, maxMs: 5 } });
    try {
      await connection.connect();
      (connection as unknown as { reconnecting: { connection: { close(): void } } }).reconnecting.connection.close();
      const metadata = await connection.send(APIS.Metadata, { topics: [] });
      expect(metadata.brokers.length).toBe(1);
      expect(connection.connectionCount).toBe(2);
    } finally {
      connection.close();
    }
  });

  it("fails with ConnectionError on a dead address", async () => {
    const port = await closedPort();
    const connection = new BrokerConnection({ host: "127.0.0.1", port, requestTimeoutMs: 2_000 });
    await expect(connection.send(APIS.Metadata, { topics: [] })).rejects.toBeInstanceOf(ConnectionError);
    connection.close();
  });
});

/** A fake broker behind a socket factory: ApiVersions v3+ answered with UNSUPPORTED_VERSION (in v0). */
function mockBroker(): { factory: SocketFactory; seen: { api: string; version: number }[] } {
  const seen: { api: string; version: number }[] = [];
  const apis = new Map(Object.values(APIS).map((api) => [api.key, api]));
  const factory: SocketFactory = async (_options, handlers) => ({
    write(bytes) {
      const { header, api } = decodeRequest(apis, bytes.subarray(4));
      seen.push({ api: api.name, version: header.apiVersion });
      const reply = (frame: Uint8Array) => queueMicrotask(() => handlers.onData(frame));
      if (api.name === "ApiVersions") {
        const keys = [
          { apiKey: 18, minVersion: 0, maxVersion: 2 },
          { apiKey: 3, minVersion: 0, maxVersion: 8 },
        ];
        const body = { errorCode: header.apiVersion > 2 ? 35 : 0, apiKeys: keys, throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false };
        reply(encodeResponse(APIS.ApiVersions, 0, header.correlationId, body));
      } else if (api.name === "Metadata") {
        reply(encodeResponse(APIS.Metadata, header.apiVersion, header.correlationId, {
          throttleTimeMs: 0, brokers: [{ nodeId: 7, host: "mock", port: 1, rack: null }], clusterId: "mock-cluster",
          controllerId: 7, topics: [], clusterAuthorizedOperations: 0,
        }));
      } else if (api.name === "SaslHandshake") {
        reply(encodeResponse(APIS.SaslHandshake, header.apiVersion, header.correlationId, { errorCode: 0, mechanisms: ["PLAIN"] }));
      }
    },
    close() {
      queueMicrotask(() => handlers.onClose());
    },
  });
  return { factory, seen };
}

describe("BrokerConnection (mock broker)", () => {
  it("falls back to ApiVersions v0 on UNSUPPORTED_VERSION, negotiates from that answer and runs the authenticate hook", async () => {
    const { factory, seen } = mockBroker();
    const hook: string[] = [];
    const connection = new BrokerConnection({
      host: "mock", port: 1, socketFactory: factory,
      authenticate: async (ctx) => {
        hook.push(`auth after ${seen.map((s) => `${s.api}v${s.version}`).join(",")}; Metadata v${ctx.versions.get("Metadata")}`);
        const answer = await ctx.send(APIS.SaslHandshake, { mechanism: "PLAIN" }, { version: 1 });
        hook.push(answer.mechanisms.join(","));
      },
    });
    const metadata = await connection.send(APIS.Metadata, { topics: [] });
    expect(metadata.clusterId).toBe("mock-cluster");
    expect(seen.map((s) => `${s.api}v${s.version}`)).toEqual(["ApiVersionsv4", "ApiVersionsv0", "SaslHandshakev1", "Metadatav8"]);
    expect(hook).toEqual(["auth after ApiVersionsv4,ApiVersionsv0; Metadata v8", "PLAIN"]);
    await expect(connection.send(APIS.Fetch, { maxWaitMs: 0, minBytes: 1, topics: [] } as never)).rejects.toBeInstanceOf(UnsupportedVersionError);
    connection.close();
  });
});

describe("Cluster (real broker)", () => {
  const topic = `tributary-cluster-${Date.now()}`;
  let cluster: Cluster;
  const admin = createAdmin({ brokers: [LIVE], clientId: "tributary-cluster-test-admin" });

  beforeAll(async () => {
    const [created] = await admin.createTopics([{ topic, numPartitions: 3, replicationFactor: 1 }]);
    expect(created!.error).toBeNull();
  });
  afterAll(async () => {
    cluster?.close();
    await admin.deleteTopics([topic]);
    admin.close();
  });

  it("bootstraps past a dead address to a live one", async () => {
    const dead = await closedPort();
    cluster = new Cluster({ brokers: [`127.0.0.1:${dead}`, LIVE], clientId: "tributary-cluster-test", connectTimeoutMs: 2_000 });
    const started = Date.now();
    const meta = await cluster.connect();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect([...meta.brokers.values()]).toEqual([{ nodeId: 1, host: "127.0.0.1", port: 9092, rack: null }]);
    expect(meta.controllerId).toBe(1);
    expect(meta.clusterId).toMatch(/\S+/);
  });

  it("survives concurrent first refreshes for different topics (both share, then lose, the bootstrap socket)", async () => {
    for (let round = 0; round < 5; round++) {
      const fresh = new Cluster({ brokers: [LIVE], clientId: "tributary-cluster-race" });
      try {
        const results = await Promise.all([
          fresh.refreshMetadata([topic]),
          fresh.refreshMetadata([`${topic}-absent-${round}`]),
          fresh.refreshMetadata("all"),
        ]);
        expect(results.every((meta) => meta.brokers.size === 1)).toBe(true);
      } finally {
        fresh.close();
      }
    }
  });

  it("fails with a ConnectionError naming every address when none answers", async () => {
    const [a, b] = [await closedPort(), await closedPort()];
    const nobody = new Cluster({ brokers: [`127.0.0.1:${a}`, { host: "127.0.0.1", port: b }], connectTimeoutMs: 1_000 });
    const error = await nobody.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/no broker answered Metadata \(tried 2\)/);
    nobody.close();
  });

  it("caches topic metadata: partitions, leaders and leader epochs", async () => {
    const meta = await cluster.metadataFor([topic]);
    const info = meta.topics.get(topic)!;
    expect(info.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(info.partitions.every((p) => p.leader === 1 && p.leaderEpoch >= 0 && p.replicas.length === 1)).toBe(true);
    expect(info.topicId).not.toBe("00000000-0000-0000-0000-000000000000");
    expect(await cluster.metadataFor([topic])).toBe(meta); // served from the cache
    cluster.invalidateMetadata();
    expect(await cluster.metadataFor([topic])).not.toBe(meta);
    expect(await cluster.leaderFor(topic, 2)).toBe(1);
    await expect(cluster.leaderFor(topic, 3)).rejects.toMatchObject({ errorName: "UNKNOWN_TOPIC_OR_PARTITION", topic, partition: 3 });
    await expect(cluster.leaderFor(`${topic}-missing`, 0)).rejects.toBeInstanceOf(KafkaProtocolError);
  });

  it("routes to a partition leader, any broker, the controller and a group coordinator", async () => {
    const offsets = await cluster.sendToLeader(topic, 1, APIS.ListOffsets, {
      replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: 1, timestamp: -1 }] }],
    });
    expect(offsets.topics[0]!.partitions[0]).toMatchObject({ partitionIndex: 1, errorCode: 0, offset: 0 });
    const any = await cluster.sendToAny(APIS.Metadata, { topics: [] });
    expect(any.brokers.length).toBe(1);
    const controller = await cluster.sendToController(APIS.CreatePartitions, { topics: [{ name: topic, count: 3, assignments: null }], timeoutMs: 5_000, validateOnly: true });
    expect(controller.results[0]!.errorCode).toBe(37); // INVALID_PARTITIONS: already 3
    expect(await cluster.coordinatorFor(`group-${topic}`)).toBe(1);
    const described = await cluster.sendToCoordinator(`group-${topic}`, APIS.DescribeGroups, { groups: [`group-${topic}`] });
    expect(described.groups[0]).toMatchObject({ groupId: `group-${topic}`, errorCode: 0, groupState: "Dead" });
  });

  it("keeps one connection per (broker, purpose): a parked JoinGroup does not hold up other workloads", async () => {
    const fetch = cluster.connectionTo(1, "fetch");
    const group = cluster.connectionTo(1, "group");
    expect(fetch).not.toBe(group);
    expect(cluster.connectionTo(1, "fetch")).toBe(fetch);
    const groupId = `parked-${topic}`;
    const join = (connection: BrokerConnection, memberId: string) =>
      connection.send(APIS.JoinGroup, {
        groupId, sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 1_500, memberId, groupInstanceId: null,
        protocolType: "consumer", protocols: [{ name: "range", metadata: new Uint8Array(0) }], reason: null,
      }, { timeoutMs: 15_000 });
    const joinTwice = async (connection: BrokerConnection) => {
      const first = await join(connection, "");
      expect(first.errorCode).toBe(79); // MEMBER_ID_REQUIRED
      return join(connection, first.memberId);
    };
    // Member A joins and leads; member B's join then waits for A to rejoin (A never does: it is
    // dropped after its 1.5 s rebalance timeout).
    const other = new BrokerConnection({ host: "127.0.0.1", port: 9092 });
    try {
      expect((await joinTwice(other)).errorCode).toBe(0);
      const joinStarted = Date.now();
      const parked = joinTwice(group).then((answer) => ({ answer, ms: Date.now() - joinStarted }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = Date.now();
      const offsets = await fetch.send(APIS.ListOffsets, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -2 }] }] });
      expect(offsets.topics[0]!.partitions[0]!.errorCode).toBe(0);
      expect(Date.now() - started).toBeLessThan(500);
      const { answer, ms } = await parked;
      expect(answer.errorCode).toBe(0);
      expect(ms).toBeGreaterThan(1_000); // it really was parked
    } finally {
      other.close();
    }
  });

  it("routeByLeader: FENCED_LEADER_EPOCH refreshes metadata and retries only the failed partitions", async () => {
    const before = (await cluster.metadataFor([topic])).updatedAt;
    const sent: number[][] = [];
    const items = [0, 1, 2].map((partition) => ({ topic, partition }));
    const results = await cluster.routeByLeader(items, async (nodeId, share) => {
      sent.push(share.map((s) => s.partition));
      return new Map(share.map((s) => [
        `${s.topic}:${s.partition}`,
        sent.length === 1 && s.partition === 1
          ? { ok: false as const, error: kafkaError(74, s)! }
          : { ok: true as const, value: nodeId },
      ]));
    }, { initialMs: 5, maxMs: 10 });
    expect(sent).toEqual([[0, 1, 2], [1]]);
    expect([...results.values()].map((r) => r.ok)).toEqual([true, true, true]);
    expect(cluster.metadata!.updatedAt).toBeGreaterThanOrEqual(before);
    expect(cluster.metadata!.updatedAt).not.toBe(before);
  });

  it("sendToCoordinator: NOT_COORDINATOR forgets the coordinator and finds it again", async () => {
    const groupId = `coordinated-${topic}`;
    let calls = 0;
    const answer = await cluster.sendToCoordinator(groupId, APIS.DescribeGroups, { groups: [groupId] }, {
      retry: { initialMs: 5, maxMs: 10 },
      check: () => (++calls === 1 ? kafkaError(16, { message: "moved" }) : null),
    });
    expect(calls).toBe(2);
    expect(answer.groups[0]!.groupId).toBe(groupId);
  });

  it("check: turns error codes into typed errors and retries the retriable ones", async () => {
    let attempts = 0;
    const missing = `${topic}-missing`;
    const error = await cluster.sendToAny(APIS.Metadata, { topics: [{ name: missing }], allowAutoTopicCreation: false }, {
      retry: { deadlineMs: 600, initialMs: 10, maxMs: 50 },
      check: (r) => {
        attempts++;
        return r.topics[0].errorCode ? new KafkaProtocolError({ code: 3, errorName: "UNKNOWN_TOPIC_OR_PARTITION", retriable: true, message: "x", topic: missing }) : null;
      },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "KafkaProtocolError", errorName: "UNKNOWN_TOPIC_OR_PARTITION", topic: missing });
    expect(attempts).toBeGreaterThan(2);
    // Not retriable: one attempt.
    attempts = 0;
    await expect(cluster.sendToAny(APIS.Metadata, { topics: [] }, {
      check: () => {
        attempts++;
        return new KafkaProtocolError({ code: 29, errorName: "TOPIC_AUTHORIZATION_FAILED", retriable: false, message: "no" });
      },
    })).rejects.toMatchObject({ errorName: "TOPIC_AUTHORIZATION_FAILED" });
    expect(attempts).toBe(1);
  });

  it("retry(): backs off, retries timeouts and broken connections, stops at the deadline", async () => {
    let calls = 0;
    const value = await cluster.retry(async () => {
      if (++calls < 3) throw new TimeoutError("slow", 1);
      return "done";
    }, { initialMs: 5, maxMs: 10 });
    expect([value, calls]).toEqual(["done", 3]);
    const started = Date.now();
    calls = 0;
    await expect(cluster.retry(async () => {
      calls++;
      throw new ConnectionError({ host: "h", port: 1, reason: "closed", message: "gone" });
    }, { deadlineMs: 300, initialMs: 20, maxMs: 40 })).rejects.toBeInstanceOf(ConnectionError);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(calls).toBeGreaterThan(2);
  });

  it("close() closes every connection", async () => {
    const spare = new Cluster({ brokers: [LIVE] });
    await spare.connect();
    const connection = spare.connectionTo(1, "produce");
    await connection.connect();
    spare.close();
    expect(connection.isClosed).toBe(true);
    await expect(spare.sendToAny(APIS.Metadata, { topics: [] })).rejects.toMatchObject({ reason: "closed-by-client" });
  });
});
