// The web entry point (browsers, unknown runtimes) cannot load the core synchronously: using it
// before `await init()` must fail clearly, and init() with a source must then make it usable.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { crc32c, init, isReady, murmur2, WasmLoadError, WasmNotReadyError } from "../../src/entry/web.ts";

describe("web entry point", () => {
  it("throws WasmNotReadyError before init, and works after init(source)", async () => {
    expect(isReady()).toBe(false);
    expect(() => murmur2("21")).toThrow(WasmNotReadyError);
    await expect(init(new Uint8Array([1, 2, 3]))).rejects.toThrow(WasmLoadError);
    expect(isReady()).toBe(false);
    const bytes = readFileSync(new URL("../../wasm/tributary_core.wasm", import.meta.url));
    await init(new Response(bytes, { headers: { "content-type": "application/wasm" } }));
    expect(isReady()).toBe(true);
    expect(murmur2("21")).toBe(-973932308);
    expect(crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283);
    await init(); // already loaded: resolves without fetching the default URL
  });
});
