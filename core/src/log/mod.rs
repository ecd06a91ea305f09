//! The durable partition log: an ordered list of segments, each a run of record batches
//! stored exactly as producers sent them (only base offset and leader epoch patched),
//! with sparse indexes, recovery after a crash, retention, DeleteRecords, truncation and
//! the leader epoch cache replication will use.
//!
//! Files in a partition directory (Kafka's layout):
//! - `<base offset>.log`, `.index`, `.timeindex`: segments and their indexes;
//! - `log-start-offset`: the log start offset after DeleteRecords or retention;
//! - `recovery-point`: every batch below this offset was fsynced (written when a rolled
//!   segment's fsync is done);
//! - `leader-epoch-checkpoint`: `epoch start_offset` lines;
//! - `clean-shutdown`: present while the log is closed cleanly.
//!
//! Opening after a clean shutdown trusts the index files. Otherwise every segment from
//! the recovery point on is walked batch by batch, checking framing and CRC-32C, and cut
//! at the first torn or corrupt batch.

pub mod cleaner;
pub mod producer_state;
mod segment;

use crate::protocol::records::{RecordBatch, RecordBatchMut};
use bytes::{Bytes, BytesMut};
use producer_state::{ProducerStates, SequenceCheck, SequenceError};
use segment::{corrupt, file_stem, Segment};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How a partition log behaves; the topic's configuration, in the log's units.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// Roll when the active segment would grow past this (bytes; `segment.bytes`).
    pub segment_bytes: u64,
    /// Roll when the active segment is this old (ms; `segment.ms`).
    pub segment_ms: u64,
    /// Bytes between sparse index entries (`index.interval.bytes`).
    pub index_interval_bytes: u32,
    /// Delete segments whose newest record is older than this (ms); `None` keeps them.
    pub retention_ms: Option<u64>,
    /// Delete the oldest segments while the log is larger than this (bytes); `None` = no limit.
    pub retention_bytes: Option<u64>,
    /// fsync after this many messages (`flush.messages`); `None` = not by count.
    pub flush_messages: Option<u64>,
    /// fsync when this long has passed since the last fsync (ms; `flush.ms`); `None` = not by time.
    pub flush_ms: Option<u64>,
    /// Whether `cleanup.policy` includes `compact`: keep the latest record per key.
    pub compact: bool,
    /// Whether `cleanup.policy` includes `delete`: time and size retention apply.
    pub delete: bool,
    /// How long tombstones survive compaction (ms; `delete.retention.ms`).
    pub delete_retention_ms: u64,
    /// Records younger than this are not compacted (ms; `min.compaction.lag.ms`).
    pub min_compaction_lag_ms: u64,
    /// Compact only when this fraction of the closed log is uncompacted
    /// (`min.cleanable.dirty.ratio`).
    pub min_cleanable_dirty_ratio: f64,
}

impl Default for LogConfig {
    /// Kafka's defaults.
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3_600_000,
            index_interval_bytes: 4096,
            retention_ms: Some(7 * 24 * 3_600_000),
            retention_bytes: None,
            flush_messages: None,
            flush_ms: None,
            compact: false,
            delete: true,
            delete_retention_ms: 86_400_000,
            min_compaction_lag_ms: 0,
            min_cleanable_dirty_ratio: 0.5,
        }
    }
}

/// Where a log lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// A partition directory (created if missing).
    Disk(PathBuf),
    /// Memory only; lost with the process.
    Memory,
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("offset {offset} is out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("record batch of {size} bytes cannot be appended: {reason}")]
    InvalidBatch { size: usize, reason: String },
    /// An idempotent producer's batch is out of sequence or from a fenced epoch.
    #[error(transparent)]
    Sequence(#[from] SequenceError),
}

/// Where an appended batch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub log_start_offset: i64,
    /// The batch repeated one an idempotent producer already wrote (a retry): nothing was
    /// appended, and the offsets are the original ones.
    pub duplicate: bool,
}

