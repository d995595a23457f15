/**
 * Entry point for Node: the core is read from the package's own files, synchronously, the first
 * time it is needed; sockets are `node:net`/`node:tls` ones, Fetch connections on an I/O thread
 * (src/transport/node-io-thread.ts); producers with `compressOffThread` compress batches on a
 * thread of their own (src/producer/encode-threads-node.ts).
 */
import { readFileSync } from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";
import * as workerThreads from "node:worker_threads";
import { setDefaultSource } from "../core/instance.ts";
import { setDefaultEncodeThreads } from "../producer/encode-threads.ts";
import { nodeEncodeThreads } from "../producer/encode-threads-node.ts";
import { nodeSocketFactory } from "../transport/node.ts";
import { setDefaultSocketFactory } from "../transport/socket.ts";

const wasmFile = new URL("../../wasm/tributary_core.wasm", import.meta.url);

setDefaultSource({ sync: () => readFileSync(wasmFile) });
setDefaultSocketFactory(nodeSocketFactory({ net, tls, workerThreads }));
setDefaultEncodeThreads(nodeEncodeThreads(workerThreads, () => readFileSync(wasmFile)));

export * from "../index.ts";
