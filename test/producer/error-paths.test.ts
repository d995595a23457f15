/**
 * NOT_LEADER_OR_FOLLOWER: a proxy socket in front of the real broker turns the first Produce answer
 * into NOT_LEADER_OR_FOLLOWER (although the broker wrote the batch). The producer must refresh its
 * metadata, resend the same batch, and the broker must drop the duplicate: exactly once in the log.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createAdmin, createProducer, failed, type SocketFactory } from "../../src/entry/node.ts";
import { decodeRequest, decodeResponse, encodeResponse } from "../../src/protocol/frame.ts";
import { APIS, type ProduceResponse } from "../../src/protocol/generated/index.ts";
import { nodeSockets } from "../transport/helpers.ts";
import { readPartition, text } from "./helpers.ts";

const BROKERS = ["127.0.0.1:9092"];
const admin = createAdmin({ brokers: BROKERS });
const topic = `tributary-producer-notleader-${Date.now()}`;
afterAll(async () => {
  await admin.deleteTopics([topic]).catch(() => undefined);
  admin.close();
});

/** Real sockets; the first `failProduce` Produce answers are rewritten to NOT_LEADER_OR_FOLLOWER. */
function proxy(failProduce: number, errorCode = 6): { factory: SocketFactory; seen: string[] } {
  const seen: string[] = [];
  const apis = new Map(Object.values(APIS).map((api) => [api.key, api]));
  let failures = failProduce;
  const factory: SocketFactory = async (options, handlers) => {
    const produce = new Map<number, number>(); // correlation id → version
    let buffered = new Uint8Array(0);
    const socket = await nodeSockets(options, {
      onClose: (error) => handlers.onClose(error),
      onData(chunk) {
        const joined = new Uint8Array(buffered.length + chunk.length);
        joined.set(buffered);
        joined.set(chunk, buffered.length);
        buffered = joined;
        while (buffered.length >= 4) {
          const size = new DataView(buffered.buffer, buffered.byteOffset).getInt32(0);
          if (buffered.length < 4 + size) break;
          let frame: Uint8Array = buffered.slice(0, 4 + size);
          buffered = buffered.slice(4 + size);
          const correlationId = new DataView(frame.buffer).getInt32(4);
          const version = produce.get(correlationId);
          if (version !== undefined && failures > 0) {
            failures--;
            const { body } = decodeResponse(APIS.Produce, version, frame.subarray(4));
            const rewritten: ProduceResponse = {
              ...body,
              responses: body.responses.map((t) => ({ ...t, partitionResponses: t.partitionResponses.map((p) => ({ ...p, errorCode, baseOffset: -1 })) })),
            };
            frame = encodeResponse(APIS.Produce, version, correlationId, rewritten);
            seen.push(errorCode === 6 ? "Produce→NOT_LEADER" : `Produce→${errorCode}`);
          }
          handlers.onData(frame);
        }
      },
    });
    return {
      ...socket,
      write(bytes: Uint8Array) {
        const { header, api } = decodeRequest(apis, bytes.subarray(4));
        seen.push(api.name);
        if (api.name === "Produce") produce.set(header.correlationId, header.apiVersion);
        return socket.write(bytes);
      },
      close: () => socket.close(),
    } as typeof socket;
  };
  return { factory, seen };
}

