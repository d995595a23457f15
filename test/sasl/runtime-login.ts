/**
 * Web Crypto parity outside Node: run by test/sasl/runtimes.test.ts under Deno and Bun (straight
 * from the TypeScript sources). Checks SCRAM-SHA-256 against RFC 7677's vector, then logs in to the
 * broker's SASL listener with SCRAM-SHA-256 and SCRAM-SHA-512 over the runtime's own sockets and
 * sends ApiVersions on the authenticated connection. Prints one JSON line.
 *
 *   deno run --allow-net=127.0.0.1:9094 test/sasl/runtime-login.ts 127.0.0.1 9094
 *   bun test/sasl/runtime-login.ts 127.0.0.1 9094
 */
import { authenticate } from "../../src/client/sasl/authenticate.ts";
import { saslScramSha256, saslScramSha512 } from "../../src/client/sasl/scram.ts";
import { decodeResponse, encodeRequest } from "../../src/protocol/frame.ts";
import { APIS } from "../../src/protocol/generated/index.ts";
import { Connection } from "../../src/transport/connection.ts";
import { bunSocketFactory } from "../../src/transport/bun.ts";
import { denoSocketFactory } from "../../src/transport/deno.ts";
import type { SocketFactory } from "../../src/transport/socket.ts";

const g = globalThis as unknown as { Deno?: { args: string[]; version: { deno: string } }; Bun?: { argv: string[]; version: string } };
const args = g.Deno ? g.Deno.args : g.Bun!.argv.slice(2);
const runtime = g.Deno ? `deno ${g.Deno.version.deno}` : `bun ${g.Bun!.version}`;
const socketFactory: SocketFactory = g.Deno ? denoSocketFactory() : bunSocketFactory();
const [host = "127.0.0.1", port = "9094"] = args;

const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const rfc = saslScramSha256({ username: "user", password: "pencil", clientNonce: "rOprNGfwEbeRWgbNEkqO" });
await rfc.start();
const clientFinal = text(await rfc.next(new TextEncoder().encode("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")));
const rfcOk = clientFinal === "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
  && (await rfc.next(new TextEncoder().encode("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))) === null;

const logins: Record<string, string> = {};
for (const mechanism of [saslScramSha256({ username: "alice", password: "alice-secret" }), saslScramSha512({ username: "bob", password: "bob-secret" })]) {
  const connection = await Connection.connect({ host, port: Number(port), socketFactory, requestTimeoutMs: 10_000 });
  try {
    await authenticate(connection, mechanism);
    const frame = encodeRequest(APIS.ApiVersions, 3, 0, "t", { clientSoftwareName: "tributary", clientSoftwareVersion: "0.1.0" });
    const answer = decodeResponse(APIS.ApiVersions, 3, await connection.request(frame.subarray(4))).body;
    logins[mechanism.name] = answer.errorCode === 0 ? "ok" : `ApiVersions error ${answer.errorCode}`;
  } catch (error) {
    logins[mechanism.name] = `${(error as Error).name}: ${(error as Error).message}`;
  } finally {
    connection.close();
  }
}
console.log(JSON.stringify({ runtime, rfcOk, logins }));
