//! Kafka record batches, format v2 ("magic 2"), as carried in the `records` fields of
//! Produce requests and Fetch responses and stored in the log.
//!
//! See <https://kafka.apache.org/documentation/#recordbatch>. A batch is a 61-byte
//! header followed by the records section, which is compressed as a whole when the
//! batch's codec is not `none`. All header integers are big-endian:
//!
//! | at | field                | type | notes                                         |
//! |----|----------------------|------|-----------------------------------------------|
//! |  0 | baseOffset           | i64  |                                               |
//! |  8 | batchLength          | i32  | bytes after this field                        |
//! | 12 | partitionLeaderEpoch | i32  | not covered by the CRC                        |
//! | 16 | magic                | i8   | 2                                             |
//! | 17 | crc                  | u32  | CRC-32C of bytes 21..end                      |
//! | 21 | attributes           | i16  | see below                                     |
//! | 23 | lastOffsetDelta      | i32  |                                               |
//! | 27 | baseTimestamp        | i64  | ms                                            |
//! | 35 | maxTimestamp         | i64  | ms                                            |
//! | 43 | producerId           | i64  |                                               |
//! | 51 | producerEpoch        | i16  |                                               |
//! | 53 | baseSequence         | i32  |                                               |
//! | 57 | recordCount          | i32  |                                               |
//! | 61 | records              |      |                                               |
//!
//! Attribute bits: 0-2 compression codec, 3 timestamp type (1 = LogAppendTime),
//! 4 transactional, 5 control batch, 6 delete horizon set by compaction.
//!
//! Each record is: length (varint), attributes (i8, unused), timestampDelta (varlong),
//! offsetDelta (varint), key length (varint, -1 = null) and key, value length (varint,
//! -1 = null) and value, header count (varint), then per header a key length (varint)
//! and key (a string, never null) and a value length (varint, -1 = null) and value.
//! Varints are zigzag-encoded.
//!
//! The types here:
//! - [`RecordBatch`]: a zero-copy, validated view of one batch in a [`Bytes`].
//! - [`RecordBatches`]: iterates over the concatenated batches of a `records` field.
//! - [`Records`] / [`Record`]: the records of one batch, decompressed if needed, with
//!   keys, values and headers as zero-copy slices.
//! - [`RecordBatchMut`]: patches the fields a broker rewrites in place (base offset,
//!   leader epoch, LogAppendTime) and those a producer renumbers (producer id, epoch,
//!   first sequence).
//! - [`RecordBatchBuilder`]: writes a batch with any codec.
//!
//! Legacy message sets (magic 0 and 1) are not supported: they are reported as
//! [`RecordBatchError::LegacyMessageFormat`].

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::codec::{self, DecodeError};
use super::compression::{self, Compression, CompressionError, SnappyFraming};

/// The magic byte (format version) of the record batches this module handles.
pub const MAGIC: i8 = 2;
/// The length of a v2 batch header, in bytes; the records start at this position.
pub const RECORD_BATCH_HEADER_LEN: usize = 61;
/// The bytes before `batchLength` counts: baseOffset and batchLength themselves.
pub const LOG_OVERHEAD: usize = 12;
/// The default cap on a batch's decompressed records section used by
/// [`RecordBatch::records`]: 256 MiB. Kafka batches are rarely over a few MiB; the cap
/// stops a small compressed batch from inflating without bound.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 256 << 20;

/// `producerId` of a batch written without an idempotent producer.
pub const NO_PRODUCER_ID: i64 = -1;
/// `producerEpoch` of a batch written without an idempotent producer.
pub const NO_PRODUCER_EPOCH: i16 = -1;
/// `baseSequence` of a batch written without an idempotent producer.
pub const NO_SEQUENCE: i32 = -1;
/// `partitionLeaderEpoch` of a batch a client wrote (the broker fills it in).
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;
/// A timestamp that is not set.
pub const NO_TIMESTAMP: i64 = -1;

// Field positions within a batch.
const BASE_OFFSET_AT: usize = 0;
const BATCH_LENGTH_AT: usize = 8;
const PARTITION_LEADER_EPOCH_AT: usize = 12;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
const LAST_OFFSET_DELTA_AT: usize = 23;
const BASE_TIMESTAMP_AT: usize = 27;
const MAX_TIMESTAMP_AT: usize = 35;
const PRODUCER_ID_AT: usize = 43;
const PRODUCER_EPOCH_AT: usize = 51;
const BASE_SEQUENCE_AT: usize = 53;
const RECORD_COUNT_AT: usize = 57;
/// The CRC covers everything from the attributes on.
const CRC_COVERS_FROM: usize = ATTRIBUTES_AT;
/// The smallest `batchLength` a v2 batch can have: its header after `batchLength`.
const MIN_BATCH_LENGTH: i32 = (RECORD_BATCH_HEADER_LEN - LOG_OVERHEAD) as i32;

const TIMESTAMP_TYPE_BIT: i16 = 1 << 3;
const TRANSACTIONAL_BIT: i16 = 1 << 4;
const CONTROL_BIT: i16 = 1 << 5;
const DELETE_HORIZON_BIT: i16 = 1 << 6;

/// What a batch's timestamps mean (attributes bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Records carry the time the producer created them (bit clear).
    #[default]
    CreateTime,
    /// The broker stamped the batch when appending it: every record's timestamp is the
    /// batch's `maxTimestamp` (bit set).
    LogAppendTime,
}

/// Why a record batch could not be parsed, validated, read or built.
#[derive(Debug, thiserror::Error)]
pub enum RecordBatchError {
    /// The buffer ends before the batch does.
    #[error("record batch truncated: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes needed to go on: the whole batch once its length is known.
        needed: usize,
        /// Bytes in the buffer.
        available: usize,
    },
    /// [`RecordBatch::parse`] was given more bytes than the one batch it holds.
    #[error("buffer of {buffer_len} bytes holds a batch of {batch_size} bytes and more")]
    TrailingBytes {
        /// The batch's size, `batchLength` + 12.
        batch_size: usize,
        /// The buffer's size.
        buffer_len: usize,
    },
    /// `batchLength` is negative or shorter than a v2 header.
    #[error("invalid batch length {batch_length}")]
    InvalidBatchLength {
        /// The stored `batchLength`.
        batch_length: i32,
    },
    /// The data is a legacy message set (magic 0 or 1), which is not supported.
    #[error("legacy message format v{magic} is not supported (only record batch v2)")]
    LegacyMessageFormat {
        /// The magic byte, 0 or 1.
        magic: i8,
    },
    /// The magic byte is not a known format version.
    #[error("invalid magic byte {magic}")]
    InvalidMagic {
        /// The magic byte found.
        magic: i8,
    },
    /// The stored CRC does not match the batch's content.
    #[error("record batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// The CRC in the header.
        stored: u32,
        /// The CRC-32C of the bytes after it.
        computed: u32,
    },
    /// `recordCount` is negative, or zero where a batch must hold records.
    #[error("invalid record count {record_count}")]
    InvalidRecordCount {
        /// The stored `recordCount`.
        record_count: i32,
    },
    /// `lastOffsetDelta` does not equal `recordCount - 1`.
    #[error(
        "last offset delta {last_offset_delta} is inconsistent with record count {record_count}"
    )]
    InconsistentOffsets {
        /// The stored `recordCount`.
        record_count: i32,
        /// The stored `lastOffsetDelta`.
        last_offset_delta: i32,
    },
    /// The records section could not be decompressed, or names an unknown codec.
    #[error(transparent)]
    Compression(#[from] CompressionError),
    /// A record's field could not be decoded.
    #[error("record {index} of the batch: invalid {field}: {source}")]
    InvalidRecord {
        /// The record's position in the batch, from 0.
        index: i32,
        /// The field that failed.
        field: &'static str,
        /// What was wrong with it.
        #[source]
        source: DecodeError,
    },
    /// A record's length prefix does not match the size of its fields.
    #[error("record {index} of the batch declares {declared} bytes but its fields take {used}")]
    RecordSizeMismatch {
        /// The record's position in the batch, from 0.
        index: i32,
        /// Its length prefix.
        declared: usize,
        /// The bytes its fields took.
        used: usize,
    },
    /// The records section ends before `recordCount` records were read.
    #[error("batch declares {declared} records but holds only {found}")]
    MissingRecords {
        /// The stored `recordCount`.
        declared: i32,
        /// Records found.
        found: i32,
    },
    /// The records section has bytes left after `recordCount` records.
    #[error("batch has {bytes} bytes after its {declared} records")]
    TrailingRecordData {
        /// The stored `recordCount`.
        declared: i32,
        /// Bytes left over.
        bytes: usize,
    },
    /// A record, or the batch, is too large for the format's 32-bit lengths and counts.
    #[error("{what} too large for a record batch ({size})")]
    TooLarge {
        /// What overflowed, e.g. "record" or "record count".
        what: &'static str,
        /// The size or count that did not fit.
        size: usize,
    },
    /// [`RecordBatchBuilder::build`] was called with no records appended.
    #[error("a record batch needs at least one record")]
    Empty,
}

fn read_array<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&buf[at..at + N]);
    out
}

fn read_i16(buf: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(read_array(buf, at))
}

fn read_i32(buf: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(read_array(buf, at))
}

fn read_u32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(read_array(buf, at))
}

fn read_i64(buf: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(read_array(buf, at))
}

fn write_at<const N: usize>(buf: &mut [u8], at: usize, bytes: [u8; N]) {
    buf[at..at + N].copy_from_slice(&bytes);
}

fn timestamp_type_of(attributes: i16) -> TimestampType {
    if attributes & TIMESTAMP_TYPE_BIT != 0 {
        TimestampType::LogAppendTime
    } else {
        TimestampType::CreateTime
    }
}

/// What the front of a buffer says about the batch that starts there.
enum Peek {
    /// A v2 batch of this many bytes (header checked, maybe not all present).
    Batch(usize),
    /// At least this many bytes are needed to tell.
    NeedAtLeast(usize),
}

