//! The record codec's `extern "C"` surface. Results live in buffers owned by the core and stay
//! valid until the next call of the same export; TypeScript copies out what it keeps.

use super::compression::Codec;
use super::decode::{Decoded, Options};
use super::encode::{BatchSpec, Header, Record, encode_batch};
use crate::memory::{CallState, slice};

static DECODED: CallState<Decoded> = CallState::new();
static DECODE_SUMMARY: CallState<[f64; DECODE_SUMMARY_LEN]> = CallState::new();
/// Scratch for the uncompressed records, and the encoded batch.
static ENCODED: CallState<(Vec<u8>, Vec<u8>)> = CallState::new();
static ENCODE_SUMMARY: CallState<[f64; 3]> = CallState::new();

/// Slots of the decode summary (`src/records/decode.ts` reads them by these indices).
const DECODE_SUMMARY_LEN: usize = 22;
mod slot {
    pub const ERROR: usize = 0; // 0, or a DecodeError code
    pub const BATCHES: usize = 1;
    pub const RECORDS: usize = 2;
    pub const HEADERS: usize = 3;
    pub const CONSUMED: usize = 4;
    pub const TRUNCATED: usize = 5;
    pub const PARTIAL_BASE_OFFSET: usize = 6;
    pub const PARTIAL_SIZE: usize = 7;
    pub const ERROR_POSITION: usize = 8;
    pub const ERROR_BASE_OFFSET: usize = 9;
    pub const ERROR_SIZE: usize = 10;
    pub const ERROR_STORED_CRC: usize = 11;
    pub const ERROR_COMPUTED_CRC: usize = 12;
    pub const BATCHES_F64: usize = 13;
    pub const BATCHES_I32: usize = 14;
    pub const RECORDS_F64: usize = 15;
    pub const RECORDS_I32: usize = 16;
    pub const HEADERS_I32: usize = 17;
    pub const DATA: usize = 18;
    pub const DATA_LEN: usize = 19;
}

const FLAG_VERIFY_CRC: u32 = 1;

/// Decodes the record batches in `len` bytes at `ptr`; returns the address of the summary
/// (`DECODE_SUMMARY_LEN` f64s, see `slot`).
///
/// # Safety
/// `ptr..ptr+len` must be readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tributary_decode_batches(ptr: *const u8, len: usize, flags: u32, max_decompressed: f64) -> *const f64 {
    let input = unsafe { slice(ptr, len) };
    let options = Options {
        verify_crc: flags & FLAG_VERIFY_CRC != 0,
        max_decompressed: if max_decompressed.is_finite() && max_decompressed >= 0.0 {
            max_decompressed as usize
        } else {
            usize::MAX
        },
    };
    DECODED.with(|decoded| {
        decoded.decode(input, &options);
        DECODE_SUMMARY.with(|summary| {
            summary.fill(0.0);
            summary[slot::BATCHES] = decoded.batch_count() as f64;
            summary[slot::RECORDS] = decoded.record_count() as f64;
            summary[slot::HEADERS] = (decoded.headers_i32.len() / super::decode::HEADER_I32) as f64;
            summary[slot::CONSUMED] = decoded.consumed as f64;
            summary[slot::TRUNCATED] = decoded.truncated as u8 as f64;
            summary[slot::PARTIAL_BASE_OFFSET] = decoded.partial_base_offset;
            summary[slot::PARTIAL_SIZE] = decoded.partial_size;
            if let Some(error) = decoded.error {
                summary[slot::ERROR] = error.kind.code() as f64;
                summary[slot::ERROR_POSITION] = error.position as f64;
                summary[slot::ERROR_BASE_OFFSET] = error.base_offset;
                summary[slot::ERROR_SIZE] = error.size as f64;
                summary[slot::ERROR_STORED_CRC] = error.stored_crc as f64;
                summary[slot::ERROR_COMPUTED_CRC] = error.computed_crc as f64;
            }
            summary[slot::BATCHES_F64] = decoded.batches_f64.as_ptr() as usize as f64;
            summary[slot::BATCHES_I32] = decoded.batches_i32.as_ptr() as usize as f64;
            summary[slot::RECORDS_F64] = decoded.records_f64.as_ptr() as usize as f64;
            summary[slot::RECORDS_I32] = decoded.records_i32.as_ptr() as usize as f64;
            summary[slot::HEADERS_I32] = decoded.headers_i32.as_ptr() as usize as f64;
            summary[slot::DATA] = decoded.data.as_ptr() as usize as f64;
            summary[slot::DATA_LEN] = decoded.data.len() as f64;
            summary.as_ptr()
        })
    })
}

