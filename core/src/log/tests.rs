use super::producer_state::SequenceError;
use super::*;
use crate::protocol::compression::Compression;
use crate::protocol::records::{RecordBatchBuilder, RecordBatches};

struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("tidelog-log-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A batch of `count` records with values "v<first>".."v<first+count-1>" and the given
/// timestamps (one per record, or all `timestamps[0]`).
fn batch(first: usize, count: usize, timestamps: &[i64]) -> Bytes {
    let mut builder = RecordBatchBuilder::new(Compression::None);
    for i in 0..count {
        let ts = timestamps.get(i).copied().unwrap_or(timestamps[0]);
        builder
            .append(
                ts,
                Some(format!("k{}", first + i).as_bytes()),
                Some(format!("v{}", first + i).as_bytes()),
                &[],
            )
            .unwrap();
    }
    builder.build().unwrap()
}

fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 256,
        retention_ms: None,
        ..LogConfig::default()
    }
}

/// Every (offset, value) in `records`.
fn values(records: &Bytes) -> Vec<(i64, String)> {
    RecordBatches::strict(records.clone())
        .flat_map(|batch| {
            batch
                .unwrap()
                .records()
                .unwrap()
                .map(|r| r.unwrap())
                .collect::<Vec<_>>()
        })
        .map(|r| {
            (
                r.offset,
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
            )
        })
        .collect()
}

fn read_all(log: &PartitionLog) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let read = log.read(offset, 1 << 20, i64::MAX, true).unwrap();
        let got = values(&read.records);
        assert!(!got.is_empty(), "no progress at offset {offset}");
        out.extend(got.into_iter().filter(|(o, _)| *o >= offset));
        offset = out.last().unwrap().0 + 1;
    }
    out
}

fn fill(log: &mut PartitionLog, batches: usize, per_batch: usize) {
    for b in 0..batches {
        let first = b * per_batch;
        log.append(
            &batch(first, per_batch, &[1_000 + first as i64]),
            0,
            None,
            0,
        )
        .unwrap();
    }
}

fn expected(n: usize) -> Vec<(i64, String)> {
    (0..n).map(|i| (i as i64, format!("v{i}"))).collect()
}

fn both_storages(label: &str) -> Vec<(Storage, Option<TempDir>)> {
    let dir = TempDir::new(label);
    vec![
        (Storage::Memory, None),
        (Storage::Disk(dir.0.clone()), Some(dir)),
    ]
}

#[test]
fn appends_across_segments_read_back_in_order() {
    for (storage, _dir) in both_storages("roundtrip") {
        let mut log = PartitionLog::open(storage, small_config(), 0).unwrap();
        fill(&mut log, 60, 3);
        assert!(log.segment_count() > 5, "tiny segments must roll");
        assert_eq!(log.log_end_offset(), 180);
        assert_eq!(read_all(&log), expected(180));
    }
}

#[test]
fn a_read_at_any_offset_starts_with_the_batch_holding_it() {
    for (storage, _dir) in both_storages("any-offset") {
        let mut log = PartitionLog::open(storage, small_config(), 0).unwrap();
        fill(&mut log, 40, 3);
        for offset in 0..120 {
            let read = log.read(offset, 1, i64::MAX, true).unwrap();
            let got = values(&read.records);
            let first_of_batch = offset - offset % 3;
            assert_eq!(
                got.first().map(|(o, _)| *o),
                Some(first_of_batch),
                "offset {offset}"
            );
            assert_eq!(
                got.len(),
                3,
                "min_one_batch returns exactly one batch over max_bytes"
            );
        }
    }
}

