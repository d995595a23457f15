/**
 * Entry point for Cloudflare Workers (workerd): the Worker's bundle imports the `.wasm` as a
 * compiled module, because compiling WebAssembly from bytes at run time is forbidden there.
 */
import coreModule from "../../wasm/tributary_core.wasm";
import { setDefaultSource } from "../core/instance.ts";

setDefaultSource({ sync: () => coreModule });

export * from "../index.ts";
