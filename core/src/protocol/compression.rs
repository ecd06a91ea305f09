//! The compression codecs of Kafka record batches: none, gzip, snappy, lz4 and zstd.
//!
//! A batch's codec is stored in bits 0-2 of its attributes (see
//! <https://kafka.apache.org/documentation/#recordbatch>) and the whole records section
//! of the batch is compressed as one stream:
//!
//! - **gzip**: an RFC 1952 gzip stream (concatenated members are accepted on read).
//! - **snappy**: the Java client writes the framing of the snappy-java library
//!   ("xerial" framing, see [`SnappyFraming::Xerial`]); librdkafka and others write one
//!   raw snappy block. Both are accepted on read.
//! - **lz4**: the standard LZ4 frame format with independent blocks, which is what the
//!   Java client and librdkafka write for magic 2 batches (the broken header checksum of
//!   magic 0 batches, KAFKA-3160, does not apply).
//! - **zstd**: a zstd stream; frames without a content size are accepted on read.
//!
//! Decompression always takes a limit on the output size so that a small hostile batch
//! cannot make the process allocate gigabytes (a "decompression bomb").

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use bytes::{BufMut, Bytes, BytesMut};

/// The `attributes` bits of a record batch that hold the compression codec.
pub const COMPRESSION_CODEC_MASK: i16 = 0x07;

/// How much uncompressed input goes into one xerial snappy block: 32 KiB, the block
/// size snappy-java's `SnappyOutputStream` uses by default.
pub const XERIAL_BLOCK_SIZE: usize = 32 * 1024;

/// The 8-byte magic that starts a xerial (snappy-java) framed stream.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Magic, then int32 version and int32 compatible version, both 1.
const XERIAL_HEADER_LEN: usize = XERIAL_MAGIC.len() + 8;
const XERIAL_VERSION: i32 = 1;
const XERIAL_COMPATIBLE_VERSION: i32 = 1;

/// zstd level 3 is Kafka's default (`compression.zstd.level`).
const ZSTD_LEVEL: i32 = 3;

/// The compression codec of a record batch, with Kafka's attribute codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Uncompressed records (code 0).
    #[default]
    None,
    /// gzip (code 1).
    Gzip,
    /// Snappy (code 2).
    Snappy,
    /// LZ4 frame format (code 3).
    Lz4,
    /// Zstandard (code 4, since Kafka 2.1 / KIP-110).
    Zstd,
}

impl Compression {
    /// Every codec, in code order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// Reads the codec from a batch's `attributes` (bits 0-2); the other bits are ignored.
    ///
    /// # Errors
    /// [`CompressionError::UnknownCodec`] for codes 5-7.
    pub fn from_attributes(attributes: i16) -> Result<Self, CompressionError> {
        Self::from_code(attributes & COMPRESSION_CODEC_MASK)
    }

    /// The codec with Kafka's numeric `code` (0 = none .. 4 = zstd).
    ///
    /// # Errors
    /// [`CompressionError::UnknownCodec`] for any other code.
    pub fn from_code(code: i16) -> Result<Self, CompressionError> {
        match code {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            _ => Err(CompressionError::UnknownCodec { code }),
        }
    }

    /// Kafka's numeric code for this codec, as stored in batch attributes bits 0-2.
    pub fn code(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// Kafka's name for this codec as used by the `compression.type` setting:
    /// `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Compression {
    type Err = CompressionError;

    /// Parses a producer `compression.type` value. Names are matched exactly, as Kafka
    /// does. The topic-level values `producer` and `uncompressed` are not codecs and are
    /// left to the caller.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Compression::ALL
            .into_iter()
            .find(|codec| codec.name() == name)
            .ok_or_else(|| CompressionError::UnknownName {
                name: name.to_owned(),
            })
    }
}

/// Which framing [`compress_with`] writes for snappy. Decompression accepts both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SnappyFraming {
    /// The snappy-java stream format the Java client writes: the magic
    /// `\x82SNAPPY\0`, int32 version 1, int32 compatible version 1, then blocks of
    /// int32 compressed length + one raw snappy block, each covering up to
    /// [`XERIAL_BLOCK_SIZE`] bytes of input. All integers are big-endian.
    #[default]
    Xerial,
    /// One raw snappy block holding all the input, as librdkafka writes.
    Raw,
}

