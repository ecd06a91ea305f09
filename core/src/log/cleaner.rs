//! Log compaction ("Log Compaction" in Kafka's documentation): for topics whose
//! `cleanup.policy` includes `compact`, the cleaner keeps at least the latest record of
//! every key and removes the older ones, and removes tombstones (null values) once they
//! are older than `delete.retention.ms`.
//!
//! A cleaning round has three steps, so that produce and fetch are blocked only briefly:
//! 1. [`PartitionLog::plan_cleaning`], under the partition's lock: chooses the cleanable
//!    segments and takes handles on them (cheap; no data is read from disk);
//! 2. [`CleaningPlan::run`], without any lock: reads those segments, maps every key of
//!    the dirty part to its latest offset and writes the cleaned segments to
//!    `<base offset>.log.cleaned` files (or to memory);
//! 3. [`PartitionLog::finish_cleaning`], under the lock: swaps each cleaned segment in,
//!    unless the segment it replaces changed meanwhile (retention, DeleteRecords or
//!    truncation), and advances the cleaner checkpoint.
//!
//! What is cleanable: the closed segments (never the active one) up to the first one
//! holding a record younger than `min.compaction.lag.ms`. The checkpoint (file
//! `cleaner-offset-checkpoint`) is the first offset not cleaned yet; the part of the
//! cleanable range from it on is dirty, and a round runs only when the dirty bytes are at
//! least `min.cleanable.dirty.ratio` of the cleanable bytes.
//!
//! What is kept, in every cleanable segment: a record iff it is the latest of its key
//! within the cleanable range, and, for a tombstone, only while `now - its timestamp <=
//! delete.retention.ms`. Records without a key are dropped. Control batches and
//! transactional batches are kept whole and do not count as newer versions of their
//! keys (an aborted value must not replace a committed one). A key whose latest record
//! is in the active segment (or another uncleanable one) keeps its latest cleanable copy
//! as well, as in Kafka, whose offset map covers only the cleanable range.
//!
//! Offsets never change: a kept batch keeps its base and last offsets (so reads skip the
//! gaps), producer id, epoch and base sequence, codec, timestamp type and leader epoch.
//! A batch with nothing left goes; a segment with nothing left goes too, except the
//! log's first segment, which keeps its last batch emptied of records (as Kafka does for
//! a producer's last batch): the log start offset must survive a reopen, and time
//! retention ignores empty segments.
//!
//! Crash safety: a `.cleaned` file is fsynced before it is renamed over its segment
//! (after the segment's index files are deleted, so stale indexes are never trusted), and
//! segments are swapped in offset order, so a tombstone is never removed before the older
//! values it hides. Leftover `.cleaned` files are deleted when the log is opened.

use super::segment::{corrupt, Segment, SegmentData};
use super::{io, read_number, write_small_file, LogError, PartitionLog};
use crate::protocol::compression::{Compression, SnappyFraming};
use crate::protocol::records::{
    Record, RecordBatch, RecordBatchBuilder, RecordBatchError, TimestampType, LOG_OVERHEAD,
};
use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file, in the partition directory, holding the first offset not cleaned yet.
const CHECKPOINT_FILE: &str = "cleaner-offset-checkpoint";
/// The extension of a cleaned segment before it is swapped in: `<base>.log.cleaned`.
const CLEANED_EXTENSION: &str = "cleaned";
/// How much of a segment file the cleaner reads at once (bytes).
const READ_CHUNK: usize = 1 << 20;
/// The start of a snappy records section in xerial framing (snappy-java's), as opposed
/// to one raw block; a rebuilt batch keeps the framing of the original.
const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\0";

/// Where the cleaner reads a closed segment from while it holds no lock.
enum SegmentSource {
    /// A handle on the segment file: closed segments are never written again, and a
    /// deleted one stays readable through it.
    File(Arc<File>),
    /// A copy of a memory segment.
    Memory(Bytes),
}

/// What a segment looked like when it was planned; it is swapped only if it still does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SegmentShape {
    base_offset: i64,
    size: u64,
    next_offset: i64,
    max_timestamp: i64,
}

