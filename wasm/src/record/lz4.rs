//! The LZ4 frame format (what Kafka's lz4 codec carries), read and written here around
//! lz4_flex's block codec, without `lz4_flex::frame`'s per-frame set-up: its reader allocates two
//! block-sized buffers per frame, zeroes one and copies the input and the output once more, a
//! cost one-record batches paid in full. Blocks compress straight into the batch, and decompress
//! into one reused buffer and from there onto the output.
//!
//! Frame: magic 0x184D2204 (LE), FLG, BD, optional 8-byte content size, header checksum (second
//! byte of the xxh32 of FLG..content size), then blocks — a 4-byte LE size whose high bit marks an
//! uncompressed block, the data, an optional xxh32 block checksum — up to a zero end mark and an
//! optional xxh32 content checksum. <https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md>
//!
//! Reading accepts exactly what `lz4_flex::frame::FrameDecoder` (read to its end, as this crate
//! did before) accepts and yields the same bytes: a frame that starts with another magic number
//! (legacy, skippable, garbage) is left to it (`Ok(false)`).

use std::cell::RefCell;
use std::ops::Range;

use lz4_flex::block;
use twox_hash::XxHash32;

use super::error::DecodeError;

const MAGIC: [u8; 4] = 0x184D_2204u32.to_le_bytes();
const FLG_VERSION_MASK: u8 = 0b1100_0000;
const FLG_VERSION_01: u8 = 0b0100_0000;
const FLG_INDEPENDENT_BLOCKS: u8 = 0b0010_0000;
const FLG_BLOCK_CHECKSUMS: u8 = 0b0001_0000;
const FLG_CONTENT_SIZE: u8 = 0b0000_1000;
const FLG_CONTENT_CHECKSUM: u8 = 0b0000_0100;
const FLG_RESERVED: u8 = 0b0000_0010;
const FLG_DICTIONARY_ID: u8 = 0b0000_0001;
const BD_BLOCK_SIZE_MASK: u8 = 0b0111_0000;
const UNCOMPRESSED: u32 = 0x8000_0000;
/// How far back an LZ4 match may reach (its offset is a u16).
const WINDOW: usize = 64 * 1024;
/// The block size Kafka's Java producer (KafkaLZ4BlockOutputStream) writes, and so do we.
const BLOCK: usize = 64 * 1024;
/// Magic, FLG (version 01, independent blocks, no checksums, no content size), BD (64 KiB blocks)
/// and the header checksum of those two bytes.
const FRAME_HEADER: [u8; 7] = [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], 0x60, 0x40, 0x82];

