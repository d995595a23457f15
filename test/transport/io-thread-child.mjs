// Child process of node-io-thread.test.ts (runs the built package, dist/): opens a bulkReads
// connection, which Node's factory puts on the I/O thread, to the echo server on port argv[2],
// gets one answer, then closes it ("close": the process must then end by itself) or leaves it
// open ("open": the process must keep running).
import * as net from "node:net";
import * as tls from "node:tls";
import * as workerThreads from "node:worker_threads";
import { Connection } from "../../dist/transport/connection.js";
import { nodeSocketFactory } from "../../dist/transport/node.js";

const [port, mode] = process.argv.slice(2);
let threads = 0;
class CountedWorker extends workerThreads.Worker {
  constructor(...args) {
    super(...args);
    threads++;
  }
}
const socketFactory = nodeSocketFactory({ net, tls, workerThreads: { Worker: CountedWorker } });
const connection = await Connection.connect({ host: "127.0.0.1", port: Number(port), bulkReads: true, socketFactory });
// An 8-byte request (api key, version, correlation id) with 3 bytes of body, echoed back.
const answer = await connection.request(new Uint8Array([0, 18, 0, 3, 0, 0, 0, 0, 1, 2, 3]));
console.log(`answered ${answer.length} bytes${threads === 1 ? " on the I/O thread" : ""}`);
if (mode === "close") connection.close();