/// Looks at the header of the batch at the front of `buf` without needing all of it:
/// `batchLength` and the magic byte are checked as soon as they are present, the way
/// Kafka's reader does, so a corrupt header is an error even in a truncated buffer.
fn peek_batch(buf: &[u8]) -> Result<Peek, RecordBatchError> {
    if buf.len() < LOG_OVERHEAD {
        return Ok(Peek::NeedAtLeast(LOG_OVERHEAD));
    }
    let batch_length = read_i32(buf, BATCH_LENGTH_AT);
    if batch_length < 0 {
        return Err(RecordBatchError::InvalidBatchLength { batch_length });
    }
    if buf.len() <= MAGIC_AT {
        return Ok(Peek::NeedAtLeast(MAGIC_AT + 1));
    }
    match buf[MAGIC_AT] as i8 {
        MAGIC => {}
        magic @ (0 | 1) => return Err(RecordBatchError::LegacyMessageFormat { magic }),
        magic => return Err(RecordBatchError::InvalidMagic { magic }),
    }
    if batch_length < MIN_BATCH_LENGTH {
        return Err(RecordBatchError::InvalidBatchLength { batch_length });
    }
    Ok(Peek::Batch(LOG_OVERHEAD + batch_length as usize))
}

/// Checks that `buf` holds exactly one v2 batch; see [`RecordBatch::parse`].
fn check_single_batch(buf: &[u8]) -> Result<(), RecordBatchError> {
    let needed = match peek_batch(buf)? {
        Peek::Batch(size) if size == buf.len() => return Ok(()),
        Peek::Batch(size) if size < buf.len() => {
            return Err(RecordBatchError::TrailingBytes {
                batch_size: size,
                buffer_len: buf.len(),
            })
        }
        Peek::Batch(needed) | Peek::NeedAtLeast(needed) => needed,
    };
    Err(RecordBatchError::Truncated {
        needed,
        available: buf.len(),
    })
}

/// One v2 record batch: a zero-copy view of a [`Bytes`] that holds exactly the batch.
///
/// [`parse`](Self::parse) checks the framing (length and magic); the header accessors
/// then read straight from the bytes. The CRC is checked only on request
/// ([`verify_crc`](Self::verify_crc), [`validate`](Self::validate)), so a consumer
/// that trusts its source pays nothing for it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordBatch {
    bytes: Bytes,
}

impl RecordBatch {
    /// Takes `bytes`, which must hold exactly one v2 batch.
    ///
    /// # Errors
    /// - [`RecordBatchError::Truncated`] if `bytes` is shorter than the header or than
    ///   `batchLength` says;
    /// - [`RecordBatchError::TrailingBytes`] if it is longer;
    /// - [`RecordBatchError::InvalidBatchLength`] if `batchLength` is negative or shorter
    ///   than a v2 header;
    /// - [`RecordBatchError::LegacyMessageFormat`] for magic 0 or 1,
    ///   [`RecordBatchError::InvalidMagic`] for any other magic but 2.
    pub fn parse(bytes: Bytes) -> Result<Self, RecordBatchError> {
        check_single_batch(&bytes)?;
        Ok(RecordBatch { bytes })
    }

    /// The whole batch, header included.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Gives back the batch's bytes.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The batch's size in bytes: `batchLength` + 12.
    pub fn size_in_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The offset of the first record (i64).
    pub fn base_offset(&self) -> i64 {
        read_i64(&self.bytes, BASE_OFFSET_AT)
    }

    /// The stored `batchLength`: the batch's size in bytes minus 12.
    pub fn batch_length(&self) -> i32 {
        read_i32(&self.bytes, BATCH_LENGTH_AT)
    }

    /// The epoch of the leader that appended the batch, or
    /// [`NO_PARTITION_LEADER_EPOCH`] in a client's Produce request.
    pub fn partition_leader_epoch(&self) -> i32 {
        read_i32(&self.bytes, PARTITION_LEADER_EPOCH_AT)
    }

    /// The magic byte; always [`MAGIC`] (2) for a parsed batch.
    pub fn magic(&self) -> i8 {
        self.bytes[MAGIC_AT] as i8
    }

    /// The stored CRC-32C (not checked; see [`verify_crc`](Self::verify_crc)).
    pub fn crc(&self) -> u32 {
        read_u32(&self.bytes, CRC_AT)
    }

    /// The CRC-32C (Castagnoli) of the bytes from the attributes to the end, which is
    /// what [`crc`](Self::crc) should hold.
    pub fn compute_crc(&self) -> u32 {
        crc32c::crc32c(&self.bytes[CRC_COVERS_FROM..])
    }

    /// The raw attributes (i16); see the accessors below for their bits.
    pub fn attributes(&self) -> i16 {
        read_i16(&self.bytes, ATTRIBUTES_AT)
    }

    /// The codec of the records section (attributes bits 0-2).
    ///
    /// # Errors
    /// [`RecordBatchError::Compression`] wrapping [`CompressionError::UnknownCodec`] for
    /// codes 5-7.
    pub fn compression(&self) -> Result<Compression, RecordBatchError> {
        Ok(Compression::from_attributes(self.attributes())?)
    }

    /// What the timestamps mean (attributes bit 3).
    pub fn timestamp_type(&self) -> TimestampType {
        timestamp_type_of(self.attributes())
    }

    /// Whether the batch belongs to a transaction (attributes bit 4).
    pub fn is_transactional(&self) -> bool {
        self.attributes() & TRANSACTIONAL_BIT != 0
    }

    /// Whether the batch holds control records such as transaction markers (bit 5).
    pub fn is_control(&self) -> bool {
        self.attributes() & CONTROL_BIT != 0
    }

    /// Whether log compaction set a delete horizon (bit 6); the horizon, in ms, is then
    /// the batch's `baseTimestamp` (KIP-534).
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes() & DELETE_HORIZON_BIT != 0
    }

    /// The offset delta of the last record (i32).
    pub fn last_offset_delta(&self) -> i32 {
        read_i32(&self.bytes, LAST_OFFSET_DELTA_AT)
    }

    /// The timestamp of the first record, in ms; record timestamps are deltas from it.
    pub fn base_timestamp(&self) -> i64 {
        read_i64(&self.bytes, BASE_TIMESTAMP_AT)
    }

    /// The largest record timestamp in ms, or the append time for
    /// [`TimestampType::LogAppendTime`] batches.
    pub fn max_timestamp(&self) -> i64 {
        read_i64(&self.bytes, MAX_TIMESTAMP_AT)
    }

    /// The producer id, or [`NO_PRODUCER_ID`].
    pub fn producer_id(&self) -> i64 {
        read_i64(&self.bytes, PRODUCER_ID_AT)
    }

    /// The producer epoch, or [`NO_PRODUCER_EPOCH`].
    pub fn producer_epoch(&self) -> i16 {
        read_i16(&self.bytes, PRODUCER_EPOCH_AT)
    }

    /// The sequence number of the first record, or [`NO_SEQUENCE`].
    pub fn base_sequence(&self) -> i32 {
        read_i32(&self.bytes, BASE_SEQUENCE_AT)
    }

    /// The stored record count (i32; not checked against the records section).
    pub fn record_count(&self) -> i32 {
        read_i32(&self.bytes, RECORD_COUNT_AT)
    }

    /// The offset of the last record: `base_offset + last_offset_delta` (wrapping, so a
    /// corrupt header cannot overflow).
    pub fn last_offset(&self) -> i64 {
        self.base_offset()
            .wrapping_add(self.last_offset_delta() as i64)
    }

    /// The offset after the batch: `last_offset + 1`.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }

    /// The records section as stored (compressed if the codec is not none).
    pub fn records_data(&self) -> Bytes {
        self.bytes.slice(RECORD_BATCH_HEADER_LEN..)
    }

    /// Checks the stored CRC against the content.
    ///
    /// # Errors
    /// [`RecordBatchError::CrcMismatch`].
    pub fn verify_crc(&self) -> Result<(), RecordBatchError> {
        let (stored, computed) = (self.crc(), self.compute_crc());
        if stored != computed {
            return Err(RecordBatchError::CrcMismatch { stored, computed });
        }
        Ok(())
    }

    /// The checks a broker makes on a batch in a Produce request, without decompressing
    /// it: the CRC matches, the codec is known, the batch holds at least one record and
    /// `lastOffsetDelta == recordCount - 1` (a producer assigns consecutive offsets, for
    /// every codec). Policy checks (control batches from clients, producer epochs) are
    /// the caller's.
    ///
    /// Batches rewritten by log compaction may legitimately fail this (they can have
    /// offset gaps or no records left); use [`verify_crc`](Self::verify_crc) for those.
    ///
    /// # Errors
    /// [`RecordBatchError::CrcMismatch`], [`RecordBatchError::Compression`] (unknown
    /// codec), [`RecordBatchError::InvalidRecordCount`] or
    /// [`RecordBatchError::InconsistentOffsets`].
    pub fn validate(&self) -> Result<(), RecordBatchError> {
        self.verify_crc()?;
        self.compression()?;
        let record_count = self.record_count();
        if record_count <= 0 {
            return Err(RecordBatchError::InvalidRecordCount { record_count });
        }
        let last_offset_delta = self.last_offset_delta();
        if last_offset_delta as i64 + 1 != record_count as i64 {
            return Err(RecordBatchError::InconsistentOffsets {
                record_count,
                last_offset_delta,
            });
        }
        Ok(())
    }

    /// The batch's records, decompressing the records section (up to
    /// [`DEFAULT_MAX_DECOMPRESSED_BYTES`]) if it is compressed. Does not check the CRC.
    ///
    /// # Errors
    /// Up front: [`RecordBatchError::InvalidRecordCount`] if `recordCount` is negative,
    /// [`RecordBatchError::Compression`] if the codec is unknown, the data is corrupt or
    /// it inflates past the limit. Per record, from the iterator: see [`Records`].
    pub fn records(&self) -> Result<Records, RecordBatchError> {
        self.records_with_limit(DEFAULT_MAX_DECOMPRESSED_BYTES)
    }

    /// Like [`records`](Self::records) with a caller-chosen cap, in bytes, on the
    /// decompressed records section.
    ///
    /// # Errors
    /// As [`records`](Self::records); exceeding the cap is
    /// [`CompressionError::TooLarge`] inside [`RecordBatchError::Compression`].
    pub fn records_with_limit(
        &self,
        max_decompressed_bytes: usize,
    ) -> Result<Records, RecordBatchError> {
        let record_count = self.record_count();
        if record_count < 0 {
            return Err(RecordBatchError::InvalidRecordCount { record_count });
        }
        let data = match self.compression()? {
            Compression::None => self.records_data(),
            codec => compression::decompress(
                codec,
                &self.bytes[RECORD_BATCH_HEADER_LEN..],
                max_decompressed_bytes,
            )?,
        };
        let log_append_time =
            (self.timestamp_type() == TimestampType::LogAppendTime).then(|| self.max_timestamp());
        Ok(Records {
            data,
            declared: record_count,
            index: 0,
            base_offset: self.base_offset(),
            base_timestamp: self.base_timestamp(),
            log_append_time,
            finished: false,
        })
    }
}

