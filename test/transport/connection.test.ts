/**
 * Kafka framing and the Node transport: against the real broker (hand-built ApiVersions), and
 * against loopback servers that misbehave — silent, HTTP, garbage, oversized frames, closed ports.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Connection } from "../../src/transport/connection.ts";
import { ConnectionError, TimeoutError } from "../../src/errors.ts";
import { apiVersionsRequest, parseApiVersionsResponse } from "../support/api-versions-probe.ts";
import { SINGLE_BROKER } from "../support/kafka.ts";
import type { SocketFactory } from "../../src/transport/socket.ts";
import { seededRandom } from "../support/random.ts";
import { closedPort, echoFrames, loopbackServer, nodeSockets, opaqueRequest } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function openSocket(port: number, options: Partial<Parameters<typeof Connection.connect>[0]> = {}) {
  const connection = await Connection.connect({ host: "127.0.0.1", port, socketFactory: nodeSockets, ...options });
  cleanups.push(() => connection.close());
  return connection;
}

async function server(onConnection: Parameters<typeof loopbackServer>[0]) {
  const started = await loopbackServer(onConnection);
  cleanups.push(started.close);
  return started;
}

/** ApiVersions v3 without its size prefix, correlation id left for the connection to set. */
const apiVersions = () => apiVersionsRequest(0).subarray(4);
const parse = (frame: Uint8Array) => parseApiVersionsResponse(Buffer.from(frame.buffer, frame.byteOffset, frame.length));

describe("Connection against the real broker", () => {
  it.each([false, true])("answers ApiVersions (bulkReads %s)", async (bulkReads) => {
    const connection = await openSocket(SINGLE_BROKER.port, { bulkReads });
    const answer = parse(await connection.request(apiVersions()));
    expect(answer.errorCode).toBe(0);
    expect(answer.apis.find((api) => api.apiKey === 18)?.maxVersion).toBeGreaterThanOrEqual(3);
  });

  it("matches 100 requests in flight on one connection by correlation id", async () => {
    const connection = await openSocket(SINGLE_BROKER.port);
    const message = apiVersions();
    const frames = await Promise.all(Array.from({ length: 100 }, () => connection.request(message)));
    const ids = frames.map((frame) => parse(frame).correlationId);
    expect(new Set(ids).size).toBe(100);
    expect(frames.every((frame) => parse(frame).errorCode === 0)).toBe(true);
    expect(connection.inFlight).toBe(0);
    // The caller's bytes are never patched.
    expect(Buffer.from(message.subarray(4, 8)).readInt32BE(0)).toBe(0);
  });

  it("measures small round trips (sequential and 64 in flight)", async () => {
    const connection = await openSocket(SINGLE_BROKER.port);
    const message = apiVersions();
    let start = performance.now();
    for (let i = 0; i < 500; i++) await connection.request(message);
    const sequential = 500 / ((performance.now() - start) / 1000);
    start = performance.now();
    let sent = 0;
    await Promise.all(Array.from({ length: 64 }, async () => { while (sent++ < 5000) await connection.request(message); }));
    const pipelined = 5000 / ((performance.now() - start) / 1000);
    console.log(`ApiVersions round trips: ${sequential.toFixed(0)}/s sequential, ${pipelined.toFixed(0)}/s with 64 in flight`);
    expect(pipelined).toBeGreaterThan(0);
  });
});

/**
 * Every case runs twice: sockets read on the calling thread, and sockets opened with `bulkReads`
 * (Fetch connections), which Node's factory opens on its I/O thread (src/transport/node-io-thread.ts)
 * — that thread frames responses itself, so misbehaving peers must be handled there just as well.
 */