impl SegmentShape {
    fn of(segment: &Segment) -> Self {
        SegmentShape {
            base_offset: segment.base_offset,
            size: segment.size,
            next_offset: segment.next_offset,
            max_timestamp: segment.max_timestamp,
        }
    }
}

/// One cleanable segment of a plan.
struct PlannedSegment {
    shape: SegmentShape,
    source: SegmentSource,
    /// The segment file, or "(memory)": for errors and for the `.cleaned` file's name.
    path: PathBuf,
}

/// A cleaning round chosen by [`PartitionLog::plan_cleaning`], to be run without the
/// log's lock by [`CleaningPlan::run`].
pub struct CleaningPlan {
    /// The cleanable segments, in offset order.
    segments: Vec<PlannedSegment>,
    /// The cleaner checkpoint: records from this offset on are dirty.
    dirty_from: i64,
    /// The base offset of the first segment not cleaned (the new checkpoint).
    first_uncleanable: i64,
    on_disk: bool,
    now_ms: i64,
    delete_retention_ms: u64,
    index_interval_bytes: u32,
}

/// Cleaned segments written by [`CleaningPlan::run`], to be swapped in by
/// [`PartitionLog::finish_cleaning`]. Dropping it instead deletes their `.cleaned`
/// files.
pub struct CleanedSegments {
    segments: Vec<CleanedSegment>,
    first_uncleanable: i64,
}

/// The replacement of one segment from which cleaning removed something.
struct CleanedSegment {
    original: SegmentShape,
    replacement: Segment,
    /// The `.cleaned` file, deleted unless it is swapped in.
    temporary: TemporaryFile,
    /// Nothing is kept: the replacement holds only the segment's last batch, emptied,
    /// for the case that the segment is the log's first (which may not disappear).
    nothing_kept: bool,
    records_removed: u64,
}

/// Deletes a file when dropped unless [`TemporaryFile::keep`] was called.
struct TemporaryFile(Option<PathBuf>);

impl TemporaryFile {
    fn keep(&mut self) {
        self.0 = None;
    }
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            if let Err(e) = remove_if_present(&path) {
                tracing::warn!(error = %e, "cannot delete a cleaned segment that was not used");
            }
        }
    }
}

/// What a cleaning round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CleanStats {
    /// Segments replaced by a cleaned copy or removed (those from which something was
    /// removed and that had not changed meanwhile).
    pub segments_cleaned: usize,
    /// Of those, segments removed because nothing in them was kept.
    pub segments_removed: usize,
    /// Size of the cleaned segments before cleaning (bytes).
    pub bytes_before: u64,
    /// Size of the cleaned segments after cleaning (bytes; 0 for removed ones).
    pub bytes_after: u64,
    /// Records removed from the cleaned segments.
    pub records_removed: u64,
}

/// Deletes the `.cleaned` files a crash left in a partition directory; the segments
/// they were to replace are intact. Called when the log is opened.
///
/// # Errors
/// [`LogError::Io`] when the directory cannot be read or a file deleted.
pub(super) fn remove_leftover_files(dir: &Path) -> Result<(), LogError> {
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == CLEANED_EXTENSION) {
            tracing::info!(path = %path.display(), "deleting an unfinished cleaned segment");
            std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
        }
    }
    Ok(())
}

impl PartitionLog {
    /// The first offset the cleaner has not cleaned yet, at least the log start offset.
    /// Memory logs have nowhere to keep it, so for them the whole log counts as dirty.
    fn cleaner_checkpoint(&self) -> i64 {
        self.dir
            .as_deref()
            .and_then(|dir| read_number(&dir.join(CHECKPOINT_FILE)))
            .unwrap_or(0)
            .max(self.log_start_offset)
    }