impl fmt::Debug for RecordBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordBatch")
            .field("base_offset", &self.base_offset())
            .field("batch_length", &self.batch_length())
            .field("partition_leader_epoch", &self.partition_leader_epoch())
            .field("crc", &format_args!("{:#010x}", self.crc()))
            .field("attributes", &format_args!("{:#06x}", self.attributes()))
            .field("last_offset_delta", &self.last_offset_delta())
            .field("base_timestamp", &self.base_timestamp())
            .field("max_timestamp", &self.max_timestamp())
            .field("producer_id", &self.producer_id())
            .field("producer_epoch", &self.producer_epoch())
            .field("base_sequence", &self.base_sequence())
            .field("record_count", &self.record_count())
            .finish()
    }
}

/// One record header: a string key (kept as bytes, see [`key_str`](Self::key_str)) and
/// a nullable value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The key. Kafka defines it as a UTF-8 string but its Java reader does not reject
    /// invalid UTF-8, so neither does this one.
    pub key: Bytes,
    /// The value; `None` is null, which differs from empty.
    pub value: Option<Bytes>,
}

impl Header {
    /// The key as a string.
    ///
    /// # Errors
    /// If the key is not valid UTF-8.
    pub fn key_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.key)
    }
}

/// One record of a batch, with offset and timestamp made absolute. Key, value and
/// header bytes are slices of the batch (uncompressed batches) or of its decompressed
/// records section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `baseOffset + offsetDelta`.
    pub offset: i64,
    /// In ms: `baseTimestamp + timestampDelta`, or the batch's `maxTimestamp` in a
    /// [`TimestampType::LogAppendTime`] batch.
    pub timestamp: i64,
    /// The record's attributes byte (Kafka defines no bits in it yet).
    pub attributes: i8,
    /// The key; `None` is null, which differs from empty.
    pub key: Option<Bytes>,
    /// The value; `None` is null (a tombstone in compacted topics).
    pub value: Option<Bytes>,
    /// The headers, in their order in the record; keys may repeat.
    pub headers: Vec<Header>,
}

/// The records of one batch, from [`RecordBatch::records`]. Decoding is lazy; the first
/// malformed record ends the iteration with an error, and so does a records section
/// that holds fewer or more records than the header's `recordCount`.
///
/// Errors: [`RecordBatchError::InvalidRecord`], [`RecordBatchError::RecordSizeMismatch`],
/// [`RecordBatchError::MissingRecords`], [`RecordBatchError::TrailingRecordData`].
#[derive(Debug, Clone)]
pub struct Records {
    data: Bytes,
    declared: i32,
    index: i32,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
    finished: bool,
}

impl Records {
    /// The number of records the batch header declares.
    pub fn declared_count(&self) -> i32 {
        self.declared
    }

    fn next_record(&mut self) -> Result<Record, RecordBatchError> {
        let index = self.index;
        let invalid = |field: &'static str| {
            move |source| RecordBatchError::InvalidRecord {
                index,
                field,
                source,
            }
        };
        let data = &mut self.data;

        let length = codec::get_varint(data).map_err(invalid("length"))?;
        let length = usize::try_from(length).map_err(|_| {
            invalid("length")(DecodeError::InvalidLength {
                length: length as i64,
                remaining: data.len(),
            })
        })?;
        let mut body = codec::take(data, length).map_err(invalid("length"))?;

        let attributes = codec::get_i8(&mut body).map_err(invalid("attributes"))?;
        let timestamp_delta = codec::get_varlong(&mut body).map_err(invalid("timestamp delta"))?;
        let offset_delta = codec::get_varint(&mut body).map_err(invalid("offset delta"))?;
        let key = get_nullable_bytes(&mut body).map_err(invalid("key"))?;
        let value = get_nullable_bytes(&mut body).map_err(invalid("value"))?;
        let header_count = codec::get_varint(&mut body).map_err(invalid("header count"))?;
        let header_count = usize::try_from(header_count).map_err(|_| {
            invalid("header count")(DecodeError::InvalidLength {
                length: header_count as i64,
                remaining: body.len(),
            })
        })?;
        // Every header takes at least two bytes, which bounds a hostile count.
        let mut headers = Vec::with_capacity(header_count.min(body.len() / 2));
        for _ in 0..header_count {
            let key = get_nullable_bytes(&mut body)
                .map_err(invalid("header key"))?
                .ok_or_else(|| {
                    invalid("header key")(DecodeError::UnexpectedNull {
                        field: "header key",
                    })
                })?;
            let value = get_nullable_bytes(&mut body).map_err(invalid("header value"))?;
            headers.push(Header { key, value });
        }
        if !body.is_empty() {
            return Err(RecordBatchError::RecordSizeMismatch {
                index,
                declared: length,
                used: length - body.len(),
            });
        }

        Ok(Record {
            offset: self.base_offset.wrapping_add(offset_delta as i64),
            timestamp: self
                .log_append_time
                .unwrap_or_else(|| self.base_timestamp.wrapping_add(timestamp_delta)),
            attributes,
            key,
            value,
            headers,
        })
    }
}

/// Reads a varint length (-1 = null) and that many bytes, zero-copy.
fn get_nullable_bytes(buf: &mut Bytes) -> Result<Option<Bytes>, DecodeError> {
    let length = codec::get_varint(buf)?;
    if length == -1 {
        return Ok(None);
    }
    let Ok(length) = usize::try_from(length) else {
        return Err(DecodeError::InvalidLength {
            length: length as i64,
            remaining: buf.len(),
        });
    };
    codec::take(buf, length).map(Some)
}

impl Iterator for Records {
    type Item = Result<Record, RecordBatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        if self.index == self.declared {
            self.finished = true;
            if !self.data.is_empty() {
                return Some(Err(RecordBatchError::TrailingRecordData {
                    declared: self.declared,
                    bytes: self.data.len(),
                }));
            }
            return None;
        }
        if self.data.is_empty() {
            self.finished = true;
            return Some(Err(RecordBatchError::MissingRecords {
                declared: self.declared,
                found: self.index,
            }));
        }
        let record = self.next_record();
        self.index += 1;
        if record.is_err() {
            self.finished = true;
        }
        Some(record)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.finished {
            return (0, Some(0));
        }
        // One more item at most for a trailing-data error.
        let left = (self.declared - self.index) as usize;
        (0, Some(left.saturating_add(1)))
    }
}

impl std::iter::FusedIterator for Records {}

/// Iterates over zero or more concatenated batches, as found in the `records` field of a
/// Produce request or Fetch response. Each item is a zero-copy [`RecordBatch`].
///
/// A broker may cut the last batch of a Fetch response short (to respect the fetch size
/// limits). In the default, lenient mode such a partial trailing batch ends the iteration
/// cleanly; [`has_partial_tail`](Self::has_partial_tail) tells it happened. In
/// [`strict`](Self::strict) mode, for validating Produce requests, it is a
/// [`RecordBatchError::Truncated`] error instead. A corrupt header (bad length or magic,
/// including legacy magic 0/1) is an error in both modes, even in a partial batch, and
/// ends the iteration since the next batch cannot be located.
#[derive(Debug, Clone)]
pub struct RecordBatches {
    rest: Bytes,
    strict: bool,
    partial_tail: usize,
    finished: bool,
}

impl RecordBatches {
    /// Lenient iteration: a partial trailing batch ends the iteration without an error.
    pub fn new(bytes: Bytes) -> Self {
        RecordBatches {
            rest: bytes,
            strict: false,
            partial_tail: 0,
            finished: false,
        }
    }

    /// Strict iteration: a partial trailing batch is a [`RecordBatchError::Truncated`].
    pub fn strict(bytes: Bytes) -> Self {
        RecordBatches {
            strict: true,
            ..Self::new(bytes)
        }
    }

    /// Whether lenient iteration stopped at a partial trailing batch (known once the
    /// iterator has returned `None`).
    pub fn has_partial_tail(&self) -> bool {
        self.partial_tail > 0
    }

    /// The size in bytes of the partial trailing batch that was skipped, 0 if none.
    pub fn partial_tail_len(&self) -> usize {
        self.partial_tail
    }
}

impl Iterator for RecordBatches {
    type Item = Result<RecordBatch, RecordBatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished || self.rest.is_empty() {
            return None;
        }
        let needed = match peek_batch(&self.rest) {
            Ok(Peek::Batch(size)) if size <= self.rest.len() => {
                return Some(Ok(RecordBatch {
                    bytes: self.rest.split_to(size),
                }));
            }
            Ok(Peek::Batch(needed) | Peek::NeedAtLeast(needed)) => needed,
            Err(error) => {
                self.finished = true;
                return Some(Err(error));
            }
        };
        self.finished = true;
        if self.strict {
            return Some(Err(RecordBatchError::Truncated {
                needed,
                available: self.rest.len(),
            }));
        }
        self.partial_tail = self.rest.len();
        None
    }
}

impl std::iter::FusedIterator for RecordBatches {}

/// In-place edits of one batch in a mutable buffer, for a broker assigning offsets and
/// stamping epochs and append times before writing a batch to its log.
///
/// `baseOffset` and `partitionLeaderEpoch` are outside the CRC, so changing them keeps
/// the batch valid without rehashing. Changing the timestamp type or `maxTimestamp`
/// recomputes the CRC.
#[derive(Debug)]
pub struct RecordBatchMut<'a> {
    buf: &'a mut [u8],
}

impl<'a> RecordBatchMut<'a> {
    /// Wraps `buf`, which must hold exactly one v2 batch.
    ///
    /// # Errors
    /// As [`RecordBatch::parse`].
    pub fn new(buf: &'a mut [u8]) -> Result<Self, RecordBatchError> {
        check_single_batch(buf)?;
        Ok(RecordBatchMut { buf })
    }

    /// The offset of the first record.
    pub fn base_offset(&self) -> i64 {
        read_i64(self.buf, BASE_OFFSET_AT)
    }

