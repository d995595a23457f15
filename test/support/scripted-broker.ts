/**
 * A partition consumer whose cluster is replaced by a scripted broker: topic "t" with
 * `partitions` partitions, all led by broker 1, and every Fetch answered by `answer` per requested
 * partition, 5 ms later. For the cases a real broker will not produce on demand (corrupt batches,
 * errors in a given order, fetch-ahead timing). Close the consumer after the test.
 */
import { createConsumer, type Consumer, type ConsumerOptions } from "../../src/entry/node.ts";
import type { FetchRequest, FetchResponse } from "../../src/protocol/generated/index.ts";

export const SCRIPTED_TOPIC = "t";

export type FetchAnswer = Partial<FetchResponse["responses"][number]["partitions"][number]>;

export interface ScriptedBroker {
  consumer: Consumer;
  /** Every Fetch request, in the order sent (copies). */
  requests: FetchRequest[];
  /** How often the consumer invalidated its metadata. */
  invalidations(): number;
  /** The most Fetch requests that were in flight at once (counted when the `from`th and later ones were sent). */
  peakInFlight(from?: number): number;
}

export function scriptedConsumer(setup: {
  partitions: number;
  /** The answer for one partition of the `n`th request (0-based); the defaults fill the rest. */
  answer: (partition: number, fetchOffset: number, request: FetchRequest, n: number) => FetchAnswer;
  /** The partitions' high watermark and last stable offset unless the answer says otherwise. */
  highWatermark: number;
  options?: Partial<ConsumerOptions>;
}): ScriptedBroker {
  const consumer = createConsumer({ brokers: ["fake:9092"], maxWaitMs: 100, ...setup.options });
  const requests: FetchRequest[] = [];
  let invalidations = 0;
  let inFlight = 0;
  /** In flight right after each request was sent, itself included. */
  const inFlightAtSend: number[] = [];
  const meta = {
    clusterId: "fake", controllerId: 1, updatedAt: Date.now(),
    brokers: new Map([[1, { nodeId: 1, host: "fake", port: 9092, rack: null }]]),
    topics: new Map([[SCRIPTED_TOPIC, {
      name: SCRIPTED_TOPIC, topicId: "00000000-0000-0000-0000-000000000001", isInternal: false,
      partitions: Array.from({ length: setup.partitions }, (_, partition) => ({ partition, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1], offlineReplicas: [], errorCode: 0 })),
    }]]),
  };
  const cluster = consumer.cluster as any;
  cluster.connect = async () => meta;
  cluster.metadataFor = async () => meta;
  cluster.invalidateMetadata = () => void invalidations++;
  cluster.connectionTo = () => ({
    send: async (_api: unknown, request: FetchRequest) => {
      const n = requests.push(structuredClone(request)) - 1;
      const partitions = request.topics.map((t) => t.partitions.map((p) => ({
        partitionIndex: p.partition, errorCode: 0, highWatermark: setup.highWatermark, lastStableOffset: setup.highWatermark, logStartOffset: 0,
        abortedTransactions: null, preferredReadReplica: -1, records: null, ...setup.answer(p.partition, p.fetchOffset, request, n),
      })));
      inFlightAtSend[n] = ++inFlight;
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      const response: FetchResponse = {
        throttleTimeMs: 0, errorCode: 0, sessionId: 0, nodeEndpoints: [],
        responses: partitions.map((p) => ({ topic: SCRIPTED_TOPIC, topicId: "", partitions: p })),
      };
      return response;
    },
  });
  return { consumer, requests, invalidations: () => invalidations, peakInFlight: (from = 0) => Math.max(0, ...inFlightAtSend.slice(from)) };
}
