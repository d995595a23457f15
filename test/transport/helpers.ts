/** Loopback servers and certificates for the transport tests. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket as NetSocket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as net from "node:net";
import * as tls from "node:tls";
import * as workerThreads from "node:worker_threads";
import { nodeSocketFactory } from "../../src/transport/node.ts";

/** Node's sockets as the entry point sets them up: `bulkReads` sockets on the I/O thread. */
export const nodeSockets = nodeSocketFactory({ net, tls, workerThreads });

/** A TCP server on 127.0.0.1 with a handler per connection; resolves with its port. */
export async function loopbackServer(onConnection: (socket: NetSocket) => void): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const sockets = new Set<NetSocket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    server,
    close: () => {
      sockets.forEach((socket) => socket.destroy());
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on (bound then released). */
export async function closedPort(): Promise<number> {
  const { port, close } = await loopbackServer(() => {});
  await close();
  return port;
}

export interface Certificates {
  ca: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
  otherCa: string;
  /** A client certificate (and its key) signed by the other CA. */
  otherClientKey: string;
  otherClientCert: string;
}

/**
 * A CA, a server certificate for `serverName` (default kafka.test) and 127.0.0.1, and a client
 * certificate, from openssl; and another CA with a client certificate of its own. Keys are PKCS#8.
 */
export function makeCertificates(serverName = "kafka.test"): Certificates {
  const dir = mkdtempSync(join(tmpdir(), "tributary-tls-"));
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  try {
    const newCa = (name: string) =>
      ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${name}`);
    newCa("ca");
    newCa("other-ca");
    const leaf = (name: string, ext: string, ca = "ca") => {
      ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
      writeFileSync(join(dir, `${name}.ext`), ext);
      ssl("x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`);
    };
    leaf("server", `subjectAltName=DNS:${serverName},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
    leaf("client", "extendedKeyUsage=clientAuth\n");
    leaf("other-client", "extendedKeyUsage=clientAuth\n", "other-ca");
    const read = (file: string) => readFileSync(join(dir, file), "utf8");
    return {
      ca: read("ca.pem"), otherCa: read("other-ca.pem"),
      serverKey: read("server.key"), serverCert: read("server.pem"),
      clientKey: read("client.key"), clientCert: read("client.pem"),
      otherClientKey: read("other-client.key"), otherClientCert: read("other-client.pem"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Answers every Kafka-framed request with a frame holding its correlation id and the request's bytes after the header. */
export function echoFrames(socket: NetSocket): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const size = buffered.readInt32BE(0);
      if (buffered.length < 4 + size) break;
      const request = buffered.subarray(4, 4 + size);
      const response = Buffer.alloc(8 + size - 8);
      response.writeInt32BE(size - 4, 0);
      request.copy(response, 4, 4, 8); // correlation id
      request.copy(response, 8, 8);
      socket.write(response);
      buffered = buffered.subarray(4 + size);
    }
  });
}

/** A request header (api key 18, version 3, correlation id 0 — the connection patches it) and a body. */
export function opaqueRequest(body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const message = new Uint8Array(8 + body.length);
  new DataView(message.buffer).setInt16(0, 18);
  new DataView(message.buffer).setInt16(2, 3);
  message.set(body, 8);
  return message;
}
