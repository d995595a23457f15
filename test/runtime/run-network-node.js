// Runs the network smoke in Node or Bun: `run-network-node.js <host> <port>`.
import * as tributary from "tributary";
import { runNetworkSmoke } from "./network-smoke.js";

const runtime = typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.version}`;
const [host, port] = process.argv.slice(2);
console.log(JSON.stringify(await runNetworkSmoke(tributary, host, Number(port), runtime)));
