//! The idempotent producer's bookkeeping (KIP-98) and its recovery when a broker loses
//! or breaks a partition's sequence state (KIP-360), as the Java client and librdkafka
//! do it:
//!
//! - Each partition numbers its batches under one [`Identity`] (producer id and epoch)
//!   and knows which of them are unacknowledged, so a sequence error can be told apart:
//!   one behind another unacknowledged batch only waits for it, one at the head of the
//!   partition means the broker's state and ours differ.
//! - UNKNOWN_PRODUCER_ID at the head, or OUT_OF_ORDER_SEQUENCE_NUMBER at the head when
//!   the broker deleted every record we had acknowledged there (retention,
//!   DeleteRecords), or when nothing was acknowledged yet: the producer bumps its epoch
//!   itself (without transactions no broker owns it; a new producer id once the epoch
//!   is exhausted) and sends the partition's unacknowledged batches again, renumbered
//!   from 0. Nothing the broker acknowledged is sent again, and the order is kept.
//! - OUT_OF_ORDER_SEQUENCE_NUMBER at the head while the broker still holds records we
//!   had acknowledged means it lost acknowledged records after them: the batch fails
//!   with an error saying so. So does a batch an earlier attempt may already have
//!   written (its response was lost), since renumbering it could write it twice.
//! - A numbered batch that fails for good leaves a gap in its partition's sequence, so
//!   the partition restarts under a bumped epoch too.
//! - INVALID_PRODUCER_EPOCH / PRODUCER_FENCED: the broker knows a newer epoch of this
//!   producer id than ours, so the producer asks for a new id.
//!
//! A partition sends one batch at a time until one is acknowledged under its identity
//! ([`Sequencing::can_send_another`]).
//!
//! Partitions that need nothing keep their identity until none of their batches is
//! outstanding, then move to the producer's current one (the broker accepts a new epoch
//! from sequence 0).

use crate::error::{Error, ErrorCode};
use std::collections::VecDeque;

/// An idempotent producer's identity (KIP-98): the id the cluster granted and the epoch
/// its sequence numbers belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    pub id: i64,
    pub epoch: i16,
}

impl Identity {
    /// The same id at the next epoch; `None` when the epoch cannot grow, so a new id is
    /// needed.
    pub fn bumped(self) -> Option<Identity> {
        let epoch = self.epoch.checked_add(1)?;
        Some(Identity { epoch, ..self })
    }
}

/// The idempotence fields a batch is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub identity: Identity,
    pub first_sequence: i32,
}

/// The identity a partition that must be renumbered needs. A new producer id also
/// serves where a bumped epoch is enough, hence the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reset {
    /// The same producer id at the next epoch.
    Epoch,
    /// A new producer id (InitProducerId).
    ProducerId,
}

/// What to do with a numbered batch the broker refused with a sequence or epoch error.
#[derive(Debug)]
pub(crate) enum Recovery {
    /// Not an error the idempotent producer handles: the usual retry rules apply.
    Usual,
    /// Send it again: after the partition's earlier batches, or renumbered once the
    /// partition has its new identity.
    Retry,
    /// It cannot be sent again safely: fail it with this error.
    Fail(Error),
}

/// The error of a batch that an earlier attempt may have written (its response was
/// lost), when `why` its partition has to be renumbered: sent again under new sequence
/// numbers, it could be written twice, so it fails instead.
pub(crate) fn maybe_written_error(code: ErrorCode, why: &str) -> Error {
    Error::Kafka {
        code,
        message: Some(format!(
            "{why}; an earlier attempt of this batch may have been written, and sending it \
             again under new sequence numbers could write it twice, so it fails"
        )),
    }
}

/// Sequence numbers wrap from `i32::MAX` to 0 (KIP-98).
fn sequence_after(first: i32, records: i32) -> i32 {
    ((i64::from(first) + i64::from(records)) % (i64::from(i32::MAX) + 1)) as i32
}

/// How one partition's batches are numbered.
#[derive(Debug)]
pub(crate) struct Sequencing {
    /// The identity the partition's sequence numbers belong to.
    identity: Identity,
    /// The first sequence of the next batch to number.
    next: i32,
    /// The first sequences of the numbered batches not yet reported (queued for a
    /// retry, or in flight), oldest first. Responses may be handled out of order, so
    /// this, not the last acknowledgement, tells which batch is at the head.
    unacknowledged: VecDeque<i32>,
    /// The offset of the last record acknowledged under `identity`.
    last_acked_offset: Option<i64>,
    /// Batches of the partition in Produce requests now, numbered or about to be.
    pub in_flight: usize,
    /// Set when the partition's sequence broke: its batches wait, unsent, until the
    /// producer has an identity of this kind, then are renumbered from 0.
    pub renumber: Option<Reset>,
}

