/** Kafka's compression codecs, by their id in a batch's attributes. */
export const COMPRESSION_CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
export type CompressionCodec = (typeof COMPRESSION_CODECS)[number];

export interface RecordHeader {
  /** Header keys are strings in Kafka (UTF-8 on the wire). */
  key: string;
  value: Uint8Array | null;
}

/** One record, as the lazy `RecordSet` materialises it. */
export interface DecodedRecord {
  offset: number;
  /** Milliseconds since the epoch: create time, or log-append time when the topic uses it. */
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

/** Facts of one record batch, for transactions (read_committed), sequencing and diagnostics. */
export interface RecordBatchInfo {
  baseOffset: number;
  /** `baseOffset + lastOffsetDelta`: the next fetch starts after it even when records were compacted away. */
  lastOffset: number;
  baseTimestamp: number;
  maxTimestamp: number;
  timestampType: "create-time" | "log-append-time";
  compression: CompressionCodec;
  isTransactional: boolean;
  /** Holds control records (transaction commit/abort markers), not user records. */
  isControl: boolean;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  partitionLeaderEpoch: number;
  /** Index of the batch's first record in the `RecordSet`, and how many it holds. */
  firstRecord: number;
  recordCount: number;
  /** Where the batch starts in the decoded input, and its size in bytes. */
  position: number;
  size: number;
}
