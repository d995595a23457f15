//! CRC-32C (Castagnoli), the checksum of Kafka's v2 record batches.
//!
//! WebAssembly has neither a CRC instruction nor a carry-less multiply, so this is a software
//! CRC, built to keep a CPU's execution units busy rather than waiting on one long dependency
//! chain as a single slice-by-N loop does:
//!
//! * From 512 bytes on, 16 CRCs run side by side in the 16 byte lanes of a wasm `v128`
//!   ([`chunk16`]): a chunk is cut into 16 equal regions, each lane computes the byte-at-a-time
//!   CRC of one region, and the table lookups are `i8x16.swizzle`s on nibbles. The 16 CRCs are
//!   then joined with a table-driven "advance over `b` zero bytes" operator.
//! * Below that, and for what is left after the chunks, a braided slice-by-8 ([`update_scalar`]):
//!   [`STREAMS`] independent CRCs over interleaved 8-byte words, as in zlib's crc32.c.
//!
//! Which engine runs the module decides which is faster, so the host can turn the vector path
//! off ([`VECTOR`], [`tributary_crc32c_set_vector`]): on for V8, off for JavaScriptCore.
//!
//! Both are checked against the `crc` crate's slice-by-16 (the previous implementation) and a
//! bit-at-a-time definition in the tests; natively, the vector code runs on a plain-array
//! emulation of the few wasm instructions it uses (module `lanes`).

/// The reflected Castagnoli polynomial (0x1EDC6F41 bit-reversed).
const POLY: u32 = 0x82F6_3B78;

/// Advances a CRC register by one bit with the input bit 0.
const fn shift_bit(crc: u32) -> u32 {
    if crc & 1 != 0 {
        (crc >> 1) ^ POLY
    } else {
        crc >> 1
    }
}

/// `zeros_table(k)[b]`: the CRC register after the byte `b` followed by `k` zero bytes,
/// starting from register 0. `zeros_table(0)` is the classic byte-at-a-time table.
const fn zeros_table(k: usize) -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        let mut crc = b as u32;
        let mut bit = 0;
        while bit < 8 * (k + 1) {
            crc = shift_bit(crc);
            bit += 1;
        }
        t[b] = crc;
        b += 1;
    }
    t
}

// ---------------------------------------------------------------------------------------------
// Scalar: braided slice-by-8.

/// Independent CRCs in the braided loop. One (plain slice-by-8) is bound by latency and 20-35 %
/// slower; two to four measured the same in V8, and two about 5 % faster than three or four in
/// JavaScriptCore (x86-64), where more streams only add work.
const STREAMS: usize = 2;

/// Eight tables so that one step consumes a little-endian 64-bit word: entry `j` maps byte `j`
/// of the word, which is followed by `7 - j` more bytes of the word and then `zeros` zero bytes.
const fn word_tables(zeros: usize) -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut j = 0;
    while j < 8 {
        t[j] = zeros_table(zeros + 7 - j);
        j += 1;
    }
    t
}

/// Slice-by-8: one word, nothing after it. `SLICE8[7]` is the byte-at-a-time table.
static SLICE8: [[u32; 256]; 8] = word_tables(0);
/// One word followed by the words of the `STREAMS - 1` other streams.
static BRAID: [[u32; 256]; 8] = word_tables(8 * (STREAMS - 1));

/// Advances `crc` over the 8 bytes of `word` (little-endian) plus the zeros built into `t`.
#[inline(always)]
fn step(t: &[[u32; 256]; 8], crc: u32, word: u64) -> u32 {
    let lo = (word as u32) ^ crc;
    let hi = (word >> 32) as u32;
    t[0][(lo & 0xff) as usize]
        ^ t[1][((lo >> 8) & 0xff) as usize]
        ^ t[2][((lo >> 16) & 0xff) as usize]
        ^ t[3][(lo >> 24) as usize]
        ^ t[4][(hi & 0xff) as usize]
        ^ t[5][((hi >> 8) & 0xff) as usize]
        ^ t[6][((hi >> 16) & 0xff) as usize]
        ^ t[7][(hi >> 24) as usize]
}

#[inline(always)]
fn word_at(bytes: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap())
}

