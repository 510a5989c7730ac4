//! Admission control for commands: at most a fixed number wait for their answers at once, and
//! one more is refused at once with `BUSY` instead of joining the queue.
//!
//! Why a bound on commands in flight: past the bank's capacity, every command accepted adds to
//! a queue (the command topic, the command handler's batches) that only grows, and then every
//! answer is late, the accepted ones too, until they time out. With at most `limit` waiting, a
//! command waits for at most `limit` others, so an accepted command's latency stays about
//! `limit / throughput` (Little's law): 500 at the 1,000/s one command handler does on the
//! 2-core test machine is 0.5 s (measured at 1,000/s offered: p99 0.78 s, 1.8% shed; the
//! README's benchmarks have the rest). The rest get an answer at once that says to retry.
//!
//! A command counts from its admission until its answer (or its timeout), also a transfer,
//! which waits for the saga's end. Queries are not admitted here: they are answered by the
//! projector, which answers from memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug)]
pub struct Admission {
    in_flight: AtomicUsize,
    limit: usize,
}

/// A command's place among those in flight, given back when dropped.
#[derive(Debug)]
pub struct Admitted {
    admission: Arc<Admission>,
}

impl Admission {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            limit,
        })
    }

    /// A place for one more command, or `None` when `limit` are in flight.
    pub fn admit(self: &Arc<Self>) -> Option<Admitted> {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now < self.limit).then_some(now + 1)
            })
            .ok()
            .map(|_| Admitted {
                admission: Arc::clone(self),
            })
    }

    /// Whether one more command would be refused now.
    pub fn is_full(&self) -> bool {
        self.in_flight() >= self.limit
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.admission.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_past_the_limit_is_refused_until_a_place_is_given_back() {
        let admission = Admission::new(2);
        let first = admission.admit().expect("first");
        let second = admission.admit().expect("second");
        assert!(admission.admit().is_none());
        assert_eq!(admission.in_flight(), 2);
        drop(first);
        let third = admission.admit().expect("a place was given back");
        assert!(admission.admit().is_none());
        drop((second, third));
        assert_eq!(admission.in_flight(), 0);
    }

    #[test]
    fn admissions_from_many_threads_never_pass_the_limit() {
        let admission = Admission::new(8);
        let most = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let (admission, most) = (Arc::clone(&admission), Arc::clone(&most));
                scope.spawn(move || {
                    for _ in 0..10_000 {
                        if let Some(admitted) = admission.admit() {
                            most.fetch_max(admission.in_flight(), Ordering::AcqRel);
                            drop(admitted);
                        }
                    }
                });
            }
        });
        assert!(most.load(Ordering::Acquire) <= 8);
        assert_eq!(admission.in_flight(), 0);
    }
}
