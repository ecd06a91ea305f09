use super::super::segment::file_stem;
use super::super::{LogConfig, PartitionLog, Storage};
use super::*;
use crate::protocol::compression::Compression;
use crate::protocol::records::{RecordBatchBuilder, RecordBatches};

struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "tidelog-cleaner-{label}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn both_storages(label: &str) -> Vec<(Storage, Option<TempDir>)> {
    let dir = TempDir::new(label);
    vec![
        (Storage::Memory, None),
        (Storage::Disk(dir.0.clone()), Some(dir)),
    ]
}

const DELETE_RETENTION_MS: i64 = 100_000;

/// Small segments, compaction only, no time limits unless a test sets them.
fn compacted_config() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 512,
        retention_ms: None,
        compact: true,
        delete: false,
        delete_retention_ms: DELETE_RETENTION_MS as u64,
        min_compaction_lag_ms: 0,
        min_cleanable_dirty_ratio: 0.5,
        ..LogConfig::default()
    }
}

/// A record as produced or read back; `value: None` is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    offset: i64,
    key: String,
    value: Option<String>,
    timestamp: i64,
}

/// What to produce: key, value (None = tombstone), timestamp in ms.
type Wanted = (String, Option<String>, i64);

fn put(key: &str, value: &str, timestamp: i64) -> Wanted {
    (key.to_string(), Some(value.to_string()), timestamp)
}

fn tombstone(key: &str, timestamp: i64) -> Wanted {
    (key.to_string(), None, timestamp)
}

/// Codecs cycled over the batches produced.
const CODECS: [Compression; 4] = [
    Compression::None,
    Compression::Gzip,
    Compression::Zstd,
    Compression::None,
];

/// Appends `records` in batches of `per_batch` records, cycling the codecs, and returns
/// them with the offsets they got.
fn produce(log: &mut PartitionLog, records: &[Wanted], per_batch: usize) -> Vec<Entry> {
    let mut produced = Vec::new();
    for chunk in records.chunks(per_batch) {
        let first = log.log_end_offset();
        let codec = CODECS[(first as usize / per_batch) % CODECS.len()];
        let mut builder = RecordBatchBuilder::new(codec);
        for (key, value, timestamp) in chunk {
            builder
                .append(
                    *timestamp,
                    Some(key.as_bytes()),
                    value.as_deref().map(str::as_bytes),
                    &[],
                )
                .unwrap();
        }
        log.append(&builder.build().unwrap(), 0, None, 0).unwrap();
        for (i, (key, value, timestamp)) in chunk.iter().enumerate() {
            produced.push(Entry {
                offset: first + i as i64,
                key: key.clone(),
                value: value.clone(),
                timestamp: *timestamp,
            });
        }
    }
    produced
}

/// `versions` rounds over keys 0..keys: "key-<k>" = "value-<k>-<round>", timestamps
/// from `first_timestamp` on, one ms apart.
fn versions(keys: usize, versions: usize, first_timestamp: i64) -> Vec<Wanted> {
    (0..versions)
        .flat_map(|round| (0..keys).map(move |k| (round, k)))
        .enumerate()
        .map(|(i, (round, k))| {
            put(
                &format!("key-{k:04}"),
                &format!("value-{k}-{round}"),
                first_timestamp + i as i64,
            )
        })
        .collect()
}

fn entry_of(record: Record) -> Entry {
    let text = |bytes: Bytes| String::from_utf8(bytes.to_vec()).unwrap();
    Entry {
        offset: record.offset,
        key: text(record.key.expect("a compacted topic's records have keys")),
        value: record.value.map(text),
        timestamp: record.timestamp,
    }
}

