/**
 * Entry point for Bun: the core is read from the package's own files, synchronously, the first
 * time it is needed (as in Node); sockets are Bun's native `Bun.connect` ones.
 */
import { readFileSync } from "node:fs";
import { preferScalarChecksums, setDefaultSource } from "../core/instance.ts";
import { bunSocketFactory } from "../transport/bun.ts";
import { setDefaultSocketFactory } from "../transport/socket.ts";

const wasmFile = new URL("../../wasm/tributary_core.wasm", import.meta.url);

setDefaultSource({ sync: () => readFileSync(wasmFile) });
preferScalarChecksums(); // JavaScriptCore runs the SIMD CRC-32C slower than the scalar one
setDefaultSocketFactory(bunSocketFactory());

export * from "../index.ts";
