//! Kafka's variable-length integers (protobuf-style zig-zag varints) and a bounds-checked reader.

use super::error::DecodeError;

/// A cursor over untrusted bytes: every read is bounds-checked and fails with a [`DecodeError`]
/// instead of panicking, so hostile input can never trap the WebAssembly instance.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.remaining() {
            return Err(DecodeError::RecordOverflow);
        }
        let slice = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(slice)
    }

    pub fn i8(&mut self) -> Result<i8, DecodeError> {
        Ok(self.take(1)?[0] as i8)
    }

    /// A zig-zag varint of at most 5 bytes (a Java `int`).
    ///
    /// Most of a record's varints (lengths, deltas) take one or two bytes: those are read inline,
    /// the rest by an out-of-line loop. That loop is a free function given the position, not a
    /// method: a `&mut self` call would make the reader's address escape, and the inlined record
    /// loop would then keep its position in linear memory, loading and storing it on every read.
    #[inline(always)]
    pub fn varint(&mut self) -> Result<i32, DecodeError> {
        if let Some(raw) = self.short_varint() {
            return Ok(zigzag32(raw));
        }
        let (raw, next) = long_unsigned_varint(self.bytes, self.pos, 5)?;
        if raw > u32::MAX as u64 {
            return Err(DecodeError::BadVarint);
        }
        self.pos = next;
        Ok(zigzag32(raw as u32))
    }

    /// A zig-zag varint of at most 10 bytes (a Java `long`); read as [`Self::varint`] reads.
    #[inline(always)]
    pub fn varlong(&mut self) -> Result<i64, DecodeError> {
        if let Some(raw) = self.short_varint() {
            return Ok(zigzag32(raw) as i64);
        }
        let (raw, next) = long_unsigned_varint(self.bytes, self.pos, 10)?;
        self.pos = next;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// The unsigned value of a one- or two-byte varint at the cursor, which it then passes; `None`
    /// (cursor unmoved) for anything else, including too few bytes: the general loop decides.
    #[inline(always)]
    fn short_varint(&mut self) -> Option<u32> {
        let first = *self.bytes.get(self.pos)?;
        if first < 0x80 {
            self.pos += 1;
            return Some(first as u32);
        }
        let second = *self.bytes.get(self.pos + 1)?;
        if second < 0x80 {
            self.pos += 2;
            return Some((first & 0x7f) as u32 | (second as u32) << 7);
        }
        None
    }

    /// A varint length followed by that many bytes; -1 means null (`None`).
    pub fn nullable_bytes(&mut self) -> Result<Option<(usize, usize)>, DecodeError> {
        let len = self.varint()?;
        if len < 0 {
            if len != -1 {
                return Err(DecodeError::BadLength);
            }
            return Ok(None);
        }
        let start = self.pos;
        self.take(len as usize)?;
        Ok(Some((start, len as usize)))
    }
}

/// The unsigned varint of at most `max_bytes` bytes at `pos` in `bytes`, and the position after it.
#[inline(never)]
fn long_unsigned_varint(bytes: &[u8], mut pos: usize, max_bytes: usize) -> Result<(u64, usize), DecodeError> {
    let mut value: u64 = 0;
    for i in 0..max_bytes {
        let Some(&byte) = bytes.get(pos) else {
            return Err(DecodeError::RecordOverflow);
        };
        pos += 1;
        value |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, pos));
        }
    }
    Err(DecodeError::BadVarint)
}

/// Zig-zag decoding of a value of at most 32 bits.
#[inline(always)]
fn zigzag32(raw: u32) -> i32 {
    ((raw >> 1) as i32) ^ -((raw & 1) as i32)
}

pub fn write_varint(out: &mut Vec<u8>, value: i32) {
    write_unsigned(out, ((value << 1) ^ (value >> 31)) as u32 as u64);
}

pub fn write_varlong(out: &mut Vec<u8>, value: i64) {
    write_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn write_unsigned(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Number of bytes `write_varint` produces for `value`.
pub fn varint_size(value: i32) -> usize {
    unsigned_size(((value << 1) ^ (value >> 31)) as u32 as u64)
}

/// Number of bytes `write_varlong` produces for `value`.
pub fn varlong_size(value: i64) -> usize {
    unsigned_size(((value << 1) ^ (value >> 63)) as u64)
}

fn unsigned_size(value: u64) -> usize {
    // 7 payload bits per byte; at least one byte for zero.
    (64 - value.leading_zeros() as usize).div_ceil(7).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_edge_values() {
        for value in [0, 1, -1, 63, -64, 64, i32::MAX, i32::MIN] {
            let mut out = Vec::new();
            write_varint(&mut out, value);
            assert_eq!(out.len(), varint_size(value));
            assert_eq!(Reader::new(&out).varint().unwrap(), value);
        }
        for value in [0i64, -1, i64::MAX, i64::MIN, 1 << 40] {
            let mut out = Vec::new();
            write_varlong(&mut out, value);
            assert_eq!(out.len(), varlong_size(value));
            assert_eq!(Reader::new(&out).varlong().unwrap(), value);
        }
    }

    #[test]
    fn rejects_endless_and_truncated_varints() {
        assert_eq!(Reader::new(&[0xff; 6]).varint(), Err(DecodeError::BadVarint));
        assert_eq!(Reader::new(&[0xff; 11]).varlong(), Err(DecodeError::BadVarint));
        assert_eq!(Reader::new(&[0x80]).varint(), Err(DecodeError::RecordOverflow));
        // 5 bytes whose value does not fit 32 bits.
        assert_eq!(Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x7f]).varint(), Err(DecodeError::BadVarint));
    }

    #[test]
    fn short_and_long_encodings_read_alike() {
        // Values across the one-, two- and three-byte boundaries (±64, ±8192), back to back: each
        // read returns its value and leaves the cursor at the next one, whichever path read it.
        let values: Vec<i32> = (-70_000..70_000).step_by(7).chain([i32::MIN, i32::MAX, -8193, -8192, 8191, 8192, -65, -64, 63, 64]).collect();
        let mut out = Vec::new();
        for &v in &values {
            write_varint(&mut out, v);
            write_varlong(&mut out, v as i64 * 3);
        }
        let mut reader = Reader::new(&out);
        for &v in &values {
            assert_eq!(reader.varint(), Ok(v));
            assert_eq!(reader.varlong(), Ok(v as i64 * 3));
        }
        assert_eq!(reader.remaining(), 0);
        // A two-byte start cut after its first byte is truncated input, not a one-byte value.
        assert_eq!(Reader::new(&[0x80]).varlong(), Err(DecodeError::RecordOverflow));
        // A non-minimal encoding (a continuation into a zero byte) reads as its value.
        assert_eq!(Reader::new(&[0x82, 0x00]).varint(), Ok(1));
    }
}
