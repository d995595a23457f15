// Runs the group suite in Node, Bun or Deno, importing the package by its name as users do:
// `run-group.js <host> <port> <topic> <groupId> <seed>` (Deno: `deno run --allow-net=<host>:<port> …`).
import * as tributary from "tributary";
import { runGroupSuite } from "./group-suite.js";

const [host, port, topic, groupId, seed] = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
console.log(JSON.stringify(await runGroupSuite(tributary, { host, port: Number(port), topic, groupId, seed: Number(seed) })));
