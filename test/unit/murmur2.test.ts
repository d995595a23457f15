import { describe, expect, it } from "vitest";
import { murmur2, murmur2Batch, partitionForKey, partitionsForKeys } from "../../src/entry/node.ts";
import { javaHashes } from "../support/java-oracle.ts";
import { randomBytes, seededRandom } from "../support/random.ts";
import { KAFKA_MURMUR2_VECTORS } from "../runtime/smoke-cases.js";

const utf8 = (text: string) => new TextEncoder().encode(text);

/** Random keys of random lengths: mostly short like real keys, some long, some empty. */
function randomKeys(seed: number, count: number): Uint8Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const roll = random();
    const length = roll < 0.05 ? 0 : roll < 0.9 ? Math.floor(random() * 40) : Math.floor(random() * 2000);
    return randomBytes(random, length);
  });
}

describe("murmur2 (Kafka's default partitioner hash)", () => {
  it("matches Apache Kafka's UtilsTest vectors for string and byte keys", () => {
    for (const [key, expected] of Object.entries(KAFKA_MURMUR2_VECTORS)) {
      expect(murmur2(key), key).toBe(expected);
      expect(murmur2(utf8(key)), key).toBe(expected);
    }
  });

  it("hashes strings as their UTF-8 bytes", () => {
    for (const key of ["ключ", "🦀", "é", "\u{10ffff}x", "a\u0000b"]) {
      expect(murmur2(key), key).toBe(murmur2(utf8(key)));
    }
  });

  it("agrees with the Java client's Utils.murmur2 on 10,000 random keys of random lengths", async () => {
    const seed = Date.now() >>> 0;
    const keys = randomKeys(seed, 10_000);
    const expected = await javaHashes(keys);
    const single = keys.map((key) => murmur2(key));
    const batch = Array.from(murmur2Batch(keys));
    const javaValues = expected.map((hash) => hash.murmur2);
    expect(single, `seed ${seed}`).toEqual(javaValues);
    expect(batch, `seed ${seed}`).toEqual(javaValues);
    // The default partitioner rule, for a few partition counts.
    for (const partitions of [1, 3, 12, 100, 2 ** 31 - 1]) {
      const javaPartitions = javaValues.map((hash) => (hash & 0x7fffffff) % partitions);
      expect(Array.from(partitionsForKeys(keys, partitions)), `seed ${seed}, ${partitions} partitions`).toEqual(javaPartitions);
      expect(keys.slice(0, 500).map((key) => partitionForKey(key, partitions))).toEqual(javaPartitions.slice(0, 500));
    }
  });

  it("batches strings and bytes together, and an empty batch", () => {
    const keys = ["order-1", utf8("order-2"), "", "ключ"];
    expect(Array.from(murmur2Batch(keys))).toEqual(keys.map((key) => murmur2(key)));
    expect(murmur2Batch([]).length).toBe(0);
  });

  it("rejects invalid partition counts and keys with typed errors", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => partitionForKey("k", bad)).toThrow(RangeError);
      expect(() => partitionsForKeys(["k"], bad)).toThrow(RangeError);
    }
    expect(() => murmur2(null as unknown as string)).toThrow(TypeError);
    expect(() => murmur2Batch(["ok", 42 as unknown as string])).toThrow(TypeError);
  });
});