impl Sequencing {
    pub fn new(identity: Identity) -> Sequencing {
        Sequencing {
            identity,
            next: 0,
            unacknowledged: VecDeque::new(),
            last_acked_offset: None,
            in_flight: 0,
            renumber: None,
        }
    }

    /// Starts over at sequence 0 under `identity`, with nothing outstanding.
    pub fn restart(&mut self, identity: Identity) {
        *self = Sequencing {
            in_flight: self.in_flight,
            ..Sequencing::new(identity)
        };
    }

    /// Numbers a batch of `records` records. A partition with nothing outstanding moves
    /// to the producer's `current` identity first.
    pub fn number(&mut self, current: Identity, records: i32) -> Stamp {
        if self.identity != current && self.unacknowledged.is_empty() && self.renumber.is_none() {
            self.restart(current);
        }
        let first_sequence = self.next;
        self.next = sequence_after(first_sequence, records);
        self.unacknowledged.push_back(first_sequence);
        Stamp {
            identity: self.identity,
            first_sequence,
        }
    }

    /// Whether another of the partition's batches may be sent while `in_flight` are.
    /// A broker with no state for this producer on the partition takes any first
    /// sequence (Kafka's producer state checks only the epoch then), so until a batch is
    /// acknowledged under this identity only one is in flight: otherwise a later batch
    /// could be written ahead of an earlier one that was refused (NOT_LEADER_OR_FOLLOWER
    /// from a partition whose leader is not ready yet), and the earlier one could never
    /// follow it.
    pub fn can_send_another(&self) -> bool {
        self.in_flight == 0 || self.last_acked_offset.is_some()
    }

    /// Asks for the partition to be renumbered under an identity of at least `reset`.
    fn request(&mut self, reset: Reset) {
        self.renumber = self.renumber.max(Some(reset));
    }

    /// Whether a batch stamped `stamp` counts in this partition's numbering; one from
    /// before a renumbering does not.
    pub fn owns(&self, stamp: Stamp) -> bool {
        stamp.identity == self.identity
    }

    /// Forgets a reported batch.
    fn reported(&mut self, stamp: Stamp) {
        self.unacknowledged
            .retain(|first| *first != stamp.first_sequence);
    }

    /// The broker acknowledged a batch of `records` records stamped `stamp` (owned) at
    /// `base_offset` (-1 when unknown).
    pub fn acknowledged(&mut self, stamp: Stamp, records: i32, base_offset: i64) {
        self.reported(stamp);
        if base_offset >= 0 {
            let last = base_offset + i64::from(records) - 1;
            self.last_acked_offset = self.last_acked_offset.max(Some(last));
        }
    }

    /// A batch stamped `stamp` (owned) failed for good: its sequence numbers are a gap
    /// the broker will not step over, so the partition must restart under a bumped
    /// epoch.
    pub fn failed(&mut self, stamp: Stamp) {
        self.reported(stamp);
        self.request(Reset::Epoch);
    }