/// Every record from `from` to the log end, reading batch by batch as a consumer does
/// (continuing after each batch's last offset, so gaps and empty batches are skipped);
/// checks CRCs and that offsets strictly increase. A gap left at the end of the closed
/// segments yields nothing until the active segment has records, as in Kafka.
fn read_from(log: &PartitionLog, from: i64) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut offset = from;
    while offset < log.log_end_offset() {
        let read = log.read(offset, 1 << 16, i64::MAX, true).unwrap();
        if read.records.is_empty() {
            // Only a gap is left before the (empty) active segment.
            assert_eq!(log.segments.last().unwrap().size, 0, "stuck at {offset}");
            break;
        }
        for batch in RecordBatches::strict(read.records) {
            let batch = batch.unwrap();
            batch.verify_crc().unwrap();
            assert!(batch.last_offset() >= offset, "a batch before {offset}");
            for record in batch.records().unwrap() {
                let entry = entry_of(record.unwrap());
                if entry.offset >= offset {
                    entries.push(entry);
                }
            }
            offset = batch.next_offset();
        }
    }
    assert!(
        entries.windows(2).all(|w| w[0].offset < w[1].offset),
        "offsets must strictly increase"
    );
    entries
}

fn read_all(log: &PartitionLog) -> Vec<Entry> {
    read_from(log, log.log_start_offset())
}

/// What cleaning should leave of `produced` when the cleanable range ends at
/// `cleanable_end` at time `now_ms`: the latest record of each key within the range
/// (tombstones only while not older than delete.retention.ms), and everything after it.
fn compacted(produced: &[Entry], cleanable_end: i64, now_ms: i64) -> Vec<Entry> {
    let mut latest = HashMap::new();
    for entry in produced.iter().filter(|e| e.offset < cleanable_end) {
        latest.insert(entry.key.clone(), entry.offset);
    }
    produced
        .iter()
        .filter(|e| {
            e.offset >= cleanable_end
                || (latest[&e.key] == e.offset
                    && (e.value.is_some() || now_ms - e.timestamp <= DELETE_RETENTION_MS))
        })
        .cloned()
        .collect()
}

fn active_base(log: &PartitionLog) -> i64 {
    log.segments.last().unwrap().base_offset
}

/// Closes the active segment (through `segment.ms`), so that everything is cleanable.
fn roll(log: &mut PartitionLog) {
    let now = log.segments.last().unwrap().created_ms + log.config().segment_ms as i64;
    assert!(log.roll_if_due(now).unwrap());
}

fn cleaned_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == CLEANED_EXTENSION))
        .collect()
}

#[test]
fn cleaning_everything_leaves_exactly_the_latest_value_of_every_key() {
    for (storage, dir) in both_storages("latest") {
        let mut log = PartitionLog::open(storage, compacted_config(), 0).unwrap();
        let produced = produce(&mut log, &versions(1000, 10, 1_000), 25);
        roll(&mut log);
        let segments = log.segment_count();
        let size = log.size_in_bytes();
        assert!(segments > 20, "tiny segments must roll: {segments}");

        let stats = log.clean(50_000).unwrap().expect("everything is dirty");

        let got = read_all(&log);
        assert_eq!(got.len(), 1000);
        let latest: Vec<Entry> = produced[9000..].to_vec();
        assert_eq!(got, latest, "the last round, at its own offsets");
        assert_eq!(log.log_end_offset(), 10_000);
        assert_eq!(log.log_start_offset(), 0);
        assert_eq!(stats.records_removed, 9000);
        assert!(stats.segments_removed > 0 && log.segment_count() < segments);
        assert_eq!(
            size - log.size_in_bytes(),
            stats.bytes_before - stats.bytes_after
        );
        assert!(log.size_in_bytes() < size / 5);
        if let Some(dir) = dir {
            assert!(cleaned_files(&dir.0).is_empty());
            assert_eq!(
                read_number(&dir.0.join(CHECKPOINT_FILE)),
                Some(active_base(&log))
            );
        }
    }
}