#[test]
fn read_limits_follow_max_bytes_min_one_batch_and_max_offset() {
    let mut log = PartitionLog::open(Storage::Memory, LogConfig::default(), 0).unwrap();
    fill(&mut log, 10, 5);
    let all = log.read(0, 1 << 20, i64::MAX, false).unwrap().records;
    let sizes: Vec<usize> = RecordBatches::strict(all)
        .map(|b| b.unwrap().size_in_bytes())
        .collect();
    let three = sizes[0] + sizes[1] + sizes[2];
    assert_eq!(
        values(&log.read(0, three, i64::MAX, false).unwrap().records).len(),
        15
    );
    assert_eq!(
        values(&log.read(0, three - 1, i64::MAX, false).unwrap().records).len(),
        10
    );
    assert!(log
        .read(0, sizes[0] - 1, i64::MAX, false)
        .unwrap()
        .records
        .is_empty());
    assert_eq!(
        values(&log.read(0, sizes[0] - 1, i64::MAX, true).unwrap().records).len(),
        5
    );
    // Nothing at or past max_offset (the high watermark) is returned.
    assert_eq!(
        values(&log.read(0, 1 << 20, 20, false).unwrap().records).len(),
        20
    );
    assert!(log.read(20, 1 << 20, 20, false).unwrap().records.is_empty());
    // The end of the log is empty, past it is out of range.
    assert!(log
        .read(50, 1 << 20, i64::MAX, false)
        .unwrap()
        .records
        .is_empty());
    assert!(matches!(
        log.read(51, 100, i64::MAX, false),
        Err(LogError::OffsetOutOfRange { offset: 51, .. })
    ));
    assert!(matches!(
        log.read(-1, 100, i64::MAX, false),
        Err(LogError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn timestamps_find_offsets_even_out_of_order() {
    for (storage, _dir) in both_storages("timestamps") {
        let mut log = PartitionLog::open(storage, small_config(), 0).unwrap();
        // Timestamps 100, 300, 200 | 400, 50, 500 | ...
        for b in 0..30 {
            let base = b as i64 * 1000;
            log.append(
                &batch(b * 3, 3, &[base + 100, base + 300, base + 200]),
                0,
                None,
                0,
            )
            .unwrap();
        }
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((0, 100)));
        assert_eq!(log.offset_for_timestamp(150).unwrap(), Some((1, 300)));
        assert_eq!(log.offset_for_timestamp(250).unwrap(), Some((1, 300)));
        assert_eq!(log.offset_for_timestamp(5_250).unwrap(), Some((16, 5_300)));
        assert_eq!(log.offset_for_timestamp(29_301).unwrap(), None);
        assert_eq!(log.max_timestamp().unwrap(), Some((88, 29_300)));
    }
}

#[test]
fn retention_deletes_whole_old_segments_by_time_and_by_size() {
    for (storage, _dir) in both_storages("retention") {
        // About three batches per segment.
        let mut config = LogConfig {
            segment_bytes: 300,
            ..small_config()
        };
        config.retention_ms = Some(10_000);
        let mut log = PartitionLog::open(storage, config, 0).unwrap();
        for b in 0..20 {
            log.append(&batch(b * 3, 3, &[b as i64 * 1_000]), 0, None, 0)
                .unwrap();
        }
        let segments = log.segment_count();
        // At now = 15 s, records older than 5 s go: whole segments only.
        let deleted = log.enforce_retention(15_000).unwrap();
        assert!(deleted > 0 && log.segment_count() == segments - deleted);
        let start = log.log_start_offset();
        assert!(start > 0 && start % 3 == 0);
        assert_eq!(read_all(&log), expected(60).split_off(start as usize));
        // Every remaining segment holds something at or after the cut-off (now - 10 s).
        assert!(log.segments.iter().all(|s| s.max_timestamp >= 5_000));

        let mut config = LogConfig {
            segment_bytes: 300,
            ..small_config()
        };
        config.retention_bytes = Some(1024);
        log.set_config(config);
        log.enforce_retention(15_000).unwrap();
        assert!(log.size_in_bytes() >= 1024);
        assert!(
            log.size_in_bytes() - log.segments[0].size < 1024,
            "the oldest segment could have gone too"
        );
        assert_eq!(log.log_end_offset(), 60);
    }
}

#[test]
fn delete_records_moves_the_start_and_survives_reopen() {
    let dir = TempDir::new("delete-records");
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), small_config(), 0).unwrap();
    fill(&mut log, 30, 3);
    assert_eq!(log.delete_records_before(40, 0).unwrap(), 40);
    assert!(matches!(
        log.read(39, 100, i64::MAX, true),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert_eq!(
        values(&log.read(40, 1, i64::MAX, true).unwrap().records)[0].0,
        39,
        "the batch holding 40 starts at 39"
    );
    assert!(log.segments[0].base_offset <= 40 && log.segments[0].next_offset > 40);
    assert!(matches!(
        log.delete_records_before(91, 0),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    drop(log);
    let log = PartitionLog::open(Storage::Disk(dir.0.clone()), small_config(), 0).unwrap();
    assert_eq!(log.log_start_offset(), 40);
    assert_eq!(log.log_end_offset(), 90);
}

#[test]
fn truncation_cuts_at_a_batch_boundary_and_trims_epochs() {
    for (storage, _dir) in both_storages("truncate") {
        let mut log = PartitionLog::open(storage, small_config(), 0).unwrap();
        for b in 0..30 {
            log.append(&batch(b * 3, 3, &[1]), (b / 10) as i32, None, 0)
                .unwrap();
        }
        assert_eq!(log.end_offset_for_epoch(0), Some((0, 30)));
        assert_eq!(log.end_offset_for_epoch(1), Some((1, 60)));
        assert_eq!(log.end_offset_for_epoch(2), Some((2, 90)));
        log.truncate_to(45).unwrap();
        assert_eq!(log.log_end_offset(), 45);
        assert_eq!(log.latest_epoch(), Some(1));
        assert_eq!(read_all(&log), expected(45));
        log.append(&batch(45, 3, &[1]), 3, None, 0).unwrap();
        assert_eq!(log.end_offset_for_epoch(2), Some((1, 45)));
        assert_eq!(log.end_offset_for_epoch(3), Some((3, 48)));
        assert_eq!(read_all(&log), expected(48));
    }
}

#[test]
fn a_clean_reopen_keeps_everything_at_the_same_offsets() {
    let dir = TempDir::new("clean-reopen");
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), small_config(), 0).unwrap();
    for b in 0..30 {
        log.append(&batch(b * 3, 3, &[b as i64]), 7, None, 0)
            .unwrap();
    }
    log.close_clean().unwrap();
    drop(log);
    assert!(dir.0.join("clean-shutdown").exists());
    assert!(dir.0.join(format!("{}.index", file_stem(0))).exists());
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), small_config(), 0).unwrap();
    assert!(
        !dir.0.join("clean-shutdown").exists(),
        "a later crash must trigger recovery"
    );
    assert_eq!(read_all(&log), expected(90));
    assert_eq!(log.latest_epoch(), Some(7));
    assert_eq!(log.max_timestamp().unwrap(), Some((87, 29)));
    log.append(&batch(90, 3, &[1]), 7, None, 0).unwrap();
    assert_eq!(read_all(&log), expected(93));
}

#[test]
fn recovery_cuts_a_torn_tail_and_rebuilds_missing_indexes() {
    let dir = TempDir::new("torn");
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), small_config(), 0).unwrap();
    fill(&mut log, 30, 3);
    let active = dir.0.join(format!(
        "{}.log",
        file_stem(log.segments.last().unwrap().base_offset)
    ));
    let active_base = log.segments.last().unwrap().base_offset;
    drop(log); // a crash: no clean-shutdown marker
               // Half a batch at the end, and the index files gone.
    let half = batch(90, 3, &[1]);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&active)
        .unwrap();
    std::io::Write::write_all(&mut file, &half[..half.len() / 2]).unwrap();
    for entry in std::fs::read_dir(&dir.0).unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|e| e == "index" || e == "timeindex")
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), small_config(), 0).unwrap();
    assert_eq!(log.log_end_offset(), 90);
    assert_eq!(read_all(&log), expected(90));
    log.append(&batch(90, 3, &[1]), 0, None, 0).unwrap();
    assert_eq!(read_all(&log), expected(93));
    assert!(active_base > 0);
}

