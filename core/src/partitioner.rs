//! Choosing a partition for a record, compatible with the Java client and librdkafka.
//!
//! - [`Partitioner::Default`]: the Java client's placement of keyed records,
//!   `(murmur2(key) & 0x7fffffff) % partitions`; records without a key stick to one
//!   partition until the producer starts a new batch for it, then move on (the sticky
//!   partitioner of KIP-480; the Java client since 3.3 switches after `batch.size` bytes
//!   instead, KIP-794).
//! - `consistent_random`, `murmur2_random`, `random`, `consistent`, `murmur2`: librdkafka's
//!   `partitioner` values of the same names (CRC32 or murmur2 of the key; random or, for
//!   `consistent`/`murmur2`, hashed empty key when there is no key). Note that
//!   librdkafka's own default is `consistent_random`, tidelog's is Java's.

#![warn(missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};

/// Kafka's murmur2 (the Java client's `Utils.murmur2`): 32-bit MurmurHash2 with seed
/// 0x9747b28c, over little-endian 4-byte words. The hash is signed, as Java's `int`.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The Java client's placement of a keyed record: `(murmur2(key) & 0x7fffffff) %
/// partitions`, in `0..partitions`.
///
/// # Panics
/// If `partitions` is 0.
pub fn murmur2_partition(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

/// CRC-32 (IEEE) as librdkafka's `consistent` partitioners use it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

/// How a producer picks partitions, named as `partitioner` is configured. Parsed with
/// [`str::parse`] from the names on the variants; an unknown name is an `Err` message
/// listing the valid ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Partitioner {
    /// `default` (or `sticky`): the Java client's murmur2 placement for keys; without a
    /// key, the sticky partition (KIP-480).
    #[default]
    Default,
    /// librdkafka `consistent_random`: CRC32 of the key, random without one.
    ConsistentRandom,
    /// librdkafka `consistent`: CRC32 of the key (an absent key hashes as empty).
    Consistent,
    /// librdkafka `murmur2_random`: murmur2 of the key as the Java client places keys,
    /// random without one.
    Murmur2Random,
    /// librdkafka `murmur2`: murmur2 of the key (an absent key hashes as empty).
    Murmur2,
    /// librdkafka `random`: each record to a random partition, key or not.
    Random,
}

impl std::str::FromStr for Partitioner {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(match name {
            "default" | "sticky" => Partitioner::Default,
            "consistent_random" => Partitioner::ConsistentRandom,
            "consistent" => Partitioner::Consistent,
            "murmur2_random" => Partitioner::Murmur2Random,
            "murmur2" => Partitioner::Murmur2,
            "random" => Partitioner::Random,
            other => {
                return Err(format!(
                    "unknown partitioner `{other}`: expected default, consistent_random, consistent, murmur2_random, murmur2 or random"
                ))
            }
        })
    }
}

/// A small, fast, non-cryptographic random source for spreading keyless records.
fn random_below(n: i32) -> i32 {
    static STATE: AtomicU64 = AtomicU64::new(0x853c_49e6_748f_ea9b);
    let mut x = STATE.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x % n.max(1) as u64) as i32
}

impl Partitioner {
    /// The partition, in `0..partitions`, for a record with `key` among `partitions`.
    /// `sticky` is the partition keyless records currently stick to: only
    /// [`Partitioner::Default`] reads it, and returns it as it is when it is below
    /// `partitions` (else, or with `None`, it picks one at random).
    ///
    /// # Panics
    /// If `partitions` is 0 and the record is placed by hashing (a key, or
    /// `consistent`/`murmur2` without one).
    pub fn partition(self, key: Option<&[u8]>, partitions: i32, sticky: Option<i32>) -> i32 {
        match (self, key) {
            (
                Partitioner::Default | Partitioner::Murmur2Random | Partitioner::Murmur2,
                Some(key),
            ) => murmur2_partition(key, partitions),
            (Partitioner::ConsistentRandom | Partitioner::Consistent, Some(key)) => {
                (crc32(key) % partitions as u32) as i32
            }
            (Partitioner::Murmur2, None) => murmur2_partition(&[], partitions),
            (Partitioner::Consistent, None) => (crc32(&[]) % partitions as u32) as i32,
            (Partitioner::Default, None) => sticky
                .filter(|p| *p < partitions)
                .unwrap_or_else(|| random_below(partitions)),
            (_, _) => random_below(partitions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafkas_own_test_vectors() {
        // From Kafka's UtilsTest.testMurmur2.
        let vectors: &[(&str, i32)] = &[
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            ("abc", 479470107),
        ];
        for (input, expected) in vectors {
            assert_eq!(murmur2(input.as_bytes()), *expected, "murmur2({input:?})");
        }
    }

    #[test]
    fn keyed_placement_is_stable_and_keyless_records_stick() {
        for partitioner in [
            Partitioner::Default,
            Partitioner::ConsistentRandom,
            Partitioner::Murmur2Random,
        ] {
            let first = partitioner.partition(Some(b"user-42"), 12, None);
            assert!((0..12).all(|_| partitioner.partition(Some(b"user-42"), 12, None) == first));
        }
        assert_eq!(Partitioner::Default.partition(None, 6, Some(4)), 4);
        assert!((0..100).all(|_| (0..6).contains(&Partitioner::Random.partition(None, 6, None))));
        assert_eq!(
            "murmur2_random".parse::<Partitioner>(),
            Ok(Partitioner::Murmur2Random)
        );
        assert!("fancy"
            .parse::<Partitioner>()
            .unwrap_err()
            .contains("fancy"));
    }

    #[test]
    fn consistent_uses_crc32_as_librdkafka_does() {
        // CRC-32/IEEE of "123456789" is 0xCBF43926.
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(
            Partitioner::Consistent.partition(Some(b"123456789"), 7, None),
            (0xcbf4_3926u32 % 7) as i32
        );
    }
}