#[test]
fn a_key_whose_latest_record_is_in_the_active_segment_keeps_its_latest_cleanable_copy() {
    for (storage, _dir) in both_storages("active") {
        let mut log = PartitionLog::open(storage, compacted_config(), 0).unwrap();
        let produced = produce(&mut log, &versions(1000, 10, 1_000), 25);
        let end = active_base(&log);
        let in_active = produced.iter().filter(|e| e.offset >= end).count();
        assert!(
            in_active > 0,
            "the active segment holds some of the last round"
        );
        let active_size = log.segments.last().unwrap().size;

        log.clean(50_000).unwrap().expect("dirty");

        let got = read_all(&log);
        assert_eq!(got, compacted(&produced, end, 50_000));
        assert_eq!(got.len(), 1000 + in_active, "two copies of the active keys");
        let key = &produced.last().unwrap().key;
        let copies: Vec<&Entry> = got.iter().filter(|e| &e.key == key).collect();
        assert_eq!(copies.len(), 2);
        assert!(copies[0].offset < end && copies[1].offset >= end);
        assert_eq!(log.segments.last().unwrap().size, active_size);
        assert_eq!(log.log_end_offset(), 10_000);
    }
}

#[test]
fn tombstones_stay_for_delete_retention_and_then_disappear_with_their_key() {
    for (storage, dir) in both_storages("tombstones") {
        let config = LogConfig {
            min_cleanable_dirty_ratio: 0.1,
            ..compacted_config()
        };
        let mut log = PartitionLog::open(storage, config.clone(), 0).unwrap();
        let mut produced = produce(&mut log, &versions(100, 3, 1_000), 10);
        let deleted_at = 10_000;
        let tombstones: Vec<Wanted> = (0..100)
            .step_by(2)
            .map(|k| tombstone(&format!("key-{k:04}"), deleted_at))
            .collect();
        produced.extend(produce(&mut log, &tombstones, 10));
        roll(&mut log);

        // Not yet expired: tombstones stay, the values they delete go.
        let now = deleted_at + DELETE_RETENTION_MS;
        log.clean(now).unwrap().expect("dirty");
        let got = read_all(&log);
        assert_eq!(got, compacted(&produced, log.log_end_offset(), now));
        assert_eq!(got.len(), 100);
        assert_eq!(got.iter().filter(|e| e.value.is_none()).count(), 50);

        // Other keys make the log dirty again; by then the tombstones have expired.
        let others: Vec<Wanted> = (0..100)
            .map(|k| put(&format!("other-{k}"), "v", 200_000))
            .collect();
        produced.extend(produce(&mut log, &others, 10));
        roll(&mut log);
        let now = deleted_at + DELETE_RETENTION_MS + 1;
        log.clean(now).unwrap().expect("dirty again");
        let got = read_all(&log);
        assert_eq!(got, compacted(&produced, log.log_end_offset(), now));
        assert!(got.iter().all(|e| e.value.is_some()));
        assert_eq!(got.len(), 150, "the odd keys and the others");
        if let Some(dir) = dir {
            // The same records after a crash (no clean shutdown).
            drop(log);
            let log = PartitionLog::open(Storage::Disk(dir.0.clone()), config, 0).unwrap();
            assert_eq!(read_all(&log), got);
        }
    }
}

#[test]
fn tombstones_alone_in_the_dirty_range_expire_too() {
    let mut log = PartitionLog::open(Storage::Memory, compacted_config(), 0).unwrap();
    let mut produced = produce(&mut log, &[put("a", "1", 5), put("b", "1", 5)], 2);
    produced.extend(produce(&mut log, &[tombstone("a", 10)], 1));
    roll(&mut log);
    let now = 10 + DELETE_RETENTION_MS + 1;
    log.clean(now).unwrap().expect("dirty");
    assert_eq!(read_all(&log), vec![produced[1].clone()]);
    assert_eq!(log.log_end_offset(), 3);
}

