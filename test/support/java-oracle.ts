/**
 * Runs test/oracles/KafkaHashes.java against the Kafka client jars: the independent reference
 * for murmur2 (Kafka's Utils.murmur2) and CRC-32C (java.util.zip.CRC32C).
 */
import { spawn } from "node:child_process";
import { kafkaClasspath, REPO_ROOT } from "./kafka.ts";

export interface JavaHashes {
  murmur2: number;
  crc32c: number;
}

export async function javaHashes(inputs: ReadonlyArray<Uint8Array>): Promise<JavaHashes[]> {
  const classpath = await kafkaClasspath();
  const child = spawn("java", ["-cp", classpath, `${REPO_ROOT}test/oracles/KafkaHashes.java`], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  child.stdin.end(inputs.map((bytes) => Buffer.from(bytes).toString("hex")).join("\n") + "\n");
  const code = await exited;
  if (code !== 0) throw new Error(`KafkaHashes.java exited with ${code}: ${Buffer.concat(stderr).toString()}`);
  const lines = Buffer.concat(stdout).toString().trim().split("\n");
  if (lines.length !== inputs.length) throw new Error(`KafkaHashes.java answered ${lines.length} of ${inputs.length} inputs`);
  return lines.map((line) => {
    const [murmur2, crc32c] = line.split(" ").map(Number);
    return { murmur2: murmur2!, crc32c: crc32c! };
  });
}

/** A small seeded PRNG (mulberry32), so a failing random case can be reproduced from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}