/// Why data could not be compressed or decompressed.
#[derive(Debug, thiserror::Error)]
pub enum CompressionError {
    /// A batch's attributes name a codec code Kafka does not define (5-7).
    #[error("unknown compression codec code {code}")]
    UnknownCodec {
        /// The code from attributes bits 0-2.
        code: i16,
    },
    /// A `compression.type` string is not one of Kafka's codec names.
    #[error("unknown compression type {name:?} (expected none, gzip, snappy, lz4 or zstd)")]
    UnknownName {
        /// The string that was given.
        name: String,
    },
    /// The codec failed while compressing.
    #[error("{codec} compression failed: {source}")]
    Compress {
        /// The codec in use.
        codec: Compression,
        /// The codec's error.
        #[source]
        source: io::Error,
    },
    /// The input is not valid data for the codec.
    #[error("invalid {codec} data: {source}")]
    Corrupt {
        /// The codec in use.
        codec: Compression,
        /// The codec's error.
        #[source]
        source: io::Error,
    },
    /// The output would exceed the caller's limit.
    #[error("{codec} data decompresses to more than the limit of {limit} bytes")]
    TooLarge {
        /// The codec in use.
        codec: Compression,
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
}

fn corrupt(codec: Compression, source: io::Error) -> CompressionError {
    CompressionError::Corrupt { codec, source }
}

fn invalid_data(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Compresses `input` with `codec`, appending the result to `out`. Snappy uses the
/// [`SnappyFraming::Xerial`] framing that the Java client writes; `None` copies the
/// input unchanged.
///
/// # Errors
/// [`CompressionError::Compress`] if the codec fails (e.g. snappy input over 4 GiB).
pub fn compress(
    codec: Compression,
    input: &[u8],
    out: &mut BytesMut,
) -> Result<(), CompressionError> {
    compress_with(codec, SnappyFraming::default(), input, out)
}

/// Like [`compress`], choosing the snappy framing; `snappy_framing` is ignored for the
/// other codecs. Levels are Kafka's defaults: gzip 6, lz4 fast mode with 64 KiB
/// independent blocks (the only kind the Java reader accepts), zstd 3.
///
/// # Errors
/// [`CompressionError::Compress`] if the codec fails.
pub fn compress_with(
    codec: Compression,
    snappy_framing: SnappyFraming,
    input: &[u8],
    out: &mut BytesMut,
) -> Result<(), CompressionError> {
    let failed = |source| CompressionError::Compress { codec, source };
    match codec {
        Compression::None => {
            out.extend_from_slice(input);
            Ok(())
        }
        Compression::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(out.writer(), flate2::Compression::new(6));
            encoder.write_all(input).map_err(failed)?;
            encoder.finish().map(drop).map_err(failed)
        }
        Compression::Snappy => match snappy_framing {
            SnappyFraming::Raw => snappy_block(input, out).map(drop).map_err(failed),
            SnappyFraming::Xerial => {
                out.extend_from_slice(&XERIAL_MAGIC);
                out.put_i32(XERIAL_VERSION);
                out.put_i32(XERIAL_COMPATIBLE_VERSION);
                for chunk in input.chunks(XERIAL_BLOCK_SIZE) {
                    let length_at = out.len();
                    out.put_i32(0);
                    let written = snappy_block(chunk, out).map_err(failed)?;
                    // A 32 KiB chunk compresses to well under 2 GiB, so this cannot wrap.
                    out[length_at..length_at + 4].copy_from_slice(&(written as i32).to_be_bytes());
                }
                Ok(())
            }
        },
        Compression::Lz4 => {
            let frame = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent);
            let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(frame, out.writer());
            encoder.write_all(input).map_err(failed)?;
            encoder
                .finish()
                .map(drop)
                .map_err(|error| failed(error.into()))
        }
        Compression::Zstd => {
            let mut encoder =
                zstd::stream::write::Encoder::new(out.writer(), ZSTD_LEVEL).map_err(failed)?;
            encoder.write_all(input).map_err(failed)?;
            encoder.finish().map(drop).map_err(failed)
        }
    }
}

/// Appends one raw snappy block holding `input`; returns its length in bytes.
fn snappy_block(input: &[u8], out: &mut BytesMut) -> io::Result<usize> {
    let start = out.len();
    out.resize(start + snap::raw::max_compress_len(input.len()), 0);
    let result = snap::raw::Encoder::new().compress(input, &mut out[start..]);
    let written = result.as_ref().map_or(0, |written| *written);
    out.truncate(start + written);
    result.map_err(io::Error::from)
}

