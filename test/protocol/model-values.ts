/**
 * Test support: random values for any message of our definitions, in a given version (only the
 * fields that version has), so round trips exercise every field of every version.
 */
import { type ApiDef, type FieldDef, inRange, type MessageDef, PRIMITIVES } from "../../scripts/protocol/dsl.ts";

const camel = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed;
  }
  next(): number {
    this.state = (this.state * 1664525 + 1013904223) >>> 0;
    return this.state / 2 ** 32;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
}

function primitive(rng: Rng, type: string): unknown {
  switch (type) {
    case "bool": return rng.bool();
    case "int8": return rng.int(-128, 127);
    case "int16": return rng.int(-32768, 32767);
    case "uint16": return rng.int(0, 65535);
    case "int32": return rng.int(-(2 ** 31), 2 ** 31 - 1);
    case "int64": return rng.bool(0.2) ? -1 : rng.int(-(2 ** 53 - 1), 2 ** 53 - 1);
    case "float64": return rng.next() * 1e6;
    case "string": return rng.bool(0.2) ? "" : ["topic-ä", "g", "consumer-1", "π≈3.14", "x".repeat(rng.int(1, 200))][rng.int(0, 4)];
    case "uuid": {
      const hex = Array.from({ length: 32 }, () => rng.int(0, 15).toString(16)).join("");
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    case "bytes": case "records": return Uint8Array.from({ length: rng.int(0, 40) }, () => rng.int(0, 255));
  }
  throw new Error(`unknown primitive ${type}`);
}

export function randomMessage(api: ApiDef, msg: MessageDef, version: number, rng: Rng): Record<string, unknown> {
  const struct = (fields: FieldDef[], depth: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      if (!inRange(f.versions, version)) continue;
      if (f.tag !== null && inRange(f.tagged, version) && rng.bool(0.3)) continue; // absent tagged field
      out[camel(f.name)] = value(f, f.type, depth, inRange(f.nullable, version));
    }
    return out;
  };
  const value = (f: FieldDef, type: string, depth: number, nullable: boolean): unknown => {
    if (nullable && rng.bool(0.25)) return null;
    if (type.startsWith("[]")) {
      const n = depth > 3 ? 0 : rng.int(0, 3);
      return Array.from({ length: n }, () => value(f, type.slice(2), depth + 1, false));
    }
    if (PRIMITIVES.has(type)) return primitive(rng, type);
    const fields = f.fields ?? msg.structs.find((s) => s.name === type)?.fields;
    if (!fields) throw new Error(`${api.name}: unknown struct ${type}`);
    return struct(fields, depth + 1);
  };
  return struct(msg.fields, 0);
}