    /// Step 1 of a cleaning round, to call under the partition's lock: chooses what to
    /// clean and takes handles on it (memory segments are copied). `now_ms` (ms since
    /// the epoch) decides which segments `min.compaction.lag.ms` protects and, later,
    /// which tombstones have expired.
    ///
    /// `None` when there is nothing to do: `cleanup.policy` lacks `compact`, no closed
    /// segment is old enough, nothing is dirty, or the dirty ratio is below
    /// `min.cleanable.dirty.ratio`. Run one round at a time per partition: rounds share
    /// the `.cleaned` file names.
    pub fn plan_cleaning(&self, now_ms: i64) -> Option<CleaningPlan> {
        if !self.config.compact {
            return None;
        }
        let closed = &self.segments[..self.segments.len() - 1];
        let lag_ms = self.config.min_compaction_lag_ms as i64;
        let too_young = |segment: &Segment| {
            lag_ms > 0 && segment.size > 0 && now_ms.saturating_sub(segment.max_timestamp) < lag_ms
        };
        let cleanable_count = closed.iter().position(too_young).unwrap_or(closed.len());
        let cleanable = &closed[..cleanable_count];
        let first_uncleanable = self.segments[cleanable_count].base_offset;
        let dirty_from = self.cleaner_checkpoint().min(first_uncleanable);
        let total_bytes: u64 = cleanable.iter().map(|s| s.size).sum();
        let dirty_bytes: u64 = cleanable
            .iter()
            .filter(|s| s.next_offset > dirty_from)
            .map(|s| s.size)
            .sum();
        if dirty_bytes == 0
            || (dirty_bytes as f64) < self.config.min_cleanable_dirty_ratio * total_bytes as f64
        {
            return None;
        }
        let segments = cleanable
            .iter()
            .map(|segment| {
                let (source, path) = match &segment.data {
                    SegmentData::File { file, path } => {
                        (SegmentSource::File(file.clone()), path.clone())
                    }
                    SegmentData::Memory(_) => (
                        SegmentSource::Memory(segment.read(0, segment.size as usize).ok()?),
                        PathBuf::from("(memory)"),
                    ),
                };
                Some(PlannedSegment {
                    shape: SegmentShape::of(segment),
                    source,
                    path,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(CleaningPlan {
            segments,
            dirty_from,
            first_uncleanable,
            on_disk: self.dir.is_some(),
            now_ms,
            delete_retention_ms: self.config.delete_retention_ms,
            index_interval_bytes: self.config.index_interval_bytes,
        })
    }

    /// Step 3 of a cleaning round, to call under the partition's lock: swaps in each
    /// cleaned segment whose original is still there unchanged (others are discarded),
    /// in offset order, and advances the cleaner checkpoint. Offsets, the log start
    /// offset and the log end offset do not change.
    ///
    /// # Errors
    /// [`LogError::Io`] when a file cannot be renamed, deleted or written; segments
    /// swapped before the failure stay swapped, the log stays consistent.
    pub fn finish_cleaning(&mut self, cleaned: CleanedSegments) -> Result<CleanStats, LogError> {
        let mut stats = CleanStats::default();
        for mut segment in cleaned.segments {
            let original = segment.original;
            let Some(index) = self
                .segments
                .iter()
                .position(|s| s.base_offset == original.base_offset)
            else {
                continue;
            };
            let is_active = index + 1 == self.segments.len();
            if is_active || SegmentShape::of(&self.segments[index]) != original {
                continue;
            }
            stats.segments_cleaned += 1;
            stats.bytes_before += original.size;
            stats.records_removed += segment.records_removed;
            if segment.nothing_kept && index > 0 {
                self.segments.remove(index).delete_files()?;
                stats.segments_removed += 1;
                continue;
            }
            stats.bytes_after += segment.replacement.size;
            if let (SegmentData::File { path, .. }, Some(temporary)) =
                (&self.segments[index].data, segment.temporary.0.as_deref())
            {
                let path = path.clone();
                // Stale indexes must never describe the new file, even after a crash.
                for extension in ["index", "timeindex"] {
                    remove_if_present(&path.with_extension(extension))?;
                }
                std::fs::rename(temporary, &path).map_err(|e| io(&path, e))?;
                segment.temporary.keep();
                if let SegmentData::File { file, .. } = &segment.replacement.data {
                    segment.replacement.data = SegmentData::File {
                        file: file.clone(),
                        path,
                    };
                }
            }
            self.segments[index] = segment.replacement;
            self.segments[index].write_indexes()?;
        }
        if let Some(dir) = self.dir.clone() {
            if stats.segments_cleaned > 0 {
                // Makes the renames and deletions durable before the checkpoint moves.
                File::open(&dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| io(&dir, e))?;
            }
            let checkpoint = cleaned
                .first_uncleanable
                .max(self.cleaner_checkpoint())
                .min(self.log_end_offset());
            write_small_file(&dir.join(CHECKPOINT_FILE), &checkpoint.to_string())?;
        }
        Ok(stats)
    }

    /// A whole cleaning round at once: plan, run and finish, holding `&mut self`
    /// throughout (tests, tools; a broker runs the steps separately). `None` when there
    /// was nothing to do (see [`PartitionLog::plan_cleaning`]).
    ///
    /// # Errors
    /// As [`CleaningPlan::run`] and [`PartitionLog::finish_cleaning`].
    pub fn clean(&mut self, now_ms: i64) -> Result<Option<CleanStats>, LogError> {
        let Some(plan) = self.plan_cleaning(now_ms) else {
            return Ok(None);
        };
        let cleaned = plan.run()?;
        self.finish_cleaning(cleaned).map(Some)
    }
}

fn remove_if_present(path: &Path) -> Result<(), LogError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path, e)),
        _ => Ok(()),
    }
}

