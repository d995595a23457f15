/**
 * Parser for Tributary's protocol definitions (src/protocol/definitions/*.def; the format is
 * described in src/protocol/README.md). Used by the generator and by the check against Kafka's JSON.
 */

/** A version range: `max` is Infinity for "N+". */
export interface Range {
  min: number;
  max: number;
}

export interface FieldDef {
  name: string;
  /** int8 … uuid, records, `[]T`, or a struct name (inline or common). */
  type: string;
  versions: Range;
  nullable: Range | null;
  tag: number | null;
  tagged: Range | null;
  default: string | null;
  /** Inline struct fields (for `[]Struct` or `Struct` types defined in place). */
  fields: FieldDef[] | null;
}

export interface StructDef {
  name: string;
  fields: FieldDef[];
}

export interface MessageDef {
  fields: FieldDef[];
  /** Common structs, referred to by name. */
  structs: StructDef[];
}

export interface ApiDef {
  name: string;
  key: number;
  min: number;
  max: number;
  /** The first flexible version, or null when none is. */
  flexible: number | null;
  request: MessageDef;
  response: MessageDef;
}

export const PRIMITIVES = new Set([
  "bool", "int8", "int16", "uint16", "int32", "int64", "float64", "string", "bytes", "records", "uuid",
]);

export function parseRange(text: string): Range {
  if (text === "none") return { min: Infinity, max: -Infinity };
  let match = /^(\d+)\+$/.exec(text);
  if (match) return { min: Number(match[1]), max: Infinity };
  match = /^(\d+)-(\d+)$/.exec(text);
  if (match) return { min: Number(match[1]), max: Number(match[2]) };
  match = /^(\d+)$/.exec(text);
  if (match) return { min: Number(match[1]), max: Number(match[1]) };
  throw new Error(`bad version range "${text}"`);
}

export function formatRange(range: Range | null): string {
  if (!range || range.min > range.max) return "none";
  if (range.max === Infinity) return `${range.min}+`;
  return range.min === range.max ? `${range.min}` : `${range.min}-${range.max}`;
}

export function intersect(a: Range | null, b: Range): Range | null {
  if (!a) return null;
  const r = { min: Math.max(a.min, b.min), max: Math.min(a.max, b.max) };
  return r.min > r.max ? null : r;
}

export function inRange(range: Range | null, version: number): boolean {
  return range !== null && version >= range.min && version <= range.max;
}

interface Line {
  indent: number;
  words: string[];
  number: number;
}

/** Parses one definition file's text. */
export function parseDefinition(text: string, file = "<definition>"): ApiDef {
  const lines: Line[] = [];
  text.split("\n").forEach((raw, i) => {
    const content = raw.replace(/#.*$/, "").trimEnd();
    if (!content.trim()) return;
    const indent = content.length - content.trimStart().length;
    if (indent % 2 !== 0) throw new Error(`${file}:${i + 1}: indent by two spaces`);
    lines.push({ indent: indent / 2, words: content.trim().split(/\s+/), number: i + 1 });
  });
  const fail = (line: Line, message: string): never => {
    throw new Error(`${file}:${line.number}: ${message}`);
  };
  let pos = 0;
  const head = lines[pos++];
  if (!head || head.words[0] !== "api") throw new Error(`${file}: the first line must be "api Name key=N versions=A-B flexible=R"`);
  const attrs = attributes(head, 2, fail);
  const versions = parseRange(attrs.versions ?? fail(head, "versions= missing"));
  const flexible = parseRange(attrs.flexible ?? fail(head, "flexible= missing"));
  const api: ApiDef = {
    name: head.words[1] ?? fail(head, "api name missing"),
    key: Number(attrs.key ?? fail(head, "key= missing")),
    min: versions.min,
    max: versions.max,
    flexible: flexible.min === Infinity ? null : flexible.min,
    request: { fields: [], structs: [] },
    response: { fields: [], structs: [] },
  };

  const parseFields = (indent: number, into: FieldDef[], structs: StructDef[] | null) => {
    while (pos < lines.length && lines[pos]!.indent >= indent) {
      const line = lines[pos]!;
      if (line.indent > indent) fail(line, "unexpected indentation");
      pos++;
      if (line.words[0] === "struct") {
        if (!structs) fail(line, "common structs go directly under request/response");
        const struct: StructDef = { name: line.words[1] ?? fail(line, "struct name missing"), fields: [] };
        parseFields(indent + 1, struct.fields, null);
        structs!.push(struct);
        continue;
      }
      const [name, type, range] = line.words;
      if (!name || !type || !range) fail(line, "a field is: Name type versions [nullable=R] [tag=N tagged=R] [default=V]");
      const a = attributes(line, 3, fail);
      const field: FieldDef = {
        name: name!,
        type: type!,
        versions: parseRange(range!),
        nullable: a.nullable ? parseRange(a.nullable) : null,
        tag: a.tag !== undefined ? Number(a.tag) : null,
        tagged: a.tagged ? parseRange(a.tagged) : null,
        default: a.default ?? null,
        fields: null,
      };
      if ((field.tag === null) !== (field.tagged === null)) fail(line, "tag= and tagged= go together");
      if (pos < lines.length && lines[pos]!.indent > indent) {
        field.fields = [];
        parseFields(indent + 1, field.fields, null);
      }
      into.push(field);
    }
  };

  while (pos < lines.length) {
    const line = lines[pos++]!;
    const section = line.words[0];
    if (line.indent !== 0 || (section !== "request" && section !== "response")) fail(line, `expected "request" or "response"`);
    const message = section === "request" ? api.request : api.response;
    parseFields(1, message.fields, message.structs);
  }
  return api;
}

function attributes(line: Line, from: number, fail: (line: Line, message: string) => never): Record<string, string> {
  const out: Record<string, string> = {};
  for (const word of line.words.slice(from)) {
    const eq = word.indexOf("=");
    if (eq <= 0) fail(line, `expected key=value, got "${word}"`);
    out[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return out;
}