#[test]
fn recovery_cuts_from_a_corrupt_batch_on() {
    let dir = TempDir::new("corrupt");
    let config = LogConfig {
        segment_bytes: 1 << 20,
        ..small_config()
    };
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), config.clone(), 0).unwrap();
    fill(&mut log, 10, 3);
    let one = batch(0, 3, &[1]).len() as u64;
    drop(log);
    // Flip a byte inside the 6th batch (covered by its CRC).
    let path = dir.0.join(format!("{}.log", file_stem(0)));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[(one * 5 + 70) as usize] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let log = PartitionLog::open(Storage::Disk(dir.0.clone()), config, 0).unwrap();
    assert_eq!(log.log_end_offset(), 15);
    assert_eq!(read_all(&log), expected(15));
}

#[test]
fn flush_bookkeeping_follows_flush_messages_and_flush_ms() {
    let dir = TempDir::new("flush");
    let config = LogConfig {
        flush_messages: Some(5),
        flush_ms: Some(1_000),
        ..LogConfig::default()
    };
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), config, 0).unwrap();
    log.append(&batch(0, 3, &[1]), 0, None, 0).unwrap();
    assert!(!log.flush_due(10));
    assert!(log.flush_due(1_000), "flush.ms elapsed with unflushed data");
    log.append(&batch(3, 3, &[1]), 0, None, 0).unwrap();
    assert!(
        log.flush_due(10),
        "6 unflushed messages >= flush.messages 5"
    );
    let handle = log.flush_handle();
    assert_eq!(handle.end_offset(), 6);
    handle.sync().unwrap();
    log.mark_flushed(handle.end_offset(), 20).unwrap();
    assert_eq!(log.flushed_offset(), 6);
    assert!(!log.flush_due(5_000), "nothing left to flush");
}