/// Advances the CRC register `crc` over `bytes` without vector instructions.
///
/// Stream `s` takes words `s`, `s + STREAMS`, `s + 2 * STREAMS`, …; its tables ([`BRAID`]) also
/// advance it over the words of the other streams in between, which are zeros as far as it is
/// concerned. So the streams never depend on each other, and in the last round stream `s`
/// stands exactly `s` words in: it is folded in by xoring it into the running CRC there, which
/// needs no shift ("combine") operator.
fn update_scalar(mut crc: u32, bytes: &[u8]) -> u32 {
    const ROUND: usize = 8 * STREAMS;
    let mut rest = bytes;
    if bytes.len() >= 2 * ROUND {
        let rounds = bytes.len() / ROUND;
        let (braided, tail) = bytes.split_at(rounds * ROUND);
        let (body, last) = braided.split_at((rounds - 1) * ROUND);
        let mut c = [0u32; STREAMS];
        c[0] = crc;
        for round in body.chunks_exact(ROUND) {
            for (s, stream) in c.iter_mut().enumerate() {
                *stream = step(&BRAID, *stream, word_at(round, s));
            }
        }
        crc = 0;
        for (s, stream) in c.iter().enumerate() {
            crc = step(&SLICE8, crc ^ stream, word_at(last, s));
        }
        rest = tail;
    }
    let mut words = rest.chunks_exact(8);
    for w in &mut words {
        crc = step(&SLICE8, crc, u64::from_le_bytes(w.try_into().unwrap()));
    }
    for &b in words.remainder() {
        crc = (crc >> 8) ^ SLICE8[7][((crc ^ b as u32) & 0xff) as usize];
    }
    crc
}

// ---------------------------------------------------------------------------------------------
// Vector: 16 streams in the byte lanes of a v128.

/// The byte-at-a-time table split into nibbles, one 16-byte swizzle table per output byte:
/// `NIBBLES[0][m][n]` is byte `m` of `T[n]`, `NIBBLES[1][m][n]` is byte `m` of `T[n << 4]`, where
/// `T = zeros_table(0)`. As the table is linear, `T[x] = T[x & 15] ^ T[(x >> 4) << 4]`.
static NIBBLES: [[[u8; 16]; 4]; 2] = {
    let t = zeros_table(0);
    let mut out = [[[0u8; 16]; 4]; 2];
    let mut n = 0;
    while n < 16 {
        let mut m = 0;
        while m < 4 {
            out[0][m][n] = (t[n] >> (8 * m)) as u8;
            out[1][m][n] = (t[n << 4] >> (8 * m)) as u8;
            m += 1;
        }
        n += 1;
    }
    out
};

static NIBBLE_MASK: [u8; 16] = [0x0f; 16];

/// The linear map "advance the register over one zero byte", as the images of the 32 unit vectors.
const fn one_zero_byte() -> [u32; 32] {
    let mut m = [0u32; 32];
    let mut i = 0;
    while i < 32 {
        let mut crc = 1u32 << i;
        let mut bit = 0;
        while bit < 8 {
            crc = shift_bit(crc);
            bit += 1;
        }
        m[i] = crc;
        i += 1;
    }
    m
}

const fn apply(m: &[u32; 32], v: u32) -> u32 {
    let mut out = 0;
    let mut i = 0;
    while i < 32 {
        if v & (1 << i) != 0 {
            out ^= m[i];
        }
        i += 1;
    }
    out
}

/// The map `a` after the map `b`.
const fn compose(a: &[u32; 32], b: &[u32; 32]) -> [u32; 32] {
    let mut m = [0u32; 32];
    let mut i = 0;
    while i < 32 {
        m[i] = apply(a, b[i]);
        i += 1;
    }
    m
}

/// `shift_tables(n)[k][x]`: the register `x << 8k` advanced over `n` zero bytes (the map raised
/// to the `n`th power by squaring, then split into four byte-indexed tables).
const fn shift_tables(n: usize) -> [[u32; 256]; 4] {
    let mut power = one_zero_byte();
    let mut m = [0u32; 32];
    let mut i = 0;
    while i < 32 {
        m[i] = 1 << i;
        i += 1;
    }
    let mut n = n;
    while n > 0 {
        if n & 1 != 0 {
            m = compose(&power, &m);
        }
        power = compose(&power, &power);
        n >>= 1;
    }
    let mut t = [[0u32; 256]; 4];
    let mut k = 0;
    while k < 4 {
        let mut x = 0;
        while x < 256 {
            t[k][x] = apply(&m, (x as u32) << (8 * k));
            x += 1;
        }
        k += 1;
    }
    t
}

