/**
 * The admin client over the broker's SASL listener, wired as the README shows: every new socket
 * of the cluster layer authenticates through the `authenticate` hook before its first request,
 * and a wrong password surfaces as AuthenticationError.
 */
import { describe, expect, it } from "vitest";
import { AuthenticationError, authenticateSasl, createAdmin, saslScramSha512, type SaslMechanism } from "../../src/entry/node.ts";

const SASL_BROKER = `127.0.0.1:${Number(process.env.KAFKA_SASL_PORT ?? Number(process.env.KAFKA_PORT ?? 9092) + 2)}`;

function adminWith(mechanism: () => SaslMechanism) {
  return createAdmin({
    brokers: [SASL_BROKER],
    clientId: "tributary-sasl-admin-test",
    retry: { deadlineMs: 5_000 },
    authenticate: (c) =>
      authenticateSasl(c.connection, mechanism(), { apiVersions: c.apiVersions, clientId: c.clientId }).then(() => {}),
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

  it("reports a wrong password as AuthenticationError", async () => {
    const admin = adminWith(() => saslScramSha512({ username: "alice", password: "wrong" }));
    try {
      await expect(admin.describeCluster()).rejects.toBeInstanceOf(AuthenticationError);
    } finally {
      admin.close();
    }
  });
});
