/**
 * The runtime matrix: the same smoke test (smoke-cases.js) imports the package, hashes keys and
 * round-trips a record batch through every compression codec in
 * Node 20, Node 24, Bun, Deno and workerd, each through the entry point its users get. Every
 * runtime must produce Kafka's reference hashes and exactly what this process computes.
 */
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import * as tributary from "../../src/entry/node.ts";
import { REPO_ROOT } from "../support/kafka.ts";
import { runSmoke } from "./smoke-cases.js";

const run = promisify(execFile);
const bin = (path: string) => join(REPO_ROOT, "node_modules", path);
const here = join(REPO_ROOT, "test", "runtime");
const expected = runSmoke(tributary, "vitest");
const scratchDirs: string[] = [];

afterAll(() => scratchDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Runs a runner script and returns the smoke result it printed as its last JSON line. */
async function smoke(command: string, args: string[]): Promise<ReturnType<typeof runSmoke>> {
  const { stdout } = await run(command, args, { cwd: REPO_ROOT, timeout: 60_000 });
  const line = stdout.split("\n").reverse().find((text) => text.startsWith("{"));
  if (!line) throw new Error(`no result from ${command} ${args.join(" ")}:\n${stdout}`);
  return JSON.parse(line);
}

function expectSameAsNode(result: ReturnType<typeof runSmoke>, runtimePrefix: string) {
  expect(result.runtime.startsWith(runtimePrefix), result.runtime).toBe(true);
  expect(result.vectorsMatch).toBe(true);
  expect(result.codecs.filter((codec) => !codec.same), "codecs that did not round-trip").toEqual([]);
  expect({ ...result, runtime: "vitest" }).toEqual(expected);
}

/**
 * A project that depends on the package the way users' projects do (node_modules/tributary, here
 * a link to this repository), with the runner scripts copied in: imports of "tributary" from
 * there resolve through package.json's export conditions to dist/.
 */
function consumerProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "tributary-consumer-"));
  scratchDirs.push(dir);
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(REPO_ROOT, join(dir, "node_modules", "tributary"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", dependencies: { tributary: "*" } }));
  writeFileSync(join(dir, "deno.json"), JSON.stringify({ nodeModulesDir: "manual" }));
  for (const file of ["run-node.js", "run-deno.js", "smoke-cases.js"]) copyFileSync(join(here, file), join(dir, file));
  return dir;
}

/**
 * A workerd config with the package's workerd entry point, its modules and the `.wasm` as a
 * Wasm module: what a Worker bundle contains. workerd resolves `embed` paths relative to the
 * config file, so the config lives in a scratch directory with links to the repo's folders.
 */
function workerdConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), "tributary-workerd-"));
  scratchDirs.push(dir);
  for (const folder of ["dist", "wasm"]) symlinkSync(join(REPO_ROOT, folder), join(dir, folder));
  symlinkSync(here, join(dir, "runtime"));
  const distModules = listJs(join(REPO_ROOT, "dist"))
    .map((file) => relative(REPO_ROOT, file))
    // The other runtimes' entry points import things workerd does not have (node:fs).
    .filter((name) => !name.startsWith("dist/entry/") || name === "dist/entry/workerd.js");
  const modules = [
    `(name = "run-workerd.js", esModule = embed "runtime/run-workerd.js")`,
    `(name = "smoke-cases.js", esModule = embed "runtime/smoke-cases.js")`,
    ...distModules.map((name) => `(name = "${name}", esModule = embed "${name}")`),
    `(name = "wasm/tributary_core.wasm", wasm = embed "wasm/tributary_core.wasm")`,
  ];
  const config = join(dir, "config.capnp");
  writeFileSync(config, `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [(name = "main", worker = .smokeWorker)]);
const smokeWorker :Workerd.Worker = (
  modules = [\n    ${modules.join(",\n    ")}\n  ],
  compatibilityDate = "2025-09-01",
);
`);
  return config;
}

function listJs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listJs(path);
    return entry.name.endsWith(".js") ? [path] : [];
  });
}

describe("runtime matrix", () => {
  it("has a built package (dist/) to import", () => {
    expect(existsSync(join(REPO_ROOT, "dist/entry/node.js")), "run `npm run build:ts` first").toBe(true);
  });

  const consumer = consumerProject();

  it("Node 20", async () => {
    expectSameAsNode(await smoke(bin("node20/bin/node"), [join(consumer, "run-node.js")]), "node v20.");
  });

  it("Node 24", async () => {
    expectSameAsNode(await smoke(bin("node24/bin/node"), [join(consumer, "run-node.js")]), "node v24.");
  });

  it("Bun", async () => {
    expectSameAsNode(await smoke(bin(".bin/bun"), [join(consumer, "run-node.js")]), "bun ");
  });

  it("Deno, installed as an npm package, with no permissions granted", async () => {
    const args = ["run", "--no-prompt", "--config", join(consumer, "deno.json"), join(consumer, "run-deno.js")];
    expectSameAsNode(await smoke(bin(".bin/deno"), args), "deno ");
  });

  it("Deno, from source as JSR serves it (deno.json), with no permissions granted", async () => {
    expectSameAsNode(await smoke(bin(".bin/deno"), ["run", "--no-prompt", join(here, "run-deno.js")]), "deno ");
  });

  it("workerd (the .wasm imported as a module)", async () => {
    expectSameAsNode(await smoke(bin(".bin/workerd"), ["test", workerdConfig()]), "workerd ");
  });
});
