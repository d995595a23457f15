import { describe, expect, it } from "vitest";
import { loadDefinitions } from "../../scripts/protocol/generate.ts";
import { ProtocolDecodeError } from "../../src/errors.ts";
import { Reader } from "../../src/protocol/codec/reader.ts";
import { Writer } from "../../src/protocol/codec/writer.ts";
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from "../../src/protocol/frame.ts";
import { APIS } from "../../src/protocol/generated/index.ts";
import type { ApiCodec } from "../../src/protocol/api.ts";
import { apiVersionsRequest } from "../support/api-versions-probe.ts";
import { randomMessage, Rng } from "./model-values.ts";

const definitions = loadDefinitions();
const byKey = new Map<number, ApiCodec<any, any>>(Object.values(APIS).map((api) => [api.key, api]));

describe("round trips: every API, every version, both directions", () => {
  for (const def of definitions) {
    const api = (APIS as Record<string, ApiCodec<any, any>>)[def.name]!;
    it(`${def.name} v${def.min}-${def.max}`, () => {
      const rng = new Rng(def.key * 7919 + 1);
      for (let version = def.min; version <= def.max; version++) {
        for (let i = 0; i < 12; i++) {
          const request = randomMessage(def, def.request, version, rng);
          const frame = encodeRequest(api, version, 1000 + i, i % 3 === 0 ? null : "tributary", request);
          const decoded = decodeRequest(byKey, frame.subarray(4));
          expect(decoded.header).toEqual({ apiKey: def.key, apiVersion: version, correlationId: 1000 + i, clientId: i % 3 === 0 ? null : "tributary" });
          expect(decoded.body).toMatchObject(request);
          expect(encodeRequest(api, version, 1000 + i, i % 3 === 0 ? null : "tributary", decoded.body)).toEqual(frame);

          const response = randomMessage(def, def.response, version, rng);
          const responseFrame = encodeResponse(api, version, 77, response);
          const back = decodeResponse(api, version, responseFrame.subarray(4));
          expect(back.correlationId).toBe(77);
          expect(back.body).toMatchObject(response);
          expect(encodeResponse(api, version, 77, back.body)).toEqual(responseFrame);
        }
      }
    });
  }
});

describe("hand-computed bytes", () => {
  it("ApiVersions v3 request equals the hand-built probe frame", () => {
    const frame = encodeRequest(APIS.ApiVersions, 3, 5, "tributary-probe", { clientSoftwareName: "tributary", clientSoftwareVersion: "0.1.0" });
    expect(Buffer.from(frame)).toEqual(apiVersionsRequest(5));
  });

  it("Heartbeat v0 request (header v1, classic strings)", () => {
    const frame = encodeRequest(APIS.Heartbeat, 0, 1, "c", { groupId: "g", generationId: 2, memberId: "m" });
    expect([...frame]).toEqual([
      0, 0, 0, 21, // size
      0, 12, 0, 0, 0, 0, 0, 1, 0, 1, 99, // key 12, v0, correlation 1, client id "c"
      0, 1, 103, 0, 0, 0, 2, 0, 1, 109, // group "g", generation 2, member "m"
    ]);
  });

  it("ApiVersions responses use header v0 even in flexible versions; others header v1", () => {
    const bytes = Uint8Array.from([0, 0, 0, 9, 0, 0, 2, 0, 18, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0]);
    const { correlationId, body } = decodeResponse(APIS.ApiVersions, 3, bytes);
    expect(correlationId).toBe(9);
    expect(body.apiKeys).toEqual([{ apiKey: 18, minVersion: 0, maxVersion: 4 }]);
    expect(body.throttleTimeMs).toBe(0);
    const hb = decodeResponse(APIS.Heartbeat, 4, Uint8Array.from([0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(hb.body).toEqual({ throttleTimeMs: 0, errorCode: 0 });
  });

  it("unknown tagged fields are skipped; int64 beyond 2^53 throws ProtocolDecodeError", () => {
    // InitProducerId v2 response: correlation, header tags, throttle, error, producerId 42, epoch 3, tags {7: [1,2,3]}
    const frame = Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 42, 0, 3, 1, 7, 3, 1, 2, 3]);
    expect(decodeResponse(APIS.InitProducerId, 2, frame).body).toEqual({ throttleTimeMs: 0, errorCode: 0, producerId: 42, producerEpoch: 3 });
    const big = frame.slice();
    big.set([0x00, 0x20, 0, 0, 0, 0, 0, 0], 11); // 2^53
    expect(() => decodeResponse(APIS.InitProducerId, 2, big)).toThrow(/2\^53/);
    expect(() => decodeResponse(APIS.InitProducerId, 2, big)).toThrow(ProtocolDecodeError);
    const w = new Writer();
    w.int64(-(2 ** 53 - 1));
    expect(new Reader(w.finish()).int64()).toBe(-(2 ** 53 - 1));
  });
});