/// Batches read from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadResult {
    /// Whole record batches, as stored.
    pub records: Bytes,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

/// What to fsync to make everything appended so far durable; taken under the log's
/// lock, synced outside it.
#[derive(Clone)]
pub struct FlushHandle {
    files: Vec<Arc<File>>,
    end_offset: i64,
}

impl FlushHandle {
    /// fsyncs the data of every file in the handle.
    pub fn sync(&self) -> std::io::Result<()> {
        self.files.iter().try_for_each(|f| f.sync_data())
    }

    /// The offset below which everything is durable once [`FlushHandle::sync`] returns.
    pub fn end_offset(&self) -> i64 {
        self.end_offset
    }
}

pub struct PartitionLog {
    dir: Option<PathBuf>,
    config: LogConfig,
    segments: Vec<Segment>,
    log_start_offset: i64,
    flushed_offset: i64,
    /// Rolled segments not fsynced yet, with the offset each ends at: a roll leaves the
    /// fsync to the next flush (as Kafka flushes a rolled segment in the background), so
    /// appends never wait for a whole segment to reach the disk.
    rolled_unsynced: Vec<(Arc<File>, i64)>,
    unflushed_messages: u64,
    last_flush_ms: i64,
    /// (leader epoch, first offset written in it), ascending.
    epochs: Vec<(i32, i64)>,
    producers: ProducerStates,
}

fn io(path: &Path, source: std::io::Error) -> LogError {
    LogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_number(path: &Path) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Replaces a small file so that a crash leaves the old or the new contents.
fn write_small_file(path: &Path, contents: &str) -> Result<(), LogError> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, contents).map_err(|e| io(&temporary, e))?;
    File::open(&temporary)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| io(path, e))
}

impl PartitionLog {
    /// Opens the log, recovering it if it was not closed cleanly.
    ///
    /// # Errors
    /// [`LogError::Io`] when the directory or a file cannot be read or written.
    pub fn open(storage: Storage, config: LogConfig, now_ms: i64) -> Result<Self, LogError> {
        let dir = match storage {
            Storage::Memory => None,
            Storage::Disk(dir) => {
                std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
                Some(dir)
            }
        };
        let mut log = PartitionLog {
            dir,
            config,
            segments: Vec::new(),
            log_start_offset: 0,
            flushed_offset: 0,
            rolled_unsynced: Vec::new(),
            unflushed_messages: 0,
            last_flush_ms: now_ms,
            epochs: Vec::new(),
            producers: ProducerStates::default(),
        };
        match log.dir.clone() {
            Some(dir) => log.load(&dir, now_ms)?,
            None => log.segments.push(Segment::create(None, 0, now_ms)?),
        }
        Ok(log)
    }

