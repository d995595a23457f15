/**
 * Runs test/oracles/KafkaHashes.java against the Kafka client jars: the independent reference
 * for murmur2 (Kafka's Utils.murmur2) and CRC-32C (java.util.zip.CRC32C).
 */
import { kafkaClasspath, REPO_ROOT } from "./kafka.ts";
import { runChecked } from "./process.ts";

export interface JavaHashes {
  murmur2: number;
  crc32c: number;
}

export async function javaHashes(inputs: ReadonlyArray<Uint8Array>): Promise<JavaHashes[]> {
  const classpath = await kafkaClasspath();
  const stdout = await runChecked("KafkaHashes.java", "java", ["-cp", classpath, `${REPO_ROOT}test/oracles/KafkaHashes.java`], {
    stdin: inputs.map((bytes) => Buffer.from(bytes).toString("hex")).join("\n") + "\n",
  });
  const lines = stdout.trim().split("\n");
  if (lines.length !== inputs.length) throw new Error(`KafkaHashes.java answered ${lines.length} of ${inputs.length} inputs`);
  return lines.map((line) => {
    const [murmur2, crc32c] = line.split(" ").map(Number);
    return { murmur2: murmur2!, crc32c: crc32c! };
  });
}
