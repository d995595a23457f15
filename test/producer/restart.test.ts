/**
 * Idempotence across a broker restart: a broker of this suite's own (own port 19492 and data, the
 * jars shared) is stopped and started again while the producer is sending. Every record must be in
 * the log exactly once, in send order per partition. The shared brokers are never touched.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdmin, createProducer, failed, type RecordMetadata } from "../../src/entry/node.ts";
import { KAFKA_SCRIPT, kafkaClasspath, REPO_ROOT } from "../support/kafka.ts";
import { readPartition, text } from "./helpers.ts";

const run = promisify(execFile);
const PORT = 19492;
const BROKERS = [`127.0.0.1:${PORT}`];
let home = "";
let env: NodeJS.ProcessEnv = {};

async function script(...args: string[]): Promise<void> {
  await run("bash", [KAFKA_SCRIPT, ...args], { env, cwd: REPO_ROOT, maxBuffer: 16 << 20 });
}

beforeAll(async () => {
  await kafkaClasspath();
  home = mkdtempSync(join(tmpdir(), "tributary-producer-kafka-"));
  symlinkSync(join(REPO_ROOT, ".kafka", "lib"), join(home, "lib"));
  env = { ...process.env, TRIBUTARY_KAFKA_HOME: home, KAFKA_PORT: String(PORT) };
  await script("start");
}, 240_000);

afterAll(async () => {
  await script("stop").catch(() => undefined);
  if (home) rmSync(home, { recursive: true, force: true });
}, 120_000);

describe("producer idempotence across a broker restart (own broker on 19492)", () => {
  it("loses and duplicates nothing: every record exactly once, in order per partition", async () => {
    const admin = createAdmin({ brokers: BROKERS, retry: { deadlineMs: 60_000 } });
    const topic = `tributary-producer-restart-${Date.now()}`;
    expect(failed(await admin.createTopics([{ topic, numPartitions: 4, replicationFactor: 1 }]))).toEqual([]);
    const producer = createProducer({ brokers: BROKERS, lingerMs: 2, batchBytes: 16_384, deliveryTimeoutMs: 120_000, requestTimeoutMs: 5_000 });
    const PER_CALL = 50;
    const results: Promise<RecordMetadata[]>[] = [];
    let acked = 0;
    type Phase = "before" | "stopping" | "down" | "starting" | "after";
    let phase = "before" as Phase; // (set by the restart task)
    const sentIn = { before: 0, stopping: 0, down: 0, starting: 0, after: 0 };
    let ackedBeforeStop = -1;
    const restart = (async () => {
      // Let production get going, then stop and restart the broker under it.
      while (results.length < 100) await new Promise((r) => setTimeout(r, 10));
      ackedBeforeStop = acked;
      phase = "stopping";
      await script("stop");
      phase = "down";
      await new Promise((r) => setTimeout(r, 1_000));
      phase = "starting";
      await script("start");
      phase = "after";
    })();
    // Sends a call every ~5 ms before, during and after the restart (and 100 calls more after it).
    let afterCalls = 0;
    for (let call = 0; afterCalls < 100 && call < 5_000; call++) {
      sentIn[phase]++;
      if (phase === "after") afterCalls++;
      results.push(producer.send({
        topic,
        messages: Array.from({ length: PER_CALL }, (_, i) => ({ key: `k${(call * PER_CALL + i) % 64}`, value: `${call * PER_CALL + i}` })),
      }).then((r) => { acked++; return r; }));
      await new Promise((r) => setTimeout(r, 5));
    }
    const CALLS = results.length;
    await restart;
    const sent = (await Promise.all(results)).flat();
    await producer.close();
    expect(phase as Phase).toBe("after");
    expect(sentIn.stopping + sentIn.down + sentIn.starting).toBeGreaterThan(0); // sends while the broker was away
    expect(ackedBeforeStop).toBeLessThan(100);
    console.log(`restart test: ${CALLS * PER_CALL} records; calls sent before/stopping/down/starting/after: ${JSON.stringify(sentIn)}; stats ${JSON.stringify(producer.stats)}`);
    expect(sent).toHaveLength(PER_CALL * CALLS);
    let total = 0;
    for (let partition = 0; partition < 4; partition++) {
      const { records } = await readPartition(admin.cluster, topic, partition);
      const values = records.map((r) => Number(text(r.value)));
      const expected = sent.map((m, i) => ({ m, i })).filter(({ m }) => m.partition === partition).map(({ i }) => i);
      expect(values).toEqual(expected); // exactly once, in send order
      expect(records.map((r) => r.offset)).toEqual(expected.map((_, i) => i));
      total += values.length;
    }
    expect(total).toBe(PER_CALL * CALLS);
    expect(producer.stats.retries).toBeGreaterThan(0);
    admin.close();
  }, 240_000);
});
