//! ChaCha8 one block at a time: the numbers of `rand_chacha::ChaCha8Rng`, word for word.
//!
//! Most streams of a run are keyed one-shot draws (a latency, a failure coin, a jitter, an
//! image pick): one or two 32-bit words are read and the generator is dropped. `ChaCha8Rng`
//! computes four 64-byte blocks on its first read (its AVX2 path), so three quarters of that
//! work, about 440 instructions a draw on the large scenario, was thrown away; keyed draws were
//! ~10 % of a whole run. This generator computes the same keystream one block at a time: on
//! x86-64 with SSE2 intrinsics, one vector register per row of the state (`lanes`); elsewhere
//! on plain arrays (`portable`, also the reference the vector path is tested against).
//!
//! Same output, exactly: key = the 32-byte seed, a 64-bit block counter from 0 in words 12–13,
//! stream 0 in words 14–15 (`ChaCha8Rng::from_seed`); words are read in keystream order, a
//! `u64` is two consecutive words (low first) and `fill_bytes` consumes whole words, as
//! `rand_core`'s `BlockRng` does. The tests compare against `rand_chacha` for random seeds and
//! random sequences of reads, so the results of every published run stay what they were.

use rand::{Error, RngCore, SeedableRng};

/// Four lanes of the ChaCha state: one row of the 4×4 matrix.
type Row = [u32; 4];

/// "expand 32-byte k".
const SIGMA: Row = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// ChaCha with 8 rounds (4 double rounds), the variant `rand_chacha::ChaCha8Rng` is.
const DOUBLE_ROUNDS: usize = 4;

const WORDS_PER_BLOCK: usize = 16;

/// The 16 keystream words of one block, in keystream order.
#[derive(Clone, Copy, Debug, Default)]
struct Block([u32; WORDS_PER_BLOCK]);

impl Block {
    #[inline(always)]
    fn word(&self, i: usize) -> u32 {
        self.0[i]
    }
}

/// A ChaCha8 keystream read word by word, one block computed at a time.
#[derive(Clone, Debug)]
pub struct ChaCha8Stream {
    key: [Row; 2],
    /// The counter of the next block to compute.
    next_block: u64,
    block: Block,
    /// The next unread word of `block`; `WORDS_PER_BLOCK` when it is used up.
    index: usize,
}

impl SeedableRng for ChaCha8Stream {
    type Seed = [u8; 32];

    fn from_seed(seed: [u8; 32]) -> ChaCha8Stream {
        let mut words = [0u32; 8];
        for (w, b) in words.iter_mut().zip(seed.chunks_exact(4)) {
            *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        ChaCha8Stream {
            key: [[words[0], words[1], words[2], words[3]], [words[4], words[5], words[6], words[7]]],
            next_block: 0,
            block: Block::default(),
            index: WORDS_PER_BLOCK,
        }
    }
}

impl ChaCha8Stream {
    #[inline]
    fn next_word(&mut self) -> u32 {
        if self.index >= WORDS_PER_BLOCK {
            self.block = block(&self.key, self.next_block);
            self.next_block = self.next_block.wrapping_add(1);
            self.index = 0;
        }
        let w = self.block.word(self.index);
        self.index += 1;
        w
    }
}

impl RngCore for ChaCha8Stream {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        self.next_word()
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        let lo = u64::from(self.next_word());
        let hi = u64::from(self.next_word());
        (hi << 32) | lo
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // A partly used word is consumed whole (`rand_core::impls::fill_via_u32_chunks`).
        for chunk in dest.chunks_mut(4) {
            let w = self.next_word().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// The block function in SSE2: each row of the state is one vector register, and a round
/// works on the four lanes at once. The intrinsics take no pointers; the words are read out
/// with lane shuffles, not stores.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod lanes {
    use super::{Block, Row, DOUBLE_ROUNDS, SIGMA, WORDS_PER_BLOCK};
    use std::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_cvtsi128_si32, _mm_or_si128, _mm_set_epi32, _mm_shuffle_epi32,
        _mm_slli_epi32, _mm_srli_epi32, _mm_xor_si128,
    };

    /// The keystream block `counter` under `key`.
    #[inline]
    pub(super) fn block(key: &[Row; 2], counter: u64) -> Block {
        // SAFETY: the only requirement of `block_sse2` is that the CPU has SSE2, and this module
        // is compiled only where the target enables SSE2 (every x86-64 CPU has it).
        unsafe { block_sse2(key, counter) }
    }

