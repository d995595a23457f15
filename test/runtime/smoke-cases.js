// The runtime smoke test's body, in plain JavaScript so every runtime runs it unchanged.
// Each runner imports the package the way that runtime's users do and passes it in here; the
// results are compared across runtimes (and with Kafka's own test vectors) by matrix.test.ts.

/** Apache Kafka's UtilsTest.testMurmur2 vectors. */
export const KAFKA_MURMUR2_VECTORS = {
  "21": -973932308,
  foobar: -790332482,
  "a-little-bit-long-string": -985981536,
  "a-little-bit-longer-string": -1486304829,
  lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: -58897971,
  abc: 479470107,
};

export const SAMPLE_KEYS = ["order-1", "order-2", "customer-42", "ключ", "🦀 crab", ""];

export function runSmoke(tributary, runtime) {
  const encoder = new TextEncoder();
  const vectorsMatch = Object.entries(KAFKA_MURMUR2_VECTORS).every(
    ([key, expected]) => tributary.murmur2(key) === expected && tributary.murmur2(encoder.encode(key)) === expected,
  );
  return {
    runtime,
    vectorsMatch,
    crc32c: tributary.crc32c(encoder.encode("123456789")),
    murmur2: SAMPLE_KEYS.map((key) => tributary.murmur2(key)),
    partitions: SAMPLE_KEYS.map((key) => tributary.partitionForKey(key, 12)),
    batchPartitions: Array.from(tributary.partitionsForKeys(SAMPLE_KEYS.map((key) => encoder.encode(key)), 12)),
    // Every codec runs inside the core, so it works where node:zlib does not exist.
    codecs: ["none", "gzip", "snappy", "lz4", "zstd"].map((compression) => {
      const records = SAMPLE_KEYS.map((key, i) => ({ key, value: `value of ${key} `.repeat(20), timestamp: 1_700_000_000_000 + i }));
      const batch = tributary.encodeRecordBatch(records, { compression, baseOffset: 100 });
      const decoded = [...tributary.decodeRecordBatches(batch)];
      const decoder = new TextDecoder();
      const same = decoded.length === records.length &&
        decoded.every((record, i) => decoder.decode(record.value) === records[i].value && record.offset === 100 + i);
      return { compression, bytes: batch.length, crc: tributary.crc32c(batch), same };
    }),
  };
}
