/**
 * The admin client over the broker's SASL listener, wired as the README shows: every new socket
 * of the cluster layer authenticates through the `authenticate` hook before its first request,
 * and a wrong password surfaces as AuthenticationError.
 */
import { describe, expect, it } from "vitest";
import { AuthenticationError, authenticateSasl, createAdmin, saslScramSha512, type SaslMechanism } from "../../src/entry/node.ts";
import { APIS } from "../../src/protocol/generated/index.ts";

const SASL_BROKER = `127.0.0.1:${Number(process.env.KAFKA_SASL_PORT ?? Number(process.env.KAFKA_PORT ?? 9092) + 2)}`;

function adminWith(mechanism: () => SaslMechanism) {
  return createAdmin({
    brokers: [SASL_BROKER],
    clientId: "tributary-sasl-admin-test",
    retry: { deadlineMs: 5_000 },
    authenticate: (c) =>
      authenticateSasl(c.connection, mechanism(), { apiVersions: c.apiVersions, clientId: c.clientId }),
  });
}

describe("admin client over SASL", () => {
  it("authenticates every connection with SCRAM-SHA-512 and works", async () => {
    const admin = adminWith(() => saslScramSha512({ username: "alice", password: "alice-secret" }));
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.map((b) => b.port)).toEqual([Number(SASL_BROKER.split(":")[1])]);
      expect(Array.isArray(await admin.listTopics())).toBe(true);
    } finally {
      admin.close();
    }
  });

  it("re-authenticates a connection in place before its session ends (KIP-368; this listener gives SCRAM-SHA-512 sessions 3 s)", async () => {
    const admin = adminWith(() => saslScramSha512({ username: "alice", password: "alice-secret" }));
    try {
      const nodeId = (await admin.describeCluster()).brokers[0]!.nodeId;
      const connection = admin.cluster.connectionTo(nodeId, "admin");
      // Requests for 8 s on one connection: the broker would close it after 3 s without a new login.
      const until = Date.now() + 8_000;
      let requests = 0;
      while (Date.now() < until) {
        await connection.send(APIS.Metadata, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        requests++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(requests).toBeGreaterThan(50);
      expect(connection.reauthentications).toBeGreaterThanOrEqual(2);
      expect(connection.connectionCount).toBe(1); // never closed and reopened
    } finally {
      admin.close();
    }
  }, 20_000);

  it("reports a wrong password as AuthenticationError", async () => {
    const admin = adminWith(() => saslScramSha512({ username: "alice", password: "wrong" }));
    try {
      await expect(admin.describeCluster()).rejects.toBeInstanceOf(AuthenticationError);
    } finally {
      admin.close();
    }
  });
});
