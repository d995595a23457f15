/** Backoff arithmetic (deterministic random source) and ReconnectingConnection's policy. */
import { afterEach, describe, expect, it } from "vitest";
import { Backoff, backoffCeiling, backoffDelay } from "../../src/transport/backoff.ts";
import { ReconnectingConnection } from "../../src/transport/reconnecting.ts";
import { ConnectionError } from "../../src/errors.ts";
import { SINGLE_BROKER } from "../support/kafka.ts";
import { apiVersionsRequest } from "../support/api-versions-probe.ts";
import { closedPort, echoFrames, loopbackServer, nodeSockets, opaqueRequest } from "./helpers.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => { for (const cleanup of cleanups.splice(0)) await cleanup(); });

describe("backoff", () => {
  it("is capped exponential with full jitter", () => {
    const options = { initialMs: 100, maxMs: 1000, multiplier: 2 };
    expect([0, 1, 2, 3, 4, 10, 5000].map((n) => backoffCeiling(n, options))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(backoffDelay(3, { ...options, random: () => 0.5 })).toBe(400);
    expect(backoffDelay(3, { ...options, random: () => 0 })).toBe(0);
    expect(backoffDelay(3, { ...options, random: () => 0.999999 })).toBe(799);
  });

  it("counts attempts and resets", () => {
    const values = [0.5, 0.5, 0.5, 0.25];
    const backoff = new Backoff({ initialMs: 10, maxMs: 35, random: () => values.shift()! });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([5, 10, 17]);
    expect(backoff.attempts).toBe(3);
    backoff.reset();
    expect(backoff.next()).toBe(2);
  });
});

describe("ReconnectingConnection", () => {
  it("talks to the real broker", async () => {
    const connection = new ReconnectingConnection({ ...SINGLE_BROKER, socketFactory: nodeSockets });
    cleanups.push(() => connection.close());
    const frame = await connection.request(apiVersionsRequest(0).subarray(4));
    expect(frame.length).toBeGreaterThan(10);
  });

  it("reconnects on the next request after the peer drops it, without retrying the failed request", async () => {
    let accepted = 0;
    const server = await loopbackServer((socket) => {
      accepted++;
      if (accepted === 1) socket.once("data", () => socket.destroy()); // drops the first connection mid-request
      else echoFrames(socket);
    });
    cleanups.push(server.close);
    const connection = new ReconnectingConnection({
      host: "127.0.0.1", port: server.port, socketFactory: nodeSockets, backoff: { initialMs: 50, random: () => 1 },
    });
    cleanups.push(() => connection.close());
    // The backoff runs from the failure, not from the next request, so the clock starts before the
    // failing request: anything between its rejection and the next request already counts.
    const start = Date.now();
    await expect(connection.request(opaqueRequest())).rejects.toBeInstanceOf(ConnectionError);
    expect(accepted).toBe(1); // not retried by itself
    expect((await connection.request(opaqueRequest(new Uint8Array(3)))).length).toBe(7);
    // Waited out the backoff (50 ms × random 1); 2 ms of slack for timers that fire early against Date.now().
    expect(Date.now() - start).toBeGreaterThanOrEqual(48);
    expect(connection.connectionCount).toBe(2);
    expect(connection.failures).toBe(0);
  });

  it("never hangs: fails fast when the backoff would outlast the request's timeout", async () => {
    const port = await closedPort();
    const connection = new ReconnectingConnection({
      host: "127.0.0.1", port, socketFactory: nodeSockets, backoff: { initialMs: 10_000, maxMs: 10_000, random: () => 1 },
    });
    cleanups.push(() => connection.close());
    await expect(connection.request(opaqueRequest(), { timeoutMs: 1000 })).rejects.toMatchObject({ reason: "connect" });
    const start = Date.now();
    const error = await connection.request(opaqueRequest(), { timeoutMs: 1000 }).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toContain("not reconnecting");
    expect(Date.now() - start).toBeLessThan(100);
    expect(connection.connectionCount).toBe(1);
  });
});