    /// The offset delta of the last record.
    pub fn last_offset_delta(&self) -> i32 {
        read_i32(self.buf, LAST_OFFSET_DELTA_AT)
    }

    /// The stored record count.
    pub fn record_count(&self) -> i32 {
        read_i32(self.buf, RECORD_COUNT_AT)
    }

    /// The leader epoch.
    pub fn partition_leader_epoch(&self) -> i32 {
        read_i32(self.buf, PARTITION_LEADER_EPOCH_AT)
    }

    /// What the timestamps mean.
    pub fn timestamp_type(&self) -> TimestampType {
        timestamp_type_of(read_i16(self.buf, ATTRIBUTES_AT))
    }

    /// The largest timestamp (or the append time), in ms.
    pub fn max_timestamp(&self) -> i64 {
        read_i64(self.buf, MAX_TIMESTAMP_AT)
    }

    /// Sets the offset of the first record; every record's offset moves with it. The
    /// CRC stays valid.
    pub fn set_base_offset(&mut self, base_offset: i64) {
        write_at(self.buf, BASE_OFFSET_AT, base_offset.to_be_bytes());
    }

    /// Sets the leader epoch. The CRC stays valid.
    pub fn set_partition_leader_epoch(&mut self, epoch: i32) {
        write_at(self.buf, PARTITION_LEADER_EPOCH_AT, epoch.to_be_bytes());
    }

    /// Sets the timestamp type bit and `maxTimestamp` (ms), then recomputes the CRC. Does
    /// nothing (and skips the rehash) if both already hold these values.
    pub fn set_max_timestamp(&mut self, timestamp_type: TimestampType, max_timestamp: i64) {
        if self.timestamp_type() == timestamp_type && self.max_timestamp() == max_timestamp {
            return;
        }
        let mut attributes = read_i16(self.buf, ATTRIBUTES_AT) & !TIMESTAMP_TYPE_BIT;
        if timestamp_type == TimestampType::LogAppendTime {
            attributes |= TIMESTAMP_TYPE_BIT;
        }
        write_at(self.buf, ATTRIBUTES_AT, attributes.to_be_bytes());
        write_at(self.buf, MAX_TIMESTAMP_AT, max_timestamp.to_be_bytes());
        let crc = crc32c::crc32c(&self.buf[CRC_COVERS_FROM..]);
        write_at(self.buf, CRC_AT, crc.to_be_bytes());
    }

    /// Stamps the batch with the broker's append time in ms (timestamp type
    /// LogAppendTime, `maxTimestamp = append_time`); readers then report it as every
    /// record's timestamp. Recomputes the CRC.
    pub fn set_log_append_time(&mut self, append_time: i64) {
        self.set_max_timestamp(TimestampType::LogAppendTime, append_time);
    }

    /// Sets the idempotent producer's id, epoch and first sequence number, as a producer
    /// does when it renumbers an unacknowledged batch after an epoch bump (KIP-360).
    /// Recomputes the CRC; the records (compressed or not) are untouched.
    pub fn set_producer(&mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) {
        write_at(self.buf, PRODUCER_ID_AT, producer_id.to_be_bytes());
        write_at(self.buf, PRODUCER_EPOCH_AT, producer_epoch.to_be_bytes());
        write_at(self.buf, BASE_SEQUENCE_AT, base_sequence.to_be_bytes());
        let crc = crc32c::crc32c(&self.buf[CRC_COVERS_FROM..]);
        write_at(self.buf, CRC_AT, crc.to_be_bytes());
    }
}

/// Writes one v2 record batch with any codec.
///
/// Records are encoded straight into one growing buffer (behind space reserved for the
/// header) with no per-record allocation; [`build`](Self::build) compresses the records
/// section if needed, fills in the header and computes the CRC. Offsets are consecutive
/// from the base offset (log compaction leaves gaps with
/// [`append_record_at`](Self::append_record_at)); `baseTimestamp` is the first record's
/// timestamp and `maxTimestamp` the largest (or the append time given to
/// [`with_log_append_time`](Self::with_log_append_time)).
///
/// ```
/// # use tidelog::protocol::{compression::Compression, records::*};
/// let mut builder = RecordBatchBuilder::new(Compression::Zstd).with_base_offset(42);
/// let (key, value) = (b"key".as_slice(), b"value".as_slice());
/// builder.append(1_700_000_000_000, Some(key), Some(value), &[("trace", None)])?;
/// let batch = RecordBatch::parse(builder.build()?)?;
/// let record = batch.records()?.next().unwrap()?;
/// assert_eq!(record.offset, 42);
/// # Ok::<(), RecordBatchError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RecordBatchBuilder {
    /// Header placeholder followed by the uncompressed records.
    buf: BytesMut,
    compression: Compression,
    snappy_framing: SnappyFraming,
    base_offset: i64,
    partition_leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    transactional: bool,
    control: bool,
    log_append_time: Option<i64>,
    record_count: i32,
    /// The offset delta of the last record appended; -1 before the first.
    last_offset_delta: i32,
    /// A `lastOffsetDelta` to write even if the last record appended has a smaller one.
    preserved_last_offset_delta: Option<i32>,
    base_timestamp: i64,
    max_timestamp: i64,
}

impl RecordBatchBuilder {
    /// A builder for a batch compressed with `compression`, with base offset 0, no
    /// leader epoch, no producer id/epoch/sequence (-1), not transactional, not control,
    /// CreateTime timestamps and xerial framing for snappy.
    pub fn new(compression: Compression) -> Self {
        let mut buf = BytesMut::with_capacity(1024);
        buf.resize(RECORD_BATCH_HEADER_LEN, 0);
        RecordBatchBuilder {
            buf,
            compression,
            snappy_framing: SnappyFraming::default(),
            base_offset: 0,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            base_sequence: NO_SEQUENCE,
            transactional: false,
            control: false,
            log_append_time: None,
            record_count: 0,
            last_offset_delta: -1,
            preserved_last_offset_delta: None,
            base_timestamp: NO_TIMESTAMP,
            max_timestamp: NO_TIMESTAMP,
        }
    }

    /// Chooses the snappy framing (ignored for other codecs): xerial, as the Java
    /// client writes, by default; raw as librdkafka writes.
    pub fn with_snappy_framing(mut self, framing: SnappyFraming) -> Self {
        self.snappy_framing = framing;
        self
    }

    /// Sets the offset of the first record (default 0).
    pub fn with_base_offset(mut self, base_offset: i64) -> Self {
        self.base_offset = base_offset;
        self
    }

    /// Sets the leader epoch (default [`NO_PARTITION_LEADER_EPOCH`]).
    pub fn with_partition_leader_epoch(mut self, epoch: i32) -> Self {
        self.partition_leader_epoch = epoch;
        self
    }

    /// Sets the idempotent producer's id, epoch and the sequence number of the first
    /// record (defaults -1, -1, -1).
    pub fn with_producer(
        mut self,
        producer_id: i64,
        producer_epoch: i16,
        base_sequence: i32,
    ) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Marks the batch as part of a transaction (default false).
    pub fn with_transactional(mut self, transactional: bool) -> Self {
        self.transactional = transactional;
        self
    }

    /// Marks the batch as holding control records (default false).
    pub fn with_control(mut self, control: bool) -> Self {
        self.control = control;
        self
    }

    /// Makes the batch a LogAppendTime batch stamped with `append_time` (ms), which is
    /// written as `maxTimestamp`; the records' own timestamps are still encoded.
    pub fn with_log_append_time(mut self, append_time: i64) -> Self {
        self.log_append_time = Some(append_time);
        self
    }

