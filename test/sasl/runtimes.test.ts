/**
 * SCRAM on Web Crypto in Deno and Bun: runs test/sasl/runtime-login.ts (RFC 7677 vector, then
 * SCRAM-SHA-256/512 logins to the real broker's SASL listener over each runtime's own sockets).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/kafka.ts";

const run = promisify(execFile);
const HOST = "127.0.0.1";
const SASL_PORT = String(process.env.KAFKA_SASL_PORT ?? Number(process.env.KAFKA_PORT ?? 9092) + 2);
const script = `${REPO_ROOT}test/sasl/runtime-login.ts`;
const deno = `${REPO_ROOT}node_modules/.bin/deno`;
const bun = `${REPO_ROOT}node_modules/.bin/bun`;

async function login(bin: string, args: string[]) {
  const { stdout } = await run(bin, args, { cwd: REPO_ROOT, timeout: 30_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

const expected = { rfcOk: true, logins: { "SCRAM-SHA-256": "ok", "SCRAM-SHA-512": "ok" } };

describe("SCRAM in other runtimes", () => {
  it.skipIf(!existsSync(deno))("Deno", async () => {
    const result = await login(deno, ["run", "--no-prompt", `--allow-net=${HOST}:${SASL_PORT}`, script, HOST, SASL_PORT]);
    expect(result).toMatchObject(expected);
    expect(result.runtime).toMatch(/^deno /);
  });

  it.skipIf(!existsSync(bun))("Bun", async () => {
    const result = await login(bun, [script, HOST, SASL_PORT]);
    expect(result).toMatchObject(expected);
    expect(result.runtime).toMatch(/^bun /);
  });
});