/// Decompresses the LZ4 frame at the start of `input`, appending to `out`; more than `limit`
/// bytes of output is `DecompressedTooLarge`. Returns `Ok(false)`, having written nothing, when
/// `input` does not start with the LZ4 frame magic number (the caller decides what that means).
pub fn decompress_frame(input: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<bool, DecodeError> {
    const BAD: DecodeError = DecodeError::Decompression;
    if input.len() < 4 || input[..4] != MAGIC {
        return Ok(false);
    }
    let start = out.len();
    let mut rest = &input[4..];
    // lz4_flex ends the stream at a bare magic number; a partial descriptor is an error.
    if rest.is_empty() {
        return Ok(true);
    }
    let [flg, bd, ..] = *rest else { return Err(BAD) };
    if flg & FLG_VERSION_MASK != FLG_VERSION_01
        || flg & (FLG_RESERVED | FLG_DICTIONARY_ID) != 0
        || bd & !BD_BLOCK_SIZE_MASK != 0
    {
        return Err(BAD);
    }
    let max_block = match bd >> 4 {
        4 => 64 * 1024,
        5 => 256 * 1024,
        6 => 1024 * 1024,
        7 => 4 * 1024 * 1024,
        _ => return Err(BAD),
    };
    let descriptor_len = if flg & FLG_CONTENT_SIZE != 0 { 10 } else { 2 };
    let descriptor = rest.get(..descriptor_len + 1).ok_or(BAD)?;
    if (XxHash32::oneshot(0, &descriptor[..descriptor_len]) >> 8) as u8 != descriptor[descriptor_len] {
        return Err(BAD);
    }
    let content_size = (descriptor_len == 10).then(|| u64::from_le_bytes(descriptor[2..10].try_into().unwrap()));
    rest = &rest[descriptor_len + 1..];
    let linked = flg & FLG_INDEPENDENT_BLOCKS == 0;
    let block_checksums = flg & FLG_BLOCK_CHECKSUMS != 0;

    loop {
        // Like lz4_flex, a frame cut off where a block size would start simply ends the stream.
        let Some((size, after)) = rest.split_first_chunk::<4>() else { return Ok(true) };
        let size = u32::from_le_bytes(*size);
        rest = after;
        if size == 0 {
            let content = &out[start..];
            if content_size.is_some_and(|expected| expected != content.len() as u64) {
                return Err(BAD);
            }
            if flg & FLG_CONTENT_CHECKSUM != 0 {
                let (stored, _) = rest.split_first_chunk::<4>().ok_or(BAD)?;
                if XxHash32::oneshot(0, content) != u32::from_le_bytes(*stored) {
                    return Err(BAD);
                }
            }
            // Anything after the first frame is ignored, as lz4_flex's reader does.
            return Ok(true);
        }
        let len = (size & !UNCOMPRESSED) as usize;
        if len > max_block || len > rest.len() {
            return Err(BAD);
        }
        let (data, after) = rest.split_at(len);
        rest = after;
        if block_checksums {
            let (stored, after) = rest.split_first_chunk::<4>().ok_or(BAD)?;
            rest = after;
            if XxHash32::oneshot(0, data) != u32::from_le_bytes(*stored) {
                return Err(BAD);
            }
        }
        let before_block = out.len();
        if size & UNCOMPRESSED != 0 {
            out.extend_from_slice(data);
        } else {
            // Linked blocks may copy from the frame's previous 64 KiB of output.
            let dict = if linked { start.max(out.len().saturating_sub(WINDOW))..out.len() } else { 0..0 };
            decompress_block(data, max_block, dict, out)?;
        }
        if out.len() == before_block {
            // lz4_flex's reader (like Java's, for a zero size) ends the stream at an empty block.
            return Ok(true);
        }
        if out.len() - start > limit {
            return Err(DecodeError::DecompressedTooLarge);
        }
    }
}

thread_local! {
    /// Where blocks of up to 64 KiB decompress before they are appended to the output: zeroed
    /// once, then reused, so no block pays for a fresh buffer or for zeroing one.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Decompresses one block and appends it to `out`; `out[dict]` is the history it may refer to.
fn decompress_block(data: &[u8], max_block: usize, dict: Range<usize>, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    // An LZ4 block expands at most 255-fold (a length byte adds at most 255 bytes of output).
    let room = max_block.min(data.len().saturating_mul(255));
    let bad = |_| DecodeError::Decompression;
    if room > BLOCK {
        // Frames with blocks beyond 64 KiB (Kafka writes none): a buffer of their own.
        let decoded = block::decompress_with_dict(data, room, &out[dict]).map_err(bad)?;
        out.extend_from_slice(&decoded);
        return Ok(());
    }
    SCRATCH.with_borrow_mut(|scratch| {
        if scratch.len() < BLOCK {
            scratch.resize(BLOCK, 0);
        }
        let buffer = &mut scratch[..room];
        let written = if dict.is_empty() {
            block::decompress_into(data, buffer)
        } else {
            block::decompress_into_with_dict(data, buffer, &out[dict])
        }
        .map_err(bad)?;
        out.extend_from_slice(&scratch[..written]);
        Ok(())
    })
}

/// Appends `input` as one LZ4 frame the way Kafka's KafkaLZ4BlockOutputStream writes it:
/// independent blocks of at most 64 KiB, stored uncompressed when compression does not shrink
/// them, no block or content checksums.
pub fn compress_frame(input: &[u8], out: &mut Vec<u8>) {
    out.reserve(FRAME_HEADER.len() + block::get_maximum_output_size(input.len()) + 8);
    out.extend_from_slice(&FRAME_HEADER);
    for chunk in input.chunks(BLOCK) {
        let size_at = out.len();
        let data_at = size_at + 4;
        out.resize(data_at + block::get_maximum_output_size(chunk.len()), 0);
        let written = block::compress_into(chunk, &mut out[data_at..]).expect("room for the largest output");
        if written < chunk.len() {
            out.truncate(data_at + written);
            out[size_at..data_at].copy_from_slice(&(written as u32).to_le_bytes());
        } else {
            out.truncate(size_at);
            out.extend_from_slice(&(chunk.len() as u32 | UNCOMPRESSED).to_le_bytes());
            out.extend_from_slice(chunk);
        }
    }
    out.extend_from_slice(&[0; 4]);
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use lz4_flex::frame::{BlockMode, BlockSize, FrameDecoder, FrameEncoder, FrameInfo};

    use super::*;

    /// What this crate did before: lz4_flex's frame reader, read to its end, capped.
    fn reference(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::new();
        FrameDecoder::new(input)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| DecodeError::Decompression)?;
        if out.len() > limit {
            return Err(DecodeError::DecompressedTooLarge);
        }
        Ok(out)
    }

    fn ours(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
        let mut out = vec![7; 3]; // output is appended after what is already there
        if !decompress_frame(input, limit, &mut out)? {
            return reference(input, limit);
        }
        assert_eq!(out[..3], [7; 3]);
        Ok(out.split_off(3))
    }

    fn old_encoder(input: &[u8], info: FrameInfo) -> Vec<u8> {
        let mut encoder = FrameEncoder::with_frame_info(info, Vec::new());
        encoder.write_all(input).unwrap();
        encoder.finish().unwrap()
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// JSON-ish text with repeats, some random bytes, some runs.
    fn sample(rng: &mut Rng, len: usize) -> Vec<u8> {
        const WORDS: [&str; 8] = ["\"event\":", "\"click\"", ",\"user\":\"user-", "{\"ts\":", "}", "purchase", "eu-west-1", "0"];
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            match rng.below(10) {
                0 => out.extend((0..rng.below(40)).map(|_| rng.next() as u8)),
                1 => out.extend(std::iter::repeat_n(rng.next() as u8, rng.below(300))),
                _ => out.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes()),
            }
        }
        out.truncate(len);
        out
    }

    fn infos() -> Vec<FrameInfo> {
        let mut infos = Vec::new();
        for size in [BlockSize::Max64KB, BlockSize::Max256KB] {
            for mode in [BlockMode::Independent, BlockMode::Linked] {
                for (block_checksums, content_checksum) in [(false, false), (true, false), (false, true), (true, true)] {
                    infos.push(
                        FrameInfo::new()
                            .block_size(size)
                            .block_mode(mode)
                            .block_checksums(block_checksums)
                            .content_checksum(content_checksum),
                    );
                }
            }
        }
        infos
    }

    #[test]
    fn the_frame_header_checksum_is_right() {
        assert_eq!((XxHash32::oneshot(0, &FRAME_HEADER[4..6]) >> 8) as u8, FRAME_HEADER[6]);
    }

    #[test]
    fn frames_round_trip_and_match_lz4_flex() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let info = || FrameInfo::new().block_size(BlockSize::Max64KB).block_mode(BlockMode::Independent);
        for len in [0, 1, 5, 12, 13, 100, 1000, 65_535, 65_536, 65_537, 200_000, 300_001] {
            for random in [false, true] {
                let input = if random { (0..len).map(|_| rng.next() as u8).collect() } else { sample(&mut rng, len) };
                let mut frame = vec![1, 2];
                compress_frame(&input, &mut frame);
                let frame = frame.split_off(2);
                assert_eq!(ours(&frame, len).unwrap(), input, "{len}");
                assert_eq!(reference(&frame, len).unwrap(), input, "{len}");
                assert_eq!(ours(&frame, len.wrapping_sub(1)), if len == 0 { Ok(vec![]) } else { Err(DecodeError::DecompressedTooLarge) });
                // One block: byte for byte what lz4_flex's FrameEncoder wrote. (Its hash table hashes
                // 8 bytes on 64-bit targets, 4 like the block compressor's on wasm32.)
                if len <= BLOCK && cfg!(target_pointer_width = "32") {
                    assert_eq!(frame, old_encoder(&input, info()), "{len}");
                }
            }
        }
    }

    #[test]
    fn reads_every_frame_lz4_flex_writes() {
        let mut rng = Rng(12345);
        for info in infos() {
            for len in [0, 10, 3000, 70_000, 300_000, 700_000] {
                let input = sample(&mut rng, len);
                let frame = old_encoder(&input, info.clone());
                assert_eq!(ours(&frame, usize::MAX / 2).unwrap(), input, "{info:?} {len}");
                let with_size = old_encoder(&input, info.clone().content_size(Some(len as u64)));
                assert_eq!(ours(&with_size, usize::MAX / 2).unwrap(), input, "{info:?} {len}");
            }
        }
    }

    /// Damaged frames (bytes changed, cut short, lengthened) decode exactly as lz4_flex's frame
    /// reader decoded them: the same bytes, or an error of the same kind.
    #[test]
    fn damaged_frames_behave_as_before() {
        let mut rng = Rng(0xDEAD_BEEF);
        let mut frames = Vec::new();
        for info in infos() {
            for len in [0, 40, 2000, 70_000] {
                let input = sample(&mut rng, len);
                frames.push(old_encoder(&input, info.clone().content_size((len % 3 == 0).then_some(len as u64))));
            }
        }
        for len in [0, 300, 5000, 140_000] {
            let mut frame = Vec::new();
            compress_frame(&sample(&mut rng, len), &mut frame);
            frames.push(frame);
        }
        let mut compared = 0;
        for frame in &frames {
            for round in 0..400 {
                let mut damaged = frame.clone();
                match round % 5 {
                    0 => damaged.truncate(rng.below(frame.len() + 1)),
                    1 | 2 => {
                        for _ in 0..1 + rng.below(3) {
                            let at = rng.below(damaged.len());
                            if let Some(byte) = damaged.get_mut(at) {
                                *byte ^= 1 << rng.below(8);
                            }
                        }
                    }
                    3 => {
                        // Damage near the start, where the header and the first block sizes are.
                        let at = rng.below(damaged.len().min(24));
                        if let Some(byte) = damaged.get_mut(at) {
                            *byte = rng.next() as u8;
                        }
                    }
                    _ => damaged.extend((0..rng.below(20)).map(|_| rng.next() as u8)),
                }
                let limit = if rng.below(4) == 0 { rng.below(frame.len() * 4) } else { usize::MAX / 2 };
                assert_eq!(ours(&damaged, limit), reference(&damaged, limit), "round {round} of a frame of {} bytes", frame.len());
                compared += 1;
            }
        }
        assert!(compared > 10_000);
    }

    #[test]
    fn garbage_is_an_error_not_a_crash() {
        let mut rng = Rng(77);
        for round in 0..20_000 {
            let len = rng.below(300);
            let mut input: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if round % 2 == 0 && len >= 7 {
                // A valid header, then garbage blocks.
                input[..7].copy_from_slice(&FRAME_HEADER);
                if round % 4 == 0 && len >= 11 {
                    let block = (len - 11) as u32 | if round % 8 == 0 { UNCOMPRESSED } else { 0 };
                    input[7..11].copy_from_slice(&block.to_le_bytes());
                }
            }
            assert_eq!(ours(&input, 1 << 20), reference(&input, 1 << 20), "round {round}");
        }
    }
}