#[test]
fn min_compaction_lag_protects_young_segments_and_everything_after_them() {
    for (storage, _dir) in both_storages("lag") {
        let config = LogConfig {
            min_compaction_lag_ms: 5_000,
            ..compacted_config()
        };
        let mut log = PartitionLog::open(storage, config, 0).unwrap();
        // 10 records per ms: 10 rounds of 1000 keys span 1 s of timestamps.
        let records: Vec<Wanted> = versions(1000, 10, 0)
            .into_iter()
            .enumerate()
            .map(|(i, (key, value, _))| (key, value, i as i64 / 10))
            .collect();
        let produced = produce(&mut log, &records, 25);
        roll(&mut log);
        let now = 5_500;
        let first_young = log
            .segments
            .iter()
            .find(|s| now - s.max_timestamp < 5_000)
            .unwrap()
            .base_offset;
        assert!(first_young > 0 && first_young < 9_000);
        let young: Vec<Entry> = read_from(&log, first_young);

        log.clean(now).unwrap().expect("dirty");

        let got = read_all(&log);
        assert_eq!(got, compacted(&produced, first_young, now));
        assert_eq!(read_from(&log, first_young), young, "young part untouched");
        // Much later everything is old enough.
        log.clean(now + 10_000)
            .unwrap()
            .expect("the young part is dirty");
        assert_eq!(read_all(&log), produced[9000..].to_vec());
    }
}

#[test]
fn a_dirty_ratio_below_the_minimum_skips_the_round() {
    let dir = TempDir::new("ratio");
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), compacted_config(), 0).unwrap();
    let mut produced = produce(&mut log, &versions(1000, 3, 1_000), 25);
    roll(&mut log);
    log.clean(50_000).unwrap().expect("all dirty");
    let clean_bytes = log.size_in_bytes();
    assert!(log.clean(50_000).unwrap().is_none(), "nothing dirty");

    // A little new data: well below half of the cleanable bytes.
    produced.extend(produce(&mut log, &versions(100, 1, 60_000), 25));
    roll(&mut log);
    let dirty = log.size_in_bytes() - clean_bytes;
    assert!(dirty * 2 < log.size_in_bytes());
    let before = read_all(&log);
    assert!(log.clean(70_000).unwrap().is_none());
    assert_eq!(read_all(&log), before);
    // A lower minimum lets it run.
    log.set_config(LogConfig {
        min_cleanable_dirty_ratio: 0.01,
        ..compacted_config()
    });
    let stats = log.clean(70_000).unwrap().expect("above 1 %");
    assert_eq!(stats.records_removed, 100);
    assert_eq!(
        read_all(&log),
        compacted(&produced, log.log_end_offset(), 70_000)
    );
    // The checkpoint survives a reopen.
    drop(log);
    let log = PartitionLog::open(Storage::Disk(dir.0.clone()), compacted_config(), 0).unwrap();
    assert!(log.plan_cleaning(80_000).is_none());
}

#[test]
fn memory_logs_count_everything_as_dirty() {
    let mut log = PartitionLog::open(Storage::Memory, compacted_config(), 0).unwrap();
    produce(&mut log, &versions(100, 3, 1_000), 25);
    roll(&mut log);
    assert!(log.clean(50_000).unwrap().is_some());
    let stats = log.clean(50_000).unwrap().expect("no checkpoint in memory");
    assert_eq!(stats, CleanStats::default(), "nothing left to remove");
}

#[test]
fn only_compacted_topics_are_cleaned() {
    let config = LogConfig {
        compact: false,
        delete: true,
        ..compacted_config()
    };
    let mut log = PartitionLog::open(Storage::Memory, config, 0).unwrap();
    produce(&mut log, &versions(100, 3, 1_000), 25);
    roll(&mut log);
    assert!(log.plan_cleaning(50_000).is_none());
    assert!(log.clean(50_000).unwrap().is_none());
}