    /// Decides about a batch stamped `stamp` (owned) that the broker refused with
    /// `code`. `maybe_written` says an earlier attempt may have been appended (its
    /// response was lost); `log_start_offset` is the broker's (-1 when unknown);
    /// `partition` names the partition in errors.
    pub fn recover(
        &mut self,
        stamp: Stamp,
        maybe_written: bool,
        code: ErrorCode,
        log_start_offset: i64,
        partition: &str,
    ) -> Recovery {
        let first = stamp.first_sequence;
        let not_resent = |why: String| {
            let error = maybe_written_error(code, &why);
            tracing::error!(partition, sequence = first, %error, "batch failed");
            Recovery::Fail(error)
        };
        match code {
            ErrorCode::UnknownProducerId | ErrorCode::OutOfOrderSequenceNumber
                if self.unacknowledged.front() != Some(&first) =>
            {
                // An earlier batch is unacknowledged: its fate decides; this one waits.
                Recovery::Retry
            }
            ErrorCode::UnknownProducerId => {
                self.request(Reset::Epoch);
                tracing::warn!(
                    partition,
                    sequence = first,
                    "the broker has no state for this producer: bumping the epoch and \
                     renumbering the partition's unacknowledged batches"
                );
                if maybe_written {
                    return not_resent(format!(
                        "the broker lost this producer's state for {partition}"
                    ));
                }
                Recovery::Retry
            }
            ErrorCode::OutOfOrderSequenceNumber => {
                self.request(Reset::Epoch);
                // Acknowledged records still in the log (or no log start offset to tell):
                // the broker should know their sequences. It does not: it lost some.
                let kept_acknowledged = self
                    .last_acked_offset
                    .filter(|last| log_start_offset < 0 || *last >= log_start_offset);
                if let Some(last_acked_offset) = kept_acknowledged {
                    let message = format!(
                        "the broker no longer knows sequence numbers of {partition} it \
                         acknowledged (up to offset {last_acked_offset}, log start offset \
                         {log_start_offset}): acknowledged records may have been lost. It \
                         refused this batch (sequence {first}); later batches continue under \
                         a new epoch"
                    );
                    tracing::error!(partition, sequence = first, "{message}");
                    return Recovery::Fail(Error::Kafka {
                        code,
                        message: Some(message),
                    });
                }
                tracing::warn!(
                    partition,
                    sequence = first,
                    log_start_offset,
                    "the broker has no record of this producer's earlier sequences: bumping \
                     the epoch and renumbering the partition's unacknowledged batches"
                );
                if maybe_written {
                    return not_resent(format!(
                        "the broker lost this producer's sequence state for {partition}"
                    ));
                }
                Recovery::Retry
            }
            ErrorCode::InvalidProducerEpoch | ErrorCode::ProducerFenced => {
                self.request(Reset::ProducerId);
                tracing::warn!(
                    partition,
                    epoch = stamp.identity.epoch,
                    "the broker knows a newer epoch of this producer id: asking for a new \
                     producer id"
                );
                if maybe_written {
                    return not_resent(format!(
                        "the broker fenced this producer's epoch on {partition}"
                    ));
                }
                Recovery::Retry
            }
            _ => Recovery::Usual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Identity = Identity { id: 7, epoch: 0 };

    fn acknowledged(sequencing: &mut Sequencing, records: i32, base_offset: i64) -> Stamp {
        let stamp = sequencing.number(FIRST, records);
        sequencing.acknowledged(stamp, records, base_offset);
        stamp
    }

    #[test]
    fn identities_bump_until_the_epoch_runs_out() {
        assert_eq!(FIRST.bumped(), Some(Identity { id: 7, epoch: 1 }));
        assert_eq!(
            Identity {
                id: 7,
                epoch: i16::MAX
            }
            .bumped(),
            None
        );
    }

    #[test]
    fn sequences_continue_and_wrap() {
        let mut sequencing = Sequencing::new(FIRST);
        assert_eq!(sequencing.number(FIRST, 5).first_sequence, 0);
        assert_eq!(sequencing.number(FIRST, 5).first_sequence, 5);
        let mut near_the_end = Sequencing::new(FIRST);
        near_the_end.next = i32::MAX - 1;
        near_the_end.number(FIRST, 3);
        assert_eq!(near_the_end.next, 1);
    }

    #[test]
    fn a_partition_moves_to_a_new_identity_only_with_nothing_outstanding() {
        let bumped = FIRST.bumped().unwrap();
        let mut sequencing = Sequencing::new(FIRST);
        let earlier = sequencing.number(FIRST, 2);
        let later = sequencing.number(bumped, 2);
        assert_eq!(
            later,
            Stamp {
                identity: FIRST,
                first_sequence: 2
            },
            "still numbering under the old identity while a batch is outstanding"
        );
        sequencing.acknowledged(earlier, 2, 0);
        sequencing.acknowledged(later, 2, 2);
        assert_eq!(
            sequencing.number(bumped, 2),
            Stamp {
                identity: bumped,
                first_sequence: 0
            }
        );
    }

    #[test]
    fn one_batch_at_a_time_until_one_is_acknowledged() {
        let mut sequencing = Sequencing::new(FIRST);
        assert!(sequencing.can_send_another());
        let first = sequencing.number(FIRST, 3);
        sequencing.in_flight = 1;
        assert!(
            !sequencing.can_send_another(),
            "the broker may take any first sequence"
        );
        sequencing.acknowledged(first, 3, 0);
        assert!(sequencing.can_send_another());
        sequencing.restart(FIRST.bumped().unwrap());
        assert!(!sequencing.can_send_another(), "again under a new identity");
    }

    #[test]
    fn an_error_behind_an_unacknowledged_batch_only_waits() {
        let mut sequencing = Sequencing::new(FIRST);
        sequencing.number(FIRST, 4);
        let second = sequencing.number(FIRST, 4);
        for code in [
            ErrorCode::OutOfOrderSequenceNumber,
            ErrorCode::UnknownProducerId,
        ] {
            let recovery = sequencing.recover(second, true, code, 0, "t-0");
            assert!(
                matches!(recovery, Recovery::Retry),
                "{code:?}: {recovery:?}"
            );
        }
        assert_eq!(sequencing.renumber, None);
    }

    #[test]
    fn the_head_is_the_oldest_unacknowledged_batch_whatever_order_acknowledgements_come_in() {
        let mut sequencing = Sequencing::new(FIRST);
        let first = sequencing.number(FIRST, 2);
        let second = sequencing.number(FIRST, 2);
        let third = sequencing.number(FIRST, 2);
        sequencing.acknowledged(second, 2, 2);
        sequencing.acknowledged(first, 2, 0);
        assert_eq!(sequencing.last_acked_offset, Some(3));
        let recovery = sequencing.recover(third, false, ErrorCode::UnknownProducerId, 0, "t-0");
        assert!(matches!(recovery, Recovery::Retry), "{recovery:?}");
        assert_eq!(
            sequencing.renumber,
            Some(Reset::Epoch),
            "the third is the head"
        );
    }

    #[test]
    fn a_lost_producer_state_bumps_the_epoch_unless_the_batch_may_be_written() {
        let mut sequencing = Sequencing::new(FIRST);
        acknowledged(&mut sequencing, 3, 0);
        let head = sequencing.number(FIRST, 3);
        let recovery = sequencing.recover(head, false, ErrorCode::UnknownProducerId, 0, "t-0");
        assert!(matches!(recovery, Recovery::Retry), "{recovery:?}");
        assert_eq!(sequencing.renumber, Some(Reset::Epoch));

        let recovery = sequencing.recover(head, true, ErrorCode::UnknownProducerId, 0, "t-0");
        let Recovery::Fail(error) = recovery else {
            panic!("{recovery:?}")
        };
        assert_eq!(error.code(), ErrorCode::UnknownProducerId);
        assert!(
            error.to_string().contains("could write it twice"),
            "{error}"
        );
    }

    #[test]
    fn out_of_order_at_the_head_is_recovered_only_when_the_acknowledged_records_are_gone() {
        let mut sequencing = Sequencing::new(FIRST);
        acknowledged(&mut sequencing, 10, 40);
        let head = sequencing.number(FIRST, 5);
        let code = ErrorCode::OutOfOrderSequenceNumber;

        // Records up to offset 49 were acknowledged; the log now starts at 50.
        let recovery = sequencing.recover(head, false, code, 50, "t-0");
        assert!(matches!(recovery, Recovery::Retry), "{recovery:?}");
        assert_eq!(sequencing.renumber, Some(Reset::Epoch));

        for log_start_offset in [49, 0, -1] {
            let recovery = sequencing.recover(head, false, code, log_start_offset, "t-0");
            let Recovery::Fail(error) = recovery else {
                panic!("log start {log_start_offset}: {recovery:?}")
            };
            assert_eq!(error.code(), code);
            assert!(
                error
                    .to_string()
                    .contains("acknowledged records may have been lost"),
                "{error}"
            );
        }

        let mut fresh = Sequencing::new(FIRST);
        let first = fresh.number(FIRST, 5);
        let recovery = fresh.recover(first, false, code, -1, "t-0");
        assert!(
            matches!(recovery, Recovery::Retry),
            "nothing acknowledged, nothing lost: {recovery:?}"
        );
    }

    #[test]
    fn a_fenced_epoch_asks_for_a_new_producer_id() {
        let mut sequencing = Sequencing::new(FIRST);
        let head = sequencing.number(FIRST, 1);
        let mut recover = |code| sequencing.recover(head, false, code, 0, "t-0");
        assert!(matches!(
            recover(ErrorCode::UnknownProducerId),
            Recovery::Retry
        ));
        assert!(matches!(
            recover(ErrorCode::InvalidProducerEpoch),
            Recovery::Retry
        ));
        assert!(matches!(
            recover(ErrorCode::UnknownProducerId),
            Recovery::Retry
        ));
        assert!(matches!(
            recover(ErrorCode::NotLeaderOrFollower),
            Recovery::Usual
        ));
        assert_eq!(
            sequencing.renumber,
            Some(Reset::ProducerId),
            "a new producer id also serves where a bumped epoch would do"
        );
    }
}
