/**
 * A hand-built Kafka ApiVersions v3 exchange over a raw TCP socket: enough to prove that a port
 * is answered by a real Kafka broker, before (and independently of) Tributary's protocol layer.
 */
import { connect } from "node:net";

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface ApiVersionsAnswer {
  correlationId: number;
  errorCode: number;
  apis: ApiVersionRange[];
}

const API_VERSIONS_KEY = 18;

/** Request header v2 + ApiVersionsRequest v3 (a flexible version: compact strings, tagged fields). */
export function apiVersionsRequest(correlationId: number, clientId = "tributary-probe"): Buffer {
  const compactString = (text: string) => {
    const bytes = Buffer.from(text, "utf8");
    return Buffer.concat([Buffer.from([bytes.length + 1]), bytes]);
  };
  const header = Buffer.alloc(8);
  header.writeInt16BE(API_VERSIONS_KEY, 0);
  header.writeInt16BE(3, 2);
  header.writeInt32BE(correlationId, 4);
  const clientIdBytes = Buffer.from(clientId, "utf8");
  const clientIdLength = Buffer.alloc(2);
  clientIdLength.writeInt16BE(clientIdBytes.length);
  const payload = Buffer.concat([
    header, clientIdLength, clientIdBytes, Buffer.from([0]), // header tagged fields: none
    compactString("tributary"), compactString("0.1.0"), Buffer.from([0]), // body tagged fields: none
  ]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

/** Parses an ApiVersionsResponse v3 (its response header is v0 even in flexible versions). */
export function parseApiVersionsResponse(frame: Buffer): ApiVersionsAnswer {
  let offset = 0;
  const correlationId = frame.readInt32BE(offset); offset += 4;
  const errorCode = frame.readInt16BE(offset); offset += 2;
  const [countPlusOne, next] = readUnsignedVarint(frame, offset); offset = next;
  const apis: ApiVersionRange[] = [];
  for (let i = 0; i < countPlusOne - 1; i++) {
    apis.push({
      apiKey: frame.readInt16BE(offset),
      minVersion: frame.readInt16BE(offset + 2),
      maxVersion: frame.readInt16BE(offset + 4),
    });
    offset += 6;
    const [taggedFields, afterTags] = readUnsignedVarint(frame, offset);
    if (taggedFields !== 0) throw new Error("unexpected tagged fields in an ApiVersions entry");
    offset = afterTags;
  }
  return { correlationId, errorCode, apis };
}

function readUnsignedVarint(buffer: Buffer, offset: number): [number, number] {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const byte = buffer.readUInt8(offset++);
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value >>> 0, offset];
  }
  throw new Error("varint longer than 5 bytes");
}

/** Sends ApiVersions to host:port and resolves with the parsed answer (or rejects on timeout). */
export function probeApiVersions(host: string, port: number, timeoutMs = 10_000): Promise<ApiVersionsAnswer> {
  return new Promise((resolve, reject) => {
    const correlationId = 0x7c0ffee;
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const fail = (error: Error) => { socket.destroy(); reject(error); };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no ApiVersions answer from ${host}:${port} in ${timeoutMs} ms`)));
    socket.once("error", fail);
    socket.once("connect", () => socket.write(apiVersionsRequest(correlationId)));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const size = received.readInt32BE(0);
      if (received.length < 4 + size) return;
      socket.destroy();
      try {
        resolve(parseApiVersionsResponse(received.subarray(4, 4 + size)));
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}
