/**
 * Entry point for Node (and Bun, which resolves the "node" export condition too): the core is
 * read from the package's own files, synchronously, the first time it is needed.
 */
import { readFileSync } from "node:fs";
import { setDefaultSource } from "../core/instance.ts";

const wasmFile = new URL("../../wasm/tributary_core.wasm", import.meta.url);

setDefaultSource({ sync: () => readFileSync(wasmFile) });

export * from "../index.ts";