#[test]
fn a_reopened_log_reads_the_cleaned_records() {
    let dir = TempDir::new("reopen");
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), compacted_config(), 0).unwrap();
    let produced = produce(&mut log, &versions(500, 4, 1_000), 20);
    let end = active_base(&log);
    log.clean(50_000).unwrap().expect("dirty");
    let cleaned = read_all(&log);
    assert_eq!(cleaned, compacted(&produced, end, 50_000));
    let segments = log.segment_count();

    // After a crash: recovery walks the segments.
    drop(log);
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), compacted_config(), 0).unwrap();
    assert_eq!(read_all(&log), cleaned);
    assert_eq!(log.segment_count(), segments);
    assert_eq!(log.log_end_offset(), 2000);

    // After a clean shutdown: the index files written at the swap are trusted.
    log.close_clean().unwrap();
    drop(log);
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), compacted_config(), 0).unwrap();
    assert_eq!(read_all(&log), cleaned);
    for offset in (0..2000).step_by(37) {
        let expected = cleaned.iter().find(|e| e.offset >= offset);
        assert_eq!(read_from(&log, offset).first(), expected, "offset {offset}");
    }
    // And it goes on: appends and another round.
    let mut all = produced;
    all.extend(produce(&mut log, &versions(500, 1, 90_000), 20));
    roll(&mut log);
    log.clean(100_000).unwrap().expect("dirty");
    assert_eq!(read_all(&log), all[2000..].to_vec());
}

#[test]
fn a_leftover_cleaned_file_is_removed_on_open_and_the_old_segment_is_used() {
    let dir = TempDir::new("leftover");
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), compacted_config(), 0).unwrap();
    let produced = produce(&mut log, &versions(300, 3, 1_000), 20);
    let cleaned = log.plan_cleaning(50_000).unwrap().run().unwrap();
    let leftovers = cleaned_files(&dir.0);
    assert!(!leftovers.is_empty());
    // A crash between run and finish: the `.cleaned` files stay behind.
    std::mem::forget(cleaned);
    drop(log);
    let log = PartitionLog::open(Storage::Disk(dir.0.clone()), compacted_config(), 0).unwrap();
    assert!(cleaned_files(&dir.0).is_empty());
    assert_eq!(read_all(&log), produced);
}

#[test]
fn dropping_cleaned_segments_deletes_their_files() {
    let dir = TempDir::new("discard");
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), compacted_config(), 0).unwrap();
    let produced = produce(&mut log, &versions(300, 3, 1_000), 20);
    let cleaned = log.plan_cleaning(50_000).unwrap().run().unwrap();
    assert!(!cleaned_files(&dir.0).is_empty());
    drop(cleaned);
    assert!(cleaned_files(&dir.0).is_empty());
    assert_eq!(read_all(&log), produced);
}

#[test]
fn a_read_inside_a_gap_returns_the_next_batch() {
    for (storage, _dir) in both_storages("gaps") {
        let mut log = PartitionLog::open(storage, compacted_config(), 0).unwrap();
        let produced = produce(&mut log, &versions(200, 5, 1_000), 20);
        // Every third key once more: batches keep some records and lose others.
        let again: Vec<Wanted> = (0..200)
            .step_by(3)
            .map(|k| put(&format!("key-{k:04}"), "again", 9_000))
            .collect();
        let mut all = produced;
        all.extend(produce(&mut log, &again, 20));
        let end = active_base(&log);
        log.clean(50_000).unwrap().expect("dirty");
        let kept = compacted(&all, end, 50_000);
        assert_eq!(read_all(&log), kept);
        for offset in 0..log.log_end_offset() {
            let read = log.read(offset, 1, i64::MAX, true).unwrap();
            let batch = RecordBatches::strict(read.records).next().unwrap().unwrap();
            assert!(
                batch.last_offset() >= offset,
                "the batch holding {offset} or the next one"
            );
            let next = kept.iter().find(|e| e.offset >= offset);
            assert_eq!(read_from(&log, offset).first(), next, "offset {offset}");
        }
    }
}

