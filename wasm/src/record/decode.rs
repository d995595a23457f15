//! Decodes a Fetch response's `records` blob: record batches back to back, the last one possibly
//! cut short by the broker's size limit (reported, not an error).
//!
//! The output is columnar (see [`Decoded`]) so the TypeScript side reads it through a few typed
//! arrays and builds record objects only when asked. Key, value and header byte ranges are
//! offsets into one virtual space: `[0, input.len())` is the input blob itself (uncompressed
//! batches are not copied), and `input.len() + i` is byte `i` of [`Decoded::data`], where
//! decompressed payloads go.

use super::compression::{Codec, decompress};
use super::error::DecodeError;
use super::layout as at;
use super::varint::Reader;
use super::attributes;
use crate::checksum::crc32c;

/// Per-batch columns: `f64`s (exact integers below 2^53, no BigInt needed in JS) and `i32`s.
pub const BATCH_F64: usize = 4; // base offset, base timestamp, max timestamp, producer id
pub const BATCH_I32: usize = 9; // position, size, leader epoch, attributes, last offset delta,
//                                 producer epoch, base sequence, first record, record count
pub const RECORD_F64: usize = 2; // offset, timestamp
pub const RECORD_I32: usize = 7; // key at, key length (-1 null), value at, value length (-1 null),
//                                  first header, header count, batch index
pub const HEADER_I32: usize = 4; // key at, key length, value at, value length (-1 null)

#[derive(Default)]
pub struct Decoded {
    pub batches_f64: Vec<f64>,
    pub batches_i32: Vec<i32>,
    pub records_f64: Vec<f64>,
    pub records_i32: Vec<i32>,
    pub headers_i32: Vec<i32>,
    pub data: Vec<u8>,
    /// Bytes of the input taken by complete batches: where a truncated batch, or the batch that
    /// failed, starts.
    pub consumed: usize,
    /// The input ends inside a batch (the broker's size limit cut it).
    pub truncated: bool,
    /// Base offset of the cut batch when its first 8 bytes arrived, else -1.
    pub partial_base_offset: f64,
    /// Full size of the cut batch when its length field arrived, else -1.
    pub partial_size: f64,
    pub error: Option<BatchError>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchError {
    pub kind: DecodeError,
    pub position: usize,
    pub base_offset: f64,
    pub size: usize,
    /// For CRC mismatches: what the batch says and what its bytes give.
    pub stored_crc: u32,
    pub computed_crc: u32,
}

pub struct Options {
    pub verify_crc: bool,
    /// Most bytes all decompressed payloads of one call may produce together.
    pub max_decompressed: usize,
}

impl Decoded {
    fn clear(&mut self) {
        self.batches_f64.clear();
        self.batches_i32.clear();
        self.records_f64.clear();
        self.records_i32.clear();
        self.headers_i32.clear();
        self.data.clear();
        self.consumed = 0;
        self.truncated = false;
        self.partial_base_offset = -1.0;
        self.partial_size = -1.0;
        self.error = None;
    }

    pub fn batch_count(&self) -> usize {
        self.batches_i32.len() / BATCH_I32
    }

    pub fn record_count(&self) -> usize {
        self.records_i32.len() / RECORD_I32
    }

    /// Decodes `input`, replacing what this `Decoded` held (its buffers keep their capacity).
    pub fn decode(&mut self, input: &[u8], options: &Options) {
        self.clear();
        let mut pos = 0;
        while pos < input.len() {
            let rest = &input[pos..];
            if rest.len() < at::LOG_OVERHEAD {
                self.mark_truncated(rest);
                break;
            }
            let length = be_i32(rest, at::LENGTH);
            let base_offset = be_i64(rest, at::BASE_OFFSET) as f64;
            if rest.len() > at::MAGIC {
                match rest[at::MAGIC] {
                    2 => {}
                    0 | 1 => return self.fail(DecodeError::UnsupportedMagic, pos, base_offset, rest.len()),
                    _ => return self.fail(DecodeError::UnknownMagic, pos, base_offset, rest.len()),
                }
            }
            if length < at::MIN_LENGTH as i32 {
                return self.fail(DecodeError::BadBatchHeader, pos, base_offset, rest.len());
            }
            let size = at::LOG_OVERHEAD + length as usize;
            if rest.len() < size {
                self.mark_truncated(rest);
                break;
            }
            let batch = &rest[..size];
            let rollback = self.lengths();
            if let Err(failure) = self.decode_batch(batch, pos, input.len(), options) {
                self.truncate_to(rollback);
                self.error = Some(BatchError { position: pos, base_offset, size, ..failure });
                self.consumed = pos;
                return;
            }
            pos += size;
        }
        self.consumed = pos;
    }

