//! Encodes one v2 record batch for the producer: the exact bytes Kafka expects (attributes,
//! varints, CRC-32C over everything after the CRC field), optionally compressed.

use super::attributes;
use super::compression::{Codec, compress};
use super::layout as at;
use super::varint::{varint_size, varlong_size, write_varint, write_varlong};
use crate::checksum::crc32c;

pub struct Header<'a> {
    pub key: &'a [u8],
    pub value: Option<&'a [u8]>,
}

pub struct Record<'a> {
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<Header<'a>>,
}

pub struct BatchSpec {
    pub base_offset: i64,
    pub partition_leader_epoch: i32,
    pub codec: Codec,
    pub transactional: bool,
    pub control: bool,
    pub log_append_time: bool,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

/// Writes the batch holding `records` (offset deltas 0, 1, 2, …) to `out`, reusing `scratch`
/// for the uncompressed record bytes.
pub fn encode_batch(spec: &BatchSpec, records: &[Record], scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
    // Java's producer takes the first record's timestamp as the base; deltas may be negative.
    let base_timestamp = records.first().map_or(-1, |record| record.timestamp);
    let max_timestamp = records.iter().map(|record| record.timestamp).max().unwrap_or(-1);

    scratch.clear();
    for (delta, record) in records.iter().enumerate() {
        write_record(scratch, record, delta as i32, record.timestamp.wrapping_sub(base_timestamp));
    }

    let start = out.len();
    out.resize(start + at::RECORDS, 0);
    compress(spec.codec, scratch, out);

    let mut attrs = spec.codec as i16;
    if spec.log_append_time {
        attrs |= attributes::LOG_APPEND_TIME;
    }
    if spec.transactional {
        attrs |= attributes::TRANSACTIONAL;
    }
    if spec.control {
        attrs |= attributes::CONTROL;
    }
    let batch = &mut out[start..];
    let length = (batch.len() - at::LOG_OVERHEAD) as i32;
    put(batch, at::BASE_OFFSET, &spec.base_offset.to_be_bytes());
    put(batch, at::LENGTH, &length.to_be_bytes());
    put(batch, at::PARTITION_LEADER_EPOCH, &spec.partition_leader_epoch.to_be_bytes());
    batch[at::MAGIC] = 2;
    put(batch, at::ATTRIBUTES, &attrs.to_be_bytes());
    put(batch, at::LAST_OFFSET_DELTA, &(records.len() as i32 - 1).max(0).to_be_bytes());
    put(batch, at::BASE_TIMESTAMP, &base_timestamp.to_be_bytes());
    put(batch, at::MAX_TIMESTAMP, &max_timestamp.to_be_bytes());
    put(batch, at::PRODUCER_ID, &spec.producer_id.to_be_bytes());
    put(batch, at::PRODUCER_EPOCH, &spec.producer_epoch.to_be_bytes());
    put(batch, at::BASE_SEQUENCE, &spec.base_sequence.to_be_bytes());
    put(batch, at::RECORD_COUNT, &(records.len() as i32).to_be_bytes());
    let crc = crc32c(&batch[at::ATTRIBUTES..]);
    put(batch, at::CRC, &crc.to_be_bytes());
}

fn put(batch: &mut [u8], at: usize, bytes: &[u8]) {
    batch[at..at + bytes.len()].copy_from_slice(bytes);
}

fn write_record(out: &mut Vec<u8>, record: &Record, offset_delta: i32, timestamp_delta: i64) {
    let mut body_len = 1 + varlong_size(timestamp_delta) + varint_size(offset_delta);
    body_len += nullable_size(record.key) + nullable_size(record.value);
    body_len += varint_size(record.headers.len() as i32);
    for header in &record.headers {
        body_len += varint_size(header.key.len() as i32) + header.key.len() + nullable_size(header.value);
    }
    write_varint(out, body_len as i32);
    out.push(0); // record attributes: unused by Kafka
    write_varlong(out, timestamp_delta);
    write_varint(out, offset_delta);
    write_nullable(out, record.key);
    write_nullable(out, record.value);
    write_varint(out, record.headers.len() as i32);
    for header in &record.headers {
        write_varint(out, header.key.len() as i32);
        out.extend_from_slice(header.key);
        write_nullable(out, header.value);
    }
}

fn nullable_size(bytes: Option<&[u8]>) -> usize {
    match bytes {
        Some(bytes) => varint_size(bytes.len() as i32) + bytes.len(),
        None => 1,
    }
}

fn write_nullable(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(bytes) => {
            write_varint(out, bytes.len() as i32);
            out.extend_from_slice(bytes);
        }
        None => write_varint(out, -1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::decode::{Decoded, Options};

    fn spec(codec: Codec) -> BatchSpec {
        BatchSpec {
            base_offset: 100,
            partition_leader_epoch: 7,
            codec,
            transactional: false,
            control: false,
            log_append_time: false,
            producer_id: 4000,
            producer_epoch: 3,
            base_sequence: 12,
        }
    }

    #[test]
    fn encoded_batches_decode_to_the_same_records() {
        let big = vec![7u8; 100_000];
        let records = vec![
            Record { timestamp: 1_700_000_000_000, key: Some(b"k1"), value: Some(b"v1"), headers: vec![] },
            Record {
                timestamp: 1_699_999_999_000,
                key: None,
                value: Some(&big),
                headers: vec![Header { key: b"h", value: Some(b"1") }, Header { key: b"h", value: None }],
            },
            Record { timestamp: 1_700_000_000_500, key: Some(b""), value: None, headers: vec![] },
        ];
        for codec in [Codec::None, Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let mut out = Vec::new();
            encode_batch(&spec(codec), &records, &mut Vec::new(), &mut out);
            let mut decoded = Decoded::default();
            decoded.decode(&out, &Options { verify_crc: true, max_decompressed: 1 << 24 });
            assert_eq!(decoded.error, None, "{codec:?}");
            assert_eq!(decoded.record_count(), 3);
            assert_eq!(decoded.records_f64, vec![100.0, 1.7e12, 101.0, 1_699_999_999_000.0, 102.0, 1_700_000_000_500.0]);
            assert_eq!(decoded.batches_f64[2], 1_700_000_000_500.0, "max timestamp");
            // record 1: null key, 100 kB value, two headers named "h", the second null
            assert_eq!(decoded.records_i32[7 + 1], -1);
            assert_eq!(decoded.records_i32[7 + 3], 100_000);
            assert_eq!(decoded.records_i32[7 + 5], 2);
            assert_eq!(decoded.headers_i32[7], -1);
            assert!(!decoded.truncated);
            assert_eq!(decoded.consumed, out.len());
        }
    }
}
