/**
 * The runtime network matrix: Node 20, Node 24, Bun, Deno and workerd each import the package as
 * their users do, connect to the real broker through the default transport their entry point
 * registers (node:net, Bun.connect, Deno.connect, cloudflare:sockets) and get ApiVersions answers.
 */
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SINGLE_BROKER } from "../support/kafka.ts";
import { bin, cleanScratch, consumerProject, denoRun, runJson, RUNTIME_DIR as here, workerdTest } from "./runtimes.ts";

const { host, port } = SINGLE_BROKER;
const smoke = (command: string, args: string[]) => runJson<{ runtime: string }>(command, args);

afterAll(cleanScratch);

function expectAnswered(result: { runtime: string }, runtimePrefix: string) {
  expect(result.runtime.startsWith(runtimePrefix), result.runtime).toBe(true);
  expect({ ...result, runtime: "" }).toEqual({
    runtime: "", distinctIds: 20, errorCodes: [0], apiCountPositive: true, refused: "ConnectionError:connect",
  });
}

describe("runtime network matrix (real broker, each runtime's default transport)", () => {
  const consumer = consumerProject(["run-network-node.js", "run-network-deno.js", "network-smoke.js"]);
  const target = [host, String(port)];
  const allowNet = `${host}:${port}`;

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
    const args = denoRun(join(consumer, "run-network-deno.js"), target, { allowNet, config: join(consumer, "deno.json") });
    expectAnswered(await smoke(bin(".bin/deno"), args), "deno ");
  });

  it("Deno, from source as JSR serves it (deno.json)", async () => {
    expectAnswered(await smoke(bin(".bin/deno"), denoRun(join(here, "run-network-deno.js"), target, { allowNet })), "deno ");
  });

  it("workerd (cloudflare:sockets, local network allowed by globalOutbound)", async () => {
    const args = workerdTest({ runners: ["run-network-workerd.js", "network-smoke.js"], bindings: { KAFKA_HOST: host, KAFKA_PORT: String(port) }, network: true });
    expectAnswered(await smoke(bin(".bin/workerd"), args), "workerd ");
  });
});