    /// Appends a record with the next offset. `timestamp` is in ms; `None` key or value
    /// is null (which differs from empty); header keys are strings and header values
    /// nullable. Returns the record's offset delta.
    ///
    /// # Errors
    /// [`RecordBatchError::TooLarge`] if the record or the batch would exceed the
    /// format's 32-bit limits; the builder is then unchanged.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Result<i32, RecordBatchError> {
        let headers = headers.iter().map(|(key, value)| (key.as_bytes(), *value));
        let offset_delta = self.next_offset_delta()?;
        self.append_with_headers(offset_delta, timestamp, key, value, headers)
    }

    /// Appends a copy of `record` (timestamp, key, value, headers) with the next offset;
    /// its own offset is ignored. Returns the record's offset delta.
    ///
    /// # Errors
    /// As [`append`](Self::append).
    pub fn append_record(&mut self, record: &Record) -> Result<i32, RecordBatchError> {
        let offset_delta = self.next_offset_delta()?;
        self.append_record_at(offset_delta, record)
    }

    /// Appends a copy of `record` (timestamp, key, value, headers) at `offset_delta` from
    /// the base offset, which may leave a gap after the previous record: log compaction
    /// rebuilds a batch this way so that the records it keeps keep their offsets. Its
    /// own offset is ignored. Returns `offset_delta`.
    ///
    /// # Errors
    /// [`RecordBatchError::InconsistentOffsets`] unless `offset_delta` is greater than
    /// the previous record's (and not negative); otherwise as [`append`](Self::append).
    /// The builder is then unchanged.
    pub fn append_record_at(
        &mut self,
        offset_delta: i32,
        record: &Record,
    ) -> Result<i32, RecordBatchError> {
        if offset_delta <= self.last_offset_delta {
            return Err(RecordBatchError::InconsistentOffsets {
                record_count: self.record_count,
                last_offset_delta: offset_delta,
            });
        }
        let headers = record
            .headers
            .iter()
            .map(|header| (&header.key[..], header.value.as_deref()));
        self.append_with_headers(
            offset_delta,
            record.timestamp,
            record.key.as_deref(),
            record.value.as_deref(),
            headers,
        )
    }

    /// The offset delta after the last record appended.
    fn next_offset_delta(&self) -> Result<i32, RecordBatchError> {
        self.last_offset_delta
            .checked_add(1)
            .ok_or(RecordBatchError::TooLarge {
                what: "offset delta",
                size: i32::MAX as usize + 1,
            })
    }

    fn append_with_headers<'h>(
        &mut self,
        offset_delta: i32,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: impl ExactSizeIterator<Item = (&'h [u8], Option<&'h [u8]>)> + Clone,
    ) -> Result<i32, RecordBatchError> {
        if self.record_count == i32::MAX {
            return Err(RecordBatchError::TooLarge {
                what: "record count",
                size: self.record_count as usize + 1,
            });
        }
        let first = self.record_count == 0;
        let base_timestamp = if first {
            timestamp
        } else {
            self.base_timestamp
        };
        let timestamp_delta = timestamp.wrapping_sub(base_timestamp);

        // Sizes first, so the length prefix can be written before the fields.
        let key_length = nullable_length(key)?;
        let value_length = nullable_length(value)?;
        let header_count = varint_length(headers.len(), "header count")?;
        let mut body_len =
            Some(1 + codec::varlong_len(timestamp_delta) + codec::varint_len(offset_delta));
        for (length, data) in [(key_length, key), (value_length, value)] {
            body_len = add_lengths(
                body_len,
                codec::varint_len(length),
                data.map_or(0, <[u8]>::len),
            );
        }
        body_len = body_len.and_then(|len| len.checked_add(codec::varint_len(header_count)));
        for (header_key, header_value) in headers.clone() {
            let key_length = varint_length(header_key.len(), "header key")?;
            let value_length = nullable_length(header_value)?;
            body_len = add_lengths(body_len, codec::varint_len(key_length), header_key.len());
            body_len = add_lengths(
                body_len,
                codec::varint_len(value_length),
                header_value.map_or(0, <[u8]>::len),
            );
        }
        let too_large = RecordBatchError::TooLarge {
            what: "record",
            size: body_len.unwrap_or(usize::MAX),
        };
        let body_len = body_len.ok_or(too_large)?;
        let body_length = varint_length(body_len, "record")?;
        let record_len = codec::varint_len(body_length) + body_len;
        let records_len = self.buf.len() - RECORD_BATCH_HEADER_LEN + record_len;
        if records_len > (i32::MAX - MIN_BATCH_LENGTH) as usize {
            return Err(RecordBatchError::TooLarge {
                what: "record batch",
                size: RECORD_BATCH_HEADER_LEN + records_len,
            });
        }

        let buf = &mut self.buf;
        buf.reserve(record_len);
        let start = buf.len();
        codec::put_varint(buf, body_length);
        buf.put_i8(0);
        codec::put_varlong(buf, timestamp_delta);
        codec::put_varint(buf, offset_delta);
        for (length, data) in [(key_length, key), (value_length, value)] {
            codec::put_varint(buf, length);
            buf.put_slice(data.unwrap_or_default());
        }
        codec::put_varint(buf, header_count);
        for (header_key, header_value) in headers {
            // Lengths were checked above.
            codec::put_varint(buf, header_key.len() as i32);
            buf.put_slice(header_key);
            codec::put_varint(buf, header_value.map_or(-1, |value| value.len() as i32));
            buf.put_slice(header_value.unwrap_or_default());
        }
        debug_assert_eq!(buf.len() - start, record_len);

        self.base_timestamp = base_timestamp;
        self.max_timestamp = if first {
            timestamp
        } else {
            self.max_timestamp.max(timestamp)
        };
        self.record_count += 1;
        self.last_offset_delta = offset_delta;
        Ok(offset_delta)
    }

    /// Writes `last_offset_delta` as the batch's `lastOffsetDelta` even if the last
    /// record appended has a smaller offset delta. Log compaction keeps a batch's last
    /// offset when it removes the batch's last records, so that the producer's last
    /// sequence number (`baseSequence + lastOffsetDelta`) and the offset after the batch
    /// survive cleaning.
    pub fn with_last_offset_delta(mut self, last_offset_delta: i32) -> Self {
        self.preserved_last_offset_delta = Some(last_offset_delta);
        self
    }

    /// The `lastOffsetDelta` [`build`](Self::build) writes.
    fn final_last_offset_delta(&self) -> i32 {
        self.preserved_last_offset_delta
            .map_or(self.last_offset_delta, |preserved| {
                preserved.max(self.last_offset_delta)
            })
    }

    /// The number of records appended so far.
    pub fn record_count(&self) -> i32 {
        self.record_count
    }

    /// Whether no record has been appended.
    pub fn is_empty(&self) -> bool {
        self.record_count == 0
    }

    /// The size in bytes of the batch built now without compression: header plus
    /// uncompressed records. An upper bound, in practice, for compressed batches, so a
    /// producer can compare it with `batch.size`.
    pub fn estimated_size(&self) -> usize {
        self.buf.len()
    }

    /// Finishes the batch: compresses the records section if the codec is not none,
    /// fills in the header and computes the CRC-32C.
    ///
    /// # Errors
    /// [`RecordBatchError::Empty`] if no record was appended;
    /// [`RecordBatchError::Compression`] if the codec fails;
    /// [`RecordBatchError::TooLarge`] if the compressed batch exceeds 2 GiB.
    pub fn build(self) -> Result<Bytes, RecordBatchError> {
        if self.record_count == 0 {
            return Err(RecordBatchError::Empty);
        }
        self.finish()
    }

    /// Builds a batch with no records, as Kafka's log cleaner writes when it removes
    /// every record of a batch it must keep: it covers the offsets from the base offset
    /// to the base offset plus the delta given to
    /// [`with_last_offset_delta`](Self::with_last_offset_delta) (0 without it), is not
    /// compressed, has baseTimestamp -1 and maxTimestamp `max_timestamp` (ms; the append
    /// time instead with [`with_log_append_time`](Self::with_log_append_time)), and this
    /// builder's leader epoch, producer, transactional and control settings. Consumers
    /// skip such a batch and continue after its last offset.
    ///
    /// # Errors
    /// [`RecordBatchError::InvalidRecordCount`] if a record was appended.
    pub fn build_empty(mut self, max_timestamp: i64) -> Result<Bytes, RecordBatchError> {
        if self.record_count != 0 {
            return Err(RecordBatchError::InvalidRecordCount {
                record_count: self.record_count,
            });
        }
        self.compression = Compression::None;
        self.max_timestamp = max_timestamp;
        self.preserved_last_offset_delta = Some(self.preserved_last_offset_delta.unwrap_or(0));
        self.finish()
    }

    /// Compresses the records section, fills in the header and computes the CRC.
    fn finish(self) -> Result<Bytes, RecordBatchError> {
        let last_offset_delta = self.final_last_offset_delta();
        let mut out = match self.compression {
            Compression::None => self.buf,
            codec => {
                let records = &self.buf[RECORD_BATCH_HEADER_LEN..];
                let mut out =
                    BytesMut::with_capacity(RECORD_BATCH_HEADER_LEN + records.len() / 2 + 64);
                out.resize(RECORD_BATCH_HEADER_LEN, 0);
                compression::compress_with(codec, self.snappy_framing, records, &mut out)?;
                out
            }
        };
        let batch_length =
            i32::try_from(out.len() - LOG_OVERHEAD).map_err(|_| RecordBatchError::TooLarge {
                what: "record batch",
                size: out.len(),
            })?;

        let mut attributes = self.compression.code();
        if self.log_append_time.is_some() {
            attributes |= TIMESTAMP_TYPE_BIT;
        }
        if self.transactional {
            attributes |= TRANSACTIONAL_BIT;
        }
        if self.control {
            attributes |= CONTROL_BIT;
        }
        let header = &mut out[..RECORD_BATCH_HEADER_LEN];
        write_at(header, BASE_OFFSET_AT, self.base_offset.to_be_bytes());
        write_at(header, BATCH_LENGTH_AT, batch_length.to_be_bytes());
        write_at(
            header,
            PARTITION_LEADER_EPOCH_AT,
            self.partition_leader_epoch.to_be_bytes(),
        );
        write_at(header, MAGIC_AT, MAGIC.to_be_bytes());
        write_at(header, ATTRIBUTES_AT, attributes.to_be_bytes());
        write_at(
            header,
            LAST_OFFSET_DELTA_AT,
            last_offset_delta.to_be_bytes(),
        );
        write_at(header, BASE_TIMESTAMP_AT, self.base_timestamp.to_be_bytes());
        let max_timestamp = self.log_append_time.unwrap_or(self.max_timestamp);
        write_at(header, MAX_TIMESTAMP_AT, max_timestamp.to_be_bytes());
        write_at(header, PRODUCER_ID_AT, self.producer_id.to_be_bytes());
        write_at(header, PRODUCER_EPOCH_AT, self.producer_epoch.to_be_bytes());
        write_at(header, BASE_SEQUENCE_AT, self.base_sequence.to_be_bytes());
        write_at(header, RECORD_COUNT_AT, self.record_count.to_be_bytes());
        let crc = crc32c::crc32c(&out[CRC_COVERS_FROM..]);
        write_at(&mut out, CRC_AT, crc.to_be_bytes());
        Ok(out.freeze())
    }
}

/// A length as the varint the format stores, or `TooLarge` past `i32::MAX`.
fn varint_length(length: usize, what: &'static str) -> Result<i32, RecordBatchError> {
    i32::try_from(length).map_err(|_| RecordBatchError::TooLarge { what, size: length })
}

/// The length prefix of a nullable field: -1 for null.
fn nullable_length(data: Option<&[u8]>) -> Result<i32, RecordBatchError> {
    data.map_or(Ok(-1), |data| varint_length(data.len(), "record field"))
}