    fn load(&mut self, dir: &Path, now_ms: i64) -> Result<(), LogError> {
        cleaner::remove_leftover_files(dir)?;
        let clean_marker = dir.join("clean-shutdown");
        let clean = clean_marker.exists();
        let recovery_point = if clean {
            i64::MAX
        } else {
            read_number(&dir.join("recovery-point")).unwrap_or(0)
        };
        let mut bases: Vec<i64> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                (path.extension()? == "log").then(|| path.file_stem()?.to_str()?.parse().ok())?
            })
            .collect();
        bases.sort_unstable();
        let interval = self.config.index_interval_bytes;
        let mut truncated_from = None;
        for (i, base) in bases.iter().enumerate() {
            let path = dir.join(format!("{}.log", file_stem(*base)));
            if truncated_from.is_some() {
                // A segment after a torn one cannot be trusted: its offsets would not follow.
                std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
                continue;
            }
            let next_base = bases.get(i + 1).copied().unwrap_or(i64::MAX);
            let segment = if next_base <= recovery_point {
                Segment::open_indexed(&path, *base, interval, now_ms)?
            } else {
                let (segment, cut) = Segment::open(&path, *base, interval, true, now_ms)?;
                if cut > 0 {
                    tracing::warn!(path = %path.display(), bytes = cut, "recovery cut a torn or corrupt tail");
                    truncated_from = Some(segment.next_offset);
                }
                segment
            };
            self.segments.push(segment);
        }
        if self.segments.is_empty() {
            self.segments.push(Segment::create(Some(dir), 0, now_ms)?);
        }
        let first_base = self.segments[0].base_offset;
        self.log_start_offset = read_number(&dir.join("log-start-offset"))
            .unwrap_or(first_base)
            .max(first_base)
            .min(self.log_end_offset());
        self.epochs = std::fs::read_to_string(dir.join("leader-epoch-checkpoint"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let (epoch, offset) = line.split_once(' ')?;
                Some((epoch.parse().ok()?, offset.parse().ok()?))
            })
            .filter(|(_, offset): &(i32, i64)| *offset < self.log_end_offset())
            .collect();
        self.flushed_offset = self.log_end_offset();
        self.producers = match std::fs::read_to_string(dir.join("producer-snapshot")) {
            Ok(text) if clean => ProducerStates::from_snapshot(&text),
            // After a crash the snapshot may be stale: rebuild from the batch headers.
            _ => self.scan_producers()?,
        };
        if clean {
            std::fs::remove_file(&clean_marker).map_err(|e| io(&clean_marker, e))?;
        }
        Ok(())
    }

    /// Rebuilds the idempotent producers' state from every batch header in the log.
    fn scan_producers(&self) -> Result<ProducerStates, LogError> {
        let mut states = ProducerStates::default();
        for segment in &self.segments {
            let mut position = 0;
            while let Some(header) = segment.header_at(position, segment.size)? {
                if header.producer_id >= 0 && header.base_sequence >= 0 {
                    let count = (header.last_offset - header.base_offset) as i32;
                    let last = header.base_sequence.wrapping_add(count) & i32::MAX;
                    states.record(
                        header.producer_id,
                        header.producer_epoch,
                        header.base_sequence,
                        last,
                        header.base_offset,
                    );
                }
                position += header.size as u64;
            }
        }
        Ok(states)
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Applies a changed topic configuration; it takes effect with the next append,
    /// roll or retention check.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    /// The first offset a consumer may read.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The offset the next appended record gets.
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset
    }

    fn active(&self) -> &Segment {
        self.segments
            .last()
            .expect("a log always has an active segment")
    }

    pub fn size_in_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    fn path(&self) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("(memory)"))
    }

    /// Starts a new active segment at the log end offset. The old one is fsynced and its
    /// indexes written, so the recovery point can move past it.
    fn roll(&mut self, now_ms: i64) -> Result<(), LogError> {
        let end = self.log_end_offset();
        let old = self.segments.last().expect("active segment");
        if let Some(file) = old.file() {
            old.write_indexes()?;
            self.rolled_unsynced.push((file.clone(), end));
        }
        self.segments
            .push(Segment::create(self.dir.as_deref(), end, now_ms)?);
        Ok(())
    }

    /// Appends one validated record batch (magic 2, CRC checked by the caller): assigns
    /// its offsets by patching the base offset to the log end offset, stamps
    /// `leader_epoch`, and with `log_append_time` sets LogAppendTime (which recomputes
    /// the CRC). The bytes are otherwise stored verbatim. Rolls first when the active
    /// segment is full or old.
    ///
    /// # Errors
    /// [`LogError::InvalidBatch`] for bytes that are not a v2 batch header;
    /// [`LogError::Io`] on a write failure.
    pub fn append(
        &mut self,
        batch: &Bytes,
        leader_epoch: i32,
        log_append_time: Option<i64>,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        let invalid = |reason: String| LogError::InvalidBatch {
            size: batch.len(),
            reason,
        };
        let (producer_id, producer_epoch, base_sequence) = match batch.get(43..57) {
            Some(fields) => (
                i64::from_be_bytes(fields[0..8].try_into().expect("8 bytes")),
                i16::from_be_bytes(fields[8..10].try_into().expect("2 bytes")),
                i32::from_be_bytes(fields[10..14].try_into().expect("4 bytes")),
            ),
            None => return Err(invalid("shorter than a batch header".into())),
        };
        let last_offset_delta = i32::from_be_bytes(batch[23..27].try_into().expect("4 bytes"));
        let idempotent = producer_id >= 0 && base_sequence >= 0;
        let last_sequence = base_sequence.wrapping_add(last_offset_delta.max(0)) & i32::MAX;
        if idempotent {
            let check =
                self.producers
                    .check(producer_id, producer_epoch, base_sequence, last_sequence)?;
            if let SequenceCheck::Duplicate { base_offset } = check {
                return Ok(AppendInfo {
                    base_offset,
                    last_offset: base_offset + last_offset_delta as i64,
                    max_timestamp: -1,
                    log_start_offset: self.log_start_offset,
                    duplicate: true,
                });
            }
        }
        let mut bytes = BytesMut::from(&batch[..]);
        let base_offset = self.log_end_offset();
        let (last_offset, max_timestamp, records) = {
            let mut view = RecordBatchMut::new(&mut bytes).map_err(|e| invalid(e.to_string()))?;
            view.set_base_offset(base_offset);
            view.set_partition_leader_epoch(leader_epoch);
            if let Some(time) = log_append_time {
                view.set_log_append_time(time);
            }
            let max_timestamp = view.max_timestamp();
            (
                base_offset + view.last_offset_delta() as i64,
                max_timestamp,
                view.record_count().max(0) as u64,
            )
        };
        let active = self.active();
        let relative_overflow = last_offset - active.base_offset > i32::MAX as i64;
        let full = active.size + bytes.len() as u64 > self.config.segment_bytes;
        let old = now_ms - active.created_ms >= self.config.segment_ms as i64;
        if active.size > 0 && (full || old || relative_overflow) {
            self.roll(now_ms)?;
        }
        let interval = self.config.index_interval_bytes;
        self.segments.last_mut().expect("active segment").append(
            &bytes,
            base_offset,
            last_offset,
            max_timestamp,
            interval,
        )?;
        if self
            .epochs
            .last()
            .is_none_or(|(epoch, _)| *epoch < leader_epoch)
        {
            self.epochs.push((leader_epoch, base_offset));
            self.write_epochs()?;
        }
        if idempotent {
            self.producers.record(
                producer_id,
                producer_epoch,
                base_sequence,
                last_sequence,
                base_offset,
            );
        }
        self.unflushed_messages += records;
        if self.dir.is_none() {
            self.flushed_offset = last_offset + 1;
        }
        Ok(AppendInfo {
            base_offset,
            last_offset,
            max_timestamp,
            log_start_offset: self.log_start_offset,
            duplicate: false,
        })
    }

    fn write_epochs(&self) -> Result<(), LogError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let text: String = self
            .epochs
            .iter()
            .map(|(epoch, offset)| format!("{epoch} {offset}\n"))
            .collect();
        write_small_file(&dir.join("leader-epoch-checkpoint"), &text)
    }

    fn check_range(&self, offset: i64) -> Result<(), LogError> {
        if offset < self.log_start_offset || offset > self.log_end_offset() {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: self.log_end_offset(),
            });
        }
        Ok(())
    }

    /// The segment that holds `offset` (the last one whose base is at or below it).
    fn segment_index_for(&self, offset: i64) -> usize {
        self.segments
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1)
    }

    /// Reads whole batches starting with the one that contains `offset`, up to
    /// `max_bytes` in total and never a batch at or past `max_offset`. With
    /// `min_one_batch`, a first batch larger than `max_bytes` is returned whole (KIP-74).
    /// Reads from one segment; an empty result means nothing is available yet.
    ///
    /// # Errors
    /// [`LogError::OffsetOutOfRange`] outside `[log start, log end]`.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset: i64,
        min_one_batch: bool,
    ) -> Result<ReadResult, LogError> {
        self.check_range(offset)?;
        let empty = |log: &Self| ReadResult {
            records: Bytes::new(),
            log_start_offset: log.log_start_offset,
            log_end_offset: log.log_end_offset(),
        };
        if offset >= max_offset.min(self.log_end_offset()) {
            return Ok(empty(self));
        }
        for segment in &self.segments[self.segment_index_for(offset)..] {
            let Some(first) = segment.find_batch(offset)? else {
                continue;
            };
            if first.base_offset >= max_offset {
                return Ok(empty(self));
            }
            let start = first.position;
            let mut end = start;
            let mut next = Some(first);
            while let Some(header) = next {
                if header.base_offset >= max_offset {
                    break;
                }
                let grown = (end - start) as usize + header.size;
                if grown > max_bytes && !(end == start && min_one_batch) {
                    break;
                }
                end += header.size as u64;
                next = segment.header_at(end, segment.size)?;
            }
            let records = if end > start {
                segment.read(start, (end - start) as usize)?
            } else {
                Bytes::new()
            };
            return Ok(ReadResult {
                records,
                log_start_offset: self.log_start_offset,
                log_end_offset: self.log_end_offset(),
            });
        }
        Ok(empty(self))
    }

    /// Iterates the batches of `segment` from `position` to its end.
    fn batches_from<'a>(
        &'a self,
        segment: &'a Segment,
        mut position: u64,
    ) -> impl Iterator<Item = Result<RecordBatch, LogError>> + 'a {
        std::iter::from_fn(move || {
            let header = match segment.header_at(position, segment.size) {
                Ok(Some(header)) => header,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            position += header.size as u64;
            Some(
                segment
                    .read(header.position, header.size)
                    .and_then(|bytes| {
                        RecordBatch::parse(bytes).map_err(|e| corrupt(&self.path(), e))
                    }),
            )
        })
    }

    /// ListOffsets by timestamp: the first offset at or after the log start whose record
    /// timestamp is at least `timestamp_ms`, with that timestamp; `None` if none is.
    ///
    /// # Errors
    /// [`LogError`] on a read failure or a corrupt batch.
    pub fn offset_for_timestamp(&self, timestamp_ms: i64) -> Result<Option<(i64, i64)>, LogError> {
        for segment in self
            .segments
            .iter()
            .filter(|s| s.max_timestamp >= timestamp_ms && s.next_offset > self.log_start_offset)
        {
            for batch in self.batches_from(segment, segment.position_for_timestamp(timestamp_ms)) {
                let batch = batch?;
                if batch.max_timestamp() < timestamp_ms
                    || batch.last_offset() < self.log_start_offset
                {
                    continue;
                }
                for record in batch.records().map_err(|e| corrupt(&self.path(), e))? {
                    let record = record.map_err(|e| corrupt(&self.path(), e))?;
                    if record.timestamp >= timestamp_ms && record.offset >= self.log_start_offset {
                        return Ok(Some((record.offset, record.timestamp)));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The record with the largest timestamp (ListOffsets -3, KIP-734): its offset and
    /// timestamp; the earliest such record on ties. `None` for an empty log.
    ///
    /// # Errors
    /// [`LogError`] on a read failure or a corrupt batch.
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>, LogError> {
        let Some(segment) =
            self.segments
                .iter()
                .filter(|s| s.size > 0)
                .fold(None, |best: Option<&Segment>, s| match best {
                    Some(b) if b.max_timestamp >= s.max_timestamp => Some(b),
                    _ => Some(s),
                })
        else {
            return Ok(None);
        };
        let Some(batch) = segment.max_timestamp_batch()? else {
            return Ok(None);
        };
        let mut best: Option<(i64, i64)> = None;
        for record in batch.records().map_err(|e| corrupt(&self.path(), e))? {
            let record = record.map_err(|e| corrupt(&self.path(), e))?;
            if best.is_none_or(|(_, ts)| record.timestamp > ts) {
                best = Some((record.offset, record.timestamp));
            }
        }
        Ok(best)
    }

    /// Deletes the oldest segments for which `expired` holds, never the active one, and
    /// moves the log start offset past them. Returns how many were deleted.
    fn delete_oldest_while(
        &mut self,
        mut expired: impl FnMut(&Segment, u64) -> bool,
    ) -> Result<usize, LogError> {
        let mut deleted = 0;
        let mut total = self.size_in_bytes();
        while self.segments.len() > 1 && expired(&self.segments[0], total) {
            let segment = self.segments.remove(0);
            total -= segment.size;
            segment.delete_files()?;
            deleted += 1;
        }
        if deleted > 0 {
            self.set_log_start_offset(self.log_start_offset.max(self.segments[0].base_offset))?;
        }
        Ok(deleted)
    }

    fn set_log_start_offset(&mut self, offset: i64) -> Result<(), LogError> {
        self.log_start_offset = offset;
        match &self.dir {
            Some(dir) => write_small_file(&dir.join("log-start-offset"), &offset.to_string()),
            None => Ok(()),
        }
    }

    /// DeleteRecords: raises the log start offset to `offset` and deletes the segments
    /// entirely below it. Returns the new log start offset.
    ///
    /// # Errors
    /// [`LogError::OffsetOutOfRange`] for an offset past the log end.
    pub fn delete_records_before(&mut self, offset: i64, now_ms: i64) -> Result<i64, LogError> {
        if offset > self.log_end_offset() || offset < 0 {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: self.log_end_offset(),
            });
        }
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        if self.active().next_offset <= offset && self.active().size > 0 {
            self.roll(now_ms)?;
        }
        self.set_log_start_offset(offset)?;
        self.delete_oldest_while(|segment, _| segment.next_offset <= offset)?;
        Ok(self.log_start_offset)
    }

    /// Retention (when `cleanup.policy` includes `delete`): deletes segments whose newest record is older than `retention.ms`, then
    /// the oldest while the log is larger than `retention.bytes`. An expired active
    /// segment is rolled first so that it can go too. Returns how many were deleted.
    ///
    /// # Errors
    /// [`LogError::Io`] when a file cannot be deleted.
    pub fn enforce_retention(&mut self, now_ms: i64) -> Result<usize, LogError> {
        let mut deleted = 0;
        if !self.config.delete {
            return Ok(0);
        }
        if let Some(retention_ms) = self.config.retention_ms {
            let expired = |segment: &Segment| {
                segment.size > 0 && now_ms - segment.max_timestamp > retention_ms as i64
            };
            if expired(self.active()) {
                self.roll(now_ms)?;
            }
            deleted += self.delete_oldest_while(|segment, _| expired(segment))?;
        }
        if let Some(retention_bytes) = self.config.retention_bytes {
            deleted +=
                self.delete_oldest_while(|segment, total| total - segment.size >= retention_bytes)?;
        }
        Ok(deleted)
    }

    /// Rolls the active segment when it is older than `segment.ms` and not empty.
    pub fn roll_if_due(&mut self, now_ms: i64) -> Result<bool, LogError> {
        let active = self.active();
        if active.size > 0 && now_ms - active.created_ms >= self.config.segment_ms as i64 {
            self.roll(now_ms)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Truncates the log so that its end offset becomes `offset` (a follower after a
    /// leader change), at a batch boundary at or below `offset`.
    ///
    /// # Errors
    /// [`LogError::Io`] when files cannot be cut or removed.
    pub fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        while self.segments.len() > 1 && self.active().base_offset >= offset {
            let segment = self.segments.pop().expect("more than one segment");
            segment.delete_files()?;
        }
        let segment = self.segments.last_mut().expect("active segment");
        if segment.next_offset > offset {
            match segment.find_batch(offset)? {
                Some(header) if header.base_offset < offset => segment.truncate_to_position(
                    header.position + header.size as u64,
                    header.last_offset + 1,
                )?,
                Some(header) => segment.truncate_to_position(header.position, offset)?,
                None => {}
            }
        }
        let end = self.log_end_offset();
        self.producers.truncate(end);
        self.epochs.retain(|(_, start)| *start < end);
        self.write_epochs()?;
        self.flushed_offset = self.flushed_offset.min(end);
        self.log_start_offset = self.log_start_offset.min(end);
        Ok(())
    }

    /// The latest leader epoch that wrote to this log.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.last().map(|(epoch, _)| *epoch)
    }

    /// OffsetForLeaderEpoch (KIP-101): the largest epoch at or below `epoch` and the
    /// offset at which it ended (the next epoch's start, or the log end for the latest).
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        let slot = self.epochs.partition_point(|(e, _)| *e <= epoch);
        let (found, _) = *self.epochs.get(slot.checked_sub(1)?)?;
        let end = self
            .epochs
            .get(slot)
            .map_or(self.log_end_offset(), |(_, start)| *start);
        Some((found, end))
    }

    /// What to fsync for everything appended so far.
    pub fn flush_handle(&self) -> FlushHandle {
        let rolled = self.rolled_unsynced.iter().map(|(file, _)| file.clone());
        FlushHandle {
            files: rolled.chain(self.active().file()).collect(),
            end_offset: self.log_end_offset(),
        }
    }

    /// Records that everything below `offset` is durable; once rolled segments are, the
    /// recovery point moves past them.
    ///
    /// # Errors
    /// [`LogError::Io`] when the recovery point cannot be written.
    pub fn mark_flushed(&mut self, offset: i64, now_ms: i64) -> Result<(), LogError> {
        if offset > self.flushed_offset {
            self.flushed_offset = offset;
        }
        if self.flushed_offset >= self.log_end_offset() {
            self.unflushed_messages = 0;
        }
        self.last_flush_ms = now_ms;
        let synced_rolls = self
            .rolled_unsynced
            .iter()
            .filter(|(_, end)| *end <= offset);
        if let Some(recovery_point) = synced_rolls.map(|(_, end)| *end).max() {
            self.rolled_unsynced.retain(|(_, end)| *end > offset);
            if let Some(dir) = &self.dir {
                write_small_file(&dir.join("recovery-point"), &recovery_point.to_string())?;
            }
        }
        Ok(())
    }

    /// Everything below this offset has been fsynced (in memory: everything appended).
    pub fn flushed_offset(&self) -> i64 {
        self.flushed_offset
    }

    /// Whether an fsync is due now: a rolled segment awaits its fsync, or `flush.messages`
    /// or `flush.ms` calls for one.
    pub fn flush_due(&self, now_ms: i64) -> bool {
        if !self.rolled_unsynced.is_empty() {
            return true;
        }
        if self.flushed_offset >= self.log_end_offset() {
            return false;
        }
        self.config
            .flush_messages
            .is_some_and(|n| self.unflushed_messages >= n)
            || self
                .config
                .flush_ms
                .is_some_and(|ms| now_ms - self.last_flush_ms >= ms as i64)
    }

    /// Closes the log cleanly: fsyncs it, writes the indexes and the clean-shutdown
    /// marker, so the next open skips recovery. The log stays usable.
    ///
    /// # Errors
    /// [`LogError::Io`] on a write or fsync failure.
    pub fn close_clean(&mut self) -> Result<(), LogError> {
        let Some(dir) = self.dir.clone() else {
            return Ok(());
        };
        let handle = self.flush_handle();
        handle.sync().map_err(|e| io(&dir, e))?;
        self.flushed_offset = handle.end_offset;
        self.rolled_unsynced.clear();
        for segment in &self.segments {
            segment.write_indexes()?;
        }
        write_small_file(
            &dir.join("producer-snapshot"),
            &self.producers.to_snapshot(),
        )?;
        write_small_file(&dir.join("clean-shutdown"), "")
    }

    /// Deletes every file of the partition (DeleteTopics). The log is empty afterwards.
    ///
    /// # Errors
    /// [`LogError::Io`] when the directory cannot be removed.
    pub fn delete_files(&mut self) -> Result<(), LogError> {
        self.segments.truncate(1);
        if let Some(dir) = self.dir.take() {
            std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
