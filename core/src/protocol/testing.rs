//! Deterministic random values for the codec's property tests.

use super::codec::Uuid;
use bytes::Bytes;

/// A value that can be generated at random so that it is encodable at `version`.
pub trait Sample: Sized {
    fn sample(rng: &mut SampleRng, version: i16) -> Self;
}

/// A small xorshift generator: seeded by proptest, so a failing case shrinks to a seed.
pub struct SampleRng(u64);

impl SampleRng {
    pub fn new(seed: u64) -> Self {
        SampleRng(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
    pub fn i8(&mut self) -> i8 {
        self.next_u64() as i8
    }
    pub fn i16(&mut self) -> i16 {
        self.next_u64() as i16
    }
    pub fn u16(&mut self) -> u16 {
        self.next_u64() as u16
    }
    pub fn i32(&mut self) -> i32 {
        self.next_u64() as i32
    }
    pub fn i64(&mut self) -> i64 {
        self.next_u64() as i64
    }
    /// A finite float (NaN would not compare equal to itself after a round trip).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() as i64 as f64) / 1024.0
    }
    pub fn uuid(&mut self) -> Uuid {
        Uuid::from((self.next_u64() as u128) << 64 | self.next_u64() as u128)
    }
    /// A short string, sometimes multi-byte UTF-8.
    pub fn string(&mut self) -> String {
        const ALPHABET: &[&str] = &["a", "b", "z", "Q", "0", "-", ".", "_", "é", "日", "🦀"];
        (0..self.below(9))
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize])
            .collect()
    }
    pub fn bytes(&mut self) -> Bytes {
        (0..self.below(17))
            .map(|_| self.next_u64() as u8)
            .collect::<Vec<u8>>()
            .into()
    }
    pub fn vec<T>(&mut self, mut element: impl FnMut(&mut Self) -> T) -> Vec<T> {
        (0..self.below(4)).map(|_| element(self)).collect()
    }
    pub fn maybe<T>(&mut self, value: impl FnOnce(&mut Self) -> T) -> Option<T> {
        (self.below(5) != 0).then(|| value(self))
    }
}
