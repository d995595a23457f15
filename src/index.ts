/**
 * Tributary's public API. Import the package root (`tributary`), not this file: the root resolves,
 * through package export conditions, to the entry point for your runtime (`src/entry/*.ts`), which
 * knows where that runtime finds the WebAssembly core.
 */
export { crc32c, murmur2, murmur2Batch, partitionForKey, partitionsForKeys, type Key } from "./hashing.ts";
export { init, initSync, isReady } from "./core/instance.ts";
export type { SyncWasmSource, WasmSource } from "./core/loader.ts";
export { ABI_VERSION } from "./core/abi.ts";
export {
  TributaryError,
  WasmAbiMismatchError,
  WasmLoadError,
  WasmNotReadyError,
  WasmOutOfMemoryError,
} from "./errors.ts";
