/**
 * Development only: reads Apache Kafka's JSON message specs (../shared/kafka-protocol by default)
 * into the same model as our definitions. Used by `check:protocol` and by `import.ts`; nothing in
 * the build, the package or the tests reads Kafka's JSON.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type ApiDef, type FieldDef, type MessageDef, parseRange } from "./dsl.ts";

export const DEFAULT_SPEC_DIR = new URL("../../../shared/kafka-protocol/", import.meta.url).pathname;

interface JsonField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  fields?: JsonField[];
}

interface JsonMessage {
  apiKey: number;
  validVersions: string;
  flexibleVersions: string;
  fields: JsonField[];
  commonStructs?: { name: string; fields: JsonField[] }[];
}

/** Strips `//` comments outside strings, then parses. */
export function parseKafkaJson(text: string): JsonMessage {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else out += c;
  }
  return JSON.parse(out) as JsonMessage;
}

function field(json: JsonField): FieldDef {
  return {
    name: json.name,
    type: json.type,
    versions: parseRange(json.versions),
    nullable: json.nullableVersions ? parseRange(json.nullableVersions) : null,
    tag: json.tag ?? null,
    tagged: json.taggedVersions ? parseRange(json.taggedVersions) : null,
    default: json.default === undefined ? null : String(json.default),
    fields: json.fields ? json.fields.map(field) : null,
  };
}

function message(json: JsonMessage): MessageDef {
  return {
    fields: json.fields.map(field),
    structs: (json.commonStructs ?? []).map((s) => ({ name: s.name, fields: s.fields.map(field) })),
  };
}

/** Kafka's definition of one API, over all of Kafka's versions. */
export function loadKafkaApi(name: string, specDir = DEFAULT_SPEC_DIR): ApiDef {
  const request = parseKafkaJson(readFileSync(join(specDir, `${name}Request.json`), "utf8"));
  const response = parseKafkaJson(readFileSync(join(specDir, `${name}Response.json`), "utf8"));
  const versions = parseRange(request.validVersions);
  const flexible = parseRange(request.flexibleVersions);
  return {
    name,
    key: request.apiKey,
    min: versions.min,
    max: versions.max,
    flexible: flexible.min === Infinity ? null : flexible.min,
    request: message(request),
    response: message(response),
  };
}