impl CleaningPlan {
    /// Step 2 of a cleaning round, to call without any lock (it reads and writes whole
    /// segments): maps each key of the dirty range to its latest offset, then rewrites
    /// every planned segment from which something is to be removed into a `.cleaned`
    /// file (fsynced) or a memory segment. Segments that lose nothing are left alone.
    ///
    /// # Errors
    /// [`LogError::Corrupt`] for a batch that fails its CRC or cannot be decoded;
    /// [`LogError::Io`] on a read or write failure. Files written so far are deleted.
    pub fn run(self) -> Result<CleanedSegments, LogError> {
        let latest = self.map_latest_offsets()?;
        let mut segments = Vec::new();
        for planned in &self.segments {
            if let Some(cleaned) = self.clean_segment(planned, &latest)? {
                segments.push(cleaned);
            }
        }
        Ok(CleanedSegments {
            segments,
            first_uncleanable: self.first_uncleanable,
        })
    }

    /// Key -> offset of its latest record in the dirty part of the cleanable range.
    /// Control and transactional batches are left out (see the module documentation).
    fn map_latest_offsets(&self) -> Result<HashMap<Vec<u8>, i64>, LogError> {
        let mut latest: HashMap<Vec<u8>, i64> = HashMap::new();
        let dirty = self
            .segments
            .iter()
            .filter(|s| s.shape.next_offset > self.dirty_from);
        for planned in dirty {
            for batch in BatchReader::new(planned) {
                let batch = batch?;
                if batch.is_control()
                    || batch.is_transactional()
                    || batch.last_offset() < self.dirty_from
                {
                    continue;
                }
                for record in batch.records().map_err(|e| corrupt(&planned.path, e))? {
                    let record = record.map_err(|e| corrupt(&planned.path, e))?;
                    let Some(key) = record.key.filter(|_| record.offset >= self.dirty_from) else {
                        continue;
                    };
                    match latest.get_mut(&key[..]) {
                        Some(offset) => *offset = record.offset,
                        None => {
                            latest.insert(key.to_vec(), record.offset);
                        }
                    }
                }
            }
        }
        Ok(latest)
    }

    /// Whether cleaning keeps `record`.
    fn keeps(&self, record: &Record, latest: &HashMap<Vec<u8>, i64>) -> bool {
        let Some(key) = &record.key else {
            return false;
        };
        if latest
            .get(&key[..])
            .is_some_and(|&newest| record.offset < newest)
        {
            return false;
        }
        record.value.is_some()
            || self.now_ms.saturating_sub(record.timestamp) <= self.delete_retention_ms as i64
    }

