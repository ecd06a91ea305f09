//! Idempotent producers (KIP-98): for each producer id, its epoch and its last five
//! batches' sequence ranges and offsets. A batch that repeats one of them is a retry and
//! gets the original offset back instead of being appended twice; one that skips a
//! sequence number is OUT_OF_ORDER_SEQUENCE_NUMBER; one from an older epoch is fenced.

use std::collections::{HashMap, VecDeque};

/// Batches remembered per producer; Kafka allows at most this many in flight per partition.
pub const CACHED_BATCHES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CachedBatch {
    first_sequence: i32,
    last_sequence: i32,
    base_offset: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Producer {
    epoch: i16,
    batches: VecDeque<CachedBatch>,
}

/// What to do with an idempotent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Next in sequence: append it.
    Append,
    /// Already appended at this base offset: answer with it, append nothing.
    Duplicate { base_offset: i64 },
}

/// Why an idempotent batch is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    #[error("producer {producer_id} epoch {epoch} is older than its current epoch {current}")]
    Fenced {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    #[error("producer {producer_id}: expected sequence {expected}, got {got}")]
    OutOfOrder {
        producer_id: i64,
        expected: i32,
        got: i32,
    },
}

/// Sequence numbers wrap from i32::MAX to 0 (KIP-98).
fn next_sequence(sequence: i32) -> i32 {
    if sequence == i32::MAX {
        0
    } else {
        sequence + 1
    }
}

/// The producer states of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerStates {
    producers: HashMap<i64, Producer>,
}

impl ProducerStates {
    /// Checks a batch of `producer_id` / `epoch` carrying sequences `first..=last`.
    ///
    /// # Errors
    /// [`SequenceError`] for an older epoch or a gap in the sequence.
    pub fn check(
        &self,
        producer_id: i64,
        epoch: i16,
        first: i32,
        last: i32,
    ) -> Result<SequenceCheck, SequenceError> {
        let out_of_order = |expected| {
            Err(SequenceError::OutOfOrder {
                producer_id,
                expected,
                got: first,
            })
        };
        match self.producers.get(&producer_id) {
            // No state (a new producer, or one whose batches retention removed): any first
            // sequence is accepted, as Kafka does.
            None => Ok(SequenceCheck::Append),
            Some(known) if epoch < known.epoch => Err(SequenceError::Fenced {
                producer_id,
                epoch,
                current: known.epoch,
            }),
            Some(known) if epoch > known.epoch => match first {
                0 => Ok(SequenceCheck::Append),
                _ => out_of_order(0),
            },
            Some(known) => {
                if let Some(batch) = known
                    .batches
                    .iter()
                    .find(|b| b.first_sequence == first && b.last_sequence == last)
                {
                    return Ok(SequenceCheck::Duplicate {
                        base_offset: batch.base_offset,
                    });
                }
                let expected = known
                    .batches
                    .back()
                    .map_or(0, |b| next_sequence(b.last_sequence));
                if first == expected {
                    Ok(SequenceCheck::Append)
                } else {
                    out_of_order(expected)
                }
            }
        }
    }

    /// Records an appended batch.
    pub fn record(
        &mut self,
        producer_id: i64,
        epoch: i16,
        first: i32,
        last: i32,
        base_offset: i64,
    ) {
        let producer = self.producers.entry(producer_id).or_default();
        if producer.epoch != epoch {
            producer.epoch = epoch;
            producer.batches.clear();
        }
        producer.batches.push_back(CachedBatch {
            first_sequence: first,
            last_sequence: last,
            base_offset,
        });
        while producer.batches.len() > CACHED_BATCHES {
            producer.batches.pop_front();
        }
    }

    /// The table as text: one `producer epoch first last base_offset` line per batch.
    pub fn to_snapshot(&self) -> String {
        let mut ids: Vec<&i64> = self.producers.keys().collect();
        ids.sort();
        let mut out = String::new();
        for id in ids {
            let producer = &self.producers[id];
            for b in &producer.batches {
                out.push_str(&format!(
                    "{id} {} {} {} {}\n",
                    producer.epoch, b.first_sequence, b.last_sequence, b.base_offset
                ));
            }
        }
        out
    }

    /// Reads [`ProducerStates::to_snapshot`] text; unreadable lines are skipped.
    pub fn from_snapshot(text: &str) -> Self {
        let mut states = ProducerStates::default();
        for line in text.lines() {
            let fields: Vec<i64> = line
                .split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect();
            if let [id, epoch, first, last, base] = fields[..] {
                states.record(id, epoch as i16, first as i32, last as i32, base);
            }
        }
        states
    }

    /// Forgets batches at or after `offset` (truncation).
    pub fn truncate(&mut self, offset: i64) {
        for producer in self.producers.values_mut() {
            producer.batches.retain(|b| b.base_offset < offset);
        }
        self.producers.retain(|_, p| !p.batches.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_duplicates_gaps_and_epochs() {
        let mut states = ProducerStates::default();
        assert_eq!(states.check(7, 0, 0, 4), Ok(SequenceCheck::Append));
        assert_eq!(
            states.check(8, 0, 3, 4),
            Ok(SequenceCheck::Append),
            "an unknown producer may start anywhere"
        );
        states.record(7, 0, 0, 4, 100);
        assert_eq!(
            states.check(7, 0, 0, 4),
            Ok(SequenceCheck::Duplicate { base_offset: 100 })
        );
        assert_eq!(states.check(7, 0, 5, 9), Ok(SequenceCheck::Append));
        assert!(matches!(
            states.check(7, 0, 6, 9),
            Err(SequenceError::OutOfOrder {
                expected: 5,
                got: 6,
                ..
            })
        ));
        for i in 1..=6 {
            states.record(7, 0, i * 5, i * 5 + 4, 100 + i as i64 * 5);
        }
        // Only the last five batches are remembered.
        assert!(matches!(
            states.check(7, 0, 5, 9),
            Err(SequenceError::OutOfOrder { .. })
        ));
        assert_eq!(
            states.check(7, 0, 30, 34),
            Ok(SequenceCheck::Duplicate { base_offset: 130 })
        );
        // A new epoch starts over at 0; an old one is fenced.
        assert_eq!(states.check(7, 1, 0, 0), Ok(SequenceCheck::Append));
        states.record(7, 1, 0, 0, 200);
        assert!(matches!(
            states.check(7, 0, 35, 35),
            Err(SequenceError::Fenced { current: 1, .. })
        ));
        assert_eq!(ProducerStates::from_snapshot(&states.to_snapshot()), states);
        states.truncate(200);
        assert_eq!(states.check(7, 1, 0, 0), Ok(SequenceCheck::Append));
    }

    #[test]
    fn sequences_wrap_at_i32_max() {
        let mut states = ProducerStates::default();
        states.record(1, 0, i32::MAX - 1, i32::MAX, 10);
        assert_eq!(states.check(1, 0, 0, 3), Ok(SequenceCheck::Append));
    }
}
