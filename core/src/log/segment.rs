//! One log segment: a run of record batches starting at a base offset, stored in a file
//! (`<base offset, 20 digits>.log`) or in memory, with a sparse index kept in memory and
//! written beside the file as `.index` (relative offset u32, position u32) and
//! `.timeindex` (largest timestamp before the entry i64, relative offset u32).

use super::LogError;
use crate::protocol::records::{RecordBatch, RecordBatchError};
use bytes::{Bytes, BytesMut};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes of a batch header needed to walk the log: base offset (8), length (4), leader
/// epoch (4), magic (1), CRC (4), attributes (2), last offset delta (4), base timestamp
/// (8), max timestamp (8), producer id (8), producer epoch (2), base sequence (4).
const WALK_HEADER: usize = 57;
/// Bytes before the batch length field's count starts (base offset + length).
const LOG_OVERHEAD: usize = 12;

/// Where a segment's bytes live.
pub enum SegmentData {
    File { file: Arc<File>, path: PathBuf },
    Memory(Vec<u8>),
}

impl SegmentData {
    fn read_at(&self, position: u64, len: usize) -> std::io::Result<Bytes> {
        match self {
            SegmentData::File { file, .. } => {
                let mut buf = BytesMut::zeroed(len);
                file.read_exact_at(&mut buf, position)?;
                Ok(buf.freeze())
            }
            SegmentData::Memory(data) => {
                let start = position as usize;
                data.get(start..start + len)
                    .map(Bytes::copy_from_slice)
                    .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))
            }
        }
    }

    fn write_at(&mut self, position: u64, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            SegmentData::File { file, .. } => file.write_all_at(bytes, position),
            SegmentData::Memory(data) => {
                data.truncate(position as usize);
                data.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        match self {
            SegmentData::File { file, .. } => file.set_len(len),
            SegmentData::Memory(data) => {
                data.truncate(len as usize);
                Ok(())
            }
        }
    }

    fn path(&self) -> PathBuf {
        match self {
            SegmentData::File { path, .. } => path.clone(),
            SegmentData::Memory(_) => PathBuf::from("(memory)"),
        }
    }
}

/// A sparse index entry: the batch at `position` starts at `base + relative_offset`, and
/// every batch before it has timestamps at most `max_timestamp_before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub relative_offset: u32,
    pub position: u32,
    pub max_timestamp_before: i64,
}

