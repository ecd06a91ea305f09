//! Primitive encoders and bounds-checked decoders for the Kafka wire format.
//!
//! Everything here follows the "Protocol Primitive Types" section of Kafka's protocol
//! guide (<https://kafka.apache.org/protocol#protocol_types>) and KIP-482 (flexible
//! versions: compact strings/arrays/bytes, unsigned varints, tagged fields).
//!
//! Decoding reads from a [`Bytes`] and never panics: a length that runs past the end of
//! the input is a [`DecodeError`], checked before anything is allocated, and `bytes`
//! and `records` fields come back as zero-copy slices of the input.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Why a frame could not be decoded. Decoding stops at the first error; the input is
/// not otherwise consumed in a meaningful way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended before a value was complete.
    #[error("truncated input: needed {needed} more bytes, {remaining} left")]
    Truncated { needed: usize, remaining: usize },
    /// A string, bytes or array length is negative (and not the null marker) or larger
    /// than the bytes left in the input.
    #[error("invalid length {length} with {remaining} bytes left")]
    InvalidLength { length: i64, remaining: usize },
    /// A varint ran longer than its type allows.
    #[error("varint longer than {max_bytes} bytes")]
    VarintTooLong { max_bytes: usize },
    /// A string field is not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A null was sent for a field that is not nullable in this version.
    #[error("null value for non-nullable field {field}")]
    UnexpectedNull { field: &'static str },
    /// A nullable struct's presence byte was neither -1 nor 1.
    #[error("invalid presence marker {marker} for struct {field}")]
    InvalidStructMarker { field: &'static str, marker: i8 },
    /// The API key is not one this codec knows.
    #[error("unknown API key {api_key}")]
    UnknownApiKey { api_key: i16 },
    /// The version is outside the message's valid versions.
    #[error("{message} has no version {version}")]
    UnsupportedVersion { message: &'static str, version: i16 },
}

/// Why a value could not be encoded at the requested version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The field holds a non-default value but does not exist in this version and is not
    /// marked `ignorable` in the schema.
    #[error("field {field} is not supported in version {version} and is not ignorable")]
    UnsupportedField { field: &'static str, version: i16 },
    /// The field is null but is not nullable in this version.
    #[error("field {field} is null but not nullable in version {version}")]
    NullNotAllowed { field: &'static str, version: i16 },
    /// A string, bytes or array is longer than its length prefix can state.
    #[error("field {field} has length {length}, over the limit of its encoding")]
    TooLong { field: &'static str, length: usize },
    /// The version is outside the message's valid versions.
    #[error("{message} has no version {version}")]
    UnsupportedVersion { message: &'static str, version: i16 },
}

/// A 128-bit UUID as Kafka sends it (topic ids, directory ids): 16 bytes, big-endian.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The all-zero UUID, Kafka's "no id".
    pub const ZERO: Uuid = Uuid([0; 16]);

    /// The UUID as a u128 (big-endian interpretation).
    pub fn as_u128(&self) -> u128 {
        u128::from_be_bytes(self.0)
    }
}

impl From<u128> for Uuid {
    fn from(value: u128) -> Self {
        Uuid(value.to_be_bytes())
    }
}

impl std::fmt::Debug for Uuid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl std::fmt::Display for Uuid {
    /// Kafka prints UUIDs as URL-safe base64 without padding (22 characters).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::with_capacity(22);
        for chunk in self.0.chunks(3) {
            let mut group = [0u8; 3];
            group[..chunk.len()].copy_from_slice(chunk);
            let n = u32::from_be_bytes([0, group[0], group[1], group[2]]);
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        f.write_str(&out)
    }
}

/// Converts a decoded length into a usize, checking it fits in what is left.
fn checked_len(length: i64, buf: &Bytes) -> Result<usize, DecodeError> {
    if length < 0 || length as u64 > buf.remaining() as u64 {
        return Err(DecodeError::InvalidLength {
            length,
            remaining: buf.remaining(),
        });
    }
    Ok(length as usize)
}

fn ensure(buf: &Bytes, needed: usize) -> Result<(), DecodeError> {
    if buf.remaining() < needed {
        return Err(DecodeError::Truncated {
            needed,
            remaining: buf.remaining(),
        });
    }
    Ok(())
}

macro_rules! fixed_width {
    ($($get:ident, $put:ident, $ty:ty, $buf_get:ident, $buf_put:ident;)*) => {$(
        #[doc = concat!("Reads a big-endian `", stringify!($ty), "`.")]
        #[inline]
        pub fn $get(buf: &mut Bytes) -> Result<$ty, DecodeError> {
            ensure(buf, std::mem::size_of::<$ty>())?;
            Ok(buf.$buf_get())
        }
        #[doc = concat!("Writes a big-endian `", stringify!($ty), "`.")]
        #[inline]
        pub fn $put(buf: &mut BytesMut, value: $ty) {
            buf.$buf_put(value)
        }
    )*};
}

fixed_width! {
    get_i8, put_i8, i8, get_i8, put_i8;
    get_i16, put_i16, i16, get_i16, put_i16;
    get_u16, put_u16, u16, get_u16, put_u16;
    get_i32, put_i32, i32, get_i32, put_i32;
    get_i64, put_i64, i64, get_i64, put_i64;
    get_f64, put_f64, f64, get_f64, put_f64;
}

/// Reads a boolean: any non-zero byte is true, as Kafka's Java reader has it.
#[inline]
pub fn get_bool(buf: &mut Bytes) -> Result<bool, DecodeError> {
    Ok(get_i8(buf)? != 0)
}

/// Writes a boolean as one byte, 0 or 1.
#[inline]
pub fn put_bool(buf: &mut BytesMut, value: bool) {
    buf.put_u8(value as u8)
}

/// Reads a 16-byte UUID.
#[inline]
pub fn get_uuid(buf: &mut Bytes) -> Result<Uuid, DecodeError> {
    ensure(buf, 16)?;
    let mut id = [0u8; 16];
    buf.copy_to_slice(&mut id);
    Ok(Uuid(id))
}

/// Writes a 16-byte UUID.
#[inline]
pub fn put_uuid(buf: &mut BytesMut, value: Uuid) {
    buf.put_slice(&value.0)
}

/// Reads an unsigned LEB128 varint of at most 5 bytes (a u32), as used for compact
/// lengths and tagged-field headers.
#[inline]
pub fn get_unsigned_varint(buf: &mut Bytes) -> Result<u32, DecodeError> {
    let mut value: u32 = 0;
    for i in 0..5 {
        let byte = get_i8(buf)? as u8;
        value |= ((byte & 0x7f) as u32) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(DecodeError::VarintTooLong { max_bytes: 5 })
}

/// Writes an unsigned LEB128 varint.
#[inline]
pub fn put_unsigned_varint(buf: &mut BytesMut, mut value: u32) {
    while value >= 0x80 {
        buf.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

/// The number of bytes [`put_unsigned_varint`] writes for `value`.
#[inline]
pub fn unsigned_varint_len(value: u32) -> usize {
    match value {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0xfff_ffff => 4,
        _ => 5,
    }
}

/// Reads a zigzag-encoded signed varint (an i32), as used inside record batches.
#[inline]
pub fn get_varint(buf: &mut Bytes) -> Result<i32, DecodeError> {
    let raw = get_unsigned_varint(buf)?;
    Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
}

/// Writes a zigzag-encoded signed varint.
#[inline]
pub fn put_varint(buf: &mut BytesMut, value: i32) {
    put_unsigned_varint(buf, ((value << 1) ^ (value >> 31)) as u32)
}

/// The number of bytes [`put_varint`] writes for `value`.
#[inline]
pub fn varint_len(value: i32) -> usize {
    unsigned_varint_len(((value << 1) ^ (value >> 31)) as u32)
}

/// Reads a zigzag-encoded signed varlong (an i64) of at most 10 bytes.
#[inline]
pub fn get_varlong(buf: &mut Bytes) -> Result<i64, DecodeError> {
    let mut raw: u64 = 0;
    for i in 0..10 {
        let byte = get_i8(buf)? as u8;
        raw |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    Err(DecodeError::VarintTooLong { max_bytes: 10 })
}

/// Writes a zigzag-encoded signed varlong.
#[inline]
pub fn put_varlong(buf: &mut BytesMut, value: i64) {
    let mut raw = ((value << 1) ^ (value >> 63)) as u64;
    while raw >= 0x80 {
        buf.put_u8((raw as u8) | 0x80);
        raw >>= 7;
    }
    buf.put_u8(raw as u8);
}

/// The number of bytes [`put_varlong`] writes for `value`.
#[inline]
pub fn varlong_len(value: i64) -> usize {
    let raw = ((value << 1) ^ (value >> 63)) as u64;
    (64 - (raw | 1).leading_zeros() as usize).div_ceil(7)
}

/// Reads a length prefix: compact (unsigned varint holding length + 1, 0 = null) in
/// flexible versions, otherwise `i16` (strings) or `i32` (bytes, arrays) with -1 = null.
/// Returns `None` for null. The length is checked against the bytes left.
#[inline]
fn get_length(buf: &mut Bytes, compact: bool, wide: bool) -> Result<Option<usize>, DecodeError> {
    let length: i64 = if compact {
        get_unsigned_varint(buf)? as i64 - 1
    } else if wide {
        get_i32(buf)? as i64
    } else {
        get_i16(buf)? as i64
    };
    if length == -1 {
        return Ok(None);
    }
    checked_len(length, buf).map(Some)
}

#[inline]
fn put_length(
    buf: &mut BytesMut,
    length: Option<usize>,
    compact: bool,
    wide: bool,
    field: &'static str,
) -> Result<(), EncodeError> {
    let limit = if compact {
        u32::MAX as usize - 1
    } else if wide {
        i32::MAX as usize
    } else {
        i16::MAX as usize
    };
    match length {
        Some(length) if length > limit => Err(EncodeError::TooLong { field, length }),
        Some(length) if compact => {
            put_unsigned_varint(buf, length as u32 + 1);
            Ok(())
        }
        None if compact => {
            put_unsigned_varint(buf, 0);
            Ok(())
        }
        Some(length) if wide => {
            buf.put_i32(length as i32);
            Ok(())
        }
        None if wide => {
            buf.put_i32(-1);
            Ok(())
        }
        Some(length) => {
            buf.put_i16(length as i16);
            Ok(())
        }
        None => {
            buf.put_i16(-1);
            Ok(())
        }
    }
}

/// Reads a nullable string (`STRING`/`NULLABLE_STRING`, or their compact forms).
pub fn get_nullable_string(buf: &mut Bytes, compact: bool) -> Result<Option<String>, DecodeError> {
    match get_length(buf, compact, false)? {
        None => Ok(None),
        Some(length) => {
            let raw = buf.split_to(length);
            match std::str::from_utf8(&raw) {
                Ok(text) => Ok(Some(text.to_owned())),
                Err(_) => Err(DecodeError::InvalidUtf8),
            }
        }
    }
}

/// Reads a non-nullable string; a null is [`DecodeError::UnexpectedNull`].
pub fn get_string(
    buf: &mut Bytes,
    compact: bool,
    field: &'static str,
) -> Result<String, DecodeError> {
    get_nullable_string(buf, compact)?.ok_or(DecodeError::UnexpectedNull { field })
}

/// Writes a nullable string.
pub fn put_nullable_string(
    buf: &mut BytesMut,
    value: Option<&str>,
    compact: bool,
    field: &'static str,
) -> Result<(), EncodeError> {
    put_length(buf, value.map(str::len), compact, false, field)?;
    if let Some(text) = value {
        buf.put_slice(text.as_bytes());
    }
    Ok(())
}

/// Writes a non-nullable string.
pub fn put_string(
    buf: &mut BytesMut,
    value: &str,
    compact: bool,
    field: &'static str,
) -> Result<(), EncodeError> {
    put_nullable_string(buf, Some(value), compact, field)
}

/// Reads nullable bytes (`BYTES`/`NULLABLE_BYTES`/`RECORDS`, or compact forms) as a
/// zero-copy slice of the input.
pub fn get_nullable_bytes(buf: &mut Bytes, compact: bool) -> Result<Option<Bytes>, DecodeError> {
    Ok(get_length(buf, compact, true)?.map(|length| buf.split_to(length)))
}

/// Reads non-nullable bytes as a zero-copy slice of the input.
pub fn get_bytes(
    buf: &mut Bytes,
    compact: bool,
    field: &'static str,
) -> Result<Bytes, DecodeError> {
    get_nullable_bytes(buf, compact)?.ok_or(DecodeError::UnexpectedNull { field })
}

/// Writes nullable bytes.
pub fn put_nullable_bytes(
    buf: &mut BytesMut,
    value: Option<&[u8]>,
    compact: bool,
    field: &'static str,
) -> Result<(), EncodeError> {
    put_length(buf, value.map(<[u8]>::len), compact, true, field)?;
    if let Some(bytes) = value {
        buf.put_slice(bytes);
    }
    Ok(())
}

/// Writes non-nullable bytes.
pub fn put_bytes(
    buf: &mut BytesMut,
    value: &[u8],
    compact: bool,
    field: &'static str,
) -> Result<(), EncodeError> {
    put_nullable_bytes(buf, Some(value), compact, field)
}

/// Reads an array length (null = `None`). The count is checked against the bytes left,
/// since every element takes at least one byte, so a hostile count never allocates.
pub fn get_array_len(buf: &mut Bytes, compact: bool) -> Result<Option<usize>, DecodeError> {
    get_length(buf, compact, true)
}

/// Writes an array length (`None` = null).
pub fn put_array_len(
    buf: &mut BytesMut,
    length: Option<usize>,
    compact: bool,
    field: &'static str,
) -> Result<(), EncodeError> {
    put_length(buf, length, compact, true, field)
}

/// Reads a nullable struct's presence marker: -1 is null, 1 is present.
pub fn get_struct_marker(buf: &mut Bytes, field: &'static str) -> Result<bool, DecodeError> {
    match get_i8(buf)? {
        -1 => Ok(false),
        1 => Ok(true),
        marker => Err(DecodeError::InvalidStructMarker { field, marker }),
    }
}

/// Takes exactly `length` bytes off the front of `buf`, zero-copy.
pub fn take(buf: &mut Bytes, length: usize) -> Result<Bytes, DecodeError> {
    ensure(buf, length)?;
    Ok(buf.split_to(length))
}

/// Collects the tagged fields of one struct and writes them in tag order (KIP-482):
/// the count, then for each field its tag, its size and its bytes, all as unsigned
/// varints.
#[derive(Default)]
pub struct TaggedFields {
    fields: Vec<(u32, BytesMut)>,
}

impl TaggedFields {
    /// Starts an empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes one tagged field with `write`, which receives a scratch buffer. Tags must
    /// be added in increasing order (the generator emits them so).
    pub fn add(
        &mut self,
        tag: u32,
        write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let mut scratch = BytesMut::new();
        write(&mut scratch)?;
        self.fields.push((tag, scratch));
        Ok(())
    }

    /// Writes the tagged-field section.
    pub fn write(self, buf: &mut BytesMut) {
        put_unsigned_varint(buf, self.fields.len() as u32);
        for (tag, data) in self.fields {
            put_unsigned_varint(buf, tag);
            put_unsigned_varint(buf, data.len() as u32);
            buf.put_slice(&data);
        }
    }
}

/// Reads the tagged-field section of one struct, handing each field's tag and payload to
/// `read`. `read` returns `false` for tags it does not know; those are skipped, as
/// KIP-482 requires.
pub fn get_tagged_fields(
    buf: &mut Bytes,
    mut read: impl FnMut(u32, &mut Bytes) -> Result<bool, DecodeError>,
) -> Result<(), DecodeError> {
    let count = get_unsigned_varint(buf)?;
    for _ in 0..count {
        let tag = get_unsigned_varint(buf)?;
        let size = get_unsigned_varint(buf)? as i64;
        let size = checked_len(size, buf)?;
        let mut field = buf.split_to(size);
        read(tag, &mut field)?;
    }
    Ok(())
}

/// Starts a vector for `len` decoded elements. The capacity is capped because `len` comes
/// from the wire: it is only known to be at most the bytes left, and elements may be much
/// larger in memory than on the wire.
#[inline]
pub fn vec_for<T>(len: usize) -> Vec<T> {
    const MAX_PREALLOCATED_BYTES: usize = 64 * 1024;
    Vec::with_capacity(len.min(MAX_PREALLOCATED_BYTES / std::mem::size_of::<T>().max(1)))
}

/// An inclusive range of message versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionRange {
    /// Lowest version.
    pub min: i16,
    /// Highest version; `i16::MAX` stands for "and every later one".
    pub max: i16,
}

impl VersionRange {
    /// Whether `version` lies in the range.
    #[inline]
    pub fn contains(&self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }
}

/// Facts about a generated top-level message, from its schema.
pub trait Message: Encodable + Decodable + Default + Clone + std::fmt::Debug + PartialEq {
    /// The schema's name, e.g. `"ProduceRequest"`.
    const NAME: &'static str;
    /// The schema's `validVersions`.
    const VERSIONS: VersionRange;
    /// The schema's `flexibleVersions` (KIP-482), if any.
    const FLEXIBLE_VERSIONS: Option<VersionRange>;
    /// The schema's `deprecatedVersions`, if any.
    const DEPRECATED_VERSIONS: Option<VersionRange>;
}

/// Skips the tagged-field section of a struct that defines no tagged fields.
pub fn skip_tagged_fields(buf: &mut Bytes) -> Result<(), DecodeError> {
    get_tagged_fields(buf, |_, _| Ok(false))
}

/// Encoding and decoding of one generated struct at a given version.
pub trait Encodable {
    /// Appends the value's wire form at `version` to `buf`.
    ///
    /// # Errors
    /// [`EncodeError`] when a field cannot be expressed at this version.
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError>;
}

/// Decoding of one generated struct at a given version.
pub trait Decodable: Sized {
    /// Reads a value at `version` from the front of `buf`, leaving what follows it.
    ///
    /// # Errors
    /// [`DecodeError`] on truncated, oversized or malformed input; never panics.
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for value in [0, 1, -1, 63, -64, 64, i32::MAX, i32::MIN, 300, -300] {
            let mut buf = BytesMut::new();
            put_varint(&mut buf, value);
            assert_eq!(buf.len(), varint_len(value));
            assert_eq!(get_varint(&mut buf.freeze()).unwrap(), value);
        }
        for value in [0, 1, -1, i64::MAX, i64::MIN, 1 << 40, -(1 << 40)] {
            let mut buf = BytesMut::new();
            put_varlong(&mut buf, value);
            assert_eq!(buf.len(), varlong_len(value));
            assert_eq!(get_varlong(&mut buf.freeze()).unwrap(), value);
        }
        for value in [0, 127, 128, 16383, 16384, u32::MAX] {
            let mut buf = BytesMut::new();
            put_unsigned_varint(&mut buf, value);
            assert_eq!(buf.len(), unsigned_varint_len(value));
            assert_eq!(get_unsigned_varint(&mut buf.freeze()).unwrap(), value);
        }
    }

    #[test]
    fn overlong_varints_are_errors() {
        let mut buf = Bytes::from_static(&[0xff; 11]);
        assert_eq!(
            get_unsigned_varint(&mut buf.clone()),
            Err(DecodeError::VarintTooLong { max_bytes: 5 })
        );
        assert_eq!(
            get_varlong(&mut buf),
            Err(DecodeError::VarintTooLong { max_bytes: 10 })
        );
    }

    #[test]
    fn lengths_past_the_end_are_errors_not_allocations() {
        let mut buf = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]);
        assert!(matches!(
            get_array_len(&mut buf, false),
            Err(DecodeError::InvalidLength { .. })
        ));
        let mut buf = Bytes::from_static(&[0x7f, 0xff, 1, 2]);
        assert!(matches!(
            get_nullable_string(&mut buf, false),
            Err(DecodeError::InvalidLength { .. })
        ));
        let mut buf = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(matches!(
            get_nullable_bytes(&mut buf, true),
            Err(DecodeError::InvalidLength { .. })
        ));
        let mut buf = Bytes::from_static(&[0xff, 0xfe]);
        assert!(matches!(
            get_nullable_string(&mut buf, false),
            Err(DecodeError::InvalidLength { .. })
        ));
    }

    #[test]
    fn null_and_empty_differ() {
        for compact in [false, true] {
            let mut buf = BytesMut::new();
            put_nullable_string(&mut buf, None, compact, "f").unwrap();
            put_nullable_string(&mut buf, Some(""), compact, "f").unwrap();
            let mut input = buf.freeze();
            assert_eq!(get_nullable_string(&mut input, compact).unwrap(), None);
            assert_eq!(
                get_nullable_string(&mut input, compact).unwrap(),
                Some(String::new())
            );
            assert!(input.is_empty());
        }
    }

    #[test]
    fn uuid_prints_as_kafka_does() {
        // Kafka's Uuid.toString: URL-safe base64 without padding.
        assert_eq!(Uuid::ZERO.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(Uuid([0xff; 16]).to_string(), "_____________________w");
    }
}
