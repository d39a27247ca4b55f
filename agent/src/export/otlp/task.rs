//! The export loop, one tokio task: every interval a snapshot is taken on the blocking
//! pool, encoded and queued; the oldest queued batch is sent with a timeout shorter than
//! the interval, and retried with backoff while the receiver is away. Nothing here holds
//! the collector between snapshots, so /metrics never waits on the receiver.
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::resource::v1::Resource;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::encode::Encoder;
use super::queue::{Queue, Wire};
use super::settings::{OtlpConfig, Temporality};
use super::stats::OtlpStats;
use super::transport::{Accepted, SendError, Transport};
use crate::collect::Collector;

type SendResult = Result<Accepted, SendError>;

pub struct Exporter {
    collector: Arc<Collector>,
    transport: Arc<Transport>,
    stats: Arc<OtlpStats>,
    resource: Resource,
    temporality: Temporality,
    interval: Duration,
    timeout: Duration,
    queue: Queue,
}

impl Exporter {
    pub fn new(
        cfg: &OtlpConfig,
        collector: Arc<Collector>,
        transport: Transport,
        stats: Arc<OtlpStats>,
        resource: Resource,
    ) -> Exporter {
        Exporter {
            collector,
            transport: Arc::new(transport),
            stats,
            resource,
            temporality: cfg.temporality,
            interval: cfg.interval,
            timeout: cfg.timeout,
            queue: Queue::new(cfg.queue_points),
        }
    }

    pub async fn run(mut self) {
        let mut encoder = Some(self.new_encoder());
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut backoff = Backoff::new(self.interval);
        // the batch being sent: its sequence number, points, and the request's own task
        // (so that it progresses while a snapshot is being taken)
        let mut sending: Option<(u64, usize, JoinHandle<SendResult>)> = None;
        let mut retry_at: Option<Instant> = None;
        let mut failing: u64 = 0;
        loop {
            if sending.is_none()
                && retry_at.is_none()
                && let Some((seq, batch)) = self.queue.front()
            {
                sending = Some((seq, batch.points, self.send(batch)));
            }
            tokio::select! {
                _ = tick.tick() => {
                    let Some(batches) = self.collect(&mut encoder).await else { continue };
                    // the batch in flight stays: its request ends within the timeout
                    let in_flight = sending.as_ref().map(|(seq, ..)| *seq);
                    for batch in batches {
                        for (_, points) in self.queue.push(batch, in_flight) {
                            self.stats.dropped(points);
                        }
                    }
                }
                joined = async {
                    match sending.as_mut() {
                        Some((.., task)) => task.await,
                        None => std::future::pending().await,
                    }
                }, if sending.is_some() => {
                    let Some((seq, points, _)) = sending.take() else { continue };
                    let result = joined.unwrap_or_else(|e| Err(SendError::Retryable {
                        msg: format!("send task: {e}"),
                        after: None,
                    }));
                    match result {
                        Ok(accepted) => {
                            self.queue.remove(seq);
                            self.stats.accepted(points, accepted.rejected_points as usize);
                            if failing > 0 {
                                tracing::info!("OTLP export recovered after {failing} failed attempts");
                            }
                            failing = 0;
                            backoff.reset();
                        }
                        Err(SendError::Permanent(msg)) => {
                            self.queue.remove(seq);
                            self.stats.failed();
                            self.stats.dropped(points);
                            tracing::warn!("OTLP receiver refused {points} points, dropped: {msg}");
                        }
                        Err(SendError::Retryable { msg, after }) => {
                            self.stats.failed();
                            failing += 1;
                            let wait = backoff.next().max(after.unwrap_or_default().min(self.interval * 4));
                            // 1st, 2nd, 4th, 8th … failure: the log stays quiet in a long outage
                            if failing.is_power_of_two() {
                                tracing::warn!("OTLP export failed ({failing} in a row), retrying in {wait:?}: {msg}");
                            }
                            retry_at = Some(Instant::now() + wait);
                        }
                    }
                }
                _ = tokio::time::sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {
                    retry_at = None;
                }
            }
            self.stats.queued(self.queue.points());
        }
    }

    fn new_encoder(&self) -> Encoder {
        Encoder::new(self.resource.clone(), self.temporality, SystemTime::now())
    }

    /// Snapshot and encode, to protobuf bytes, on the blocking pool (map reads are
    /// syscalls).
    async fn collect(&self, encoder: &mut Option<Encoder>) -> Option<Vec<Wire>> {
        let mut enc = encoder.take().unwrap_or_else(|| self.new_encoder());
        let c = Arc::clone(&self.collector);
        let job = tokio::task::spawn_blocking(move || {
            let snap = c.snapshot();
            let batch = Wire::split(enc.encode(snap, SystemTime::now()));
            (enc, batch)
        });
        match job.await {
            Ok((enc, batch)) => {
                *encoder = Some(enc);
                Some(batch)
            }
            Err(e) => {
                // the encoder is lost with the task; the next one starts afresh
                tracing::error!("OTLP snapshot failed: {e}");
                None
            }
        }
    }

    fn send(&self, batch: Arc<Wire>) -> JoinHandle<SendResult> {
        let transport = Arc::clone(&self.transport);
        let timeout = self.timeout;
        tokio::spawn(async move {
            match tokio::time::timeout(timeout, transport.send(&batch.body)).await {
                Ok(r) => r,
                Err(_) => Err(SendError::Retryable {
                    msg: format!("no answer within {timeout:?}"),
                    after: None,
                }),
            }
        })
    }
}

/// Exponential backoff with jitter, from an eighth of the interval up to the interval, so
/// a recovered receiver hears from the agent within one interval.
struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
    seed: u64,
}

impl Backoff {
    fn new(interval: Duration) -> Backoff {
        let initial = (interval / 8).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos() as u64 | 1);
        Backoff {
            initial,
            max: interval.max(initial),
            next: initial,
            seed,
        }
    }

    fn next(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        // xorshift: ±20 % so that many agents do not retry in step
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let jitter = 0.8 + (self.seed % 1000) as f64 / 2500.0;
        d.mul_f64(jitter)
    }

    fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_interval_with_jitter() {
        let mut b = Backoff::new(Duration::from_secs(8));
        let waits: Vec<_> = (0..6).map(|_| b.next()).collect();
        let base = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0];
        for (w, s) in waits.iter().zip(base) {
            let w = w.as_secs_f64();
            assert!((s * 0.8..=s * 1.2).contains(&w), "{w} vs {s}");
        }
        b.reset();
        assert!(b.next() <= Duration::from_millis(1200));
    }
}
