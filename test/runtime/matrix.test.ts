/**
 * The runtime matrix: the same smoke test (smoke-cases.js) imports the package, hashes keys and
 * round-trips a record batch through every compression codec in
 * Node 20, Node 24, Bun, Deno and workerd, each through the entry point its users get. Every
 * runtime must produce Kafka's reference hashes and exactly what this process computes.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as tributary from "../../src/entry/node.ts";
import { REPO_ROOT } from "../support/kafka.ts";
import { bin, cleanScratch, consumerProject, runJson, RUNTIME_DIR as here, workerdConfig } from "./runtimes.ts";
import { runSmoke } from "./smoke-cases.js";

const expected = runSmoke(tributary, "vitest");
const smoke = (command: string, args: string[]) => runJson<ReturnType<typeof runSmoke>>(command, args);

afterAll(cleanScratch);

function expectSameAsNode(result: ReturnType<typeof runSmoke>, runtimePrefix: string) {
  expect(result.runtime.startsWith(runtimePrefix), result.runtime).toBe(true);
  expect(result.vectorsMatch).toBe(true);
  expect(result.codecs.filter((codec) => !codec.same), "codecs that did not round-trip").toEqual([]);
  expect({ ...result, runtime: "vitest" }).toEqual(expected);
}

describe("runtime matrix", () => {
  it("has a built package (dist/) to import", () => {
    expect(existsSync(join(REPO_ROOT, "dist/entry/node.js")), "run `npm run build:ts` first").toBe(true);
  });

  const consumer = consumerProject(["run-node.js", "run-deno.js", "smoke-cases.js"]);

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
    expectSameAsNode(await smoke(bin(".bin/workerd"), ["test", workerdConfig({ runners: ["run-workerd.js", "smoke-cases.js"] })]), "workerd ");
  });
});
