/**
 * The SASL mechanisms without a broker: SCRAM against RFC 7677's test vector and a tampered
 * server, PLAIN and OAUTHBEARER message formats, and `authenticate` against a fake broker on
 * loopback (SaslAuthenticate v0, a tampered SCRAM server signature).
 */
import type { Socket as NetSocket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { saslOAuthBearer, saslPlain, saslScram, saslScramSha256, saslScramSha512 } from "../../src/client/sasl/index.ts";
import { authenticate } from "../../src/client/sasl/authenticate.ts";
import { AuthenticationError, UnsupportedSaslMechanismError } from "../../src/errors.ts";
import { decodeRequest, encodeResponse } from "../../src/protocol/frame.ts";
import { APIS } from "../../src/protocol/generated/index.ts";
import { Connection } from "../../src/transport/connection.ts";
import { loopbackServer, nodeSockets } from "../transport/helpers.ts";

const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));
const bytes = (s: string) => new TextEncoder().encode(s);

// RFC 7677, section 3.
const RFC = {
  clientNonce: "rOprNGfwEbeRWgbNEkqO",
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};
const rfcClient = () => saslScramSha256({ username: "user", password: "pencil", clientNonce: RFC.clientNonce });

describe("SCRAM-SHA-256 (RFC 7677 test vector)", () => {
  it("produces the RFC's client messages and accepts its server signature", async () => {
    const scram = rfcClient();
    expect(scram.name).toBe("SCRAM-SHA-256");
    expect(text(await scram.start())).toBe(RFC.clientFirst);
    expect(text(await scram.next(bytes(RFC.serverFirst)))).toBe(RFC.clientFinal);
    expect(await scram.next(bytes(RFC.serverFinal))).toBeNull();
  });

  it("fails on a tampered server signature", async () => {
    const scram = rfcClient();
    await scram.start();
    await scram.next(bytes(RFC.serverFirst));
    const tampered = "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
    await expect(scram.next(bytes(tampered))).rejects.toThrow(/server signature is wrong/);
    const short = rfcClient();
    await short.start();
    await short.next(bytes(RFC.serverFirst));
    await expect(short.next(bytes("v=AAAA"))).rejects.toBeInstanceOf(AuthenticationError);
  });

  it("refuses a bad server-first message: foreign nonce, few iterations, error, garbage", async () => {
    const cases = [
      "r=someoneElsesNonce,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      `r=${RFC.clientNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, // no server part
      `r=${RFC.clientNonce}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000`,
      `r=${RFC.clientNonce}xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999`,
      `r=${RFC.clientNonce}xyz,s=%%%,i=4096`,
      "e=unknown-user",
      "m=mandatory,r=x",
      "hello",
    ];
    for (const serverFirst of cases) {
      const scram = rfcClient();
      await scram.start();
      await expect(scram.next(bytes(serverFirst)), serverFirst).rejects.toBeInstanceOf(AuthenticationError);
    }
  });

  it("reports a server-final error (e=...)", async () => {
    const scram = rfcClient();
    await scram.start();
    await scram.next(bytes(RFC.serverFirst));
    await expect(scram.next(bytes("e=invalid-proof"))).rejects.toThrow(/invalid-proof/);
  });

  it("escapes = and , in the username, adds extensions and draws a random nonce", async () => {
    const first = text(await saslScramSha512({ username: "a=b,c", password: "p", extensions: { tokenauth: "true" } }).start())!;
    expect(first).toMatch(/^n,,n=a=3Db=2Cc,r=[A-Za-z0-9+/]{43}=,tokenauth=true$/);
    const nonces = await Promise.all([1, 2].map(async () => text(await saslScramSha512({ username: "a", password: "p" }).start())!.slice("n,,n=a,r=".length)));
    expect(nonces[0]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(nonces[0]).not.toBe(nonces[1]);
    expect(() => saslScram("SHA-256", { username: "u", password: "p", extensions: { "bad key": "x" } })).toThrow(TypeError);
  });
});

describe("PLAIN and OAUTHBEARER messages", () => {
  it("PLAIN: authzid NUL user NUL password, done on an empty answer", async () => {
    const plain = saslPlain({ username: "alice", password: "s3cret" });
    expect(text(await plain.start())).toBe("\0alice\0s3cret");
    expect(await plain.next(new Uint8Array(0))).toBeNull();
    expect(() => saslPlain({ username: "a\0b", password: "x" })).toThrow(TypeError);
  });

  it("OAUTHBEARER: RFC 7628 initial response with extensions; token callback errors are AuthenticationErrors", async () => {
    const oauth = saslOAuthBearer({ token: async () => ({ value: "abc.def.", extensions: { traceId: "42" } }), extensions: { cluster: "lkc-1" } });
    expect(text(await oauth.start())).toBe("n,,\x01auth=Bearer abc.def.\x01cluster=lkc-1\x01traceId=42\x01\x01");
    expect(await oauth.next(new Uint8Array(0))).toBeNull();

    expect(text(await saslOAuthBearer({ token: () => "t", authorizationId: "bob" }).start())).toBe("n,a=bob,\x01auth=Bearer t\x01\x01");
    await expect(saslOAuthBearer({ token: async () => { throw new Error("idp down"); } }).start()).rejects.toThrow(/idp down/);
    await expect(saslOAuthBearer({ token: async () => "has space" }).start()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(saslOAuthBearer({ token: () => "t", extensions: { auth: "x" } }).start()).rejects.toBeInstanceOf(AuthenticationError);

    // An error challenge is acknowledged with ^A; a further message fails with the broker's JSON.
    const rejected = saslOAuthBearer({ token: () => "t" });
    await rejected.start();
    expect(text(await rejected.next(bytes('{"status":"invalid_token"}')))).toBe("\x01");
    await expect(rejected.next(new Uint8Array(0))).rejects.toThrow(/invalid_token/);
  });
});

/**
 * A fake broker: answers ApiVersions (offering `authenticateVersions`), SaslHandshake (enabling
 * SCRAM-SHA-256 and PLAIN) and SaslAuthenticate with the RFC 7677 server messages, optionally
 * with a tampered server signature.
 */
async function fakeBroker(options: { authenticateVersions: [number, number]; serverFinal: string }) {
  const apis = new Map(Object.values(APIS).map((api) => [api.key, api] as const));
  const seen: string[] = [];
  const server = await loopbackServer((socket: NetSocket) => {
    let buffered = Buffer.alloc(0);
    let round = 0;
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = new Uint8Array(buffered.subarray(4, 4 + buffered.readInt32BE(0)));
        buffered = buffered.subarray(4 + frame.length);
        const { header, api, body } = decodeRequest(apis, frame);
        seen.push(`${api.name} v${header.apiVersion}`);
        const reply = (res: unknown) => socket.write(encodeResponse(api, header.apiVersion, header.correlationId, res));
        if (api === APIS.ApiVersions) {
          reply({
            errorCode: 0, throttleTimeMs: 0,
            apiKeys: [
              { apiKey: 18, minVersion: 0, maxVersion: 4 },
              { apiKey: 17, minVersion: 0, maxVersion: 1 },
              { apiKey: 36, minVersion: options.authenticateVersions[0], maxVersion: options.authenticateVersions[1] },
            ],
            supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false,
          });
        } else if (api === APIS.SaslHandshake) {
          const { mechanism } = body as { mechanism: string };
          reply({ errorCode: mechanism === "SCRAM-SHA-256" ? 0 : 33, mechanisms: ["SCRAM-SHA-256", "PLAIN"] });
        } else if (api === APIS.SaslAuthenticate) {
          const got = text((body as { authBytes: Uint8Array }).authBytes);
          const expected = round === 0 ? RFC.clientFirst : RFC.clientFinal;
          const answer = round === 0 ? RFC.serverFirst : options.serverFinal;
          round++;
          if (got !== expected) reply({ errorCode: 58, errorMessage: "bad proof", authBytes: new Uint8Array(0), sessionLifetimeMs: 0 });
          else reply({ errorCode: 0, errorMessage: null, authBytes: bytes(answer), sessionLifetimeMs: 60_000 });
        }
      }
    });
  });
  return { ...server, seen };
}

