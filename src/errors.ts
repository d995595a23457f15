/**
 * Typed errors. Every error Tributary raises on purpose is a `TributaryError`, so callers can
 * tell the client's failures from their own with one `instanceof` check, and each subclass
 * carries the facts needed to act on it.
 */
export class TributaryError extends Error {
  override name = "TributaryError";
}

/** The WebAssembly core could not be fetched, compiled or instantiated. */
export class WasmLoadError extends TributaryError {
  override name = "WasmLoadError";
}

/** The `.wasm` file was built for a different version of this TypeScript code. */
export class WasmAbiMismatchError extends TributaryError {
  override name = "WasmAbiMismatchError";
  readonly expected: number;
  readonly actual: number | undefined;

  constructor(expected: number, actual: number | undefined) {
    super(
      actual === undefined
        ? `the WebAssembly module is not Tributary's core (it has no tributary_abi_version export)`
        : `the WebAssembly core has ABI version ${actual} but this code needs ${expected}: ` +
          `use the tributary_core.wasm shipped with this package version`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A function that needs the core was called before it was loaded, in a runtime where it cannot
 * be loaded synchronously (browsers and other web-only runtimes).
 */
export class WasmNotReadyError extends TributaryError {
  override name = "WasmNotReadyError";
  constructor() {
    super("Tributary's WebAssembly core is not loaded yet: call `await init()` once before using it");
  }
}

/** The WebAssembly core could not grow its memory for an input this large. */
export class WasmOutOfMemoryError extends TributaryError {
  override name = "WasmOutOfMemoryError";
}
