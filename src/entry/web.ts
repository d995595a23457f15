/**
 * Entry point for browsers and any other runtime without a more specific export condition. The
 * core can only be fetched asynchronously here, so call `await init()` once before using it (or
 * `init(url)` when your bundler serves the `.wasm` elsewhere).
 */
import { setDefaultSource } from "../core/instance.ts";

setDefaultSource({ async: () => new URL("../../wasm/tributary_core.wasm", import.meta.url) });

export * from "../index.ts";