    fn mark_truncated(&mut self, rest: &[u8]) {
        self.truncated = true;
        if rest.len() >= 8 {
            self.partial_base_offset = be_i64(rest, at::BASE_OFFSET) as f64;
        }
        if rest.len() >= at::LOG_OVERHEAD {
            self.partial_size = at::LOG_OVERHEAD as f64 + be_i32(rest, at::LENGTH) as f64;
        }
    }

    fn fail(&mut self, kind: DecodeError, position: usize, base_offset: f64, size: usize) {
        self.error = Some(BatchError { kind, position, base_offset, size, stored_crc: 0, computed_crc: 0 });
        self.consumed = position;
    }

    fn lengths(&self) -> [usize; 6] {
        [
            self.batches_f64.len(),
            self.batches_i32.len(),
            self.records_f64.len(),
            self.records_i32.len(),
            self.headers_i32.len(),
            self.data.len(),
        ]
    }

    fn truncate_to(&mut self, lengths: [usize; 6]) {
        self.batches_f64.truncate(lengths[0]);
        self.batches_i32.truncate(lengths[1]);
        self.records_f64.truncate(lengths[2]);
        self.records_i32.truncate(lengths[3]);
        self.headers_i32.truncate(lengths[4]);
        self.data.truncate(lengths[5]);
    }

