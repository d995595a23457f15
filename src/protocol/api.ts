/** The shape of one API's entry in the generated API table (src/protocol/generated/index.ts). */
import type { Reader } from "./codec/reader.ts";
import type { Writer } from "./codec/writer.ts";

export interface ApiCodec<Req, Res> {
  name: string;
  key: number;
  minVersion: number;
  maxVersion: number;
  /** The first flexible version (compact encodings, tagged fields, request header v2), or null. */
  flexibleFrom: number | null;
  encodeRequest(w: Writer, version: number, v: Req): void;
  decodeRequest(r: Reader, version: number): Req;
  encodeResponse(w: Writer, version: number, v: Res): void;
  decodeResponse(r: Reader, version: number): Res;
}