/// Advances the register `crc` over as many zero bytes as `t` was built for.
#[inline(always)]
fn shift(t: &[[u32; 256]; 4], crc: u32) -> u32 {
    t[0][(crc & 0xff) as usize]
        ^ t[1][((crc >> 8) & 0xff) as usize]
        ^ t[2][((crc >> 16) & 0xff) as usize]
        ^ t[3][(crc >> 24) as usize]
}

/// One chunk size: 16 regions of `region` bytes, and the shifts over 1, 4 and 16 regions.
struct Tier {
    region: usize,
    shifts: [&'static [[u32; 256]; 4]; 3],
}

static SHIFT_32: [[u32; 256]; 4] = shift_tables(32);
static SHIFT_64: [[u32; 256]; 4] = shift_tables(64);
static SHIFT_128: [[u32; 256]; 4] = shift_tables(128);
static SHIFT_256: [[u32; 256]; 4] = shift_tables(256);
static SHIFT_512: [[u32; 256]; 4] = shift_tables(512);
static SHIFT_1K: [[u32; 256]; 4] = shift_tables(1024);
static SHIFT_4K: [[u32; 256]; 4] = shift_tables(4 * 1024);
static SHIFT_16K: [[u32; 256]; 4] = shift_tables(16 * 1024);

/// The chunk sizes used, largest first: 16 KiB, 4 KiB, 1 KiB and 512 bytes. Joining the 16 CRCs
/// of a chunk costs about as much as 100 bytes of the vector loop, hence large chunks while the
/// input lasts; the smaller ones keep inputs from 512 bytes on mostly on the vector path.
/// (The eight shift tables are 32 KiB of the module's data; the scalar tables another 16 KiB.)
static TIERS: [Tier; 4] = [
    Tier {
        region: 1024,
        shifts: [&SHIFT_1K, &SHIFT_4K, &SHIFT_16K],
    },
    Tier {
        region: 256,
        shifts: [&SHIFT_256, &SHIFT_1K, &SHIFT_4K],
    },
    Tier {
        region: 64,
        shifts: [&SHIFT_64, &SHIFT_256, &SHIFT_1K],
    },
    Tier {
        region: 32,
        shifts: [&SHIFT_32, &SHIFT_128, &SHIFT_512],
    },
];

/// The vector operations the kernel needs: wasm simd128 instructions on wasm32, and a plain
/// array emulation elsewhere so that native `cargo test` runs the same algorithm.
#[cfg(target_arch = "wasm32")]
mod lanes {
    use core::arch::wasm32::*;
    pub type V = v128;

    /// # Safety
    /// `p..p + 16` must be readable.
    #[inline]
    #[target_feature(enable = "simd128")]
    pub unsafe fn load(p: *const u8) -> V {
        unsafe { v128_load(p as *const v128) }
    }
    #[inline]
    #[target_feature(enable = "simd128")]
    pub fn from_bytes(b: [u8; 16]) -> V {
        u8x16(
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
            b[14], b[15],
        )
    }
    /// Loads a constant without letting the compiler turn it into a `v128.const`: V8 builds a
    /// vector constant anew at every use (four instructions), a loaded value stays in a register.
    #[inline]
    #[target_feature(enable = "simd128")]
    pub fn table(b: &'static [u8; 16]) -> V {
        // SAFETY: a 16-byte static.
        unsafe { core::ptr::read_volatile(b.as_ptr() as *const v128) }
    }
    #[inline]
    #[target_feature(enable = "simd128")]
    pub fn to_bytes(v: V) -> [u8; 16] {
        let mut out = [0u8; 16];
        // SAFETY: 16 writable bytes.
        unsafe { v128_store(out.as_mut_ptr() as *mut v128, v) };
        out
    }
    #[inline]
    #[target_feature(enable = "simd128")]
    pub fn xor(a: V, b: V) -> V {
        v128_xor(a, b)
    }
    /// `mask` is 0x0f in every byte.
    #[inline]
    #[target_feature(enable = "simd128")]
    pub fn low_nibbles(a: V, mask: V) -> V {
        v128_and(a, mask)
    }
    /// A 16-bit shift and the mask: V8 expands `i8x16.shr_u` into more instructions than this.
    #[inline]
    #[target_feature(enable = "simd128")]
    pub fn high_nibbles(a: V, mask: V) -> V {
        v128_and(u16x8_shr(a, 4), mask)
    }
    /// `table[idx]` in each lane (`idx` < 16).
    #[inline]
    #[target_feature(enable = "simd128")]
    pub fn lookup(table: V, idx: V) -> V {
        i8x16_swizzle(table, idx)
    }
    #[inline]
    #[target_feature(enable = "simd128")]
    pub fn unpack8_lo(a: V, b: V) -> V {
        i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(a, b)
    }
    #[inline]
    #[target_feature(enable = "simd128")]
    pub fn unpack8_hi(a: V, b: V) -> V {
        i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(a, b)
    }
    #[inline]
    #[target_feature(enable = "simd128")]
    pub fn unpack16_lo(a: V, b: V) -> V {
        i8x16_shuffle::<0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23>(a, b)
    }
    #[inline]
    #[target_feature(enable = "simd128")]
    pub fn unpack16_hi(a: V, b: V) -> V {
        i8x16_shuffle::<8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31>(a, b)
    }
}

/// Bytewise models of the wasm instructions used above, with the same results.
#[cfg(not(target_arch = "wasm32"))]
mod lanes {
    pub type V = [u8; 16];

