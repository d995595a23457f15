//! Kafka's compression codecs (the low 3 bits of a batch's attributes), backed by pure-Rust
//! crates. Decompression is capped: output beyond `limit` bytes is an error, never an allocation.

use std::io::{Read, Write};

use super::error::DecodeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

impl Codec {
    pub fn from_attributes(attributes: i16) -> Result<Codec, DecodeError> {
        Codec::from_id((attributes & 0x07) as i32).ok_or(DecodeError::UnknownCodec)
    }

    pub fn from_id(id: i32) -> Option<Codec> {
        Some(match id {
            0 => Codec::None,
            1 => Codec::Gzip,
            2 => Codec::Snappy,
            3 => Codec::Lz4,
            4 => Codec::Zstd,
            _ => return None,
        })
    }
}

/// The header Java's snappy-java `SnappyOutputStream` ("xerial" framing) starts with.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// snappy-java's default block size, which Kafka's Java producer uses.
const XERIAL_BLOCK: usize = 32 * 1024;

/// Decompresses `input` into `out` (appending), failing once more than `limit` bytes would be
/// written.
pub fn decompress(codec: Codec, input: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    match codec {
        Codec::None => append_capped(out, input, limit),
        Codec::Gzip => read_capped(flate2::read::MultiGzDecoder::new(input), limit, out),
        Codec::Snappy => decompress_snappy(input, limit, out),
        Codec::Lz4 => match super::lz4::decompress_frame(input, limit, out)? {
            true => Ok(()),
            // Not an LZ4 frame's magic number: lz4_flex's reader decides (legacy frames, errors).
            false => read_capped(lz4_flex::frame::FrameDecoder::new(input), limit, out),
        },
        Codec::Zstd => decompress_zstd(input, limit, out),
    }
}

fn append_capped(out: &mut Vec<u8>, bytes: &[u8], limit: usize) -> Result<(), DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError::DecompressedTooLarge);
    }
    out.extend_from_slice(bytes);
    Ok(())
}

/// Reads at most `limit + 1` bytes so an over-long stream is detected without reading it all.
fn read_capped<R: Read>(reader: R, limit: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let before = out.len();
    let mut capped = reader.take(limit as u64 + 1);
    capped.read_to_end(out).map_err(|_| DecodeError::Decompression)?;
    if out.len() - before > limit {
        return Err(DecodeError::DecompressedTooLarge);
    }
    Ok(())
}

/// Raw snappy (one block, as librdkafka and kafkajs write it) or snappy-java's xerial framing
/// (magic, two version ints, then length-prefixed raw blocks, as Java clients write it).
fn decompress_snappy(input: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    if input.len() >= 16 && input[..8] == XERIAL_MAGIC {
        let mut rest = &input[16..];
        let before = out.len();
        while !rest.is_empty() {
            if rest.len() < 4 {
                return Err(DecodeError::Decompression);
            }
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let block = rest.get(4..4 + len).ok_or(DecodeError::Decompression)?;
            snappy_block(block, limit - (out.len() - before), out)?;
            rest = &rest[4 + len..];
        }
        Ok(())
    } else {
        snappy_block(input, limit, out)
    }
}

fn snappy_block(block: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    // The block states its decompressed length up front: check it before allocating.
    let len = snap::raw::decompress_len(block).map_err(|_| DecodeError::Decompression)?;
    if len > limit {
        return Err(DecodeError::DecompressedTooLarge);
    }
    let start = out.len();
    out.resize(start + len, 0);
    let written = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|_| DecodeError::Decompression)?;
    out.truncate(start + written);
    Ok(())
}

/// One or more zstd frames back to back.
fn decompress_zstd(input: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let before = out.len();
    let mut rest = input;
    while !rest.is_empty() {
        let used = limit - (out.len() - before);
        let mut decoder =
            ruzstd::decoding::StreamingDecoder::new(&mut rest).map_err(|_| DecodeError::Decompression)?;
        read_capped(&mut decoder, used, out)?;
    }
    Ok(())
}

/// Compresses `input` the way Kafka's Java producer frames each codec.
pub fn compress(codec: Codec, input: &[u8], out: &mut Vec<u8>) {
    match codec {
        Codec::None => out.extend_from_slice(input),
        Codec::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            encoder.write_all(input).expect("writing to a Vec cannot fail");
            encoder.finish().expect("writing to a Vec cannot fail");
        }
        Codec::Snappy => compress_snappy_xerial(input, out),
        // Independent 64 KiB blocks without checksums: what Kafka's KafkaLZ4BlockOutputStream writes.
        Codec::Lz4 => super::lz4::compress_frame(input, out),
        Codec::Zstd => ruzstd::encoding::compress(input, out, ruzstd::encoding::CompressionLevel::Fastest),
    }
}

fn compress_snappy_xerial(input: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&1u32.to_be_bytes()); // format version
    out.extend_from_slice(&1u32.to_be_bytes()); // minimum compatible version
    let mut encoder = snap::raw::Encoder::new();
    for chunk in input.chunks(XERIAL_BLOCK) {
        let len_at = out.len();
        out.extend_from_slice(&[0; 4]);
        let start = out.len();
        out.resize(start + snap::raw::max_compress_len(chunk.len()), 0);
        let written = encoder.compress(chunk, &mut out[start..]).expect("the buffer has max_compress_len bytes");
        out.truncate(start + written);
        out[len_at..start].copy_from_slice(&(written as u32).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect()
    }

    #[test]
    fn every_codec_round_trips() {
        let input = sample();
        for codec in [Codec::None, Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let mut compressed = Vec::new();
            compress(codec, &input, &mut compressed);
            let mut output = Vec::new();
            decompress(codec, &compressed, input.len(), &mut output).unwrap();
            assert_eq!(output, input, "{codec:?}");
        }
    }

    #[test]
    fn every_codec_enforces_the_limit() {
        let input = sample();
        for codec in [Codec::None, Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let mut compressed = Vec::new();
            compress(codec, &input, &mut compressed);
            let mut output = Vec::new();
            assert_eq!(
                decompress(codec, &compressed, input.len() - 1, &mut output),
                Err(DecodeError::DecompressedTooLarge),
                "{codec:?}"
            );
        }
    }

    #[test]
    fn raw_snappy_is_accepted_too() {
        let input = sample();
        let compressed = snap::raw::Encoder::new().compress_vec(&input).unwrap();
        let mut output = Vec::new();
        decompress(Codec::Snappy, &compressed, usize::MAX / 2, &mut output).unwrap();
        assert_eq!(output, input);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let garbage: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        for codec in [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let mut output = Vec::new();
            assert!(decompress(codec, &garbage, 1 << 20, &mut output).is_err(), "{codec:?}");
        }
    }
}
