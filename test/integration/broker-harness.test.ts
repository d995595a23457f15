/**
 * The broker harness (scripts/kafka.sh) gives a real Apache Kafka 4 broker: its port answers a
 * Kafka ApiVersions request with the APIs Tributary will use, including KIP-848's
 * ConsumerGroupHeartbeat that only KRaft brokers of Kafka 4 enable by default.
 */
import { describe, expect, it } from "vitest";
import { probeApiVersions } from "../support/api-versions-probe.ts";
import { isListening, kafkaScript, SINGLE_BROKER } from "../support/kafka.ts";

const API = { produce: 0, fetch: 1, metadata: 3, apiVersions: 18, consumerGroupHeartbeat: 68 } as const;

describe("local Kafka broker (scripts/kafka.sh)", () => {
  it("answers ApiVersions on 127.0.0.1:9092 like Apache Kafka 4", async () => {
    const answer = await probeApiVersions(SINGLE_BROKER.host, SINGLE_BROKER.port);
    expect(answer.correlationId).toBe(0x7c0ffee);
    expect(answer.errorCode).toBe(0);
    const byKey = new Map(answer.apis.map((api) => [api.apiKey, api]));
    for (const key of Object.values(API)) expect(byKey.has(key), `API key ${key}`).toBe(true);
    expect(byKey.get(API.apiVersions)!.maxVersion).toBeGreaterThanOrEqual(3);
    // Kafka 4 dropped Fetch v0-v3 (KIP-896): a 3.x broker would still offer v0.
    expect(byKey.get(API.fetch)!.minVersion).toBeGreaterThanOrEqual(4);
  });

  it("is idempotent: start on a running broker keeps it, status reports it", async () => {
    await kafkaScript("start");
    expect(await kafkaScript("status")).toMatch(/running/);
    expect(await isListening(SINGLE_BROKER.host, SINGLE_BROKER.port)).toBe(true);
  });
});