    #[target_feature(enable = "sse2")]
    fn xor_rotl<const L: i32, const R: i32>(a: __m128i, b: __m128i) -> __m128i {
        let x = _mm_xor_si128(a, b);
        _mm_or_si128(_mm_slli_epi32::<L>(x), _mm_srli_epi32::<R>(x))
    }

    #[target_feature(enable = "sse2")]
    fn load(r: Row) -> __m128i {
        _mm_set_epi32(r[3] as i32, r[2] as i32, r[1] as i32, r[0] as i32)
    }

    /// One round on the four lanes: columns, or diagonals once the rows are rotated.
    #[target_feature(enable = "sse2")]
    fn round(a: &mut __m128i, b: &mut __m128i, c: &mut __m128i, d: &mut __m128i) {
        *a = _mm_add_epi32(*a, *b);
        *d = xor_rotl::<16, 16>(*d, *a);
        *c = _mm_add_epi32(*c, *d);
        *b = xor_rotl::<12, 20>(*b, *c);
        *a = _mm_add_epi32(*a, *b);
        *d = xor_rotl::<8, 24>(*d, *a);
        *c = _mm_add_epi32(*c, *d);
        *b = xor_rotl::<7, 25>(*b, *c);
    }

    /// The four words of a row, lane 0 first.
    #[target_feature(enable = "sse2")]
    fn words(r: __m128i) -> Row {
        [
            _mm_cvtsi128_si32(r) as u32,
            _mm_cvtsi128_si32(_mm_shuffle_epi32::<0b01>(r)) as u32,
            _mm_cvtsi128_si32(_mm_shuffle_epi32::<0b10>(r)) as u32,
            _mm_cvtsi128_si32(_mm_shuffle_epi32::<0b11>(r)) as u32,
        ]
    }

    #[target_feature(enable = "sse2")]
    fn block_sse2(key: &[Row; 2], counter: u64) -> Block {
        let (s0, k0, k1) = (load(SIGMA), load(key[0]), load(key[1]));
        let d0 = load([counter as u32, (counter >> 32) as u32, 0, 0]);
        let (mut a, mut b, mut c, mut d) = (s0, k0, k1, d0);
        for _ in 0..DOUBLE_ROUNDS {
            round(&mut a, &mut b, &mut c, &mut d);
            // Diagonals into columns: rows b, c, d rotate their lanes left by 1, 2, 3.
            b = _mm_shuffle_epi32::<0x39>(b);
            c = _mm_shuffle_epi32::<0x4e>(c);
            d = _mm_shuffle_epi32::<0x93>(d);
            round(&mut a, &mut b, &mut c, &mut d);
            b = _mm_shuffle_epi32::<0x93>(b);
            c = _mm_shuffle_epi32::<0x4e>(c);
            d = _mm_shuffle_epi32::<0x39>(d);
        }
        let mut out = [0u32; WORDS_PER_BLOCK];
        for (i, r) in [_mm_add_epi32(a, s0), _mm_add_epi32(b, k0), _mm_add_epi32(c, k1), _mm_add_epi32(d, d0)]
            .into_iter()
            .enumerate()
        {
            out[4 * i..4 * i + 4].copy_from_slice(&words(r));
        }
        Block(out)
    }
}

/// The block function on plain arrays, for targets without the x86-64 path (and the
/// reference the x86-64 path is tested against).
mod portable {
    use super::{Block, Row, DOUBLE_ROUNDS, SIGMA};

    fn add(a: Row, b: Row) -> Row {
        [a[0].wrapping_add(b[0]), a[1].wrapping_add(b[1]), a[2].wrapping_add(b[2]), a[3].wrapping_add(b[3])]
    }

    fn xor_rotl(a: Row, b: Row, n: u32) -> Row {
        [
            (a[0] ^ b[0]).rotate_left(n),
            (a[1] ^ b[1]).rotate_left(n),
            (a[2] ^ b[2]).rotate_left(n),
            (a[3] ^ b[3]).rotate_left(n),
        ]
    }

    fn round(a: &mut Row, b: &mut Row, c: &mut Row, d: &mut Row) {
        *a = add(*a, *b);
        *d = xor_rotl(*d, *a, 16);
        *c = add(*c, *d);
        *b = xor_rotl(*b, *c, 12);
        *a = add(*a, *b);
        *d = xor_rotl(*d, *a, 8);
        *c = add(*c, *d);
        *b = xor_rotl(*b, *c, 7);
    }

