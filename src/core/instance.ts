/**
 * The one loaded instance of the core, and the scratch memory used to pass bytes into it.
 *
 * Each runtime's entry point (`src/entry/*.ts`) registers where the `.wasm` comes from. Where that
 * source is synchronous (Node, Bun, Deno, workerd) the core loads lazily on first use, so the
 * hashing functions can stay synchronous; on the web, `await init()` loads it first.
 */
import type { CoreExports } from "./abi.ts";
import { instantiateCore, instantiateCoreSync, type SyncWasmSource, type WasmSource } from "./loader.ts";
import { WasmLoadError, WasmNotReadyError, WasmOutOfMemoryError, WasmTrapError } from "../errors.ts";

export interface DefaultSource {
  /** Returns the core without waiting (a file read, a module import), when the runtime can. */
  sync?: () => SyncWasmSource;
  /** Returns where to fetch the core from, for runtimes that can only load it asynchronously. */
  async?: () => WasmSource;
}

let defaultSource: DefaultSource = {};
let current: Core | undefined;
let loading: Promise<Core> | undefined;

/** Called once by each runtime entry point. */
export function setDefaultSource(source: DefaultSource): void {
  defaultSource = source;
}

let scalarChecksums = false;

/**
 * For runtime entry points whose engine runs the core's wasm-SIMD CRC-32C slower than its scalar
 * one: Bun's JavaScriptCore (~0.65× the old table code there, where V8 — Node, Deno, workerd,
 * Chromium — runs it ~1.7–2.2× faster). Results are identical either way.
 */
export function preferScalarChecksums(): void {
  scalarChecksums = true;
  current?.exports.tributary_crc32c_set_vector(0);
}

/**
 * Loads the core. Without an argument it uses the runtime's default location; pass a
 * `WebAssembly.Module`, bytes, a `Response` or a URL to load it from elsewhere (a CDN, a bundler's
 * asset URL, a Worker's module import). Resolves at once when the core is already loaded.
 */
export function init(source?: WasmSource): Promise<void> {
  if (source === undefined && current) return Promise.resolve();
  if (source === undefined && loading) return loading.then(() => undefined);
  const chosen = source ?? defaultSource.async?.() ?? defaultSource.sync?.();
  if (chosen === undefined) {
    return Promise.reject(new WasmLoadError("no WebAssembly core source: pass one to init(source)"));
  }
  const attempt = instantiateCore(chosen).then((exports) => (current = new Core(exports)));
  loading = attempt;
  // A failed load must not stick: the next init() may be given a working source.
  attempt.catch(() => { if (loading === attempt) loading = undefined; });
  return attempt.then(() => undefined);
}

/** Loads the core synchronously from a module, bytes, or instantiated exports. */
export function initSync(source?: SyncWasmSource): void {
  if (source === undefined && current) return;
  const chosen = source ?? defaultSource.sync?.();
  if (chosen === undefined) throw new WasmNotReadyError();
  current = new Core(instantiateCoreSync(chosen));
}

/** True once the core is loaded. */
export function isReady(): boolean {
  return current !== undefined;
}

/** The loaded core, loading it synchronously when the runtime allows. */
export function core(): Core {
  if (current) return current;
  if (!defaultSource.sync) throw new WasmNotReadyError();
  initSync();
  return current!;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Typed views over the core's memory plus a reusable scratch buffer inside it. */
export class Core {
  readonly exports: CoreExports;
  private view: Uint8Array;
  private scratchPtr = 0;
  private scratchLen = 0;
  private readonly restingStackPointer: number;

  constructor(exports: CoreExports) {
    // The core's arrays are little-endian; typed-array views over its memory assume the host is too.
    if (!littleEndianHost) throw new WasmLoadError("Tributary's WebAssembly core needs a little-endian host");
    this.exports = exports;
    if (scalarChecksums) exports.tributary_crc32c_set_vector(0);
    this.view = new Uint8Array(exports.memory.buffer);
    this.restingStackPointer = exports.__stack_pointer.value;
  }

  /**
   * Runs a call into the core, turning a trap into a `WasmTrapError`. A trap abandons the call
   * mid-way, leaving the shadow-stack pointer where that call had moved it; resetting it keeps the
   * instance usable (the core keeps no other state that a trap can leave half-updated: see
   * `CallState` in wasm/src/memory.rs). Between calls the pointer is always at its resting value
   * (the core never calls back into JS, so calls do not nest), recorded once at load: reading the
   * global on every call would cost more than many of the calls themselves.
   */
  guard<T>(what: string, call: () => T): T {
    try {
      return call();
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError)) throw error;
      this.exports.__stack_pointer.value = this.restingStackPointer;
      throw new WasmTrapError(`the WebAssembly core trapped in ${what}: ${error.message}`, { cause: error });
    }
  }

  /** The core's memory as bytes. Any allocation may grow memory and replace its buffer. */
  bytes(): Uint8Array {
    if (this.view.buffer !== this.exports.memory.buffer) this.view = new Uint8Array(this.exports.memory.buffer);
    return this.view;
  }

  /**
   * Address of at least `len` bytes of scratch space (8-byte aligned), valid until the next call.
   * Grows geometrically so a stream of similar calls allocates only a few times.
   */
  scratch(len: number): number {
    if (len > this.scratchLen) {
      if (this.scratchPtr !== 0) this.exports.tributary_free(this.scratchPtr, this.scratchLen);
      const size = Math.max(len, this.scratchLen * 2, 4096);
      const ptr = this.exports.tributary_alloc(size);
      if (ptr === 0) {
        this.scratchPtr = 0;
        this.scratchLen = 0;
        throw new WasmOutOfMemoryError(`the WebAssembly core could not allocate ${size} bytes`);
      }
      this.scratchPtr = ptr;
      this.scratchLen = size;
    }
    return this.scratchPtr;
  }
}