/// Releases the decoder's buffers (they are otherwise kept, at their largest size, for reuse).
#[unsafe(no_mangle)]
pub extern "C" fn tributary_decode_release() {
    DECODED.with(|decoded| *decoded = Decoded::default());
}

/// Encode status codes (slot 0 of the encode summary).
const ENCODE_OK: f64 = 0.0;
const ENCODE_BAD_RANGE: f64 = -1.0;
const ENCODE_BAD_CODEC: f64 = -2.0;

/// Slots of `params`: base offset, partition leader epoch, codec id, flags (1 transactional,
/// 2 control, 4 log-append time), producer id, producer epoch, base sequence.
const PARAMS_LEN: usize = 7;
/// Per record (f64s): timestamp, key at, key length (-1 null), value at, value length (-1 null),
/// first header, header count. Per header: key at, key length, value at, value length (-1 null).
/// "at" is an offset into the `data` bytes.
const RECORD_FIELDS: usize = 7;
const HEADER_FIELDS: usize = 4;

/// Encodes one batch; returns the address of `[status, batch address, batch length]`.
///
/// # Safety
/// Every pointer must address the number of values its count implies, `f64`s 8-byte aligned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tributary_encode_batch(
    params: *const f64,
    records: *const f64,
    record_count: usize,
    headers: *const f64,
    header_count: usize,
    data: *const u8,
    data_len: usize,
) -> *const f64 {
    let params = unsafe { std::slice::from_raw_parts(params, PARAMS_LEN) };
    let table = unsafe { f64s(records, record_count * RECORD_FIELDS) };
    let header_table = unsafe { f64s(headers, header_count * HEADER_FIELDS) };
    let data = unsafe { slice(data, data_len) };
    let result = build_records(table, header_table, data).and_then(|records| {
        let spec = batch_spec(params).ok_or(ENCODE_BAD_CODEC)?;
        ENCODED.with(|(scratch, out)| {
            out.clear();
            encode_batch(&spec, &records, scratch, out);
            Ok((out.as_ptr() as usize, out.len()))
        })
    });
    ENCODE_SUMMARY.with(|summary| {
        *summary = match result {
            Ok((ptr, len)) => [ENCODE_OK, ptr as f64, len as f64],
            Err(status) => [status, 0.0, 0.0],
        };
        summary.as_ptr()
    })
}

unsafe fn f64s<'a>(ptr: *const f64, len: usize) -> &'a [f64] {
    if len == 0 { &[] } else { unsafe { std::slice::from_raw_parts(ptr, len) } }
}

fn batch_spec(params: &[f64]) -> Option<BatchSpec> {
    let flags = params[3] as u32;
    Some(BatchSpec {
        base_offset: params[0] as i64,
        partition_leader_epoch: params[1] as i32,
        codec: Codec::from_id(params[2] as i32)?,
        transactional: flags & 1 != 0,
        control: flags & 2 != 0,
        log_append_time: flags & 4 != 0,
        producer_id: params[4] as i64,
        producer_epoch: params[5] as i16,
        base_sequence: params[6] as i32,
    })
}

/// Resolves a (start, length) pair into `data`; length -1 is null.
fn range(data: &[u8], start: f64, len: f64) -> Result<Option<&[u8]>, f64> {
    if len == -1.0 {
        return Ok(None);
    }
    if !(start >= 0.0 && len >= 0.0) {
        return Err(ENCODE_BAD_RANGE);
    }
    let (start, len) = (start as usize, len as usize);
    data.get(start..start.checked_add(len).ok_or(ENCODE_BAD_RANGE)?).map(Some).ok_or(ENCODE_BAD_RANGE)
}

fn build_records<'a>(table: &[f64], header_table: &[f64], data: &'a [u8]) -> Result<Vec<Record<'a>>, f64> {
    table
        .chunks_exact(RECORD_FIELDS)
        .map(|fields| {
            let (first, count) = (fields[5] as usize, fields[6] as usize);
            let header_fields = header_table
                .get(first * HEADER_FIELDS..(first + count) * HEADER_FIELDS)
                .ok_or(ENCODE_BAD_RANGE)?;
            let headers = header_fields
                .chunks_exact(HEADER_FIELDS)
                .map(|h| {
                    Ok(Header { key: range(data, h[0], h[1])?.ok_or(ENCODE_BAD_RANGE)?, value: range(data, h[2], h[3])? })
                })
                .collect::<Result<Vec<_>, f64>>()?;
            Ok(Record {
                timestamp: fields[0] as i64,
                key: range(data, fields[1], fields[2])?,
                value: range(data, fields[3], fields[4])?,
                headers,
            })
        })
        .collect()
}
