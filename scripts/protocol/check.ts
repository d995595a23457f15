/**
 * Development check (not part of the tests): compares our definitions (src/protocol/definitions)
 * with Apache Kafka's JSON specs — API keys, version ranges, flexible versions, and every field's
 * name, type, versions, nullable versions, tag and default, within the versions we support.
 * Prints the differences and exits 1 if there are any.
 *
 *   npm run check:protocol [-- specDir]      (default: ../shared/kafka-protocol)
 */
import { existsSync } from "node:fs";
import { type ApiDef, type FieldDef, formatRange, intersect, type MessageDef, PRIMITIVES, type Range } from "./dsl.ts";
import { loadDefinitions } from "./generate.ts";
import { DEFAULT_SPEC_DIR, loadKafkaApi } from "./kafka-json.ts";

function normalizeDefault(f: FieldDef): string | null {
  if (f.default === null) return null;
  if (f.default === '""') return "";
  if (/^-?(0x[0-9a-f]+|\d+)$/i.test(f.default)) return String(Number(f.default));
  return f.default;
}

function resolve(msg: MessageDef, f: FieldDef): FieldDef[] | null {
  const type = f.type.startsWith("[]") ? f.type.slice(2) : f.type;
  if (PRIMITIVES.has(type)) return null;
  return f.fields ?? msg.structs.find((s) => s.name === type)?.fields ?? null;
}

export function compareApi(ours: ApiDef, kafka: ApiDef): string[] {
  const diffs: string[] = [];
  const at = (path: string, message: string) => diffs.push(`${ours.name}: ${path}: ${message}`);
  if (ours.key !== kafka.key) at("api", `key ${ours.key}, Kafka ${kafka.key}`);
  if (ours.max !== kafka.max) at("api", `max version ${ours.max}, Kafka ${kafka.max}`);
  if (ours.min < kafka.min) at("api", `min version ${ours.min} is below Kafka's ${kafka.min}`);
  if (ours.flexible !== kafka.flexible) at("api", `flexible from ${ours.flexible}, Kafka ${kafka.flexible}`);
  const range: Range = { min: Math.max(ours.min, kafka.min), max: Math.min(ours.max, kafka.max) };

  const fields = (path: string, mine: FieldDef[], theirs: FieldDef[], live: Range, myMsg: MessageDef, theirMsg: MessageDef) => {
    const mineLive = mine.filter((f) => intersect(f.versions, live));
    const theirsLive = theirs.filter((f) => intersect(f.versions, live));
    for (const t of theirsLive) {
      const m = mineLive.find((f) => f.name === t.name);
      const p = `${path}.${t.name}`;
      if (!m) {
        at(p, `missing (Kafka: ${t.type} ${formatRange(intersect(t.versions, live))})`);
        continue;
      }
      const fl = intersect(t.versions, live)!;
      if (m.type !== t.type) at(p, `type ${m.type}, Kafka ${t.type}`);
      if (formatRange(intersect(m.versions, live)) !== formatRange(fl)) at(p, `versions ${formatRange(intersect(m.versions, live))}, Kafka ${formatRange(fl)}`);
      if (formatRange(intersect(m.nullable, fl)) !== formatRange(intersect(t.nullable, fl))) {
        at(p, `nullable ${formatRange(intersect(m.nullable, fl))}, Kafka ${formatRange(intersect(t.nullable, fl))}`);
      }
      if (m.tag !== t.tag || formatRange(intersect(m.tagged, fl)) !== formatRange(intersect(t.tagged, fl))) {
        at(p, `tag ${m.tag} in ${formatRange(intersect(m.tagged, fl))}, Kafka tag ${t.tag} in ${formatRange(intersect(t.tagged, fl))}`);
      }
      if (normalizeDefault(m) !== normalizeDefault(t)) at(p, `default ${m.default}, Kafka ${t.default}`);
      const ms = resolve(myMsg, m);
      const ts = resolve(theirMsg, t);
      if ((ms === null) !== (ts === null)) at(p, `struct/primitive mismatch`);
      else if (ms && ts) fields(p, ms, ts, fl, myMsg, theirMsg);
    }
    for (const m of mineLive) {
      if (!theirsLive.some((t) => t.name === m.name)) at(`${path}.${m.name}`, `not in Kafka's spec for versions ${formatRange(live)}`);
    }
  };
  fields("request", ours.request.fields, kafka.request.fields, range, ours.request, kafka.request);
  fields("response", ours.response.fields, kafka.response.fields, range, ours.response, kafka.response);
  return diffs;
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const specDir = process.argv[2] ?? DEFAULT_SPEC_DIR;
  if (!existsSync(specDir)) {
    console.error(`no Kafka specs at ${specDir}: pass the directory of Kafka's message JSON files`);
    process.exit(2);
  }
  const diffs: string[] = [];
  const apis = loadDefinitions();
  for (const api of apis) diffs.push(...compareApi(api, loadKafkaApi(api.name, specDir)));
  for (const line of diffs) console.log(line);
  console.log(`${apis.length} APIs checked against ${specDir}: ${diffs.length} difference${diffs.length === 1 ? "" : "s"}`);
  process.exit(diffs.length ? 1 : 0);
}