    /// # Safety
    /// `p..p + 16` must be readable.
    pub unsafe fn load(p: *const u8) -> V {
        unsafe { p.cast::<V>().read_unaligned() }
    }
    pub fn from_bytes(b: [u8; 16]) -> V {
        b
    }
    pub fn table(b: &'static [u8; 16]) -> V {
        *b
    }
    pub fn to_bytes(v: V) -> [u8; 16] {
        v
    }
    pub fn xor(a: V, b: V) -> V {
        std::array::from_fn(|i| a[i] ^ b[i])
    }
    pub fn low_nibbles(a: V, mask: V) -> V {
        std::array::from_fn(|i| a[i] & mask[i])
    }
    pub fn high_nibbles(a: V, mask: V) -> V {
        // u16x8_shr(a, 4) & mask: the bits shifted in from the neighbouring byte are masked off.
        std::array::from_fn(|i| {
            let pair = u16::from_le_bytes([a[i & !1], a[i | 1]]) >> 4;
            pair.to_le_bytes()[i & 1] & mask[i]
        })
    }
    pub fn lookup(table: V, idx: V) -> V {
        idx.map(|i| if i < 16 { table[i as usize] } else { 0 })
    }
    pub fn unpack8_lo(a: V, b: V) -> V {
        std::array::from_fn(|i| if i % 2 == 0 { a[i / 2] } else { b[i / 2] })
    }
    pub fn unpack8_hi(a: V, b: V) -> V {
        std::array::from_fn(|i| {
            if i % 2 == 0 {
                a[8 + i / 2]
            } else {
                b[8 + i / 2]
            }
        })
    }
    pub fn unpack16_lo(a: V, b: V) -> V {
        std::array::from_fn(|i| {
            if i % 4 < 2 {
                a[i / 4 * 2 + i % 2]
            } else {
                b[i / 4 * 2 + i % 2]
            }
        })
    }
    pub fn unpack16_hi(a: V, b: V) -> V {
        std::array::from_fn(|i| {
            if i % 4 < 2 {
                a[8 + i / 4 * 2 + i % 2]
            } else {
                b[8 + i / 4 * 2 + i % 2]
            }
        })
    }
}

/// The CRC register, from register 0, after the `16 * tier.region` bytes at `p`: lane `j` runs
/// the byte-at-a-time CRC of bytes `j * region..(j + 1) * region`, and the 16 results are joined
/// with the tier's shifts, in four groups of four lanes and then the four groups, so that the
/// longest chain of dependent lookups is 6 shifts rather than 15. (Not starting lane 0 from the
/// running CRC leaves the chunks independent of each other, so the CPU overlaps the joining at
/// the end of one chunk with the start of the next.)
///
/// A lane's register is kept as four byte planes (`s[m]` lane `j` = byte `m` of lane `j`'s
/// register), so one byte step of all 16 lanes is `x = s0 ^ data; s[m] = s[m + 1] ^ T_m[x]` with
/// `T_m[x]` = byte `m` of the table entry, looked up nibble by nibble with swizzles.
///
/// # Safety
/// `p..p + 16 * region` must be readable; `region` must be a multiple of 16.
#[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
unsafe fn chunk16(p: *const u8, tier: &Tier) -> u32 {
    use lanes::*;
    let region = tier.region;
    let lo_t = [
        table(&NIBBLES[0][0]),
        table(&NIBBLES[0][1]),
        table(&NIBBLES[0][2]),
        table(&NIBBLES[0][3]),
    ];
    let hi_t = [
        table(&NIBBLES[1][0]),
        table(&NIBBLES[1][1]),
        table(&NIBBLES[1][2]),
        table(&NIBBLES[1][3]),
    ];
    let mask = table(&NIBBLE_MASK);
    let zero = from_bytes([0; 16]);
    let (mut s0, mut s1, mut s2, mut s3) = (zero, zero, zero, zero);
    let mut off = 0;
    while off < region {
        // Row j: the next 16 bytes of region j. After four rounds of this interleave (a 16x16
        // byte transpose), row t holds byte t of every region. Spelled out so that it all
        // stays in registers (as loops it went through the stack).
        macro_rules! rows {
            ($($j:literal)*) => { [$(unsafe { load(p.add($j * region + off)) }),*] };
        }
        macro_rules! interleave {
            ($r:ident) => { interleave!($r; 0 1 2 3 4 5 6 7) };
            ($r:ident; $($i:literal)*) => {
                [$(unpack8_lo($r[$i], $r[$i + 8]), unpack8_hi($r[$i], $r[$i + 8])),*]
            };
        }
        let r: [V; 16] = rows!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
        let r = interleave!(r);
        let r = interleave!(r);
        let r = interleave!(r);
        let r = interleave!(r);
        macro_rules! steps {
            ($($t:literal)*) => {$(
                let x = xor(s0, r[$t]);
                let (lo, hi) = (low_nibbles(x, mask), high_nibbles(x, mask));
                s0 = xor(xor(s1, lookup(lo_t[0], lo)), lookup(hi_t[0], hi));
                s1 = xor(xor(s2, lookup(lo_t[1], lo)), lookup(hi_t[1], hi));
                s2 = xor(xor(s3, lookup(lo_t[2], lo)), lookup(hi_t[2], hi));
                s3 = xor(lookup(lo_t[3], lo), lookup(hi_t[3], hi));
            )*};
        }
        steps!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
        off += 16;
    }
    // Byte planes back to one 32-bit register per lane, lanes in order.
    let (a, b) = (unpack8_lo(s0, s1), unpack8_hi(s0, s1));
    let (c, d) = (unpack8_lo(s2, s3), unpack8_hi(s2, s3));
    let [by_region, by_group, _] = tier.shifts;
    let mut out = 0u32;
    for v in [
        unpack16_lo(a, c),
        unpack16_hi(a, c),
        unpack16_lo(b, d),
        unpack16_hi(b, d),
    ] {
        // Four consecutive lanes: one group.
        let v = to_bytes(v);
        let lane =
            |k: usize| u32::from_le_bytes([v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]]);
        let mut group = lane(0);
        for k in 1..4 {
            group = shift(by_region, group) ^ lane(k);
        }
        out = shift(by_group, out) ^ group;
    }
    out
}