/// What walking the batch headers of a segment yields.
#[derive(Debug, Clone, Copy)]
pub struct BatchHeader {
    pub position: u64,
    pub size: usize,
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    /// -1 unless the batch comes from an idempotent producer.
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

pub struct Segment {
    pub base_offset: i64,
    pub data: SegmentData,
    /// Bytes of valid batches.
    pub size: u64,
    /// Offset after the last batch.
    pub next_offset: i64,
    pub index: Vec<IndexEntry>,
    bytes_since_index: u64,
    pub max_timestamp: i64,
    /// Position of the batch holding the largest timestamp (for ListOffsets -3).
    pub max_timestamp_position: Option<u64>,
    pub created_ms: i64,
}

pub fn file_stem(base_offset: i64) -> String {
    format!("{base_offset:020}")
}

fn io(path: &Path, source: std::io::Error) -> LogError {
    LogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Segment {
    /// A segment holding nothing yet over `data`.
    fn empty(base_offset: i64, data: SegmentData, now_ms: i64) -> Segment {
        Segment {
            base_offset,
            data,
            size: 0,
            next_offset: base_offset,
            index: Vec::new(),
            bytes_since_index: 0,
            max_timestamp: -1,
            max_timestamp_position: None,
            created_ms: now_ms,
        }
    }

    /// A new, empty segment.
    pub fn create(dir: Option<&Path>, base_offset: i64, now_ms: i64) -> Result<Segment, LogError> {
        let data = match dir {
            None => SegmentData::Memory(Vec::new()),
            Some(dir) => {
                let path = dir.join(format!("{}.log", file_stem(base_offset)));
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&path)
                    .map_err(|e| io(&path, e))?;
                SegmentData::File {
                    file: Arc::new(file),
                    path,
                }
            }
        };
        Ok(Segment::empty(base_offset, data, now_ms))
    }

    /// Opens an existing segment file and rebuilds its in-memory state by walking its
    /// batches. With `verify`, each batch's CRC-32C and framing are checked and the file
    /// is truncated at the first bad or incomplete batch; otherwise only framing is
    /// checked. Returns the segment and how many bytes were cut off.
    pub fn open(
        path: &Path,
        base_offset: i64,
        index_interval_bytes: u32,
        verify: bool,
        now_ms: i64,
    ) -> Result<(Segment, u64), LogError> {
        let (file, file_len) = open_file(path)?;
        let mut segment = Segment::empty(
            base_offset,
            SegmentData::File {
                file: Arc::new(file),
                path: path.to_path_buf(),
            },
            now_ms,
        );
        let mut position = 0u64;
        while position < file_len {
            let header = match segment.header_at(position, file_len) {
                Ok(Some(header)) if header.base_offset >= segment.next_offset => header,
                _ => break,
            };
            if verify {
                let bytes = segment
                    .data
                    .read_at(position, header.size)
                    .map_err(|e| io(path, e))?;
                let valid =
                    RecordBatch::parse(bytes).and_then(|batch| batch.verify_crc().map(|()| batch));
                if valid.is_err() {
                    break;
                }
            }
            segment.note_batch(header, index_interval_bytes);
            position += header.size as u64;
        }
        let cut = file_len - position;
        if cut > 0 {
            segment.data.truncate(position).map_err(|e| io(path, e))?;
        }
        Ok((segment, cut))
    }

    /// Opens a segment that was closed cleanly, trusting its index files: only the batches
    /// after the last index entry are walked. Falls back to [`Segment::open`] without CRC
    /// checks when the index files are missing or inconsistent.
    pub fn open_indexed(
        path: &Path,
        base_offset: i64,
        index_interval_bytes: u32,
        now_ms: i64,
    ) -> Result<Segment, LogError> {
        match Self::load_index(path) {
            Some(index) => {
                let (file, file_len) = open_file(path)?;
                if index.last().is_some_and(|e| e.position as u64 >= file_len)
                    || (index.is_empty() && file_len > 0)
                {
                    return Self::open(path, base_offset, index_interval_bytes, false, now_ms)
                        .map(|(s, _)| s);
                }
                let last = index.last().copied();
                let mut segment = Segment::empty(
                    base_offset,
                    SegmentData::File {
                        file: Arc::new(file),
                        path: path.to_path_buf(),
                    },
                    now_ms,
                );
                segment.index = index;
                segment.max_timestamp = last.map_or(-1, |e| e.max_timestamp_before);
                let mut position = last.map_or(0, |e| e.position as u64);
                segment.size = position;
                while let Some(header) = segment.header_at(position, file_len)? {
                    segment.note_batch(header, index_interval_bytes);
                    position += header.size as u64;
                }
                if position != file_len {
                    return Self::open(path, base_offset, index_interval_bytes, false, now_ms)
                        .map(|(s, _)| s);
                }
                Ok(segment)
            }
            None => {
                Self::open(path, base_offset, index_interval_bytes, false, now_ms).map(|(s, _)| s)
            }
        }
    }

    /// Reads `.index` and `.timeindex`; `None` unless both exist and agree.
    fn load_index(path: &Path) -> Option<Vec<IndexEntry>> {
        let offsets = std::fs::read(path.with_extension("index")).ok()?;
        let times = std::fs::read(path.with_extension("timeindex")).ok()?;
        if offsets.len() % 8 != 0 || times.len() % 12 != 0 || offsets.len() / 8 != times.len() / 12
        {
            return None;
        }
        let entries: Vec<IndexEntry> = offsets
            .chunks_exact(8)
            .zip(times.chunks_exact(12))
            .map(|(o, t)| IndexEntry {
                relative_offset: u32::from_be_bytes(o[0..4].try_into().unwrap()),
                position: u32::from_be_bytes(o[4..8].try_into().unwrap()),
                max_timestamp_before: i64::from_be_bytes(t[0..8].try_into().unwrap()),
            })
            .collect();
        let ordered = entries
            .windows(2)
            .all(|w| w[0].relative_offset < w[1].relative_offset && w[0].position < w[1].position);
        let consistent = offsets
            .chunks_exact(8)
            .zip(times.chunks_exact(12))
            .all(|(o, t)| o[0..4] == t[8..12]);
        (ordered && consistent).then_some(entries)
    }

    /// Reads the walking header of the batch at `position`; `None` if the bytes left
    /// cannot hold a whole batch or the length is impossible.
    pub fn header_at(&self, position: u64, end: u64) -> Result<Option<BatchHeader>, LogError> {
        if position + WALK_HEADER as u64 > end {
            return Ok(None);
        }
        let head = self
            .data
            .read_at(position, WALK_HEADER)
            .map_err(|e| io(&self.data.path(), e))?;
        let base_offset = i64::from_be_bytes(head[0..8].try_into().unwrap());
        let length = i32::from_be_bytes(head[8..12].try_into().unwrap());
        let size = LOG_OVERHEAD as i64 + length as i64;
        if length < (WALK_HEADER - LOG_OVERHEAD) as i32
            || position + size as u64 > end
            || head[16] != 2
        {
            return Ok(None);
        }
        let last_delta = i32::from_be_bytes(head[23..27].try_into().unwrap());
        let max_timestamp = i64::from_be_bytes(head[35..43].try_into().unwrap());
        Ok(Some(BatchHeader {
            position,
            size: size as usize,
            base_offset,
            last_offset: base_offset + last_delta.max(0) as i64,
            max_timestamp,
            producer_id: i64::from_be_bytes(head[43..51].try_into().unwrap()),
            producer_epoch: i16::from_be_bytes(head[51..53].try_into().unwrap()),
            base_sequence: i32::from_be_bytes(head[53..57].try_into().unwrap()),
        }))
    }

    /// Updates size, offsets, timestamps and the sparse index for a batch now stored at
    /// `header.position`.
    fn note_batch(&mut self, header: BatchHeader, index_interval_bytes: u32) {
        if self.index.is_empty() || self.bytes_since_index >= index_interval_bytes as u64 {
            self.index.push(IndexEntry {
                relative_offset: (header.base_offset - self.base_offset) as u32,
                position: header.position as u32,
                max_timestamp_before: self.max_timestamp,
            });
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += header.size as u64;
        if header.max_timestamp > self.max_timestamp || self.max_timestamp_position.is_none() {
            self.max_timestamp = self.max_timestamp.max(header.max_timestamp);
            self.max_timestamp_position = Some(header.position);
        }
        self.size = header.position + header.size as u64;
        self.next_offset = header.last_offset + 1;
    }

    /// Appends a batch whose header fields are final.
    pub fn append(
        &mut self,
        batch: &[u8],
        base_offset: i64,
        last_offset: i64,
        max_timestamp: i64,
        index_interval_bytes: u32,
    ) -> Result<(), LogError> {
        let position = self.size;
        self.data
            .write_at(position, batch)
            .map_err(|e| io(&self.data.path(), e))?;
        let header = BatchHeader {
            position,
            size: batch.len(),
            base_offset,
            last_offset,
            max_timestamp,
            producer_id: i64::from_be_bytes(batch[43..51].try_into().expect("a v2 batch header")),
            producer_epoch: i16::from_be_bytes(
                batch[51..53].try_into().expect("a v2 batch header"),
            ),
            base_sequence: i32::from_be_bytes(batch[53..57].try_into().expect("a v2 batch header")),
        };
        self.note_batch(header, index_interval_bytes);
        Ok(())
    }

    /// The position from which to walk to find `offset`: the last index entry at or
    /// before it.
    pub fn position_for(&self, offset: i64) -> u64 {
        let relative = (offset - self.base_offset).max(0) as u64;
        let slot = self
            .index
            .partition_point(|e| (e.relative_offset as u64) <= relative);
        if slot == 0 {
            0
        } else {
            self.index[slot - 1].position as u64
        }
    }

    /// The position from which to walk to find the first record with a timestamp at or
    /// after `timestamp`: every batch before it has only earlier timestamps.
    pub fn position_for_timestamp(&self, timestamp: i64) -> u64 {
        let slot = self
            .index
            .partition_point(|e| e.max_timestamp_before < timestamp);
        if slot == 0 {
            0
        } else {
            self.index[slot - 1].position as u64
        }
    }

    /// The header of the batch containing `offset`, or of the first batch after it.
    pub fn find_batch(&self, offset: i64) -> Result<Option<BatchHeader>, LogError> {
        let mut position = self.position_for(offset);
        while let Some(header) = self.header_at(position, self.size)? {
            if header.last_offset >= offset {
                return Ok(Some(header));
            }
            position += header.size as u64;
        }
        Ok(None)
    }

    /// Reads `len` bytes at `position`.
    pub fn read(&self, position: u64, len: usize) -> Result<Bytes, LogError> {
        self.data
            .read_at(position, len)
            .map_err(|e| io(&self.data.path(), e))
    }

    /// Cuts the segment so that it ends before the batch at `position`.
    pub fn truncate_to_position(
        &mut self,
        position: u64,
        next_offset: i64,
    ) -> Result<(), LogError> {
        self.data
            .truncate(position)
            .map_err(|e| io(&self.data.path(), e))?;
        self.size = position;
        self.next_offset = next_offset;
        self.index.retain(|e| (e.position as u64) < position);
        self.bytes_since_index = 0;
        // Timestamps are recomputed from what is left.
        self.max_timestamp = -1;
        self.max_timestamp_position = None;
        let mut walk = 0;
        while let Some(header) = self.header_at(walk, self.size)? {
            if header.max_timestamp > self.max_timestamp || self.max_timestamp_position.is_none() {
                self.max_timestamp = self.max_timestamp.max(header.max_timestamp);
                self.max_timestamp_position = Some(walk);
            }
            walk += header.size as u64;
        }
        Ok(())
    }

    /// The file handle to fsync, for disk segments.
    pub fn file(&self) -> Option<Arc<File>> {
        match &self.data {
            SegmentData::File { file, .. } => Some(file.clone()),
            SegmentData::Memory(_) => None,
        }
    }

    /// Writes `.index` and `.timeindex` beside the segment file (disk segments only).
    pub fn write_indexes(&self) -> Result<(), LogError> {
        let SegmentData::File { path, .. } = &self.data else {
            return Ok(());
        };
        let mut offsets = Vec::with_capacity(self.index.len() * 8);
        let mut times = Vec::with_capacity(self.index.len() * 12);
        for entry in &self.index {
            offsets.extend_from_slice(&entry.relative_offset.to_be_bytes());
            offsets.extend_from_slice(&entry.position.to_be_bytes());
            times.extend_from_slice(&entry.max_timestamp_before.to_be_bytes());
            times.extend_from_slice(&entry.relative_offset.to_be_bytes());
        }
        for (extension, bytes) in [("index", offsets), ("timeindex", times)] {
            let index_path = path.with_extension(extension);
            std::fs::write(&index_path, bytes).map_err(|e| io(&index_path, e))?;
        }
        Ok(())
    }

    /// Deletes the segment's files.
    pub fn delete_files(&self) -> Result<(), LogError> {
        let SegmentData::File { path, .. } = &self.data else {
            return Ok(());
        };
        for extension in ["log", "index", "timeindex"] {
            let file = path.with_extension(extension);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&file, e)),
            }
        }
        Ok(())
    }

    /// The batch holding the largest timestamp, parsed.
    pub fn max_timestamp_batch(&self) -> Result<Option<RecordBatch>, LogError> {
        let position = match self.max_timestamp_position {
            Some(position) => position,
            // Opened from its index files: find the batch by walking the segment once.
            None => {
                let mut found = None;
                let mut walk = 0;
                while let Some(header) = self.header_at(walk, self.size)? {
                    if found.is_none_or(|(_, ts)| header.max_timestamp > ts) {
                        found = Some((walk, header.max_timestamp));
                    }
                    walk += header.size as u64;
                }
                match found {
                    Some((position, _)) => position,
                    None => return Ok(None),
                }
            }
        };
        let Some(header) = self.header_at(position, self.size)? else {
            return Ok(None);
        };
        let bytes = self.read(position, header.size)?;
        RecordBatch::parse(bytes)
            .map(Some)
            .map_err(|e| corrupt(&self.data.path(), e))
    }
}

/// Opens an existing segment file for reading and writing, with its length (bytes).
fn open_file(path: &Path) -> Result<(File, u64), LogError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io(path, e))?;
    let len = file.metadata().map_err(|e| io(path, e))?.len();
    Ok((file, len))
}

pub fn corrupt(path: &Path, error: RecordBatchError) -> LogError {
    LogError::Corrupt {
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}
