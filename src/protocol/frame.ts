/**
 * Request and response framing: the 4-byte size prefix and the headers.
 *
 * - Request header v1 (non-flexible versions): api_key int16, api_version int16, correlation_id
 *   int32, client_id nullable string (int16 length). v2 (flexible versions): the same plus a
 *   tagged-field section (client_id stays a classic, non-compact string). v0 (no client_id) was only
 *   used by ControlledShutdown v0, which Kafka 4 no longer accepts, so it is never written.
 * - Response header v0: correlation_id int32. v1 (flexible versions): plus tagged fields. ApiVersions
 *   responses always use v0, so a client can read them whatever version the broker speaks.
 */
import { ProtocolDecodeError } from "../errors.ts";
import type { ApiCodec } from "./api.ts";
import { Reader } from "./codec/reader.ts";
import { Writer } from "./codec/writer.ts";

const API_VERSIONS_KEY = 18;

type AnyApi = ApiCodec<any, any>;

export function isFlexible(api: AnyApi, version: number): boolean {
  return api.flexibleFrom !== null && version >= api.flexibleFrom;
}

export function requestHeaderVersion(api: AnyApi, version: number): 1 | 2 {
  return isFlexible(api, version) ? 2 : 1;
}

export function responseHeaderVersion(api: AnyApi, version: number): 0 | 1 {
  return api.key !== API_VERSIONS_KEY && isFlexible(api, version) ? 1 : 0;
}

function checkVersion(api: AnyApi, version: number): void {
  if (!Number.isInteger(version) || version < api.minVersion || version > api.maxVersion) {
    throw new RangeError(`${api.name} version ${version} is outside Tributary's range ${api.minVersion}-${api.maxVersion}`);
  }
}

/** A size-prefixed request frame, ready to write to a socket. */
export function encodeRequest<Req>(
  api: ApiCodec<Req, unknown>,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: Req,
): Uint8Array {
  checkVersion(api, version);
  const w = new Writer(256);
  w.int32(0); // size, patched below
  w.int16(api.key);
  w.int16(version);
  w.int32(correlationId);
  w.string(clientId, false);
  if (requestHeaderVersion(api, version) === 2) w.uvarint(0);
  api.encodeRequest(w, version, body);
  const frame = w.finish();
  new DataView(frame.buffer).setInt32(0, frame.length - 4);
  return frame;
}

/** The correlation id of a response frame (without its size prefix), to match it to its request. */
export function peekCorrelationId(frame: Uint8Array): number {
  return new Reader(frame).int32();
}

/** Decodes a response frame (without its size prefix) to a request sent in `version`. */
export function decodeResponse<Res>(api: ApiCodec<unknown, Res>, version: number, frame: Uint8Array): { correlationId: number; body: Res } {
  checkVersion(api, version);
  const r = new Reader(frame);
  const correlationId = r.int32();
  if (responseHeaderVersion(api, version) === 1) r.taggedFields(() => false);
  const body = api.decodeResponse(r, version);
  if (r.remaining !== 0) throw new ProtocolDecodeError(`${api.name} v${version} response has ${r.remaining} unread bytes`, r.pos);
  return { correlationId, body };
}

/** A size-prefixed response frame (for mock brokers and tests). */
export function encodeResponse<Res>(api: ApiCodec<unknown, Res>, version: number, correlationId: number, body: Res): Uint8Array {
  checkVersion(api, version);
  const w = new Writer(256);
  w.int32(0);
  w.int32(correlationId);
  if (responseHeaderVersion(api, version) === 1) w.uvarint(0);
  api.encodeResponse(w, version, body);
  const frame = w.finish();
  new DataView(frame.buffer).setInt32(0, frame.length - 4);
  return frame;
}

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Reads a request frame's header (without the size prefix); `apis` maps keys to codecs. */
export function decodeRequest(apis: ReadonlyMap<number, AnyApi>, frame: Uint8Array): { header: RequestHeader; api: AnyApi; body: unknown } {
  const r = new Reader(frame);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.string(false, true);
  const api = apis.get(apiKey);
  if (!api) throw new ProtocolDecodeError(`unknown API key ${apiKey}`, 0);
  if (apiVersion < api.minVersion || apiVersion > api.maxVersion) throw new ProtocolDecodeError(`${api.name} version ${apiVersion} is not supported`, 2);
  if (requestHeaderVersion(api, apiVersion) === 2) r.taggedFields(() => false);
  const body = api.decodeRequest(r, apiVersion);
  if (r.remaining !== 0) throw new ProtocolDecodeError(`${api.name} v${apiVersion} request has ${r.remaining} unread bytes`, r.pos);
  return { header: { apiKey, apiVersion, correlationId, clientId }, api, body };
}
