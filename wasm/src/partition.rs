//! Apache Kafka's default key partitioning: `murmur2` exactly as the Java client's
//! `org.apache.kafka.common.utils.Utils.murmur2`, and `(murmur2(key) & 0x7fffffff) % partitions`.

use crate::memory::slice;
use crate::status;

/// The Java client's result: a signed 32-bit MurmurHash2 with Kafka's seed.
pub fn kafka_murmur2(key: &[u8]) -> i32 {
    // Java reads the key as little-endian 32-bit words, which is the crate's
    // endianness-independent variant (`MurmurHashNeutral2`).
    murmur2::murmur2(key, murmur2::KAFKA_SEED) as i32
}

/// `Utils.toPositive(Utils.murmur2(key)) % numPartitions`, as the Java default partitioner does.
pub fn partition_for_hash(hash: i32, partitions: u32) -> u32 {
    (hash & 0x7fff_ffff) as u32 % partitions
}

/// Murmur2 of `len` bytes at `ptr`.
///
/// # Safety
/// `ptr..ptr+len` must be readable memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tributary_murmur2(ptr: *const u8, len: usize) -> i32 {
    kafka_murmur2(unsafe { slice(ptr, len) })
}

/// Hashes `count` keys in one call. Key `i` is `data[offsets[i]..offsets[i+1]]`, so `offsets`
/// holds `count + 1` ascending `u32` values. When `partitions` is 0 the raw murmur2 hashes are
/// written to `out` (`count` `i32`s); otherwise the partition of each key.
///
/// Returns [`status::OK`], or [`status::BAD_OFFSETS`] (nothing written) when an offset is out of
/// order or past `data_len`.
///
/// # Safety
/// `data..data+data_len`, `offsets..offsets+4*(count+1)` must be readable, 4-byte aligned for
/// `offsets`, and `out..out+4*count` writable and 4-byte aligned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tributary_murmur2_batch(
    data: *const u8,
    data_len: usize,
    offsets: *const u32,
    count: usize,
    partitions: u32,
    out: *mut i32,
) -> i32 {
    let data = unsafe { slice(data, data_len) };
    // SAFETY: guaranteed by the caller; `count + 1` is at least one element.
    let offsets = unsafe { std::slice::from_raw_parts(offsets, count + 1) };
    let out = unsafe { std::slice::from_raw_parts_mut(out, count) };
    hash_keys(data, offsets, partitions, out)
}

/// Safe core of [`tributary_murmur2_batch`].
pub fn hash_keys(data: &[u8], offsets: &[u32], partitions: u32, out: &mut [i32]) -> i32 {
    let valid = offsets.windows(2).all(|pair| pair[0] <= pair[1])
        && offsets.last().is_some_and(|&end| end as usize <= data.len());
    if !valid {
        return status::BAD_OFFSETS;
    }
    let keys = offsets.windows(2).map(|pair| &data[pair[0] as usize..pair[1] as usize]);
    for (slot, key) in out.iter_mut().zip(keys) {
        let hash = kafka_murmur2(key);
        *slot = if partitions == 0 { hash } else { partition_for_hash(hash, partitions) as i32 };
    }
    status::OK
}

/// Partition of a single key, or [`status::BAD_PARTITION_COUNT`] when `partitions` is 0.
///
/// # Safety
/// `ptr..ptr+len` must be readable memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tributary_partition_for_key(ptr: *const u8, len: usize, partitions: u32) -> i32 {
    if partitions == 0 {
        return status::BAD_PARTITION_COUNT;
    }
    partition_for_hash(kafka_murmur2(unsafe { slice(ptr, len) }), partitions) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from Apache Kafka's own UtilsTest.testMurmur2 (plus the empty key);
    // the full cross-check against Java runs in the TypeScript test suite.
    #[test]
    fn matches_java_for_known_keys() {
        assert_eq!(kafka_murmur2(b""), 275646681);
        assert_eq!(kafka_murmur2(b"21"), -973932308);
        assert_eq!(kafka_murmur2(b"foobar"), -790332482);
        assert_eq!(kafka_murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(kafka_murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(kafka_murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
        assert_eq!(kafka_murmur2(b"abc"), 479470107);
    }

    #[test]
    fn batch_rejects_bad_offsets() {
        let mut out = [0i32; 2];
        assert_eq!(hash_keys(b"abcd", &[0, 3, 2], 0, &mut out), status::BAD_OFFSETS);
        assert_eq!(hash_keys(b"abcd", &[0, 2, 5], 0, &mut out), status::BAD_OFFSETS);
        assert_eq!(hash_keys(b"abcd", &[0, 1, 4], 3, &mut out), status::OK);
        assert_eq!(out[1], partition_for_hash(kafka_murmur2(b"bcd"), 3) as i32);
    }
}