    /// Rotates a row's lanes left by `n`.
    fn lanes_left(r: Row, n: usize) -> Row {
        [r[n % 4], r[(n + 1) % 4], r[(n + 2) % 4], r[(n + 3) % 4]]
    }

    #[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
    pub(super) fn block(key: &[Row; 2], counter: u64) -> Block {
        let d0: Row = [counter as u32, (counter >> 32) as u32, 0, 0];
        let (mut a, mut b, mut c, mut d) = (SIGMA, key[0], key[1], d0);
        for _ in 0..DOUBLE_ROUNDS {
            round(&mut a, &mut b, &mut c, &mut d);
            b = lanes_left(b, 1);
            c = lanes_left(c, 2);
            d = lanes_left(d, 3);
            round(&mut a, &mut b, &mut c, &mut d);
            b = lanes_left(b, 3);
            c = lanes_left(c, 2);
            d = lanes_left(d, 1);
        }
        let (a, b, c, d) = (add(a, SIGMA), add(b, key[0]), add(c, key[1]), add(d, d0));
        Block([
            a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], c[0], c[1], c[2], c[3], d[0], d[1], d[2], d[3],
        ])
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
use lanes::block;
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use portable::block;

#[cfg(test)]
mod tests {
    use super::{block, portable, Block, ChaCha8Stream};
    use proptest::prelude::*;
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// One read of the generator, as `rand` makes them.
    #[derive(Clone, Debug)]
    enum Read {
        U32,
        U64,
        Bytes(usize),
    }

    fn read() -> impl Strategy<Value = Read> {
        prop_oneof![Just(Read::U32), Just(Read::U64), (0usize..70).prop_map(Read::Bytes)]
    }

    proptest! {
        /// Every sequence of reads gives what `rand_chacha` gives: across block boundaries
        /// (16 words here, 64 there), a `u64` straddling them, partial words in `fill_bytes`.
        #[test]
        fn same_words_as_rand_chacha(seed in any::<[u8; 32]>(), reads in prop::collection::vec(read(), 0..80)) {
            let mut ours = ChaCha8Stream::from_seed(seed);
            let mut theirs = ChaCha8Rng::from_seed(seed);
            for r in reads {
                match r {
                    Read::U32 => prop_assert_eq!(ours.next_u32(), theirs.next_u32()),
                    Read::U64 => prop_assert_eq!(ours.next_u64(), theirs.next_u64()),
                    Read::Bytes(n) => {
                        let (mut x, mut y) = (vec![0u8; n], vec![0u8; n]);
                        ours.fill_bytes(&mut x);
                        theirs.fill_bytes(&mut y);
                        prop_assert_eq!(x, y);
                    }
                }
            }
        }
    }

    proptest! {
        /// The vector path and the portable path compute the same blocks.
        #[test]
        fn both_block_functions_agree(k in any::<[u32; 8]>(), counter in any::<u64>()) {
            let key = [[k[0], k[1], k[2], k[3]], [k[4], k[5], k[6], k[7]]];
            let (v, p) = (block(&key, counter), portable::block(&key, counter));
            for i in 0..16 {
                prop_assert_eq!(v.word(i), p.word(i));
            }
        }
    }

    #[test]
    fn long_runs_match_including_the_counters_high_word() {
        // 300 blocks, read as u64s: counters past 255 exercise more than the low byte.
        let seed = [7u8; 32];
        let (mut ours, mut theirs) = (ChaCha8Stream::from_seed(seed), ChaCha8Rng::from_seed(seed));
        for _ in 0..300 * 8 {
            assert_eq!(ours.next_u64(), theirs.next_u64());
        }
        // The high counter word reaches the state as well.
        let key = [[1, 2, 3, 4], [5, 6, 7, 8]];
        let words = |b: Block| (0..16).map(|i| b.word(i)).collect::<Vec<u32>>();
        assert_ne!(words(block(&key, 1 << 32)), words(block(&key, 0)));
    }

    #[test]
    fn published_chacha8_vector_for_the_all_zero_key() {
        // ChaCha8 keystream of the all-zero key and nonce, block 0 (the published test vector
        // of the reduced-round variants): first words 0x3e00ef2f, 0x895f40d6.
        let b = block(&[[0; 4], [0; 4]], 0);
        assert_eq!(
            &[b.word(0), b.word(1)],
            &[u32::from_le_bytes([0x3e, 0x00, 0xef, 0x2f]), u32::from_le_bytes([0x89, 0x5f, 0x40, 0xd6])]
        );
    }
}