    /// Decodes one complete batch (`batch` spans exactly its bytes) found at `position`.
    fn decode_batch(
        &mut self,
        batch: &[u8],
        position: usize,
        input_len: usize,
        options: &Options,
    ) -> Result<(), BatchError> {
        let error = |kind| BatchError { kind, position: 0, base_offset: 0.0, size: 0, stored_crc: 0, computed_crc: 0 };
        if options.verify_crc {
            let stored = be_i32(batch, at::CRC) as u32;
            let computed = crc32c(&batch[at::ATTRIBUTES..]);
            if stored != computed {
                return Err(BatchError { stored_crc: stored, computed_crc: computed, ..error(DecodeError::CrcMismatch) });
            }
        }
        let attrs = be_i16(batch, at::ATTRIBUTES);
        let codec = Codec::from_attributes(attrs).map_err(error)?;
        let base_offset = be_i64(batch, at::BASE_OFFSET);
        let base_timestamp = be_i64(batch, at::BASE_TIMESTAMP);
        let max_timestamp = be_i64(batch, at::MAX_TIMESTAMP);
        let record_count = be_i32(batch, at::RECORD_COUNT);
        if record_count < 0 {
            return Err(error(DecodeError::BadBatchHeader));
        }
        let payload = &batch[at::RECORDS..];

        // Where the records' bytes live in the virtual address space (see the module docs).
        let (records, space_base) = if codec == Codec::None {
            (payload, position + at::RECORDS)
        } else {
            let start = self.data.len();
            let budget = options.max_decompressed.saturating_sub(start);
            decompress(codec, payload, budget, &mut self.data).map_err(error)?;
            (&self.data[start..], input_len + start)
        };
        let first_record = self.record_count();
        let batch_index = self.batch_count() as i32;
        let log_append_time = attrs & attributes::LOG_APPEND_TIME != 0;
        // Parsed straight onto the output columns (no per-batch buffers to fill and copy), taken
        // out of `self` meanwhile because `records` may borrow `self.data`. On an error they go
        // back with this batch's part in them; `decode` truncates it away.
        let mut columns = RecordColumns {
            f64s: std::mem::take(&mut self.records_f64),
            i32s: std::mem::take(&mut self.records_i32),
            headers: std::mem::take(&mut self.headers_i32),
        };
        let parsed = columns.parse(records, record_count as usize, space_base, batch_index, |offset_delta, timestamp_delta| {
            let timestamp = if log_append_time { max_timestamp } else { base_timestamp.wrapping_add(timestamp_delta) };
            ((base_offset.wrapping_add(offset_delta as i64)) as f64, timestamp as f64)
        });
        self.records_f64 = columns.f64s;
        self.records_i32 = columns.i32s;
        self.headers_i32 = columns.headers;
        parsed.map_err(error)?;

        self.batches_f64.extend_from_slice(&[
            base_offset as f64,
            base_timestamp as f64,
            max_timestamp as f64,
            be_i64(batch, at::PRODUCER_ID) as f64,
        ]);
        self.batches_i32.extend_from_slice(&[
            position as i32,
            batch.len() as i32,
            be_i32(batch, at::PARTITION_LEADER_EPOCH),
            attrs as i32,
            be_i32(batch, at::LAST_OFFSET_DELTA),
            be_i16(batch, at::PRODUCER_EPOCH) as i32,
            be_i32(batch, at::BASE_SEQUENCE),
            first_record as i32,
            record_count,
        ]);
        Ok(())
    }
}

/// The output's record and header columns, which a batch's records are appended to.
struct RecordColumns {
    f64s: Vec<f64>,
    i32s: Vec<i32>,
    headers: Vec<i32>,
}

/// The smallest possible record: seven one-byte fields. Bounds pre-allocation by real input size.
const MIN_RECORD_BYTES: usize = 7;

impl RecordColumns {
    fn parse(
        &mut self,
        bytes: &[u8],
        count: usize,
        space_base: usize,
        batch_index: i32,
        place: impl Fn(i32, i64) -> (f64, f64),
    ) -> Result<(), DecodeError> {
        let plausible = count.min(bytes.len() / MIN_RECORD_BYTES + 1);
        self.f64s.reserve(plausible * RECORD_F64);
        self.i32s.reserve(plausible * RECORD_I32);
        let mut reader = Reader::new(bytes);
        for _ in 0..count {
            let length = reader.varint()?;
            if length < 0 {
                return Err(DecodeError::BadLength);
            }
            let body_start = reader.position();
            let body = reader.take(length as usize)?;
            let mut record = Reader::new(body);
            let _attributes = record.i8()?;
            let timestamp_delta = record.varlong()?;
            let offset_delta = record.varint()?;
            let key = record.nullable_bytes()?;
            let value = record.nullable_bytes()?;
            let header_count = record.varint()?;
            if header_count < 0 {
                return Err(DecodeError::BadLength);
            }
            let header_start = self.headers.len() / HEADER_I32;
            let at = |range: Option<(usize, usize)>| match range {
                Some((start, len)) => [(space_base + body_start + start) as i32, len as i32],
                None => [0, -1],
            };
            for _ in 0..header_count {
                let key_len = record.varint()?;
                if key_len < 0 {
                    return Err(DecodeError::BadLength);
                }
                let key_start = record.position();
                record.take(key_len as usize)?;
                let value = record.nullable_bytes()?;
                let [value_at, value_len] = at(value);
                self.headers.extend_from_slice(&[
                    (space_base + body_start + key_start) as i32,
                    key_len,
                    value_at,
                    value_len,
                ]);
            }
            if record.remaining() != 0 {
                return Err(DecodeError::RecordOverflow);
            }
            let (offset, timestamp) = place(offset_delta, timestamp_delta);
            let [key_at, key_len] = at(key);
            let [value_at, value_len] = at(value);
            self.f64s.extend_from_slice(&[offset, timestamp]);
            self.i32s.extend_from_slice(&[
                key_at,
                key_len,
                value_at,
                value_len,
                header_start as i32,
                header_count,
                batch_index,
            ]);
        }
        if reader.remaining() != 0 {
            return Err(DecodeError::RecordCountMismatch);
        }
        Ok(())
    }
}

fn be_i16(bytes: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn be_i32(bytes: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn be_i64(bytes: &[u8], at: usize) -> i64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[at..at + 8]);
    i64::from_be_bytes(buf)
}