#[test]
fn rebuilt_batches_keep_their_header_and_offsets() {
    for (storage, _dir) in both_storages("headers") {
        let mut log = PartitionLog::open(storage, compacted_config(), 0).unwrap();
        // Offsets 0..=4: keys a b c d e, idempotent, gzip, leader epoch 5.
        let mut builder = RecordBatchBuilder::new(Compression::Gzip).with_producer(7, 3, 0);
        for key in ["a", "b", "c", "d", "e"] {
            builder
                .append(1_000, Some(key.as_bytes()), Some(b"old"), &[("h", None)])
                .unwrap();
        }
        log.append(&builder.build().unwrap(), 5, None, 0).unwrap();
        // Offsets 5..=7: keys x y z, raw snappy, LogAppendTime 777.
        let mut builder =
            RecordBatchBuilder::new(Compression::Snappy).with_snappy_framing(SnappyFraming::Raw);
        for key in ["x", "y", "z"] {
            builder
                .append(1_000, Some(key.as_bytes()), Some(b"old"), &[])
                .unwrap();
        }
        log.append(&builder.build().unwrap(), 5, Some(777), 0)
            .unwrap();
        // Offsets 8..=11 supersede b, e, x, z.
        let newer: Vec<Wanted> = ["b", "e", "x", "z"]
            .iter()
            .map(|k| put(k, "new", 2_000))
            .collect();
        produce(&mut log, &newer, 4);
        roll(&mut log);
        log.clean(50_000).unwrap().expect("dirty");

        let read = log.read(0, 1 << 20, i64::MAX, false).unwrap();
        let batches: Vec<RecordBatch> = RecordBatches::strict(read.records)
            .map(Result::unwrap)
            .collect();
        assert_eq!(batches.len(), 3);
        let first = &batches[0];
        first.verify_crc().unwrap();
        assert_eq!(
            (
                first.base_offset(),
                first.last_offset(),
                first.record_count()
            ),
            (0, 4, 3)
        );
        assert_eq!(first.compression().unwrap(), Compression::Gzip);
        assert_eq!(
            (
                first.producer_id(),
                first.producer_epoch(),
                first.base_sequence()
            ),
            (7, 3, 0)
        );
        assert_eq!(first.partition_leader_epoch(), 5);
        assert_eq!(first.timestamp_type(), TimestampType::CreateTime);
        let records: Vec<Record> = first.records().unwrap().map(Result::unwrap).collect();
        let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [0, 2, 3]);
        assert_eq!(records[1].key.as_deref(), Some(&b"c"[..]));
        assert_eq!(records[1].headers.len(), 1);
        assert_eq!(records[1].timestamp, 1_000);

        let second = &batches[1];
        second.verify_crc().unwrap();
        assert_eq!(
            (
                second.base_offset(),
                second.last_offset(),
                second.record_count()
            ),
            (5, 7, 1)
        );
        assert_eq!(second.compression().unwrap(), Compression::Snappy);
        assert!(!second.records_data().starts_with(XERIAL_MAGIC));
        assert_eq!(second.timestamp_type(), TimestampType::LogAppendTime);
        assert_eq!(second.max_timestamp(), 777);
        let y = second.records().unwrap().next().unwrap().unwrap();
        assert_eq!((y.offset, y.timestamp), (6, 777));
        assert_eq!(
            batches[2].base_offset(),
            8,
            "the newest batch is kept whole"
        );
        assert_eq!(batches[2].record_count(), 4);
    }
}

