/**
 * The golden record-batch fixtures (test/fixtures/golden, README there) and Kafka's own decoder
 * and encoder (test/oracles/RecordBatchOracle.java, run on the broker's jars): shared by the
 * fixtures' consistency test and the tests of Tributary's codec against them.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { REPO_ROOT } from "./kafka.ts";
import { runChecked } from "./process.ts";

export const FIXTURES = join(REPO_ROOT, "test/fixtures/golden");
export const ORACLE = join(REPO_ROOT, "test/oracles/RecordBatchOracle.java");

export type B64 = string | null;
export type BlobRef = { blob: string; length: number; sha256: string };

export interface FixtureRecord {
  offset: number;
  timestamp: number | null;
  timestampAssignedBy?: "producer" | "broker";
  key: B64;
  value: B64 | BlobRef;
  headers: Array<[string, B64]>;
  transaction?: "committed" | "aborted";
}

export interface Fixture {
  case: string;
  codec: string;
  captureWindowMs: [number, number];
  expected: {
    compression: string;
    compressionAttribute: number;
    payloadFraming: string | null;
    timestampType: "CreateTime" | "LogAppendTime";
    idempotent: boolean;
    isTransactional: boolean;
    batchCount: number;
    recordCount: number;
    lastOffset: number;
    batches: Array<{
      baseOffset: number; lastOffset: number; recordCount: number; isControl: boolean;
      isTransactional: boolean; compression: string; timestampType: string; controlType?: string;
    }>;
  };
  controlRecords?: Array<{ offset: number; type: string }>;
  records: FixtureRecord[];
}

export interface OracleBatch {
  type: "batch"; position: number; sizeInBytes: number; baseOffset: number; lastOffset: number;
  count: number; magic: number; attributes: number; compression: string; isTransactional: boolean;
  isControl: boolean; producerId: number; producerEpoch: number; baseSequence: number;
  timestampType: string; maxTimestamp: number;
}
export interface OracleRecord {
  type: "record"; offset: number; timestamp: number; key: B64; value: B64;
  headers: Array<[string, B64]>; controlType?: string;
}
export type Decoded = Array<{ batch: OracleBatch; records: OracleRecord[] }>;

export function runJava(args: string[]): Promise<string> {
  // C1 only: the JVM compiles the source file and decodes a few MB; C2 would only cost time here.
  return runChecked("RecordBatchOracle.java", "java", ["-XX:TieredStopAtLevel=1", ...args]);
}

/** Runs the oracle's `decode` on the files in one JVM; returns each file's batches with their records. */
export async function decode(classpath: string, files: string[]): Promise<Map<string, Decoded>> {
  const stdout = await runJava(["-cp", classpath, ORACLE, "decode", ...files]);
  const byFile = new Map<string, Decoded>();
  let current: Decoded = [];
  if (files.length === 1) byFile.set(files[0]!, current);
  for (const line of stdout.split("\n")) {
    if (!line) continue;
    const item = JSON.parse(line);
    if (item.type === "file") byFile.set(item.path, (current = []));
    else if (item.type === "batch") current.push({ batch: item, records: [] });
    else current.at(-1)!.records.push(item);
  }
  return byFile;
}

const blobCache = new Map<string, Buffer>();
export function blobBase64(ref: BlobRef): string {
  let bytes = blobCache.get(ref.blob);
  if (!bytes) {
    bytes = readFileSync(join(FIXTURES, ref.blob));
    blobCache.set(ref.blob, bytes);
  }
  expect(bytes.length, ref.blob).toBe(ref.length);
  expect(createHash("sha256").update(bytes).digest("hex"), ref.blob).toBe(ref.sha256);
  return bytes.toString("base64");
}
export const valueBase64 = (value: B64 | BlobRef): B64 => (value === null || typeof value === "string" ? value : blobBase64(value));


export const fixtureNames = readdirSync(FIXTURES).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort();

export function loadFixture(name: string): { fixture: Fixture; bin: Buffer } {
  return {
    fixture: JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")),
    bin: readFileSync(join(FIXTURES, `${name}.bin`)),
  };
}
