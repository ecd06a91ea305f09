//! The durable partition log: segments, indexes, recovery, retention.