/// Decompresses `input`, which was compressed with `codec`, refusing to produce more
/// than `max_output_bytes` bytes. `None` returns a copy of the input (subject to the same
/// limit). For snappy, both xerial-framed and raw data are accepted: input starting with
/// the xerial magic is read as xerial, anything else as one raw block, as the Java client
/// does.
///
/// # Errors
/// - [`CompressionError::TooLarge`] if the output would exceed `max_output_bytes`; this is
///   detected before allocating the excess.
/// - [`CompressionError::Corrupt`] if `input` is not valid data for the codec, including
///   when it is truncated.
pub fn decompress(
    codec: Compression,
    input: &[u8],
    max_output_bytes: usize,
) -> Result<Bytes, CompressionError> {
    let output = match codec {
        Compression::None => {
            if input.len() > max_output_bytes {
                return Err(CompressionError::TooLarge {
                    codec,
                    limit: max_output_bytes,
                });
            }
            input.to_vec()
        }
        // Compressed data is never empty (every format has a header); some decoders
        // would read empty input as an empty stream.
        _ if input.is_empty() => return Err(corrupt(codec, invalid_data("no compressed data"))),
        Compression::Gzip => read_limited(
            codec,
            flate2::read::MultiGzDecoder::new(input),
            max_output_bytes,
        )?,
        Compression::Snappy => {
            if input.starts_with(&XERIAL_MAGIC) {
                decompress_xerial(input, max_output_bytes)?
            } else {
                let mut output = Vec::new();
                decompress_snappy_block(input, &mut output, max_output_bytes)?;
                output
            }
        }
        Compression::Lz4 => {
            let mut output = Vec::new();
            let mut rest = input;
            // Frame by frame, since the decoder takes a frame cut at a block boundary
            // for a complete one; concatenated frames are allowed by the LZ4 format.
            while !rest.is_empty() {
                let length = lz4_frame_len(rest).map_err(|source| corrupt(codec, source))?;
                let (frame, after) = rest.split_at(length);
                let mut decoder = lz4_flex::frame::FrameDecoder::new(frame);
                read_limited_into(codec, &mut decoder, &mut output, max_output_bytes)?;
                rest = after;
            }
            output
        }
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(input)
                .map_err(|source| corrupt(codec, source))?;
            read_limited(codec, decoder, max_output_bytes)?
        }
    };
    Ok(Bytes::from(output))
}

/// Reads a streaming decoder to the end, failing as soon as it yields more than `limit`
/// bytes.
fn read_limited(
    codec: Compression,
    mut decoder: impl Read,
    limit: usize,
) -> Result<Vec<u8>, CompressionError> {
    let mut output = Vec::new();
    read_limited_into(codec, &mut decoder, &mut output, limit)?;
    Ok(output)
}

/// Appends what `decoder` yields until it reports the end to `output`, failing as soon as
/// `output` would exceed `limit` bytes.
fn read_limited_into(
    codec: Compression,
    decoder: &mut impl Read,
    output: &mut Vec<u8>,
    limit: usize,
) -> Result<(), CompressionError> {
    // One byte past the limit is enough to tell that the limit was exceeded.
    let cap = (limit.saturating_sub(output.len()) as u64).saturating_add(1);
    decoder
        .take(cap)
        .read_to_end(output)
        .map_err(|source| corrupt(codec, source))?;
    if output.len() > limit {
        return Err(CompressionError::TooLarge { codec, limit });
    }
    Ok(())
}

/// The magic number that starts an LZ4 frame (little-endian on the wire).
const LZ4_FRAME_MAGIC: u32 = 0x184D_2204;

/// The length of the LZ4 frame at the start of `input`, found by walking its block
/// headers up to the end mark, which checks that the frame is complete. Block contents
/// and the header checksum are left to the decoder.
fn lz4_frame_len(input: &[u8]) -> io::Result<usize> {
    const CONTENT_SIZE_FLAG: u8 = 0x08;
    const CONTENT_CHECKSUM_FLAG: u8 = 0x04;
    const BLOCK_CHECKSUM_FLAG: u8 = 0x10;
    const DICTIONARY_ID_FLAG: u8 = 0x01;
    const UNCOMPRESSED_BLOCK_BIT: u32 = 0x8000_0000;
    let truncated = || invalid_data("truncated lz4 frame");
    let read_le_u32 = |at: usize| {
        let bytes = input.get(at..)?.first_chunk::<4>()?;
        Some(u32::from_le_bytes(*bytes))
    };

    if read_le_u32(0).ok_or_else(truncated)? != LZ4_FRAME_MAGIC {
        return Err(invalid_data("not an lz4 frame (bad magic number)"));
    }
    let flags = *input.get(4).ok_or_else(truncated)?;
    let optional_field = |flag: u8, size: usize| if flags & flag != 0 { size } else { 0 };
    // Magic, FLG and BD bytes, optional content size and dictionary id, header checksum.
    let mut at =
        6 + optional_field(CONTENT_SIZE_FLAG, 8) + optional_field(DICTIONARY_ID_FLAG, 4) + 1;
    let block_checksum = optional_field(BLOCK_CHECKSUM_FLAG, 4);
    loop {
        let block = read_le_u32(at).ok_or_else(truncated)?;
        at += 4;
        if block == 0 {
            at += optional_field(CONTENT_CHECKSUM_FLAG, 4);
            return if at <= input.len() {
                Ok(at)
            } else {
                Err(truncated())
            };
        }
        let length = (block & !UNCOMPRESSED_BLOCK_BIT) as usize;
        at = at.saturating_add(length).saturating_add(block_checksum);
        if at > input.len() {
            return Err(truncated());
        }
    }
}

