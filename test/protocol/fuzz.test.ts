/** Truncated and corrupted frames: decoders throw ProtocolDecodeError, never anything else. */
import { describe, expect, it } from "vitest";
import { loadDefinitions } from "../../scripts/protocol/generate.ts";
import { ProtocolDecodeError } from "../../src/errors.ts";
import type { ApiCodec } from "../../src/protocol/api.ts";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from "../../src/protocol/frame.ts";
import { APIS } from "../../src/protocol/generated/index.ts";
import { randomMessage, Rng } from "./model-values.ts";

const definitions = loadDefinitions();
const byKey = new Map<number, ApiCodec<any, any>>(Object.values(APIS).map((api) => [api.key, api]));

function expectOnlyDecodeErrors(decode: () => unknown): "ok" | "error" {
  try {
    decode();
    return "ok";
  } catch (error) {
    if (!(error instanceof ProtocolDecodeError)) throw new Error(`expected ProtocolDecodeError, got ${String(error)}`, { cause: error });
    return "error";
  }
}

describe("corrupt frames", () => {
  it("every truncation of a response frame throws ProtocolDecodeError", () => {
    const rng = new Rng(42);
    let cases = 0;
    for (const def of definitions) {
      const api = (APIS as Record<string, ApiCodec<any, any>>)[def.name]!;
      for (const version of [def.min, def.max]) {
        const frame = encodeResponse(api, version, 1, randomMessage(def, def.response, version, rng)).subarray(4);
        for (let cut = 0; cut < frame.length; cut += Math.max(1, frame.length >> 5)) {
          expect(() => decodeResponse(api, version, frame.subarray(0, cut))).toThrow(ProtocolDecodeError);
          cases++;
        }
      }
    }
    expect(cases).toBeGreaterThan(500);
  });

  it("a few thousand mutated request and response frames decode or throw ProtocolDecodeError", () => {
    const rng = new Rng(7);
    const outcomes = { ok: 0, error: 0 };
    for (let round = 0; round < 6; round++) {
      for (const def of definitions) {
        const api = (APIS as Record<string, ApiCodec<any, any>>)[def.name]!;
        const version = rng.int(def.min, def.max);
        const request = encodeRequest(api, version, 1, "c", randomMessage(def, def.request, version, rng)).subarray(4);
        const response = encodeResponse(api, version, 1, randomMessage(def, def.response, version, rng)).subarray(4);
        for (let i = 0; i < 12; i++) {
          for (const [frame, decode] of [
            [request, (f: Uint8Array) => decodeRequest(byKey, f)],
            [response, (f: Uint8Array) => decodeResponse(api, version, f)],
          ] as const) {
            const mutated = frame.slice();
            const flips = rng.int(1, 4);
            for (let j = 0; j < flips; j++) {
              const at = rng.int(0, Math.max(0, mutated.length - 1));
              mutated[at] = rng.bool(0.3) ? 0xff : rng.int(0, 255);
            }
            outcomes[expectOnlyDecodeErrors(() => decode(mutated))]++;
          }
        }
      }
    }
    expect(outcomes.ok + outcomes.error).toBeGreaterThan(3000);
    expect(outcomes.error).toBeGreaterThan(500);
  });

  it("random bytes as any response or request throw ProtocolDecodeError or decode", () => {
    const rng = new Rng(99);
    for (let i = 0; i < 2000; i++) {
      const def = definitions[i % definitions.length]!;
      const api = (APIS as Record<string, ApiCodec<any, any>>)[def.name]!;
      const bytes = Uint8Array.from({ length: rng.int(0, 64) }, () => rng.int(0, 255));
      expectOnlyDecodeErrors(() => decodeResponse(api, rng.int(def.min, def.max), bytes));
      expectOnlyDecodeErrors(() => decodeRequest(byKey, bytes));
    }
  });
});
