/**
 * SASL against the real Kafka 4 broker's SASL_PLAINTEXT listener (scripts/kafka.sh: 127.0.0.1:9094,
 * users in scripts/kafka/sasl.properties). Each login is followed by a Metadata request on the
 * same connection, which the broker answers only once the connection is authenticated.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  authenticate,
  saslMechanism,
  saslOAuthBearer,
  saslPlain,
  saslScramSha256,
  saslScramSha512,
  type SaslMechanism,
} from "../../src/client/sasl/index.ts";
import { AuthenticationError, UnsupportedSaslMechanismError } from "../../src/errors.ts";
import { decodeResponse, encodeRequest } from "../../src/protocol/frame.ts";
import { APIS } from "../../src/protocol/generated/index.ts";
import { Connection } from "../../src/transport/connection.ts";
import { isListening } from "../support/kafka.ts";
import { nodeSockets } from "../transport/helpers.ts";

const HOST = "127.0.0.1";
const SASL_PORT = Number(process.env.KAFKA_SASL_PORT ?? Number(process.env.KAFKA_PORT ?? 9092) + 2);
const ENABLED = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

function connect(): Promise<Connection> {
  return Connection.connect({ host: HOST, port: SASL_PORT, socketFactory: nodeSockets, requestTimeoutMs: 10_000 });
}

async function metadata(connection: Connection) {
  const frame = encodeRequest(APIS.Metadata, 12, 0, "tributary-sasl-test", { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  return decodeResponse(APIS.Metadata, 12, await connection.request(frame.subarray(4))).body;
}

function base64url(value: object): string {
  return btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** An unsecured JWT (alg "none", empty signature), what Kafka's default OAUTHBEARER validator accepts. */
function unsecuredJwt(claims: Record<string, unknown>): string {
  return `${base64url({ alg: "none" })}.${base64url(claims)}.`;
}

async function loginFails(mechanism: SaslMechanism): Promise<Error> {
  const connection = await connect();
  const failure = await authenticate(connection, mechanism).then(() => null, (error: Error) => error);
  expect(failure, `${mechanism.name} should fail`).toBeInstanceOf(AuthenticationError);
  expect(connection.isClosed).toBe(true);
  return failure!;
}

beforeAll(async () => {
  if (!(await isListening(HOST, SASL_PORT))) {
    throw new Error(
      `nothing listens on the SASL port ${HOST}:${SASL_PORT}: the broker was started before the harness had a SASL ` +
        `listener; restart it (npm run kafka -- stop && npm run kafka -- start)`,
    );
  }
});

describe("SASL against the real broker", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const good: [string, () => SaslMechanism][] = [
    ["PLAIN", () => saslPlain({ username: "alice", password: "alice-secret" })],
    ["SCRAM-SHA-256", () => saslScramSha256({ username: "alice", password: "alice-secret" })],
    ["SCRAM-SHA-512", () => saslScramSha512({ username: "bob", password: "bob-secret" })],
    ["OAUTHBEARER", () => saslOAuthBearer({ token: async () => unsecuredJwt({ sub: "carol", iat: now(), exp: now() + 3600 }) })],
  ];

  for (const [name, make] of good) {
    it(`${name}: logs in, then Metadata works on the connection`, async () => {
      const connection = await connect();
      try {
        const result = await authenticate(connection, make());
        expect(result.mechanism).toBe(name);
        expect(result.version).toBe(2);
        expect([...result.enabledMechanisms].sort()).toEqual([...ENABLED].sort());
        const answer = await metadata(connection);
        expect(answer.brokers.map((b) => `${b.host}:${b.port}`)).toEqual([`${HOST}:${SASL_PORT}`]);
      } finally {
        connection.close();
      }
    });
  }

  it("with the caller's ApiVersions answer and a config object (no extra ApiVersions request)", async () => {
    const connection = await connect();
    try {
      const frame = encodeRequest(APIS.ApiVersions, 3, 0, "t", { clientSoftwareName: "tributary", clientSoftwareVersion: "0.1.0" });
      const versions = decodeResponse(APIS.ApiVersions, 3, await connection.request(frame.subarray(4))).body;
      const result = await authenticate(connection, saslMechanism({ mechanism: "scram-sha-512", username: "alice", password: "alice-secret" }), {
        apiVersions: versions.apiKeys,
      });
      expect(result.mechanism).toBe("SCRAM-SHA-512");
      expect((await metadata(connection)).brokers.length).toBe(1);
    } finally {
      connection.close();
    }
  });

  it("a wrong password fails with AuthenticationError (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)", async () => {
    const plain = await loginFails(saslPlain({ username: "alice", password: "wrong" }));
    expect(plain.message).toMatch(/SASL_AUTHENTICATION_FAILED: .*Invalid username or password/);
    const s256 = await loginFails(saslScramSha256({ username: "alice", password: "wrong" }));
    expect(s256.message).toMatch(/SASL_AUTHENTICATION_FAILED: .*invalid credentials with SASL mechanism SCRAM-SHA-256/);
    const s512 = await loginFails(saslScramSha512({ username: "alice", password: "wrong" }));
    expect(s512.message).toMatch(/SCRAM-SHA-512/);
    // An unknown user too.
    await loginFails(saslScramSha256({ username: "mallory", password: "alice-secret" }));
  });

  it("OAUTHBEARER: an expired token, a token without sub and a signed-looking token fail", async () => {
    const expired = await loginFails(saslOAuthBearer({ token: () => unsecuredJwt({ sub: "carol", iat: now() - 7200, exp: now() - 3600 }) }));
    expect(expired.message).toMatch(/OAUTHBEARER/);
    await loginFails(saslOAuthBearer({ token: () => unsecuredJwt({ iat: now(), exp: now() + 3600 }) }));
    await loginFails(saslOAuthBearer({ token: () => "not-a-jwt" }));
  });

  it("SASL on the PLAINTEXT listener fails with AuthenticationError (ILLEGAL_SASL_STATE)", async () => {
    const port = Number(process.env.KAFKA_PORT ?? 9092);
    const connection = await Connection.connect({ host: HOST, port, socketFactory: nodeSockets, requestTimeoutMs: 10_000 });
    const failure = await authenticate(connection, saslPlain({ username: "alice", password: "alice-secret" })).then(() => null, (error: Error) => error);
    expect(failure).toBeInstanceOf(AuthenticationError);
    expect(failure!.message).toMatch(/ILLEGAL_SASL_STATE/);
  });

  it("a mechanism the broker does not enable gives UnsupportedSaslMechanismError listing the enabled ones", async () => {
    const connection = await connect();
    const gssapi: SaslMechanism = { name: "GSSAPI", start: async () => new Uint8Array(0), next: async () => null };
    const failure = await authenticate(connection, gssapi).then(() => null, (error: Error) => error);
    expect(failure).toBeInstanceOf(UnsupportedSaslMechanismError);
    expect((failure as UnsupportedSaslMechanismError).mechanism).toBe("GSSAPI");
    expect([...(failure as UnsupportedSaslMechanismError).enabledMechanisms].sort()).toEqual([...ENABLED].sort());
    for (const name of ENABLED) expect(failure!.message).toContain(name);
  });
});
