// Runs the TLS broker smoke in Node, Bun or Deno: `run-tls-broker.js '<config JSON>'` (Deno:
// `deno run --allow-net=<the listeners> run-tls-broker.js '<config JSON>'`).
import * as tributary from "tributary";
import { runTlsBrokerSmoke } from "./tls-broker-smoke.js";

const deno = globalThis.Deno;
const runtime = deno ? `deno ${deno.version.deno}` : globalThis.Bun ? `bun ${globalThis.Bun.version}` : `node ${process.version}`;
const config = JSON.parse(deno ? deno.args[0] : process.argv[2]);
console.log(JSON.stringify(await runTlsBrokerSmoke(tributary, config, runtime)));