#[test]
fn a_roll_leaves_the_old_segments_fsync_to_the_next_flush() {
    let dir = TempDir::new("roll-flush");
    let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), small_config(), 0).unwrap();
    let mut b = 0;
    while log.segment_count() < 3 {
        log.append(&batch(b * 3, 3, &[b as i64]), 0, None, 0)
            .unwrap();
        b += 1;
    }
    // No flush policy: the only fsync due is the rolled segments'.
    assert!(log.flush_due(0), "rolled segments await their fsync");
    assert!(
        !dir.0.join("recovery-point").exists(),
        "nothing is known durable before the fsync"
    );
    let handle = log.flush_handle();
    handle.sync().unwrap();
    log.mark_flushed(handle.end_offset(), 0).unwrap();
    let recovery_point: i64 = std::fs::read_to_string(dir.0.join("recovery-point"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        recovery_point,
        log.segments.last().unwrap().base_offset,
        "past every rolled segment"
    );
    assert!(!log.flush_due(0));
}

#[test]
fn log_append_time_stamps_the_batch() {
    let mut log = PartitionLog::open(Storage::Memory, LogConfig::default(), 0).unwrap();
    log.append(&batch(0, 3, &[5]), 0, Some(777), 0).unwrap();
    let read = log.read(0, 1 << 20, i64::MAX, true).unwrap();
    let stored = RecordBatch::parse(read.records).unwrap();
    stored.verify_crc().unwrap();
    assert_eq!(stored.max_timestamp(), 777);
    assert!(stored
        .records()
        .unwrap()
        .all(|r| r.unwrap().timestamp == 777));
}

/// An idempotent producer's batch: `count` records from sequence `first`.
fn idempotent_batch(producer_id: i64, epoch: i16, first: i32, count: usize) -> Bytes {
    let mut builder =
        RecordBatchBuilder::new(Compression::None).with_producer(producer_id, epoch, first);
    for i in 0..count {
        builder
            .append(1, Some(b"k"), Some(format!("v{i}").as_bytes()), &[])
            .unwrap();
    }
    builder.build().unwrap()
}

#[test]
fn idempotent_retries_get_their_original_offsets_across_reopens() {
    let dir = TempDir::new("idempotent");
    for clean in [true, false] {
        let _ = std::fs::remove_dir_all(&dir.0);
        let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), small_config(), 0).unwrap();
        fill(&mut log, 2, 3);
        let first = log
            .append(&idempotent_batch(42, 0, 0, 3), 0, None, 0)
            .unwrap();
        assert_eq!((first.base_offset, first.duplicate), (6, false));
        let retry = log
            .append(&idempotent_batch(42, 0, 0, 3), 0, None, 0)
            .unwrap();
        assert_eq!(
            (retry.base_offset, retry.last_offset, retry.duplicate),
            (6, 8, true)
        );
        assert_eq!(log.log_end_offset(), 9, "the retry appended nothing");
        assert!(matches!(
            log.append(&idempotent_batch(42, 0, 5, 1), 0, None, 0),
            Err(LogError::Sequence(SequenceError::OutOfOrder {
                expected: 3,
                ..
            }))
        ));
        if clean {
            log.close_clean().unwrap();
        }
        drop(log);
        let mut log = PartitionLog::open(Storage::Disk(dir.0.clone()), small_config(), 0).unwrap();
        let retry = log
            .append(&idempotent_batch(42, 0, 0, 3), 0, None, 0)
            .unwrap();
        assert_eq!(
            (retry.base_offset, retry.duplicate),
            (6, true),
            "clean reopen: {clean}"
        );
        assert_eq!(
            log.append(&idempotent_batch(42, 0, 3, 2), 0, None, 0)
                .unwrap()
                .base_offset,
            9
        );
    }
}
