/**
 * Node's I/O thread (src/transport/node-io-thread.ts): what it is for — a busy owner thread no
 * longer stalls a large transfer — and its life cycle: its death closes its sockets with a typed
 * error and a new thread takes over; it keeps the process alive exactly while a socket is open.
 * (Framing and misbehaving peers on I/O-thread sockets: connection.test.ts runs every case on both.)
 */
import { execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import * as net from "node:net";
import * as tls from "node:tls";
import * as workerThreads from "node:worker_threads";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConnectionError } from "../../src/errors.ts";
import { Connection } from "../../src/transport/connection.ts";
import { nodeSocketFactory } from "../../src/transport/node.ts";
import { REPO_ROOT } from "../support/kafka.ts";
import { echoFrames, loopbackServer, makeCertificates, nodeSockets, opaqueRequest } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => { for (const cleanup of cleanups.splice(0)) await cleanup(); });

/** The most a TCP socket's kernel buffers may grow to (receive + send), from Linux's limits. */
function kernelSocketBufferBytes(): number {
  try {
    const max = (file: string) => Number(readFileSync(`/proc/sys/net/ipv4/${file}`, "utf8").trim().split(/\s+/)[2]);
    const total = max("tcp_rmem") + max("tcp_wmem");
    return Number.isFinite(total) ? total : 0;
  } catch {
    return 0; // not Linux: the 32 MiB floor below
  }
}

// Far more than the kernel's socket buffers can absorb (autotuned receive buffers grow to 32 MiB
// on some machines), or the control case below would be flushed without being read.
const ANSWER_BYTES = Math.max(32 << 20, 2 * kernelSocketBufferBytes());

/**
 * A server on a thread of its own (so it keeps running while this thread is busy) that answers a
 * request with an `ANSWER_BYTES` frame and reports when its write was handed to the kernel in full. With
 * `tls` (key and certificate) it speaks TLS.
 */
async function bigAnswerServer(tls?: { key: string; cert: string }): Promise<{ port: number; flushedAt: Promise<number> }> {
  const worker = new workerThreads.Worker(String.raw`
    const { parentPort, workerData } = require("node:worker_threads");
    const net = require("node:net");
    const tls = require("node:tls");
    const server = (workerData.tls ? (handler) => tls.createServer(workerData.tls, handler) : net.createServer)((socket) => {
      socket.on("error", () => {});
      socket.once("data", (request) => {
        const frame = Buffer.alloc(8 + workerData.size, 7);
        frame.writeInt32BE(4 + workerData.size, 0);
        request.copy(frame, 4, 8, 12); // the correlation id
        socket.write(frame, () => parentPort.postMessage({ flushedAt: Date.now() }));
      });
    });
    server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port }));
  `, { eval: true, workerData: { size: ANSWER_BYTES, tls } });
  cleanups.push(() => worker.terminate());
  const port = await new Promise<number>((resolve) => worker.once("message", (m: { port: number }) => resolve(m.port)));
  const flushedAt = new Promise<number>((resolve) => worker.once("message", (m: { flushedAt: number }) => resolve(m.flushedAt)));
  return { port, flushedAt };
}

describe("Node's I/O thread", () => {
  it.each([
    { kind: "TCP", secure: false },
    { kind: "TLS", secure: true },
  ])("keeps reading ($kind) while the owner's thread is busy; a socket on the owner's thread stalls the sender", { timeout: 30_000 }, async ({ secure }) => {
    const certs = secure ? makeCertificates() : undefined;
    const busyMs = 3_000; // time enough for the I/O thread to read everything on a loaded machine
    const outcome: Record<string, { flushedWhileBusy: boolean }> = {};
    for (const bulkReads of [true, false]) {
      const { port, flushedAt } = await bigAnswerServer(certs && { key: certs.serverKey, cert: certs.serverCert });
      const connection = await Connection.connect({
        host: "127.0.0.1", port, socketFactory: nodeSockets, bulkReads, maxFrameBytes: 2 * ANSWER_BYTES, tls: certs && { ca: certs.ca },
      });
      cleanups.push(() => connection.close());
      const answer = connection.request(opaqueRequest(), { timeoutMs: 20_000 });
      // Let the request reach the server, then keep this thread from reading anything.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const busyFrom = Date.now();
      while (Date.now() - busyFrom < busyMs);
      const busyUntil = Date.now();
      const frame = await answer;
      expect(frame.length).toBe(4 + ANSWER_BYTES);
      expect(frame[frame.length - 1]).toBe(7);
      outcome[bulkReads ? "I/O thread" : "owner's thread"] = { flushedWhileBusy: (await flushedAt) < busyUntil };
    }
    expect(outcome).toEqual({ "I/O thread": { flushedWhileBusy: true }, "owner's thread": { flushedWhileBusy: false } });
  });

  it("closes its sockets with a ConnectionError when it dies; the next connect starts a new thread", async () => {
    const started: workerThreads.Worker[] = [];
    class WatchedWorker extends workerThreads.Worker {
      constructor(...args: ConstructorParameters<typeof workerThreads.Worker>) {
        super(...args);
        started.push(this);
      }
    }
    const factory = nodeSocketFactory({ net, tls, workerThreads: { Worker: WatchedWorker } });
    const server = await loopbackServer(echoFrames);
    cleanups.push(server.close);
    const closed: unknown[] = [];
    const first = await Connection.connect({ host: "127.0.0.1", port: server.port, socketFactory: factory, bulkReads: true, onClose: (e) => closed.push(e) });
    cleanups.push(() => first.close());
    expect((await first.request(opaqueRequest(new Uint8Array(3)))).length).toBe(7);
    expect(started).toHaveLength(1);

    await started[0]!.terminate();
    await vi.waitFor(() => expect(first.isClosed).toBe(true));
    expect(closed).toHaveLength(1);
    expect(closed[0]).toBeInstanceOf(ConnectionError);
    expect((closed[0] as ConnectionError).message).toContain("I/O thread");
    await expect(first.request(opaqueRequest())).rejects.toBeInstanceOf(ConnectionError);

    const second = await Connection.connect({ host: "127.0.0.1", port: server.port, socketFactory: factory, bulkReads: true });
    cleanups.push(() => second.close());
    expect((await second.request(opaqueRequest(new Uint8Array(5)))).length).toBe(9);
    expect(started).toHaveLength(2);
  });

  it("keeps the process alive while a socket is open, and lets it exit once it is closed", { timeout: 30_000 }, async () => {
    const server = await loopbackServer(echoFrames);
    cleanups.push(server.close);
    const child = join(REPO_ROOT, "test", "transport", "io-thread-child.mjs");

    // Closed: the process ends by itself.
    const { stdout } = await promisify(execFile)(process.execPath, [child, String(server.port), "close"], { timeout: 15_000 });
    expect(stdout).toContain("answered 7 bytes on the I/O thread");

    // Left open: still running a second later.
    const open = spawn(process.execPath, [child, String(server.port), "open"], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<number | null>((resolve) => open.once("exit", (code) => resolve(code)));
    cleanups.push(() => open.kill("SIGKILL"));
    let output = "";
    open.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    await vi.waitFor(() => expect(output).toContain("answered"), { timeout: 10_000 });
    const result = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve("running"), 1_000))]);
    expect(result).toBe("running");
  });
});
