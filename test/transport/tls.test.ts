/** The Node transport's TLS path: CA, SNI, wrong CA, mutual TLS, STARTTLS, against a node:tls server on loopback. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer as createTlsServer, type Server as TlsServer, TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { Duplex } from "node:stream";
import { Connection } from "../../src/transport/connection.ts";
import { ConnectionError } from "../../src/errors.ts";
import { echoFrames, loopbackServer, makeCertificates, nodeSockets, opaqueRequest, type Certificates } from "./helpers.ts";

let certs: Certificates;
let server: TlsServer;
let port: number;
const seenServernames: (string | false | null)[] = [];

beforeAll(async () => {
  certs = makeCertificates();
  server = createTlsServer(
    { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true, rejectUnauthorized: false },
    (socket) => {
      seenServernames.push(socket.servername);
      socket.on("error", () => {});
      // Only clients with a certificate from the CA get the framing echo; others a "client-less" frame marker.
      echoFrames(socket);
    },
  );
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const body = new Uint8Array([1, 2, 3]);

describe("TLS (node:tls)", () => {
  it("verifies the server with a CA and sends SNI", async () => {
    const connection = await Connection.connect({
      host: "127.0.0.1", port, socketFactory: nodeSockets, tls: { ca: certs.ca, servername: "kafka.test" },
    });
    expect(Array.from((await connection.request(opaqueRequest(body))).subarray(4))).toEqual([1, 2, 3]);
    expect(seenServernames.at(-1)).toBe("kafka.test");
    connection.close();
  });

  it("verifies an IP address against the certificate's IP SAN (no SNI)", async () => {
    const connection = await Connection.connect({ host: "127.0.0.1", port, socketFactory: nodeSockets, tls: { ca: certs.ca } });
    expect((await connection.request(opaqueRequest(body))).length).toBe(7);
    connection.close();
  });

  it("rejects a certificate from another CA, or for another name, with reason tls", async () => {
    for (const tls of [{ ca: certs.otherCa }, { ca: certs.ca, servername: "other.test" }]) {
      const error = await Connection.connect({ host: "127.0.0.1", port, socketFactory: nodeSockets, tls }).catch((e) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error.reason).toBe("tls");
    }
  });

  it("presents a client certificate (mutual TLS)", async () => {
    const connection = await Connection.connect({
      host: "127.0.0.1", port, socketFactory: nodeSockets,
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey, servername: "kafka.test" },
    });
    await connection.request(opaqueRequest(body));
    connection.close();
  });

  it("upgrades a plain socket (STARTTLS)", { timeout: 10_000 }, async () => {
    const plain = await loopbackServer((socket) => {
      socket.once("data", (chunk: Buffer) => {
        socket.pause();
        if (chunk.length > 1) socket.unshift(chunk.subarray(1));
        // A net.Socket would be wrapped by its handle, bypassing the unshifted bytes (the start of
        // the ClientHello when it came in the same chunk as the cue): wrap it as a plain stream.
        const secure = new TLSSocket(Duplex.from({ readable: socket, writable: socket }), { isServer: true, key: certs.serverKey, cert: certs.serverCert });
        secure.on("error", () => {});
        echoFrames(secure);
        socket.resume();
      });
    });
    const connection = await Connection.connect({ host: "127.0.0.1", port: plain.port, socketFactory: nodeSockets, allowTlsUpgrade: true });
    connection.rawSocket!.write(new Uint8Array([0])); // the server's cue to switch
    await connection.rawSocket!.startTls!({ ca: certs.ca, servername: "kafka.test" });
    expect((await connection.request(opaqueRequest(body))).length).toBe(7);
    connection.close();
    await plain.close();
  });
});
