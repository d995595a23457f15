//! Why a record batch could not be decoded. The numeric codes cross the boundary to TypeScript
//! (`src/records/errors.ts` maps them to `CorruptRecordError` reasons); keep both in step.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The batch's CRC-32C does not match its contents.
    CrcMismatch,
    /// A batch header field is impossible (negative length, record count, ...).
    BadBatchHeader,
    /// A record or header runs past the end of its batch.
    RecordOverflow,
    /// A varint longer than its type allows.
    BadVarint,
    /// A negative length other than -1 (null).
    BadLength,
    /// The batch declares more or fewer records than it holds.
    RecordCountMismatch,
    /// The compressed payload is not valid for its codec.
    Decompression,
    /// Decompressing would exceed the configured limit (a decompression bomb, or a limit too low).
    DecompressedTooLarge,
    /// The compression attribute names no codec Kafka defines (5, 6, 7).
    UnknownCodec,
    /// Magic 0 or 1: message formats removed in Kafka 4.
    UnsupportedMagic,
    /// A magic byte greater than 2.
    UnknownMagic,
}

impl DecodeError {
    pub fn code(self) -> i32 {
        match self {
            DecodeError::CrcMismatch => 1,
            DecodeError::BadBatchHeader => 2,
            DecodeError::RecordOverflow => 3,
            DecodeError::BadVarint => 4,
            DecodeError::BadLength => 5,
            DecodeError::RecordCountMismatch => 6,
            DecodeError::Decompression => 7,
            DecodeError::DecompressedTooLarge => 8,
            DecodeError::UnknownCodec => 9,
            DecodeError::UnsupportedMagic => 10,
            DecodeError::UnknownMagic => 11,
        }
    }
}