/// Advances the CRC register `crc` over `bytes`: the vector path for as many chunks as fit, the
/// scalar path for the rest.
fn update_vector(mut crc: u32, mut bytes: &[u8]) -> u32 {
    for tier in &TIERS {
        while bytes.len() >= 16 * tier.region {
            // SAFETY: the chunk is in bounds and `region` is a multiple of 16.
            let chunk = unsafe { chunk16(bytes.as_ptr(), tier) };
            crc = shift(tier.shifts[2], crc) ^ chunk;
            bytes = &bytes[16 * tier.region..];
        }
    }
    update_scalar(crc, bytes)
}

/// Whether [`crc32c`] takes the vector path. On by default: V8 (Node.js, Deno, Cloudflare
/// Workers, Chromium) runs it 1.7-2.1 times as fast as the previous slice-by-16 on 1 KiB-1 MiB
/// (the scalar path: about 1.2 times). JavaScriptCore (Bun, Safari) compiles the vector code
/// poorly (spills, and every shuffle becomes two swizzles) and runs it at 0.6-0.7 times the old
/// speed, but the scalar path at 1.5-1.7 times; so a host on JavaScriptCore should switch the
/// vector path off with [`tributary_crc32c_set_vector`]. Both paths give identical results.
///
/// (An atomic only to be a safe static: wasm32 without the atomics feature has one thread, and
/// this compiles to a plain load and store.) Off in native builds, where the vector path would
/// run on its slow emulation; the tests call both paths directly.
static VECTOR: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(cfg!(target_arch = "wasm32"));