fn add_lengths(total: Option<usize>, prefix: usize, data: usize) -> Option<usize> {
    total?.checked_add(prefix)?.checked_add(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An owned record for building test batches and comparing what comes back.
    #[derive(Debug, Clone, PartialEq)]
    struct Expected {
        timestamp: i64,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        headers: Vec<(String, Option<Vec<u8>>)>,
    }

    fn sample_records(count: usize) -> Vec<Expected> {
        (0..count)
            .map(|i| Expected {
                // Not monotonic: producers may send out-of-order timestamps.
                timestamp: 1_700_000_000_000 + (i as i64) * 3 - (i as i64 % 5) * 10,
                key: (i % 7 != 0).then(|| format!("key-{i}").into_bytes()),
                value: match i % 11 {
                    0 => None,
                    1 => Some(Vec::new()),
                    _ => Some(format!("value {i} ").repeat(i % 13 + 1).into_bytes()),
                },
                headers: (0..i % 4)
                    .map(|h| (format!("h{h}"), (h != 1).then(|| vec![h as u8; h * 3])))
                    .collect(),
            })
            .collect()
    }

    fn append_all(builder: &mut RecordBatchBuilder, records: &[Expected]) {
        for record in records {
            let headers: Vec<(&str, Option<&[u8]>)> = record
                .headers
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_deref()))
                .collect();
            builder
                .append(
                    record.timestamp,
                    record.key.as_deref(),
                    record.value.as_deref(),
                    &headers,
                )
                .unwrap();
        }
    }

    fn expected_of(record: &Record) -> Expected {
        Expected {
            timestamp: record.timestamp,
            key: record.key.as_ref().map(|key| key.to_vec()),
            value: record.value.as_ref().map(|value| value.to_vec()),
            headers: record
                .headers
                .iter()
                .map(|header| {
                    (
                        header.key_str().unwrap().to_owned(),
                        header.value.as_ref().map(|v| v.to_vec()),
                    )
                })
                .collect(),
        }
    }

    fn all_records(batch: &RecordBatch) -> Vec<Record> {
        batch
            .records()
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    }

    const CODECS: [(Compression, SnappyFraming); 6] = [
        (Compression::None, SnappyFraming::Xerial),
        (Compression::Gzip, SnappyFraming::Xerial),
        (Compression::Snappy, SnappyFraming::Xerial),
        (Compression::Snappy, SnappyFraming::Raw),
        (Compression::Lz4, SnappyFraming::Xerial),
        (Compression::Zstd, SnappyFraming::Xerial),
    ];

    fn build(codec: Compression, framing: SnappyFraming, records: &[Expected]) -> Bytes {
        let mut builder = RecordBatchBuilder::new(codec)
            .with_snappy_framing(framing)
            .with_base_offset(100)
            .with_partition_leader_epoch(7)
            .with_producer(1234, 5, 42)
            .with_transactional(true);
        append_all(&mut builder, records);
        builder.build().unwrap()
    }

    #[test]
    fn builder_output_round_trips_for_every_codec() {
        let records = sample_records(1000);
        for (codec, framing) in CODECS {
            let bytes = build(codec, framing, &records);
            let batch = RecordBatch::parse(bytes.clone()).unwrap();
            batch.verify_crc().unwrap();
            batch.validate().unwrap();
            assert_eq!(batch.size_in_bytes(), bytes.len());
            assert_eq!(batch.batch_length() as usize, bytes.len() - 12);
            assert_eq!(batch.base_offset(), 100);
            assert_eq!(batch.partition_leader_epoch(), 7);
            assert_eq!(batch.magic(), 2);
            assert_eq!(batch.compression().unwrap(), codec);
            assert_eq!(batch.attributes() & 7, codec.code());
            assert_eq!(batch.timestamp_type(), TimestampType::CreateTime);
            assert!(batch.is_transactional());
            assert!(!batch.is_control());
            assert!(!batch.has_delete_horizon());
            assert_eq!(batch.last_offset_delta(), 999);
            assert_eq!(batch.last_offset(), 1099);
            assert_eq!(batch.next_offset(), 1100);
            assert_eq!(batch.base_timestamp(), records[0].timestamp);
            assert_eq!(
                batch.max_timestamp(),
                records.iter().map(|r| r.timestamp).max().unwrap()
            );
            assert_eq!(batch.producer_id(), 1234);
            assert_eq!(batch.producer_epoch(), 5);
            assert_eq!(batch.base_sequence(), 42);
            assert_eq!(batch.record_count(), 1000);
            if codec == Compression::None {
                assert_eq!(batch.records_data(), bytes.slice(RECORD_BATCH_HEADER_LEN..));
            }
            let decoded = all_records(&batch);
            assert_eq!(decoded.len(), 1000);
            for (i, (record, expected)) in decoded.iter().zip(&records).enumerate() {
                assert_eq!(record.offset, 100 + i as i64);
                assert_eq!(record.attributes, 0);
                assert_eq!(
                    &expected_of(record),
                    expected,
                    "{codec} {framing:?} record {i}"
                );
            }
        }
    }

    #[test]
    fn uncompressed_records_are_slices_of_the_batch() {
        let bytes = build(Compression::None, SnappyFraming::Xerial, &sample_records(3));
        let batch = RecordBatch::parse(bytes.clone()).unwrap();
        let record = &all_records(&batch)[1];
        let value = record.value.as_ref().unwrap();
        let range = bytes.as_ptr_range();
        assert!(
            range.contains(&value.as_ptr()),
            "value should point into the batch"
        );
    }

    #[test]
    fn null_and_empty_keys_values_and_headers_differ() {
        let mut builder = RecordBatchBuilder::new(Compression::None);
        builder.append(5, None, None, &[]).unwrap();
        builder
            .append(
                6,
                Some(b"".as_slice()),
                Some(b"".as_slice()),
                &[("", None), ("", Some(b"".as_slice())), ("", None)],
            )
            .unwrap();
        let batch = RecordBatch::parse(builder.build().unwrap()).unwrap();
        let records = all_records(&batch);
        assert_eq!(
            (records[0].key.clone(), records[0].value.clone()),
            (None, None)
        );
        assert!(records[0].headers.is_empty());
        assert_eq!(records[1].key.as_deref(), Some(&b""[..]));
        assert_eq!(records[1].value.as_deref(), Some(&b""[..]));
        let header_values: Vec<_> = records[1].headers.iter().map(|h| h.value.clone()).collect();
        assert_eq!(
            header_values,
            [None, Some(Bytes::new()), None],
            "duplicate keys are kept in order"
        );
        assert_eq!(records[1].timestamp, 6);
    }

    #[test]
    fn append_record_copies_a_decoded_record() {
        let records = sample_records(20);
        let source =
            RecordBatch::parse(build(Compression::Gzip, SnappyFraming::Xerial, &records)).unwrap();
        let mut builder = RecordBatchBuilder::new(Compression::Lz4).with_base_offset(9);
        for record in source.records().unwrap() {
            builder.append_record(&record.unwrap()).unwrap();
        }
        let copy = RecordBatch::parse(builder.build().unwrap()).unwrap();
        let decoded: Vec<_> = all_records(&copy).iter().map(expected_of).collect();
        assert_eq!(decoded, records);
        assert_eq!(all_records(&copy)[3].offset, 12);
    }

    #[test]
    fn estimated_size_is_the_uncompressed_batch_size() {
        let mut builder = RecordBatchBuilder::new(Compression::None);
        assert_eq!(builder.estimated_size(), RECORD_BATCH_HEADER_LEN);
        assert!(builder.is_empty());
        append_all(&mut builder, &sample_records(50));
        assert_eq!(builder.record_count(), 50);
        let estimate = builder.estimated_size();
        assert_eq!(builder.build().unwrap().len(), estimate);

        let mut builder = RecordBatchBuilder::new(Compression::Zstd);
        append_all(&mut builder, &sample_records(200));
        let estimate = builder.estimated_size();
        assert!(builder.build().unwrap().len() < estimate);
    }

    #[test]
    fn empty_builder_is_an_error() {
        assert!(matches!(
            RecordBatchBuilder::new(Compression::None).build(),
            Err(RecordBatchError::Empty)
        ));
    }

    #[test]
    fn crc_catches_any_flipped_byte_it_covers() {
        let bytes = build(
            Compression::None,
            SnappyFraming::Xerial,
            &sample_records(10),
        );
        for at in 0..bytes.len() {
            let mut corrupted = bytes.to_vec();
            corrupted[at] ^= 0x10;
            let Ok(batch) = RecordBatch::parse(Bytes::from(corrupted)) else {
                // Flips in batchLength or magic break the framing instead.
                assert!(at == MAGIC_AT || (BATCH_LENGTH_AT..BATCH_LENGTH_AT + 4).contains(&at));
                continue;
            };
            let result = batch.verify_crc();
            if at < CRC_COVERS_FROM && !(CRC_AT..CRC_AT + 4).contains(&at) {
                // baseOffset and partitionLeaderEpoch are outside the CRC.
                result.unwrap();
            } else {
                assert!(
                    matches!(result, Err(RecordBatchError::CrcMismatch { .. })),
                    "byte {at}"
                );
                assert!(batch.validate().is_err());
            }
        }
    }

    #[test]
    fn patching_offsets_and_epoch_keeps_the_crc() {
        let bytes = build(
            Compression::Snappy,
            SnappyFraming::Xerial,
            &sample_records(5),
        );
        let mut buf = BytesMut::from(&bytes[..]);
        let mut patch = RecordBatchMut::new(&mut buf).unwrap();
        assert_eq!(
            (patch.base_offset(), patch.partition_leader_epoch()),
            (100, 7)
        );
        assert_eq!((patch.record_count(), patch.last_offset_delta()), (5, 4));
        patch.set_base_offset(5000);
        patch.set_partition_leader_epoch(12);
        let batch = RecordBatch::parse(buf.freeze()).unwrap();
        batch.validate().unwrap();
        assert_eq!(batch.crc(), RecordBatch::parse(bytes).unwrap().crc());
        assert_eq!(
            (batch.base_offset(), batch.partition_leader_epoch()),
            (5000, 12)
        );
        assert_eq!((batch.last_offset(), batch.next_offset()), (5004, 5005));
        let offsets: Vec<i64> = all_records(&batch).iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [5000, 5001, 5002, 5003, 5004]);
    }

    #[test]
    fn renumbering_the_producer_fields_recomputes_the_crc() {
        let records = sample_records(3);
        let mut builder = RecordBatchBuilder::new(Compression::Lz4).with_producer(7, 0, 40);
        append_all(&mut builder, &records);
        let bytes = builder.build().unwrap();
        let mut buf = BytesMut::from(&bytes[..]);
        RecordBatchMut::new(&mut buf).unwrap().set_producer(7, 1, 0);
        let batch = RecordBatch::parse(buf.freeze()).unwrap();
        batch.validate().unwrap();
        assert_eq!(
            (
                batch.producer_id(),
                batch.producer_epoch(),
                batch.base_sequence()
            ),
            (7, 1, 0)
        );
        let original = RecordBatch::parse(bytes).unwrap();
        assert_eq!(all_records(&batch), all_records(&original));
        assert_ne!(batch.crc(), original.crc());
    }

    #[test]
    fn log_append_time_overrides_record_timestamps() {
        let records = sample_records(4);
        let bytes = build(Compression::None, SnappyFraming::Xerial, &records);
        let mut buf = bytes.to_vec();
        let mut patch = RecordBatchMut::new(&mut buf).unwrap();
        patch.set_log_append_time(1_800_000_000_000);
        assert_eq!(patch.timestamp_type(), TimestampType::LogAppendTime);
        assert_eq!(patch.max_timestamp(), 1_800_000_000_000);
        let batch = RecordBatch::parse(Bytes::from(buf.clone())).unwrap();
        batch.validate().unwrap();
        assert_eq!(batch.timestamp_type(), TimestampType::LogAppendTime);
        assert!(batch.is_transactional(), "other attribute bits are kept");
        assert!(all_records(&batch)
            .iter()
            .all(|r| r.timestamp == 1_800_000_000_000));

        // Back to CreateTime with the original max: identical to the original batch.
        let max = records.iter().map(|r| r.timestamp).max().unwrap();
        RecordBatchMut::new(&mut buf)
            .unwrap()
            .set_max_timestamp(TimestampType::CreateTime, max);
        assert_eq!(&buf[..], &bytes[..]);

        let mut builder = RecordBatchBuilder::new(Compression::Gzip).with_log_append_time(77);
        append_all(&mut builder, &records);
        let batch = RecordBatch::parse(builder.build().unwrap()).unwrap();
        assert_eq!(
            (batch.timestamp_type(), batch.max_timestamp()),
            (TimestampType::LogAppendTime, 77)
        );
        assert_eq!(batch.base_timestamp(), records[0].timestamp);
        assert!(all_records(&batch).iter().all(|r| r.timestamp == 77));
    }

    /// A v0 or v1 message set entry (offset, size, crc, magic, attributes, [timestamp],
    /// key, value): enough for the magic byte to be where v2 has it.
    fn legacy_message(magic: u8) -> Vec<u8> {
        let mut body = vec![0, 0, 0, 0, magic, 0];
        if magic == 1 {
            body.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        }
        body.extend_from_slice(&(-1i32).to_be_bytes());
        body.extend_from_slice(&5i32.to_be_bytes());
        body.extend_from_slice(b"hello");
        let mut message = 0i64.to_be_bytes().to_vec();
        message.extend_from_slice(&(body.len() as i32).to_be_bytes());
        message.extend_from_slice(&body);
        message
    }

    #[test]
    fn legacy_magic_is_rejected_with_its_own_error() {
        for magic in [0u8, 1] {
            let message = Bytes::from(legacy_message(magic));
            assert!(matches!(
                RecordBatch::parse(message.clone()),
                Err(RecordBatchError::LegacyMessageFormat { magic: m }) if m == magic as i8
            ));
            let mut batches = RecordBatches::new(message.clone());
            assert!(matches!(
                batches.next(),
                Some(Err(RecordBatchError::LegacyMessageFormat { .. }))
            ));
            assert!(batches.next().is_none());
            assert!(RecordBatch::parse(message)
                .unwrap_err()
                .to_string()
                .contains("legacy"));
        }
        for magic in [3u8, 0xff] {
            let mut bytes =
                build(Compression::None, SnappyFraming::Xerial, &sample_records(1)).to_vec();
            bytes[MAGIC_AT] = magic;
            assert!(matches!(
                RecordBatch::parse(Bytes::from(bytes)),
                Err(RecordBatchError::InvalidMagic { magic: m }) if m == magic as i8
            ));
        }
    }

    #[test]
    fn framing_errors() {
        let bytes = build(Compression::None, SnappyFraming::Xerial, &sample_records(3));
        for cut in 0..bytes.len() {
            assert!(
                matches!(
                    RecordBatch::parse(bytes.slice(..cut)),
                    Err(RecordBatchError::Truncated { available, .. }) if available == cut
                ),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(matches!(
            RecordBatch::parse(Bytes::from(longer)),
            Err(RecordBatchError::TrailingBytes { batch_size, buffer_len })
                if batch_size + 1 == buffer_len
        ));
        for batch_length in [-1i32, 0, 48] {
            let mut bad = bytes.to_vec();
            bad[8..12].copy_from_slice(&batch_length.to_be_bytes());
            assert!(matches!(
                RecordBatch::parse(Bytes::from(bad)),
                Err(RecordBatchError::InvalidBatchLength { batch_length: b }) if b == batch_length
            ));
        }
    }

    #[test]
    fn batches_iterate_and_a_partial_tail_is_reported() {
        let first = build(Compression::None, SnappyFraming::Xerial, &sample_records(3));
        let second = build(Compression::Zstd, SnappyFraming::Xerial, &sample_records(4));
        let mut all = BytesMut::new();
        all.extend_from_slice(&first);
        all.extend_from_slice(&second);
        let complete = all.clone().freeze();
        all.extend_from_slice(&first[..40]);
        let with_tail = all.freeze();

        let mut batches = RecordBatches::new(complete.clone());
        let sizes: Vec<usize> = batches
            .by_ref()
            .map(|b| b.unwrap().size_in_bytes())
            .collect();
        assert_eq!(sizes, [first.len(), second.len()]);
        assert!(!batches.has_partial_tail());

        let mut batches = RecordBatches::new(with_tail.clone());
        let counts: Vec<i32> = batches
            .by_ref()
            .map(|b| b.unwrap().record_count())
            .collect();
        assert_eq!(counts, [3, 4]);
        assert!(batches.has_partial_tail());
        assert_eq!(batches.partial_tail_len(), 40);

        let mut strict = RecordBatches::strict(with_tail);
        assert!(strict.next().unwrap().is_ok());
        assert!(strict.next().unwrap().is_ok());
        assert!(matches!(
            strict.next(),
            Some(Err(RecordBatchError::Truncated { needed, available: 40 }))
                if needed == first.len()
        ));
        assert!(strict.next().is_none());
        assert_eq!(RecordBatches::strict(complete).count(), 2);
        assert_eq!(RecordBatches::new(Bytes::new()).count(), 0);

        // Every cut of a single batch is a clean partial tail (lenient) or an error (strict).
        for cut in 1..first.len() {
            let mut lenient = RecordBatches::new(first.slice(..cut));
            assert!(lenient.next().is_none());
            assert_eq!(lenient.partial_tail_len(), cut);
            assert!(matches!(
                RecordBatches::strict(first.slice(..cut)).next(),
                Some(Err(RecordBatchError::Truncated { .. }))
            ));
        }
    }

    #[test]
    fn record_count_must_match_the_records_section() {
        let bytes = build(Compression::None, SnappyFraming::Xerial, &sample_records(3));
        for (count, expect_missing) in [(4i32, true), (2, false)] {
            let mut patched = bytes.to_vec();
            patched[RECORD_COUNT_AT..RECORD_COUNT_AT + 4].copy_from_slice(&count.to_be_bytes());
            let batch = RecordBatch::parse(Bytes::from(patched)).unwrap();
            let results: Vec<_> = batch.records().unwrap().collect();
            let last = results.last().unwrap();
            if expect_missing {
                assert_eq!(results.len(), 4);
                assert!(matches!(
                    last,
                    Err(RecordBatchError::MissingRecords {
                        declared: 4,
                        found: 3
                    })
                ));
            } else {
                assert_eq!(results.len(), 3);
                assert!(matches!(
                    last,
                    Err(RecordBatchError::TrailingRecordData { declared: 2, .. })
                ));
            }
        }
        let mut negative = bytes.to_vec();
        negative[RECORD_COUNT_AT..RECORD_COUNT_AT + 4].copy_from_slice(&(-1i32).to_be_bytes());
        let batch = RecordBatch::parse(Bytes::from(negative)).unwrap();
        assert!(matches!(
            batch.records(),
            Err(RecordBatchError::InvalidRecordCount { record_count: -1 })
        ));
    }

    #[test]
    fn malformed_records_are_errors() {
        let bytes = build(Compression::None, SnappyFraming::Xerial, &sample_records(1));
        // The first record's length varint is at 61; shrink it by one so the header
        // count falls outside the record.
        let mut patched = bytes.to_vec();
        patched[RECORD_BATCH_HEADER_LEN] -= 2;
        let batch = RecordBatch::parse(Bytes::from(patched)).unwrap();
        let first = batch.records().unwrap().next().unwrap();
        assert!(
            matches!(
                first,
                Err(RecordBatchError::InvalidRecord {
                    index: 0,
                    field: "header count",
                    ..
                })
            ),
            "{first:?}"
        );
        // Grow it by one: a trailing byte inside the record.
        let mut patched = bytes.to_vec();
        patched[RECORD_BATCH_HEADER_LEN] += 2;
        patched.push(0);
        let length = (patched.len() - 12) as i32;
        patched[8..12].copy_from_slice(&length.to_be_bytes());
        let batch = RecordBatch::parse(Bytes::from(patched)).unwrap();
        let first = batch.records().unwrap().next().unwrap();
        assert!(
            matches!(
                first,
                Err(RecordBatchError::RecordSizeMismatch { index: 0, .. })
            ),
            "{first:?}"
        );
    }

    #[test]
    fn validate_checks_count_and_offsets() {
        let bytes = build(Compression::None, SnappyFraming::Xerial, &sample_records(3));
        let with = |at: usize, value: i32| {
            let mut patched = bytes.to_vec();
            patched[at..at + 4].copy_from_slice(&value.to_be_bytes());
            let crc = crc32c::crc32c(&patched[CRC_COVERS_FROM..]);
            patched[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
            RecordBatch::parse(Bytes::from(patched)).unwrap()
        };
        assert!(matches!(
            with(RECORD_COUNT_AT, 0).validate(),
            Err(RecordBatchError::InvalidRecordCount { record_count: 0 })
        ));
        assert!(matches!(
            with(LAST_OFFSET_DELTA_AT, 5).validate(),
            Err(RecordBatchError::InconsistentOffsets {
                record_count: 3,
                last_offset_delta: 5
            })
        ));
        let mut unknown_codec = bytes.to_vec();
        unknown_codec[ATTRIBUTES_AT + 1] |= 7;
        let crc = crc32c::crc32c(&unknown_codec[CRC_COVERS_FROM..]);
        unknown_codec[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        let batch = RecordBatch::parse(Bytes::from(unknown_codec)).unwrap();
        assert!(matches!(
            batch.validate(),
            Err(RecordBatchError::Compression(
                CompressionError::UnknownCodec { code: 7 }
            ))
        ));
        assert!(batch.records().is_err());
    }

    #[test]
    fn decompression_bomb_is_refused() {
        let zeros = vec![0u8; 2 << 20];
        for (codec, framing) in CODECS
            .into_iter()
            .filter(|(codec, _)| *codec != Compression::None)
        {
            let mut builder = RecordBatchBuilder::new(codec).with_snappy_framing(framing);
            builder.append(0, None, Some(&zeros), &[]).unwrap();
            let batch = RecordBatch::parse(builder.build().unwrap()).unwrap();
            assert!(batch.size_in_bytes() < 200_000, "{codec} compresses zeros");
            let result = batch.records_with_limit(1 << 20);
            assert!(
                matches!(
                    result,
                    Err(RecordBatchError::Compression(CompressionError::TooLarge { limit, .. }))
                        if limit == 1 << 20
                ),
                "{codec}"
            );
            assert_eq!(
                all_records(&batch)[0].value.as_ref().unwrap().len(),
                zeros.len()
            );
        }
    }

    /// Runs every reader over `bytes`; only panics matter.
    fn exercise(bytes: Bytes) {
        if let Ok(batch) = RecordBatch::parse(bytes.clone()) {
            read_batch(&batch);
            let mut copy = bytes.to_vec();
            let mut patch = RecordBatchMut::new(&mut copy).unwrap();
            patch.set_base_offset(i64::MAX);
            patch.set_log_append_time(i64::MIN);
            read_batch(&RecordBatch::parse(Bytes::from(copy)).unwrap());
        }
        for strict in [false, true] {
            let batches = if strict {
                RecordBatches::strict(bytes.clone())
            } else {
                RecordBatches::new(bytes.clone())
            };
            for batch in batches.flatten() {
                read_batch(&batch);
            }
        }
    }

    fn read_batch(batch: &RecordBatch) {
        let _ = format!("{batch:?}");
        let _ = (
            batch.verify_crc(),
            batch.validate(),
            batch.last_offset(),
            batch.next_offset(),
        );
        if let Ok(records) = batch.records_with_limit(1 << 20) {
            // Records stops after its first error, so flattening sees every record.
            for record in records.flatten() {
                let _ = record
                    .headers
                    .iter()
                    .filter(|h| h.key_str().is_ok())
                    .count();
            }
        }
    }

    fn record_strategy() -> impl Strategy<Value = Expected> {
        (
            any::<i64>(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
            proptest::collection::vec(
                (
                    "[a-z]{0,5}",
                    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
                ),
                0..3,
            ),
        )
            .prop_map(|(timestamp, key, value, headers)| Expected {
                timestamp,
                key,
                value,
                headers,
            })
    }

    fn codec_strategy() -> impl Strategy<Value = (Compression, SnappyFraming)> {
        (0..CODECS.len()).prop_map(|i| CODECS[i])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            exercise(Bytes::from(bytes.clone()));
            // The same bytes behind a plausible v2 header, so the record decoder sees them.
            for codec in Compression::ALL {
                let mut builder = RecordBatchBuilder::new(Compression::None);
                builder.append(0, None, None, &[]).unwrap();
                let mut batch = builder.build().unwrap()[..RECORD_BATCH_HEADER_LEN].to_vec();
                batch.extend_from_slice(&bytes);
                let length = (batch.len() - 12) as i32;
                batch[8..12].copy_from_slice(&length.to_be_bytes());
                batch[ATTRIBUTES_AT + 1] = codec.code() as u8;
                let record_count = bytes.len() as i32 % 7;
                batch[RECORD_COUNT_AT..RECORD_COUNT_AT + 4]
                    .copy_from_slice(&record_count.to_be_bytes());
                exercise(Bytes::from(batch));
            }
        }

        #[test]
        fn round_trip_arbitrary_records(
            records in proptest::collection::vec(record_strategy(), 1..20),
            (codec, framing) in codec_strategy(),
            base_offset in any::<i64>(),
        ) {
            let mut builder = RecordBatchBuilder::new(codec)
                .with_snappy_framing(framing)
                .with_base_offset(base_offset);
            append_all(&mut builder, &records);
            let batch = RecordBatch::parse(builder.build().unwrap()).unwrap();
            batch.validate().unwrap();
            let decoded = all_records(&batch);
            prop_assert_eq!(decoded.iter().map(expected_of).collect::<Vec<_>>(), records);
            for (i, record) in decoded.iter().enumerate() {
                prop_assert_eq!(record.offset, base_offset.wrapping_add(i as i64));
            }
        }

        #[test]
        fn mutated_batches_never_panic(
            records in proptest::collection::vec(record_strategy(), 1..8),
            (codec, framing) in codec_strategy(),
            mutations in
                proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            cut in any::<prop::sample::Index>(),
            fix_crc in any::<bool>(),
            second_copy in any::<bool>(),
        ) {
            let mut builder = RecordBatchBuilder::new(codec).with_snappy_framing(framing);
            append_all(&mut builder, &records);
            let built = builder.build().unwrap();
            let mut bytes = built.to_vec();
            if second_copy {
                bytes.extend_from_slice(&built);
            }
            for (at, value) in &mutations {
                let at = at.index(bytes.len());
                bytes[at] = *value;
            }
            if fix_crc && bytes.len() >= RECORD_BATCH_HEADER_LEN {
                let crc = crc32c::crc32c(&bytes[CRC_COVERS_FROM..built.len().min(bytes.len())]);
                bytes[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
            }
            exercise(Bytes::from(bytes.clone()));
            let cut = cut.index(bytes.len() + 1);
            bytes.truncate(cut);
            exercise(Bytes::from(bytes));
        }
    }

    /// Cross-checks with the independent `kafka-protocol` crate (no lz4 there).
    mod kafka_protocol_interop {
        use super::*;
        use kafka_protocol::protocol::StrBytes;
        use kafka_protocol::records as kp;

        const KP_CODECS: [(Compression, SnappyFraming, kp::Compression); 5] = [
            (
                Compression::None,
                SnappyFraming::Xerial,
                kp::Compression::None,
            ),
            (
                Compression::Gzip,
                SnappyFraming::Xerial,
                kp::Compression::Gzip,
            ),
            (
                Compression::Snappy,
                SnappyFraming::Xerial,
                kp::Compression::Snappy,
            ),
            (
                Compression::Snappy,
                SnappyFraming::Raw,
                kp::Compression::Snappy,
            ),
            (
                Compression::Zstd,
                SnappyFraming::Xerial,
                kp::Compression::Zstd,
            ),
        ];

        /// Distinct header keys: kafka-protocol keeps headers in a map.
        fn interop_records(count: usize) -> Vec<Expected> {
            let mut records = sample_records(count);
            for record in &mut records {
                record.headers.dedup_by(|a, b| a.0 == b.0);
            }
            records
        }

        fn expected_of_theirs(record: &kp::Record) -> Expected {
            Expected {
                timestamp: record.timestamp,
                key: record.key.as_ref().map(|key| key.to_vec()),
                value: record.value.as_ref().map(|value| value.to_vec()),
                headers: record
                    .headers
                    .iter()
                    .map(|(key, value)| {
                        (key.as_str().to_owned(), value.as_ref().map(|v| v.to_vec()))
                    })
                    .collect(),
            }
        }

        #[test]
        fn batches_we_build_decode_identically_with_theirs() {
            let records = interop_records(300);
            for (codec, framing, their_codec) in KP_CODECS {
                let bytes = build(codec, framing, &records);
                let mut input = bytes.clone();
                let set = kp::RecordBatchDecoder::decode(&mut input).unwrap();
                assert!(input.is_empty());
                assert_eq!(set.compression, their_codec);
                assert_eq!(set.version, 2);
                assert_eq!(set.records.len(), records.len());
                for (i, (theirs, expected)) in set.records.iter().zip(&records).enumerate() {
                    assert_eq!(
                        &expected_of_theirs(theirs),
                        expected,
                        "{codec} {framing:?} record {i}"
                    );
                    assert_eq!(theirs.offset, 100 + i as i64);
                    assert_eq!(theirs.sequence, 42 + i as i32);
                    assert_eq!((theirs.producer_id, theirs.producer_epoch), (1234, 5));
                    assert_eq!(theirs.partition_leader_epoch, 7);
                    assert!(theirs.transactional && !theirs.control);
                    assert_eq!(theirs.timestamp_type, kp::TimestampType::Creation);
                }
            }
        }

        #[test]
        fn batches_they_encode_decode_identically_with_ours() {
            let records = interop_records(300);
            let theirs: Vec<kp::Record> = records
                .iter()
                .enumerate()
                .map(|(i, record)| {
                    let mut headers = kp::Record {
                        transactional: false,
                        control: false,
                        delete_horizon: false,
                        partition_leader_epoch: 3,
                        producer_id: 99,
                        producer_epoch: 2,
                        timestamp_type: kp::TimestampType::Creation,
                        offset: 500 + i as i64,
                        sequence: 10 + i as i32,
                        timestamp: record.timestamp,
                        key: record.key.clone().map(Bytes::from),
                        value: record.value.clone().map(Bytes::from),
                        headers: Default::default(),
                    };
                    for (key, value) in &record.headers {
                        headers.headers.insert(
                            StrBytes::from_string(key.clone()),
                            value.clone().map(Bytes::from),
                        );
                    }
                    headers
                })
                .collect();
            for (codec, _, their_codec) in KP_CODECS {
                let mut buf = BytesMut::new();
                let options = kp::RecordEncodeOptions {
                    version: 2,
                    compression: their_codec,
                };
                kp::RecordBatchEncoder::encode(&mut buf, &theirs, &options).unwrap();
                let batches: Vec<RecordBatch> = RecordBatches::strict(buf.freeze())
                    .collect::<Result<_, _>>()
                    .unwrap();
                assert_eq!(batches.len(), 1);
                let batch = &batches[0];
                batch.validate().unwrap();
                assert_eq!(batch.compression().unwrap(), codec);
                assert_eq!((batch.base_offset(), batch.last_offset()), (500, 799));
                assert_eq!(
                    (
                        batch.producer_id(),
                        batch.producer_epoch(),
                        batch.base_sequence()
                    ),
                    (99, 2, 10)
                );
                assert_eq!(batch.partition_leader_epoch(), 3);
                assert_eq!(
                    batch.max_timestamp(),
                    records.iter().map(|r| r.timestamp).max().unwrap()
                );
                assert!(!batch.is_transactional() && !batch.is_control());
                let ours = all_records(batch);
                assert_eq!(ours.len(), records.len());
                for (i, (record, expected)) in ours.iter().zip(&records).enumerate() {
                    assert_eq!(record.offset, 500 + i as i64);
                    assert_eq!(&expected_of(record), expected, "{codec} record {i}");
                }
            }
        }
    }
}
