/**
 * Every client pointed at something that is not a Kafka broker — an HTTP server, a peer answering
 * garbage, a port nobody listens on — gets a typed ConnectionError, not a wait: the producer's
 * send, the partition consumer's `batches()` and `run()`, the group consumer's `run()` and the
 * admin client. (A refused connection is retried, as a restarting broker needs; a consumer that
 * never reached any broker reports it once `retry.deadlineMs` has passed.) Afterwards the process
 * still works: the same code reaches the real broker on 127.0.0.1:9092.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionError, createAdmin, createConsumer, createGroupConsumer, createProducer, failed } from "../../src/entry/node.ts";
import { closedPort, loopbackServer } from "../transport/helpers.ts";

/** Far below what the old behaviour took (the producer waited its 120 s delivery timeout; the consumers never gave up). */
const QUICKLY_MS = 5_000;

type Attempt = (brokers: string[]) => { run: Promise<unknown>; close(): Promise<unknown> };

const clients: Record<string, Attempt> = {
  "producer.send": (brokers) => {
    const producer = createProducer({ brokers, maxBlockMs: 1_000 });
    return { run: producer.send({ topic: "t", messages: [{ value: "v" }] }), close: () => producer.close() };
  },
  "consumer.batches()": (brokers) => {
    const consumer = createConsumer({ brokers, retry: { deadlineMs: 1_000 } });
    consumer.assign([{ topic: "t", partition: 0, offset: 0 }]);
    return {
      run: (async () => {
        for await (const batch of consumer.batches()) return batch;
      })(),
      close: () => consumer.close(),
    };
  },
  "consumer.run()": (brokers) => {
    const consumer = createConsumer({ brokers, retry: { deadlineMs: 1_000 } });
    consumer.assign([{ topic: "t", partition: 0, offset: 0 }]);
    return { run: consumer.run({ eachBatch: () => {} }), close: () => consumer.close() };
  },
  "groupConsumer.run()": (brokers) => {
    const consumer = createGroupConsumer({ brokers, groupId: "g", topics: ["t"], retry: { deadlineMs: 1_000 } });
    return { run: consumer.run({ handler: () => {} }), close: () => consumer.stop() };
  },
  "admin.listTopics()": (brokers) => {
    const admin = createAdmin({ brokers });
    return { run: admin.listTopics(), close: async () => admin.close() };
  },
};

/** Runs `attempt` against `brokers`; resolves with its error and how long it took (or fails the test after QUICKLY_MS). */
async function failureOf(attempt: Attempt, brokers: string[]): Promise<{ error: unknown; ms: number }> {
  const started = performance.now();
  const { run, close } = attempt(brokers);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const outcome = await Promise.race([
      run.then(() => ({ error: new Error("it succeeded") }), (error: unknown) => ({ error })),
      new Promise<{ error: unknown }>((resolve) => (timer = setTimeout(() => resolve({ error: new Error(`still waiting after ${QUICKLY_MS} ms`) }), QUICKLY_MS))),
    ]);
    return { ...outcome, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
    await close().catch(() => {});
  }
}

const servers: Array<{ close(): Promise<void> }> = [];
let httpPort = 0;
let garbagePort = 0;
let nothingPort = 0;

beforeAll(async () => {
  const web = http.createServer((_, response) => response.end("hello"));
  await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
  httpPort = (web.address() as AddressInfo).port;
  servers.push({
    close: () => {
      web.closeAllConnections();
      return new Promise((resolve) => web.close(() => resolve()));
    },
  });
  // Answers every request with a well-formed frame for a correlation id nobody asked for.
  const garbage = await loopbackServer((socket) => socket.on("data", () => socket.write(Uint8Array.of(0, 0, 0, 8, 0x7f, 0x7f, 0x7f, 0x7f, 1, 2, 3, 4))));
  garbagePort = garbage.port;
  servers.push(garbage);
  nothingPort = await closedPort();
});

afterAll(async () => {
  for (const server of servers) await server.close();
});

describe("clients pointed at something that is not a Kafka broker", () => {
  for (const [name, attempt] of Object.entries(clients)) {
    it(`${name}: an HTTP server is a ConnectionError "frame-too-large", at once`, async () => {
      const { error, ms } = await failureOf(attempt, [`127.0.0.1:${httpPort}`]);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).reason).toBe("frame-too-large");
      expect(ms).toBeLessThan(QUICKLY_MS);
    });

    it(`${name}: a peer answering garbage is a ConnectionError "protocol", at once`, async () => {
      const { error } = await failureOf(attempt, [`127.0.0.1:${garbagePort}`]);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).reason).toBe("protocol");
    });
  }

  // The admin client rejects; the producer once `maxBlockMs` has passed without metadata (as
  // Java's does), the consumers once their retry deadline has passed without reaching a broker.
  for (const name of ["producer.send", "consumer.batches()", "consumer.run()", "groupConsumer.run()", "admin.listTopics()"]) {
    it(`${name}: a closed port is a ConnectionError "connect"`, async () => {
      const { error } = await failureOf(clients[name]!, [`127.0.0.1:${nothingPort}`]);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).reason).toBe("connect");
    });
  }

  it("the process is healthy afterwards: the same clients work against the real broker", async () => {
    const brokers = ["127.0.0.1:9092"];
    const admin = createAdmin({ brokers });
    const topic = `tributary-not-kafka-${Date.now()}`;
    try {
      expect(failed(await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }]))).toEqual([]);
      const producer = createProducer({ brokers, maxBlockMs: 1_000 });
      await producer.send({ topic, messages: [{ value: "after the faults" }] });
      await producer.close();
      const consumer = createConsumer({ brokers, maxWaitMs: 100 });
      consumer.assign([{ topic, partition: 0, offset: 0 }]);
      let value = "";
      for await (const record of consumer.records()) {
        value = new TextDecoder().decode(record.value!);
        break;
      }
      await consumer.close();
      expect(value).toBe("after the faults");
    } finally {
      await admin.deleteTopics([topic]).catch(() => {});
      admin.close();
    }
  });
});