/// Appends the decompression of one raw snappy block to `output`, keeping the total
/// within `limit`. The block states its uncompressed length up front, so the limit is
/// checked before allocating.
fn decompress_snappy_block(
    block: &[u8],
    output: &mut Vec<u8>,
    limit: usize,
) -> Result<(), CompressionError> {
    let codec = Compression::Snappy;
    let length = snap::raw::decompress_len(block).map_err(|error| corrupt(codec, error.into()))?;
    let start = output.len();
    if length > limit.saturating_sub(start) {
        return Err(CompressionError::TooLarge { codec, limit });
    }
    output.resize(start + length, 0);
    match snap::raw::Decoder::new().decompress(block, &mut output[start..]) {
        Ok(written) if written == length => Ok(()),
        Ok(_) => Err(corrupt(
            codec,
            invalid_data("snappy block shorter than its stated length"),
        )),
        Err(error) => Err(corrupt(codec, error.into())),
    }
}

/// Decompresses a xerial-framed snappy stream (the caller has checked the magic).
/// Several streams may be concatenated, as snappy-java's reader allows; the header's
/// version fields are not enforced.
fn decompress_xerial(input: &[u8], limit: usize) -> Result<Vec<u8>, CompressionError> {
    let codec = Compression::Snappy;
    let mut output = Vec::new();
    let mut rest = input;
    loop {
        // At a stream header: skip magic and the two version fields.
        if rest.len() < XERIAL_HEADER_LEN || !rest.starts_with(&XERIAL_MAGIC) {
            return Err(corrupt(
                codec,
                invalid_data("truncated xerial snappy header"),
            ));
        }
        rest = &rest[XERIAL_HEADER_LEN..];
        loop {
            let Some((length, after)) = split_be_u32(rest) else {
                if rest.is_empty() {
                    return Ok(output);
                }
                return Err(corrupt(
                    codec,
                    invalid_data("truncated xerial snappy block length"),
                ));
            };
            if rest.starts_with(&XERIAL_MAGIC[..4]) {
                // The next stream's header; its first four bytes would be a negative length.
                break;
            }
            let length = length as usize;
            if length > after.len() {
                return Err(corrupt(
                    codec,
                    invalid_data("xerial snappy block runs past the end of the data"),
                ));
            }
            let (block, after_block) = after.split_at(length);
            decompress_snappy_block(block, &mut output, limit)?;
            rest = after_block;
        }
    }
}