/// Turns the vector path of the CRC-32C on (`enabled != 0`) or off; see [`VECTOR`]. Affects the
/// `tributary_crc32c` export and the checksums of encoded and decoded batches alike.
#[unsafe(no_mangle)]
pub extern "C" fn tributary_crc32c_set_vector(enabled: u32) {
    let enabled = enabled != 0 && cfg!(target_arch = "wasm32");
    VECTOR.store(enabled, std::sync::atomic::Ordering::Relaxed);
}

pub fn crc32c(bytes: &[u8]) -> u32 {
    if VECTOR.load(std::sync::atomic::Ordering::Relaxed) {
        !update_vector(!0, bytes)
    } else {
        !update_scalar(!0, bytes)
    }
}

/// CRC-32C of `len` bytes at `ptr`.
///
/// # Safety
/// `ptr..ptr+len` must be readable memory (any pointer is accepted when `len` is 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tributary_crc32c(ptr: *const u8, len: usize) -> u32 {
    crc32c(unsafe { crate::memory::slice(ptr, len) })
}

/// `ZERO_BYTE_POWERS[k]`: the map "advance the register over 2^k zero bytes", k = 0..31.
static ZERO_BYTE_POWERS: [[u32; 32]; 32] = {
    let mut powers = [[0u32; 32]; 32];
    powers[0] = one_zero_byte();
    let mut k = 1;
    while k < 32 {
        powers[k] = compose(&powers[k - 1], &powers[k - 1]);
        k += 1;
    }
    powers
};

/// CRC-32C of `prefix` followed by bytes whose own CRC-32C is `tail_crc` and length `tail_len`,
/// without reading those bytes: CRC(A‖B) = CRC(A) advanced over |B| zero bytes, xor CRC(B).
///
/// Why: a producer batch is encoded and compressed once (possibly on another thread) and its
/// producer id, epoch and base sequence are written in at send time. Those fields sit just before
/// the record count in the part of the batch the CRC covers, so the CRC of everything after them
/// is computed with the batch, and this joins the new fields to it in O(log |B|).
pub fn crc32c_prefixed(prefix: &[u8], tail_crc: u32, tail_len: usize) -> u32 {
    let mut register = crc32c(prefix);
    let mut len = tail_len;
    let mut k = 0;
    while len > 0 {
        if len & 1 != 0 {
            register = apply(&ZERO_BYTE_POWERS[k], register);
        }
        len >>= 1;
        k += 1;
    }
    register ^ tail_crc
}

/// [`crc32c_prefixed`] of `prefix_len` bytes at `prefix_ptr`.
///
/// # Safety
/// `prefix_ptr..prefix_ptr+prefix_len` must be readable memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tributary_crc32c_prefixed(prefix_ptr: *const u8, prefix_len: usize, tail_crc: u32, tail_len: usize) -> u32 {
    crc32c_prefixed(unsafe { crate::memory::slice(prefix_ptr, prefix_len) }, tail_crc, tail_len)
}

#[cfg(test)]
mod tests {
    use super::{update_scalar, update_vector};
    use crc::{CRC_32_ISCSI, Crc, Table};