    /// Rewrites one segment; `None` when nothing in it is to be removed.
    fn clean_segment(
        &self,
        planned: &PlannedSegment,
        latest: &HashMap<Vec<u8>, i64>,
    ) -> Result<Option<CleanedSegment>, LogError> {
        let base_offset = planned.shape.base_offset;
        let (mut replacement, temporary) = if self.on_disk {
            let path = planned
                .path
                .with_extension(format!("log.{CLEANED_EXTENSION}"));
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .map_err(|e| io(&path, e))?;
            let temporary = TemporaryFile(Some(path.clone()));
            let (segment, _) = Segment::open(
                &path,
                base_offset,
                self.index_interval_bytes,
                false,
                self.now_ms,
            )?;
            (segment, temporary)
        } else {
            let segment = Segment::create(None, base_offset, self.now_ms)?;
            (segment, TemporaryFile(None))
        };
        let mut records_removed = 0u64;
        let mut last_dropped = None;
        for batch in BatchReader::new(planned) {
            let batch = batch?;
            let kept = if batch.is_control() || batch.is_transactional() {
                Some(batch.as_bytes().clone())
            } else {
                let records = batch
                    .records()
                    .map_err(|e| corrupt(&planned.path, e))?
                    .collect::<Result<Vec<Record>, _>>()
                    .map_err(|e| corrupt(&planned.path, e))?;
                let total = records.len();
                let kept: Vec<Record> = records
                    .into_iter()
                    .filter(|r| self.keeps(r, latest))
                    .collect();
                records_removed += (total - kept.len()) as u64;
                if kept.len() == total {
                    Some(batch.as_bytes().clone())
                } else if kept.is_empty() {
                    None
                } else {
                    Some(rebuild(&batch, &kept).map_err(|e| corrupt(&planned.path, e))?)
                }
            };
            match kept {
                Some(bytes) => append(&mut replacement, bytes, self.index_interval_bytes)?,
                None => last_dropped = Some(batch),
            }
        }
        if records_removed == 0 {
            return Ok(None);
        }
        let nothing_kept = replacement.size == 0;
        if let Some(batch) = last_dropped.filter(|_| nothing_kept) {
            let empty = emptied(&batch).map_err(|e| corrupt(&planned.path, e))?;
            append(&mut replacement, empty, self.index_interval_bytes)?;
        }
        if let (Some(file), Some(path)) = (replacement.file(), temporary.0.as_deref()) {
            file.sync_data().map_err(|e| io(path, e))?;
        }
        Ok(Some(CleanedSegment {
            original: planned.shape,
            replacement,
            temporary,
            nothing_kept,
            records_removed,
        }))
    }
}

/// Appends a whole batch whose header is final to `segment`.
fn append(segment: &mut Segment, bytes: Bytes, index_interval_bytes: u32) -> Result<(), LogError> {
    let batch = RecordBatch::parse(bytes).map_err(|e| corrupt(Path::new("(cleaned)"), e))?;
    segment.append(
        batch.as_bytes(),
        batch.base_offset(),
        batch.last_offset(),
        batch.max_timestamp(),
        index_interval_bytes,
    )
}

/// A builder with every header field of `batch` that cleaning keeps: base and last
/// offset, leader epoch, producer id, epoch and base sequence, codec (and snappy
/// framing) and timestamp type.
fn builder_like(batch: &RecordBatch) -> Result<RecordBatchBuilder, RecordBatchError> {
    let compression = batch.compression()?;
    let mut builder = RecordBatchBuilder::new(compression)
        .with_base_offset(batch.base_offset())
        .with_partition_leader_epoch(batch.partition_leader_epoch())
        .with_producer(
            batch.producer_id(),
            batch.producer_epoch(),
            batch.base_sequence(),
        )
        .with_last_offset_delta(batch.last_offset_delta());
    if compression == Compression::Snappy && !batch.records_data().starts_with(XERIAL_MAGIC) {
        builder = builder.with_snappy_framing(SnappyFraming::Raw);
    }
    if batch.timestamp_type() == TimestampType::LogAppendTime {
        builder = builder.with_log_append_time(batch.max_timestamp());
    }
    Ok(builder)
}

