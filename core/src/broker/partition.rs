//! One partition as the broker serves it: its log, its replica state (leader, epoch,
//! replicas, ISR: a single replica today, the shape replication will fill in), its high
//! watermark, and the group-commit fsync used by `flush.messages=1`.

use crate::error::ErrorCode;
use crate::log::producer_state::SequenceError;
use crate::log::{AppendInfo, LogError, PartitionLog, ReadResult};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// Leadership and replica set of a partition (KIP-101 leader epochs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaState {
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

pub struct Partition {
    pub index: i32,
    log: Mutex<PartitionLog>,
    replica: Mutex<ReplicaState>,
    /// Offsets below this are committed: visible to consumers and acknowledged to
    /// acks=all producers. With one replica it is the log end offset, or, when every
    /// append is fsynced before acknowledgement, the flushed offset.
    high_watermark: AtomicI64,
    /// Serialises fsyncs so that concurrent appenders share one (group commit).
    flush_lock: tokio::sync::Mutex<()>,
    /// Bumped whenever the high watermark moves; fetch and acks=all waiters watch it.
    progress: Arc<watch::Sender<u64>>,
}

/// A log error as the Kafka error code a client sees.
pub fn error_code_of(error: &LogError) -> ErrorCode {
    match error {
        LogError::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
        LogError::Sequence(SequenceError::OutOfOrder { .. }) => ErrorCode::OutOfOrderSequenceNumber,
        LogError::Sequence(SequenceError::Fenced { .. }) => ErrorCode::InvalidProducerEpoch,
        LogError::InvalidBatch { .. } => ErrorCode::CorruptMessage,
        _ => ErrorCode::KafkaStorageError,
    }
}

impl Partition {
    pub fn new(
        index: i32,
        log: PartitionLog,
        replica: ReplicaState,
        progress: Arc<watch::Sender<u64>>,
    ) -> Self {
        let end = log.log_end_offset();
        Partition {
            index,
            log: Mutex::new(log),
            replica: Mutex::new(replica),
            high_watermark: AtomicI64::new(end),
            flush_lock: tokio::sync::Mutex::new(()),
            progress,
        }
    }

    /// The log, locked. Held only for short, non-blocking work (appends, reads from the
    /// page cache); fsyncs happen outside it.
    pub fn log(&self) -> MutexGuard<'_, PartitionLog> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn replica_state(&self) -> ReplicaState {
        self.replica
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn leader_epoch(&self) -> i32 {
        self.replica
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .leader_epoch
    }

    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire)
    }

    fn advance_high_watermark(&self, offset: i64) {
        if self.high_watermark.fetch_max(offset, Ordering::AcqRel) < offset {
            self.progress.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Appends validated batches in order; returns the append info of each. When
    /// `commit_on_append` is true (no fsync needed before acknowledging), the high
    /// watermark moves to the new log end offset at once.
    pub fn append(
        &self,
        batches: &[bytes::Bytes],
        log_append_time: Option<i64>,
        now_ms: i64,
        commit_on_append: bool,
    ) -> Result<Vec<AppendInfo>, LogError> {
        let epoch = self.leader_epoch();
        let mut log = self.log();
        let mut infos = Vec::with_capacity(batches.len());
        for batch in batches {
            infos.push(log.append(batch, epoch, log_append_time, now_ms)?);
        }
        let end = log.log_end_offset();
        drop(log);
        if commit_on_append {
            self.advance_high_watermark(end);
        }
        Ok(infos)
    }

    /// Waits until everything below `offset` is fsynced, sharing fsyncs between
    /// concurrent callers, then moves the high watermark there.
    pub async fn flush_until(&self, offset: i64) -> Result<(), LogError> {
        loop {
            if self.log().flushed_offset() >= offset {
                self.advance_high_watermark(offset);
                return Ok(());
            }
            let _turn = self.flush_lock.lock().await;
            if self.log().flushed_offset() >= offset {
                continue;
            }
            // Everything appended so far rides on this one fsync.
            let handle = self.log().flush_handle();
            let synced = tokio::task::spawn_blocking({
                let handle = handle.clone();
                move || handle.sync()
            })
            .await
            .expect("fsync task does not panic");
            if let Err(source) = synced {
                return Err(LogError::Io {
                    path: "fsync".into(),
                    source,
                });
            }
            self.log()
                .mark_flushed(handle.end_offset(), crate::broker::state::now_ms())?;
            self.advance_high_watermark(handle.end_offset());
        }
    }

    /// Flushes everything appended so far (clean shutdown, `flush.ms`).
    pub async fn flush(&self) -> Result<(), LogError> {
        let end = self.log().log_end_offset();
        self.flush_until(end).await
    }

    /// Reads committed batches for a consumer (never past the high watermark).
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        min_one_batch: bool,
    ) -> Result<ReadResult, LogError> {
        let high_watermark = self.high_watermark();
        self.log()
            .read(offset, max_bytes, high_watermark, min_one_batch)
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log().log_start_offset()
    }
}