fn split_be_u32(input: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = input.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*head), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 64 << 20;

    fn sample(len: usize) -> Vec<u8> {
        // Compressible but not trivial: a repeating text with a counter mixed in.
        (0..len)
            .map(|i| b"tidelog record "[i % 15] ^ ((i / 97) as u8 & 3))
            .collect()
    }

    fn round_trip(codec: Compression, framing: SnappyFraming, input: &[u8]) {
        let mut out = BytesMut::from(&b"prefix"[..]);
        compress_with(codec, framing, input, &mut out).unwrap();
        assert_eq!(&out[..6], b"prefix", "compress appends");
        let decoded = decompress(codec, &out[6..], LIMIT).unwrap();
        assert_eq!(
            &decoded[..],
            input,
            "{codec} {framing:?} len {}",
            input.len()
        );
    }

    #[test]
    fn every_codec_round_trips() {
        for codec in Compression::ALL {
            for framing in [SnappyFraming::Xerial, SnappyFraming::Raw] {
                for len in [0, 1, 100, XERIAL_BLOCK_SIZE, XERIAL_BLOCK_SIZE + 1, 200_000] {
                    round_trip(codec, framing, &sample(len));
                }
            }
        }
    }

    #[test]
    fn codes_and_names_are_kafkas() {
        for (code, name) in ["none", "gzip", "snappy", "lz4", "zstd"]
            .into_iter()
            .enumerate()
        {
            let codec: Compression = name.parse().unwrap();
            assert_eq!(codec.code(), code as i16);
            assert_eq!(codec.name(), name);
            assert_eq!(codec.to_string(), name);
            assert_eq!(Compression::from_code(code as i16).unwrap(), codec);
            // Only bits 0-2 count.
            assert_eq!(
                Compression::from_attributes(0x78 | code as i16).unwrap(),
                codec
            );
        }
        assert!(matches!(
            Compression::from_attributes(5),
            Err(CompressionError::UnknownCodec { code: 5 })
        ));
        assert!(matches!(
            "GZIP".parse::<Compression>(),
            Err(CompressionError::UnknownName { .. })
        ));
        assert!("producer".parse::<Compression>().is_err());
    }

    #[test]
    fn xerial_framing_has_the_snappy_java_layout() {
        let input = sample(XERIAL_BLOCK_SIZE * 2 + 10);
        let mut out = BytesMut::new();
        compress(Compression::Snappy, &input, &mut out).unwrap();
        assert_eq!(&out[..16], b"\x82SNAPPY\0\0\0\0\x01\0\0\0\x01");
        // Three blocks: 32 KiB, 32 KiB, 10 bytes of input.
        let mut rest = &out[16..];
        let mut blocks = Vec::new();
        while !rest.is_empty() {
            let (length, after) = split_be_u32(rest).unwrap();
            let block = &after[..length as usize];
            blocks.push(snap::raw::decompress_len(block).unwrap());
            rest = &after[length as usize..];
        }
        assert_eq!(blocks, [XERIAL_BLOCK_SIZE, XERIAL_BLOCK_SIZE, 10]);
    }

    #[test]
    fn concatenated_streams_are_read_whole() {
        let (first, second) = (sample(1000), sample(3000));
        for codec in [
            Compression::Snappy,
            Compression::Gzip,
            Compression::Zstd,
            Compression::Lz4,
        ] {
            let mut out = BytesMut::new();
            compress(codec, &first, &mut out).unwrap();
            compress(codec, &second, &mut out).unwrap();
            let decoded = decompress(codec, &out, LIMIT).unwrap();
            assert_eq!(decoded.len(), first.len() + second.len(), "{codec}");
            assert_eq!(&decoded[..first.len()], &first[..], "{codec}");
            assert_eq!(&decoded[first.len()..], &second[..], "{codec}");
        }
    }

    #[test]
    fn decompression_bombs_are_refused() {
        let zeros = vec![0u8; 4 << 20];
        for codec in Compression::ALL {
            for framing in [SnappyFraming::Xerial, SnappyFraming::Raw] {
                let mut out = BytesMut::new();
                compress_with(codec, framing, &zeros, &mut out).unwrap();
                let result = decompress(codec, &out, 1 << 20);
                assert!(
                    matches!(
                        result,
                        Err(CompressionError::TooLarge { codec: c, limit })
                            if c == codec && limit == 1 << 20
                    ),
                    "{codec} {framing:?}: {result:?}"
                );
                // Exactly at the limit is fine.
                assert_eq!(
                    decompress(codec, &out, zeros.len()).unwrap().len(),
                    zeros.len()
                );
            }
        }
    }

    #[test]
    fn corrupt_input_is_an_error() {
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            for framing in [SnappyFraming::Xerial, SnappyFraming::Raw] {
                let mut out = BytesMut::new();
                compress_with(codec, framing, &sample(5000), &mut out).unwrap();
                // Truncations must fail, never panic.
                for cut in [0, 1, 5, 16, out.len() / 2, out.len() - 4, out.len() - 1] {
                    let result = decompress(codec, &out[..cut], LIMIT);
                    if let Ok(decoded) = &result {
                        // A cut on a xerial block boundary is a valid (shorter) stream.
                        assert!(
                            codec == Compression::Snappy && decoded.len() < 5000,
                            "{codec} cut {cut}"
                        );
                    }
                }
                let garbage: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(37)).collect();
                assert!(decompress(codec, &garbage, LIMIT).is_err(), "{codec}");
            }
        }
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            assert!(
                matches!(
                    decompress(codec, &[], LIMIT),
                    Err(CompressionError::Corrupt { .. })
                ),
                "{codec}"
            );
        }
        let mut bad_xerial = XERIAL_MAGIC.to_vec();
        bad_xerial.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 1]);
        assert!(matches!(
            decompress(Compression::Snappy, &bad_xerial, LIMIT),
            Err(CompressionError::Corrupt { .. })
        ));
    }
}