#[test]
fn control_and_transactional_batches_are_kept_whole_and_replace_nothing() {
    for (storage, _dir) in both_storages("transactions") {
        let mut log = PartitionLog::open(storage, compacted_config(), 0).unwrap();
        let plain = |log: &mut PartitionLog, key: &str, value: &str| {
            produce(log, &[put(key, value, 1_000)], 1);
        };
        plain(&mut log, "x", "1"); // 0: superseded by 3
        plain(&mut log, "y", "1"); // 1: kept, the newer y is transactional
        let mut builder = RecordBatchBuilder::new(Compression::None)
            .with_producer(9, 0, 0)
            .with_transactional(true);
        builder.append(1_000, Some(b"x"), Some(b"2"), &[]).unwrap();
        builder.append(1_000, Some(b"y"), Some(b"2"), &[]).unwrap();
        log.append(&builder.build().unwrap(), 0, None, 0).unwrap(); // 2, 3
        let mut marker = RecordBatchBuilder::new(Compression::None)
            .with_producer(9, 0, -1)
            .with_transactional(true)
            .with_control(true);
        marker
            .append(1_000, Some(&[0, 0, 0, 1]), Some(&[0, 0, 0, 0, 0, 0]), &[])
            .unwrap();
        log.append(&marker.build().unwrap(), 0, None, 0).unwrap(); // 4
        plain(&mut log, "x", "3"); // 5
        roll(&mut log);
        let before = log.read(0, 1 << 20, i64::MAX, false).unwrap().records;
        let batches_before: Vec<RecordBatch> =
            RecordBatches::strict(before).map(Result::unwrap).collect();

        log.clean(50_000).unwrap().expect("dirty");

        let after = log.read(0, 1 << 20, i64::MAX, false).unwrap().records;
        let batches: Vec<RecordBatch> = RecordBatches::strict(after).map(Result::unwrap).collect();
        let bases: Vec<i64> = batches.iter().map(RecordBatch::base_offset).collect();
        assert_eq!(bases, [1, 2, 4, 5], "x=1 at offset 0 is gone");
        assert_eq!(batches[1], batches_before[2], "transaction batch unchanged");
        assert_eq!(batches[2], batches_before[3], "marker unchanged");
    }
}

#[test]
fn a_first_segment_with_nothing_left_keeps_an_empty_batch_and_the_log_start() {
    let dir = TempDir::new("first");
    let config = LogConfig {
        delete: true,
        retention_ms: Some(1_000_000),
        ..compacted_config()
    };
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), config.clone(), 0).unwrap();
    let produced = produce(&mut log, &versions(1000, 3, 1_000), 25);
    roll(&mut log);
    let first_size = log.segments[0].size;
    let first_next = log.segments[0].next_offset;
    log.clean(50_000).unwrap().expect("dirty");

    let first = &log.segments[0];
    assert_eq!(first.base_offset, 0);
    assert!(first.size > 0 && first.size < first_size);
    assert_eq!(
        first.next_offset, first_next,
        "the emptied batch keeps its offsets"
    );
    assert!(
        first.max_timestamp > 0,
        "so that time retention can expire it"
    );
    let read = log.read(0, 1 << 20, i64::MAX, true).unwrap();
    let empty = RecordBatches::strict(read.records).next().unwrap().unwrap();
    assert_eq!(empty.record_count(), 0);
    empty.verify_crc().unwrap();
    assert_eq!(read_all(&log), produced[2000..].to_vec());
    // Middle segments with nothing left are gone.
    assert!(log.segments[1..].iter().all(|s| s.next_offset > 2000));

    drop(log);
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), config, 0).unwrap();
    assert_eq!(log.log_start_offset(), 0);
    assert_eq!(read_all(&log), produced[2000..].to_vec());
    // Time retention still works across the cleaned segments.
    assert!(log.enforce_retention(2_000_000).unwrap() > 0);
    assert!(log.log_start_offset() > 0);
}