    /// The previous implementation (the `crc` crate's slice-by-16), kept as the reference.
    static REFERENCE: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);

    /// The vector path (on the emulation of the wasm instructions; on wasm32 it is checked
    /// against the previous build by bench/verify.mjs).
    fn vector(bytes: &[u8]) -> u32 {
        !update_vector(!0, bytes)
    }

    fn scalar(bytes: &[u8]) -> u32 {
        !update_scalar(!0, bytes)
    }

    /// Both paths, which must agree.
    fn crc32c(bytes: &[u8]) -> u32 {
        let v = vector(bytes);
        assert_eq!(
            v,
            scalar(bytes),
            "vector and scalar paths disagree on {} bytes",
            bytes.len()
        );
        v
    }

    /// Bit-at-a-time CRC-32C straight from the definition, independent of any table.
    fn bitwise(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0x82F6_3B78
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// Deterministic pseudo-random bytes (xorshift64*).
    fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn public_function_uses_a_correct_path() {
        assert_eq!(super::crc32c(b"123456789"), 0xE306_9283);
        let data = random_bytes(100_000, 5);
        assert_eq!(super::crc32c(&data), REFERENCE.checksum(&data));
    }

    #[test]
    fn shift_tables_advance_over_zero_bytes() {
        // Against the definition: a register advanced over n zero bytes one bit at a time.
        let slow = |mut crc: u32, n: usize| {
            for _ in 0..8 * n {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0x82F6_3B78
                } else {
                    crc >> 1
                };
            }
            crc
        };
        for n in [0, 1, 7, 32, 100, 1024] {
            let t = super::shift_tables(n);
            for crc in [1u32, 0x8000_0000, 0xDEAD_BEEF, 0x1234_5678, !0] {
                assert_eq!(super::shift(&t, crc), slow(crc, n), "n {n} crc {crc:#x}");
            }
        }
    }

    #[test]
    fn rfc3720_vectors() {
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        let ascending: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c(&ascending), 0x46DD_794E);
        let descending: Vec<u8> = (0u8..32).rev().collect();
        assert_eq!(crc32c(&descending), 0x113F_DB5C);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn matches_reference_for_every_length_and_misalignment() {
        let data = random_bytes(4096 + 16, 0x5EED);
        for start in 0..16 {
            for len in 0..=4096 {
                let slice = &data[start..start + len];
                assert_eq!(
                    crc32c(slice),
                    REFERENCE.checksum(slice),
                    "start {start} len {len}"
                );
            }
        }
    }

    #[test]
    fn scalar_path_matches_reference_for_every_length() {
        // The scalar path alone (JavaScriptCore, native builds, and inputs under 512 bytes).
        let data = random_bytes(4096 + 8, 0xC0FFEE);
        for start in 0..8 {
            for len in 0..=4096 {
                let slice = &data[start..start + len];
                assert_eq!(
                    !update_scalar(!0, slice),
                    REFERENCE.checksum(slice),
                    "start {start} len {len}"
                );
            }
        }
    }

    #[test]
    fn matches_bitwise_definition() {
        let data = random_bytes(9000, 7);
        for len in (0..=9000).step_by(37) {
            assert_eq!(crc32c(&data[..len]), bitwise(&data[..len]), "len {len}");
        }
    }

    #[test]
    fn matches_reference_on_random_inputs() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let len = (seed >> 33) as usize % 70_000;
            let start = (seed >> 20) as usize % 16;
            let data = random_bytes(len + start, seed);
            let slice = &data[start..];
            assert_eq!(
                crc32c(slice),
                REFERENCE.checksum(slice),
                "len {len} start {start}"
            );
        }
    }

    #[test]
    fn matches_reference_on_large_buffers() {
        for (len, seed) in [
            (1 << 20, 1u64),
            ((1 << 20) + 13, 2),
            (3 * (1 << 20) + 5, 3),
            (4 << 20, 4),
        ] {
            let data = random_bytes(len, seed);
            for start in [0, 1, 3] {
                let slice = &data[start..];
                assert_eq!(
                    crc32c(slice),
                    REFERENCE.checksum(slice),
                    "len {len} start {start}"
                );
            }
        }
        // Long runs of one byte value exercise the tables differently from random data.
        for fill in [0x00u8, 0xFF, 0xA5] {
            let data = vec![fill; (1 << 20) + 7];
            assert_eq!(crc32c(&data), REFERENCE.checksum(&data), "fill {fill:#x}");
        }
    }

    #[test]
    fn incremental_register_matches_one_shot() {
        // The register is carried across chunks and the scalar tail; splitting anywhere
        // must not change the result.
        let data = random_bytes(20_000, 11);
        let whole = crc32c(&data);
        for cut in [0, 1, 511, 512, 1023, 4096, 4097, 12_345, 20_000] {
            let (a, b) = data.split_at(cut);
            assert_eq!(!update_vector(update_vector(!0, a), b), whole, "cut {cut}");
            assert_eq!(!update_scalar(update_scalar(!0, a), b), whole, "cut {cut}");
        }
    }

    #[test]
    fn prefixed_joins_a_prefix_to_a_tails_crc() {
        let data: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for (split, end) in [(0, 0), (0, 10), (36, 36), (36, 37), (36, 1000), (5, 65_536), (36, 70_000), (1, 4097)] {
            let (prefix, tail) = data[..end].split_at(split);
            assert_eq!(
                super::crc32c_prefixed(prefix, REFERENCE.checksum(tail), tail.len()),
                REFERENCE.checksum(&data[..end]),
                "prefix {split} bytes, tail {} bytes",
                tail.len()
            );
        }
    }
}
