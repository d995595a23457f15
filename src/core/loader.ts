/**
 * Turns whatever a runtime can offer — a compiled `WebAssembly.Module` (Cloudflare Workers must
 * import the `.wasm` as a module: compiling bytes at run time is forbidden there), raw bytes, a
 * `Response`, a URL, or exports already instantiated by the runtime's own module loader (Deno) —
 * into the core's verified exports.
 */
import { ABI_VERSION, type CoreExports } from "./abi.ts";
import { WasmAbiMismatchError, WasmLoadError } from "../errors.ts";

/** Sources that can be turned into the core without waiting. */
export type SyncWasmSource = WebAssembly.Module | BufferSource | WebAssembly.Instance | CoreExports;

/** Everything `init()` accepts. */
export type WasmSource = SyncWasmSource | Response | URL | string;

const REQUIRED_EXPORTS: ReadonlyArray<keyof CoreExports> = [
  "memory",
  "__stack_pointer",
  "tributary_abi_version",
  "tributary_alloc",
  "tributary_free",
  "tributary_crc32c",
  "tributary_crc32c_prefixed",
  "tributary_crc32c_set_vector",
  "tributary_murmur2",
  "tributary_partition_for_key",
  "tributary_murmur2_batch",
  "tributary_offsets_new",
  "tributary_offsets_free",
  "tributary_offsets_reset",
  "tributary_offsets_advance",
  "tributary_offsets_delivered_range",
  "tributary_offsets_delivered_list",
  "tributary_offsets_ack",
  "tributary_offsets_ack_list",
  "tributary_offsets_ack_range",
  "tributary_offsets_committable",
  "tributary_offsets_pending",
  "tributary_offsets_stats",
  "tributary_decode_batches",
  "tributary_decode_release",
  "tributary_encode_batch",
];

/** The core needs nothing from its host: it imports no functions. */
const NO_IMPORTS: WebAssembly.Imports = {};

export function instantiateCoreSync(source: SyncWasmSource): CoreExports {
  if (source instanceof WebAssembly.Instance) return verify(source.exports);
  if (isExportsObject(source)) return verify(source);
  const module = source instanceof WebAssembly.Module ? source : attempt("compile", () => new WebAssembly.Module(source));
  return verify(attempt("instantiate", () => new WebAssembly.Instance(module, NO_IMPORTS)).exports);
}

export async function instantiateCore(source: WasmSource): Promise<CoreExports> {
  if (typeof source === "string" || source instanceof URL) {
    const url = source;
    source = await attemptAsync(`fetch ${url}`, () => fetch(url));
  }
  if (typeof Response !== "undefined" && source instanceof Response) {
    return verify(await instantiateResponse(source));
  }
  if (source instanceof WebAssembly.Instance || isExportsObject(source)) return instantiateCoreSync(source);
  const module = source instanceof WebAssembly.Module
    ? source
    : await attemptAsync("compile", () => WebAssembly.compile(source as BufferSource));
  const instance = await attemptAsync("instantiate", () => WebAssembly.instantiate(module, NO_IMPORTS));
  return verify(instance.exports);
}

async function instantiateResponse(response: Response): Promise<WebAssembly.Exports> {
  if (!response.ok) throw new WasmLoadError(`could not fetch the WebAssembly core: HTTP ${response.status} from ${response.url}`);
  // Streaming compilation needs the application/wasm content type; fall back to bytes otherwise.
  const streamable = typeof WebAssembly.instantiateStreaming === "function" &&
    response.headers.get("content-type")?.split(";")[0]?.trim() === "application/wasm";
  if (streamable) {
    const { instance } = await attemptAsync("compile", () => WebAssembly.instantiateStreaming(response, NO_IMPORTS));
    return instance.exports;
  }
  const bytes = await attemptAsync("read", () => response.arrayBuffer());
  const { instance } = await attemptAsync("compile", () => WebAssembly.instantiate(bytes, NO_IMPORTS));
  return instance.exports;
}

function isExportsObject(value: unknown): value is CoreExports {
  return typeof value === "object" && value !== null && !ArrayBuffer.isView(value) &&
    !(value instanceof ArrayBuffer) && !(value instanceof WebAssembly.Module) &&
    "memory" in value && (value as { memory: unknown }).memory instanceof WebAssembly.Memory;
}

/** Checks the ABI version first, so a stale `.wasm` gets a clear error rather than odd results. */
function verify(exports: WebAssembly.Exports | CoreExports): CoreExports {
  const candidate = exports as Partial<Record<keyof CoreExports, unknown>>;
  if (typeof candidate.tributary_abi_version !== "function") {
    throw new WasmAbiMismatchError(ABI_VERSION, undefined);
  }
  const actual = (candidate.tributary_abi_version as () => number)();
  if (actual !== ABI_VERSION) throw new WasmAbiMismatchError(ABI_VERSION, actual);
  const missing = REQUIRED_EXPORTS.filter((name) => candidate[name] === undefined);
  if (missing.length > 0) {
    throw new WasmLoadError(`the WebAssembly core lacks exports ${missing.join(", ")} although it claims ABI ${actual}`);
  }
  return exports as CoreExports;
}

function attempt<T>(step: string, run: () => T): T {
  try {
    return run();
  } catch (cause) {
    throw new WasmLoadError(`could not ${step} the WebAssembly core: ${describe(cause)}`, { cause });
  }
}

async function attemptAsync<T>(step: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    throw new WasmLoadError(`could not ${step} the WebAssembly core: ${describe(cause)}`, { cause });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
