/**
 * The `tributary` CLI (dist/cli/main.js, the package's bin) against the real broker: topics,
 * produce from JSON lines on stdin, consume to JSON lines, offsets; and its errors: one line on
 * stderr, a non-zero exit, and nothing lost that was accepted before a bad line.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, SINGLE_BROKER } from "../support/kafka.ts";
import { type ProcessResult, runProcess } from "../support/process.ts";

const CLI = join(REPO_ROOT, "dist/cli/main.js");
const BROKERS = `${SINGLE_BROKER.host}:${SINGLE_BROKER.port}`;
const topic = `tributary-cli-${Date.now()}`;
const binaryTopic = `${topic}-binary`;

function cli(args: string[], stdin = ""): Promise<ProcessResult> {
  return runProcess(process.execPath, [CLI, ...args], { stdin });
}

const lines = (text: string) => text.split("\n").filter(Boolean).map((line) => JSON.parse(line));

afterAll(async () => {
  await cli(["topics", "delete", "--brokers", BROKERS, "--topic", topic]);
  await cli(["topics", "delete", "--brokers", BROKERS, "--topic", binaryTopic]);
});

describe.sequential("tributary CLI", () => {
  const sent = Array.from({ length: 300 }, (_, i) => ({
    key: i % 10 === 0 ? null : `key-${i % 7}`,
    value: `value ${i} ✓ ключ`,
    headers: i % 3 === 0 ? { trace: [`t${i}`, `u${i}`], empty: null } : {},
  }));

  it("creates and lists topics", async () => {
    const created = await cli(["topics", "create", "--brokers", BROKERS, "--topic", topic, "--partitions", "4", "--config", "retention.ms=3600000"]);
    expect(created).toMatchObject({ code: 0, stderr: "" });
    expect(lines(created.stdout)).toEqual([{ topic, partitions: 4, replicationFactor: 1 }]);
    const listed = await cli(["topics", "list", "--brokers", BROKERS]);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split("\n")).toContain(topic);
  });

  it("produces JSON lines from stdin and consumes them back, in order per key", async () => {
    const produced = await cli(["produce", "--brokers", BROKERS, "--topic", topic, "--compression", "lz4"], sent.map((r) => JSON.stringify(r)).join("\n") + "\n");
    expect(produced, produced.stderr).toMatchObject({ code: 0 });
    const consumed = await cli(["consume", "--brokers", BROKERS, "--topic", topic, "--from", "earliest", "--count", String(sent.length)]);
    expect(consumed.code, consumed.stderr).toBe(0);
    const got = lines(consumed.stdout);
    expect(got.length).toBe(sent.length);
    for (const record of got) {
      expect(Object.keys(record)).toEqual(["topic", "partition", "offset", "timestamp", "key", "value", "headers"]);
    }
    const strip = (r: { key: string | null; value: string; headers: object }) => ({ key: r.key, value: r.value, headers: r.headers });
    const byValue = (a: { value: string }, b: { value: string }) => a.value.localeCompare(b.value);
    expect(got.map(strip).sort(byValue)).toEqual(sent.map(strip).sort(byValue));
    // Records of one key keep their order (same partition, increasing offsets).
    const byKey = new Map<string, number[]>();
    for (const record of got.sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
      if (record.key === null) continue;
      byKey.set(record.key, [...(byKey.get(record.key) ?? []), Number(record.value.split(" ")[1])]);
    }
    for (const sequence of byKey.values()) expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
  });

  it("round-trips arbitrary bytes with --binary", async () => {
    await cli(["topics", "create", "--brokers", BROKERS, "--topic", binaryTopic, "--partitions", "1"]);
    const records = Array.from({ length: 20 }, () => ({
      key: randomBytes(8).toString("base64"), value: randomBytes(300).toString("base64"), headers: { b: randomBytes(5).toString("base64") },
    }));
    const produced = await cli(["produce", "--brokers", BROKERS, "--topic", binaryTopic, "--binary"], records.map((r) => JSON.stringify(r)).join("\n"));
    expect(produced.code, produced.stderr).toBe(0);
    const consumed = await cli(["consume", "--brokers", BROKERS, "--topic", binaryTopic, "--from", "earliest", "--count", "20", "--binary"]);
    expect(lines(consumed.stdout).map(({ key, value, headers }) => ({ key, value, headers }))).toEqual(records);
  });

  it("prints offsets per partition, and a group's lag", async () => {
    const answer = await cli(["offsets", "--brokers", BROKERS, "--topic", topic, "--group", `${topic}-nobody`]);
    expect(answer.code, answer.stderr).toBe(0);
    const rows = lines(answer.stdout);
    expect(rows.map((r) => r.partition)).toEqual([0, 1, 2, 3]);
    expect(rows.reduce((sum, r) => sum + r.latest - r.earliest, 0)).toBe(sent.length);
    expect(rows.every((r) => r.committed === -1 && r.lag === null)).toBe(true);
  });

  it("stops at a bad line with one error line and exit 1, delivering the lines before it", async () => {
    const before = lines((await cli(["offsets", "--brokers", BROKERS, "--topic", topic])).stdout);
    const input = [JSON.stringify({ key: "k", value: "ok 1" }), JSON.stringify({ key: "k", value: "ok 2" }), "{not json", JSON.stringify({ value: "never" })].join("\n");
    const answer = await cli(["produce", "--brokers", BROKERS, "--topic", topic], input);
    expect(answer.code).toBe(1);
    expect(answer.stderr.trim().split("\n")).toHaveLength(1);
    expect(answer.stderr).toMatch(/^tributary: RecordLineError: stdin line 3: not JSON/);
    const after = lines((await cli(["offsets", "--brokers", BROKERS, "--topic", topic])).stdout);
    const total = (rows: Array<{ latest: number }>) => rows.reduce((sum, r) => sum + r.latest, 0);
    expect(total(after) - total(before)).toBe(2);
  });

  it("--acks 1 and 0 deliver; --from latest reads only what comes after it, with progress on stderr; topics delete removes the topic", async () => {
    const acksTopic = `${topic}-acks`;
    expect((await cli(["topics", "create", "--brokers", BROKERS, "--topic", acksTopic, "--partitions", "1"])).code).toBe(0);
    const input = (prefix: string) => Array.from({ length: 5 }, (_, i) => JSON.stringify({ value: `${prefix}-${i}` })).join("\n");
    for (const acks of ["1", "0"]) {
      const produced = await cli(["produce", "--brokers", BROKERS, "--topic", acksTopic, "--acks", acks], input(`acks${acks}`));
      expect(produced, produced.stderr).toMatchObject({ code: 0 });
    }
    // acks 0 gets no answer: wait for the broker to have written them.
    const latest = async () => lines((await cli(["offsets", "--brokers", BROKERS, "--topic", acksTopic])).stdout)[0]!.latest as number;
    for (let i = 0; i < 50 && (await latest()) < 10; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await latest()).toBe(10);

    // A consumer from "latest" that waits past the progress interval (2 s) before its records come.
    const consuming = cli(["consume", "--brokers", BROKERS, "--topic", acksTopic, "--from", "latest", "--count", "2"]);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await cli(["produce", "--brokers", BROKERS, "--topic", acksTopic], input("late"))).code).toBe(0);
    const consumed = await consuming;
    expect(consumed.code, consumed.stderr).toBe(0);
    expect(lines(consumed.stdout).map((r) => [r.offset, r.value])).toEqual([[10, "late-0"], [11, "late-1"]]);
    expect(consumed.stderr).toMatch(/^consumed 2 records in \d+\.\d s \(\d+ records\/s\)$/m);

    const deleted = await cli(["topics", "delete", "--brokers", BROKERS, "--topic", acksTopic]);
    expect(deleted, deleted.stderr).toMatchObject({ code: 0 });
    const listed = async () => (await cli(["topics", "list", "--brokers", BROKERS])).stdout.split("\n");
    for (let i = 0; i < 50 && (await listed()).includes(acksTopic); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await listed()).not.toContain(acksTopic);
  });

  it("fails fast and clearly when no broker answers, or the command line is wrong", async () => {
    const started = Date.now();
    const dead = await cli(["topics", "list", "--brokers", "127.0.0.1:1", "--timeout-ms", "2000"]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/^tributary: ConnectionError: .*127\.0\.0\.1:1/);
    const typo = await cli(["consume", "--brokers", BROKERS, "--topic", topic, "--cout", "5"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown option --cout/);
    const missing = await cli(["consume", "--brokers", BROKERS, "--topic", `${topic}-missing`, "--count", "1"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist/);
    expect((await cli(["bogus"])).code).toBe(2);
  });
});
