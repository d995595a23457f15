//! Kafka record batches (message format v2, "magic 2"): decoding fetched `records` blobs into a
//! columnar layout, and encoding batches for the producer.

pub mod compression;
pub mod decode;
pub mod encode;
pub mod error;
mod exports;
pub mod lz4;
pub mod varint;

/// Fixed layout of a v2 batch header (all big-endian).
pub mod layout {
    pub const BASE_OFFSET: usize = 0;
    pub const LENGTH: usize = 8;
    pub const PARTITION_LEADER_EPOCH: usize = 12;
    pub const MAGIC: usize = 16;
    pub const CRC: usize = 17;
    pub const ATTRIBUTES: usize = 21;
    pub const LAST_OFFSET_DELTA: usize = 23;
    pub const BASE_TIMESTAMP: usize = 27;
    pub const MAX_TIMESTAMP: usize = 35;
    pub const PRODUCER_ID: usize = 43;
    pub const PRODUCER_EPOCH: usize = 51;
    pub const BASE_SEQUENCE: usize = 53;
    pub const RECORD_COUNT: usize = 57;
    pub const RECORDS: usize = 61;
    /// Bytes before the `length` field's coverage starts (base offset + length).
    pub const LOG_OVERHEAD: usize = 12;
    /// The smallest valid `length`: the header after the length field, with no records.
    pub const MIN_LENGTH: usize = RECORDS - LOG_OVERHEAD;
}

/// Batch attribute bits.
pub mod attributes {
    pub const COMPRESSION_MASK: i16 = 0x07;
    pub const LOG_APPEND_TIME: i16 = 0x08;
    pub const TRANSACTIONAL: i16 = 0x10;
    pub const CONTROL: i16 = 0x20;
}
