/**
 * `tributary consume --group`: a member of a consumer group that commits exactly the records it
 * printed, so consecutive runs continue where the previous one stopped, without gaps or repeats.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, SINGLE_BROKER } from "../support/kafka.ts";
import { runProcess } from "../support/process.ts";

const CLI = join(REPO_ROOT, "dist/cli/main.js");
const BROKERS = `${SINGLE_BROKER.host}:${SINGLE_BROKER.port}`;
const topic = `tributary-cli-group-${Date.now()}`;
const group = `${topic}-group`;
const cli = (args: string[], stdin = "") => runProcess(process.execPath, [CLI, ...args], { stdin });
const lines = (text: string) => text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as { partition: number; offset: number; value: string });

afterAll(async () => {
  await cli(["topics", "delete", "--brokers", BROKERS, "--topic", topic]);
});

describe.sequential("tributary consume --group", () => {
  it("continues where the previous run stopped: --count runs split the topic without gaps or repeats", async () => {
    expect((await cli(["topics", "create", "--brokers", BROKERS, "--topic", topic, "--partitions", "3"])).code).toBe(0);
    const input = Array.from({ length: 50 }, (_, i) => JSON.stringify({ key: `k${i % 9}`, value: `v${i}` })).join("\n");
    expect((await cli(["produce", "--brokers", BROKERS, "--topic", topic], input)).code).toBe(0);

    const first = await cli(["consume", "--brokers", BROKERS, "--topic", topic, "--group", group, "--from", "earliest", "--count", "20"]);
    expect(first.code, first.stderr).toBe(0);
    const second = await cli(["consume", "--brokers", BROKERS, "--topic", topic, "--group", group, "--from", "earliest", "--count", "30"]);
    expect(second.code, second.stderr).toBe(0);
    const a = lines(first.stdout);
    const b = lines(second.stdout);
    expect(a).toHaveLength(20);
    expect(b).toHaveLength(30);
    const values = [...a, ...b].map((r) => r.value).sort();
    expect(values).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`).sort());
    // Per partition, the second run starts at the first offset the first run did not print.
    for (const partition of [0, 1, 2]) {
      const printed = [...a, ...b].filter((r) => r.partition === partition).map((r) => r.offset);
      expect(printed).toEqual(printed.map((_, i) => i));
    }

    const offsets = await cli(["offsets", "--brokers", BROKERS, "--topic", topic, "--group", group]);
    expect(offsets.code, offsets.stderr).toBe(0);
    for (const line of offsets.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { latest: number; committed: number; lag: number })) {
      expect(line.committed).toBe(line.latest);
      expect(line.lag).toBe(0);
    }
  }, 60_000);

  it("with nothing left, --idle-ms ends the run cleanly and commits nothing new", async () => {
    const idle = await cli(["consume", "--brokers", BROKERS, "--topic", topic, "--group", group, "--idle-ms", "1500"]);
    expect(idle).toMatchObject({ code: 0, stdout: "" });
  }, 30_000);

  it("refuses an unknown topic with one line and exit code 2", async () => {
    const result = await cli(["consume", "--brokers", BROKERS, "--topic", `${topic}-missing`, "--group", group, "--count", "1"]);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toContain("does not exist");
  }, 30_000);
});
