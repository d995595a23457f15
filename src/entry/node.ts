/**
 * Entry point for Node: the core is read from the package's own files, synchronously, the first
 * time it is needed; sockets are `node:net`/`node:tls` ones, Fetch connections on an I/O thread
 * (src/transport/node-io-thread.ts).
 */
import { readFileSync } from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";
import * as workerThreads from "node:worker_threads";
import { setDefaultSource } from "../core/instance.ts";
import { nodeSocketFactory } from "../transport/node.ts";
import { setDefaultSocketFactory } from "../transport/socket.ts";

const wasmFile = new URL("../../wasm/tributary_core.wasm", import.meta.url);

setDefaultSource({ sync: () => readFileSync(wasmFile) });
setDefaultSocketFactory(nodeSocketFactory({ net, tls, workerThreads }));

export * from "../index.ts";