describe.each([
  { sockets: "read on the calling thread", bulkReads: false },
  { sockets: "read on Node's I/O thread (bulkReads)", bulkReads: true },
])("Connection failures are typed and quick: sockets $sockets", ({ bulkReads }) => {
  const open = (port: number, options: Partial<Parameters<typeof Connection.connect>[0]> = {}) => openSocket(port, { bulkReads, ...options });

  it("a closed port fails with ConnectionError (reason connect)", async () => {
    const port = await closedPort();
    const start = Date.now();
    const error = await Connection.connect({ host: "127.0.0.1", port, socketFactory: nodeSockets, bulkReads }).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ reason: "connect", host: "127.0.0.1", port });
    expect(error.cause).toBeDefined();
    expect(Date.now() - start).toBeLessThan(1000);
  });

  it("a request to a server that never answers times out; silence closes the connection", async () => {
    const { port } = await server(() => {});
    const closed: unknown[] = [];
    const connection = await open(port, { onClose: (error) => closed.push(error) });
    const other = connection.request(opaqueRequest(), { timeoutMs: 5_000 });
    const start = Date.now();
    const error = await connection.request(opaqueRequest(), { timeoutMs: 150 }).catch((e) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(Date.now() - start).toBeLessThan(1000);
    // Nothing arrived since it was sent: the connection closes and the other request fails with it.
    await expect(other).rejects.toMatchObject({ name: "ConnectionError", reason: "timeout" });
    expect(connection.isClosed).toBe(true);
    expect(closed).toHaveLength(1);
  });

  it("a slow request times out alone while the connection is alive; its late answer is dropped", async () => {
    // Answers every request except the first one, which it answers 300 ms late.
    const { port } = await server((socket) => {
      let held: Buffer | undefined;
      let buffered = Buffer.alloc(0);
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 12) {
          const size = buffered.readInt32BE(0);
          const response = Buffer.alloc(8);
          response.writeInt32BE(4, 0);
          buffered.copy(response, 4, 8, 12);
          buffered = buffered.subarray(4 + size);
          if (!held) { held = response; setTimeout(() => socket.write(held!), 300); }
          else socket.write(response);
        }
      });
    });
    const connection = await open(port);
    const slow = connection.request(opaqueRequest(), { timeoutMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await connection.request(opaqueRequest()); // bytes arrive after the slow request was sent
    await expect(slow).rejects.toBeInstanceOf(TimeoutError);
    expect(connection.isClosed).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the late answer arrives and is dropped
    expect(connection.isClosed).toBe(false);
    expect((await connection.request(opaqueRequest())).length).toBe(4);
  });

  it("an HTTP server on the port is rejected by the frame-size check at once", async () => {
    const { port } = await server((socket) => {
      socket.once("data", () => socket.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
    });
    const connection = await open(port);
    const start = Date.now();
    const error = await connection.request(opaqueRequest()).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.reason).toBe("frame-too-large");
    expect(error.message).toContain(String(0x48545450));
    expect(Date.now() - start).toBeLessThan(500);
    expect(connection.isClosed).toBe(true);
  });

  it("an oversized or negative frame closes the connection with a typed error", async () => {
    for (const size of [1024 + 1, -5]) {
      const { port } = await server((socket) => {
        socket.once("data", () => { const b = Buffer.alloc(8); b.writeInt32BE(size, 0); socket.write(b); });
      });
      const connection = await open(port, { maxFrameBytes: 1024 });
      await expect(connection.request(opaqueRequest())).rejects.toMatchObject({ name: "ConnectionError", reason: "frame-too-large" });
    }
  });

  it("garbage then close fails every pending request with ConnectionError", async () => {
    const { port } = await server((socket) => {
      socket.once("data", () => socket.end(Buffer.from([0, 0, 0, 9, 1, 2])));
    });
    const connection = await open(port);
    const results = await Promise.allSettled([1, 2, 3].map(() => connection.request(opaqueRequest())));
    for (const result of results) {
      expect(result.status).toBe("rejected");
      expect((result as PromiseRejectedResult).reason).toMatchObject({ name: "ConnectionError", reason: "closed" });
    }
    await expect(connection.request(opaqueRequest())).rejects.toBeInstanceOf(ConnectionError);
  });

  it("a response with an unknown correlation id is a protocol error", async () => {
    const { port } = await server((socket) => {
      socket.once("data", () => socket.write(Buffer.from([0, 0, 0, 4, 0x7f, 0, 0, 1])));
    });
    const connection = await open(port);
    await expect(connection.request(opaqueRequest())).rejects.toMatchObject({ reason: "protocol" });
  });

  it("frames split at every byte and coalesced frames are reassembled", async () => {
    const { port } = await server((socket) => {
      let buffered = Buffer.alloc(0);
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < 3 * 12) return;
        const out: Buffer[] = [];
        for (let i = 0; i < 3; i++) {
          const frame = Buffer.alloc(4 + 4 + 1000, i + 1);
          frame.writeInt32BE(4 + 1000, 0);
          buffered.copy(frame, 4, i * 12 + 8, i * 12 + 12);
          out.push(frame);
        }
        const all = Buffer.concat(out);
        // The first frame byte by byte, then the other two in one write.
        let i = 0;
        const drip = () => {
          if (i < 1008) { socket.write(all.subarray(i, i + 1)); i++; setImmediate(drip); }
          else socket.write(all.subarray(1008));
        };
        drip();
      });
    });
    const connection = await open(port);
    const frames = await Promise.all([1, 2, 3].map(() => connection.request(opaqueRequest())));
    frames.forEach((frame, i) => {
      expect(frame.length).toBe(1004);
      expect(frame[1003]).toBe(i + 1);
    });
  });

  it("frames of random bytes around the 64 KiB read size arrive exactly (on the calling thread, read in place by Node's onread)", { timeout: 20_000 }, async () => {
    const rand = seededRandom(4242);
    const sizes = [1, 100, 65_531, 65_532, 65_536, 65_537, 131_072 + 3, 1_000_000, 3 * 1024 * 1024 + 17, 7];
    const bodies = sizes.map((size) => Uint8Array.from({ length: size }, () => Math.floor(rand() * 256)));
    const { port } = await server((socket) => {
      let buffered = Buffer.alloc(0);
      let next = 0;
      let unsent = Buffer.alloc(0);
      let dripping = false;
      const drip = () => {
        dripping = true;
        while (unsent.length > 0) {
          const piece = Math.min(unsent.length, 1 + Math.floor(rand() ** 3 * 300_000));
          socket.write(unsent.subarray(0, piece));
          unsent = unsent.subarray(piece);
          if (rand() < 0.3) return void setTimeout(drip, 1);
        }
        dripping = false;
      };
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        // Each request is 12 bytes (size, api key/version, correlation id, empty client id): answer in order.
        const out: Buffer[] = [];
        while (buffered.length >= 12 && next < bodies.length) {
          const body = bodies[next++]!;
          const frame = Buffer.alloc(8 + body.length);
          frame.writeInt32BE(4 + body.length, 0);
          buffered.copy(frame, 4, 8, 12);
          frame.set(body, 8);
          out.push(frame);
          buffered = buffered.subarray(12);
        }
        // Written in random pieces (1 byte to 300 KiB), some after a pause, so reads end anywhere.
        // One writer at a time: requests may arrive in several reads, and answers must not interleave.
        unsent = Buffer.concat([unsent, ...out]);
        if (!dripping) drip();
      });
    });
    let framesReadInPlace = 0;
    const counting: SocketFactory = (options, handlers) => nodeSockets(options, {
      ...handlers,
      readTarget: () => {
        const target = handlers.readTarget!();
        if (target.length !== 64 * 1024) framesReadInPlace++;
        return target;
      },
    });
    const connection = await open(port, { socketFactory: counting, maxFrameBytes: 8 * 1024 * 1024 });
    const frames = await Promise.all(bodies.map(() => connection.request(opaqueRequest())));
    frames.forEach((frame, i) => {
      expect(frame.length).toBe(4 + sizes[i]!);
      expect(Buffer.compare(frame.subarray(4), bodies[i]!)).toBe(0);
    });
    // The I/O thread reads in place too, into memory of its own, not through the owner's readTarget.
    if (bulkReads) expect(framesReadInPlace).toBe(0);
    else expect(framesReadInPlace).toBeGreaterThan(0);
  });

  it("prefixRoom: a message with room before it goes out in place (size and correlation id written into its buffer)", async () => {
    const { port } = await server(echoFrames);
    const connection = await open(port);
    const body = Uint8Array.from({ length: 5000 }, (_, i) => i % 251);
    const withRoom = new Uint8Array(4 + 8 + body.length);
    withRoom.set(opaqueRequest(body), 4);
    const message = withRoom.subarray(4);
    const answers = await Promise.all([
      connection.request(message.slice(), { prefixRoom: false }),
      connection.request(message, { prefixRoom: true }),
    ]);
    for (const answer of answers) expect(Buffer.compare(answer.subarray(4), message.subarray(8))).toBe(0);
    // Written in place: the size prefix went into the caller's 4 spare bytes.
    expect(new DataView(withRoom.buffer).getInt32(0)).toBe(message.length);
    await expect(connection.request(opaqueRequest(), { prefixRoom: true })).rejects.toThrow(RangeError);
  });

  it("requests without a response resolve once written; a close() fails the rest", async () => {
    const { port } = await server(echoFrames);
    const connection = await open(port);
    await expect(connection.request(opaqueRequest(), { expectResponse: false })).resolves.toBeUndefined();
    const waiting = connection.request(opaqueRequest(new Uint8Array(1))).catch((e) => e);
    connection.close();
    // The echo may win the race; otherwise the request fails with closed-by-client.
    const result = await waiting;
    if (result instanceof Error) expect(result).toMatchObject({ reason: "closed-by-client" });
    await expect(connection.request(opaqueRequest())).rejects.toMatchObject({ reason: "closed-by-client" });
  });

  it("back-pressure: 64 MiB through a slow reader, and a large echo's throughput", async () => {
    const { port } = await server(echoFrames);
    const connection = await open(port, { maxFrameBytes: 64 * 1024 * 1024 + 16 });
    const body = new Uint8Array(16 * 1024 * 1024).fill(7);
    const start = performance.now();
    const frames = await Promise.all([1, 2, 3, 4].map(() => connection.request(opaqueRequest(body), { timeoutMs: 30_000 })));
    const seconds = (performance.now() - start) / 1000;
    expect(frames.every((frame) => frame.length === body.length + 4 && frame[frame.length - 1] === 7)).toBe(true);
    console.log(`large frame echo: ${((4 * 2 * body.length) / 1024 / 1024 / seconds).toFixed(0)} MB/s (sent + received)`);
  });
});
