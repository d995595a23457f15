/**
 * What the runtime matrices share: running a runner script in a runtime and reading its JSON
 * result, a consumer project that installs the package as users do, and a workerd config that
 * bundles the package's modules the way a Worker bundle does.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll } from "vitest";
import { createAdmin, type Admin } from "../../src/entry/node.ts";
import { REPO_ROOT, SINGLE_BROKER } from "../support/kafka.ts";

const run = promisify(execFile);

/** A binary installed from npm (node20/node24, .bin/bun, .bin/deno, .bin/workerd). */
export const bin = (path: string) => join(REPO_ROOT, "node_modules", path);
export const RUNTIME_DIR = join(REPO_ROOT, "test", "runtime");

/** Scratch directories made by the helpers below; delete them in afterAll with `cleanScratch`. */
const scratchDirs: string[] = [];
export function cleanScratch(): void {
  scratchDirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true }));
}

/**
 * For a matrix test against the single broker: an admin client, and `track` for the topics the
 * runtimes under test create. After all cases, scratch directories go, and so do tracked topics a
 * runtime left behind (one that died before its own clean-up).
 */
export function brokerSide(clientId: string): { admin: Admin; track(topic: string): string } {
  const admin = createAdmin({ brokers: [`${SINGLE_BROKER.host}:${SINGLE_BROKER.port}`], clientId, retry: { deadlineMs: 20_000 } });
  const topics: string[] = [];
  afterAll(async () => {
    cleanScratch();
    try {
      const left = new Set(await admin.listTopics());
      const stale = topics.filter((topic) => left.has(topic));
      if (stale.length > 0) await admin.deleteTopics(stale);
    } finally {
      admin.close();
    }
  });
  return {
    admin,
    track(topic) {
      topics.push(topic);
      return topic;
    },
  };
}

function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
}

/**
 * Longest a runner may keep running after it printed its result. Runners print it once every
 * client is closed; a runtime still running then is kept alive by a socket or timer the client
 * left behind (Bun's TLS sockets closed with `end()` once kept it ~12 s).
 */
export const EXIT_GRACE_MS = 5_000;

/**
 * Runs a runner and returns the last JSON line it printed. Rejects when the runner does not exit
 * within `EXIT_GRACE_MS` of printing its first result line (besides failing as `execFile` does).
 */
