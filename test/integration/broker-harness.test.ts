/**
 * The broker harness (scripts/kafka.sh) gives a real Apache Kafka 4 broker: its port answers a
 * Kafka ApiVersions request with the APIs Tributary will use, including KIP-848's
 * ConsumerGroupHeartbeat that only KRaft brokers of Kafka 4 enable by default.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { probeApiVersions } from "../support/api-versions-probe.ts";
import { brokerConfig, isListening, KAFKA_SCRIPT, kafkaClasspath, REPO_ROOT, SINGLE_BROKER } from "../support/kafka.ts";

const run = promisify(execFile);

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

  it("keeps records of any age: time-based retention is off, so fixed 2023 timestamps in tests survive Kafka's retention check", async () => {
    expect(await brokerConfig("log.retention.ms")).toBe("-1");
  });

  it("manages a broker's whole life idempotently: start, start again, stop, restart on the same data, reset", async () => {
    // A broker of its own (own port and data, the jars shared) so the suite's broker is untouched.
    await kafkaClasspath(); // makes sure the shared jars are fetched
    const home = mkdtempSync(join(tmpdir(), "tributary-kafka-home-"));
    symlinkSync(join(REPO_ROOT, ".kafka", "lib"), join(home, "lib"));
    const env = { ...process.env, TRIBUTARY_KAFKA_HOME: home, KAFKA_PORT: "19392" };
    const script = async (...args: string[]) => {
      try {
        const { stdout, stderr } = await run("bash", [KAFKA_SCRIPT, ...args], { env, cwd: REPO_ROOT });
        return { code: 0, output: stdout + stderr };
      } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string };
        return { code: failed.code, output: failed.stdout + failed.stderr };
      }
    };
    const clusterId = () => readFileSync(join(home, "data", "single", ".formatted"), "utf8").trim();
    try {
      expect((await script("status")).code).toBe(3);
      expect((await script("start")).code).toBe(0);
      expect((await probeApiVersions("127.0.0.1", 19392)).errorCode).toBe(0);
      const firstCluster = clusterId();
      const again = await script("start");
      expect(again.code).toBe(0);
      expect(again.output).toMatch(/already running/);
      expect((await script("status")).output).toMatch(/running, pid \d+, 127\.0\.0\.1:19392/);

      expect((await script("stop")).code).toBe(0);
      expect(await isListening("127.0.0.1", 19392)).toBe(false);
      expect((await script("status")).code).toBe(3);
      expect((await script("stop")).code).toBe(0); // stopping a stopped broker is fine

      expect((await script("start")).code).toBe(0); // restarts on its data: not formatted again
      expect(clusterId()).toBe(firstCluster);
      expect((await script("reset")).code).toBe(0);
      expect(await isListening("127.0.0.1", 19392)).toBe(false);
    } finally {
      await script("stop");
      rmSync(home, { recursive: true, force: true });
    }
  });
});