describe("producer error paths (a proxy rewrites broker answers)", () => {
  it("refreshes metadata and resends the same batch; the broker keeps one copy", async () => {
    expect(failed(await admin.createTopics([{ topic, numPartitions: 2 }]))).toEqual([]);
    const { factory, seen } = proxy(1);
    const producer = createProducer({ brokers: BROKERS, socketFactory: factory, retry: { initialMs: 20, maxMs: 100 } });
    const sent = await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}`, partition: i % 2 })) });
    await producer.close();
    expect(sent.map((m) => m.offset)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    const failedAt = seen.indexOf("Produce→NOT_LEADER");
    expect(failedAt).toBeGreaterThan(0);
    const after = seen.slice(failedAt + 1);
    expect(after.indexOf("Metadata")).toBeGreaterThanOrEqual(0);
    expect(after.indexOf("Metadata")).toBeLessThan(after.lastIndexOf("Produce")); // refreshed, then resent
    expect(producer.stats.retries).toBeGreaterThan(0);
    for (let partition = 0; partition < 2; partition++) {
      const { records } = await readPartition(admin.cluster, topic, partition);
      expect(records.map((r) => text(r.value))).toEqual([0, 1, 2, 3, 4].map((i) => `m${i * 2 + partition}`));
    }
  });

  it("OUT_OF_ORDER_SEQUENCE_NUMBER on the first unacknowledged batch fails it with a typed error and starts a new producer id", async () => {
    const { factory } = proxy(1, 45);
    const producer = createProducer({ brokers: BROKERS, socketFactory: factory });
    const error = await producer.send({ topic, messages: [{ value: "gap", partition: 0 }] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "KafkaProtocolError", errorName: "OUT_OF_ORDER_SEQUENCE_NUMBER", topic, partition: 0 });
    const firstId = producer.producerId;
    const [next] = await producer.send({ topic, messages: [{ value: "after", partition: 0 }] });
    expect(producer.stats.producerIdResets).toBe(1);
    expect(producer.producerId).not.toBe(firstId);
    const { records, batches } = await readPartition(admin.cluster, topic, 0);
    expect(text(records.find((r) => r.offset === next!.offset)!.value)).toBe("after");
    expect(batches.at(-1)).toMatchObject({ producerId: producer.producerId, baseSequence: 0 });
    await producer.close();
  });

  it("UNKNOWN_PRODUCER_ID on the first unacknowledged batch: a new producer id, and the batch is resent under it", async () => {
    const { factory } = proxy(1, 59);
    const producer = createProducer({ brokers: BROKERS, socketFactory: factory });
    const [sent] = await producer.send({ topic, messages: [{ value: "resent", partition: 1 }] });
    expect(producer.stats.producerIdResets).toBe(1);
    const { records, batches } = await readPartition(admin.cluster, topic, 1);
    expect(text(records.find((r) => r.offset === sent!.offset)!.value)).toBe("resent");
    expect(batches.at(-1)).toMatchObject({ producerId: producer.producerId, baseSequence: 0 });
    await producer.close();
  });
});

describe("producer ordering on a partition the broker has no state for yet", () => {
  it("keeps one batch in flight until the partition's first batch is acknowledged, so a later batch cannot overtake a failed first one", async () => {
    const fresh = `${topic}-first-batch`;
    expect(failed(await admin.createTopics([{ topic: fresh, numPartitions: 1 }]))).toEqual([]);
    // The first Produce never reaches the broker: the proxy answers it with NOT_LEADER_OR_FOLLOWER
    // itself, as a broker whose log for the partition does not exist yet would. Every later one
    // goes through. A second batch sent before the first is acknowledged would be written first
    // (a broker without state for the producer accepts any first sequence), and the resent first
    // batch would then fail for good with OUT_OF_ORDER_SEQUENCE_NUMBER.
    const apis = new Map(Object.values(APIS).map((api) => [api.key, api]));
    const produceSequences: string[] = [];
    let swallowed = false;
    const factory: SocketFactory = async (options, handlers) => {
      const socket = await nodeSockets(options, handlers);
      return {
        ...socket,
        write(bytes: Uint8Array) {
          const { header, api, body } = decodeRequest(apis, bytes.subarray(4));
          if (api.name === "Produce") {
            const request = body as { topicData: { name: string; partitionData: { index: number; records: Uint8Array | null }[] }[] };
            const batches = request.topicData.flatMap((t) => t.partitionData.map((p) => p.records!));
            const sequences = batches.map((b) => new DataView(b.buffer, b.byteOffset).getInt32(53)).join(",");
            if (!swallowed) {
              swallowed = true;
              produceSequences.push(`swallowed ${sequences}`);
              const answer: ProduceResponse = {
                responses: request.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 6, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 } })) })),
                throttleTimeMs: 0, nodeEndpoints: [],
              };
              // Answered late, as a broker busy creating the log would: time for later batches to be sent.
              setTimeout(() => handlers.onData(encodeResponse(APIS.Produce, header.apiVersion, header.correlationId, answer)), 300);
              return Promise.resolve();
            }
            produceSequences.push(`sent ${sequences}`);
          }
          return socket.write(bytes);
        },
        close: () => socket.close(),
      } as typeof socket;
    };
    // Small batches, several queued at once for the one partition.
    const producer = createProducer({ brokers: BROKERS, socketFactory: factory, batchBytes: 2_048, lingerMs: 0, retry: { initialMs: 20, maxMs: 100 } });
    // Sends arriving while the first request is out: each one lets the producer send again.
    const sends = [];
    for (let chunk = 0; chunk < 10; chunk++) {
      sends.push(producer.send({ topic: fresh, messages: Array.from({ length: 20 }, (_, i) => ({ value: `m${chunk * 20 + i}`.padEnd(100, "."), partition: 0 })) }));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const sent = (await Promise.all(sends)).flat();
    await producer.close();
    expect(sent.map((m) => m.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(produceSequences[0]).toBe("swallowed 0");
    expect(produceSequences[1]).toBe("sent 0"); // the first batch again, before any later one
    const { records } = await readPartition(admin.cluster, fresh, 0);
    expect(records.map((r) => text(r.value)!.replace(/\.+$/, ""))).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
    await admin.deleteTopics([fresh]).catch(() => undefined);
  });
});

describe("producer options it cannot honour are refused when the producer is made", () => {
  it("throws RangeError for bad acks, idempotence without acks all, more than 5 in flight with idempotence, and a bad maxBlockMs", () => {
    const make = (options: Partial<Parameters<typeof createProducer>[0]>) => () => createProducer({ brokers: BROKERS, ...options });
    expect(make({ acks: 2 as 1 })).toThrow(RangeError);
    expect(make({ acks: 1, idempotent: true })).toThrow(RangeError);
    expect(make({ maxInFlight: 6 })).toThrow(RangeError);
    expect(make({ maxBlockMs: Number.NaN })).toThrow(/maxBlockMs/);
    expect(make({ maxBlockMs: -1 })).toThrow(RangeError);
    expect(make({ maxBlockMs: 0, acks: 1, maxInFlight: 6 })).not.toThrow();
  });
});
