// Runs the client suite in Node, Bun or Deno, importing the package by its name as users do:
// `run-client.js <host> <port> <topic> <seed> [<SASL port>]` (Deno: `deno run --allow-net=<host>:<port>,<host>:<SASL port> …`).
import * as tributary from "tributary";
import { runClientSuite } from "./client-suite.js";

const [host, port, topic, seed, saslPort] = typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2);
console.log(JSON.stringify(await runClientSuite(tributary, { host, port: Number(port), topic, seed: Number(seed), saslPort: saslPort ? Number(saslPort) : null })));