export async function runJson<T>(command: string, args: string[], { timeoutMs = 60_000 } = {}): Promise<T> {
  let printedAt: number | undefined;
  const running = run(command, args, { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 16 << 20 });
  running.child.stdout?.on("data", (chunk: Buffer | string) => {
    if (printedAt === undefined && /(^|\n)\{/.test(String(chunk))) printedAt = Date.now();
  });
  const { stdout } = await running;
  const line = stdout.split("\n").reverse().find((text) => text.startsWith("{"));
  if (!line) throw new Error(`no result from ${command} ${args.join(" ")}:\n${stdout}`);
  const lingered = printedAt === undefined ? 0 : Date.now() - printedAt;
  if (lingered > EXIT_GRACE_MS) throw new Error(`${command} ${args[0] ?? ""} kept running ${lingered} ms after printing its result`);
  return JSON.parse(line) as T;
}

/**
 * `deno run` arguments for a runner: never prompting, with network access to `allowNet`
 * ("host:port") only when given, and a project's deno.json when given (without one, Deno uses
 * the repository's, which maps "tributary" to the Deno entry point's source as JSR serves it).
 */
export function denoRun(script: string, args: string[], { allowNet, config }: { allowNet?: string; config?: string } = {}): string[] {
  return ["run", "--no-prompt", ...(allowNet ? [`--allow-net=${allowNet}`] : []), ...(config ? ["--config", config] : []), script, ...args];
}

/** `workerd test` arguments: runs the test handler of the main module of a `workerdConfig`. */
export function workerdTest(options: WorkerdOptions): string[] {
  return ["test", workerdConfig(options)];
}

/**
 * A project that depends on the package the way users' projects do (node_modules/tributary, here
 * a link to this repository), with the given runner files of test/runtime copied in: imports of
 * "tributary" from there resolve through package.json's export conditions to dist/.
 */
export function consumerProject(files: string[]): string {
  const dir = scratchDir("tributary-consumer-");
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(REPO_ROOT, join(dir, "node_modules", "tributary"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", dependencies: { tributary: "*" } }));
  writeFileSync(join(dir, "deno.json"), JSON.stringify({ nodeModulesDir: "manual" }));
  for (const file of files) copyFileSync(join(RUNTIME_DIR, file), join(dir, file));
  return dir;
}

export interface WorkerdOptions {
  /** Runner modules from test/runtime; the first is the worker's main module. */
  runners: string[];
  bindings?: Record<string, string>;
  /** Let the worker reach loopback addresses (a network service as its globalOutbound). */
  network?: boolean;
}

/**
 * A workerd config with the package's workerd entry point, its modules and the `.wasm` as a Wasm
 * module: what a Worker bundle contains. workerd resolves `embed` paths relative to the config
 * file, so the config lives in a scratch directory with links to the repo's folders.
 */
export function workerdConfig({ runners, bindings = {}, network = false }: WorkerdOptions): string {
  const dir = scratchDir("tributary-workerd-");
  for (const folder of ["dist", "wasm"]) symlinkSync(join(REPO_ROOT, folder), join(dir, folder));
  symlinkSync(RUNTIME_DIR, join(dir, "runtime"));
  const distModules = listJs(join(REPO_ROOT, "dist"))
    .map((file) => relative(REPO_ROOT, file))
    // The other runtimes' entry points import things workerd does not have (node:fs).
    .filter((name) => !name.startsWith("dist/entry/") || name === "dist/entry/workerd.js");
  const modules = [
    ...runners.map((name) => `(name = "${name}", esModule = embed "runtime/${name}")`),
    ...distModules.map((name) => `(name = "${name}", esModule = embed "${name}")`),
    `(name = "wasm/tributary_core.wasm", wasm = embed "wasm/tributary_core.wasm")`,
  ];
  const services = [`(name = "main", worker = .worker)`];
  if (network) services.push(`(name = "internet", network = (allow = ["local", "public"]))`);
  const bindingList = Object.entries(bindings).map(([name, text]) => `(name = "${name}", text = "${text}")`);
  const config = join(dir, "config.capnp");
  writeFileSync(config, `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (services = [
  ${services.join(",\n  ")},
]);
const worker :Workerd.Worker = (
  modules = [\n    ${modules.join(",\n    ")}\n  ],
  bindings = [${bindingList.join(", ")}],${network ? `\n  globalOutbound = "internet",` : ""}
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

// (The imports of the helpers below, kept with them.)
import { readFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * TLS settings of the worker's outbound network service (workerd's `tlsOptions`). A Worker's
 * `connect(..., { secureTransport: "on" })` cannot name a CA or a client certificate itself; the
 * host that runs workerd decides whom its sockets trust and which certificate they present.
 */
export interface WorkerdNetworkTls {
  /** CA certificates (PEM) the worker's TLS sockets trust, instead of none. */
  trustedCertificates?: string[];
  /** The client certificate chain and key (PEM) the worker's TLS sockets present. */
  clientCertificate?: { certificateChain: string; privateKey: string };
}

/** `workerdConfig` with network access whose TLS trusts and presents what `tls` says. */
export function workerdConfigWithTls(options: WorkerdOptions, tls: WorkerdNetworkTls): string {
  const config = workerdConfig({ ...options, network: true });
  const dir = dirname(config);
  const embed = (name: string, pem: string) => { writeFileSync(join(dir, name), pem); return `embed "${name}"`; };
  const fields = [
    `trustedCertificates = [${(tls.trustedCertificates ?? []).map((pem, i) => embed(`trusted-${i}.pem`, pem)).join(", ")}]`,
  ];
  if (tls.clientCertificate) {
    const { certificateChain, privateKey } = tls.clientCertificate;
    fields.push(`keypair = (privateKey = ${embed("client.key", privateKey)}, certificateChain = ${embed("client.pem", certificateChain)})`);
  }
  const network = `network = (allow = ["local", "public"])`;
  const text = readFileSync(config, "utf8");
  if (!text.includes(network)) throw new Error("workerdConfig no longer writes the network service this helper extends");
  writeFileSync(config, text.replace(network, `network = (allow = ["local", "public"], tlsOptions = (${fields.join(", ")}))`));
  return config;
}
