/**
 * Entry point for Deno: Deno's module loader imports the `.wasm` itself (no file-read permission
 * needed, and it works from JSR's https: URLs too) and hands over the instance's exports.
 */
import * as coreExports from "../../wasm/tributary_core.wasm";
import type { CoreExports } from "../core/abi.ts";
import { setDefaultSource } from "../core/instance.ts";
import { denoSocketFactory } from "../transport/deno.ts";
import { setDefaultSocketFactory } from "../transport/socket.ts";

setDefaultSource({ sync: () => coreExports as unknown as CoreExports });
setDefaultSocketFactory(denoSocketFactory());

export * from "../index.ts";
