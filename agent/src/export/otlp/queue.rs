//! Batches waiting for the receiver, bounded by data points. While the receiver is away
//! the oldest batches give way to the newest: with cumulative temporality the newest
//! batch holds every total, so what is lost is history, not counts.
use std::collections::VecDeque;
use std::sync::Arc;

use prost::Message;

use super::encode::Batch;

/// A batch as it goes on the wire: its request encoded once, then sent (and resent)
/// from these bytes; a queued batch holds no message tree.
#[derive(Debug)]
pub struct Wire {
    pub body: bytes::Bytes,
    pub points: usize,
}

impl Wire {
    /// The batch encoded, in as many requests as a receiver's size limit needs.
    pub fn split(b: Batch) -> Vec<Wire> {
        let parts = super::split::split(b.request, super::split::MAX_REQUEST_BYTES);
        debug_assert_eq!(parts.iter().map(|(_, n)| n).sum::<usize>(), b.points);
        parts
            .into_iter()
            .map(|(request, points)| Wire {
                body: request.encode_to_vec().into(),
                points,
            })
            .collect()
    }
}

pub struct Queue {
    batches: VecDeque<(u64, Arc<Wire>)>,
    points: usize,
    max_points: usize,
    next_seq: u64,
}

impl Queue {
    pub fn new(max_points: usize) -> Queue {
        Queue {
            batches: VecDeque::new(),
            points: 0,
            max_points,
            next_seq: 0,
        }
    }

    /// Add a batch, dropping the oldest until it fits, except the one in flight (its
    /// request ends within the timeout; cancelling it could starve a slow receiver).
    /// The newest is always kept, even alone above the bound, or nothing could ever be
    /// sent. Returns the sequence numbers and point counts of what was dropped.
    pub fn push(&mut self, batch: Wire, in_flight: Option<u64>) -> Vec<(u64, usize)> {
        let mut dropped = Vec::new();
        while self.points + batch.points > self.max_points {
            let Some(i) = self.batches.iter().position(|(s, _)| Some(*s) != in_flight) else {
                break;
            };
            if let Some((seq, b)) = self.batches.remove(i) {
                self.points -= b.points;
                dropped.push((seq, b.points));
            }
        }
        self.points += batch.points;
        self.batches.push_back((self.next_seq, Arc::new(batch)));
        self.next_seq += 1;
        dropped
    }

    pub fn front(&self) -> Option<(u64, Arc<Wire>)> {
        self.batches.front().map(|(s, b)| (*s, Arc::clone(b)))
    }

    /// Remove the batch `seq` (sent, or given up on) if it is still queued.
    pub fn remove(&mut self, seq: u64) -> Option<usize> {
        let i = self.batches.iter().position(|(s, _)| *s == seq)?;
        let (_, b) = self.batches.remove(i)?;
        self.points -= b.points;
        Some(b.points)
    }

    pub fn points(&self) -> usize {
        self.points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(points: usize) -> Wire {
        Wire {
            body: Default::default(),
            points,
        }
    }

    #[test]
    fn drops_oldest_to_stay_within_the_bound() {
        let mut q = Queue::new(10);
        assert!(q.push(batch(4), None).is_empty());
        assert!(q.push(batch(4), None).is_empty());
        assert_eq!(q.push(batch(4), None), [(0, 4)]);
        assert_eq!(q.points(), 8);
        // larger than the bound alone: everything older goes, it stays
        assert_eq!(q.push(batch(25), None), [(1, 4), (2, 4)]);
        assert_eq!(q.points(), 25);
        let (seq, b) = q.front().unwrap();
        assert_eq!((seq, b.points), (3, 25));
        assert_eq!(q.remove(2), None, "already dropped");
        assert_eq!(q.remove(3), Some(25));
        assert_eq!(q.points(), 0);
        assert!(q.front().is_none());
    }

    #[test]
    fn the_batch_in_flight_is_not_dropped() {
        let mut q = Queue::new(5);
        q.push(batch(4), None);
        // seq 0 is being sent: seq 1 goes over the bound, but 0 stays
        assert!(q.push(batch(4), Some(0)).is_empty());
        assert_eq!(q.push(batch(4), Some(0)), [(1, 4)]);
        assert_eq!(q.points(), 8);
        assert_eq!(q.remove(0), Some(4));
        assert_eq!(q.front().unwrap().0, 2);
    }
}
