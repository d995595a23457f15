// Runs the network smoke in Deno: `deno run --allow-net=<host>:<port> run-network-deno.js <host> <port>`.
import * as tributary from "tributary";
import { runNetworkSmoke } from "./network-smoke.js";

const [host, port] = Deno.args;
console.log(JSON.stringify(await runNetworkSmoke(tributary, host, Number(port), `deno ${Deno.version.deno}`)));
