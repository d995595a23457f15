/**
 * Development only: writes a starting definition for an API from Kafka's JSON specs, keeping the
 * fields that exist in our version range. Review the output before committing it.
 *
 *   node_modules/node24/bin/node scripts/protocol/import.ts Metadata 0 [specDir] > src/protocol/definitions/Metadata.def
 */
import { type ApiDef, type FieldDef, formatRange, intersect, type Range } from "./dsl.ts";
import { DEFAULT_SPEC_DIR, loadKafkaApi } from "./kafka-json.ts";

export function renderDefinition(api: ApiDef, floor: number): string {
  const range: Range = { min: floor, max: api.max };
  const out: string[] = [
    `api ${api.name} key=${api.key} versions=${formatRange(range)} flexible=${api.flexible === null ? "none" : `${api.flexible}+`}`,
  ];
  const fields = (list: FieldDef[], depth: number, within: Range) => {
    for (const f of list) {
      const live = intersect(f.versions, within);
      if (!live) continue;
      let line = `${"  ".repeat(depth)}${f.name} ${f.type} ${formatRange(f.versions)}`;
      if (f.nullable && intersect(f.nullable, live)) line += ` nullable=${formatRange(f.nullable)}`;
      if (f.tag !== null) line += ` tag=${f.tag} tagged=${formatRange(f.tagged)}`;
      if (f.default !== null) line += ` default=${f.default === "" ? '""' : f.default}`;
      out.push(line);
      if (f.fields) fields(f.fields, depth + 1, live);
    }
  };
  for (const section of ["request", "response"] as const) {
    out.push("", section);
    fields(api[section].fields, 1, range);
    for (const s of api[section].structs) {
      out.push(`  struct ${s.name}`);
      fields(s.fields, 2, range);
    }
  }
  return out.join("\n") + "\n";
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const [name, floor, specDir] = process.argv.slice(2);
  if (!name || floor === undefined) {
    console.error("usage: import.ts <ApiName> <floor> [specDir]");
    process.exit(2);
  }
  process.stdout.write(renderDefinition(loadKafkaApi(name, specDir ?? DEFAULT_SPEC_DIR), Number(floor)));
}