/// `batch` with only the `kept` records (a non-empty subset of its own), at their
/// offsets.
fn rebuild(batch: &RecordBatch, kept: &[Record]) -> Result<Bytes, RecordBatchError> {
    let mut builder = builder_like(batch)?;
    for record in kept {
        // A record's offset delta fits in i32: it came from this batch.
        builder.append_record_at((record.offset - batch.base_offset()) as i32, record)?;
    }
    builder.build()
}

/// `batch` with no records left, covering the same offsets.
fn emptied(batch: &RecordBatch) -> Result<Bytes, RecordBatchError> {
    builder_like(batch)?.build_empty(batch.max_timestamp())
}

/// Reads the batches of a planned segment in order, checking each one's CRC.
struct BatchReader<'a> {
    planned: &'a PlannedSegment,
    /// Bytes read and not yet returned; they start at `position` in the segment.
    buffer: Bytes,
    position: u64,
    failed: bool,
}

impl<'a> BatchReader<'a> {
    fn new(planned: &'a PlannedSegment) -> Self {
        let buffer = match &planned.source {
            SegmentSource::File(_) => Bytes::new(),
            SegmentSource::Memory(bytes) => bytes.clone(),
        };
        BatchReader {
            planned,
            buffer,
            position: 0,
            failed: false,
        }
    }

    fn corrupt(&self, reason: String) -> LogError {
        LogError::Corrupt {
            path: self.planned.path.clone(),
            reason,
        }
    }

    /// Makes the buffer hold at least `needed` bytes, reading from the file if needed.
    fn fill(&mut self, needed: usize) -> Result<(), LogError> {
        if self.buffer.len() >= needed {
            return Ok(());
        }
        let loaded_end = self.position + self.buffer.len() as u64;
        let left = self.planned.shape.size - loaded_end;
        let want = (needed - self.buffer.len())
            .max(READ_CHUNK)
            .min(left as usize);
        if self.buffer.len() + want < needed {
            return Err(self.corrupt(format!(
                "a batch of {needed} bytes at position {} runs past the segment's end",
                self.position
            )));
        }
        let SegmentSource::File(file) = &self.planned.source else {
            unreachable!("a memory segment is buffered whole");
        };
        let mut more = BytesMut::with_capacity(self.buffer.len() + want);
        more.extend_from_slice(&self.buffer);
        more.resize(self.buffer.len() + want, 0);
        file.read_exact_at(&mut more[self.buffer.len()..], loaded_end)
            .map_err(|e| io(&self.planned.path, e))?;
        self.buffer = more.freeze();
        Ok(())
    }

    fn next_batch(&mut self) -> Result<RecordBatch, LogError> {
        self.fill(LOG_OVERHEAD)?;
        let length = i32::from_be_bytes(self.buffer[8..12].try_into().expect("4 bytes"));
        let size = usize::try_from(length)
            .map_err(|_| self.corrupt(format!("batch length {length}")))?
            + LOG_OVERHEAD;
        self.fill(size)?;
        let bytes = self.buffer.split_to(size);
        self.position += size as u64;
        let batch = RecordBatch::parse(bytes).map_err(|e| corrupt(&self.planned.path, e))?;
        batch
            .verify_crc()
            .map_err(|e| corrupt(&self.planned.path, e))?;
        Ok(batch)
    }
}

impl Iterator for BatchReader<'_> {
    type Item = Result<RecordBatch, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.position >= self.planned.shape.size {
            return None;
        }
        let batch = self.next_batch();
        self.failed = batch.is_err();
        Some(batch)
    }
}

#[cfg(test)]
#[path = "cleaner_tests.rs"]
mod tests;
