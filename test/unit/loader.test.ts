import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ABI_VERSION } from "../../src/core/abi.ts";
import { instantiateCore, instantiateCoreSync } from "../../src/core/loader.ts";
import { WasmAbiMismatchError, WasmLoadError } from "../../src/errors.ts";

const wasmBytes = readFileSync(new URL("../../wasm/tributary_core.wasm", import.meta.url));

/** A minimal hand-assembled module exporting only `tributary_abi_version() -> version`. */
function moduleWithAbiVersion(version: number, exportName = "tributary_abi_version"): Uint8Array {
  const name = [...new TextEncoder().encode(exportName)];
  const body = [0x00, 0x41, ...signedLeb128(version), 0x0b];
  const section = (id: number, content: number[]) => [id, content.length, ...content];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x00, 0x01, 0x7f]), // type: () -> i32
    ...section(3, [0x01, 0x00]), // one function of that type
    ...section(7, [0x01, name.length, ...name, 0x00, 0x00]), // export it
    ...section(10, [0x01, body.length, ...body]), // its code: i32.const version
  ]);
}

function signedLeb128(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const crcOf123456789 = (exports: ReturnType<typeof instantiateCoreSync>) => {
  const input = new TextEncoder().encode("123456789");
  const ptr = exports.tributary_alloc(input.length);
  new Uint8Array(exports.memory.buffer).set(input, ptr);
  const crc = exports.tributary_crc32c(ptr, input.length) >>> 0;
  exports.tributary_free(ptr, input.length);
  return crc;
};

describe("WebAssembly core loader", () => {
  it("loads from bytes, a compiled Module, an Instance and instantiated exports", async () => {
    const module = new WebAssembly.Module(wasmBytes);
    const instance = new WebAssembly.Instance(module, {});
    for (const source of [wasmBytes, module, instance, instance.exports as never]) {
      expect(crcOf123456789(instantiateCoreSync(source))).toBe(0xe3069283);
      expect(crcOf123456789(await instantiateCore(source))).toBe(0xe3069283);
    }
  });

  it("loads from a Response, with or without the application/wasm content type", async () => {
    for (const type of ["application/wasm", "application/octet-stream"]) {
      const response = new Response(wasmBytes, { headers: { "content-type": type } });
      expect(crcOf123456789(await instantiateCore(response))).toBe(0xe3069283);
    }
  });

  it("reports the ABI version it found when the module was built for another version", () => {
    const stale = moduleWithAbiVersion(ABI_VERSION + 98);
    try {
      instantiateCoreSync(stale);
      expect.unreachable("a module with another ABI version must be refused");
    } catch (error) {
      expect(error).toBeInstanceOf(WasmAbiMismatchError);
      expect((error as WasmAbiMismatchError).expected).toBe(ABI_VERSION);
      expect((error as WasmAbiMismatchError).actual).toBe(ABI_VERSION + 98);
      expect((error as Error).message).toMatch(new RegExp(`ABI version ${ABI_VERSION + 98} but this code needs ${ABI_VERSION}`));
    }
  });

  it("refuses a module that is not Tributary's core", async () => {
    const foreign = moduleWithAbiVersion(1, "something_else");
    expect(() => instantiateCoreSync(foreign)).toThrow(WasmAbiMismatchError);
    await expect(instantiateCore(foreign)).rejects.toThrow(/not Tributary's core/);
  });

  it("refuses a module that claims the right ABI version but lacks exports", () => {
    expect(() => instantiateCoreSync(moduleWithAbiVersion(ABI_VERSION))).toThrow(/lacks exports .*tributary_alloc/);
  });

  it("turns bytes that are not WebAssembly, and failed fetches, into WasmLoadError", async () => {
    expect(() => instantiateCoreSync(new TextEncoder().encode("<html>not wasm</html>"))).toThrow(WasmLoadError);
    await expect(instantiateCore(new Uint8Array([0, 0x61, 0x73]))).rejects.toThrow(WasmLoadError);
    await expect(instantiateCore(new Response("missing", { status: 404 }))).rejects.toThrow(/HTTP 404/);
  });
});
