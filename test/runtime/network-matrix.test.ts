/**
 * The runtime network matrix: Node 20, Node 24, Bun, Deno and workerd each import the package as
 * their users do, connect to the real broker through the default transport their entry point
 * registers (node:net, Bun.connect, Deno.connect, cloudflare:sockets) and get ApiVersions answers.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, SINGLE_BROKER } from "../support/kafka.ts";

const run = promisify(execFile);
const bin = (path: string) => join(REPO_ROOT, "node_modules", path);
const here = join(REPO_ROOT, "test", "runtime");
const { host, port } = SINGLE_BROKER;
const scratchDirs: string[] = [];

afterAll(() => scratchDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

async function smoke(command: string, args: string[]) {
  const { stdout } = await run(command, args, { cwd: REPO_ROOT, timeout: 60_000 });
  const line = stdout.split("\n").reverse().find((text) => text.startsWith("{"));
  if (!line) throw new Error(`no result from ${command} ${args.join(" ")}:\n${stdout}`);
  return JSON.parse(line);
}

function expectAnswered(result: { runtime: string }, runtimePrefix: string) {
  expect(result.runtime.startsWith(runtimePrefix), result.runtime).toBe(true);
  expect({ ...result, runtime: "" }).toEqual({
    runtime: "", distinctIds: 20, errorCodes: [0], apiCountPositive: true, refused: "ConnectionError:connect",
  });
}

function consumerProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "tributary-net-consumer-"));
  scratchDirs.push(dir);
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(REPO_ROOT, join(dir, "node_modules", "tributary"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", dependencies: { tributary: "*" } }));
  writeFileSync(join(dir, "deno.json"), JSON.stringify({ nodeModulesDir: "manual" }));
  for (const file of ["run-network-node.js", "run-network-deno.js", "network-smoke.js"]) copyFileSync(join(here, file), join(dir, file));
  return dir;
}

function listJs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listJs(path);
    return entry.name.endsWith(".js") ? [path] : [];
  });
}

/** A workerd config whose worker may reach local addresses (a network service as globalOutbound). */
function workerdConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), "tributary-net-workerd-"));
  scratchDirs.push(dir);
  for (const folder of ["dist", "wasm"]) symlinkSync(join(REPO_ROOT, folder), join(dir, folder));
  symlinkSync(here, join(dir, "runtime"));
  const distModules = listJs(join(REPO_ROOT, "dist"))
    .map((file) => relative(REPO_ROOT, file))
    .filter((name) => !name.startsWith("dist/entry/") || name === "dist/entry/workerd.js");
  const modules = [
    `(name = "run-network-workerd.js", esModule = embed "runtime/run-network-workerd.js")`,
    `(name = "network-smoke.js", esModule = embed "runtime/network-smoke.js")`,
    ...distModules.map((name) => `(name = "${name}", esModule = embed "${name}")`),
    `(name = "wasm/tributary_core.wasm", wasm = embed "wasm/tributary_core.wasm")`,
  ];
  const config = join(dir, "config.capnp");
  writeFileSync(config, `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [
  (name = "main", worker = .networkWorker),
  (name = "internet", network = (allow = ["local", "public"])),
]);
const networkWorker :Workerd.Worker = (
  modules = [\n    ${modules.join(",\n    ")}\n  ],
  bindings = [(name = "KAFKA_HOST", text = "${host}"), (name = "KAFKA_PORT", text = "${port}")],
  globalOutbound = "internet",
  compatibilityDate = "2025-09-01",
);
`);
  return config;
}

describe("runtime network matrix (real broker, each runtime's default transport)", () => {
  const consumer = consumerProject();
  const target = [host, String(port)];

  it("Node 20 (node:net)", async () => {
    expectAnswered(await smoke(bin("node20/bin/node"), [join(consumer, "run-network-node.js"), ...target]), "node v20.");
  });

  it("Node 24 (node:net)", async () => {
    expectAnswered(await smoke(bin("node24/bin/node"), [join(consumer, "run-network-node.js"), ...target]), "node v24.");
  });

  it("Bun (Bun.connect, through the bun export condition)", async () => {
    expectAnswered(await smoke(bin(".bin/bun"), [join(consumer, "run-network-node.js"), ...target]), "bun ");
  });

  it("Deno, installed as an npm package (Deno.connect), --allow-net to the broker only", async () => {
    const args = ["run", "--no-prompt", `--allow-net=${host}:${port}`, "--config", join(consumer, "deno.json"), join(consumer, "run-network-deno.js"), ...target];
    expectAnswered(await smoke(bin(".bin/deno"), args), "deno ");
  });

  it("Deno, from source as JSR serves it (deno.json)", async () => {
    const args = ["run", "--no-prompt", `--allow-net=${host}:${port}`, join(here, "run-network-deno.js"), ...target];
    expectAnswered(await smoke(bin(".bin/deno"), args), "deno ");
  });

  it("workerd (cloudflare:sockets, local network allowed by globalOutbound)", async () => {
    expectAnswered(await smoke(bin(".bin/workerd"), ["test", workerdConfig()]), "workerd ");
  });
});