describe("authenticate() against a fake broker", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => { await close?.(); close = undefined; });

  it("SCRAM with SaslAuthenticate v0 (the only version offered) completes", async () => {
    const broker = await fakeBroker({ authenticateVersions: [0, 0], serverFinal: RFC.serverFinal });
    close = broker.close;
    const connection = await Connection.connect({ host: "127.0.0.1", port: broker.port, socketFactory: nodeSockets });
    const result = await authenticate(connection, rfcClient());
    expect(result).toMatchObject({ mechanism: "SCRAM-SHA-256", version: 0, sessionLifetimeMs: 0 });
    expect(broker.seen).toEqual(["ApiVersions v3", "SaslHandshake v1", "SaslAuthenticate v0", "SaslAuthenticate v0"]);
    connection.close();
  });

  it("a tampered server signature fails with AuthenticationError and closes the connection", async () => {
    const broker = await fakeBroker({ authenticateVersions: [0, 2], serverFinal: "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=" });
    close = broker.close;
    const connection = await Connection.connect({ host: "127.0.0.1", port: broker.port, socketFactory: nodeSockets });
    const failure = await authenticate(connection, rfcClient()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AuthenticationError);
    expect((failure as Error).message).toMatch(/server signature is wrong/);
    expect(connection.isClosed).toBe(true);
    expect(broker.seen.at(-1)).toBe("SaslAuthenticate v2");
  });

  it("an unknown mechanism gives UnsupportedSaslMechanismError with the broker's list", async () => {
    const broker = await fakeBroker({ authenticateVersions: [0, 2], serverFinal: RFC.serverFinal });
    close = broker.close;
    const connection = await Connection.connect({ host: "127.0.0.1", port: broker.port, socketFactory: nodeSockets });
    const failure = await authenticate(connection, saslScramSha512({ username: "u", password: "p" })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UnsupportedSaslMechanismError);
    expect(failure).toBeInstanceOf(AuthenticationError);
    expect((failure as UnsupportedSaslMechanismError).enabledMechanisms).toEqual(["SCRAM-SHA-256", "PLAIN"]);
  });
});