#[test]
fn segments_changed_while_cleaning_ran_are_not_swapped_in() {
    for (storage, dir) in both_storages("meanwhile") {
        let mut log = PartitionLog::open(storage, compacted_config(), 0).unwrap();
        let mut produced = produce(&mut log, &versions(500, 4, 1_000), 20);
        let end = active_base(&log);
        let plan = log.plan_cleaning(50_000).unwrap();

        // While it runs (no lock held), DeleteRecords drops the oldest segments and
        // producers go on appending and rolling.
        let cut = log.segments[3].base_offset;
        let cleaned = plan.run().unwrap();
        log.delete_records_before(cut, 0).unwrap();
        produced.extend(produce(&mut log, &versions(500, 1, 90_000), 20));
        let stats = log.finish_cleaning(cleaned).unwrap();

        assert!(stats.segments_cleaned > 0);
        assert_eq!(log.log_start_offset(), cut);
        assert_eq!(log.segments[0].base_offset, cut, "nothing resurrected");
        let expected: Vec<Entry> = compacted(&produced, end, 50_000)
            .into_iter()
            .filter(|e| e.offset >= cut)
            .collect();
        assert_eq!(read_all(&log), expected);
        assert_eq!(log.log_end_offset(), 2500);
        if let Some(dir) = dir {
            assert!(cleaned_files(&dir.0).is_empty());
        }
    }
}

#[test]
fn a_batch_builder_appends_at_offset_deltas_with_gaps_and_builds_empty_batches() {
    let record = |offset: i64| Record {
        offset,
        timestamp: 50 + offset,
        attributes: 0,
        key: Some(Bytes::from_static(b"k")),
        value: None,
        headers: Vec::new(),
    };
    let mut builder = RecordBatchBuilder::new(Compression::Zstd)
        .with_base_offset(100)
        .with_last_offset_delta(9);
    assert_eq!(builder.append_record_at(2, &record(0)).unwrap(), 2);
    assert!(matches!(
        builder.append_record_at(2, &record(0)),
        Err(RecordBatchError::InconsistentOffsets { .. })
    ));
    assert_eq!(builder.append_record_at(5, &record(1)).unwrap(), 5);
    let batch = RecordBatch::parse(builder.build().unwrap()).unwrap();
    batch.verify_crc().unwrap();
    assert_eq!((batch.last_offset(), batch.record_count()), (109, 2));
    let offsets: Vec<i64> = batch
        .records()
        .unwrap()
        .map(|r| r.unwrap().offset)
        .collect();
    assert_eq!(offsets, [102, 105]);

    let empty = RecordBatchBuilder::new(Compression::Gzip)
        .with_base_offset(7)
        .with_last_offset_delta(3)
        .build_empty(1_234)
        .unwrap();
    let empty = RecordBatch::parse(empty).unwrap();
    empty.verify_crc().unwrap();
    assert_eq!(
        (
            empty.base_offset(),
            empty.last_offset(),
            empty.record_count()
        ),
        (7, 10, 0)
    );
    assert_eq!(empty.max_timestamp(), 1_234);
    assert_eq!(empty.compression().unwrap(), Compression::None);
    assert_eq!(empty.records().unwrap().count(), 0);
    let mut full = RecordBatchBuilder::new(Compression::None);
    full.append(1, None, None, &[]).unwrap();
    assert!(full.build_empty(1).is_err());
}

#[test]
fn segment_file_names_follow_the_base_offset() {
    // The `.cleaned` file of a segment sits beside it under the same stem.
    let planned = PathBuf::from(format!("/x/{}.log", file_stem(42)));
    assert_eq!(
        planned.with_extension(format!("log.{CLEANED_EXTENSION}")),
        PathBuf::from(format!("/x/{}.log.cleaned", file_stem(42)))
    );
}

#[test]
fn a_round_can_run_on_another_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<CleaningPlan>();
    assert_send::<CleanedSegments>();
    let mut log = PartitionLog::open(Storage::Memory, compacted_config(), 0).unwrap();
    let produced = produce(&mut log, &versions(100, 3, 1_000), 25);
    roll(&mut log);
    let plan = log.plan_cleaning(50_000).unwrap();
    let cleaned = std::thread::spawn(move || plan.run().unwrap())
        .join()
        .unwrap();
    log.finish_cleaning(cleaned).unwrap();
    assert_eq!(read_all(&log), produced[200..].to_vec());
}
