/**
 * Checksums and Kafka's key partitioning, computed by the WebAssembly core.
 *
 * `murmur2` and `partitionForKey` give exactly what Apache Kafka's Java client gives
 * (`Utils.murmur2` with seed 0x9747b28c, and `(murmur2(key) & 0x7fffffff) % numPartitions`), so a
 * key produced by Tributary lands on the same partition as the same key produced from Java.
 */
import { Status } from "./core/abi.ts";
import { maxByteLength, writeBytes } from "./core/bytes.ts";
import { core, type Core } from "./core/instance.ts";
import { TributaryError } from "./errors.ts";

/** A record key: bytes, or a string hashed as its UTF-8 bytes (as Java's StringSerializer does). */
export type Key = Uint8Array | string;

/** CRC-32C (Castagnoli) of `bytes`, as an unsigned 32-bit number. */
export function crc32c(bytes: Uint8Array): number {
  const c = core();
  const ptr = copyIn(c, bytes);
  return c.exports.tributary_crc32c(ptr, bytes.byteLength) >>> 0;
}

/** Kafka's murmur2 of a key: the same signed 32-bit integer Java's `Utils.murmur2` returns. */
export function murmur2(key: Key): number {
  const c = core();
  const [ptr, len] = writeKey(c, key);
  return c.exports.tributary_murmur2(ptr, len);
}

/** The partition Kafka's default partitioner picks for a (non-null) key. */
export function partitionForKey(key: Key, numPartitions: number): number {
  checkPartitionCount(numPartitions);
  const c = core();
  const [ptr, len] = writeKey(c, key);
  return c.exports.tributary_partition_for_key(ptr, len, numPartitions);
}

/** Kafka's murmur2 of many keys in one call into the core. */
export function murmur2Batch(keys: ReadonlyArray<Key>): Int32Array {
  return hashKeys(keys, 0);
}

/** The default partitioner's choice for many keys in one call into the core. */
export function partitionsForKeys(keys: ReadonlyArray<Key>, numPartitions: number): Int32Array {
  checkPartitionCount(numPartitions);
  return hashKeys(keys, numPartitions);
}

function checkPartitionCount(numPartitions: number): void {
  if (!Number.isInteger(numPartitions) || numPartitions < 1 || numPartitions > 0x7fffffff) {
    throw new RangeError(`numPartitions must be a whole number from 1 to 2^31-1, got ${numPartitions}`);
  }
}

function checkKey(key: unknown): asserts key is Key {
  if (typeof key !== "string" && !(key instanceof Uint8Array)) {
    throw new TypeError(`a key must be a Uint8Array or a string, got ${key === null ? "null" : typeof key}`);
  }
}

function copyIn(c: Core, bytes: Uint8Array): number {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("crc32c expects a Uint8Array");
  const ptr = c.scratch(bytes.byteLength);
  c.bytes().set(bytes, ptr);
  return ptr;
}

/** Writes one key into scratch memory; returns its address and byte length. */
function writeKey(c: Core, key: Key): [number, number] {
  checkKey(key);
  const ptr = c.scratch(maxByteLength(key));
  return [ptr, writeBytes(c.bytes(), ptr, key)];
}

/**
 * Lays the keys out in scratch memory as `[offsets: u32 × (n+1)][out: i32 × n][key bytes…]` and
 * hashes them all with one call. `partitions` 0 asks for raw hashes.
 */
function hashKeys(keys: ReadonlyArray<Key>, partitions: number): Int32Array {
  const count = keys.length;
  let capacity = 0;
  for (const key of keys) {
    checkKey(key);
    capacity += maxByteLength(key);
  }
  const c = core();
  const offsetsPtr = c.scratch(8 * count + 4 + capacity);
  const outPtr = offsetsPtr + 4 * (count + 1);
  const dataPtr = outPtr + 4 * count;
  const memory = c.bytes();
  const offsets = new Uint32Array(memory.buffer, offsetsPtr, count + 1);
  let end = 0;
  for (let i = 0; i < count; i++) {
    const key = keys[i]!;
    offsets[i] = end;
    end += writeBytes(memory, dataPtr + end, key);
  }
  offsets[count] = end;
  const status = c.exports.tributary_murmur2_batch(dataPtr, end, offsetsPtr, count, partitions, outPtr);
  if (status !== Status.ok) throw new TributaryError(`tributary_murmur2_batch rejected its layout (status ${status})`);
  return new Int32Array(c.bytes().buffer, outPtr, count).slice();
}
